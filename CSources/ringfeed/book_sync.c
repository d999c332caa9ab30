/* Binance's order-book synchronisation, per symbol: load a REST snapshot,
 * then bridge it to the diff stream and follow the stream's update-id chain
 * (spot: U == previous u + 1; USD-M futures: pu == previous u). Pure: the
 * caller does the I/O and the buffering. */
#include "book_internal.h"
#include "ringfeed/error.h"

/* Counts a side's non-zero levels and tells whether they come strictly
 * best first (the exchange's order), which allows the bulk load. */
static int best_first(const rf_book *book, int side, const rf_bn_level *levels, size_t n,
                      size_t *nonzero)
{
    int64_t sign = book->side[side].sign, prev = INT64_MAX;
    int sorted = 1;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t price, qty;
        rf__book_to_grid(levels[i].quantity, book->qty_scale, &qty);
        if (!qty) continue;
        rf__book_to_grid(levels[i].price, book->price_scale, &price);
        int64_t key = sign * price;
        if (key >= prev) sorted = 0;
        prev = key;
        c++;
    }
    *nonzero = c;
    return sorted;
}

static int load_side(rf_book *book, int side, const rf_bn_level *levels, size_t n)
{
    size_t nonzero;
    if (best_first(book, side, levels, n, &nonzero)) {
        size_t keep = nonzero < book->max_levels ? nonzero : book->max_levels;
        book->trimmed += nonzero - keep;
        rf__book_side_bulk(book, side, levels, n, nonzero, keep);
        return nonzero > keep ? RF_BOOK_TRIMMED : RF_BOOK_APPLIED;
    }
    int r = RF_BOOK_APPLIED;
    int64_t sign = book->side[side].sign;
    for (size_t i = 0; i < n; i++) {
        int64_t price, qty;
        rf__book_to_grid(levels[i].price, book->price_scale, &price);
        rf__book_to_grid(levels[i].quantity, book->qty_scale, &qty);
        if (qty) r |= rf__book_side_set(book, side, sign * price, qty); /* a 0 is no level, not a delete */
    }
    return r;
}

int rf_book_load_snapshot(rf_book *book, int64_t last_update_id, const rf_bn_level *bids,
                          size_t n_bids, const rf_bn_level *asks, size_t n_asks)
{
    /* Convert everything before touching the book: a snapshot that does
     * not load leaves the old (stale) book readable. */
    int e = rf__book_validate(book, bids, n_bids);
    if (!e) e = rf__book_validate(book, asks, n_asks);
    if (e) return e;
    rf_book_clear(book);
    int r = load_side(book, RF_BOOK_BID, bids, n_bids) | load_side(book, RF_BOOK_ASK, asks, n_asks);
    book->last_update_id = last_update_id;
    if (rf__book_crossed(book)) {
        book->state = RF_BOOK_STALE;
        return RF_ECROSSED;
    }
    book->state = RF_BOOK_SYNCING;
    return r ? RF_BOOK_TRIMMED : RF_BOOK_APPLIED;
}

int rf_book_apply_diff(rf_book *book, const rf_bn_depth *diff, unsigned flags)
{
    if (!diff) return RF_EINVAL;
    int futures = (flags & RF_BOOK_FUTURES) != 0;
    int64_t first = diff->first_update_id, last = diff->final_update_id;
    int64_t prev = diff->prev_final_update_id;
    if (first == RF_BN_ABSENT || last == RF_BN_ABSENT || first > last ||
        (futures && prev == RF_BN_ABSENT))
        return RF_EINVAL;
    if (book->state != RF_BOOK_SYNCING && book->state != RF_BOOK_LIVE) return RF_ESTATE;
    int64_t id = book->last_update_id;
    if (book->state == RF_BOOK_SYNCING) {
        /* Spot drops u <= lastUpdateId and bridges with U <= lastUpdateId
         * + 1 <= u; futures drops u < lastUpdateId and bridges with U <=
         * lastUpdateId <= u (an event ending exactly at the snapshot is
         * the bridge there: the next one's pu names it). */
        if (futures ? last < id : last <= id) return RF_BOOK_SKIPPED;
        if (futures ? first > id : first - 1 > id) goto gap; /* first - 1: id may be INT64_MAX */
    } else {
        /* A repeat of an event already applied changes nothing. */
        if (last <= id) return RF_BOOK_SKIPPED;
        if (futures ? prev != id : first - 1 != id) goto gap;
    }
    int e = rf__book_validate(book, diff->bids, diff->bid_count);
    if (!e) e = rf__book_validate(book, diff->asks, diff->ask_count);
    if (e) {
        book->state = RF_BOOK_STALE; /* it cannot follow the stream past this event */
        return e;
    }
    book->last_update_id = last;
    book->state = RF_BOOK_LIVE;
    int r = rf__book_apply_checked(book, diff->bids, diff->bid_count, diff->asks, diff->ask_count);
    return r == RF_ECROSSED ? r : RF_BOOK_APPLIED;
gap:
    book->state = RF_BOOK_STALE;
    return RF_EGAP;
}
