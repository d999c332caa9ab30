/* Private: the Binance scanner's number readers, shared by the general
 * pass (binance_scan.c) and the fixed-layout fast path (binance_fast.c).
 * Each accepts only the common, plainly valid form and returns NULL for
 * anything else, leaving validity and errors to the general path. */
#ifndef RINGFEED_BINANCE_NUMBERS_H
#define RINGFEED_BINANCE_NUMBERS_H

#include <stdint.h>
#include <string.h>

#include "decimal_simd.h"
#include "ringfeed/decimal.h"

static inline int dig(uint8_t c) { return (unsigned)(c - '0') < 10u; }

static const uint64_t pow10_u[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                     100000000};

/* Eight ASCII digits at p: folds them into *acc and returns 1, else 0. */
static inline __attribute__((always_inline)) int eight(const uint8_t *p, uint64_t *acc)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w;
    memcpy(&w, p, 8);
    if (((w & 0xF0F0F0F0F0F0F0F0ull) |
         (((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) !=
        0x3333333333333333ull)
        return 0;
    w -= 0x3030303030303030ull;
    w = w * 10 + (w >> 8);
    *acc = *acc * 100000000u +
           (((w & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
             ((w >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >> 32);
    return 1;
#else
    (void)p, (void)acc;
    return 0;
#endif
}

/* The common decimal string, p just past its opening quote:
 * -?digits(.digits)? then the closing quote, at most 18 digits in all (so no
 * overflow is possible). Such a string needs no escape or control checks and
 * parses exactly as rf_decimal_parse would. Returns the position past the
 * closing quote, or NULL for anything else (the caller takes the general
 * path, which decides validity and errors). */
static inline __attribute__((always_inline)) const uint8_t *dec_fast(const uint8_t *p, const uint8_t *end, rf_decimal *out)
{
    int neg = 0;
    if (p < end && *p == '-') neg = 1, p++;
    const uint8_t *s = p;
    uint64_t acc = 0;
    while (p < end && dig(*p)) acc = acc * 10 + (unsigned)(*p++ - '0');
    size_t n = (size_t)(p - s), scale = 0;
    if (!n) return NULL;
    if (p < end && *p == '.') {
        const uint8_t *f = ++p;
        while (p < end && dig(*p)) acc = acc * 10 + (unsigned)(*p++ - '0');
        scale = (size_t)(p - f);
        if (!scale) return NULL;
    }
    if (p >= end || *p != '"' || n + scale > 18) return NULL;
    out->mantissa = neg ? -(int64_t)acc : (int64_t)acc;
    out->scale = (uint8_t)scale;
    return p + 1;
}

/* A decimal from a validated raw string view (its closing quote follows). */
static inline int dec_view(const uint8_t *s, size_t n, rf_decimal *out)
{
    if (dec_fast(s, s + n + 1, out) == s + n + 1) return 0;
    return rf_decimal_parse((const char *)s, n, out);
}

/* A plain integer, p at '-' or a digit: up to 18 digits not followed by
 * '.', 'e', 'E' or another digit, and no leading zero. Else NULL. */
static inline __attribute__((always_inline)) const uint8_t *int_fast(const uint8_t *p, const uint8_t *end, int64_t *out)
{
    int neg = *p == '-';
    p += neg;
    if (p >= end || !dig(*p) || *p == '0') return NULL;
    const uint8_t *s = p;
    uint64_t v = 0;
    /* Ids and times have 9 to 13 digits: eight at once first, then the
     * rest of the run (found from a digit mask) in one more step. */
    if (end - p >= 16 && eight(p, &v)) {
        p += 8;
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t m = ((w & 0xF0F0F0F0F0F0F0F0ull) |
                      (((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ^
                     0x3333333333333333ull;
        unsigned n = m ? (unsigned)__builtin_ctzll(m) >> 3 : 8;
        if (n) {
            uint64_t x = (w & 0x0F0F0F0F0F0F0F0Full) << (64 - 8 * n);
            x = x * 10 + (x >> 8);
            x = ((x & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
                 ((x >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >> 32;
            v = v * pow10_u[n] + x;
            p += n;
        }
    }
    while (p < end && dig(*p)) v = v * 10 + (unsigned)(*p++ - '0');
    if (p - s > 18) return NULL;
    if (p < end && (*p == '.' || (*p | 0x20) == 'e')) return NULL;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return p;
}

/* The common decimal string as dec_fast() takes it, p just past its opening
 * quote and base the start of the message: strings of up to 15 bytes go
 * through the vector parser (its constants stay in registers across a
 * message, which makes it cheaper here than the SWAR one), reading only inside the message (the 16 bytes
 * from p, or those ending the message, to find the closing quote; the 16
 * ending with the string to parse it); the rest through dec_fast(). */
static inline __attribute__((always_inline)) const uint8_t *dec_any(const uint8_t *p, const uint8_t *end,
                                                                     const uint8_t *base, rf_decimal *out)
{
#if RF__DEC16
    unsigned q = 0;
    if (end - p >= 16) {
        __m128i f = _mm_loadu_si128((const __m128i *)(const void *)p);
        q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(f, _mm_set1_epi8('"')));
    } else if (end - base >= 16) {
        /* Near the end of the message: the window that ends with it. */
        __m128i f = _mm_loadu_si128((const __m128i *)(const void *)(end - 16));
        q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(f, _mm_set1_epi8('"'))) >> (16 - (end - p));
    }
    if (q) {
        unsigned n = (unsigned)__builtin_ctz(q);
        const uint8_t *r = p + n - 16;
        if (r >= base) {
            /* Refused: not a plain decimal, which dec_fast() would refuse too. */
            if (!n || rf__dec16(_mm_loadu_si128((const __m128i *)(const void *)r), n, *p == '-', out))
                return NULL;
            return p + n + 1;
        }
    }
#else
    (void)base;
#endif
    return dec_fast(p, end, out);
}

/* A JSON integer as int_fast() takes it, p at '-' or a digit, base the
 * start of the message: up to 15 digits in one vector step (reading only
 * inside the message: the 16 bytes from p or those ending the message to
 * find the run, the 16 ending with the run to fold it), longer ones by
 * int_fast(). */
static inline __attribute__((always_inline)) const uint8_t *int_any(const uint8_t *p, const uint8_t *end,
                                                                     const uint8_t *base, int64_t *out)
{
#if RF__DEC16
    int neg = *p == '-';
    const uint8_t *s = p + neg;
    if (end - s >= 1 && end - base >= 16) {
        const __m128i nine = _mm_set1_epi8(9), zero = _mm_set1_epi8('0');
        unsigned digits;
        if (end - s >= 16) {
            __m128i d = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)s), zero);
            digits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine));
        } else { /* near the end: the window that ends with the message */
            __m128i d = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)(end - 16)), zero);
            digits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine)) >> (16 - (end - s));
        }
        unsigned n = (unsigned)__builtin_ctz(~digits); /* the digit run, up to 16 */
        /* No digit, or a leading zero (JSON has none but 0 itself): not ours. */
        if (n == 0 || *s == '0') return NULL;
        if (n < 16 && s + n < end && s + n - 16 >= base) {
            uint8_t t = s[n];
            if (t == '.' || (t | 0x20) == 'e') return NULL;
            __m128i d = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + n - 16)), zero);
            uint64_t v = rf__dec16_fold(_mm_and_si128(d, rf__dec16_mask(16 - n)));
            *out = neg ? -(int64_t)v : (int64_t)v;
            return s + n;
        }
    }
#else
    (void)base;
#endif
    return int_fast(p, end, out);
}

#endif
