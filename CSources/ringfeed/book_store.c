/* The levels of one book side: a directory of small sorted blocks (layout
 * and invariants in book_internal.h). Everything here runs on memory
 * allocated by rf_book_create; nothing allocates. */
#include <string.h>

#include "book_internal.h"
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
    /* Ids pop in ascending order, so a small side stays in the first
     * blocks of the pool (fewer pages touched). */
    s->nfree = 0;
    for (uint32_t id = s->max_blocks; id-- > 1;) s->free_ids[s->nfree++] = id;
    s->nblocks = 1;
    s->dir[0] = (rf__book_dir){INT64_MIN, 0, 0};
    block_reset(&s->pool[0]);
    s->levels = 0;
}

void rf__book_refresh_best(rf_book *book, int side)
{
    const rf__book_side *s = &book->side[side];
    const rf__book_dir *d = &s->dir[s->nblocks - 1];
    if (!d->n) {
        book->best[side].price = 0;
        book->best[side].qty = 0;
        return;
    }
    const rf__book_block *b = &s->pool[d->id];
    book->best[side].price = rf__book_price(s, b->key[d->n - 1]);
    book->best[side].qty = b->qty[d->n - 1];
}

/* The position of the block that holds key or would receive it: the last
 * one whose first key is <= key (0 when none is). Most updates are near the
 * best, at the end of the directory, so the last two blocks are tried
 * before a branch-free binary search over the rest. */
static inline uint32_t find_block(const rf__book_side *s, int64_t key)
{
    const rf__book_dir *d = s->dir;
    uint32_t p = s->nblocks - 1;
    if (p == 0 || d[p].min <= key) return p;
    if (p == 1 || d[p - 1].min <= key) return p - 1;
    const rf__book_dir *base = d;
    size_t n = p - 1; /* the answer lies in [0, p - 1) */
    while (n > 1) {
        size_t h = n / 2;
        base = base[h].min <= key ? base + h : base;
        n -= h;
    }
    return (uint32_t)(base - d);
}

/* The index of the first key >= key in a block: the number of keys below
 * it, counted over the whole block (unused slots hold RF__BOOK_NOKEY, which
 * never counts). No branch to mispredict; compilers vectorise it. */
static inline uint32_t block_lower(const int64_t *k, int64_t key)
{
    uint32_t c = 0;
    for (int j = 0; j < B; j++) c += k[j] < key;
    return c;
}

static inline void block_shift_right(rf__book_block *b, uint32_t i, uint32_t n)
{
    memmove(&b->key[i + 1], &b->key[i], (n - i) * sizeof b->key[0]);
    memmove(&b->qty[i + 1], &b->qty[i], (n - i) * sizeof b->qty[0]);
}

static inline void block_shift_left(rf__book_block *b, uint32_t i, uint32_t n)
{
    memmove(&b->key[i], &b->key[i + 1], (n - 1 - i) * sizeof b->key[0]);
    memmove(&b->qty[i], &b->qty[i + 1], (n - 1 - i) * sizeof b->qty[0]);
}

/* Inserts into a block with room. */
static inline void block_insert(rf__book_side *s, uint32_t p, uint32_t i, int64_t key, int64_t qty)
{
    rf__book_dir *d = &s->dir[p];
    rf__book_block *b = &s->pool[d->id];
    block_shift_right(b, i, d->n);
    b->key[i] = key;
    b->qty[i] = qty;
    d->n++;
    if (i == 0) d->min = key;
}

/* Appends block p + 1 to block p (they fit together) and drops it. */
static void merge_next(rf__book_side *s, uint32_t p)
{
    rf__book_dir *d = &s->dir[p], *e = &s->dir[p + 1];
    rf__book_block *a = &s->pool[d->id], *b = &s->pool[e->id];
    memcpy(&a->key[d->n], b->key, e->n * sizeof a->key[0]);
    memcpy(&a->qty[d->n], b->qty, e->n * sizeof a->qty[0]);
    if (!d->n) d->min = e->min;
    d->n += e->n;
    s->free_ids[s->nfree++] = e->id;
    memmove(e, e + 1, (s->nblocks - p - 2) * sizeof *e);
    s->nblocks--;
}

/* Deletes index i of block p, then merges neighbours that fit in one block
 * (which keeps the pair invariant and so the memory bound). */
static void erase(rf_book *book, int side, uint32_t p, uint32_t i)
{
    rf__book_side *s = &book->side[side];
    rf__book_dir *d = &s->dir[p];
    rf__book_block *b = &s->pool[d->id];
    uint32_t n = d->n;
    int was_best = p == s->nblocks - 1 && i == n - 1;
    block_shift_left(b, i, n);
    b->key[--n] = RF__BOOK_NOKEY;
    d->n = n;
    s->levels--;
    if (i == 0 && n) d->min = b->key[0];
    int merged = 0;
    if (p > 0 && s->dir[p - 1].n + n <= B) {
        merge_next(s, p - 1);
        p--;
        merged = 1;
    }
    if (p + 1 < s->nblocks && s->dir[p].n + s->dir[p + 1].n <= B) {
        merge_next(s, p);
        merged = 1;
    }
    if (was_best || merged) rf__book_refresh_best(book, side);
}

/* Inserts a new level at index i of block p (its lower bound). A full block
 * first passes its worst level to the previous block or its best to the
 * next one, when either has room; only when both are full does it split,
 * which is what keeps neighbouring pairs above B levels. */
static int insert(rf_book *book, int side, uint32_t p, uint32_t i, int64_t key, int64_t qty)
{
    rf__book_side *s = &book->side[side];
    rf__book_dir *d = &s->dir[p];
    uint32_t n = d->n;
    int top = p == s->nblocks - 1 && i == n; /* the new level becomes the best */
    if (n < B) {
        block_insert(s, p, i, key, qty);
    } else if (p > 0 && s->dir[p - 1].n < B) {
        /* i >= 1 here: key is above the block's first key (find_block). */
        rf__book_dir *l = &s->dir[p - 1];
        rf__book_block *lb = &s->pool[l->id], *b = &s->pool[d->id];
        lb->key[l->n] = b->key[0];
        lb->qty[l->n] = b->qty[0];
        l->n++;
        memmove(&b->key[0], &b->key[1], (i - 1) * sizeof b->key[0]);
        memmove(&b->qty[0], &b->qty[1], (i - 1) * sizeof b->qty[0]);
        b->key[i - 1] = key;
        b->qty[i - 1] = qty;
        d->min = b->key[0];
    } else if (p + 1 < s->nblocks && s->dir[p + 1].n < B) {
        rf__book_block *b = &s->pool[d->id];
        if (i == n) {
            block_insert(s, p + 1, 0, key, qty);
        } else {
            int64_t k = b->key[B - 1], q = b->qty[B - 1];
            block_shift_right(b, i, B - 1);
            b->key[i] = key;
            b->qty[i] = qty;
            if (i == 0) d->min = key;
            block_insert(s, p + 1, 0, k, q);
        }
    } else {
        if (!s->nfree) return -1; /* excluded by the pair invariant; refuse rather than corrupt */
        uint32_t id = s->free_ids[--s->nfree];
        rf__book_block *b = &s->pool[d->id], *nb = &s->pool[id];
        block_reset(nb);
        memcpy(nb->key, &b->key[B / 2], (B / 2) * sizeof b->key[0]);
        memcpy(nb->qty, &b->qty[B / 2], (B / 2) * sizeof b->qty[0]);
        for (int j = B / 2; j < B; j++) b->key[j] = RF__BOOK_NOKEY;
        memmove(d + 2, d + 1, (s->nblocks - p - 1) * sizeof *d);
        d->n = B / 2;
        d[1] = (rf__book_dir){nb->key[0], id, B / 2};
        s->nblocks++;
        if (i <= B / 2)
            block_insert(s, p, i, key, qty);
        else
            block_insert(s, p + 1, i - B / 2, key, qty);
    }
    s->levels++;
    if (top) {
        book->best[side].price = rf__book_price(s, key);
        book->best[side].qty = qty;
    }
    return 0;
}

int rf__book_side_set(rf_book *book, int side, int64_t key, int64_t qty)
{
    rf__book_side *s = &book->side[side];
    uint32_t p = find_block(s, key);
    rf__book_dir *d = &s->dir[p];
    rf__book_block *b = &s->pool[d->id];
    uint32_t i = block_lower(b->key, key);
    if (i < d->n && b->key[i] == key) {
        if (!qty) {
            erase(book, side, p, i);
        } else {
            b->qty[i] = qty;
            if (p == s->nblocks - 1 && i == d->n - 1) book->best[side].qty = qty;
        }
        return RF_BOOK_APPLIED;
    }
    if (!qty) return RF_BOOK_APPLIED;
    if (s->levels >= book->max_levels) {
        /* At the bound the side keeps its best levels. */
        const rf__book_block *w = &s->pool[s->dir[0].id];
        book->trimmed++;
        if (key < w->key[0]) return RF_BOOK_TRIMMED;
        erase(book, side, 0, 0);
        p = find_block(s, key);
        i = block_lower(s->pool[s->dir[p].id].key, key);
        insert(book, side, p, i, key, qty); /* a level was just freed: cannot fail */
        return RF_BOOK_TRIMMED;
    }
    if (insert(book, side, p, i, key, qty)) {
        book->trimmed++;
        return RF_BOOK_TRIMMED;
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
            s->dir[p] = (rf__book_dir){0, id, 0};
            s->nblocks++;
            j = 0;
            want = per + (p < extra);
        }
        rf__book_dir *d = &s->dir[p];
        rf__book_block *b = &s->pool[d->id];
        int64_t key = s->sign * price;
        b->key[j] = key;
        b->qty[j] = qty;
        if (!j) d->min = key;
        d->n = ++j;
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
        for (uint32_t p = 0; p < s->nblocks; p++) {
            const rf__book_dir *d = &s->dir[p];
            const rf__book_block *b = &s->pool[d->id];
            REQ(d->id < s->max_blocks && d->n <= B);
            REQ(s->nblocks == 1 || d->n >= 1);
            if (p + 1 < s->nblocks) REQ(d->n + s->dir[p + 1].n > B);
            if (d->n) REQ(d->min == b->key[0]);
            for (uint32_t j = 0; j < B; j++) {
                if (j >= d->n) {
                    REQ(b->key[j] == RF__BOOK_NOKEY);
                    continue;
                }
                REQ(b->key[j] > prev);
                prev = b->key[j];
                int64_t price = rf__book_price(s, b->key[j]);
                REQ(price > 0 && price <= RF_BOOK_MAX_PRICE);
                REQ(b->qty[j] > 0);
            }
            for (uint32_t q = 0; q < p; q++) REQ(s->dir[q].id != d->id);
            total += d->n;
        }
        REQ(total == s->levels);
        for (uint32_t f = 0; f < s->nfree; f++) {
            REQ(s->free_ids[f] < s->max_blocks);
            for (uint32_t p = 0; p < s->nblocks; p++) REQ(s->dir[p].id != s->free_ids[f]);
        }
        if (s->levels) {
            const rf__book_dir *d = &s->dir[s->nblocks - 1];
            const rf__book_block *b = &s->pool[d->id];
            REQ(book->best[side].price == rf__book_price(s, b->key[d->n - 1]));
            REQ(book->best[side].qty == b->qty[d->n - 1]);
        } else {
            REQ(book->best[side].price == 0);
        }
    }
    return 0;
#undef REQ
}
