/* Private: the hot path of setting one level, included by book_set.c once
 * per instruction set (the AVX2 copy under a target pragma), so the
 * searches inline into a function compiled for the CPU that runs it.
 * Before including, define RF__BOOK_SET(x) (names), RF__BOOK_INDEX_FIND
 * (rf__book_index_find's contract), RF__BOOK_LOWER (the block search: the
 * number of keys below a key) and RF__BOOK_FIND (the directory search: the
 * position of the block that holds a key or would receive it). */

/* The changes that move levels (a delete, a new price), out of line with
 * the ordered search: a few percent of a depth stream's updates. */
static __attribute__((noinline)) int RF__BOOK_SET(_move)(rf_book *book, int side, int64_t key, int64_t qty)
{
    rf__book_side *s = &book->side[side];
    uint32_t p = RF__BOOK_FIND(s, key);
    rf__book_ref *d = &s->ref[p];
    uint32_t i = RF__BOOK_LOWER(s->pool[d->id].key, key);
    if (i < d->n && s->pool[d->id].key[i] == key) return rf__book_erase(book, side, p, i); /* qty 0: a delete */
    if (!qty) return RF_BOOK_APPLIED;
    if (s->levels >= book->max_levels) return rf__book_set_at_bound(book, side, key, qty);
    return rf__book_insert(book, side, p, i, key, qty);
}

/* The common case inline: a quantity change of a level that is there,
 * found through the index, with no ordered search. */
static inline __attribute__((always_inline)) int RF__BOOK_SET()(rf_book *book, int side, int64_t key, int64_t qty)
{
    rf__book_side *s = &book->side[side];
    uint32_t j = RF__BOOK_INDEX_FIND(s, key);
    if (__builtin_expect((j == RF__BOOK_NOWHERE) | !qty, 0)) return RF__BOOK_SET(_move)(book, side, key, qty);
    s->qty[s->hslot[j]] = qty;
    /* Whether this is the best level is a coin toss near the top: a
     * select, not a branch the predictor would miss a third of the time. */
    int64_t *best = &book->best[side].qty;
    int64_t is_best = -(int64_t)((side == RF_BOOK_BID ? key : -key) == book->best[side].price);
    __asm__("" : "+r"(is_best)); /* opaque: the compiler would make it a branch again */
    *best ^= (*best ^ qty) & is_best;
    return RF_BOOK_APPLIED;
}

/* For rf__book_side_set: the same, out of line. */
static int RF__BOOK_SET(_side)(rf_book *book, int side, int64_t key, int64_t qty)
{
    return RF__BOOK_SET()(book, side, key, qty);
}

/* rf_book_set for this instruction set: one call from the public entry. */
static int RF__BOOK_SET(_public)(rf_book *book, int side, int64_t price_ticks, int64_t qty_lots)
{
    /* One test for every bad argument; which one it was, out of line. */
    if (__builtin_expect((unsigned)side > 1 || (uint64_t)price_ticks - 1 >= (uint64_t)RF_BOOK_MAX_PRICE || qty_lots < 0,
                         0))
        return (unsigned)side > 1 ? RF_EINVAL : rf__book_check_level(price_ticks, qty_lots);
    /* The key from the side, not from the stored sign: a load and a
     * multiply at the head of the search's dependency chain cost more. */
    int64_t key = side == RF_BOOK_BID ? price_ticks : -price_ticks;
    return rf__book_settle(book, RF__BOOK_SET()(book, side, key, qty_lots));
}
