/* The end-to-end benchmark's market tape: a deterministic (seeded) stream of
 * Binance spot combined-stream messages over four symbols, in the mix of
 * issue 5: 70% depthUpdate diffs of 1-20 levels, 25% aggTrade, 5%
 * bookTicker, about 265 bytes a message.
 *
 * The diffs come from a real book per symbol that the generator keeps
 * itself, so a client that loads the starting snapshot (rf_tape_snapshot)
 * and applies every diff ends with exactly the generator's final book:
 * update ids chain (U == previous u + 1), a deleted level existed, no price
 * repeats within one side of a diff, and every diff leaves the book
 * uncrossed (bids are generated first, then asks against the new best bid,
 * the order a client applies them in). bookTicker carries the book's best
 * levels and its last update id at that moment, so a client can check its
 * book against it as it goes.
 *
 * The Swift simulator has a byte-identical port
 * (Sources/RingFeedSimulator/BlastTape.swift, `ringfeed simulate --tape N`):
 * same seed, same bytes. Change both together.
 *
 * Header-only so a benchmark includes it without a build rule of its own. */
#ifndef RF_BENCH_DEPTH_TAPE_H
#define RF_BENCH_DEPTH_TAPE_H

#include <stdint.h>
#include <string.h>

#define RF_TAPE_SYMBOLS 4
/* Each symbol's book lives on a window of ticks around its starting price:
 * one quantity per tick, bids below the spread, asks above it. */
#define RF_TAPE_TICKS 16384
#define RF_TAPE_START_DEPTH 1000 /* levels a side in the starting snapshot */
#define RF_TAPE_MIN_DEPTH 900    /* no deletes below this (the book keeps its size) */
#define RF_TAPE_MAX_DEPTH 4000   /* no new levels above this */
#define RF_TAPE_EDGE 64          /* ticks kept clear at both ends of the window */
#define RF_TAPE_MAX_LEVELS 20    /* per diff */
/* The longest message: 20 levels of two 8-decimal strings plus the head. */
#define RF_TAPE_MAX_MESSAGE 1024

typedef struct rf_tape_symbol {
    const char *name;   /* "BTCUSDT" */
    const char *stream; /* "btcusdt" */
    int64_t start_ticks; /* starting mid, price ticks of 0.01 */
    int qty_dp;          /* lot size 10^-qty_dp; texts are written with 8 decimals */
    int weight;          /* share of the messages, percent */
} rf_tape_symbol;

static const rf_tape_symbol rf_tape_symbols[RF_TAPE_SYMBOLS] = {
    {"BTCUSDT", "btcusdt", 6500000, 5, 40},
    {"ETHUSDT", "ethusdt", 350000, 4, 30},
    {"SOLUSDT", "solusdt", 15000, 3, 20},
    {"BNBUSDT", "bnbusdt", 60000, 3, 10},
};
#define RF_TAPE_PRICE_DP 2 /* every symbol's tick is 0.01 */

typedef struct rf_tape_book {
    int64_t qty[RF_TAPE_TICKS]; /* lots at base + index; 0: no level */
    int64_t base;               /* ticks of index 0 */
    int32_t best_bid, best_ask; /* indices; everything between them is 0 */
    int32_t bid_depth, ask_depth;
    int64_t last_update_id;
    int64_t agg_id, trade_id;
    /* What the aggTrades carried, for a client to check its own sums:
     * count, and wrapping sums of price and quantity mantissas at 8 decimals. */
    uint64_t trades, trade_price_sum, trade_qty_sum;
    uint64_t tickers, diffs, levels;
} rf_tape_book;

typedef struct rf_tape_gen {
    uint64_t rng;
    uint64_t messages;
    uint64_t bytes; /* payload bytes so far */
    rf_tape_book book[RF_TAPE_SYMBOLS];
} rf_tape_gen;

/* splitmix64: tiny, good enough, and the same in Swift with &+ and &*. */
static inline uint64_t rf_tape_rand(rf_tape_gen *g)
{
    uint64_t z = (g->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rf_tape_below(rf_tape_gen *g, uint64_t n) { return rf_tape_rand(g) % n; }

/* Skewed towards 0 (the minimum of two uniform draws): most activity is
 * near the top of the book. */
static inline int32_t rf_tape_skew(rf_tape_gen *g, int32_t n)
{
    uint64_t a = rf_tape_below(g, (uint64_t)n), b = rf_tape_below(g, (uint64_t)n);
    return (int32_t)(a < b ? a : b);
}

static inline int64_t rf_tape_pow10(int n)
{
    int64_t p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

/* 1 lot up to 2 units of the base asset, often round. */
static inline int64_t rf_tape_qty(rf_tape_gen *g, int qty_dp)
{
    int64_t unit = rf_tape_pow10(qty_dp);
    int64_t q = 1 + (int64_t)rf_tape_below(g, (uint64_t)(2 * unit));
    if (rf_tape_below(g, 4) == 0 && q > 100)
        q -= q % 100;
    return q;
}

/* ---- text ---- */

static inline char *rf_tape_put(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static inline char *rf_tape_put_int(char *p, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        *p++ = '-';
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* v / 10^dp written with 8 decimals, as Binance writes spot prices and
 * quantities ("65000.01000000", "0.00123000"). */
static inline char *rf_tape_put_fixed(char *p, int64_t v, int dp)
{
    int64_t unit = rf_tape_pow10(dp);
    p = rf_tape_put_int(p, v / unit);
    *p++ = '.';
    int64_t frac = v % unit;
    for (int i = dp - 1; i >= 0; i--) {
        p[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    p += dp;
    for (int i = dp; i < 8; i++)
        *p++ = '0';
    return p;
}

static inline char *rf_tape_put_level(char *p, const rf_tape_book *b, int sym, int32_t idx, int64_t qty)
{
    p = rf_tape_put(p, "[\"");
    p = rf_tape_put_fixed(p, b->base + idx, RF_TAPE_PRICE_DP);
    p = rf_tape_put(p, "\",\"");
    p = rf_tape_put_fixed(p, qty, rf_tape_symbols[sym].qty_dp);
    return rf_tape_put(p, "\"]");
}

/* ---- the books ---- */

static inline void rf_tape_init(rf_tape_gen *g, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    g->rng = seed;
    for (int s = 0; s < RF_TAPE_SYMBOLS; s++) {
        rf_tape_book *b = &g->book[s];
        int qdp = rf_tape_symbols[s].qty_dp;
        b->base = rf_tape_symbols[s].start_ticks - RF_TAPE_TICKS / 2;
        b->best_bid = RF_TAPE_TICKS / 2 - 1;
        b->best_ask = RF_TAPE_TICKS / 2 + 1;
        /* About three ticks in four hold a level; the best ones always do. */
        int32_t i = b->best_bid;
        while (b->bid_depth < RF_TAPE_START_DEPTH) {
            if (i == b->best_bid || rf_tape_below(g, 4) != 0) {
                b->qty[i] = rf_tape_qty(g, qdp);
                b->bid_depth++;
            }
            i--;
        }
        i = b->best_ask;
        while (b->ask_depth < RF_TAPE_START_DEPTH) {
            if (i == b->best_ask || rf_tape_below(g, 4) != 0) {
                b->qty[i] = rf_tape_qty(g, qdp);
                b->ask_depth++;
            }
            i++;
        }
        b->last_update_id = 71234567890ll + (int64_t)s * 1000000007ll;
        b->agg_id = 3300000000ll + (int64_t)s * 100000007ll;
        b->trade_id = 5100000000ll + (int64_t)s * 200000011ll;
    }
}

/* The index of the k-th level from the best of a side (0 = the best). */
static inline int32_t rf_tape_nth(const rf_tape_book *b, int ask, int32_t k)
{
    int32_t i = ask ? b->best_ask : b->best_bid;
    for (;;) {
        if (b->qty[i] != 0 && k-- == 0)
            return i;
        i += ask ? 1 : -1;
    }
}

/* Chooses one level change of a side, applies it to the generator's book
 * and returns its index (qty in *qty), or -1 when it would repeat a price
 * already in this diff (then nothing changes). */
static inline int32_t rf_tape_level_op(rf_tape_gen *g, rf_tape_book *b, int sym, int ask,
                                       const int32_t *used, int n_used, int64_t *qty)
{
    int qdp = rf_tape_symbols[sym].qty_dp;
    int32_t *depth = ask ? &b->ask_depth : &b->bid_depth;
    int32_t window = *depth < 100 ? *depth : 100;
    uint64_t r = rf_tape_below(g, 100);
    int32_t idx;
    int64_t q;
    if (r >= 78 && *depth > RF_TAPE_MIN_DEPTH) { /* delete */
        idx = rf_tape_nth(b, ask, rf_tape_skew(g, window));
        q = 0;
    } else if (r >= 55 && *depth < RF_TAPE_MAX_DEPTH) { /* a price, maybe new */
        int inside = b->best_ask - b->best_bid > 1 && rf_tape_below(g, 4) == 0;
        if (inside)
            idx = ask ? b->best_ask - 1 : b->best_bid + 1;
        else
            idx = ask ? b->best_ask + 1 + rf_tape_skew(g, 60) : b->best_bid - 1 - rf_tape_skew(g, 60);
        if (idx < RF_TAPE_EDGE || idx >= RF_TAPE_TICKS - RF_TAPE_EDGE)
            idx = rf_tape_nth(b, ask, 0); /* at the window's edge: change the best instead */
        q = rf_tape_qty(g, qdp);
    } else { /* a new quantity for a level */
        idx = rf_tape_nth(b, ask, rf_tape_skew(g, window));
        q = rf_tape_qty(g, qdp);
    }
    for (int k = 0; k < n_used; k++)
        if (used[k] == idx)
            return -1;
    if (q != 0 && q == b->qty[idx])
        q++;
    if (b->qty[idx] == 0 && q != 0)
        (*depth)++;
    if (b->qty[idx] != 0 && q == 0)
        (*depth)--;
    b->qty[idx] = q;
    if (ask) {
        if (q != 0 && idx < b->best_ask)
            b->best_ask = idx;
        while (b->qty[b->best_ask] == 0)
            b->best_ask++;
    } else {
        if (q != 0 && idx > b->best_bid)
            b->best_bid = idx;
        while (b->qty[b->best_bid] == 0)
            b->best_bid--;
    }
    *qty = q;
    return idx;
}

/* The REST snapshot of a symbol's book now (/api/v3/depth?limit=...):
 * {"lastUpdateId":N,"bids":[[p,q],...],"asks":[...]}, best first, at most
 * `limit` levels a side. out needs 40 bytes a level plus 64. Returns the
 * length. */
static inline size_t rf_tape_snapshot(const rf_tape_gen *g, int sym, int32_t limit, char *out)
{
    const rf_tape_book *b = &g->book[sym];
    char *p = rf_tape_put(out, "{\"lastUpdateId\":");
    p = rf_tape_put_int(p, b->last_update_id);
    for (int ask = 0; ask < 2; ask++) {
        p = rf_tape_put(p, ask ? "],\"asks\":[" : ",\"bids\":[");
        int32_t depth = ask ? b->ask_depth : b->bid_depth;
        int32_t n = depth < limit ? depth : limit;
        int32_t i = ask ? b->best_ask : b->best_bid;
        for (int32_t k = 0; k < n; i += ask ? 1 : -1) {
            if (b->qty[i] == 0)
                continue;
            if (k++ > 0)
                *p++ = ',';
            p = rf_tape_put_level(p, b, sym, i, b->qty[i]);
        }
    }
    p = rf_tape_put(p, "]}");
    return (size_t)(p - out);
}

/* ---- messages ---- */

/* Writes the next message (a complete combined-stream payload,
 * {"stream":...,"data":{...}}) into out (RF_TAPE_MAX_MESSAGE bytes) and
 * returns its length. */
static inline size_t rf_tape_next(rf_tape_gen *g, char *out)
{
    uint64_t w = rf_tape_below(g, 100);
    int sym = 0;
    for (int acc = rf_tape_symbols[0].weight; (int)w >= acc; acc += rf_tape_symbols[++sym].weight) {
    }
    rf_tape_book *b = &g->book[sym];
    const rf_tape_symbol *spec = &rf_tape_symbols[sym];
    /* Simulated exchange time: 50,000 messages a second. */
    int64_t event_ms = 1700000000000ll + (int64_t)(g->messages / 50);
    uint64_t kind = rf_tape_below(g, 100);
    char *p = rf_tape_put(out, "{\"stream\":\"");
    p = rf_tape_put(p, spec->stream);
    if (kind < 70) {
        /* 1-20 levels, mostly a few (the minimum of three draws). */
        uint64_t a = rf_tape_below(g, RF_TAPE_MAX_LEVELS), c = rf_tape_below(g, RF_TAPE_MAX_LEVELS),
                 d = rf_tape_below(g, RF_TAPE_MAX_LEVELS);
        int n = 1 + (int)(a < c ? (a < d ? a : d) : (c < d ? c : d));
        int n_bids = (int)rf_tape_below(g, (uint64_t)n + 1);
        int32_t idx[RF_TAPE_MAX_LEVELS];
        int64_t qty[RF_TAPE_MAX_LEVELS];
        int nb = 0, na = 0;
        for (int k = 0; k < n_bids; k++) {
            int32_t i = rf_tape_level_op(g, b, sym, 0, idx, nb, &qty[nb]);
            if (i >= 0)
                idx[nb++] = i;
        }
        for (int k = n_bids; k < n; k++) {
            int32_t i = rf_tape_level_op(g, b, sym, 1, idx + nb, na, &qty[nb + na]);
            if (i >= 0)
                idx[nb + na++] = i;
        }
        int64_t first = b->last_update_id + 1;
        /* u - U + 1 counts the book's internal updates: at least one per level. */
        int64_t last = first + (nb + na > 0 ? nb + na - 1 : 0) + (int64_t)rf_tape_below(g, 3);
        b->last_update_id = last;
        b->diffs++;
        b->levels += (uint64_t)(nb + na);
        p = rf_tape_put(p, "@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":");
        p = rf_tape_put_int(p, event_ms);
        p = rf_tape_put(p, ",\"s\":\"");
        p = rf_tape_put(p, spec->name);
        p = rf_tape_put(p, "\",\"U\":");
        p = rf_tape_put_int(p, first);
        p = rf_tape_put(p, ",\"u\":");
        p = rf_tape_put_int(p, last);
        p = rf_tape_put(p, ",\"b\":[");
        for (int k = 0; k < nb + na; k++) {
            if (k == nb)
                p = rf_tape_put(p, "],\"a\":[");
            else if (k > 0)
                *p++ = ',';
            p = rf_tape_put_level(p, b, sym, idx[k], qty[k]);
        }
        if (na == 0)
            p = rf_tape_put(p, "],\"a\":[");
        p = rf_tape_put(p, "]}}");
    } else if (kind < 95) {
        int maker = (int)rf_tape_below(g, 2); /* buyer is maker: a sell hit the bid */
        int64_t price = b->base + (maker ? b->best_bid : b->best_ask);
        int64_t q = rf_tape_qty(g, spec->qty_dp);
        int64_t first_trade = b->trade_id + 1;
        b->trade_id = first_trade + (int64_t)rf_tape_below(g, 3);
        int64_t trade_ms = event_ms - (int64_t)rf_tape_below(g, 2);
        b->agg_id++;
        b->trades++;
        b->trade_price_sum += (uint64_t)price * (uint64_t)rf_tape_pow10(8 - RF_TAPE_PRICE_DP);
        b->trade_qty_sum += (uint64_t)q * (uint64_t)rf_tape_pow10(8 - spec->qty_dp);
        p = rf_tape_put(p, "@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":");
        p = rf_tape_put_int(p, event_ms);
        p = rf_tape_put(p, ",\"s\":\"");
        p = rf_tape_put(p, spec->name);
        p = rf_tape_put(p, "\",\"a\":");
        p = rf_tape_put_int(p, b->agg_id);
        p = rf_tape_put(p, ",\"p\":\"");
        p = rf_tape_put_fixed(p, price, RF_TAPE_PRICE_DP);
        p = rf_tape_put(p, "\",\"q\":\"");
        p = rf_tape_put_fixed(p, q, spec->qty_dp);
        p = rf_tape_put(p, "\",\"f\":");
        p = rf_tape_put_int(p, first_trade);
        p = rf_tape_put(p, ",\"l\":");
        p = rf_tape_put_int(p, b->trade_id);
        p = rf_tape_put(p, ",\"T\":");
        p = rf_tape_put_int(p, trade_ms);
        p = rf_tape_put(p, maker ? ",\"m\":true,\"M\":true}}" : ",\"m\":false,\"M\":true}}");
    } else {
        b->tickers++;
        p = rf_tape_put(p, "@bookTicker\",\"data\":{\"u\":");
        p = rf_tape_put_int(p, b->last_update_id);
        p = rf_tape_put(p, ",\"s\":\"");
        p = rf_tape_put(p, spec->name);
        p = rf_tape_put(p, "\",\"b\":\"");
        p = rf_tape_put_fixed(p, b->base + b->best_bid, RF_TAPE_PRICE_DP);
        p = rf_tape_put(p, "\",\"B\":\"");
        p = rf_tape_put_fixed(p, b->qty[b->best_bid], spec->qty_dp);
        p = rf_tape_put(p, "\",\"a\":\"");
        p = rf_tape_put_fixed(p, b->base + b->best_ask, RF_TAPE_PRICE_DP);
        p = rf_tape_put(p, "\",\"A\":\"");
        p = rf_tape_put_fixed(p, b->qty[b->best_ask], spec->qty_dp);
        p = rf_tape_put(p, "\"}}");
    }
    size_t len = (size_t)(p - out);
    g->messages++;
    g->bytes += len;
    return len;
}

#endif
