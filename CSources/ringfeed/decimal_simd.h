/* Private: a decimal string of at most 16 bytes to fixed point in one SSE2
 * pass, no loop over the digits. SSE2 is part of the x86-64 baseline, so no
 * runtime dispatch is needed; elsewhere RF__DEC16 is 0 and callers keep
 * their byte loops.
 *
 * The text sits right-aligned in a 16-byte vector (what lies below it is
 * ignored). Byte masks say where the digits, the point and a leading minus
 * are; the point is squeezed out by blending the vector with itself shifted
 * one byte; everything left of the first digit is zeroed; and three
 * multiply-add steps fold the 16 digit bytes into two 8-digit halves. At
 * most 16 bytes means at most 16 digits: no overflow is possible, and the
 * result is exact. Anything that is not -?digits(.digits)? is refused (-1)
 * and left to the general parser, which decides the error. */
#ifndef RINGFEED_DECIMAL_SIMD_H
#define RINGFEED_DECIMAL_SIMD_H

#include <stdint.h>
#include <string.h>

#include "ringfeed/decimal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RF__DEC8 1
/* The same for a text of 1 to 8 bytes held in the low n bytes of w (first
 * byte lowest, zeros above), in plain 64-bit arithmetic: no vector
 * constants to load, which is what a short string mostly pays for. The
 * point is turned into a '0' to test all bytes as digits at once, then
 * squeezed out with two masks; the digits are folded with the usual three
 * multiplications. Refuses (-1) exactly what rf__dec16 refuses. */
static inline __attribute__((always_inline)) int rf__dec8(uint64_t w, unsigned n, rf_decimal *out)
{
    const uint64_t ones = 0x0101010101010101ull;
    int neg = (w & 0xFF) == '-';
    if (neg) {
        w >>= 8;
        if (--n == 0) return -1;
    }
    uint64_t live = ~0ull >> (64 - 8 * n);
    /* The first '.' (the lowest flag of the zero-byte test is exact). */
    uint64_t t = w ^ (ones * '.');
    uint64_t dot = (t - ones) & ~t & (ones * 0x80) & live;
    unsigned j = 0;
    if (dot) {
        j = (unsigned)__builtin_ctzll(dot) >> 3;
        w += 2ull << (8 * j); /* '.' + 2 == '0' */
    }
    /* Every live byte a digit (a second point or anything else fails). */
    uint64_t x = (w & live) | (ones * '0' & ~live);
    if (((x & (ones * 0xF0)) | (((x + ones * 6) & (ones * 0xF0)) >> 4)) != ones * 0x33) return -1;
    uint64_t d = x - ones * '0';
    unsigned scale = 0;
    if (dot) {
        if (j == 0 || j + 1 >= n) return -1; /* a digit on each side */
        uint64_t below = (1ull << (8 * j)) - 1;
        d = (d & below) | ((d >> 8) & ~below);
        scale = n - 1 - j;
        n--;
    }
    d <<= 8 * (8 - n); /* right-aligned: leading zeros in front */
    d = d * 10 + (d >> 8);
    uint64_t value = ((d & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
                      ((d >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >> 32;
    out->mantissa = neg ? -(int64_t)value : (int64_t)value;
    out->scale = (uint8_t)scale;
    return 0;
}

/* s[0..n) for 1 <= n <= 8 into the low bytes of a word, without reading
 * outside it. */
static inline __attribute__((always_inline)) uint64_t rf__dec8_load(const char *s, unsigned n)
{
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        return (uint64_t)a | (uint64_t)b << (8 * (n - 4));
    }
    uint64_t w = (uint8_t)s[0];
    if (n > 1) w |= (uint64_t)(uint8_t)s[1] << 8;
    if (n > 2) w |= (uint64_t)(uint8_t)s[2] << 16;
    return w;
}
#else
#define RF__DEC8 0
#endif

#if defined(__x86_64__) && defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RF__DEC16 1
#include <emmintrin.h>

/* ge[k]: bytes k..15 set. Selecting by table instead of broadcasting an
 * index and comparing saves SSE2 (which has no byte broadcast) a handful of
 * instructions per number. */
static const uint8_t rf__dec16_ge[17][16] __attribute__((aligned(16))) = {
#define RF__GE(k)                                                                                  \
    {0 >= k ? 255 : 0, 1 >= k ? 255 : 0, 2 >= k ? 255 : 0, 3 >= k ? 255 : 0, 4 >= k ? 255 : 0,     \
     5 >= k ? 255 : 0, 6 >= k ? 255 : 0, 7 >= k ? 255 : 0, 8 >= k ? 255 : 0, 9 >= k ? 255 : 0,     \
     10 >= k ? 255 : 0, 11 >= k ? 255 : 0, 12 >= k ? 255 : 0, 13 >= k ? 255 : 0, 14 >= k ? 255 : 0, \
     15 >= k ? 255 : 0}
    RF__GE(0), RF__GE(1), RF__GE(2), RF__GE(3), RF__GE(4), RF__GE(5), RF__GE(6), RF__GE(7), RF__GE(8),
    RF__GE(9), RF__GE(10), RF__GE(11), RF__GE(12), RF__GE(13), RF__GE(14), RF__GE(15), RF__GE(16),
#undef RF__GE
};

static inline __m128i rf__dec16_mask(unsigned k)
{
    return _mm_load_si128((const __m128i *)(const void *)rf__dec16_ge[k]);
}

/* The value of 16 digit values (0-9, most significant first). */
static inline __attribute__((always_inline)) uint64_t rf__dec16_fold(__m128i d)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i pairs = _mm_packs_epi32(_mm_madd_epi16(_mm_unpacklo_epi8(d, zero), _mm_set1_epi32(0x0001000A)),
                                    _mm_madd_epi16(_mm_unpackhi_epi8(d, zero), _mm_set1_epi32(0x0001000A)));
    __m128i quads = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00010064));
    quads = _mm_packs_epi32(quads, quads);
    uint64_t halves = (uint64_t)_mm_cvtsi128_si64(_mm_madd_epi16(quads, _mm_set1_epi32(0x00012710)));
    return (halves & 0xFFFFFFFFu) * 100000000u + (halves >> 32);
}

/* v holds the n-byte text (1 <= n <= 16) in its top n bytes; neg says
 * whether its first byte is '-' (the caller has it at hand as a scalar). */
static inline __attribute__((always_inline)) int rf__dec16(__m128i v, unsigned n, int neg, rf_decimal *out)
{
    const __m128i nine = _mm_set1_epi8(9);
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    unsigned first = 16 - n, all = (0xFFFFu << first) & 0xFFFFu;
    unsigned digits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine)) & all;
    unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))) & all;
    unsigned minus = (unsigned)(neg != 0) << first, start = first + (neg != 0); /* the first digit */
    /* Only digits, at most one point, a minus only in front; a digit on
     * each side of the point (the last byte, 15, must then be a digit). */
    if ((digits | dots | minus) != all || start > 15 || (dots & (dots - 1))) return -1;
    unsigned j = 16, scale = 0; /* the point's index (16: none) */
    if (dots) {
        j = (unsigned)__builtin_ctz(dots);
        if (j <= start || j >= 15) return -1;
        /* Up to the point, each byte takes its left neighbour's place. */
        __m128i right = rf__dec16_mask(j + 1);
        d = _mm_or_si128(_mm_and_si128(right, d), _mm_andnot_si128(right, _mm_slli_si128(d, 1)));
        start++;
        scale = 15 - j;
    }
    uint64_t value = rf__dec16_fold(_mm_and_si128(d, rf__dec16_mask(start)));
    out->mantissa = neg ? -(int64_t)value : (int64_t)value;
    out->scale = (uint8_t)scale;
    return 0;
}

/* s[0..n) right-aligned in a vector without reading outside it, for
 * 1 <= n <= 16: two overlapping loads and shifts, never a byte loop
 * beyond three bytes. */
static inline __attribute__((always_inline)) __m128i rf__dec16_load(const char *s, unsigned n)
{
    uint64_t lo = 0, hi;
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        hi = b;
        if (n > 8) lo = a << (8 * (16 - n));
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        hi = (uint64_t)a << (8 * (8 - n)) | (uint64_t)b << 32;
    } else {
        hi = 0;
        for (unsigned i = 0; i < n; i++) hi |= (uint64_t)(uint8_t)s[i] << (8 * (8 - n + i));
    }
    return _mm_set_epi64x((long long)hi, (long long)lo);
}
#else
#define RF__DEC16 0
#endif

#endif
