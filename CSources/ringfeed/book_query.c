/* Reading the book: best levels (cached), the levels in order, and the
 * prices derived from the top (spread, mid, microprice). Every answer that
 * reads levels also returns the state, so stale data is never mistaken for
 * live data. */
#include "book_internal.h"
#include "ringfeed/error.h"

int rf_book_best(const rf_book *book, int side, rf_book_level *out)
{
    if ((unsigned)side > 1) return RF_EINVAL;
    int64_t price = book->best[side].price;
    if (!price) return RF_EEMPTY;
    out->price = price;
    out->qty = book->best[side].qty;
    return book->state;
}

int rf_book_depth(const rf_book *book, int side)
{
    if ((unsigned)side > 1) return RF_EINVAL;
    return (int)book->side[side].levels;
}

void rf_book_iter_init(rf_book_iter *it, const rf_book *book, int side)
{
    it->book = book;
    it->side = side;
    if ((unsigned)side > 1) {
        it->block = 0;
        it->index = 0;
        return;
    }
    const rf__book_side *s = &book->side[side];
    it->block = s->nblocks;
    it->index = s->ref[s->nblocks - 1].n;
}

int rf_book_iter_next(rf_book_iter *it, rf_book_level *out)
{
    if (!it->block) return 0;
    const rf__book_side *s = &it->book->side[it->side];
    while (!it->index) {
        if (--it->block == 0) return 0;
        it->index = s->ref[it->block - 1].n;
    }
    const rf__book_block *b = &s->pool[s->ref[it->block - 1].id];
    it->index--;
    out->price = rf__book_price(s, b->key[it->index]);
    out->qty = s->qty[b->slot[it->index]];
    return 1;
}

int rf_book_levels(const rf_book *book, int side, size_t n, rf_book_level *out)
{
    if ((unsigned)side > 1 || (n && !out)) return RF_EINVAL;
    const rf__book_side *s = &book->side[side];
    size_t c = 0;
    for (uint32_t p = s->nblocks; p-- > 0 && c < n;) {
        const rf__book_ref *d = &s->ref[p];
        const rf__book_block *b = &s->pool[d->id];
        for (uint32_t j = d->n; j-- > 0 && c < n; c++) {
            out[c].price = rf__book_price(s, b->key[j]);
            out[c].qty = s->qty[b->slot[j]];
        }
    }
    return (int)c;
}

int rf_book_level_at(const rf_book *book, int side, size_t i, rf_book_level *out)
{
    if ((unsigned)side > 1) return RF_EINVAL;
    const rf__book_side *s = &book->side[side];
    for (uint32_t p = s->nblocks; p-- > 0;) {
        const rf__book_ref *d = &s->ref[p];
        if (i < d->n) {
            const rf__book_block *b = &s->pool[d->id];
            out->price = rf__book_price(s, b->key[d->n - 1 - i]);
            out->qty = s->qty[b->slot[d->n - 1 - i]];
            return book->state;
        }
        i -= d->n;
    }
    return RF_EEMPTY;
}

int rf_book_spread(const rf_book *book, int64_t *out_ticks)
{
    int64_t bid = book->best[RF_BOOK_BID].price, ask = book->best[RF_BOOK_ASK].price;
    if (!bid || !ask) return RF_EEMPTY;
    *out_ticks = ask - bid;
    return book->state;
}

int rf_book_mid(const rf_book *book, rf_decimal *out)
{
    int64_t bid = book->best[RF_BOOK_BID].price, ask = book->best[RF_BOOK_ASK].price;
    if (!bid || !ask) return RF_EEMPTY;
    /* Exact: both prices are at most RF_BOOK_MAX_PRICE = INT64_MAX / 10. */
    out->mantissa = (bid + ask) * 5;
    out->scale = (uint8_t)(book->price_scale + 1);
    return book->state;
}

int rf_book_microprice(const rf_book *book, double *out)
{
    int64_t bid = book->best[RF_BOOK_BID].price, ask = book->best[RF_BOOK_ASK].price;
    if (!bid || !ask) return RF_EEMPTY;
    long double bq = (long double)book->best[RF_BOOK_BID].qty;
    long double aq = (long double)book->best[RF_BOOK_ASK].qty;
    long double ticks = ((long double)bid * aq + (long double)ask * bq) / (bq + aq);
    long double scale = 1;
    for (unsigned i = 0; i < book->price_scale; i++) scale *= 10;
    *out = (double)(ticks / scale);
    return book->state;
}
