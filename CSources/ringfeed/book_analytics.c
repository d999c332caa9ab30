/* Quantities over the top of the book: volumes by level count and by
 * distance from the mid, imbalance, and a market order walked through one
 * side. Sums are 128-bit, so no realistic book overflows them; results that
 * must fit an int64 say so with RF_EOVERFLOW rather than wrapping. */
#include <string.h>

#include "book_internal.h"
#include "ringfeed/error.h"

/* Walks a side best first: for (it = walk_begin(s); walk_next(s, &it, &k, &q);). */
typedef struct walk {
    uint32_t p; /* block position + 1 */
    uint32_t j; /* levels left in the block */
} walk;

static inline walk walk_begin(const rf__book_side *s)
{
    return (walk){s->nblocks, s->ref[s->nblocks - 1].n};
}

static inline int walk_next(const rf__book_side *s, walk *w, int64_t *price, int64_t *qty)
{
    while (!w->j) {
        if (--w->p == 0) return 0;
        w->j = s->ref[w->p - 1].n;
    }
    const rf__book_block *b = &s->pool[s->ref[w->p - 1].id];
    w->j--;
    *price = rf__book_price(s, b->key[w->j]);
    *qty = s->qty[b->slot[w->j]];
    return 1;
}

static __int128 sum_top(const rf__book_side *s, size_t n)
{
    __int128 v = 0;
    walk w = walk_begin(s);
    int64_t price, qty;
    for (size_t i = 0; i < n && walk_next(s, &w, &price, &qty); i++) v += qty;
    return v;
}

static int fit(__int128 v, int64_t *out)
{
    if (v > INT64_MAX) return RF_EOVERFLOW;
    *out = (int64_t)v;
    return 0;
}

int rf_book_volume_levels(const rf_book *book, int side, size_t n, int64_t *out_lots)
{
    if ((unsigned)side > 1) return RF_EINVAL;
    int e = fit(sum_top(&book->side[side], n), out_lots);
    return e ? e : book->state;
}

int rf_book_volume_within(const rf_book *book, int side, int64_t distance_ticks, int64_t *out_lots)
{
    if ((unsigned)side > 1 || distance_ticks < 0) return RF_EINVAL;
    int64_t bid = book->best[RF_BOOK_BID].price, ask = book->best[RF_BOOK_ASK].price;
    if (!bid || !ask) return RF_EEMPTY;
    /* Twice the mid is an integer; compare twice the prices against it. */
    __int128 mid2 = (__int128)bid + ask, d2 = (__int128)distance_ticks * 2;
    const rf__book_side *s = &book->side[side];
    __int128 v = 0;
    walk w = walk_begin(s);
    int64_t price, qty;
    while (walk_next(s, &w, &price, &qty)) {
        __int128 p2 = (__int128)price * 2;
        if (side == RF_BOOK_BID ? p2 < mid2 - d2 : p2 > mid2 + d2) break;
        v += qty;
    }
    int e = fit(v, out_lots);
    return e ? e : book->state;
}

int rf_book_imbalance(const rf_book *book, size_t n, double *out)
{
    __int128 b = sum_top(&book->side[RF_BOOK_BID], n), a = sum_top(&book->side[RF_BOOK_ASK], n);
    if (!a && !b) return RF_EEMPTY;
    *out = (double)((long double)(b - a) / (long double)(b + a));
    return book->state;
}

static long double pow10l_exact(unsigned k)
{
    long double p = 1; /* exact up to 10^27 in an x87 long double; scales are <= 18 */
    while (k--) p *= 10;
    return p;
}

int rf_book_market_order(const rf_book *book, int side_taken, int64_t qty_lots, rf_book_fill *out)
{
    if (!out || (unsigned)side_taken > 1 || qty_lots <= 0) return RF_EINVAL;
    memset(out, 0, sizeof *out);
    const rf__book_side *s = &book->side[side_taken];
    int64_t best = book->best[side_taken].price;
    if (!best) {
        out->exhausted = 1;
        return RF_EEMPTY;
    }
    int64_t left = qty_lots, price = 0, qty, worst = best;
    __int128 notional = 0;
    uint32_t levels = 0;
    walk w = walk_begin(s);
    while (left && walk_next(s, &w, &price, &qty)) {
        int64_t take = qty < left ? qty : left;
        if (__builtin_add_overflow(notional, (__int128)price * take, &notional)) return RF_EOVERFLOW;
        left -= take;
        levels++;
        worst = price;
    }
    int64_t filled = qty_lots - left;
    out->filled = filled;
    out->notional_lo = (uint64_t)notional;
    out->notional_hi = (int64_t)(notional >> 64);
    out->best_price = best;
    out->worst_price = worst;
    out->levels = levels;
    out->exhausted = left > 0;
    long double ps = pow10l_exact(book->price_scale);
    out->notional = (double)((long double)notional / ps / pow10l_exact(book->qty_scale));
    long double avg = (long double)notional / (long double)filled; /* ticks */
    out->avg_price = (double)(avg / ps);
    long double slip = side_taken == RF_BOOK_ASK ? avg - best : best - avg;
    out->slippage_ticks = (double)slip;
    out->slippage_bps = (double)(slip / best * 10000);
    return book->state;
}
