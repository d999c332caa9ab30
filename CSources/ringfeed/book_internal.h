/* Private: the order book's layout, shared by the book_*.c files.
 *
 * One side is a sorted sequence of small sorted blocks (a two-level B+
 * tree). Why blocks: a flat sorted array pays a memmove of up to the whole
 * side for a level inserted or deleted far from the top (80 KB on a 5000-
 * level side, microseconds), and a price-indexed array needs the real tick
 * size and spans millions of slots on a deep book. Blocks bound the shift to
 * one block, and the search to a short directory plus one block.
 *
 * Order: each side stores keys ascending from its worst level to its best,
 * so the best is the last element of the last block, and the updates that
 * matter most (near the top) shift the fewest elements, both inside a block
 * and in the directory. key = price for bids and -price for asks, so one
 * ordering serves both sides.
 *
 * Memory bound: every two neighbouring blocks together hold more than
 * RF__BOOK_B levels (an insert into a full block spills to a neighbour with
 * room before it splits; a delete merges neighbours that fit into one), so
 * a side of n levels uses at most 2n / (B + 1) + 1 blocks, and all of them
 * are allocated at create time for n = max_levels.
 *
 * Quantities do not live in the blocks: each level has a slot for its
 * quantity, fixed for the level's life, and an index from key to slot
 * (book_index.h). A quantity change, most of any depth stream, goes
 * through the index alone; the blocks move only keys and slot numbers,
 * and only when a level comes or goes. */
#ifndef RF_BOOK_INTERNAL_H
#define RF_BOOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ringfeed/book.h"
#include "ringfeed/error.h"

#define RF__BOOK_B 32
/* Unused key slots hold this, above every real key, so a whole-block
 * count of keys below a value needs no length. */
#define RF__BOOK_NOKEY INT64_MAX

typedef struct rf__book_block {
    int64_t key[RF__BOOK_B];   /* ascending; [n, B) are RF__BOOK_NOKEY */
    uint32_t slot[RF__BOOK_B]; /* where each level's quantity is: side.qty[slot] */
} rf__book_block;

/* The directory, by position (worst block first), as two arrays: the
 * blocks' first keys alone, so the search reads 8 bytes a block, and where
 * each block is. */
typedef struct rf__book_ref {
    uint32_t id; /* index into the pool */
    uint32_t n;  /* levels in the block */
} rf__book_ref;

/* min[-RF__BOOK_PAD .. -1] hold INT64_MIN, so a search may look at
 * positions before the first (the last four of a short directory, a chunk
 * of eight that starts before 0) without a bounds check. */
#define RF__BOOK_PAD 8

typedef struct rf__book_side {
    int64_t *min;           /* [max_blocks]: first key of each block (INT64_MIN for a lone empty one) */
    rf__book_ref *ref;      /* [max_blocks]; positions [0, nblocks) used, nblocks >= 1 */
    rf__book_block *pool;   /* [max_blocks] */
    uint32_t *free_ids;     /* stack of unused pool ids */
    uint32_t nfree;
    uint32_t nblocks;
    uint32_t max_blocks;
    uint32_t levels;
    int64_t sign;           /* +1 bids, -1 asks: price = sign * key */
    /* Quantities by slot, and the index from key to slot (book_index.h).
     * A slot keeps its level's quantity for the level's whole life while
     * the key moves between blocks. */
    int64_t *qty;           /* [max_levels]; a free slot holds the next free one, or -1 */
    uint32_t slots_used;    /* slots [0, slots_used) have been handed out */
    uint32_t free_slot;     /* the first free slot below slots_used, or RF__BOOK_NOWHERE */
    uint32_t free_slots;
    uint32_t hmask;         /* index positions - 1 (a power of two minus one) */
    int64_t *hkey;          /* [hmask + 4]: 0 is empty; the last 3 repeat the first 3 */
    uint32_t *hslot;        /* [hmask + 1] */
    uint8_t hshift;         /* 64 - log2(hmask + 1) */
} rf__book_side;

struct rf_book {
    /* Read by rf_book_best: kept first, together. best[s].price is 0 when
     * the side is empty (real prices are > 0). */
    struct {
        int64_t price, qty;
    } best[2];
    int state;
    int simd;               /* 1: search blocks with AVX2 (from the CPU at create; tests clear it) */
    uint8_t price_scale, qty_scale;
    uint32_t max_levels;
    int64_t last_update_id;
    uint64_t trimmed;
    size_t memory_bytes;
    void *allocation;       /* what rf_book_destroy frees: the book sits in it, aligned */
    rf__book_side side[2];
};

static inline int64_t rf__book_price(const rf__book_side *s, int64_t key)
{
    return s->sign * key;
}

/* book_store.c: the block structure of one side. */
void rf__book_side_init(rf__book_side *s, int64_t sign);
void rf__book_side_clear(rf__book_side *s);
/* The changes that move levels, given the block position p and the index i
 * the search found: delete level i of block p; insert a new level at its
 * lower bound i. Both keep the level count and book->best, and return
 * RF_BOOK_APPLIED (insert: RF_BOOK_TRIMMED, counted, if the pool were
 * exhausted, which the pair invariant excludes). */
int rf__book_erase(rf_book *book, int side, uint32_t p, uint32_t i);
int rf__book_insert(rf_book *book, int side, uint32_t p, uint32_t i, int64_t key, int64_t qty);

/* book_set.c: sets key's quantity (0 deletes), keeping the side's level
 * count, the max_levels bound and book->best current; the search runs with
 * AVX2 when book->simd says so. Returns RF_BOOK_APPLIED or RF_BOOK_TRIMMED. */
int rf__book_side_set(rf_book *book, int side, int64_t key, int64_t qty);
/* Loads an empty side from exchange levels in strict best-first order
 * among those with a non-zero quantity (`nonzero` of them), validated by
 * the caller; the best `keep` (<= max_levels) are stored. */
void rf__book_side_bulk(rf_book *book, int side, const rf_bn_level *levels, size_t n,
                        size_t nonzero, size_t keep);
void rf__book_refresh_best(rf_book *book, int side);
/* Checks every invariant of the layout (order, sentinels, directory, pair
 * sums, counts, the best cache). Returns 0 or a line number of the failed
 * check; for tests and fuzzing. */
int rf__book_check(const rf_book *book);

/* book.c: a decimal onto a grid, exactly (the shared rule of set_decimal,
 * apply, snapshots and diffs). */
int rf__book_to_grid(rf_decimal d, unsigned scale, int64_t *out);
/* Both sides non-empty and best bid >= best ask. */
static inline int rf__book_crossed(const rf_book *b)
{
    return b->best[0].price && b->best[1].price && b->best[0].price >= b->best[1].price;
}
/* After an edit: a crossed book is stale (and says so: RF_ECROSSED); an
 * empty one that received levels by hand is live. Otherwise returns r. */
static inline int rf__book_settle(rf_book *book, int r)
{
    if (rf__book_crossed(book)) {
        book->state = RF_BOOK_STALE;
        return RF_ECROSSED;
    }
    if (book->state == RF_BOOK_EMPTY) book->state = RF_BOOK_LIVE;
    return r;
}
/* A level in ticks and lots: RF_EINVAL for price <= 0 or qty < 0,
 * RF_EOVERFLOW past RF_BOOK_MAX_PRICE. */
static inline int rf__book_check_level(int64_t price, int64_t qty)
{
    if (price <= 0 || qty < 0) return RF_EINVAL;
    if (price > RF_BOOK_MAX_PRICE) return RF_EOVERFLOW;
    return 0;
}
/* Applies converted levels (validated by the caller) and settles the state:
 * shared by rf_book_apply and the diff path. */
int rf__book_apply_checked(rf_book *book, const rf_bn_level *bids, size_t n_bids,
                           const rf_bn_level *asks, size_t n_asks);
int rf__book_validate(const rf_book *book, const rf_bn_level *levels, size_t n);

#endif
