/* Binance market-stream messages to rf_bn_event in one pass, no DOM.
 *
 * rf_bn_scan first tries the fixed-layout fast path (binance_fast.c), which
 * takes every message in Binance's own key order; anything else comes here,
 * to the general path, which is the definition of every result and error.
 *
 * The general pass records a small slot per known key (raw string view,
 * integer value or JSON kind) and only interprets the slots (binance_event.c)
 * once the whole message has been validated. Nothing is scanned twice:
 * integers are converted while they are validated, decimal strings are
 * parsed from their recorded views, and depth levels go straight into the
 * caller's array. Interpreting at the end is what lets "e" come anywhere
 * (or nowhere, for spot bookTicker and partial depth), and it gives errors a
 * fixed precedence: malformed JSON anywhere wins over every field error.
 *
 * Duplicate keys: the first occurrence wins; later ones are validated and
 * skipped. Keys are matched after decoding escapes, but string values are
 * handed out raw (views into the message): Binance never escapes them, and an
 * escaped digit in a decimal string is RF_EDECIMAL. */
#include "binance_internal.h"

#include <string.h>

#include "binance_numbers.h"
#include "json_scan.h"
#include "ringfeed/error.h"

typedef rf__bn_value value;
typedef rf__bn_scan scan;

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

/* Single-letter keys, stored +1 so that 0 means "not ours". */
static const int8_t event_letter[128] = {
    ['e'] = S_e + 1, ['E'] = S_E + 1, ['s'] = S_s + 1, ['t'] = S_t + 1, ['p'] = S_p + 1,
    ['q'] = S_q + 1, ['T'] = S_T + 1, ['m'] = S_m + 1, ['a'] = S_a + 1, ['f'] = S_f + 1,
    ['l'] = S_l + 1, ['U'] = S_U + 1, ['u'] = S_u + 1, ['b'] = S_b + 1, ['B'] = S_B + 1,
    ['A'] = S_A + 1, ['k'] = S_k + 1, ['P'] = S_P + 1, ['w'] = S_w + 1, ['x'] = S_x + 1,
    ['c'] = S_c + 1, ['Q'] = S_Q + 1, ['o'] = S_o + 1, ['h'] = S_h + 1, ['v'] = S_v + 1,
    ['O'] = S_O + 1, ['C'] = S_C + 1, ['F'] = S_F + 1, ['L'] = S_L + 1, ['n'] = S_n + 1,
    ['i'] = S_i + 1,
};
static const int8_t kline_letter[128] = {
    ['t'] = K_t + 1, ['T'] = K_T + 1, ['i'] = K_i + 1, ['f'] = K_f + 1, ['L'] = K_L + 1,
    ['o'] = K_o + 1, ['c'] = K_c + 1, ['h'] = K_h + 1, ['l'] = K_l + 1, ['v'] = K_v + 1,
    ['n'] = K_n + 1, ['x'] = K_x + 1, ['q'] = K_q + 1, ['V'] = K_V + 1, ['Q'] = K_Q + 1,
};

/* The slot of a key in an object of the given kind (OBJ_*), or -1. Keys
 * are compared as bytes; escaped ones are decoded first by lookup(). */
static int key_id(const uint8_t *k, size_t n, int kind)
{
    if (kind == OBJ_ERROR) {
        if (n == 4 && !memcmp(k, "code", 4)) return R_code;
        if (n == 3 && !memcmp(k, "msg", 3)) return R_msg;
        return -1;
    }
    if (n == 1) return *k < 128 ? (kind == OBJ_KLINE ? kline_letter : event_letter)[*k] - 1 : -1;
    if (kind == OBJ_KLINE) return -1;
    if (n == 2 && k[0] == 'p' && k[1] == 'u') return S_pu;
    if (n == 4 && !memcmp(k, "bids", 4)) return S_bids;
    if (n == 4 && !memcmp(k, "asks", 4)) return S_asks;
    if (n == 12 && !memcmp(k, "lastUpdateId", 12)) return S_lastUpdateId;
    if (kind != OBJ_TOP) return -1;
    switch (n) {
    case 2: return k[0] == 'i' && k[1] == 'd' ? S_id : -1;
    case 3: return !memcmp(k, "msg", 3) ? S_msg : -1;
    case 4: return !memcmp(k, "data", 4) ? S_DATA : !memcmp(k, "code", 4) ? S_code : -1;
    case 5: return !memcmp(k, "error", 5) ? S_error : !memcmp(k, "event", 5) ? S_EVENT : -1;
    case 6: return !memcmp(k, "stream", 6) ? S_STREAM : !memcmp(k, "result", 6) ? S_result : -1;
    }
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

/* An array of events (RF_BN_ARRAY), p at its '['; depth counts the array.
 * Validates every element and counts them; they are scanned one by one
 * later, by rf_bn_array_next. */
static const uint8_t *scan_array(scan *sc, const uint8_t *p, int depth)
{
    const uint8_t *end = sc->end, *start = p;
    size_t count = 0;
    if (depth > RF__JSON_MAX_DEPTH) return NULL;
    p = rf__json_ws(p + 1, end);
    if (p < end && *p == ']') {
        p++;
    } else {
        rf_bn_event scratch;
        for (;;) {
            /* An element in Binance's own layout is validated by the fast
             * path at a fraction of what skipping it as any JSON costs. */
            const uint8_t *q = rf__bn_fast(sc->base, p, end, NULL, 0, &scratch);
            p = q ? q : rf__json_skip(p, end, depth);
            if (!p) return NULL;
            count++;
            p = rf__json_ws(p, end);
            if (p >= end) return NULL;
            if (*p == ']') break;
            if (*p != ',') return NULL;
            p = rf__json_ws(p + 1, end);
        }
        p++;
    }
    sc->array.kind = V_ARRAY;
    sc->array.ptr = start;
    sc->array.len = (size_t)(p - start);
    sc->array.num = (int64_t)count;
    return p;
}

/* One member value of an object of the given kind (OBJ_*), p at the value. */
static inline __attribute__((always_inline)) const uint8_t *scan_member(scan *sc, const uint8_t *p, int depth, int kind, int id)
{
    const uint8_t *end = sc->end;
    if (kind == OBJ_KLINE) {
        if (id < 0 || (sc->kseen >> id & 1)) return rf__json_skip(p, end, depth);
        sc->kseen |= (uint32_t)1 << id;
        return scan_value(p, end, depth, &sc->k[id]);
    }
    if (kind == OBJ_ERROR) {
        if (id < 0 || (sc->rseen >> id & 1)) return rf__json_skip(p, end, depth);
        sc->rseen |= (uint32_t)1 << id;
        return scan_value(p, end, depth, &sc->r[id]);
    }
    if (id >= S_COUNT) { /* wrappers and the stream name, top level only */
        if (id == S_STREAM) {
            if (sc->stream.kind != V_ABSENT) return rf__json_skip(p, end, depth);
            return scan_value(p, end, depth, &sc->stream);
        }
        /* The first "data" object or array (combined) or "event" object
         * (serverShutdown) holds the event; whatever the top level held
         * before it was not the event. */
        if (sc->combined || sc->wrapped || (*p != '{' && (*p != '[' || id != S_DATA)))
            return rf__json_skip(p, end, depth);
        if (id == S_DATA) sc->combined = 1;
        else sc->wrapped = 1;
        sc->seen = 0;
        sc->kseen = sc->rseen = 0;
        sc->used = 0;
        if (*p == '[') return scan_array(sc, p, depth + 1);
        return scan_object(sc, p + 1, depth + 1, OBJ_EVENT);
    }
    if (id < 0 || (sc->seen >> id & 1) || (kind == OBJ_TOP && (sc->combined || sc->wrapped)))
        return rf__json_skip(p, end, depth);
    sc->seen |= (uint64_t)1 << id;
    value *v = &sc->v[id];
    if (*p == '[' && (id == S_b || id == S_a || id == S_bids || id == S_asks))
        return scan_levels(sc, p, depth + 1, v);
    if (*p == '{' && id == S_k) {
        v->kind = V_OBJECT;
        sc->kseen = 0;
        return scan_object(sc, p + 1, depth + 1, OBJ_KLINE);
    }
    if (*p == '{' && id == S_error) {
        v->kind = V_OBJECT;
        sc->rseen = 0;
        return scan_object(sc, p + 1, depth + 1, OBJ_ERROR);
    }
    if (id == S_result || id == S_id) {
        /* Handed out as raw JSON text, whatever it is. */
        const uint8_t *q = scan_value(p, end, depth, v);
        if (q) v->ptr = p, v->len = (size_t)(q - p);
        return q;
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
        } else if (kind == OBJ_TOP && end - k >= 8 && !memcmp(k, "stream\":", 8)) {
            id = S_STREAM; /* combined payloads: "stream": then "data": */
            p = rf__json_ws(k + 8, end);
        } else if (kind == OBJ_TOP && end - k >= 6 && !memcmp(k, "data\":", 6)) {
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

static void scan_init(scan *sc, const uint8_t *base, const uint8_t *end, rf_bn_level *levels,
                      size_t level_cap)
{
    sc->base = base;
    sc->end = end;
    sc->levels = levels;
    sc->cap = level_cap;
    sc->used = 0;
    sc->seen = 0;
    sc->kseen = sc->rseen = 0;
    sc->combined = sc->wrapped = 0;
    sc->stream.kind = V_ABSENT;
    sc->array.kind = V_ABSENT;
}

static void event_init(rf_bn_event *out)
{
    memset(out, 0, sizeof *out);
    out->event_time = RF_BN_ABSENT;
}

int rf__bn_scan_general(const uint8_t *msg, size_t len, rf_bn_level *levels, size_t level_cap,
                        rf_bn_event *out)
{
    event_init(out);
    if (!msg || (!levels && level_cap)) return msg || len ? RF_EINVAL : RF_EJSON;

    scan sc;
    scan_init(&sc, msg, msg + len, levels, level_cap);
    const uint8_t *p = rf__json_ws(msg, sc.end);
    if (p >= sc.end) return RF_EJSON;
    if (*p == '{') p = scan_object(&sc, p + 1, 1, OBJ_TOP);
    else if (*p == '[') p = scan_array(&sc, p, 1); /* a raw all-market stream */
    else return RF_EJSON;
    if (!p || rf__json_ws(p, sc.end) != sc.end) return RF_EJSON;
    return rf__bn_interpret(&sc, out);
}

int rf_bn_scan(const uint8_t *msg, size_t len, rf_bn_level *levels, size_t level_cap,
               rf_bn_event *out)
{
    /* The fast path initialises what it fills; the general one all of *out. */
    if (msg && (levels || !level_cap) && rf__bn_fast(msg, msg, msg + len, levels, level_cap, out) == msg + len)
        return 0;
    return rf__bn_scan_general(msg, len, levels, level_cap, out);
}

int rf_bn_array_next(const rf_bn_event *array, size_t *pos, rf_bn_level *levels, size_t level_cap,
                     rf_bn_event *out)
{
    if (!array || !pos || !out || array->type != RF_BN_ARRAY || (!levels && level_cap))
        return RF_EINVAL;
    const uint8_t *items = (const uint8_t *)array->u.array.items.ptr;
    size_t n = array->u.array.items.len;
    if (!items || n < 2 || *pos >= n) return RF_EINVAL;
    const uint8_t *end = items + n, *p = items + *pos;
    event_init(out);
    if (*p == ']') return 0;
    if (*p != '[' && *p != ',') return RF_EINVAL; /* not a position this walk left */
    p = rf__json_ws(p + 1, end);
    if (p < end && *p == ']') {
        *pos = (size_t)(p - items);
        return 0;
    }
    if (p >= end) return RF_EINVAL;

    /* The usual element first (its stream is the array's). */
    const uint8_t *q = rf__bn_fast(items, p, end, levels, level_cap, out);
    if (q && !out->stream.ptr) {
        const uint8_t *after = rf__json_ws(q, end);
        if (after < end && (*after == ',' || *after == ']')) {
            *pos = (size_t)(after - items);
            if (!out->stream.len) out->stream = array->stream;
            return 1;
        }
    }
    event_init(out);

    /* The element on its own: the array's nesting does not count. */
    scan sc;
    scan_init(&sc, items, end, levels, level_cap);
    int rc;
    if (*p == '{') {
        q = scan_object(&sc, p + 1, 1, OBJ_TOP);
        rc = q ? 0 : RF_EJSON;
    } else {
        q = rf__json_skip(p, end, 1);
        rc = RF_ETYPE; /* valid JSON, but not an event */
    }
    if (q) q = rf__json_ws(q, end);
    if (!q || q >= end || (*q != ',' && *q != ']')) {
        /* Only a position this walk did not produce gets here: end it. */
        *pos = n - 1;
        return RF_EJSON;
    }
    *pos = (size_t)(q - items);
    if (rc) return rc;
    rc = rf__bn_interpret(&sc, out);
    if (!sc.combined) out->stream = array->stream;
    return rc ? rc : 1;
}
