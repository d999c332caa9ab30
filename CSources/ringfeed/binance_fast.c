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
 * that on every input they have.
 *
 * The readers are compiled twice from binance_fast_body.h: once for any
 * x86-64 and once for AVX2 CPUs (chosen per message by rf__decimal_avx2),
 * where every decimal, integer and depth level is converted inline by the
 * shorter AVX2 sequences. */
#include <stddef.h>
#include <string.h>

#include "binance_internal.h"
#include "binance_numbers.h"
#include "binance_numbers_avx2.h"
#include "decimal_avx2.h"
#include "json_scan.h"

enum { /* the layouts, one reader each */
    L_TRADE, L_AGG_TRADE, L_FUTURES_AGG_TRADE, L_DOCUMENTED_BOOK_TICKER, L_DEPTH, L_PARTIAL_DEPTH,
    L_BOOK_TICKER, L_SPOT_BOOK_TICKER, L_KLINE, L_K, L_MINI_TICKER, L_TICKER, L_ROLLING_TICKER, L_AVG_PRICE,
};

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

typedef struct layout {
    const step *steps;
    uint8_t count;
    uint8_t type;
    const struct layout *alt; /* the other venue's order, tried when this one fails */
    uint8_t id; /* L_*: which reader (f_object unrolled over these very steps) */
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

static const layout trade_layout = {N(trade_steps), RF_BN_TRADE, NULL, L_TRADE};
static const layout agg_trade_layout = {N(agg_trade_steps), RF_BN_AGG_TRADE, NULL, L_AGG_TRADE};
/* Futures first: the spot order is the rarer one in the recordings. */
static const layout futures_agg_trade_layout = {N(futures_agg_trade_steps), RF_BN_AGG_TRADE,
                                                &agg_trade_layout, L_FUTURES_AGG_TRADE};
static const layout documented_book_ticker_layout = {N(documented_book_ticker_steps), RF_BN_BOOK_TICKER, NULL,
                           L_DOCUMENTED_BOOK_TICKER};
static const layout depth_layout = {N(depth_steps), RF_BN_DEPTH_UPDATE, NULL, L_DEPTH};
static const layout partial_depth_layout = {N(partial_depth_steps), RF_BN_PARTIAL_DEPTH, NULL,
                           L_PARTIAL_DEPTH};
static const layout book_ticker_layout = {N(book_ticker_steps), RF_BN_BOOK_TICKER, &documented_book_ticker_layout,
                           L_BOOK_TICKER};
static const layout spot_book_ticker_layout = {N(spot_book_ticker_steps), RF_BN_BOOK_TICKER, NULL,
                           L_SPOT_BOOK_TICKER};
static const layout kline_layout = {N(kline_steps), RF_BN_KLINE, NULL, L_KLINE};
static const layout k_layout = {N(k_steps), RF_BN_KLINE, NULL, L_K};
static const layout mini_ticker_layout = {N(mini_ticker_steps), RF_BN_MINI_TICKER, NULL,
                           L_MINI_TICKER};
static const layout ticker_layout = {N(ticker_steps), RF_BN_TICKER, NULL, L_TICKER};
static const layout rolling_ticker_layout = {N(rolling_ticker_steps), RF_BN_ROLLING_TICKER, NULL,
                           L_ROLLING_TICKER};
static const layout avg_price_layout = {N(avg_price_steps), RF_BN_AVG_PRICE, NULL, L_AVG_PRICE};

typedef struct fast {
    const uint8_t *base, *end;
    rf_bn_level *levels;
    size_t cap, used;
} fast;

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

#if RF__DEC_AVX2
/* f_str on an AVX2 CPU: every name Binance sends fits one 32-byte step. */
static inline RF__AVX2_TARGET __attribute__((always_inline)) const uint8_t *f_str_avx2(const uint8_t *p,
                                                                                   const uint8_t *end,
                                                                                   rf_str *out)
{
    if (end - p > 32 && *p == '"') {
        const uint8_t *s = p + 1;
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)s);
        /* '"', '\\' and bytes below 0x20 end a plain run. */
        unsigned stop = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')), _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))),
            _mm256_cmpeq_epi8(_mm256_max_epu8(v, _mm256_set1_epi8(0x1F)), _mm256_set1_epi8(0x1F))));
        if (stop) {
            const uint8_t *q = s + _tzcnt_u32(stop);
            if (*q != '"') return NULL; /* an escape or a control byte */
            out->ptr = (const char *)s;
            out->len = (size_t)(q - s);
            return q + 1;
        }
    }
    return f_str(p, end, out);
}
#endif

static inline const uint8_t *f_bool(const uint8_t *p, const uint8_t *end, uint8_t *out)
{
    if (end - p >= 4 && !memcmp(p, "true", 4)) return *out = 1, p + 4;
    if (end - p >= 5 && !memcmp(p, "false", 5)) return *out = 0, p + 5;
    return NULL;
}

#define STARTS(p, n, lit) ((size_t)(n) >= sizeof lit - 1 && !memcmp(p, lit, sizeof lit - 1))

/* The portable readers. */
#define RF__FAST(name) name##_portable
#define RF__FAST_ATTR
#define RF__FAST_INT_ANY int_any
#define RF__FAST_DEC_ANY dec_any
#define RF__FAST_LEVELS rf__bn_levels_portable
#define RF__FAST_STR f_str
#include "binance_fast_body.h"

#if RF__DEC_AVX2
/* The same for AVX2 CPUs. */
#define RF__FAST(name) name##_avx2
#define RF__FAST_ATTR RF__AVX2_TARGET
#define RF__FAST_INT_ANY int_any_avx2
#define RF__FAST_DEC_ANY dec_any_avx2
#define RF__FAST_LEVELS levels_avx2
#define RF__FAST_STR f_str_avx2
#include "binance_fast_body.h"
#endif

const uint8_t *rf__bn_fast(const uint8_t *base, const uint8_t *p, const uint8_t *end,
                          rf_bn_level *levels, size_t level_cap, rf_bn_event *out)
{
#if RF__DEC_AVX2
    if (atomic_load_explicit(&rf__decimal_avx2, memory_order_relaxed))
        return fast_message_avx2(base, p, end, levels, level_cap, out);
#endif
    return fast_message_portable(base, p, end, levels, level_cap, out);
}
