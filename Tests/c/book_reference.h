/* A deliberately plain order book for checking rf_book: one sorted array
 * per side, best first, linear search, memmove to insert or delete, and
 * each query computed from its definition. Slow and obvious on purpose; it
 * shares no code with the library (its own decimal text and its own
 * bit-by-bit CRC-32). Used by Tests/c/test_book.c and fuzz/fuzz_book.c. */
#ifndef RF_TEST_BOOK_REFERENCE_H
#define RF_TEST_BOOK_REFERENCE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_level {
    int64_t price, qty;
} ref_level;

typedef struct ref_book {
    ref_level *side[2]; /* [0] bids, highest first; [1] asks, lowest first */
    size_t n[2];
    size_t max;         /* levels per side */
    unsigned price_scale, qty_scale;
} ref_book;

static inline void ref_init(ref_book *r, size_t max, unsigned price_scale, unsigned qty_scale)
{
    r->side[0] = calloc(max + 1, sizeof(ref_level));
    r->side[1] = calloc(max + 1, sizeof(ref_level));
    r->n[0] = r->n[1] = 0;
    r->max = max;
    r->price_scale = price_scale;
    r->qty_scale = qty_scale;
}

static inline void ref_free(ref_book *r)
{
    free(r->side[0]);
    free(r->side[1]);
}

static inline void ref_clear(ref_book *r)
{
    r->n[0] = r->n[1] = 0;
}

/* a is better than b on this side. */
static inline int ref_better(int side, int64_t a, int64_t b)
{
    return side == 0 ? a > b : a < b;
}

/* Returns 1 when the max bound dropped a level (the new one or the worst). */
static inline int ref_set(ref_book *r, int side, int64_t price, int64_t qty)
{
    ref_level *l = r->side[side];
    size_t n = r->n[side], i = 0;
    while (i < n && ref_better(side, l[i].price, price)) i++;
    if (i < n && l[i].price == price) {
        if (qty) {
            l[i].qty = qty;
        } else {
            memmove(&l[i], &l[i + 1], (n - i - 1) * sizeof *l);
            r->n[side]--;
        }
        return 0;
    }
    if (!qty) return 0;
    int trimmed = 0;
    if (n == r->max) {
        trimmed = 1;
        if (i == n) return 1; /* no better than the worst */
        n--;                  /* the worst falls off */
    }
    memmove(&l[i + 1], &l[i], (n - i) * sizeof *l);
    l[i].price = price;
    l[i].qty = qty;
    r->n[side] = n + 1;
    return trimmed;
}

static inline int ref_crossed(const ref_book *r)
{
    return r->n[0] && r->n[1] && r->side[0][0].price >= r->side[1][0].price;
}

/* Text of value / 10^scale with exactly `scale` decimals. */
static inline int ref_text(int64_t v, unsigned scale, char *buf)
{
    uint64_t p = 1;
    for (unsigned i = 0; i < scale; i++) p *= 10;
    uint64_t u = (uint64_t)v;
    if (!scale) return sprintf(buf, "%llu", (unsigned long long)u);
    return sprintf(buf, "%llu.%0*llu", (unsigned long long)(u / p), (int)scale,
                   (unsigned long long)(u % p));
}

/* CRC-32 (reflected polynomial 0xEDB88320, zlib's), table built bit by bit. */
static inline uint32_t ref_crc32(uint32_t crc, const char *s, size_t n)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
            table[i] = c;
        }
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = (crc >> 8) ^ table[(crc ^ (uint8_t)s[i]) & 0xFF];
    return ~crc;
}

static inline uint32_t ref_checksum(const ref_book *r, size_t n)
{
    uint32_t crc = 0;
    int first = 1;
    char buf[128];
    for (size_t i = 0; i < n && (i < r->n[0] || i < r->n[1]); i++)
        for (int side = 0; side < 2; side++) {
            if (i >= r->n[side]) continue;
            size_t k = 0;
            if (!first) buf[k++] = ',';
            first = 0;
            k += (size_t)ref_text(r->side[side][i].price, r->price_scale, buf + k);
            buf[k++] = ':';
            k += (size_t)ref_text(r->side[side][i].qty, r->qty_scale, buf + k);
            crc = ref_crc32(crc, buf, k);
        }
    return crc;
}

static inline __int128 ref_volume(const ref_book *r, int side, size_t n)
{
    __int128 v = 0;
    for (size_t i = 0; i < n && i < r->n[side]; i++) v += r->side[side][i].qty;
    return v;
}

/* Levels within d ticks of the mid (both sides must have levels). */
static inline __int128 ref_volume_within(const ref_book *r, int side, int64_t d)
{
    __int128 mid2 = (__int128)r->side[0][0].price + r->side[1][0].price, v = 0;
    for (size_t i = 0; i < r->n[side]; i++) {
        __int128 p2 = (__int128)r->side[side][i].price * 2;
        int in = side == 0 ? p2 >= mid2 - (__int128)d * 2 : p2 <= mid2 + (__int128)d * 2;
        if (in) v += r->side[side][i].qty;
    }
    return v;
}

typedef struct ref_fill {
    int64_t filled, worst;
    __int128 notional;
    uint32_t levels;
    int exhausted;
} ref_fill;

static inline ref_fill ref_market(const ref_book *r, int side, int64_t qty)
{
    ref_fill f = {0, 0, 0, 0, 0};
    for (size_t i = 0; i < r->n[side] && f.filled < qty; i++) {
        int64_t take = r->side[side][i].qty;
        if (take > qty - f.filled) take = qty - f.filled;
        f.filled += take;
        f.notional += (__int128)r->side[side][i].price * take;
        f.worst = r->side[side][i].price;
        f.levels++;
    }
    f.exhausted = f.filled < qty;
    return f;
}

#endif
