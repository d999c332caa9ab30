/* Binance market-stream messages to rf_bn_event in one pass, no DOM.
 *
 * The pass records a small slot per known key (raw string view, integer
 * value or JSON kind) and only interprets the slots once the whole message
 * has been validated. Nothing is scanned twice: integers are converted while
 * they are validated, decimal strings are parsed from their recorded views,
 * and depth levels go straight into the caller's array. Interpreting at the
 * end is what lets "e" come anywhere (or nowhere, for spot bookTicker and
 * partial depth) at no cost to the common order, and it gives errors a fixed
 * precedence: malformed JSON anywhere wins over every field error.
 *
 * Duplicate keys: the first occurrence wins; later ones are validated and
 * skipped. Keys are matched after decoding escapes, but string values are
 * handed out raw (views into the message): Binance never escapes them, and an
 * escaped digit in a decimal string is RF_EDECIMAL. */
#include "ringfeed/binance.h"

#include <string.h>

#include "json_scan.h"
#include "ringfeed/error.h"

enum { /* keys of the event object */
    S_e, S_E, S_s, S_t, S_p, S_q, S_T, S_m, S_a, S_f, S_l, S_U, S_u, S_pu,
    S_b, S_B, S_A, S_k, S_lastUpdateId, S_bids, S_asks, S_COUNT,
    S_STREAM = S_COUNT, S_DATA, /* top level only */
};
enum { /* keys of the kline's "k" object */
    K_t, K_T, K_i, K_f, K_L, K_o, K_c, K_h, K_l, K_v, K_n, K_x, K_q, K_V, K_Q, K_COUNT,
};
enum { V_STRING, V_INT, V_BIG, V_FRACTION, V_TRUE, V_FALSE, V_NULL, V_OBJECT, V_ARRAY, V_ABSENT };

typedef struct value {
    const uint8_t *ptr; /* string: raw bytes between the quotes */
    size_t len;         /* string: byte length; level list: levels written */
    int64_t num;        /* integer; level list: offset into the caller's array */
    int8_t kind;
    int8_t escaped;
    int8_t has_dec;     /* string: dec holds its value as a decimal */
    rf_decimal dec;
    int16_t err; /* level list: the first error inside it, reported if it is used */
} value;

typedef struct scan {
    const uint8_t *end;
    rf_bn_level *levels;
    size_t cap, used;
    uint32_t seen;  /* bit per S_* */
    uint32_t kseen; /* bit per K_* */
    int combined;
    value stream;
    value v[S_COUNT];
    value k[K_COUNT];
} scan;

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

static inline int dig(uint8_t c) { return (unsigned)(c - '0') < 10u; }

static const uint64_t pow10_u[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                     100000000};

/* Eight ASCII digits at p: folds them into *acc and returns 1, else 0. */
static inline __attribute__((always_inline)) int eight(const uint8_t *p, uint64_t *acc)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w;
    memcpy(&w, p, 8);
    if (((w & 0xF0F0F0F0F0F0F0F0ull) |
         (((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) !=
        0x3333333333333333ull)
        return 0;
    w -= 0x3030303030303030ull;
    w = w * 10 + (w >> 8);
    *acc = *acc * 100000000u +
           (((w & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
             ((w >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >> 32);
    return 1;
#else
    (void)p, (void)acc;
    return 0;
#endif
}

/* The common decimal string, p just past its opening quote:
 * -?digits(.digits)? then the closing quote, at most 18 digits in all (so no
 * overflow is possible). Such a string needs no escape or control checks and
 * parses exactly as rf_decimal_parse would. Returns the position past the
 * closing quote, or NULL for anything else (the caller takes the general
 * path, which decides validity and errors). */
static inline __attribute__((always_inline)) const uint8_t *dec_fast(const uint8_t *p, const uint8_t *end, rf_decimal *out)
{
    int neg = 0;
    if (p < end && *p == '-') neg = 1, p++;
    const uint8_t *s = p;
    uint64_t acc = 0;
    while (p < end && dig(*p)) acc = acc * 10 + (unsigned)(*p++ - '0');
    size_t n = (size_t)(p - s), scale = 0;
    if (!n) return NULL;
    if (p < end && *p == '.') {
        const uint8_t *f = ++p;
        while (p < end && dig(*p)) acc = acc * 10 + (unsigned)(*p++ - '0');
        scale = (size_t)(p - f);
        if (!scale) return NULL;
    }
    if (p >= end || *p != '"' || n + scale > 18) return NULL;
    out->mantissa = neg ? -(int64_t)acc : (int64_t)acc;
    out->scale = (uint8_t)scale;
    return p + 1;
}

/* A decimal from a validated raw string view (its closing quote follows). */
static inline int dec_view(const uint8_t *s, size_t n, rf_decimal *out)
{
    if (dec_fast(s, s + n + 1, out) == s + n + 1) return 0;
    return rf_decimal_parse((const char *)s, n, out);
}

/* A plain integer, p at '-' or a digit: up to 18 digits not followed by
 * '.', 'e', 'E' or another digit, and no leading zero. Else NULL. */
static inline __attribute__((always_inline)) const uint8_t *int_fast(const uint8_t *p, const uint8_t *end, int64_t *out)
{
    int neg = *p == '-';
    p += neg;
    if (p >= end || !dig(*p) || *p == '0') return NULL;
    const uint8_t *s = p;
    uint64_t v = 0;
    /* Ids and times have 9 to 13 digits: eight at once first, then the
     * rest of the run (found from a digit mask) in one more step. */
    if (end - p >= 16 && eight(p, &v)) {
        p += 8;
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t m = ((w & 0xF0F0F0F0F0F0F0F0ull) |
                      (((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ^
                     0x3333333333333333ull;
        unsigned n = m ? (unsigned)__builtin_ctzll(m) >> 3 : 8;
        if (n) {
            uint64_t x = (w & 0x0F0F0F0F0F0F0F0Full) << (64 - 8 * n);
            x = x * 10 + (x >> 8);
            x = ((x & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
                 ((x >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >> 32;
            v = v * pow10_u[n] + x;
            p += n;
        }
    }
    while (p < end && dig(*p)) v = v * 10 + (unsigned)(*p++ - '0');
    if (p - s > 18) return NULL;
    if (p < end && (*p == '.' || (*p | 0x20) == 'e')) return NULL;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return p;
}

/* Single-letter keys, stored +1 so that 0 means "not ours". */
static const int8_t event_letter[128] = {
    ['e'] = S_e + 1, ['E'] = S_E + 1, ['s'] = S_s + 1, ['t'] = S_t + 1, ['p'] = S_p + 1,
    ['q'] = S_q + 1, ['T'] = S_T + 1, ['m'] = S_m + 1, ['a'] = S_a + 1, ['f'] = S_f + 1,
    ['l'] = S_l + 1, ['U'] = S_U + 1, ['u'] = S_u + 1, ['b'] = S_b + 1, ['B'] = S_B + 1,
    ['A'] = S_A + 1, ['k'] = S_k + 1,
};
static const int8_t kline_letter[128] = {
    ['t'] = K_t + 1, ['T'] = K_T + 1, ['i'] = K_i + 1, ['f'] = K_f + 1, ['L'] = K_L + 1,
    ['o'] = K_o + 1, ['c'] = K_c + 1, ['h'] = K_h + 1, ['l'] = K_l + 1, ['v'] = K_v + 1,
    ['n'] = K_n + 1, ['x'] = K_x + 1, ['q'] = K_q + 1, ['V'] = K_V + 1, ['Q'] = K_Q + 1,
};

/* The slot of a key (kind: 0 top level, 1 event, 2 kline), or -1. Keys are
 * compared as bytes; escaped ones are decoded first by lookup(). */
static int key_id(const uint8_t *k, size_t n, int kind)
{
    if (n == 1) return *k < 128 ? (kind == 2 ? kline_letter : event_letter)[*k] - 1 : -1;
    if (kind == 2) return -1;
    if (n == 2 && k[0] == 'p' && k[1] == 'u') return S_pu;
    if (n == 4 && !memcmp(k, "bids", 4)) return S_bids;
    if (n == 4 && !memcmp(k, "asks", 4)) return S_asks;
    if (n == 12 && !memcmp(k, "lastUpdateId", 12)) return S_lastUpdateId;
    if (kind == 0 && n == 6 && !memcmp(k, "stream", 6)) return S_STREAM;
    if (kind == 0 && n == 4 && !memcmp(k, "data", 4)) return S_DATA;
    return -1;
}

/* Records any value's kind (and its view or integer) at p. */
static inline __attribute__((always_inline)) const uint8_t *scan_value(const uint8_t *p, const uint8_t *end, int depth, value *v)
{
    unsigned flags;
    int kind;
    switch (*p) {
    case '"':
        v->ptr = p + 1;
        v->kind = V_STRING;
        v->escaped = 0;
        {
            /* Prices and quantities: validated and parsed in one go. */
            const uint8_t *q = dec_fast(p + 1, end, &v->dec);
            if (q) {
                v->len = (size_t)(q - 1 - v->ptr);
                v->has_dec = 1;
                return q;
            }
        }
        v->has_dec = 0;
        p = rf__json_string(p + 1, end, &flags);
        if (!p) return NULL;
        v->len = (size_t)(p - 1 - v->ptr);
        v->kind = V_STRING;
        v->escaped = (int8_t)flags;
        return p;
    case '{':
    case '[':
        v->kind = *p == '{' ? V_OBJECT : V_ARRAY;
        return rf__json_skip(p, end, depth);
    case 't':
    case 'f':
    case 'n':
        v->kind = *p == 't' ? V_TRUE : *p == 'f' ? V_FALSE : V_NULL;
        return rf__json_literal(p, end);
    }
    {
        const uint8_t *q = int_fast(p, end, &v->num);
        if (q) {
            v->kind = V_INT;
            return q;
        }
    }
    p = rf__json_number(p, end, &kind, &v->num);
    v->kind = kind == RF__JSON_NUM_INT ? V_INT : kind == RF__JSON_NUM_BIG ? V_BIG : V_FRACTION;
    return p;
}

static void note(value *list, int err) { if (!list->err) list->err = (int16_t)err; }

/* One [price, quantity, ...] array, p just past its '['; extras beyond the
 * first two are validated and ignored. depth counts the level array. */
static const uint8_t *scan_level(scan *sc, const uint8_t *p, int depth, value *list)
{
    const uint8_t *end = sc->end;
    rf_decimal d[2];
    unsigned flags;
    size_t n = 0;
    p = rf__json_ws(p, end);
    if (p < end && *p == ']') return note(list, RF_ETYPE), p + 1;
    for (;;) {
        if (p >= end) return NULL;
        if (n < 2 && *p == '"') {
            const uint8_t *s = p + 1;
            p = rf__json_string(s, end, &flags);
            if (!p) return NULL;
            if (!list->err) {
                int rc = dec_view(s, (size_t)(p - 1 - s), &d[n]);
                if (rc) note(list, rc);
            }
        } else {
            if (n < 2) note(list, RF_ETYPE);
            p = rf__json_skip(p, end, depth);
            if (!p) return NULL;
        }
        n++;
        p = rf__json_ws(p, end);
        if (p >= end) return NULL;
        if (*p == ']') break;
        if (*p != ',') return NULL;
        p = rf__json_ws(p + 1, end);
    }
    if (n < 2) note(list, RF_ETYPE);
    if (!list->err && sc->used == sc->cap) note(list, RF_ENOSPC);
    if (!list->err) {
        sc->levels[sc->used++] = (rf_bn_level){d[0], d[1]};
        list->len++;
    }
    return p + 1;
}

/* A list of levels, p at its '['; depth counts the list. */
static const uint8_t *scan_levels(scan *sc, const uint8_t *p, int depth, value *list)
{
    const uint8_t *end = sc->end;
    list->kind = V_ARRAY;
    list->num = (int64_t)sc->used;
    list->len = 0;
    list->err = 0;
    if (depth + 1 > RF__JSON_MAX_DEPTH) return NULL; /* the level arrays inside */
    p = rf__json_ws(p + 1, end);
    if (p < end && *p == ']') return p + 1;
    for (;;) {
        if (p >= end) return NULL;
        if (*p == '[') {
            /* ["price","qty"] with plain decimals: the usual level. */
            rf_decimal a, b;
            const uint8_t *q = p + 1;
            if (end - q >= 6 && q[0] == '"' && !list->err && sc->used < sc->cap &&
                (q = dec_fast(q + 1, end, &a)) && end - q >= 4 && q[0] == ',' && q[1] == '"' &&
                (q = dec_fast(q + 2, end, &b)) && q < end && *q == ']') {
                sc->levels[sc->used++] = (rf_bn_level){a, b};
                list->len++;
                p = q + 1;
                if (end - p >= 2 && p[0] == ',' && p[1] == '[') {
                    p++; /* the next level follows at once */
                    continue;
                }
            } else {
                p = scan_level(sc, p + 1, depth + 1, list);
            }
        } else {
            note(list, RF_ETYPE);
            p = rf__json_skip(p, end, depth);
        }
        if (!p) return NULL;
        p = rf__json_ws(p, end);
        if (p >= end) return NULL;
        if (*p == ']') return p + 1;
        if (*p != ',') return NULL;
        p = rf__json_ws(p + 1, end);
    }
}

/* The id of the key whose raw bytes are k[0..n), decoding escapes if any. */
static int lookup(const uint8_t *k, size_t n, unsigned flags, int kind)
{
    if (!(flags & RF__JSON_STR_ESCAPED)) return key_id(k, n, kind);
    char buf[16];
    int m = rf__json_ascii(k, n, buf, sizeof buf);
    return m < 0 ? -1 : key_id((const uint8_t *)buf, (size_t)m, kind);
}

static const uint8_t *scan_object(scan *sc, const uint8_t *p, int depth, int kind);

/* One member value of an object of the given kind (0 top level, 1 event
 * data, 2 kline), p at the value. */
static inline __attribute__((always_inline)) const uint8_t *scan_member(scan *sc, const uint8_t *p, int depth, int kind, int id)
{
    const uint8_t *end = sc->end;
    if (kind == 2) {
        if (id < 0 || (sc->kseen >> id & 1)) return rf__json_skip(p, end, depth);
        sc->kseen |= (uint32_t)1 << id;
        return scan_value(p, end, depth, &sc->k[id]);
    }
    if (id == S_DATA) {
        if (*p != '{' || sc->combined) return rf__json_skip(p, end, depth);
        /* Whatever the top level held before "data" was not the event. */
        sc->combined = 1;
        sc->seen = sc->kseen = 0;
        sc->used = 0;
        return scan_object(sc, p + 1, depth + 1, 1);
    }
    if (id == S_STREAM) {
        if (sc->stream.kind != V_ABSENT) return rf__json_skip(p, end, depth);
        return scan_value(p, end, depth, &sc->stream);
    }
    if (id < 0 || (sc->seen >> id & 1) || (kind == 0 && sc->combined))
        return rf__json_skip(p, end, depth);
    sc->seen |= (uint32_t)1 << id;
    value *v = &sc->v[id];
    if (*p == '[' && (id == S_b || id == S_a || id == S_bids || id == S_asks))
        return scan_levels(sc, p, depth + 1, v);
    if (*p == '{' && id == S_k) {
        v->kind = V_OBJECT;
        sc->kseen = 0;
        return scan_object(sc, p + 1, depth + 1, 2);
    }
    return scan_value(p, end, depth, v);
}

/* The members of an object, p just past its '{'; depth counts the object. */
static const uint8_t *scan_object(scan *sc, const uint8_t *p, int depth, int kind)
{
    const uint8_t *end = sc->end;
    unsigned flags;
    p = rf__json_ws(p, end);
    if (p < end && *p == '}') return p + 1;
    for (;;) {
        if (p >= end || *p != '"') return NULL;
        const uint8_t *k = p + 1;
        int id;
        if (end - k >= 3 && k[1] == '"' && k[2] == ':' && !rf__json_str_special[k[0]]) {
            /* "x": -- nearly every Binance key. */
            id = key_id(k, 1, kind);
            p = rf__json_ws(k + 3, end);
        } else if (kind == 0 && end - k >= 8 && !memcmp(k, "stream\":", 8)) {
            id = S_STREAM; /* combined payloads: "stream": then "data": */
            p = rf__json_ws(k + 8, end);
        } else if (kind == 0 && end - k >= 6 && !memcmp(k, "data\":", 6)) {
            id = S_DATA;
            p = rf__json_ws(k + 6, end);
        } else {
            p = rf__json_string(k, end, &flags);
            if (!p) return NULL;
            id = lookup(k, (size_t)(p - 1 - k), flags, kind);
            p = rf__json_ws(p, end);
            if (p >= end || *p != ':') return NULL;
            p = rf__json_ws(p + 1, end);
        }
        if (p >= end) return NULL;
        p = scan_member(sc, p, depth, kind, id);
        if (!p) return NULL;
        p = rf__json_ws(p, end);
        if (p >= end) return NULL;
        if (*p == '}') return p + 1;
        if (*p != ',') return NULL;
        p = rf__json_ws(p + 1, end);
    }
}

/* ---- interpretation, once the message is known to be valid JSON ---------- */

static int as_int(const value *v, int64_t *out)
{
    if (v->kind != V_INT) return v->kind == V_BIG ? RF_EOVERFLOW : RF_ETYPE;
    *out = v->num;
    return 0;
}

static int as_dec(const value *v, rf_decimal *out)
{
    if (v->kind != V_STRING) return RF_ETYPE;
    if (v->has_dec) {
        *out = v->dec;
        return 0;
    }
    return rf_decimal_parse((const char *)v->ptr, v->len, out);
}

static int as_bool(const value *v, uint8_t *out)
{
    if (v->kind != V_TRUE && v->kind != V_FALSE) return RF_ETYPE;
    *out = v->kind == V_TRUE;
    return 0;
}

static int as_str(const value *v, rf_str *out)
{
    if (v->kind != V_STRING) return RF_ETYPE;
    out->ptr = (const char *)v->ptr;
    out->len = v->len;
    return 0;
}

#define HAS(id) (sc->seen >> (id) & 1)
#define KHAS(id) (sc->kseen >> (id) & 1)

/* A required field, converted: absent is RF_EMISSING. */
#define EV(id, conv, out) (HAS(id) ? conv(&sc->v[id], out) : RF_EMISSING)
#define KL(id, conv, out) (KHAS(id) ? conv(&sc->k[id], out) : RF_EMISSING)

static int opt_int(const scan *sc, int id, int64_t *out)
{
    *out = RF_BN_ABSENT;
    return HAS(id) ? as_int(&sc->v[id], out) : 0;
}

static void reverse(rf_bn_level *a, size_t n)
{
    for (size_t i = 0, j = n - 1; i < j; i++, j--) {
        rf_bn_level t = a[i];
        a[i] = a[j], a[j] = t;
    }
}

/* Moves a[0..n) left by k places, cyclically, without a buffer. */
static void rotate(rf_bn_level *a, size_t n, size_t k)
{
    if (k == 0 || k == n) return;
    reverse(a, k);
    reverse(a + k, n - k);
    reverse(a, n);
}

static int level_list(const scan *sc, int id)
{
    if (!HAS(id)) return RF_EMISSING;
    const value *v = &sc->v[id];
    if (v->kind != V_ARRAY) return RF_ETYPE;
    return v->err;
}

/* Bids then asks at the front of the caller's array, whatever order (and
 * whatever unused lists) the message had them in. */
static int depth_levels(scan *sc, int bid_id, int ask_id, rf_bn_depth *d)
{
    TRY(level_list(sc, bid_id));
    TRY(level_list(sc, ask_id));
    size_t nb = sc->v[bid_id].len, na = sc->v[ask_id].len;
    size_t ob = (size_t)sc->v[bid_id].num, oa = (size_t)sc->v[ask_id].num;
    if (ob != 0 || oa != nb) {
        rotate(sc->levels, ob + nb, ob);
        if (oa < ob) oa += nb;
        rotate(sc->levels + nb, oa + na - nb, oa - nb);
    }
    d->bids = sc->levels;
    d->bid_count = nb;
    d->asks = sc->levels ? sc->levels + nb : NULL;
    d->ask_count = na;
    return 0;
}

#define NAME_IS(s, n, lit) ((n) == sizeof lit - 1 && !memcmp(s, lit, sizeof lit - 1))

/* Type from "e", else from the keys, else from the stream name's suffix. */
static int event_type(const scan *sc)
{
    if (HAS(S_e)) {
        const value *e = &sc->v[S_e];
        const uint8_t *s = e->ptr;
        size_t n = e->len;
        char buf[16];
        if (e->escaped) {
            int m = rf__json_ascii(s, n, buf, sizeof buf);
            if (m < 0) return RF_BN_UNKNOWN;
            s = (const uint8_t *)buf, n = (size_t)m;
        }
        if (NAME_IS(s, n, "depthUpdate")) return RF_BN_DEPTH_UPDATE;
        if (NAME_IS(s, n, "aggTrade")) return RF_BN_AGG_TRADE;
        if (NAME_IS(s, n, "trade")) return RF_BN_TRADE;
        if (NAME_IS(s, n, "bookTicker")) return RF_BN_BOOK_TICKER;
        if (NAME_IS(s, n, "kline")) return RF_BN_KLINE;
        return RF_BN_UNKNOWN;
    }
    if (HAS(S_lastUpdateId) || HAS(S_bids) || HAS(S_asks)) return RF_BN_PARTIAL_DEPTH;
    if (HAS(S_u) || HAS(S_B) || HAS(S_A)) return RF_BN_BOOK_TICKER;
    if (sc->combined && sc->stream.kind == V_STRING) {
        const uint8_t *s = sc->stream.ptr;
        size_t n = sc->stream.len;
        for (size_t i = 0; i < n; i++) {
            if (s[i] != '@') continue;
            if (NAME_IS(s + i + 1, n - i - 1, "bookTicker")) return RF_BN_BOOK_TICKER;
            if (n - i > 6 && !memcmp(s + i + 1, "depth", 5) && (unsigned)(s[i + 6] - '0') < 10)
                return RF_BN_PARTIAL_DEPTH;
        }
    }
    return RF_BN_UNKNOWN;
}

static int interpret(scan *sc, rf_bn_event *out)
{
    if (sc->combined) {
        if (sc->stream.kind == V_ABSENT) return RF_EMISSING;
        TRY(as_str(&sc->stream, &out->stream));
    }
    if (HAS(S_e)) TRY(as_str(&sc->v[S_e], &out->event_name));
    int type = event_type(sc);
    out->type = type;
    if (type == RF_BN_UNKNOWN) {
        /* Tolerated: pass on what is well-formed, complain about nothing. */
        if (HAS(S_s)) as_str(&sc->v[S_s], &out->symbol);
        if (HAS(S_E)) as_int(&sc->v[S_E], &out->event_time);
        return 0;
    }
    if (type == RF_BN_PARTIAL_DEPTH) {
        if (HAS(S_s)) TRY(as_str(&sc->v[S_s], &out->symbol));
    } else {
        TRY(EV(S_s, as_str, &out->symbol));
    }
    /* Every event that names itself carries E; spot bookTicker and partial depth do not. */
    TRY(HAS(S_e) ? EV(S_E, as_int, &out->event_time) : opt_int(sc, S_E, &out->event_time));

    switch (type) {
    case RF_BN_TRADE:
    case RF_BN_AGG_TRADE: {
        rf_bn_trade *t = &out->u.trade;
        if (type == RF_BN_TRADE) {
            TRY(EV(S_t, as_int, &t->id));
            t->first_trade_id = t->last_trade_id = RF_BN_ABSENT;
        } else {
            TRY(EV(S_a, as_int, &t->id));
            TRY(EV(S_f, as_int, &t->first_trade_id));
            TRY(EV(S_l, as_int, &t->last_trade_id));
        }
        TRY(EV(S_p, as_dec, &t->price));
        TRY(EV(S_q, as_dec, &t->quantity));
        TRY(EV(S_T, as_int, &t->trade_time));
        return EV(S_m, as_bool, &t->buyer_is_maker);
    }
    case RF_BN_DEPTH_UPDATE:
    case RF_BN_PARTIAL_DEPTH: {
        rf_bn_depth *d = &out->u.depth;
        if (type == RF_BN_DEPTH_UPDATE) {
            TRY(EV(S_U, as_int, &d->first_update_id));
            TRY(EV(S_u, as_int, &d->final_update_id));
            TRY(opt_int(sc, S_pu, &d->prev_final_update_id));
            TRY(opt_int(sc, S_T, &d->transaction_time));
            return depth_levels(sc, S_b, S_a, d);
        }
        d->first_update_id = d->prev_final_update_id = d->transaction_time = RF_BN_ABSENT;
        TRY(EV(S_lastUpdateId, as_int, &d->final_update_id));
        return depth_levels(sc, S_bids, S_asks, d);
    }
    case RF_BN_BOOK_TICKER: {
        rf_bn_book_ticker *b = &out->u.book_ticker;
        TRY(EV(S_u, as_int, &b->update_id));
        TRY(EV(S_b, as_dec, &b->bid_price));
        TRY(EV(S_B, as_dec, &b->bid_quantity));
        TRY(EV(S_a, as_dec, &b->ask_price));
        TRY(EV(S_A, as_dec, &b->ask_quantity));
        return opt_int(sc, S_T, &b->transaction_time);
    }
    default: { /* RF_BN_KLINE */
        rf_bn_kline *k = &out->u.kline;
        if (!HAS(S_k)) return RF_EMISSING;
        if (sc->v[S_k].kind != V_OBJECT) return RF_ETYPE;
        TRY(KL(K_i, as_str, &k->interval));
        TRY(KL(K_t, as_int, &k->open_time));
        TRY(KL(K_T, as_int, &k->close_time));
        TRY(KL(K_f, as_int, &k->first_trade_id));
        TRY(KL(K_L, as_int, &k->last_trade_id));
        TRY(KL(K_o, as_dec, &k->open));
        TRY(KL(K_h, as_dec, &k->high));
        TRY(KL(K_l, as_dec, &k->low));
        TRY(KL(K_c, as_dec, &k->close));
        TRY(KL(K_v, as_dec, &k->volume));
        TRY(KL(K_q, as_dec, &k->quote_volume));
        TRY(KL(K_V, as_dec, &k->taker_buy_volume));
        TRY(KL(K_Q, as_dec, &k->taker_buy_quote_volume));
        TRY(KL(K_n, as_int, &k->trades));
        return KL(K_x, as_bool, &k->is_closed);
    }
    }
}

int rf_bn_scan(const uint8_t *msg, size_t len, rf_bn_level *levels, size_t level_cap,
               rf_bn_event *out)
{
    memset(out, 0, sizeof *out);
    out->event_time = RF_BN_ABSENT;
    if (!msg || (!levels && level_cap)) return msg || len ? RF_EINVAL : RF_EJSON;

    scan sc;
    sc.end = msg + len;
    sc.levels = levels;
    sc.cap = level_cap;
    sc.used = 0;
    sc.seen = sc.kseen = 0;
    sc.combined = 0;
    sc.stream.kind = V_ABSENT;

    const uint8_t *p = rf__json_ws(msg, sc.end);
    if (p >= sc.end || *p != '{') return RF_EJSON;
    p = scan_object(&sc, p + 1, 1, 0);
    if (!p || rf__json_ws(p, sc.end) != sc.end) return RF_EJSON;
    return interpret(&sc, out);
}
