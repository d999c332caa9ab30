/* Setting one level: the book's hot path (bench/bench_book.c). A new
 * quantity for a level that is there goes through the key -> slot index
 * alone (about 6 ns back to back on a 5000-level side, four keys compared
 * per probe with AVX2). Adding or removing a level searches the ordered
 * blocks: the directory's last four first keys, then the block, where the
 * search counts the keys below the new one over the whole block (unused
 * slots hold RF__BOOK_NOKEY, which never counts): with AVX2 eight compares
 * of four keys and no branch. Without AVX2 it is a branch-free binary
 * search of six dependent loads: baseline x86-64 (SSE2) has no 64-bit
 * vector compare, and the count with the compare emulated measured no
 * faster. */
#include "book_index.h"
#include "cpu.h"
#include "ringfeed/error.h"

#define B RF__BOOK_B

/* The index of the first key >= key in a block of B (32) keys: each step
 * halves the range the answer lies in, from [0, 32] to [i, i + 1]; the
 * last decides between those two (33 outcomes need six steps). */
static inline uint32_t lower_portable(const int64_t *k, int64_t key)
{
    _Static_assert(B == 32, "the steps below are for 32 keys");
    uint32_t i = 0;
    i += k[i + 15] < key ? 16 : 0;
    i += k[i + 7] < key ? 8 : 0;
    i += k[i + 3] < key ? 4 : 0;
    i += k[i + 1] < key ? 2 : 0;
    i += k[i] < key ? 1 : 0;
    i += k[i] < key ? 1 : 0;
    return i;
}

static __attribute__((noinline)) int rf__book_set_at_bound(rf_book *book, int side, int64_t key, int64_t qty);

/* The last position in [0, n) whose first key is <= key, or 0: a
 * branch-free binary search. */
static inline uint32_t dir_portable(const int64_t *m, size_t n, int64_t key)
{
    const int64_t *base = m;
    while (n > 1) {
        size_t h = n / 2;
        base = base[h] <= key ? base + h : base;
        n -= h;
    }
    return (uint32_t)(base - m);
}

/* The position of the block that holds key or would receive it: the last
 * one whose first key is <= key (0 when none is). Most updates are near the
 * best, at the end of the directory, so the last four positions are
 * counted without a branch (the padding before min[0] stands in for
 * positions a short directory lacks); only a key below them searches the
 * rest. */
static inline uint32_t find_portable(const rf__book_side *s, int64_t key)
{
    const int64_t *m = s->min;
    int64_t p = (int64_t)s->nblocks - 1;
    if (m[p - 3] <= key) {
        int64_t q = p - 3 + (m[p - 2] <= key) + (m[p - 1] <= key) + (m[p] <= key);
        return q < 0 ? 0 : (uint32_t)q;
    }
    return dir_portable(m, (size_t)(p - 3), key); /* the answer lies in [0, p - 3) */
}

#define RF__BOOK_SET(x) set_portable##x
#define RF__BOOK_INDEX_FIND rf__book_index_find
#define RF__BOOK_LOWER lower_portable
#define RF__BOOK_FIND find_portable
#include "book_set_impl.h"
#undef RF__BOOK_SET
#undef RF__BOOK_INDEX_FIND
#undef RF__BOOK_LOWER
#undef RF__BOOK_FIND

#if RF__X86
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

static inline uint32_t lower_avx2(const int64_t *k, int64_t key)
{
    /* Each compare gives -1 per key below `key`; the sum of the eight
     * vectors is minus the count. */
    __m256i v = _mm256_set1_epi64x(key);
    const __m256i *p = (const __m256i *)k;
    __m256i a = _mm256_add_epi64(_mm256_cmpgt_epi64(v, _mm256_load_si256(p)),
                                 _mm256_cmpgt_epi64(v, _mm256_load_si256(p + 1)));
    __m256i b = _mm256_add_epi64(_mm256_cmpgt_epi64(v, _mm256_load_si256(p + 2)),
                                 _mm256_cmpgt_epi64(v, _mm256_load_si256(p + 3)));
    __m256i c = _mm256_add_epi64(_mm256_cmpgt_epi64(v, _mm256_load_si256(p + 4)),
                                 _mm256_cmpgt_epi64(v, _mm256_load_si256(p + 5)));
    __m256i d = _mm256_add_epi64(_mm256_cmpgt_epi64(v, _mm256_load_si256(p + 6)),
                                 _mm256_cmpgt_epi64(v, _mm256_load_si256(p + 7)));
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi64(h, _mm_unpackhi_epi64(h, h));
    return (uint32_t)-_mm_cvtsi128_si64(h);
}

/* The same, walking down from n in chunks of eight positions (updates
 * thin out with depth, so most stop after a chunk or two; a deep one first
 * strides 64 at a time) until a chunk
 * starts at or below key, then counting that chunk's first keys <= key in
 * two compares. A chunk reaching below position 0 reads the INT64_MIN
 * padding, which counts as "<= key" and so cancels out. */
static inline uint32_t dir_avx2(const int64_t *m, size_t n, int64_t key)
{
    _Static_assert(RF__BOOK_PAD >= 8, "a chunk may start 7 positions before min[0]");
    int64_t j = (int64_t)n;
    while (j > 64 && m[j - 64] > key) j -= 64; /* deep levels: big strides first */
    while (j > 8 && m[j - 8] > key) j -= 8;
    const int64_t *c = m + j - 8;
    __m256i v = _mm256_set1_epi64x(key);
    __m256i gt = _mm256_add_epi64(_mm256_cmpgt_epi64(_mm256_loadu_si256((const __m256i *)c), v),
                                  _mm256_cmpgt_epi64(_mm256_loadu_si256((const __m256i *)(c + 4)), v));
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(gt), _mm256_extracti128_si256(gt, 1));
    h = _mm_add_epi64(h, _mm_unpackhi_epi64(h, h));
    int64_t q = j - 1 + _mm_cvtsi128_si64(h); /* j - 8 + (8 - above) - 1 */
    return q < 0 ? 0 : (uint32_t)q;
}

/* rf__book_index_find, four positions a compare: a key is never past an
 * empty position of its run, so a window with a match has none before it. */
static inline uint32_t index_find_avx2(const rf__book_side *s, int64_t key)
{
    __m256i v = _mm256_set1_epi64x(key), zero = _mm256_setzero_si256();
    for (uint32_t j = rf__book_home(s, key);; j = (j + 4) & s->hmask) {
        __m256i k = _mm256_loadu_si256((const __m256i *)(s->hkey + j));
        unsigned eq = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(k, v)));
        if (eq) return (j + (uint32_t)__builtin_ctz(eq)) & s->hmask;
        if (_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(k, zero)))) return RF__BOOK_NOWHERE;
    }
}

/* find_portable's rule, the last four positions in one compare: the
 * positions whose first key is above key are a suffix of the four (the
 * directory is sorted), so the answer is where that suffix starts, minus
 * one. Fewer instructions than four scalar compares, and fewer registers,
 * which keeps the common path free of saves and restores. */
static inline uint32_t find_avx2(const rf__book_side *s, int64_t key)
{
    const int64_t *m = s->min;
    int64_t p = (int64_t)s->nblocks - 1;
    __m256i above = _mm256_cmpgt_epi64(_mm256_loadu_si256((const __m256i *)(m + p - 3)), _mm256_set1_epi64x(key));
    unsigned mask = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(above));
    if (!(mask & 1)) {
        int64_t q = p - 4 + __builtin_ctz(mask | 16);
        return q < 0 ? 0 : (uint32_t)q;
    }
    return dir_avx2(m, (size_t)(p - 3), key);
}

#define RF__BOOK_SET(x) set_avx2##x
#define RF__BOOK_INDEX_FIND index_find_avx2
#define RF__BOOK_LOWER lower_avx2
#define RF__BOOK_FIND find_avx2
#include "book_set_impl.h"
#undef RF__BOOK_SET
#undef RF__BOOK_INDEX_FIND
#undef RF__BOOK_LOWER
#undef RF__BOOK_FIND

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

/* A new level on a side at max_levels: the side keeps its best levels, so
 * a level no better than the worst is dropped and a better one takes the
 * worst one's place. */
static __attribute__((noinline)) int rf__book_set_at_bound(rf_book *book, int side, int64_t key, int64_t qty)
{
    const rf__book_side *s = &book->side[side];
    book->trimmed++;
    if (key < s->pool[s->ref[0].id].key[0]) return RF_BOOK_TRIMMED;
    rf__book_erase(book, side, 0, 0);
    rf__book_side_set(book, side, key, qty); /* below the bound now: no recursion */
    return RF_BOOK_TRIMMED;
}

int rf__book_side_set(rf_book *book, int side, int64_t key, int64_t qty)
{
#if RF__X86
    if (book->simd) return set_avx2_side(book, side, key, qty);
#endif
    return set_portable_side(book, side, key, qty);
}

int rf_book_set(rf_book *book, int side, int64_t price_ticks, int64_t qty_lots)
{
#if RF__X86
    if (book->simd) return set_avx2_public(book, side, price_ticks, qty_lots);
#endif
    return set_portable_public(book, side, price_ticks, qty_lots);
}
