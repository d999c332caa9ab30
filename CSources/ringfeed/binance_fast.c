/* The fast path of rf_bn_scan: Binance sends each event kind with its keys
 * in one fixed order, compact, without escapes. For that exact layout a
 * message can be read straight into the event, key literal after key
 * literal, without recording slots or dispatching on keys.
 *
 * It only ever accepts: at the first byte that differs from the layout (a
 * key in another order, an unknown key, whitespace, an escape, a number or
 * decimal outside the plain forms, too many levels) it gives up and
 * rf_bn_scan runs the general path from the start, which decides the
 * result and every error. So a message the fast path accepts is one the
 * general path reads identically; the unit test and the fuzz harness check
 * that on every input they have. */
#include <stddef.h>
#include <string.h>

#include "binance_internal.h"
#include "binance_numbers.h"
#include "decimal_avx2.h"
#include "json_scan.h"

enum { /* what a key's value is and where it goes */
    F_INT, F_DEC, F_STR, F_BOOL, F_TK,  /* into the event at `off` (F_TK: a ticker decimal) */
    F_SKIP_BOOL, F_SKIP_STR,            /* read and dropped, as the general path ignores them */
    F_BIDS, F_ASKS, F_KLINE,
};

typedef struct step {
    uint64_t key, mask; /* ,"k": as a little-endian word, and the bytes it covers */
    uint8_t len;        /* of the key literal */
    uint8_t kind;
    uint8_t optional;   /* may be left out (an int then reads RF_BN_ABSENT) */
    uint8_t bit;        /* F_TK: its RF_BN_TK_* bit number */
    uint16_t off;       /* into rf_bn_event */
} step;

typedef struct fast fast;

typedef struct layout {
    const step *steps;
    uint8_t count;
    uint8_t type;
    const struct layout *alt; /* the other venue's order, tried when this one fails */
    /* The layout's own reader: f_object unrolled over these very steps. */
    const uint8_t *(*read)(fast *f, const uint8_t *p, rf_bn_event *out);
} layout;

/* The little-endian word of up to 8 literal bytes. */
#define W1(s, i) ((uint64_t)(uint8_t)(s)[i] << (8 * (i)))
#define LIT(s)                                                                                  \
    (W1(s, 0) | W1(s, 1) | W1(s, 2) | W1(s, 3) | (sizeof(s) > 5 ? W1(s, 4) : 0) |                 \
     (sizeof(s) > 6 ? W1(s, 5) : 0) | (sizeof(s) > 7 ? W1(s, 6) : 0) | (sizeof(s) > 8 ? W1(s, 7) : 0))
#define MASK(s) (~0ull >> (8 * (9 - sizeof(s)))) /* up to 8 literal bytes */
#define KEY(s) LIT(s), MASK(s), sizeof(s) - 1
#define OFF(f) (uint16_t) offsetof(rf_bn_event, f)

#define REQ(k, kind, f) {KEY(",\"" k "\":"), kind, 0, 0, OFF(f)}
#define OPT(k, kind, f) {KEY(",\"" k "\":"), kind, 1, 0, OFF(f)}
#define TKD(k, b, f) {KEY(",\"" k "\":"), F_TK, 0, b, OFF(u.ticker.f)}
#define TKO(k, b, f) {KEY(",\"" k "\":"), F_TK, 1, b, OFF(u.ticker.f)}
#define SYM REQ("s", F_STR, symbol)
#define TIME REQ("E", F_INT, event_time)
#define N(a) a, (uint8_t)(sizeof a / sizeof a[0])

static const step trade_steps[] = {
    TIME, SYM, REQ("t", F_INT, u.trade.id), REQ("p", F_DEC, u.trade.price),
    REQ("q", F_DEC, u.trade.quantity), REQ("T", F_INT, u.trade.trade_time),
    REQ("m", F_BOOL, u.trade.buyer_is_maker), OPT("M", F_SKIP_BOOL, type),
};
static const step agg_trade_steps[] = {
    TIME, SYM, REQ("a", F_INT, u.trade.id), REQ("p", F_DEC, u.trade.price),
    REQ("q", F_DEC, u.trade.quantity), REQ("f", F_INT, u.trade.first_trade_id),
    REQ("l", F_INT, u.trade.last_trade_id), REQ("T", F_INT, u.trade.trade_time),
    REQ("m", F_BOOL, u.trade.buyer_is_maker), OPT("M", F_SKIP_BOOL, type),
};
static const step futures_agg_trade_steps[] = { /* "a" before "s" */
    TIME, REQ("a", F_INT, u.trade.id), SYM, REQ("p", F_DEC, u.trade.price),
    REQ("q", F_DEC, u.trade.quantity), REQ("f", F_INT, u.trade.first_trade_id),
    REQ("l", F_INT, u.trade.last_trade_id), REQ("T", F_INT, u.trade.trade_time),
    REQ("m", F_BOOL, u.trade.buyer_is_maker),
};
static const step depth_steps[] = { /* spot, and futures with T and pu */
    TIME, OPT("T", F_INT, u.depth.transaction_time), SYM,
    REQ("U", F_INT, u.depth.first_update_id), REQ("u", F_INT, u.depth.final_update_id),
    OPT("pu", F_INT, u.depth.prev_final_update_id), REQ("b", F_BIDS, type), REQ("a", F_ASKS, type),
};
static const step partial_depth_steps[] = { /* after {"lastUpdateId":... */
    REQ("bids", F_BIDS, type), REQ("asks", F_ASKS, type),
};
static const step book_ticker_steps[] = { /* futures: after {"e":"bookTicker" */
    REQ("u", F_INT, u.book_ticker.update_id), SYM, REQ("b", F_DEC, u.book_ticker.bid_price),
    REQ("B", F_DEC, u.book_ticker.bid_quantity), REQ("a", F_DEC, u.book_ticker.ask_price),
    REQ("A", F_DEC, u.book_ticker.ask_quantity), OPT("T", F_INT, u.book_ticker.transaction_time),
    TIME,
};
static const step documented_book_ticker_steps[] = { /* the futures docs' order */
    REQ("u", F_INT, u.book_ticker.update_id), TIME, REQ("T", F_INT, u.book_ticker.transaction_time),
    SYM, REQ("b", F_DEC, u.book_ticker.bid_price), REQ("B", F_DEC, u.book_ticker.bid_quantity),
    REQ("a", F_DEC, u.book_ticker.ask_price), REQ("A", F_DEC, u.book_ticker.ask_quantity),
};
static const step spot_book_ticker_steps[] = { /* after {"u":... */
    SYM, REQ("b", F_DEC, u.book_ticker.bid_price), REQ("B", F_DEC, u.book_ticker.bid_quantity),
    REQ("a", F_DEC, u.book_ticker.ask_price), REQ("A", F_DEC, u.book_ticker.ask_quantity),
};
static const step kline_steps[] = {TIME, SYM, REQ("k", F_KLINE, type)};
static const step k_steps[] = { /* after {"t":... inside "k" */
    REQ("T", F_INT, u.kline.close_time), REQ("s", F_SKIP_STR, type), REQ("i", F_STR, u.kline.interval),
    REQ("f", F_INT, u.kline.first_trade_id), REQ("L", F_INT, u.kline.last_trade_id),
    REQ("o", F_DEC, u.kline.open), REQ("c", F_DEC, u.kline.close), REQ("h", F_DEC, u.kline.high),
    REQ("l", F_DEC, u.kline.low), REQ("v", F_DEC, u.kline.volume), REQ("n", F_INT, u.kline.trades),
    REQ("x", F_BOOL, u.kline.is_closed), REQ("q", F_DEC, u.kline.quote_volume),
    REQ("V", F_DEC, u.kline.taker_buy_volume), REQ("Q", F_DEC, u.kline.taker_buy_quote_volume),
    OPT("B", F_SKIP_STR, type),
};
static const step mini_ticker_steps[] = {
    TIME, SYM, TKD("c", 4, last_price), TKD("o", 10, open_price), TKD("h", 11, high_price),
    TKD("l", 12, low_price), TKD("v", 13, volume), TKD("q", 14, quote_volume),
};
#define TICKER_INTS                                                                            \
    REQ("O", F_INT, u.ticker.open_time), REQ("C", F_INT, u.ticker.close_time),                  \
        REQ("F", F_INT, u.ticker.first_trade_id), REQ("L", F_INT, u.ticker.last_trade_id),     \
        REQ("n", F_INT, u.ticker.trade_count)
static const step ticker_steps[] = { /* spot; futures leaves out x b B a A */
    TIME, SYM, TKD("p", 0, price_change), TKD("P", 1, price_change_percent),
    TKD("w", 2, weighted_avg_price), TKO("x", 3, first_trade_price), TKD("c", 4, last_price),
    TKD("Q", 5, last_quantity), TKO("b", 6, best_bid_price), TKO("B", 7, best_bid_quantity),
    TKO("a", 8, best_ask_price), TKO("A", 9, best_ask_quantity), TKD("o", 10, open_price),
    TKD("h", 11, high_price), TKD("l", 12, low_price), TKD("v", 13, volume),
    TKD("q", 14, quote_volume), TICKER_INTS,
};
static const step rolling_ticker_steps[] = {
    TIME, SYM, TKD("p", 0, price_change), TKD("P", 1, price_change_percent),
    TKD("o", 10, open_price), TKD("h", 11, high_price), TKD("l", 12, low_price),
    TKD("c", 4, last_price), TKD("w", 2, weighted_avg_price), TKD("v", 13, volume),
    TKD("q", 14, quote_volume), TICKER_INTS,
};
static const step avg_price_steps[] = {
    TIME, SYM, REQ("i", F_STR, u.avg_price.interval), REQ("w", F_DEC, u.avg_price.price),
    REQ("T", F_INT, u.avg_price.last_trade_time),
};

/* Each layout's reader, defined below. */
static const uint8_t *read_trade(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_futures_agg_trade(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_agg_trade(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_documented_book_ticker(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_depth(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_partial_depth(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_book_ticker(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_spot_book_ticker(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_kline(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_k(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_mini_ticker(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_ticker(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_rolling_ticker(fast *f, const uint8_t *p, rf_bn_event *out);
static const uint8_t *read_avg_price(fast *f, const uint8_t *p, rf_bn_event *out);

static const layout trade_layout = {N(trade_steps), RF_BN_TRADE, NULL, read_trade};
static const layout agg_trade_layout = {N(agg_trade_steps), RF_BN_AGG_TRADE, NULL, read_agg_trade};
/* Futures first: the spot order is the rarer one in the recordings. */
static const layout futures_agg_trade_layout = {N(futures_agg_trade_steps), RF_BN_AGG_TRADE,
                                                &agg_trade_layout, read_futures_agg_trade};
static const layout documented_book_ticker_layout = {N(documented_book_ticker_steps), RF_BN_BOOK_TICKER, NULL,
                           read_documented_book_ticker};
static const layout depth_layout = {N(depth_steps), RF_BN_DEPTH_UPDATE, NULL, read_depth};
static const layout partial_depth_layout = {N(partial_depth_steps), RF_BN_PARTIAL_DEPTH, NULL,
                           read_partial_depth};
static const layout book_ticker_layout = {N(book_ticker_steps), RF_BN_BOOK_TICKER, &documented_book_ticker_layout,
                           read_book_ticker};
static const layout spot_book_ticker_layout = {N(spot_book_ticker_steps), RF_BN_BOOK_TICKER, NULL,
                           read_spot_book_ticker};
static const layout kline_layout = {N(kline_steps), RF_BN_KLINE, NULL, read_kline};
static const layout k_layout = {N(k_steps), RF_BN_KLINE, NULL, read_k};
static const layout mini_ticker_layout = {N(mini_ticker_steps), RF_BN_MINI_TICKER, NULL,
                           read_mini_ticker};
static const layout ticker_layout = {N(ticker_steps), RF_BN_TICKER, NULL, read_ticker};
static const layout rolling_ticker_layout = {N(rolling_ticker_steps), RF_BN_ROLLING_TICKER, NULL,
                           read_rolling_ticker};
static const layout avg_price_layout = {N(avg_price_steps), RF_BN_AVG_PRICE, NULL, read_avg_price};

struct fast {
    const uint8_t *base, *end;
    rf_bn_level *levels;
    size_t cap, used;
};

/* A plain integer: int_fast's form, or a lone 0. */
static inline __attribute__((always_inline)) const uint8_t *f_int(const fast *f, const uint8_t *p, int64_t *out)
{
    const uint8_t *end = f->end;
    if (p < end && *p == '0') {
        p++;
        if (p < end && (rf__bn_digit(*p) || *p == '.' || (*p | 0x20) == 'e')) return NULL;
        *out = 0;
        return p;
    }
    return p < end ? int_any(p, end, f->base, out) : NULL;
}

/* A string without escapes or control bytes, p at its opening quote:
 * sixteen bytes a step where the message allows. */
static inline __attribute__((always_inline)) const uint8_t *f_str(const uint8_t *p, const uint8_t *end, rf_str *out)
{
    if (p >= end || *p != '"') return NULL;
    const uint8_t *s = p + 1, *q;
#if RF__DEC16
    for (const uint8_t *t = s; end - t >= 16; t += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)t);
        /* '"', '\\' and bytes below 0x20 end a plain run. */
        unsigned stop = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                         _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1F)), _mm_set1_epi8(0x1F))));
        if (!stop) continue;
        q = t + __builtin_ctz(stop);
        if (*q != '"') return NULL; /* an escape or a control byte */
        out->ptr = (const char *)s;
        out->len = (size_t)(q - s);
        return q + 1;
    }
#endif
    unsigned flags;
    q = rf__json_string(s, end, &flags);
    if (!q || flags) return NULL;
    out->ptr = (const char *)s;
    out->len = (size_t)(q - 1 - s);
    return q;
}

static inline __attribute__((always_inline)) const uint8_t *f_dec(const fast *f, const uint8_t *p, rf_decimal *out)
{
    if (p >= f->end || *p != '"') return NULL;
    return dec_any(p + 1, f->end, f->base, out);
}

static inline const uint8_t *f_bool(const uint8_t *p, const uint8_t *end, uint8_t *out)
{
    if (end - p >= 4 && !memcmp(p, "true", 4)) return *out = 1, p + 4;
    if (end - p >= 5 && !memcmp(p, "false", 5)) return *out = 0, p + 5;
    return NULL;
}

/* [["price","qty"],...] straight into the caller's array, p at '['. */
static const uint8_t *f_levels(fast *f, const uint8_t *p, size_t *count)
{
    const uint8_t *end = f->end;
    size_t n = 0;
    p++;
    if (p < end && *p == ']') return *count = 0, p + 1;
    for (;;) {
        if (end - p < 8 || p[0] != '[' || p[1] != '"' || f->used == f->cap) return NULL;
        rf_bn_level *lv = &f->levels[f->used];
        p = dec_any(p + 2, end, f->base, &lv->price);
        if (!p || end - p < 5 || p[0] != ',' || p[1] != '"') return NULL;
        p = dec_any(p + 2, end, f->base, &lv->quantity);
        if (!p || end - p < 2 || p[0] != ']') return NULL;
        f->used++, n++;
        if (p[1] == ']') return *count = n, p + 2;
        if (p[1] != ',') return NULL;
        p += 2;
    }
}

#if RF__DEC_AVX2
/* f_levels on an AVX2 CPU: one 32-byte window from the price's first byte
 * finds the three quotes that end the price and delimit the quantity, and
 * rf__dec16x2_avx2 converts both in one pass. A level the window does not
 * hold whole, or that is not in the plain form, goes through the same
 * per-number steps as f_levels, which decide it. */
RF__AVX2_TARGET static const uint8_t *f_levels_avx2(fast *f, const uint8_t *p, size_t *count)
{
    const uint8_t *end = f->end, *base = f->base;
    size_t n = 0;
    p++;
    if (p < end && *p == ']') return *count = 0, p + 1;
    for (;;) {
        if (end - p < 8 || p[0] != '[' || p[1] != '"' || f->used == f->cap) return NULL;
        rf_bn_level *lv = &f->levels[f->used];
        const uint8_t *s = p + 2;
        p = NULL;
        if (end - s >= 32 && s - base >= 16) {
            const __m256i nine = _mm256_set1_epi8(9);
            __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)s);
            unsigned q = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(w, _mm256_set1_epi8('"')));
            __m256i d = _mm256_sub_epi8(w, _mm256_set1_epi8('0'));
            unsigned digits = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(d, nine), nine));
            unsigned dots = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(w, _mm256_set1_epi8('.')));
            /* price","qty": quotes at na, na + 2 and na + 3 + nb, both
             * texts of 1 to 16 bytes, inside the window. */
            unsigned na = (unsigned)__builtin_ctz(q | 0x80000000u);
            unsigned nb = (unsigned)__builtin_ctz((q >> ((na + 3) & 31)) | 0x80000000u);
            unsigned tb = na + 3, stop = tb + nb; /* the quantity's first byte, its closing quote */
            if (na - 1 < 16 && nb - 1 < 16 && stop < 32 && s[na + 1] == ',' && (q >> (na + 2) & 1)) {
                unsigned text = ((1u << stop) - 1) & ~(7u << na); /* both texts' bytes */
                unsigned da = dots & ((1u << na) - 1), db = (dots >> tb) & ((1u << nb) - 1);
                /* Only digits and points; one point at most in each, with a
                 * digit on each side (not first, not last). */
                if (((digits | dots) & text) == text && !(da & (da - 1)) && !(db & (db - 1)) &&
                    !(dots & (1u | 1u << (na - 1) | 1u << tb | 1u << (stop - 1)))) {
                    /* The point's index in each, or the last byte's when
                     * there is none: lane index 15, which the table reads
                     * as "no point", and scale 0. */
                    unsigned ia = (unsigned)__builtin_ctz(da | 1u << (na - 1));
                    unsigned ib = (unsigned)__builtin_ctz(db | 1u << (nb - 1));
                    __m256i y = rf__dec16x2_avx2(
                        _mm256_loadu2_m128i((const __m128i *)(const void *)(s + stop - 16),
                                            (const __m128i *)(const void *)(s + na - 16)),
                        16 - na, 16 - na + ia, 16 - nb, 16 - nb + ib);
                    lv->price.mantissa = (int64_t)_mm_cvtsi128_si64(_mm256_castsi256_si128(y));
                    lv->price.scale = (uint8_t)(na - 1 - ia);
                    lv->quantity.mantissa = (int64_t)_mm_cvtsi128_si64(_mm256_extracti128_si256(y, 1));
                    lv->quantity.scale = (uint8_t)(nb - 1 - ib);
                    p = s + stop + 1;
                }
            }
        }
        if (!p) {
            p = dec_any(s, end, base, &lv->price);
            if (!p || end - p < 5 || p[0] != ',' || p[1] != '"') return NULL;
            p = dec_any(p + 2, end, base, &lv->quantity);
            if (!p) return NULL;
        }
        if (end - p < 2 || p[0] != ']') return NULL;
        f->used++, n++;
        if (p[1] == ']') return *count = n, p + 2;
        if (p[1] != ',') return NULL;
        p += 2;
    }
}
#define F_LEVELS(f, p, count)                                                                       \
    (atomic_load_explicit(&rf__decimal_avx2, memory_order_relaxed) ? f_levels_avx2(f, p, count)    \
                                                                    : f_levels(f, p, count))
#else
#define F_LEVELS f_levels
#endif

/* The members after the first, as the layout lists them, then '}'.
 * Always inlined into one reader per layout, with the loop unrolled: the
 * steps are constants there, so each key compare, switch and offset folds
 * away and the reader is straight-line code. */
static inline __attribute__((always_inline)) const uint8_t *f_object(fast *f, const uint8_t *p, const layout *l,
                                                                     rf_bn_event *out)
{
    const uint8_t *end = f->end;
    char *o = (char *)out;
#if defined(__clang__)
#pragma clang loop unroll(full)
#endif
    for (unsigned i = 0; i < l->count; i++) {
        const step *s = &l->steps[i];
        uint64_t w = 0;
        if (end - p >= 8) memcpy(&w, p, 8);
        else memcpy(&w, p, (size_t)(end - p)); /* near the end: only what is left */
        if ((w & s->mask) != s->key) {
            if (!s->optional) return NULL;
            if (s->kind == F_INT) *(int64_t *)(void *)(o + s->off) = RF_BN_ABSENT;
            continue;
        }
        p += s->len;
        switch (s->kind) {
        case F_INT: p = f_int(f, p, (int64_t *)(void *)(o + s->off)); break;
        case F_DEC: p = f_dec(f, p, (rf_decimal *)(void *)(o + s->off)); break;
        case F_TK:
            p = f_dec(f, p, (rf_decimal *)(void *)(o + s->off));
            out->u.ticker.present |= 1u << s->bit;
            break;
        case F_STR: p = f_str(p, end, (rf_str *)(void *)(o + s->off)); break;
        case F_BOOL: p = f_bool(p, end, (uint8_t *)(o + s->off)); break;
        case F_SKIP_BOOL: {
            uint8_t ignored;
            p = f_bool(p, end, &ignored);
            break;
        }
        case F_SKIP_STR: {
            rf_str ignored;
            p = f_str(p, end, &ignored);
            break;
        }
        case F_BIDS:
            if (p >= end || *p != '[') return NULL;
            p = F_LEVELS(f, p, &out->u.depth.bid_count);
            break;
        case F_ASKS:
            if (p >= end || *p != '[') return NULL;
            p = F_LEVELS(f, p, &out->u.depth.ask_count);
            break;
        default: /* F_KLINE: {"t":...} then its own layout */
            if (end - p < 6 || memcmp(p, "{\"t\":", 5)) return NULL;
            p = f_int(f, p + 5, &out->u.kline.open_time);
            if (p) p = read_k(f, p, out);
            break;
        }
        if (!p) return NULL;
    }
    return p < end && *p == '}' ? p + 1 : NULL;
}

#define READER(n)                                                                    \
    static const uint8_t *read_##n(fast *f, const uint8_t *p, rf_bn_event *out)     \
    {                                                                                \
        return f_object(f, p, &n##_layout, out);                                     \
    }
READER(trade)
READER(futures_agg_trade)
READER(agg_trade)
READER(documented_book_ticker)
READER(depth)
READER(partial_depth)
READER(book_ticker)
READER(spot_book_ticker)
READER(kline)
READER(k)
READER(mini_ticker)
READER(ticker)
READER(rolling_ticker)
READER(avg_price)

#define STARTS(p, n, lit) ((size_t)(n) >= sizeof lit - 1 && !memcmp(p, lit, sizeof lit - 1))

/* The event object, p just past its '{'. */
static const uint8_t *f_event(fast *f, const uint8_t *p, rf_bn_event *out)
{
    const uint8_t *end = f->end;
    size_t left = (size_t)(end - p);
    const layout *l;
    if (STARTS(p, left, "\"e\":\"")) {
        p = f_str(p + 4, end, &out->event_name);
        if (!p) return NULL;
        const char *e = out->event_name.ptr;
        size_t n = out->event_name.len;
        if (RF__BN_NAME_IS(e, n, "depthUpdate")) l = &depth_layout;
        else if (RF__BN_NAME_IS(e, n, "bookTicker")) l = &book_ticker_layout;
        else if (RF__BN_NAME_IS(e, n, "aggTrade")) l = &futures_agg_trade_layout;
        else if (RF__BN_NAME_IS(e, n, "trade")) l = &trade_layout;
        else if (RF__BN_NAME_IS(e, n, "kline")) l = &kline_layout;
        else if (RF__BN_NAME_IS(e, n, "24hrMiniTicker")) l = &mini_ticker_layout;
        else if (RF__BN_NAME_IS(e, n, "24hrTicker")) l = &ticker_layout;
        else if (RF__BN_NAME_IS(e, n, "1hTicker") || RF__BN_NAME_IS(e, n, "4hTicker") ||
                 RF__BN_NAME_IS(e, n, "1dTicker")) {
            l = &rolling_ticker_layout;
            out->u.ticker.window = (rf_str){e, 2};
        } else if (RF__BN_NAME_IS(e, n, "avgPrice")) l = &avg_price_layout;
        else return NULL;
    } else if (STARTS(p, left, "\"u\":")) { /* spot bookTicker: no "e", no "E" */
        p = f_int(f, p + 4, &out->u.book_ticker.update_id);
        out->u.book_ticker.transaction_time = RF_BN_ABSENT;
        l = &spot_book_ticker_layout;
    } else if (STARTS(p, left, "\"lastUpdateId\":")) { /* spot partial depth */
        p = f_int(f, p + 15, &out->u.depth.final_update_id);
        l = &partial_depth_layout;
    } else {
        return NULL;
    }
    if (!p) return NULL;
    out->type = l->type;
    switch (l->type) { /* what the layout does not set */
    case RF_BN_TRADE:
        out->u.trade.first_trade_id = out->u.trade.last_trade_id = RF_BN_ABSENT;
        break;
    case RF_BN_PARTIAL_DEPTH:
        out->u.depth.first_update_id = out->u.depth.prev_final_update_id = RF_BN_ABSENT;
        out->u.depth.transaction_time = RF_BN_ABSENT;
        break;
    case RF_BN_MINI_TICKER:
        out->u.ticker.open_time = out->u.ticker.close_time = RF_BN_ABSENT;
        out->u.ticker.first_trade_id = out->u.ticker.last_trade_id = RF_BN_ABSENT;
        out->u.ticker.trade_count = RF_BN_ABSENT;
        break;
    }
    const uint8_t *q = l->read(f, p, out);
    if (!q && l->alt) {
        /* The same fields in the other order: every one is written again. */
        f->used = 0;
        q = l->alt->read(f, p, out);
    }
    if (!q) return NULL;
    p = q;
    if (l->type == RF_BN_DEPTH_UPDATE || l->type == RF_BN_PARTIAL_DEPTH) {
        rf_bn_depth *d = &out->u.depth;
        d->bids = f->levels;
        d->asks = f->levels ? f->levels + d->bid_count : NULL;
    }
    return p;
}

const uint8_t *rf__bn_fast(const uint8_t *base, const uint8_t *p, const uint8_t *end,
                          rf_bn_level *levels, size_t level_cap, rf_bn_event *out)
{
    fast f = {base, end, levels, level_cap, 0};
    if (end - p < 2 || p[0] != '{') return NULL;
    p++;
    int combined = STARTS(p, end - p, "\"stream\":\"");
    if (combined) {
        p = f_str(p + 9, end, &out->stream);
        if (!p || !STARTS(p, end - p, ",\"data\":{")) return NULL;
        p += 9;
    }
    p = f_event(&f, p, out);
    if (p && combined) p = p < end && *p == '}' ? p + 1 : NULL;
    return p;
}
