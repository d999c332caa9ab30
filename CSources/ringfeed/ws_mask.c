/* WebSocket (un)masking: scalar, SSE2, AVX2 and AVX-512 kernels behind one
 * dispatch.
 *
 * Every kernel works on a key already rotated to the first byte, packed into
 * a word (byte i in bits 8i..8i+7); a block starting at byte i uses it
 * rotated by i. */
#include "ringfeed/ws_mask.h"

#include <stdatomic.h>
#include <string.h>

#include "cpu.h"

#if RF__X86
#include <immintrin.h>
#endif

typedef void (*mask_fn)(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key);

/* Key bytes as they apply to data[0], data[1], ...: byte i in bits 8i..8i+7
 * (the value, not the memory layout, so this holds on any endianness). */
/* The key for data[skip...]: byte i of the result is byte i + skip of key. */
static inline uint32_t advance_key(uint32_t key, size_t skip)
{
    unsigned s = (unsigned)(skip & 3) * 8;
    return s ? (key >> s) | (key << (32 - s)) : key;
}

static inline uint32_t rotated_key(const uint8_t key[4], uint64_t offset)
{
    uint32_t w = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 |
                 (uint32_t)key[3] << 24;
    return advance_key(w, (size_t)(offset & 3));
}

static inline void mask_bytes(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[i] ^ (uint8_t)(key >> (8 * (i & 3)));
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline void store64(uint8_t *p, uint64_t w) { memcpy(p, &w, 8); }

/* Built through memory so the word XORs bytes in order on any endianness;
 * on little-endian targets this folds to key | key << 32. */
static inline uint64_t key64(uint32_t key)
{
    uint8_t b[8];
    for (unsigned i = 0; i < 8; i++) b[i] = (uint8_t)(key >> (8 * (i & 3)));
    uint64_t w;
    memcpy(&w, b, 8);
    return w;
}

/* Up to 15 bytes: for 8..15 two overlapping words (both computed before
 * either is stored, so an in-place overlap is not masked twice). */
static inline void mask_small(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
    if (n >= 8) {
        uint64_t head = load64(src) ^ key64(key);
        uint64_t tail = load64(src + n - 8) ^ key64(advance_key(key, n - 8));
        store64(dst, head);
        store64(dst + n - 8, tail);
        return;
    }
    mask_bytes(dst, src, n, key);
}

static void mask_scalar(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
    if (n < 16) {
        mask_small(dst, src, n, key);
        return;
    }
    uint64_t k = key64(key);
    uint64_t tail = load64(src + n - 8) ^ key64(advance_key(key, n - 8));
    size_t i = 0;
    for (; i + 8 <= n; i += 8) store64(dst + i, load64(src + i) ^ k);
    store64(dst + n - 8, tail);
}

/* The vector kernels share one shape. The first and the last vector are
 * loaded and masked before anything is stored and written last, unaligned;
 * the loop between them runs on aligned stores. Where they overlap the loop
 * the same (correct) bytes are written twice, never masked twice, so this
 * holds in place too and needs no byte loops for heads or tails. */
#if RF__X86
__attribute__((target("sse2"))) static void mask_sse2(uint8_t *dst, const uint8_t *src, size_t n,
                                                      uint32_t key)
{
    if (n < 16) {
        mask_small(dst, src, n, key);
        return;
    }
    __m128i head = _mm_xor_si128(_mm_loadu_si128((const __m128i *)src), _mm_set1_epi32((int)key));
    __m128i tail = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + n - 16)),
                                 _mm_set1_epi32((int)advance_key(key, n - 16)));
    size_t i = 16 - ((uintptr_t)dst & 15);
    __m128i k = _mm_set1_epi32((int)advance_key(key, i));
    for (; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_store_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        _mm_store_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_store_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_store_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_store_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    }
    _mm_storeu_si128((__m128i *)dst, head);
    _mm_storeu_si128((__m128i *)(dst + n - 16), tail);
}

__attribute__((target("avx2"))) static void mask_avx2(uint8_t *dst, const uint8_t *src, size_t n,
                                                      uint32_t key)
{
    if (n < 32) {
        mask_sse2(dst, src, n, key);
        return;
    }
    __m256i head = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)src),
                                    _mm256_set1_epi32((int)key));
    __m256i tail = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + n - 32)),
                                    _mm256_set1_epi32((int)advance_key(key, n - 32)));
    size_t i = 32 - ((uintptr_t)dst & 31);
    __m256i k = _mm256_set1_epi32((int)advance_key(key, i));
    for (; i + 128 <= n; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        _mm256_store_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_store_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_store_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_store_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; i + 32 <= n; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_store_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    }
    _mm256_storeu_si256((__m256i *)dst, head);
    _mm256_storeu_si256((__m256i *)(dst + n - 32), tail);
}

/* On this kind of core a 32-byte load-xor-store loop saturates near 100 GB/s
 * while memcpy streams at ~140: 64-byte vectors close that gap for the 1-16
 * KiB messages that dominate. Below 64 bytes the AVX2 kernel runs, so short
 * messages never touch ZMM registers. */
__attribute__((target("avx512f"))) static void mask_avx512(uint8_t *dst, const uint8_t *src,
                                                           size_t n, uint32_t key)
{
    /* Past L1-sized buffers the AVX2 kernel measured ~15% faster here
     * (bench_mask, 64 KiB-1 MiB): the loop is bound by L2, not by width. */
    if (n < 64 || n > 32768) {
        mask_avx2(dst, src, n, key);
        return;
    }
    /* No alignment prologue: unaligned 64-byte stores cost nothing extra
     * when they do not split a line, and receive buffers are line-aligned,
     * so the fixed cost per call (what dominates at 1 KiB) stays minimal. */
    __m512i k = _mm512_set1_epi32((int)key);
    __m512i tail = _mm512_xor_si512(_mm512_loadu_si512(src + n - 64),
                                    _mm512_set1_epi32((int)advance_key(key, n - 64)));
    size_t i = 0;
    for (; i + 256 <= n; i += 256) {
        __m512i a = _mm512_loadu_si512(src + i);
        __m512i b = _mm512_loadu_si512(src + i + 64);
        __m512i c = _mm512_loadu_si512(src + i + 128);
        __m512i d = _mm512_loadu_si512(src + i + 192);
        _mm512_storeu_si512(dst + i, _mm512_xor_si512(a, k));
        _mm512_storeu_si512(dst + i + 64, _mm512_xor_si512(b, k));
        _mm512_storeu_si512(dst + i + 128, _mm512_xor_si512(c, k));
        _mm512_storeu_si512(dst + i + 192, _mm512_xor_si512(d, k));
    }
    for (; i + 64 <= n; i += 64)
        _mm512_storeu_si512(dst + i, _mm512_xor_si512(_mm512_loadu_si512(src + i), k));
    _mm512_storeu_si512(dst + n - 64, tail);
}
#endif

static mask_fn kernel_for(int variant)
{
#if RF__X86
    if (variant == RF_WS_MASK_AVX512) return mask_avx512;
    if (variant == RF_WS_MASK_AVX2) return mask_avx2;
    if (variant == RF_WS_MASK_SSE2) return mask_sse2;
#endif
    (void)variant;
    return mask_scalar;
}

static void mask_resolve(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key);

/* The one-time choice. Threads racing through mask_resolve all store the
 * same pointer, so a relaxed atomic is enough; it compiles to a plain load. */
static _Atomic(mask_fn) mask_impl = mask_resolve;

static void mask_resolve(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
    mask_fn f = kernel_for(rf__cpu_simd_level());
    atomic_store_explicit(&mask_impl, f, memory_order_relaxed);
    f(dst, src, n, key);
}

void rf_ws_mask(uint8_t *data, size_t len, const uint8_t key[4], uint64_t offset)
{
    mask_fn f = atomic_load_explicit(&mask_impl, memory_order_relaxed);
    f(data, data, len, rotated_key(key, offset));
}

void rf_ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                     uint64_t offset)
{
    mask_fn f = atomic_load_explicit(&mask_impl, memory_order_relaxed);
    f(dst, src, len, rotated_key(key, offset));
}

int rf_ws_mask_variant_available(int variant)
{
    return rf__cpu_simd_available(variant);
}

/* An unavailable variant falls back to scalar rather than faulting with an
 * illegal instruction: callers are tests and benchmarks, never hot paths. */
static mask_fn checked_kernel(int variant)
{
    /* Cached so a benchmark of one variant does not time the CPU query. */
    static _Atomic int level = -1;
    int l = atomic_load_explicit(&level, memory_order_relaxed);
    if (l < 0) {
        l = rf__cpu_simd_level();
        atomic_store_explicit(&level, l, memory_order_relaxed);
    }
    return kernel_for(variant >= RF_WS_MASK_SCALAR && variant <= l ? variant : RF_WS_MASK_SCALAR);
}

void rf_ws_mask_with(int variant, uint8_t *data, size_t len, const uint8_t key[4], uint64_t offset)
{
    checked_kernel(variant)(data, data, len, rotated_key(key, offset));
}

void rf_ws_mask_copy_with(int variant, uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[4], uint64_t offset)
{
    checked_kernel(variant)(dst, src, len, rotated_key(key, offset));
}

const char *rf_ws_mask_impl(void)
{
    static const char *const names[] = {"scalar", "sse2", "avx2", "avx512"};
    return names[rf__cpu_simd_level()];
}
