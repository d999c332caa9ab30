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

/* rf__dec_ctl[len][scale]: the pshufb control for an unsigned text of len
 * bytes (1-16) right-aligned in 16, with `scale` digits after its point
 * (0: no point). Bytes after the point stay, those up to it take their
 * left neighbour's byte, and every byte whose source lies before the text
 * becomes zero. Hidden, so that code addresses it directly. */
extern const uint8_t rf__dec_ctl[17][16][16] __attribute__((visibility("hidden")));

static inline RF__AVX2_TARGET __attribute__((always_inline)) __m128i rf__dec_ctl_at(unsigned len, unsigned scale)
{
    /* One flat offset: len << 8 | scale << 4. */
    return _mm_loadu_si128((const __m128i *)(const void *)(&rf__dec_ctl[0][0][0] + (len << 8) + (scale << 4)));
}

/* rf__digits_ctl[n]: the pshufb control that moves n digits (0-16) from
 * the start of a vector to its end, zeroing the rest. */
extern const uint8_t rf__digits_ctl[17][16] __attribute__((visibility("hidden")));

static inline RF__AVX2_TARGET __attribute__((always_inline)) __m128i rf__digits_ctl_at(unsigned n)
{
    return _mm_loadu_si128((const __m128i *)(const void *)rf__digits_ctl[n]);
}

/* rf__dec_left_ctl[len][scale]: the same for a text at the start of the
 * vector instead of its end (rf__dec16_left_avx2). */
extern const uint8_t rf__dec_left_ctl[17][16][16] __attribute__((visibility("hidden")));

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
static inline RF__AVX2_TARGET __attribute__((always_inline)) int rf__dec16_avx2(__m128i v, unsigned n, unsigned neg,
                                                                                rf_decimal *out)
{
    const __m128i nine = _mm_set1_epi8(9);
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    unsigned digits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine));
    unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
    unsigned start = 16 - n + neg; /* the first digit */
    /* From `start` on, every byte is a digit but for at most one point;
     * the first and the last byte are digits (so a point has a digit on
     * each side, and a lone minus, start 16, is refused: bit 16 is never
     * a digit). A second point, a minus past the first byte or any other
     * byte is refused. */
    unsigned odd = (digits ^ 0xFFFFu) & (0xFFFFu << start);
    unsigned ends = 1u << start | 0x8000u;
    if ((odd & (odd - 1)) | (odd & ~dots) | (ends & ~digits)) return -1;
    unsigned scale = 15 - (unsigned)__builtin_ctz(odd | 0x8000u); /* from the point's index (15: none) */
    uint64_t value = rf__dec_fold1(_mm_shuffle_epi8(d, rf__dec_ctl_at(16 - start, scale)));
    out->mantissa = (int64_t)((value ^ (0 - (uint64_t)neg)) + neg);
    out->scale = (uint8_t)scale;
    return 0;
}

/* rf__dec16_avx2 for an unsigned text of n bytes (1-16) at the start of v,
 * d being v - '0': the caller has both from finding the text's end, so no
 * second load is needed. Accepts and refuses what rf__dec16_avx2 does for
 * a text without a minus. */
static inline RF__AVX2_TARGET __attribute__((always_inline)) int rf__dec16_left_avx2(__m128i v, __m128i d,
                                                                                     unsigned n, rf_decimal *out)
{
    const __m128i nine = _mm_set1_epi8(9);
    unsigned digits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine));
    unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
    /* Digits but for at most one point, with a digit of the text on either
     * side (what follows the text does not count). */
    unsigned odd = _bzhi_u32(~digits, n), own = _bzhi_u32(digits, n);
    if (!n || _blsr_u32(odd) | (odd & ~(dots & own << 1 & own >> 1))) return -1;
    unsigned scale = n - 1 - _tzcnt_u32(odd | 1u << (n - 1));
    out->mantissa = (int64_t)rf__dec_fold1(_mm_shuffle_epi8(
        d, _mm_loadu_si128((const __m128i *)(const void *)(&rf__dec_left_ctl[0][0][0] + (n << 8) + (scale << 4)))));
    out->scale = (uint8_t)scale;
    return 0;
}

/* Two texts already validated by the caller, as plain unsigned
 * digits(.digits)?: a (la bytes, scale sa) in the top of the low lane of v,
 * b (lb bytes, scale sb) in the top of the high lane. Returns their values
 * in the low 64 bits of each lane. */
static inline RF__AVX2_TARGET __attribute__((always_inline)) __m256i rf__dec16x2_avx2(__m256i v, unsigned la,
                                                                                      unsigned sa, unsigned lb,
                                                                                      unsigned sb)
{
    const uint8_t *t = &rf__dec_ctl[0][0][0];
    __m256i ctl = _mm256_loadu2_m128i((const __m128i *)(const void *)(t + (lb << 8) + (sb << 4)),
                                      (const __m128i *)(const void *)(t + (la << 8) + (sa << 4)));
    return rf__dec_fold2(_mm256_shuffle_epi8(_mm256_sub_epi8(v, _mm256_set1_epi8('0')), ctl));
}
#else
#define RF__DEC_AVX2 0
#endif

#endif
