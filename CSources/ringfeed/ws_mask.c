/* WebSocket (un)masking: scalar, SSE2 and AVX2 kernels behind one dispatch.
 *
 * Every kernel works on a key already rotated to the first byte, packed as a
 * little-endian word, so vector widths (multiples of 4) never need to rotate
 * it again; only an alignment head does. */
#include "ringfeed/ws_mask.h"

#include <stdatomic.h>
#include <string.h>

#include "cpu.h"

#if RF__X86
#include <immintrin.h>
#endif

typedef void (*mask_fn)(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key);

/* Key bytes as they apply to data[0], data[1], ... read as a LE word. */
static inline uint32_t rotated_key(const uint8_t key[4], uint64_t offset)
{
    uint8_t k[4];
    for (unsigned i = 0; i < 4; i++) k[i] = key[(offset + i) & 3];
    uint32_t w;
    memcpy(&w, k, 4);
    return w;
}

/* The key for data[skip...]: byte i of the result is byte i + skip of key. */
static inline uint32_t advance_key(uint32_t key, size_t skip)
{
    unsigned s = (unsigned)(skip & 3) * 8;
    return s ? (key >> s) | (key << (32 - s)) : key;
}

static inline void mask_tail(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[i] ^ (uint8_t)(key >> (8 * (i & 3)));
}

static void mask_scalar(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
    uint64_t k = key | (uint64_t)key << 32;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= k;
        memcpy(dst + i, &w, 8);
    }
    mask_tail(dst + i, src + i, n - i, key);
}

/* Small inputs skip the alignment head: it would cost more than it saves. */
#define ALIGN_MIN 128

#if RF__X86
__attribute__((target("sse2"))) static void mask_sse2(uint8_t *dst, const uint8_t *src, size_t n,
                                                      uint32_t key)
{
    if (n >= ALIGN_MIN) {
        /* Aligned stores: an in-place unmask of an odd-aligned buffer would
         * otherwise split a cache line on every fourth store. */
        size_t head = (size_t)(-(uintptr_t)dst & 15);
        mask_tail(dst, src, head, key);
        dst += head, src += head, n -= head;
        key = advance_key(key, head);
    }
    __m128i k = _mm_set1_epi32((int)key);
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        _mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_storeu_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_storeu_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    }
    mask_scalar(dst + i, src + i, n - i, key);
}

__attribute__((target("avx2"))) static void mask_avx2(uint8_t *dst, const uint8_t *src, size_t n,
                                                      uint32_t key)
{
    if (n >= ALIGN_MIN) {
        size_t head = (size_t)(-(uintptr_t)dst & 31);
        mask_tail(dst, src, head, key);
        dst += head, src += head, n -= head;
        key = advance_key(key, head);
    }
    __m256i k = _mm256_set1_epi32((int)key);
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; i + 32 <= n; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    }
    if (i + 16 <= n) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, _mm256_castsi256_si128(k)));
        i += 16;
    }
    mask_scalar(dst + i, src + i, n - i, key);
}
#endif

static mask_fn kernel_for(int variant)
{
#if RF__X86
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
    return kernel_for(rf__cpu_simd_available(variant) ? variant : RF_WS_MASK_SCALAR);
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
    static const char *const names[] = {"scalar", "sse2", "avx2"};
    return names[rf__cpu_simd_level()];
}
