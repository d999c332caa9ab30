/* Setting one level: the book's hot path (about 15 ns on a 5000-level
 * side, bench/bench_book.c). The search inside a block counts the keys
 * below the new one over the whole block (unused slots hold
 * RF__BOOK_NOKEY, which never counts): with AVX2 that is eight compares
 * of four keys and no branch. Without AVX2 it is a branch-free binary
 * search: baseline x86-64 (SSE2) has no 64-bit vector compare, and
 * emulating one costs more than the five dependent loads of the search. */
#include "book_internal.h"
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

#define RF__BOOK_SET(x) set_portable##x
#define RF__BOOK_LOWER lower_portable
#define RF__BOOK_DIR dir_portable
#include "book_set_impl.h"
#undef RF__BOOK_SET
#undef RF__BOOK_LOWER
#undef RF__BOOK_DIR

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

/* The same by counting the first keys <= key, four at a time: no chain of
 * dependent loads (a binary search over 200 blocks is eight), no branch
 * but the loop's. Reading up to three positions past n is fine: the caller
 * guarantees they exist and are above key. */
static inline uint32_t dir_avx2(const int64_t *m, size_t n, int64_t key)
{
    __m256i v = _mm256_set1_epi64x(key), a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        a = _mm256_add_epi64(a, _mm256_cmpgt_epi64(_mm256_loadu_si256((const __m256i *)(m + j)), v));
        b = _mm256_add_epi64(b, _mm256_cmpgt_epi64(_mm256_loadu_si256((const __m256i *)(m + j + 4)), v));
    }
    for (; j < n; j += 4)
        a = _mm256_add_epi64(a, _mm256_cmpgt_epi64(_mm256_loadu_si256((const __m256i *)(m + j)), v));
    /* a + b is minus the number of first keys > key among the j read */
    __m256i s = _mm256_add_epi64(a, b);
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi64(h, _mm_unpackhi_epi64(h, h));
    size_t le = j + (size_t)_mm_cvtsi128_si64(h); /* first keys <= key */
    return le ? (uint32_t)(le - 1) : 0;
}

#define RF__BOOK_SET(x) set_avx2##x
#define RF__BOOK_LOWER lower_avx2
#define RF__BOOK_DIR dir_avx2
#include "book_set_impl.h"
#undef RF__BOOK_SET
#undef RF__BOOK_LOWER
#undef RF__BOOK_DIR

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
    if (book->simd) return set_avx2(book, side, key, qty);
#endif
    return set_portable(book, side, key, qty);
}

int rf_book_set(rf_book *book, int side, int64_t price_ticks, int64_t qty_lots)
{
#if RF__X86
    if (book->simd) return set_avx2_public(book, side, price_ticks, qty_lots);
#endif
    return set_portable_public(book, side, price_ticks, qty_lots);
}
