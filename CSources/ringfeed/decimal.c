/* Exact decimal strings <-> int64 mantissa + scale. The parser runs for
 * every price and quantity of every message, so it avoids per-digit overflow
 * checks: a run of at most 19 significant digits cannot wrap a uint64, so
 * the digits are accumulated unchecked and the digit count decides overflow
 * afterwards.
 *
 * Strings of up to 8 bytes (most futures strings) take the 64-bit SWAR path
 * of decimal_simd.h, those of 9 to 16 (spot's eight-decimal strings) its
 * SSE2 path; neither loops over the digits. Anything longer, or anything
 * they refuse, takes the byte loop below, which also decides every error.
 * On CPUs with AVX2 (chosen at start-up) every string of up to 16 bytes
 * takes the shorter vector path of decimal_avx2.h instead. (An 8-digit SWAR step, tried
 * before, measured no faster than the byte loop on the short futures
 * strings; the vector path wins on both.) */
#include "ringfeed/decimal.h"

#include <string.h>

#include "cpu.h"
#include "decimal_avx2.h"
#include "decimal_simd.h"
#include "ringfeed/error.h"

#if RF__DEC_AVX2
/* For a text of len bytes right-aligned in 16 (its first byte at
 * s = 16 - len) with its point at j = 15 - scale: byte i of the control
 * takes source byte i (after the point) or i - 1 (up to the point); a
 * source before the text, or before byte 0, gives zero (the top bit set).
 * Scale 0 stands for "no point" (j = 15, where no valid point can be), so
 * that row moves no byte, which saves the callers a case. Row 0 (no text)
 * is all zeros. */
#define RF__SRC(s, j, i) ((j) >= 15 || (i) > (j) ? (i) : (i) - 1)
#define RF__CTL(s, j, i) (uint8_t)(RF__SRC(s, j, i) < (s) ? 0x80 : RF__SRC(s, j, i))
#define RF__ROW(s, j)                                                                              \
    {RF__CTL(s, j, 0), RF__CTL(s, j, 1), RF__CTL(s, j, 2), RF__CTL(s, j, 3), RF__CTL(s, j, 4),       \
     RF__CTL(s, j, 5), RF__CTL(s, j, 6), RF__CTL(s, j, 7), RF__CTL(s, j, 8), RF__CTL(s, j, 9),       \
     RF__CTL(s, j, 10), RF__CTL(s, j, 11), RF__CTL(s, j, 12), RF__CTL(s, j, 13), RF__CTL(s, j, 14), \
     RF__CTL(s, j, 15)}
#define RF__PLANE(len)                                                                             \
    {RF__ROW(16 - (len), 15), RF__ROW(16 - (len), 14), RF__ROW(16 - (len), 13),                   \
     RF__ROW(16 - (len), 12), RF__ROW(16 - (len), 11), RF__ROW(16 - (len), 10),                   \
     RF__ROW(16 - (len), 9), RF__ROW(16 - (len), 8), RF__ROW(16 - (len), 7),                       \
     RF__ROW(16 - (len), 6), RF__ROW(16 - (len), 5), RF__ROW(16 - (len), 4),                       \
     RF__ROW(16 - (len), 3), RF__ROW(16 - (len), 2), RF__ROW(16 - (len), 1),                       \
     RF__ROW(16 - (len), 0)}
const uint8_t rf__dec_ctl[17][16][16] __attribute__((aligned(64), visibility("hidden"))) = {
    RF__PLANE(0), RF__PLANE(1), RF__PLANE(2), RF__PLANE(3), RF__PLANE(4), RF__PLANE(5),
    RF__PLANE(6), RF__PLANE(7), RF__PLANE(8), RF__PLANE(9), RF__PLANE(10), RF__PLANE(11),
    RF__PLANE(12), RF__PLANE(13), RF__PLANE(14), RF__PLANE(15), RF__PLANE(16),
};
#undef RF__SRC
#undef RF__CTL
#undef RF__ROW
#undef RF__PLANE

#define RF__DC(n, i) (uint8_t)((i) >= 16 - (n) ? (i) - (16 - (n)) : 0x80)
#define RF__DROW(n)                                                                                \
    {RF__DC(n, 0), RF__DC(n, 1), RF__DC(n, 2), RF__DC(n, 3), RF__DC(n, 4), RF__DC(n, 5),             \
     RF__DC(n, 6), RF__DC(n, 7), RF__DC(n, 8), RF__DC(n, 9), RF__DC(n, 10), RF__DC(n, 11),           \
     RF__DC(n, 12), RF__DC(n, 13), RF__DC(n, 14), RF__DC(n, 15)}
const uint8_t rf__digits_ctl[17][16] __attribute__((aligned(16), visibility("hidden"))) = {
    RF__DROW(0), RF__DROW(1), RF__DROW(2), RF__DROW(3), RF__DROW(4), RF__DROW(5),
    RF__DROW(6), RF__DROW(7), RF__DROW(8), RF__DROW(9), RF__DROW(10), RF__DROW(11),
    RF__DROW(12), RF__DROW(13), RF__DROW(14), RF__DROW(15), RF__DROW(16),
};
#undef RF__DC
#undef RF__DROW

/* For an unsigned text of len bytes at the start of a vector, with `scale`
 * digits after its point (0: none, the point then at len - 1 - scale):
 * its m digits (len, or len - 1 with a point) right-aligned, the point
 * squeezed out, the rest zero. */
#define RF__LM(len, sc) ((sc) ? (len) - 1 : (len))
#define RF__LR(len, sc, i) ((i) - (16 - RF__LM(len, sc)))
#define RF__LSRC(len, sc, i) ((sc) && RF__LR(len, sc, i) >= (len) - 1 - (sc) ? RF__LR(len, sc, i) + 1 : RF__LR(len, sc, i))
#define RF__LC(len, sc, i) (uint8_t)((i) >= 16 - RF__LM(len, sc) ? RF__LSRC(len, sc, i) : 0x80)
#define RF__LROW(len, sc)                                                                          \
    {RF__LC(len, sc, 0), RF__LC(len, sc, 1), RF__LC(len, sc, 2), RF__LC(len, sc, 3),                 \
     RF__LC(len, sc, 4), RF__LC(len, sc, 5), RF__LC(len, sc, 6), RF__LC(len, sc, 7),                 \
     RF__LC(len, sc, 8), RF__LC(len, sc, 9), RF__LC(len, sc, 10), RF__LC(len, sc, 11),               \
     RF__LC(len, sc, 12), RF__LC(len, sc, 13), RF__LC(len, sc, 14), RF__LC(len, sc, 15)}
#define RF__LPLANE(len)                                                                            \
    {RF__LROW(len, 0), RF__LROW(len, 1), RF__LROW(len, 2), RF__LROW(len, 3), RF__LROW(len, 4),       \
     RF__LROW(len, 5), RF__LROW(len, 6), RF__LROW(len, 7), RF__LROW(len, 8), RF__LROW(len, 9),       \
     RF__LROW(len, 10), RF__LROW(len, 11), RF__LROW(len, 12), RF__LROW(len, 13), RF__LROW(len, 14), \
     RF__LROW(len, 15)}
const uint8_t rf__dec_left_ctl[17][16][16] __attribute__((aligned(64), visibility("hidden"))) = {
    RF__LPLANE(0), RF__LPLANE(1), RF__LPLANE(2), RF__LPLANE(3), RF__LPLANE(4), RF__LPLANE(5),
    RF__LPLANE(6), RF__LPLANE(7), RF__LPLANE(8), RF__LPLANE(9), RF__LPLANE(10), RF__LPLANE(11),
    RF__LPLANE(12), RF__LPLANE(13), RF__LPLANE(14), RF__LPLANE(15), RF__LPLANE(16),
};
#undef RF__LM
#undef RF__LR
#undef RF__LSRC
#undef RF__LC
#undef RF__LROW
#undef RF__LPLANE

_Atomic int rf__decimal_avx2;

int rf__decimal_use_avx2(int on)
{
    int v = on && rf__cpu_simd_level() >= RF__SIMD_AVX2 && __builtin_cpu_supports("bmi") &&
            __builtin_cpu_supports("bmi2");
    atomic_store_explicit(&rf__decimal_avx2, v, memory_order_relaxed);
    return v;
}

/* Before main, so the hot paths only ever load the flag. */
__attribute__((constructor)) static void choose_avx2(void)
{
    rf__decimal_use_avx2(1);
}
#endif

static const int64_t pow10_i64[RF_DECIMAL_MAX_SCALE + 1] = {
    1,
    10,
    100,
    1000,
    10000,
    100000,
    1000000,
    10000000,
    100000000,
    1000000000,
    10000000000,
    100000000000,
    1000000000000,
    10000000000000,
    100000000000000,
    1000000000000000,
    10000000000000000,
    100000000000000000,
    1000000000000000000,
};

static inline int is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

/* Accumulates the digit run at p (wrapping mod 2^64: the caller decides
 * overflow from the count) and returns where it stopped. */
static inline const char *digits(const char *p, const char *end, uint64_t *acc)
{
    uint64_t a = *acc;
    while (p < end && is_digit((unsigned char)*p)) a = a * 10 + (uint64_t)(*p++ - '0');
    *acc = a;
    return p;
}

/* Everything the word and vector paths do not take: long strings, and
 * every error. Kept out of line so that the common call stays a small leaf
 * function that saves no registers. */
__attribute__((noinline)) static int parse_general(const char *s, size_t n, rf_decimal *out)
{
    const char *p = s, *end = s + n;
    int neg = n > 0 && *p == '-';
    p += neg;
    const char *int_start = p;
    /* Leading zeros carry no value; skipping them makes the digit count
     * below a count of significant integer digits. */
    while (p < end && *p == '0') p++;
    const char *sig_start = p;
    uint64_t acc = 0;
    p = digits(p, end, &acc);
    size_t int_sig = (size_t)(p - sig_start);
    if (p == int_start) return RF_EDECIMAL;

    size_t scale = 0;
    if (p < end) {
        if (*p != '.') return RF_EDECIMAL;
        const char *frac_start = ++p;
        p = digits(p, end, &acc);
        scale = (size_t)(p - frac_start);
        if (scale == 0 || p != end) return RF_EDECIMAL;
        if (scale > RF_DECIMAL_MAX_SCALE) return RF_EOVERFLOW;
    }
    /* Counted from the first non-zero integer digit (or, for a zero integer
     * part, over the at most 18 fractional ones): 20 or more digits are a
     * mantissa of at least 10^19 > 2^63, and up to 19 (< 10^19 < 2^64) the
     * unchecked accumulation above cannot have wrapped. */
    if (int_sig + scale > 19) return RF_EOVERFLOW;
    if (acc > (uint64_t)INT64_MAX + (uint64_t)neg) return RF_EOVERFLOW;

    /* -(acc - 1) - 1 rather than -acc: acc may be 2^63, which no int64 holds. */
    out->mantissa = neg && acc ? -(int64_t)(acc - 1) - 1 : (int64_t)acc;
    out->scale = (uint8_t)scale;
    return 0;
}

#if RF__DEC_AVX2
/* What parse_avx2 does not take in its one step: a minus, a string near a
 * page end, anything longer than 16 bytes, and every error. */
__attribute__((noinline, cold)) RF__AVX2_TARGET __attribute__((no_sanitize("address"))) static int
parse_avx2_other(const char *s, size_t n, rf_decimal *out)
{
    if (n - 1 < 16) {
        /* The 16 bytes that end with the text, or piecewise when those
         * would reach into the previous page. */
        __m128i v = ((uintptr_t)(s + n - 1) & 4095) >= 15
                        ? _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16))
                        : rf__dec16_load(s, (unsigned)n);
        if (rf__dec16_avx2(v, (unsigned)n, (uint8_t)s[0] == '-', out) == 0) return 0;
    }
    return parse_general(s, n, out);
}

/* rf_decimal_parse on an AVX2 CPU: an unsigned string of 1 to 16 bytes
 * whose 16 bytes from its start lie in its page, in one vector step from
 * one load (a page is mapped whole, so reading past the string cannot
 * fault, and the bytes after it are not looked at; hence no address
 * sanitising here: reading them is deliberate). A small leaf function:
 * everything else is out of line. */
__attribute__((noinline)) RF__AVX2_TARGET __attribute__((no_sanitize("address"))) static int
parse_avx2(const char *s, size_t n, rf_decimal *out)
{
    if (__builtin_expect(n - 1 < 16 && (uint8_t)s[0] != '-' && ((uintptr_t)s & 4095) <= 4080, 1)) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
        if (__builtin_expect(rf__dec16_left_avx2(v, _mm_sub_epi8(v, _mm_set1_epi8('0')), (unsigned)n, out) == 0, 1))
            return 0;
    }
    return parse_avx2_other(s, n, out);
}
#endif

/* The portable paths: SWAR up to 8 bytes, SSE2 up to 16. Out of line, so
 * that rf_decimal_parse stays a test and a jump. */
__attribute__((noinline)) static int parse_portable(const char *s, size_t n, rf_decimal *out)
{
#if RF__DEC8
    if (n - 1 < 8) {
        if (rf__dec8(rf__dec8_load(s, (unsigned)n), (unsigned)n, out) == 0) return 0;
        return parse_general(s, n, out);
    }
#endif
#if RF__DEC16
    if (n - 1 < 16 &&
        rf__dec16(rf__dec16_load(s, (unsigned)n), (unsigned)n, s[0] == '-', out) == 0)
        return 0;
#endif
    return parse_general(s, n, out);
}

int rf_decimal_parse(const char *s, size_t n, rf_decimal *out)
{
#if RF__DEC_AVX2
    if (atomic_load_explicit(&rf__decimal_avx2, memory_order_relaxed)) return parse_avx2(s, n, out);
#endif
    return parse_portable(s, n, out);
}

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes the digits of u, exactly `count` of them (zero-padded), ending
 * just before `end`; returns u with those digits removed. */
static inline uint64_t put_digits(char *end, unsigned count, uint64_t u)
{
    for (; count >= 2; count -= 2) {
        end -= 2;
        memcpy(end, digit_pairs + 2 * (u % 100), 2);
        u /= 100;
    }
    if (count) {
        end[-1] = (char)('0' + u % 10);
        u /= 10;
    }
    return u;
}

static const uint64_t pow10_u64[20] = {
    1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u,
    1000000000u, 10000000000u, 100000000000u, 1000000000000u, 10000000000000u,
    100000000000000u, 1000000000000000u, 10000000000000000u, 100000000000000000u,
    1000000000000000000u, 10000000000000000000u,
};

/* Decimal digits in u; 0 for 0, which has no significant digit. */
static inline unsigned digit_count(uint64_t u)
{
    /* bits * log10(2), then one correction: 1233 / 4096 ~ log10(2). */
    unsigned t = ((64u - (unsigned)__builtin_clzll(u | 1)) * 1233u) >> 12;
    return t + (u >= pow10_u64[t]);
}

int rf_decimal_format(rf_decimal d, char *buf, size_t cap)
{
    /* Scales above the maximum are not values this module produces; refusing
     * them keeps RF_DECIMAL_MAX_TEXT a buffer size that always suffices. */
    if (d.scale > RF_DECIMAL_MAX_SCALE) return RF_EINVAL;
    int neg = d.mantissa < 0;
    uint64_t u = neg ? 0 - (uint64_t)d.mantissa : (uint64_t)d.mantissa;
    unsigned scale = d.scale, nd = digit_count(u);
    /* A pure fraction still gets its "0." and its leading fractional zeros. */
    unsigned int_digits = nd > scale ? nd - scale : 1;
    size_t len = (size_t)neg + int_digits + (scale ? 1 + scale : 0);
    if (cap < len) return RF_ENOSPC;

    /* Right to left, straight into the caller's buffer. */
    char *w = buf + len;
    if (cap > len) *w = '\0';
    if (scale) {
        u = put_digits(w, scale, u);
        w -= scale;
        *--w = '.';
    }
    put_digits(w, int_digits, u);
    if (neg) buf[0] = '-';
    return (int)len;
}

static inline int sign_of(int64_t m)
{
    return (m > 0) - (m < 0);
}

int rf_decimal_cmp(rf_decimal a, rf_decimal b)
{
    if (a.scale == b.scale) return (a.mantissa > b.mantissa) - (a.mantissa < b.mantissa);
    int flip = a.scale > b.scale;
    if (flip) {
        rf_decimal t = a;
        a = b;
        b = t;
    }
    /* Now a.scale < b.scale: compare a.mantissa * 10^k with b.mantissa. */
    unsigned k = (unsigned)b.scale - a.scale;
    int r;
    if (k >= 19) {
        /* |a.mantissa| * 10^19 exceeds any int64 unless it is zero, so a
         * non-zero a decides by its sign alone. */
        r = a.mantissa ? sign_of(a.mantissa) : -sign_of(b.mantissa);
    } else {
        /* |a| <= 2^63 and 10^18 < 2^60: the product is exact in __int128. */
        __int128 x = (__int128)a.mantissa * pow10_i64[k];
        __int128 y = b.mantissa;
        r = (x > y) - (x < y);
    }
    return flip ? -r : r;
}

int rf_decimal_rescale(rf_decimal d, unsigned scale, rf_decimal *out)
{
    if (scale > RF_DECIMAL_MAX_SCALE) return RF_EOVERFLOW;
    int64_t m;
    if (scale >= d.scale) {
        if (__builtin_mul_overflow(d.mantissa, pow10_i64[scale - d.scale], &m))
            return RF_EOVERFLOW;
    } else {
        unsigned k = (unsigned)d.scale - scale;
        if (k > RF_DECIMAL_MAX_SCALE) {
            /* A non-zero int64 is never a multiple of 10^19 or more. */
            if (d.mantissa) return RF_EDECIMAL;
            m = 0;
        } else {
            if (d.mantissa % pow10_i64[k]) return RF_EDECIMAL;
            m = d.mantissa / pow10_i64[k];
        }
    }
    out->mantissa = m;
    out->scale = (uint8_t)scale;
    return 0;
}

double rf_decimal_to_double(rf_decimal d)
{
    /* Both operands exact in a double (10^k is exact up to 10^22), so one
     * division rounds once: correctly rounded. */
    if (d.mantissa >= -(INT64_C(1) << 53) && d.mantissa <= (INT64_C(1) << 53) &&
        d.scale <= RF_DECIMAL_MAX_SCALE)
        return (double)d.mantissa / (double)pow10_i64[d.scale];
    /* A 64-bit long double mantissa holds any int64 and 10^18 exactly, so
     * only the division and the narrowing round: within an ulp, though not
     * always the nearest double. */
    long double p = 1.0L;
    unsigned s = d.scale;
    if (s <= RF_DECIMAL_MAX_SCALE) {
        p = (long double)pow10_i64[s];
    } else {
        while (s--) p *= 10.0L;
    }
    return (double)((long double)d.mantissa / p);
}
