/* The levels of one book side: a directory of small sorted blocks (layout
 * and invariants in book_internal.h). Everything here runs on memory
 * allocated by rf_book_create; nothing allocates. */
#include <string.h>

#include "book_index.h"
#include "ringfeed/error.h"

#define B RF__BOOK_B

/* A fresh block's unused slots must read as "above every key". */
static void block_reset(rf__book_block *b)
{
    for (int j = 0; j < B; j++) b->key[j] = RF__BOOK_NOKEY;
}

void rf__book_side_init(rf__book_side *s, int64_t sign)
{
    s->sign = sign;
    rf__book_side_clear(s);
}

void rf__book_side_clear(rf__book_side *s)
{
    rf__book_index_clear(s); /* first: it reads the level count */
    /* Ids pop in ascending order, so a small side stays in the first
     * blocks of the pool (fewer pages touched). */
    s->nfree = 0;
    for (uint32_t id = s->max_blocks; id-- > 1;) s->free_ids[s->nfree++] = id;
    for (int j = 1; j <= RF__BOOK_PAD; j++) s->min[-j] = INT64_MIN;
    s->nblocks = 1;
    s->min[0] = INT64_MIN;
    s->ref[0] = (rf__book_ref){0, 0};
    block_reset(&s->pool[0]);
    s->levels = 0;
}

void rf__book_refresh_best(rf_book *book, int side)
{
    const rf__book_side *s = &book->side[side];
    rf__book_ref r = s->ref[s->nblocks - 1];
    if (!r.n) {
        book->best[side].price = 0;
        book->best[side].qty = 0;
        return;
    }
    const rf__book_block *b = &s->pool[r.id];
    book->best[side].price = rf__book_price(s, b->key[r.n - 1]);
    book->best[side].qty = s->qty[b->slot[r.n - 1]];
}

/* Shifts within one block (at most 31 levels each way). */
static inline void block_shift_right(rf__book_block *b, uint32_t i, uint32_t n)
{
    memmove(&b->key[i + 1], &b->key[i], (n - i) * sizeof b->key[0]);
    memmove(&b->slot[i + 1], &b->slot[i], (n - i) * sizeof b->slot[0]);
}

static inline void block_shift_left(rf__book_block *b, uint32_t i, uint32_t n)
{
    memmove(&b->key[i], &b->key[i + 1], (n - 1 - i) * sizeof b->key[0]);
    memmove(&b->slot[i], &b->slot[i + 1], (n - 1 - i) * sizeof b->slot[0]);
}

/* Inserts into a block with room. */
static inline void block_insert(rf__book_side *s, uint32_t p, uint32_t i, int64_t key, uint32_t slot)
{
    rf__book_ref *r = &s->ref[p];
    rf__book_block *b = &s->pool[r->id];
    block_shift_right(b, i, r->n);
    b->key[i] = key;
    b->slot[i] = slot;
    r->n++;
    if (i == 0) s->min[p] = key;
}

/* Opens directory position p (moving p.. up) or closes it (moving p+1.. down). */
static void dir_open(rf__book_side *s, uint32_t p)
{
    memmove(&s->min[p + 1], &s->min[p], (s->nblocks - p) * sizeof s->min[0]);
    memmove(&s->ref[p + 1], &s->ref[p], (s->nblocks - p) * sizeof s->ref[0]);
    s->nblocks++;
}

static void dir_close(rf__book_side *s, uint32_t p)
{
    memmove(&s->min[p], &s->min[p + 1], (s->nblocks - p - 1) * sizeof s->min[0]);
    memmove(&s->ref[p], &s->ref[p + 1], (s->nblocks - p - 1) * sizeof s->ref[0]);
    s->nblocks--;
}

/* Appends block p + 1 to block p (they fit together) and drops it. */
static void merge_next(rf__book_side *s, uint32_t p)
{
    rf__book_ref *d = &s->ref[p], e = s->ref[p + 1];
    rf__book_block *a = &s->pool[d->id], *b = &s->pool[e.id];
    memcpy(&a->key[d->n], b->key, e.n * sizeof a->key[0]);
    memcpy(&a->slot[d->n], b->slot, e.n * sizeof a->slot[0]);
    if (!d->n) s->min[p] = s->min[p + 1];
    d->n += e.n;
    s->free_ids[s->nfree++] = e.id;
    dir_close(s, p + 1);
}

/* Deletes index i of block p, then merges neighbours that fit in one block
 * (which keeps the pair invariant and so the memory bound). */
int rf__book_erase(rf_book *book, int side, uint32_t p, uint32_t i)
{
    rf__book_side *s = &book->side[side];
    rf__book_ref *r = &s->ref[p];
    rf__book_block *b = &s->pool[r->id];
    uint32_t n = r->n;
    int was_best = p == s->nblocks - 1 && i == n - 1;
    rf__book_index_remove(s, rf__book_index_find(s, b->key[i]));
    rf__book_slot_give(s, b->slot[i]);
    block_shift_left(b, i, n);
    b->key[--n] = RF__BOOK_NOKEY;
    r->n = n;
    s->levels--;
    if (i == 0) s->min[p] = n ? b->key[0] : INT64_MIN; /* an empty lone block sorts first */
    int merged = 0;
    if (p > 0 && s->ref[p - 1].n + n <= B) {
        merge_next(s, p - 1);
        p--;
        merged = 1;
    }
    if (p + 1 < s->nblocks && s->ref[p].n + s->ref[p + 1].n <= B) {
        merge_next(s, p);
        merged = 1;
    }
    if (was_best || merged) rf__book_refresh_best(book, side);
    return RF_BOOK_APPLIED;
}

/* Inserts a new level at index i of block p (its lower bound). A full block
 * first passes its worst level to the previous block or its best to the
 * next one, when either has room; only when both are full does it split,
 * which is what keeps neighbouring pairs above B levels. */
int rf__book_insert(rf_book *book, int side, uint32_t p, uint32_t i, int64_t key, int64_t qty)
{
    rf__book_side *s = &book->side[side];
    rf__book_ref *r = &s->ref[p];
    uint32_t n = r->n;
    int top = p == s->nblocks - 1 && i == n; /* the new level becomes the best */
    if (n == B && !(p > 0 && s->ref[p - 1].n < B) && !(p + 1 < s->nblocks && s->ref[p + 1].n < B) && !s->nfree) {
        /* a split with no block free: excluded by the pair invariant;
         * refuse rather than corrupt */
        book->trimmed++;
        return RF_BOOK_TRIMMED;
    }
    uint32_t slot = rf__book_slot_take(s);
    s->qty[slot] = qty;
    rf__book_index_add(s, key, slot);
    if (n < B) {
        block_insert(s, p, i, key, slot);
    } else if (p > 0 && s->ref[p - 1].n < B) {
        /* i >= 1 here: key is above the block's first key (the search). */
        rf__book_ref *l = &s->ref[p - 1];
        rf__book_block *lb = &s->pool[l->id], *b = &s->pool[r->id];
        lb->key[l->n] = b->key[0];
        lb->slot[l->n] = b->slot[0];
        l->n++;
        memmove(&b->key[0], &b->key[1], (i - 1) * sizeof b->key[0]);
        memmove(&b->slot[0], &b->slot[1], (i - 1) * sizeof b->slot[0]);
        b->key[i - 1] = key;
        b->slot[i - 1] = slot;
        s->min[p] = b->key[0];
    } else if (p + 1 < s->nblocks && s->ref[p + 1].n < B) {
        rf__book_block *b = &s->pool[r->id];
        if (i == n) {
            block_insert(s, p + 1, 0, key, slot);
        } else {
            int64_t k = b->key[B - 1];
            uint32_t q = b->slot[B - 1];
            block_shift_right(b, i, B - 1);
            b->key[i] = key;
            b->slot[i] = slot;
            if (i == 0) s->min[p] = key;
            block_insert(s, p + 1, 0, k, q);
        }
    } else {
        uint32_t id = s->free_ids[--s->nfree];
        rf__book_block *b = &s->pool[r->id], *nb = &s->pool[id];
        block_reset(nb);
        memcpy(nb->key, &b->key[B / 2], (B / 2) * sizeof b->key[0]);
        memcpy(nb->slot, &b->slot[B / 2], (B / 2) * sizeof b->slot[0]);
        for (int j = B / 2; j < B; j++) b->key[j] = RF__BOOK_NOKEY;
        dir_open(s, p + 1);
        s->ref[p].n = B / 2;
        s->ref[p + 1] = (rf__book_ref){id, B / 2};
        s->min[p + 1] = nb->key[0];
        if (i <= B / 2)
            block_insert(s, p, i, key, slot);
        else
            block_insert(s, p + 1, i - B / 2, key, slot);
    }
    s->levels++;
    if (top) {
        book->best[side].price = rf__book_price(s, key);
        book->best[side].qty = qty;
    }
    return RF_BOOK_APPLIED;
}

/* Snapshot load into an empty side. levels[0..n) are best first with
 * strictly descending keys among those with a non-zero quantity (`nonzero`
 * of them); the best `keep` of those are stored. Blocks are filled evenly
 * to about 13/16 (26 of 32): room for inserts before any split, and every
 * neighbouring pair still holds more than B levels (n > B makes two blocks
 * of more than B together; with k >= 3 blocks each holds more than 2/3 of
 * 26, so at least 17). */
void rf__book_side_bulk(rf_book *book, int side, const rf_bn_level *levels, size_t n,
                        size_t nonzero, size_t keep)
{
    rf__book_side *s = &book->side[side];
    const size_t fill = B - B / 4 + 2;
    size_t k = keep <= B ? 1 : (keep + fill - 1) / fill;
    size_t skip = nonzero - keep, left = keep;
    uint32_t p = 0, j = 0;
    size_t per = keep / k, extra = keep % k; /* the first `extra` blocks take one more */
    size_t want = per + (extra > 0);
    for (size_t x = n; x-- > 0 && left;) {
        int64_t price, qty;
        rf__book_to_grid(levels[x].quantity, book->qty_scale, &qty);
        if (!qty) continue;
        if (skip) {
            skip--;
            continue;
        }
        rf__book_to_grid(levels[x].price, book->price_scale, &price);
        if (j == want) {
            uint32_t id = s->free_ids[--s->nfree];
            block_reset(&s->pool[id]);
            p++;
            s->ref[p] = (rf__book_ref){id, 0};
            s->nblocks++;
            j = 0;
            want = per + (p < extra);
        }
        rf__book_block *b = &s->pool[s->ref[p].id];
        int64_t key = s->sign * price;
        uint32_t slot = rf__book_slot_take(s);
        s->qty[slot] = qty;
        rf__book_index_add(s, key, slot);
        b->key[j] = key;
        b->slot[j] = slot;
        if (!j) s->min[p] = key;
        s->ref[p].n = ++j;
        left--;
    }
    s->levels = (uint32_t)keep;
    rf__book_refresh_best(book, side);
}

int rf__book_check(const rf_book *book)
{
#define REQ(c)                                                                                     \
    do {                                                                                           \
        if (!(c)) return __LINE__;                                                                 \
    } while (0)
    for (int side = 0; side < 2; side++) {
        const rf__book_side *s = &book->side[side];
        REQ(s->nblocks >= 1 && s->nblocks <= s->max_blocks);
        REQ(s->nfree + s->nblocks == s->max_blocks);
        REQ(s->levels <= book->max_levels);
        REQ(s->nblocks <= 2 * (uint64_t)s->levels / (B + 1) + 1);
        uint64_t total = 0;
        int64_t prev = INT64_MIN;
        for (int j = 1; j <= RF__BOOK_PAD; j++) REQ(s->min[-j] == INT64_MIN);
        for (uint32_t p = 0; p < s->nblocks; p++) {
            const rf__book_ref *d = &s->ref[p];
            const rf__book_block *b = &s->pool[d->id];
            REQ(d->id < s->max_blocks && d->n <= B);
            REQ(s->nblocks == 1 || d->n >= 1);
            if (p + 1 < s->nblocks) REQ(d->n + s->ref[p + 1].n > B);
            if (d->n) REQ(s->min[p] == b->key[0]);
            if (!d->n) REQ(s->min[p] == INT64_MIN); /* a lone empty block sorts first */
            for (uint32_t j = 0; j < B; j++) {
                if (j >= d->n) {
                    REQ(b->key[j] == RF__BOOK_NOKEY);
                    continue;
                }
                REQ(b->key[j] > prev);
                prev = b->key[j];
                int64_t price = rf__book_price(s, b->key[j]);
                REQ(price > 0 && price <= RF_BOOK_MAX_PRICE);
                REQ(b->slot[j] < s->slots_used && s->qty[b->slot[j]] > 0);
                uint32_t at = rf__book_index_find(s, b->key[j]);
                REQ(at != RF__BOOK_NOWHERE && s->hslot[at] == b->slot[j]);
            }
            for (uint32_t q = 0; q < p; q++) REQ(s->ref[q].id != d->id);
            total += d->n;
        }
        REQ(total == s->levels);
        int e = rf__book_index_check(s, book->max_levels);
        if (e) return e;
        for (uint32_t f = 0; f < s->nfree; f++) {
            REQ(s->free_ids[f] < s->max_blocks);
            for (uint32_t p = 0; p < s->nblocks; p++) REQ(s->ref[p].id != s->free_ids[f]);
        }
        if (s->levels) {
            const rf__book_ref *d = &s->ref[s->nblocks - 1];
            const rf__book_block *b = &s->pool[d->id];
            REQ(book->best[side].price == rf__book_price(s, b->key[d->n - 1]));
            REQ(book->best[side].qty == s->qty[b->slot[d->n - 1]]);
        } else {
            REQ(book->best[side].price == 0);
        }
    }
    return 0;
#undef REQ
}
