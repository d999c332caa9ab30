/* The order book's lifecycle and editing: create (the only allocation),
 * clear, exchange decimals onto the grid, apply a batch of exchange levels,
 * and the state. Setting one level, the hot path, is book_set.c. */
#include <stdlib.h>
#include <string.h>

#include "book_internal.h"
#include "cpu.h"
#include "ringfeed/error.h"

static size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

int rf_book_create(rf_book **out, const rf_book_config *cfg)
{
    if (!out) return RF_EINVAL;
    *out = NULL;
    if (!cfg || cfg->price_scale > RF_DECIMAL_MAX_SCALE - 1 || cfg->qty_scale > RF_DECIMAL_MAX_SCALE ||
        cfg->max_levels > RF_BOOK_MAX_MAX_LEVELS)
        return RF_EINVAL;
    uint32_t max_levels = cfg->max_levels ? cfg->max_levels : RF_BOOK_DEFAULT_MAX_LEVELS;
    /* The pair invariant bounds a side of n levels to 2n / (B + 1) + 1
     * blocks; one more covers the moment of a split. */
    uint32_t max_blocks = 2 * max_levels / (RF__BOOK_B + 1) + 2;

    /* The index at most 2/3 full, in a power of two of positions. */
    uint32_t hcap = 8;
    while ((uint64_t)hcap * 2 < (uint64_t)max_levels * 3) hcap *= 2;

    /* One zeroed allocation: the book, both directories and free lists,
     * then the quantity slots, the indexes and the block pools on
     * cache-line boundaries. Large zeroed allocations come as untouched
     * pages, so resident memory follows the levels held. */
    size_t head = round_up(sizeof(rf_book), 64);
    size_t mins = round_up((RF__BOOK_PAD + max_blocks) * sizeof(int64_t), 64);
    size_t refs = round_up(max_blocks * sizeof(rf__book_ref), 64);
    size_t ids = round_up(max_blocks * sizeof(uint32_t), 64);
    size_t qtys = round_up(max_levels * sizeof(int64_t), 64);
    size_t hkeys = round_up((hcap + 3) * sizeof(int64_t), 64);
    size_t hslots = round_up(hcap * sizeof(uint32_t), 64);
    size_t pool = (size_t)max_blocks * sizeof(rf__book_block);
    size_t total = head + 2 * (mins + refs + ids + qtys + hkeys + hslots + pool);
    void *mem = calloc(1, total + 63);
    if (!mem) return RF_ENOMEM;

    rf_book *b = (rf_book *)round_up((size_t)mem, 64);
    b->allocation = mem;
    b->price_scale = cfg->price_scale;
    b->qty_scale = cfg->qty_scale;
    b->max_levels = max_levels;
    b->memory_bytes = total;
    b->state = RF_BOOK_EMPTY;
    b->simd = rf__cpu_simd_level() >= RF__SIMD_AVX2;
    char *p = (char *)b + head;
    for (int side = 0; side < 2; side++) {
        rf__book_side *s = &b->side[side];
        s->min = (int64_t *)p + RF__BOOK_PAD;
        p += mins;
        s->ref = (rf__book_ref *)p;
        p += refs;
        s->free_ids = (uint32_t *)p;
        p += ids;
        s->max_blocks = max_blocks;
        s->hmask = hcap - 1;
        s->hshift = (uint8_t)(64 - __builtin_ctz(hcap));
    }
    for (int side = 0; side < 2; side++) {
        rf__book_side *s = &b->side[side];
        s->qty = (int64_t *)p;
        p += qtys;
        s->hkey = (int64_t *)p;
        p += hkeys;
        s->hslot = (uint32_t *)p;
        p += hslots;
        s->pool = (rf__book_block *)p;
        p += pool;
        rf__book_side_init(s, side == RF_BOOK_BID ? 1 : -1);
    }
    *out = b;
    return 0;
}

void rf_book_destroy(rf_book *book)
{
    if (book) free(book->allocation);
}

void rf_book_clear(rf_book *book)
{
    for (int side = 0; side < 2; side++) {
        rf__book_side_clear(&book->side[side]);
        book->best[side].price = 0;
        book->best[side].qty = 0;
    }
    book->state = RF_BOOK_EMPTY;
    book->last_update_id = 0;
}

int rf__book_to_grid(rf_decimal d, unsigned scale, int64_t *out)
{
    if (d.scale == scale) { /* the exchange's own texts: no arithmetic */
        *out = d.mantissa;
        return 0;
    }
    rf_decimal r;
    int e = rf_decimal_rescale(d, scale, &r);
    if (e) return e;
    *out = r.mantissa;
    return 0;
}


int rf__book_validate(const rf_book *book, const rf_bn_level *levels, size_t n)
{
    if (n && !levels) return RF_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int64_t price, qty;
        int e = rf__book_to_grid(levels[i].price, book->price_scale, &price);
        if (!e) e = rf__book_to_grid(levels[i].quantity, book->qty_scale, &qty);
        if (!e) e = rf__book_check_level(price, qty);
        if (e) return e;
    }
    return 0;
}


int rf_book_set_decimal(rf_book *book, int side, rf_decimal price, rf_decimal qty)
{
    int64_t p, q;
    int e = rf__book_to_grid(price, book->price_scale, &p);
    if (!e) e = rf__book_to_grid(qty, book->qty_scale, &q);
    if (e) return e;
    return rf_book_set(book, side, p, q);
}

static int apply_side(rf_book *book, int side, const rf_bn_level *levels, size_t n)
{
    int r = RF_BOOK_APPLIED;
    const rf__book_side *s = &book->side[side];
    for (size_t i = 0; i < n; i++) {
        int64_t price, qty;
        rf__book_to_grid(levels[i].price, book->price_scale, &price);
        rf__book_to_grid(levels[i].quantity, book->qty_scale, &qty);
        r |= rf__book_side_set(book, side, s->sign * price, qty);
    }
    return r;
}

int rf__book_apply_checked(rf_book *book, const rf_bn_level *bids, size_t n_bids,
                           const rf_bn_level *asks, size_t n_asks)
{
    int r = apply_side(book, RF_BOOK_BID, bids, n_bids) | apply_side(book, RF_BOOK_ASK, asks, n_asks);
    return rf__book_settle(book, r ? RF_BOOK_TRIMMED : RF_BOOK_APPLIED);
}

int rf_book_apply(rf_book *book, const rf_bn_level *bids, size_t n_bids, const rf_bn_level *asks,
                  size_t n_asks)
{
    int e = rf__book_validate(book, bids, n_bids);
    if (!e) e = rf__book_validate(book, asks, n_asks);
    if (e) return e;
    return rf__book_apply_checked(book, bids, n_bids, asks, n_asks);
}

int rf_book_state(const rf_book *book)
{
    return book->state;
}

int64_t rf_book_last_update_id(const rf_book *book)
{
    return book->last_update_id;
}

void rf_book_mark_stale(rf_book *book)
{
    if (book->state == RF_BOOK_SYNCING || book->state == RF_BOOK_LIVE) book->state = RF_BOOK_STALE;
}

void rf_book_level_decimal(const rf_book *book, rf_book_level level, rf_bn_level *out)
{
    out->price = (rf_decimal){level.price, book->price_scale};
    out->quantity = (rf_decimal){level.qty, book->qty_scale};
}

void rf_book_get_info(const rf_book *book, rf_book_info *out)
{
    memset(out, 0, sizeof *out);
    out->state = book->state;
    out->price_scale = book->price_scale;
    out->qty_scale = book->qty_scale;
    out->max_levels = book->max_levels;
    out->bid_depth = book->side[RF_BOOK_BID].levels;
    out->ask_depth = book->side[RF_BOOK_ASK].levels;
    out->last_update_id = book->last_update_id;
    out->trimmed = book->trimmed;
    out->memory_bytes = book->memory_bytes;
}
