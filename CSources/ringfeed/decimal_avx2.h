/* Private: the decimal conversion of decimal_simd.h for CPUs with AVX2
 * (which brings SSSE3's pshufb and pmaddubsw and SSE4.1's packusdw), chosen
 * at run time: the functions carry a target attribute, so the library still
 * builds for and runs on the x86-64 baseline, and callers test
 * rf__decimal_avx2 (set once at start-up from the CPU) before calling them.
 *
 * Against the SSE2 version, one pshufb from a table indexed by (first digit,
 * point) both squeezes out the point and zeroes everything in front of the
 * first digit, which replaces the blend and the two masks; and the fold is
 * four instructions (pmaddubsw, pmaddwd, packusdw, pmaddwd) instead of
 * eight. rf__dec16_avx2 accepts and refuses exactly what rf__dec16 does
 * (-?digits(.digits)?, at most 16 bytes), with the same results. The pair
 * version converts a depth level's price and quantity together, one in
 * each 128-bit lane of a 256-bit register, so every vector step is paid
 * once per level; its caller validates both texts first. */
#ifndef RINGFEED_DECIMAL_AVX2_H
#define RINGFEED_DECIMAL_AVX2_H

#include "decimal_simd.h"

#if RF__DEC16 && (defined(__clang__) || defined(__GNUC__))
#define RF__DEC_AVX2 1
#include <immintrin.h>
#include <stdatomic.h>

/* BMI1/2 come with every AVX2 CPU made; their shifts save the moves into
 * %cl that variable shifts otherwise need. */
#define RF__AVX2_TARGET __attribute__((target("avx2,bmi,bmi2")))

/* 1 when this CPU runs the functions below (set before main by decimal.c);
 * tests clear it to run the SSE2 and scalar paths too. */
extern _Atomic int rf__decimal_avx2;

/* Chooses the AVX2 paths (on 1, if the CPU has AVX2) or the portable ones
 * (0); returns whether the AVX2 paths are now in use. For tests. */
int rf__decimal_use_avx2(int on);

/* rf__dec_shuf[start][j]: the pshufb control for a text right-aligned in 16
 * bytes whose first digit is at `start` and point at j (15: none, as a
 * point there is never valid). Bytes after the point stay, those up to it
 * take their left neighbour's byte, and every byte whose source lies
 * before `start` becomes zero. */
extern const uint8_t rf__dec_shuf[16][16][16];

static inline RF__AVX2_TARGET __attribute__((always_inline)) __m128i rf__dec_shuf_at(unsigned start, unsigned j)
{
    return _mm_loadu_si128((const __m128i *)(const void *)rf__dec_shuf[start][j]);
}

/* The value of the 16 digit values of each 128-bit lane (0-9, most
 * significant first), in the low 64 bits of the lane. */
static inline RF__AVX2_TARGET __attribute__((always_inline)) __m256i rf__dec_fold2(__m256i d)
{
    __m256i t = _mm256_maddubs_epi16(d, _mm256_set1_epi16(0x010A));  /* pairs */
    t = _mm256_madd_epi16(t, _mm256_set1_epi32(0x00010064));          /* quads */
    t = _mm256_packus_epi32(t, t);
    t = _mm256_madd_epi16(t, _mm256_set1_epi32(0x00012710));          /* two halves of 8 */
    return _mm256_add_epi64(_mm256_mul_epu32(t, _mm256_set1_epi64x(100000000)), _mm256_srli_epi64(t, 32));
}

static inline RF__AVX2_TARGET __attribute__((always_inline)) uint64_t rf__dec_fold1(__m128i d)
{
    __m128i t = _mm_maddubs_epi16(d, _mm_set1_epi16(0x010A));
    t = _mm_madd_epi16(t, _mm_set1_epi32(0x00010064));
    t = _mm_packus_epi32(t, t);
    uint64_t halves = (uint64_t)_mm_cvtsi128_si64(_mm_madd_epi16(t, _mm_set1_epi32(0x00012710)));
    return (halves & 0xFFFFFFFFu) * 100000000u + (halves >> 32);
}

/* rf__dec16 with AVX2: v holds the n-byte text (1 <= n <= 16) in its top n
 * bytes, neg says whether its first byte is '-'. */
static inline RF__AVX2_TARGET __attribute__((always_inline)) int rf__dec16_avx2(__m128i v, unsigned n, int neg,
                                                                                rf_decimal *out)
{
    const __m128i nine = _mm_set1_epi8(9);
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    unsigned digits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine));
    unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
    unsigned first = 16 - n, start = first + (neg != 0);
    unsigned live = dots >> first << first, point = live & (0u - live); /* the first point's bit, or 0 */
    unsigned j = (unsigned)__builtin_ctz(live | 0x8000u);                /* its index, or 15 */
    /* The text's bytes must be digits exactly from `start` on, but for the
     * first point (a second point, a minus past the first byte or any
     * other byte breaks that); the point needs a digit before it (not at
     * `start`) and after it (not last); and a lone minus is no number. */
    unsigned want = ((0xFFFFu << start) & 0xFFFFu) ^ point;
    if (((digits ^ want) >> first) | ((point >> start) & 1) | (point >> 15) | (start >> 4)) return -1;
    uint64_t value = rf__dec_fold1(_mm_shuffle_epi8(d, rf__dec_shuf_at(start, j)));
    out->mantissa = neg ? -(int64_t)value : (int64_t)value;
    out->scale = (uint8_t)(15 - j);
    return 0;
}

/* Two texts already validated by the caller, as plain unsigned
 * digits(.digits)?: a in the top of the low lane of v with its first digit
 * at sa and point at ja (15: none), b likewise in the high lane. Returns
 * their values in the low 64 bits of each lane. */
static inline RF__AVX2_TARGET __attribute__((always_inline)) __m256i rf__dec16x2_avx2(__m256i v, unsigned sa,
                                                                                      unsigned ja, unsigned sb,
                                                                                      unsigned jb)
{
    __m256i ctl = _mm256_loadu2_m128i((const __m128i *)(const void *)rf__dec_shuf[sb][jb],
                                      (const __m128i *)(const void *)rf__dec_shuf[sa][ja]);
    return rf__dec_fold2(_mm256_shuffle_epi8(_mm256_sub_epi8(v, _mm256_set1_epi8('0')), ctl));
}
#else
#define RF__DEC_AVX2 0
#endif

#endif
