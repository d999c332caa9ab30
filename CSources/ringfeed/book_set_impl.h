/* Private: the hot path of setting one level, included by book_set.c once
 * per instruction set (the AVX2 copy under a target pragma), so the
 * searches inline into a function compiled for the CPU that runs it.
 * Before including, define RF__BOOK_SET(x) (names), RF__BOOK_LOWER (the
 * block search: the number of keys below a key) and RF__BOOK_DIR (the
 * directory search: the last position in [0, n) whose first key is <= key,
 * or 0). */

/* The position of the block that holds key or would receive it: the last
 * one whose first key is <= key (0 when none is). Most updates are near the
 * best, at the end of the directory, so the last four positions are
 * counted without a branch (the padding before min[0] stands in for
 * positions a short directory lacks); only a key below them searches the
 * rest. */
static inline uint32_t RF__BOOK_SET(_find)(const rf__book_side *s, int64_t key)
{
    const int64_t *m = s->min;
    int64_t p = (int64_t)s->nblocks - 1;
    if (m[p - 3] <= key) {
        int64_t q = p - 3 + (m[p - 2] <= key) + (m[p - 1] <= key) + (m[p] <= key);
        return q < 0 ? 0 : (uint32_t)q;
    }
    return RF__BOOK_DIR(m, (size_t)(p - 3), key); /* the answer lies in [0, p - 3) */
}

static inline int RF__BOOK_SET()(rf_book *book, int side, int64_t key, int64_t qty)
{
    rf__book_side *s = &book->side[side];
    uint32_t p = RF__BOOK_SET(_find)(s, key);
    rf__book_ref *d = &s->ref[p];
    rf__book_block *b = &s->pool[d->id];
    uint32_t i = RF__BOOK_LOWER(b->key, key);
    /* Only tail calls below, so the common path saves no registers. */
    if (i < d->n && b->key[i] == key) {
        if (!qty) return rf__book_erase(book, side, p, i);
        b->qty[i] = qty;
        if (p == s->nblocks - 1 && i == d->n - 1) book->best[side].qty = qty;
        return RF_BOOK_APPLIED;
    }
    if (!qty) return RF_BOOK_APPLIED;
    if (s->levels >= book->max_levels) return rf__book_set_at_bound(book, side, key, qty);
    return rf__book_insert(book, side, p, i, key, qty);
}

/* rf_book_set for this instruction set: one call from the public entry. */
static int RF__BOOK_SET(_public)(rf_book *book, int side, int64_t price_ticks, int64_t qty_lots)
{
    if ((unsigned)side > 1) return RF_EINVAL;
    int e = rf__book_check_level(price_ticks, qty_lots);
    if (e) return e;
    /* The key from the side, not from the stored sign: a load and a
     * multiply at the head of the search's dependency chain cost more. */
    int64_t key = side == RF_BOOK_BID ? price_ticks : -price_ticks;
    return rf__book_settle(book, RF__BOOK_SET()(book, side, key, qty_lots));
}
