/* Private: the fast path's number and level readers for AVX2 CPUs, inlined
 * into the AVX2 copy of the readers (binance_fast_body.h). Each accepts
 * exactly what its portable counterpart in binance_numbers.h accepts, with
 * the same results, and hands anything else to it or refuses (NULL) where
 * that one would refuse too; test_decimal_simd and the scanner tests run
 * both copies on the same inputs. */
#ifndef RINGFEED_BINANCE_NUMBERS_AVX2_H
#define RINGFEED_BINANCE_NUMBERS_AVX2_H

#include <stdint.h>
#include <string.h>

#include "binance_numbers.h"
#include "decimal_avx2.h"
#include "ringfeed/binance.h"

/* One level by the per-number readers, p at its '[' (binance_levels.c):
 * the position past its ']', or NULL. */
const uint8_t *rf__bn_level_slow(const uint8_t *base, const uint8_t *p, const uint8_t *end, rf_bn_level *lv);

/* A level list's tail after a level: "," goes on to the next, "]" ends
 * the list (returning past it, with the count), anything else refuses. */
#define RF__BN_NEXT_OR_END(p, end, lv, first, count)                                                 \
    do {                                                                                            \
        if ((p) >= (end)) return NULL;                                                              \
        if (*(p) == ']') return *(count) = (size_t)((lv) - (first)), (p) + 1;                        \
        if (*(p) != ',') return NULL;                                                               \
        (p)++;                                                                                      \
    } while (0)

#if RF__DEC_AVX2

/* dec_any: the decimal string at p (just past its opening quote). The 16
 * bytes from p hold its closing quote, and the 16 ending with it are read
 * for the conversion, all inside the message; else dec_any decides. */
static inline RF__AVX2_TARGET __attribute__((always_inline)) const uint8_t *dec_any_avx2(const uint8_t *p,
                                                                                     const uint8_t *end,
                                                                                     const uint8_t *base,
                                                                                     rf_decimal *out)
{
    if (end - p >= 16 && p - base >= 15) {
        __m128i f = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(f, _mm_set1_epi8('"')));
        if (q) {
            unsigned n = _tzcnt_u32(q);
            /* Refused: not a plain decimal, which dec_any refuses too. */
            if (*p != '-') {
                if (rf__dec16_left_avx2(f, _mm_sub_epi8(f, _mm_set1_epi8('0')), n, out)) return NULL;
            } else if (rf__dec16_avx2(_mm_loadu_si128((const __m128i *)(const void *)(p + n - 16)), n, 1, out)) {
                return NULL;
            }
            return p + n + 1;
        }
    }
    return dec_any(p, end, base, out);
}

/* int_any for the fast path's readers, p at '-' or a digit: a run of 1 to
 * 15 digits not starting with 0 (f_int takes a lone 0 first) in one vector
 * step, moved into place by pshufb straight from the bytes loaded to find
 * it. Unlike int_any it does not look at the byte after the run: every
 * reader of the fast path requires a ',' or '}' there, so "12.5", "1e5" or
 * "012" still make the message leave the fast path. Negative numbers,
 * runs near the message's end and longer ones go to int_any. */
static inline RF__AVX2_TARGET __attribute__((always_inline)) const uint8_t *int_any_avx2(const uint8_t *p,
                                                                                     const uint8_t *end,
                                                                                     const uint8_t *base,
                                                                                     int64_t *out)
{
    if (*p != '-' && end - p >= 16) {
        const __m128i nine = _mm_set1_epi8(9);
        __m128i d = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), _mm_set1_epi8('0'));
        unsigned digits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine));
        unsigned n = _tzcnt_u32(~digits); /* the digit run, up to 16 */
        if (n - 1 < 15 && *p != '0') {
            *out = (int64_t)rf__dec_fold1(_mm_shuffle_epi8(d, rf__digits_ctl_at(n)));
            return p + n;
        }
    }
    return int_any(p, end, base, out);
}

static inline uint16_t rf__bn_word(const uint8_t *p)
{
    uint16_t w;
    memcpy(&w, p, 2);
    return w;
}
#define RF__BN_WORD(x, y) (uint16_t)((uint8_t)(x) | (uint8_t)(y) << 8)

/* One level ["price","qty"] at p, read from the 32-byte window that starts
 * k bytes before p (k > 0 only near the message's end: the window then ends
 * with the message), with `avail` bytes from p on in the message (34 or
 * more when k is 0). Returns the position past its ']', or NULL when the
 * level is not in the plain form (the caller reads it the slow way). Byte
 * masks of quotes, digits and points locate both texts and validate them at
 * once, and rf__dec16x2_avx2 converts the two together, one per 128-bit
 * lane, from the 16 bytes that end each text (p - 13 and up: the caller
 * makes sure the message has them). */
static inline RF__AVX2_TARGET __attribute__((always_inline)) const uint8_t *level_window(const uint8_t *p, unsigned k,
                                                                                     unsigned avail,
                                                                                     rf_bn_level *lv)
{
    const __m256i nine = _mm256_set1_epi8(9);
    __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(p - k));
    unsigned quotes = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(w, _mm256_set1_epi8('"'))) >> k;
    __m256i d = _mm256_sub_epi8(w, _mm256_set1_epi8('0'));
    unsigned digits = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(d, nine), nine)) >> k;
    unsigned dots = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(w, _mm256_set1_epi8('.'))) >> k;
    /* ["price","qty"]: the first quotes after the opening one close the
     * price (a) and the quantity (b); the bytes around them are checked as
     * words below. */
    unsigned later = quotes & ~3u;
    unsigned a = _tzcnt_u32(later);                        /* 32 if none */
    unsigned b = _tzcnt_u32(_blsr_u32(_blsr_u32(later))); /* 32 if none: then byte 32 is checked */
    /* Both texts' bytes (2 .. a-1 and a+3 .. b-1): digits, but for at most
     * one point in each with a digit on either side. */
    unsigned text = _bzhi_u32(~3u, b) & ~(7u << (a & 31));
    unsigned odd = text & ~digits;
    unsigned odd_a = _bzhi_u32(odd, a), odd_b = odd ^ odd_a;
    unsigned bad = (odd & ~(dots & digits << 1 & digits >> 1)) | _blsr_u32(odd_a) | _blsr_u32(odd_b);
    /* Texts of 1 to 16 bytes, and the closing '"]' inside the message. */
    bad |= ((a - 3) | (b - a - 4)) >> 4 | (unsigned)(b + 2 > avail);
    if (bad || rf__bn_word(p + a + 1) != RF__BN_WORD(',', '"') || rf__bn_word(p + b) != RF__BN_WORD('"', ']'))
        return NULL;
    /* Scales from the points' positions (a missing point reads as the last
     * byte: scale 0). */
    unsigned sa = a - 1 - _tzcnt_u32(odd_a | 1u << (a - 1));
    unsigned sb = b - 1 - _tzcnt_u32(odd_b | 1u << (b - 1));
    __m256i y = rf__dec16x2_avx2(_mm256_loadu2_m128i((const __m128i *)(const void *)(p + b - 16),
                                                     (const __m128i *)(const void *)(p + a - 16)),
                                 a - 2, sa, b - a - 3, sb);
    lv->price.mantissa = (int64_t)_mm_cvtsi128_si64(_mm256_castsi256_si128(y));
    lv->price.scale = (uint8_t)sa;
    lv->quantity.mantissa = (int64_t)_mm_cvtsi128_si64(_mm256_extracti128_si256(y, 1));
    lv->quantity.scale = (uint8_t)sb;
    return p + b + 2;
}

/* The level list at p ('['), as rf__bn_levels_portable reads it: each level
 * by level_window (the message's last levels from the window that ends
 * with the message), others through rf__bn_level_slow. */
static inline RF__AVX2_TARGET __attribute__((always_inline)) const uint8_t *levels_avx2(const uint8_t *base,
                                                                                    const uint8_t *p,
                                                                                    const uint8_t *end,
                                                                                    rf_bn_level *lv,
                                                                                    rf_bn_level *lv_end,
                                                                                    size_t *count)
{
    rf_bn_level *first = lv;
    p++;
    if (p < end && *p == ']') return *count = 0, p + 1;
    /* The conversion reads up to 13 bytes before a level's '[', and a
     * window ending with the message up to 32 before its end. */
    if (p - base < 16 || end - base < 48) return rf__bn_levels_portable(base, p - 1, end, lv, lv_end, count);
    for (;;) {
        if (lv == lv_end) return NULL;
        const uint8_t *q;
        if (end - p >= 34 && rf__bn_word(p) == RF__BN_WORD('[', '"') && (q = level_window(p, 0, 34, lv))) {
            p = q;
            lv++;
            RF__BN_NEXT_OR_END(p, end, lv, first, count);
            continue;
        }
        size_t avail = (size_t)(end - p);
        if (avail - 8 < 26 && rf__bn_word(p) == RF__BN_WORD('[', '"') &&
            (q = level_window(p, avail < 32 ? 32 - (unsigned)avail : 0, (unsigned)avail, lv)))
            p = q;
        else
            p = rf__bn_level_slow(base, p, end, lv);
        if (!p) return NULL;
        lv++;
        RF__BN_NEXT_OR_END(p, end, lv, first, count);
    }
}
#endif

#endif
