/* A fixed-point limit order book, and Binance's rules for keeping one in
 * sync with a depth stream.
 *
 * Prices and quantities are integers on the symbol's grids: a price of
 * "0.35130000" in a book with price_scale 8 is 35130000 ticks, a quantity
 * of "6" with qty_scale 0 is 6 lots. The book never rounds: a text that does
 * not fall on the grid is refused (RF_EDECIMAL), and every level prints back
 * with the book's scales byte-identical to the exchange's text.
 *
 * Memory: everything is allocated by rf_book_create (about 52 bytes per
 * level of max_levels per side, see rf_book_info.memory_bytes); nothing is
 * allocated, and nothing grows, afterwards. A new quantity for a level that
 * is there (most of a depth stream) is a hash probe and a store, about
 * 10 ns on a 5000-level book; adding or removing a level also searches a
 * short directory and one small sorted block and shifts within it
 * (bench/bench_book.c and bench/RESULTS.md). The best level of each side
 * is cached, so rf_book_best is a couple of loads.
 *
 * Never crossed: a book whose best bid is at or above its best ask is never
 * reported live. An update that crosses it is applied, returns RF_ECROSSED
 * and leaves the book RF_BOOK_STALE until it is reloaded from a snapshot (or
 * cleared). Queries keep answering a stale book, and every query that reads
 * levels returns the state (RF_BOOK_LIVE is 0) so a caller that checks for 0
 * never shows stale data as live.
 *
 * Not thread-safe: one thread owns a book (the loop thread that applies the
 * stream); readers elsewhere need the owner's lock or a copy
 * (rf_book_levels). */
#ifndef RINGFEED_BOOK_H
#define RINGFEED_BOOK_H

#include <stddef.h>
#include <stdint.h>

#include "ringfeed/binance.h" /* rf_bn_level, rf_bn_depth */
#include "ringfeed/decimal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_book rf_book;

enum rf_book_side {
    RF_BOOK_BID = 0, /* buyers: best is the highest price */
    RF_BOOK_ASK = 1, /* sellers: best is the lowest price */
};

/* What the contents claim. Returned by rf_book_state and, for a book that
 * has levels, by every query, so `== 0` means "live data". */
enum rf_book_state {
    RF_BOOK_LIVE = 0,    /* in sync with the stream (or edited by hand, not crossed) */
    RF_BOOK_SYNCING = 1, /* a snapshot is loaded, no diff has bridged it to the stream yet */
    RF_BOOK_STALE = 2,   /* a gap, a crossed update or rf_book_mark_stale: readable, not current;
                            only rf_book_load_snapshot or rf_book_clear leave this state */
    RF_BOOK_EMPTY = 3,   /* created or cleared; nothing loaded */
};

/* Non-negative results of the functions that change the book. */
enum rf_book_result {
    RF_BOOK_APPLIED = 0,
    RF_BOOK_SKIPPED = 1, /* rf_book_apply_diff: an event older than the book (see there) */
    RF_BOOK_TRIMMED = 2, /* the max_levels bound dropped a level (see rf_book_config) */
};

/* rf_book_apply_diff flags. */
#define RF_BOOK_FUTURES 1u /* USD-M futures rules (the "pu" chain) instead of spot's */

#define RF_BOOK_DEFAULT_MAX_LEVELS 10000u
#define RF_BOOK_MAX_MAX_LEVELS (1u << 22)
/* The largest price in ticks (about 9.2e17: 9,223,372 at 11 decimals,
 * 92,233,720,368 at 7), so that sums of two prices times 5 (rf_book_mid)
 * stay exact in an int64. */
#define RF_BOOK_MAX_PRICE (INT64_MAX / 10)

typedef struct rf_book_config {
    /* Decimals of the symbol's price and quantity texts: 8 and 8 on spot
     * ("0.35130000", "6195.00000000"); 4 and 0 for SUSHIUSDT futures
     * ("7.6110", "6"). price_scale <= 17 (the mid has one decimal more),
     * qty_scale <= 18. */
    uint8_t price_scale;
    uint8_t qty_scale;
    /* The most levels one side holds; 0 means RF_BOOK_DEFAULT_MAX_LEVELS,
     * at most RF_BOOK_MAX_MAX_LEVELS. A side at the bound keeps its best
     * levels: a new level better than the worst evicts the worst, a new
     * level no better than the worst is not stored. Either way the set
     * returns RF_BOOK_TRIMMED and rf_book_info.trimmed counts it. (A depth
     * stream only ever describes the top of a book, so the levels lost are
     * the ones an exchange snapshot leaves out anyway.) */
    uint32_t max_levels;
} rf_book_config;

/* One level in ticks and lots. */
typedef struct rf_book_level {
    int64_t price; /* ticks: value = price / 10^price_scale; > 0 */
    int64_t qty;   /* lots: value = qty / 10^qty_scale; > 0 */
} rf_book_level;

/* Creates an empty book (RF_BOOK_EMPTY), allocating all its memory.
 * Returns 0, RF_EINVAL (NULL out or cfg, a scale out of range, max_levels
 * over RF_BOOK_MAX_MAX_LEVELS) or RF_ENOMEM. */
int rf_book_create(rf_book **out, const rf_book_config *cfg);
void rf_book_destroy(rf_book *book); /* NULL is fine */

/* Removes every level; the state becomes RF_BOOK_EMPTY, the update id 0. */
void rf_book_clear(rf_book *book);

/* ---- editing -------------------------------------------------------------
 * Sets the quantity of one level; qty 0 deletes it (deleting a level that
 * is not there does nothing). On an RF_BOOK_EMPTY book the state becomes
 * RF_BOOK_LIVE; otherwise it is kept, unless the result is crossed: then it
 * becomes RF_BOOK_STALE and the call returns RF_ECROSSED (the level is set).
 * A multi-level update whose intermediate steps may cross (any exchange
 * diff) goes through rf_book_apply instead, which checks once at the end.
 * Returns RF_BOOK_APPLIED, RF_BOOK_TRIMMED, RF_ECROSSED, RF_EINVAL (bad
 * side, price <= 0, qty < 0) or RF_EOVERFLOW (price over RF_BOOK_MAX_PRICE). */
int rf_book_set(rf_book *book, int side, int64_t price_ticks, int64_t qty_lots);

/* As rf_book_set, from exchange decimals: each is moved onto the book's
 * grid exactly (rf_decimal_rescale): a text with more decimals than the
 * grid is accepted when the extra digits are zeros ("7.61100" at scale 4)
 * and refused with RF_EDECIMAL otherwise; RF_EOVERFLOW when it does not fit.
 * Nothing is changed on an error. */
int rf_book_set_decimal(rf_book *book, int side, rf_decimal price, rf_decimal qty);

/* Applies several levels as one update (bids, then asks, each in order; a
 * later level of the same price wins); crossing is checked once, after all
 * of them. Every level is converted before any is applied, so a level that
 * does not fit the grid (RF_EDECIMAL, RF_EOVERFLOW, RF_EINVAL) changes
 * nothing. State as rf_book_set. Returns RF_BOOK_APPLIED, RF_BOOK_TRIMMED
 * (if any level was trimmed), RF_ECROSSED or one of those errors. */
int rf_book_apply(rf_book *book, const rf_bn_level *bids, size_t n_bids, const rf_bn_level *asks,
                  size_t n_asks);

/* ---- Binance synchronisation (no I/O: the caller fetches and buffers) ----
 *
 * The procedure (Binance's "how to manage a local order book correctly"):
 * open the diff stream and buffer its events; fetch a REST depth snapshot
 * and load it; feed the buffered events, then the live ones, to
 * rf_book_apply_diff, which
 *   - skips an event older than the book (RF_BOOK_SKIPPED): spot u <= lastUpdateId,
 *     futures u < lastUpdateId (after the first event: u <= the previous u,
 *     a repeat, for both);
 *   - accepts the first event when U <= lastUpdateId + 1 <= u (spot) or
 *     U <= lastUpdateId <= u (futures), and the book becomes RF_BOOK_LIVE;
 *   - then requires U == previous u + 1 (spot) or pu == previous u (futures).
 * A first event that starts after the snapshot, or a later event that does
 * not continue the chain, is a gap: RF_EGAP, nothing applied, the book keeps
 * its levels and becomes RF_BOOK_STALE; fetch a new snapshot. */

/* Replaces the contents with a REST depth snapshot (/api/v3/depth or
 * /fapi/v1/depth as scanned by rf_bn_scan: lastUpdateId in
 * depth.final_update_id, levels in depth.bids / depth.asks). Levels may come
 * in any order (the exchange's best-first order is the fast path); a
 * quantity of 0 is skipped (it is no level, and deletes nothing), and of two
 * levels with the same price the later one counts. Every level is converted first: on an error
 * (RF_EDECIMAL, RF_EOVERFLOW, RF_EINVAL) the book is left as it was. On
 * success the state is RF_BOOK_SYNCING and the update id last_update_id;
 * a crossed snapshot returns RF_ECROSSED and leaves the book
 * RF_BOOK_STALE. Returns RF_BOOK_APPLIED or RF_BOOK_TRIMMED (more levels
 * than max_levels: the best are kept). */
int rf_book_load_snapshot(rf_book *book, int64_t last_update_id, const rf_bn_level *bids,
                          size_t n_bids, const rf_bn_level *asks, size_t n_asks);

/* Applies one depthUpdate event (rf_bn_event.u.depth) under the rules
 * above; flags RF_BOOK_FUTURES for USD-M futures. Returns RF_BOOK_APPLIED,
 * RF_BOOK_SKIPPED, RF_EGAP, RF_ECROSSED (applied: the contents include the
 * crossing event, and the book is RF_BOOK_STALE), RF_ESTATE (the book is
 * RF_BOOK_EMPTY or RF_BOOK_STALE: load a snapshot first), RF_EINVAL (U or u
 * absent, U > u, futures without pu) or a level's conversion error (then
 * nothing is applied and the book is RF_BOOK_STALE, having missed an update).
 * Allocates nothing. */
int rf_book_apply_diff(rf_book *book, const rf_bn_depth *diff, unsigned flags);

/* The book's state (enum rf_book_state). */
int rf_book_state(const rf_book *book);
/* The snapshot's lastUpdateId, then the u of the last applied event; 0
 * before any snapshot. */
int64_t rf_book_last_update_id(const rf_book *book);
/* Makes a SYNCING or LIVE book RF_BOOK_STALE (e.g. the stream dropped). */
void rf_book_mark_stale(rf_book *book);

/* ---- queries --------------------------------------------------------------
 * Those that read levels return the state (>= 0, RF_BOOK_LIVE == 0) with
 * their result written, RF_EEMPTY when a side they need has no level (or no
 * level at that index), RF_EINVAL for a bad argument. */

/* The best level of a side: cached, O(1). */
int rf_book_best(const rf_book *book, int side, rf_book_level *out);

/* Number of levels on a side (>= 0), or RF_EINVAL. */
int rf_book_depth(const rf_book *book, int side);

/* Copies the best n levels of a side, best first, into out[0..n). Returns
 * the number copied (<= n, 0 for an empty side) or RF_EINVAL. Use
 * rf_book_state for the state. */
int rf_book_levels(const rf_book *book, int side, size_t n, rf_book_level *out);

/* The level at index i from the best (0 is the best). O(i / 32). */
int rf_book_level_at(const rf_book *book, int side, size_t i, rf_book_level *out);

/* Walks a side best first in O(1) per level. Any change to the book
 * invalidates the iterator. */
typedef struct rf_book_iter {
    const rf_book *book;
    int side;
    uint32_t block; /* position of the current block + 1; 0 when done */
    uint32_t index; /* levels left in the current block */
} rf_book_iter;
void rf_book_iter_init(rf_book_iter *it, const rf_book *book, int side);
/* 1 with *out set, or 0 after the last level. */
int rf_book_iter_next(rf_book_iter *it, rf_book_level *out);

/* Best ask - best bid, in ticks (> 0 unless the book is stale). */
int rf_book_spread(const rf_book *book, int64_t *out_ticks);

/* (best bid + best ask) / 2, exactly: a decimal with price_scale + 1
 * decimals (mantissa (bid + ask) * 5), e.g. "0.352450000" between
 * "0.35210000" and "0.35280000". */
int rf_book_mid(const rf_book *book, rf_decimal *out);

/* The size-weighted mid (bid * ask_qty + ask * bid_qty) / (bid_qty +
 * ask_qty), in price units (not ticks), as a double: an analytics value. */
int rf_book_microprice(const rf_book *book, double *out);

/* Total quantity in lots of the best n levels of a side (0 for an empty
 * side, which is not an error here). RF_EOVERFLOW past int64. */
int rf_book_volume_levels(const rf_book *book, int side, size_t n, int64_t *out_lots);

/* Total quantity in lots of the levels of a side no further than
 * distance_ticks from the mid: bids with price >= mid - distance, asks with
 * price <= mid + distance. Needs both sides (RF_EEMPTY otherwise);
 * distance_ticks >= 0. */
int rf_book_volume_within(const rf_book *book, int side, int64_t distance_ticks, int64_t *out_lots);

/* (bid volume - ask volume) / (bid volume + ask volume) over the best n
 * levels of each side, in [-1, 1]. RF_EEMPTY when both volumes are 0. */
int rf_book_imbalance(const rf_book *book, size_t n, double *out);

/* A market order of qty_lots walked through one side: side_taken is the
 * side it consumes (RF_BOOK_ASK for a buy, RF_BOOK_BID for a sell). */
typedef struct rf_book_fill {
    int64_t filled;          /* lots filled, <= the order's quantity */
    /* Exact notional sum(price_ticks * lots) as a signed 128-bit integer,
     * notional_hi * 2^64 + notional_lo; in price * quantity units it is
     * notional / 10^(price_scale + qty_scale). */
    uint64_t notional_lo;
    int64_t notional_hi;
    double notional;         /* the same in price * quantity units (quote asset) */
    double avg_price;        /* notional / filled in price units; 0 when nothing filled */
    int64_t best_price;      /* ticks of the best level when the order arrived */
    int64_t worst_price;     /* ticks of the last level it reached */
    double slippage_ticks;   /* average price's distance from the best, against the taker (>= 0) */
    double slippage_bps;     /* the same in basis points of the best price */
    uint32_t levels;         /* levels reached, the last one possibly in part */
    uint8_t exhausted;       /* 1 when the side ran out before the order was filled */
} rf_book_fill;
/* Returns the state, RF_EEMPTY for an empty side (out zeroed, exhausted
 * set), RF_EINVAL for qty_lots <= 0 or a bad side. Reads only: the book is
 * not changed. */
int rf_book_market_order(const rf_book *book, int side_taken, int64_t qty_lots, rf_book_fill *out);

/* A checksum of the best n levels of both sides that any program can
 * reproduce: CRC-32 (ISO-HDLC, as zlib.crc32) of the ASCII text made of,
 * for i = 0 .. n-1, the entry of bid i (if that side has one) and then that
 * of ask i (likewise), entries separated by ",", each entry
 * "<price>:<quantity>" written with the book's scales (rf_decimal_format:
 * "0.35210000:672.00000000"). In Python:
 *   zlib.crc32(",".join(f"{p}:{q}" for i in range(n)
 *              for side in (bids, asks) if i < len(side)
 *              for p, q in [side[i]]).encode())
 * An empty text gives 0. */
int rf_book_checksum(const rf_book *book, size_t n, uint32_t *out);

/* A level as exchange decimals (the book's scales). */
void rf_book_level_decimal(const rf_book *book, rf_book_level level, rf_bn_level *out);

typedef struct rf_book_info {
    int state;               /* enum rf_book_state */
    uint8_t price_scale, qty_scale;
    uint32_t max_levels;     /* per side, as resolved from the config */
    uint32_t bid_depth, ask_depth;
    int64_t last_update_id;
    uint64_t trimmed;        /* levels dropped by the max_levels bound since create */
    size_t memory_bytes;     /* everything rf_book_create allocated */
} rf_book_info;
void rf_book_get_info(const rf_book *book, rf_book_info *out);

#ifdef __cplusplus
}
#endif
#endif
