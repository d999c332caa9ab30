/* Decimal strings: byte-identical round trip of every decimal string in the
 * recorded Binance traffic, hand-picked edge cases, a differential check of
 * the parser against a plain reference on generated text (every length
 * around the 8-digit fast path), comparisons against an exact string-based
 * reference, rescaling and the conversion to double.
 *
 * Every input is copied into a buffer of exactly its length, so ASan sees
 * any read outside [s, s+n). */
#include <string.h>

#include "check.h"
#include "decimal_reference.h"
#include "ringfeed/decimal.h"
#include "ringfeed/error.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

/* splitmix64: deterministic, so a failure reproduces. */
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static int parse_exact(const char *s, size_t n, rf_decimal *out)
{
    char *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, s, n);
    int r = rf_decimal_parse(n ? copy : copy + 1, n, out);
    free(copy);
    return r;
}

static int parse_str(const char *s, rf_decimal *out)
{
    return parse_exact(s, strlen(s), out);
}

/* ^-?[0-9]+(\.[0-9]+)?$ */
static int looks_decimal(const char *s, size_t n)
{
    rf_decimal d;
    int r = ref_parse(s, n, &d);
    return r == 0 || r == RF_EOVERFLOW;
}

/* An input the formatter cannot reproduce: superfluous leading zeros
 * ("007.5", "-00.1") or a negative zero ("-0", "-0.00"). */
static int non_canonical(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '-';
    if (n - i >= 2 && s[i] == '0' && s[i + 1] != '.') return 1;
    if (s[0] != '-') return 0;
    for (size_t j = i; j < n; j++)
        if (s[j] != '0' && s[j] != '.') return 0;
    return 1;
}

static void check_round_trip(const char *s, size_t n, long *checked)
{
    rf_decimal d;
    int r = parse_exact(s, n, &d);
    CHECK_EQ(r, 0);
    if (r) {
        fprintf(stderr, "  input: \"%.*s\"\n", (int)n, s);
        return;
    }
    char buf[RF_DECIMAL_MAX_TEXT];
    int len = rf_decimal_format(d, buf, sizeof buf);
    CHECK(len > 0);
    if (non_canonical(s, n)) return;
    CHECK(len == (int)n && memcmp(buf, s, n) == 0);
    if (len != (int)n || memcmp(buf, s, n) != 0)
        fprintf(stderr, "  \"%.*s\" formatted as \"%s\"\n", (int)n, s, buf);
    (*checked)++;
}

/* Every JSON string value in the file that looks like a decimal. Strings
 * are found by quote pairs; the recorded messages contain no escaped quotes
 * in numeric fields, and a skipped backslash keeps the scan in step. */
static long round_trip_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("note: %s missing, skipping its round trip\n", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    size_t got = fread(text, 1, (size_t)size, f);
    fclose(f);
    long checked = 0;
    for (size_t i = 0; i < got; i++) {
        if (text[i] != '"') continue;
        size_t j = i + 1;
        while (j < got && text[j] != '"' && text[j] != '\n') j += text[j] == '\\' ? 2 : 1;
        if (j >= got || text[j] != '"') {
            i = j;
            continue;
        }
        if (looks_decimal(text + i + 1, j - i - 1)) check_round_trip(text + i + 1, j - i - 1, &checked);
        i = j;
    }
    free(text);
    return checked;
}

static void expect_value(const char *s, int64_t m, unsigned scale)
{
    rf_decimal d = {-1, 99};
    int r = parse_str(s, &d);
    CHECK_EQ(r, 0);
    CHECK_EQ(d.mantissa, m);
    CHECK_EQ(d.scale, scale);
    if (r || d.mantissa != m || d.scale != scale)
        fprintf(stderr, "  input: \"%s\" -> %d %lld/%u\n", s, r, (long long)d.mantissa, d.scale);
}

static void expect_error(const char *s, size_t n, int want)
{
    rf_decimal d = {42, 3};
    int r = parse_exact(s, n, &d);
    CHECK_EQ(r, want);
    if (r != want) fprintf(stderr, "  input: \"%.*s\"\n", (int)n, s);
    /* A failed parse leaves the output alone. */
    CHECK(d.mantissa == 42 && d.scale == 3);
}

static void expect_format(int64_t m, unsigned scale, const char *want)
{
    char buf[RF_DECIMAL_MAX_TEXT];
    int len = rf_decimal_format((rf_decimal){m, (uint8_t)scale}, buf, sizeof buf);
    CHECK_EQ(len, (long long)strlen(want));
    CHECK(len >= 0 && strcmp(buf, want) == 0);
    if (len < 0 || strcmp(buf, want) != 0)
        fprintf(stderr, "  %lld/%u -> \"%s\", want \"%s\"\n", (long long)m, scale, len >= 0 ? buf : "", want);
}

static void test_hand_cases(void)
{
    expect_value("0", 0, 0);
    expect_value("-0.5", -5, 1);
    expect_value("0.00000001", 1, 8);
    expect_value("12345678.12345678", 1234567812345678, 8);
    expect_value("9223372036854775807", INT64_MAX, 0);
    expect_value("-9223372036854775808", INT64_MIN, 0);
    expect_value("9.223372036854775807", INT64_MAX, 18);
    expect_value("-9.223372036854775808", INT64_MIN, 18);
    expect_value("0.922337203685477580", 922337203685477580, 18);
    expect_value("0.000000000000000001", 1, 18);
    expect_value("-0.000000000000000001", -1, 18);
    expect_value("0.000000000000000000", 0, 18);
    expect_value("1.000000000000000000", 1000000000000000000, 18);
    expect_value("0.35130000", 35130000, 8);
    expect_value("6195.00000000", 619500000000, 8);
    expect_value("-0", 0, 0);
    expect_value("007.5", 75, 1);
    expect_value("-007.5", -75, 1);
    expect_value("0000000000000000000000000000001", 1, 0);
    expect_value("00000000000000000000000009223372036854775807", INT64_MAX, 0);
    expect_value("1234567890123456789", 1234567890123456789, 0);
    expect_value("123456789.0123456789", 1234567890123456789, 10);

    /* 2^63 boundaries and 19+ digits */
    expect_error("9223372036854775808", 19, RF_EOVERFLOW);
    expect_error("-9223372036854775809", 20, RF_EOVERFLOW);
    expect_error("9.223372036854775808", 20, RF_EOVERFLOW);
    expect_error("-9.223372036854775809", 21, RF_EOVERFLOW);
    expect_error("9999999999999999999", 19, RF_EOVERFLOW);
    expect_error("10000000000000000000", 20, RF_EOVERFLOW);
    expect_error("18446744073709551616", 20, RF_EOVERFLOW); /* 2^64: would wrap to 0 */
    expect_error("18446744073709551617", 20, RF_EOVERFLOW);
    expect_error("36893488147419103232", 20, RF_EOVERFLOW); /* 2^65 */
    expect_error("123456789012345678901234567890", 30, RF_EOVERFLOW);
    expect_error("92233720368.54775808", 20, RF_EOVERFLOW);
    expect_value("12345678901.23456789", 1234567890123456789, 8);
    expect_error("1.0000000000000000000", 21, RF_EOVERFLOW); /* scale 19 */
    expect_error("0.0000000000000000001", 21, RF_EOVERFLOW);
    expect_error("-0.0000000000000000000", 22, RF_EOVERFLOW);
    expect_error("10.000000000000000000", 21, RF_EOVERFLOW); /* scale 18, 20 digits */

    /* malformed */
    static const char *bad[] = {"",    "-",   ".",   "1.",    ".5",  "+1",   "1e5",  " 1",
                                "1 ",  "1..2", "0x1", "1.2.3", "-.5", "--1",  "1-",   "-+1",
                                "1,5", "١",   "NaN", "inf",   "1.-2", "0.5 ", "\t1", "1.5e-3",
                                "12345678x", "1.2345678x", "x12345678", "1234567.", "-1234567890123456."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_error(bad[i], strlen(bad[i]), RF_EDECIMAL);
    expect_error("1\0002", 3, RF_EDECIMAL);
    expect_error("1.\0002", 4, RF_EDECIMAL);
    expect_error("12345678\000", 9, RF_EDECIMAL);
    expect_error("\0", 1, RF_EDECIMAL);
    /* Syntax errors win over overflow: the text is not a decimal at all. */
    expect_error("1.0000000000000000000x", 22, RF_EDECIMAL);
    expect_error("99999999999999999999x", 21, RF_EDECIMAL);
    /* n bounds the text: a digit just past it is not read. */
    expect_value("0", 0, 0);
    {
        rf_decimal d;
        CHECK_EQ(rf_decimal_parse("12.5x", 4, &d), 0);
        CHECK(d.mantissa == 125 && d.scale == 1);
        CHECK_EQ(rf_decimal_parse("12.5", 3, &d), RF_EDECIMAL);
        CHECK_EQ(rf_decimal_parse(NULL, 0, &d), RF_EDECIMAL);
    }

    expect_format(0, 0, "0");
    expect_format(-5, 1, "-0.5");
    expect_format(1, 8, "0.00000001");
    expect_format(0, 8, "0.00000000");
    expect_format(1234567812345678, 8, "12345678.12345678");
    expect_format(INT64_MAX, 0, "9223372036854775807");
    expect_format(INT64_MIN, 0, "-9223372036854775808");
    expect_format(INT64_MIN, 18, "-9.223372036854775808");
    expect_format(-1, 18, "-0.000000000000000001");
    expect_format(INT64_MIN, 1, "-922337203685477580.8");
    expect_format(100, 0, "100");
    expect_format(10, 1, "1.0");
    expect_format(9, 0, "9");
    expect_format(75, 1, "7.5"); /* what "007.5" comes back as */
    {
        char buf[64];
        CHECK_EQ(rf_decimal_format((rf_decimal){1, 19}, buf, sizeof buf), RF_EINVAL);
    }

    /* Too-small buffers: RF_ENOSPC, nothing written past cap; exactly the
     * length succeeds without a NUL; one more gets the NUL. */
    static const rf_decimal samples[] = {
        {0, 0}, {INT64_MIN, 18}, {INT64_MIN, 0}, {-1, 18}, {35130000, 8}, {INT64_MAX, 3}, {7, 0}};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char full[RF_DECIMAL_MAX_TEXT];
        int len = rf_decimal_format(samples[i], full, sizeof full);
        CHECK(len > 0 && len < RF_DECIMAL_MAX_TEXT && full[len] == '\0');
        for (size_t cap = 0; cap <= (size_t)len + 1; cap++) {
            char *b = malloc(cap ? cap : 1);
            memset(b, '#', cap ? cap : 1);
            int r = rf_decimal_format(samples[i], cap ? b : NULL, cap);
            if (cap < (size_t)len) {
                CHECK_EQ(r, RF_ENOSPC);
            } else {
                CHECK_EQ(r, len);
                CHECK(memcmp(b, full, (size_t)len) == 0);
                if (cap > (size_t)len) CHECK(b[len] == '\0');
            }
            free(b);
        }
    }
}

/* Random text near the grammar: digits, one point, a sign, sometimes a
 * stray byte, every length from 0 to 30 so each position of the 8-byte
 * fast path sees each kind of byte. */
static size_t random_text(char *s)
{
    size_t n = (size_t)(rng() % 31), i = 0;
    if (n && rng() % 3 == 0) s[i++] = '-';
    size_t point = rng() % 2 ? (size_t)(rng() % (n + 1)) : (size_t)-1;
    int zeros = rng() % 4 == 0;
    for (; i < n; i++) s[i] = i == point ? '.' : (char)('0' + (zeros ? rng() % 2 : rng() % 10));
    if (n && rng() % 4 == 0) {
        static const char stray[] = "+-.eE x\0/:";
        s[rng() % n] = stray[rng() % (sizeof stray - 1)];
    }
    return n;
}

/* Every fractional length 0-18 with integer parts of every size that can
 * still fit, with and without a sign and leading zeros: the exact value is
 * computed here in 128 bits from the digits written. */
static void test_every_scale(void)
{
    static const char *const ints[] = {"0", "1", "7", "42", "12345", "99999999", "123456789",
                                       "9223372036", "922337203685477580", "9223372036854775807"};
    long checked = 0;
    for (size_t ii = 0; ii < sizeof ints / sizeof ints[0]; ii++)
        for (unsigned scale = 0; scale <= RF_DECIMAL_MAX_SCALE + 1; scale++)
            for (int variant = 0; variant < 4; variant++) {
                char s[64];
                int neg = variant & 1, zeros = variant & 2;
                size_t n = (size_t)sprintf(s, "%s%s%s", neg ? "-" : "", zeros ? "000" : "", ints[ii]);
                __int128 v = 0;
                for (const char *c = ints[ii]; *c; c++) v = v * 10 + (*c - '0');
                if (scale) s[n++] = '.';
                for (unsigned k = 0; k < scale; k++) {
                    int d = (int)((k * 7 + ii) % 10);
                    s[n++] = (char)('0' + d);
                    v = v * 10 + d;
                }
                s[n] = 0;
                rf_decimal d = {0, 0};
                int r = parse_exact(s, n, &d), want = 0;
                if (scale > RF_DECIMAL_MAX_SCALE || v > (__int128)INT64_MAX + neg) want = RF_EOVERFLOW;
                CHECK_EQ(r, want);
                if (r == 0 && want == 0) {
                    CHECK(d.mantissa == (int64_t)(neg ? -v : v) && d.scale == scale);
                    checked++;
                }
                if (r != want || (r == 0 && d.scale != scale)) fprintf(stderr, "  input: \"%s\"\n", s);
            }
    printf("every scale: %ld exact values with 0-18 fractional digits\n", checked);
    expect_value("0.00000000", 0, 8);
    expect_value("-0.00000000", 0, 8);
    expect_value("000.000100", 100, 6);
    expect_value("0000000000000000000000.000000000000000001", 1, 18);
    expect_value("99999999999999999.9", 999999999999999999, 1);
    expect_error("99999999999999999999.0", 22, RF_EOVERFLOW);
    expect_error("1.0000000000000000000000000000000000000001", 42, RF_EOVERFLOW);
    static const char *garbage[] = {"0.0.0", "0..0", "00x", "\"1\"", "1 .5", "1. 5", "١٢", "1\xff", "0.\xc2\xb5"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        expect_error(garbage[i], strlen(garbage[i]), RF_EDECIMAL);
}

static void test_parse_differential(void)
{
    char s[32];
    long ok = 0, errors = 0;
    for (int k = 0; k < 300000; k++) {
        size_t n = random_text(s);
        rf_decimal a = {0, 0}, b = {0, 0};
        int ra = parse_exact(s, n, &a), rb = ref_parse(s, n, &b);
        CHECK_EQ(ra, rb);
        if (ra != rb) fprintf(stderr, "  input: \"%.*s\"\n", (int)n, s);
        if (ra == 0 && rb == 0) {
            CHECK(a.mantissa == b.mantissa && a.scale == b.scale);
            ok++;
        } else {
            errors++;
        }
        if (rf_test_failures > 50) return;
    }
    printf("parse differential: %ld valid, %ld rejected, all agree with the reference\n", ok, errors);
}

/* The exact value as a fixed-width string: sign, 19 integer digits, 18
 * fractional digits; equal values give equal strings. Built by hand from
 * the magnitude, independent of rf_decimal_format. */
static int ref_text(rf_decimal d, char fixed[38])
{
    uint64_t u = d.mantissa < 0 ? 0 - (uint64_t)d.mantissa : (uint64_t)d.mantissa;
    char digits[21];
    int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)u);
    memset(fixed, '0', 37);
    fixed[37] = '\0';
    /* The last digit of the mantissa lands at position 18 + scale. */
    int last = 18 + d.scale;
    for (int i = 0; i < nd; i++) fixed[last - (nd - 1 - i)] = digits[i];
    return u == 0 ? 0 : d.mantissa < 0 ? -1 : 1;
}

static int ref_cmp(rf_decimal a, rf_decimal b)
{
    char ta[38], tb[38];
    int sa = ref_text(a, ta), sb = ref_text(b, tb);
    if (sa != sb) return sa < sb ? -1 : 1;
    int c = strcmp(ta, tb);
    c = (c > 0) - (c < 0);
    return sa < 0 ? -c : c;
}

static int64_t random_mantissa(void)
{
    switch (rng() % 8) {
    case 0: return (int64_t)rng();
    case 1: return (int64_t)(rng() % 2000001) - 1000000;
    case 2: {
        static const int64_t edge[] = {0, 1, -1, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
                                       1000000000000000000, -1000000000000000000};
        return edge[rng() % (sizeof edge / sizeof edge[0])];
    }
    default: {
        /* Prices with trailing zeros so that different scales often meet
         * at equal or adjacent values. */
        int64_t v = (int64_t)(rng() % 100000000);
        for (int z = (int)(rng() % 8); z > 0; z--) v *= 10;
        return rng() % 2 ? -v : v;
    }
    }
}

static rf_decimal random_decimal(void)
{
    return (rf_decimal){random_mantissa(), (uint8_t)(rng() % (RF_DECIMAL_MAX_SCALE + 1))};
}

static void test_cmp(void)
{
    long pairs = 0, equal = 0;
    for (int k = 0; k < 400000; k++) {
        rf_decimal a = random_decimal(), b;
        switch (rng() % 3) {
        case 0: b = random_decimal(); break;
        case 1:
            /* The same value at another scale, nudged by -1, 0 or +1 ulp. */
            if (rf_decimal_rescale(a, (unsigned)(rng() % (RF_DECIMAL_MAX_SCALE + 1)), &b)) b = a;
            if (b.mantissa > INT64_MIN && b.mantissa < INT64_MAX) b.mantissa += (int64_t)(rng() % 3) - 1;
            break;
        default: b = (rf_decimal){a.mantissa + (a.mantissa < INT64_MAX), (uint8_t)(rng() % 19)}; break;
        }
        int want = ref_cmp(a, b), got = rf_decimal_cmp(a, b);
        CHECK_EQ(got, want);
        CHECK_EQ(rf_decimal_cmp(b, a), -want);
        CHECK_EQ(rf_decimal_cmp(a, a), 0);
        if (got != want)
            fprintf(stderr, "  %lld/%u vs %lld/%u\n", (long long)a.mantissa, a.scale, (long long)b.mantissa,
                    b.scale);
        pairs++;
        equal += want == 0;
        if (rf_test_failures > 50) return;
    }
    printf("cmp: %ld random pairs (%ld equal across scales) agree with the string reference\n", pairs, equal);

    /* Extremes across the widest scale gap. */
    rf_decimal max0 = {INT64_MAX, 0}, min0 = {INT64_MIN, 0}, max18 = {INT64_MAX, 18}, min18 = {INT64_MIN, 18};
    CHECK_EQ(rf_decimal_cmp(max0, max18), 1);
    CHECK_EQ(rf_decimal_cmp(min0, min18), -1);
    CHECK_EQ(rf_decimal_cmp(min18, max0), -1);
    CHECK_EQ(rf_decimal_cmp(max18, min0), 1);
    CHECK_EQ(rf_decimal_cmp((rf_decimal){9, 0}, max18), -1); /* 9 < 9.223... */
    CHECK_EQ(rf_decimal_cmp((rf_decimal){10, 0}, max18), 1);
    CHECK_EQ(rf_decimal_cmp((rf_decimal){-9, 0}, min18), 1);
    CHECK_EQ(rf_decimal_cmp((rf_decimal){-10, 0}, min18), -1);
    CHECK_EQ(rf_decimal_cmp((rf_decimal){0, 0}, (rf_decimal){0, 18}), 0);
    CHECK_EQ(rf_decimal_cmp((rf_decimal){1, 0}, (rf_decimal){1000000000000000000, 18}), 0);
    CHECK_EQ(rf_decimal_cmp((rf_decimal){-1, 0}, (rf_decimal){-1000000000000000000, 18}), 0);
    CHECK_EQ(rf_decimal_cmp((rf_decimal){-1, 0}, (rf_decimal){-999999999999999999, 18}), -1);
    /* Outside the valid range of scales: still exact, no out-of-range read. */
    CHECK_EQ(rf_decimal_cmp((rf_decimal){1, 200}, (rf_decimal){0, 0}), 1);
    CHECK_EQ(rf_decimal_cmp((rf_decimal){0, 200}, (rf_decimal){-1, 0}), 1);
    CHECK_EQ(rf_decimal_cmp((rf_decimal){-1, 0}, (rf_decimal){INT64_MIN, 19}), -1);
    CHECK_EQ(rf_decimal_cmp((rf_decimal){INT64_MIN, 19}, (rf_decimal){INT64_MIN, 38}), -1);
}

static void expect_rescale(rf_decimal d, unsigned scale, int want, int64_t m)
{
    rf_decimal out = {77, 7};
    int r = rf_decimal_rescale(d, scale, &out);
    CHECK_EQ(r, want);
    if (want == 0) {
        CHECK_EQ(out.mantissa, m);
        CHECK_EQ(out.scale, scale);
    } else {
        CHECK(out.mantissa == 77 && out.scale == 7);
    }
    if (r != want) fprintf(stderr, "  %lld/%u -> scale %u\n", (long long)d.mantissa, d.scale, scale);
}

static void test_rescale(void)
{
    expect_rescale((rf_decimal){12345, 2}, 4, 0, 1234500);
    expect_rescale((rf_decimal){12345, 2}, 2, 0, 12345);
    expect_rescale((rf_decimal){12345, 2}, 1, RF_EDECIMAL, 0);
    expect_rescale((rf_decimal){12300, 2}, 0, 0, 123);
    expect_rescale((rf_decimal){-12300, 2}, 0, 0, -123);
    expect_rescale((rf_decimal){-12301, 2}, 0, RF_EDECIMAL, 0);
    expect_rescale((rf_decimal){35130000, 8}, 4, 0, 3513);
    expect_rescale((rf_decimal){35130000, 8}, 3, RF_EDECIMAL, 0);
    expect_rescale((rf_decimal){1, 0}, 18, 0, 1000000000000000000);
    expect_rescale((rf_decimal){9, 0}, 18, 0, 9000000000000000000);
    expect_rescale((rf_decimal){10, 0}, 18, RF_EOVERFLOW, 0);
    expect_rescale((rf_decimal){-9, 0}, 18, 0, -9000000000000000000);
    expect_rescale((rf_decimal){-10, 0}, 18, RF_EOVERFLOW, 0);
    expect_rescale((rf_decimal){INT64_MAX, 0}, 1, RF_EOVERFLOW, 0);
    expect_rescale((rf_decimal){INT64_MIN, 0}, 1, RF_EOVERFLOW, 0);
    expect_rescale((rf_decimal){922337203685477580, 0}, 1, 0, 9223372036854775800);
    expect_rescale((rf_decimal){-922337203685477580, 0}, 1, 0, -9223372036854775800);
    expect_rescale((rf_decimal){922337203685477581, 0}, 1, RF_EOVERFLOW, 0);
    expect_rescale((rf_decimal){INT64_MIN, 18}, 0, RF_EDECIMAL, 0);
    expect_rescale((rf_decimal){-9000000000000000000, 18}, 0, 0, -9);
    expect_rescale((rf_decimal){0, 18}, 0, 0, 0);
    expect_rescale((rf_decimal){0, 0}, 18, 0, 0);
    expect_rescale((rf_decimal){1, 0}, 19, RF_EOVERFLOW, 0);
    expect_rescale((rf_decimal){0, 0}, 19, RF_EOVERFLOW, 0);
    expect_rescale((rf_decimal){0, 200}, 3, 0, 0);
    expect_rescale((rf_decimal){5, 200}, 3, RF_EDECIMAL, 0);

    /* Random: exact against a 128-bit reference, and a way up then down
     * returns the original. */
    long ups = 0, downs = 0;
    for (int k = 0; k < 200000; k++) {
        rf_decimal d = random_decimal(), out;
        unsigned to = (unsigned)(rng() % (RF_DECIMAL_MAX_SCALE + 1));
        int r = rf_decimal_rescale(d, to, &out);
        __int128 p = 1;
        if (to >= d.scale) {
            for (unsigned i = d.scale; i < to; i++) p *= 10;
            __int128 v = (__int128)d.mantissa * p;
            int fits = v >= INT64_MIN && v <= INT64_MAX;
            CHECK_EQ(r, fits ? 0 : RF_EOVERFLOW);
            if (fits && r == 0) {
                CHECK(out.mantissa == (int64_t)v && out.scale == to);
                rf_decimal back;
                CHECK_EQ(rf_decimal_rescale(out, d.scale, &back), 0);
                CHECK(back.mantissa == d.mantissa && back.scale == d.scale);
                CHECK_EQ(rf_decimal_cmp(out, d), 0);
                ups++;
            }
        } else {
            for (unsigned i = to; i < d.scale; i++) p *= 10;
            int exact = d.mantissa % (int64_t)p == 0;
            CHECK_EQ(r, exact ? 0 : RF_EDECIMAL);
            if (exact && r == 0) {
                CHECK(out.mantissa == d.mantissa / (int64_t)p && out.scale == to);
                CHECK_EQ(rf_decimal_cmp(out, d), 0);
                downs++;
            }
        }
        if (rf_test_failures > 50) return;
    }
    printf("rescale: %ld exact increases, %ld exact decreases checked\n", ups, downs);
}

static void test_to_double(void)
{
    CHECK(rf_decimal_to_double((rf_decimal){35130000, 8}) == 0.3513);
    CHECK(rf_decimal_to_double((rf_decimal){-5, 1}) == -0.5);
    CHECK(rf_decimal_to_double((rf_decimal){0, 18}) == 0.0);
    CHECK(rf_decimal_to_double((rf_decimal){INT64_MIN, 0}) == -9223372036854775808.0);
    long worst = 0;
    for (int k = 0; k < 200000; k++) {
        rf_decimal d = random_decimal();
        char buf[RF_DECIMAL_MAX_TEXT];
        CHECK(rf_decimal_format(d, buf, sizeof buf) > 0);
        double want = strtod(buf, NULL), got = rf_decimal_to_double(d);
        /* Distance in ulps via the ordered integer view of the doubles. */
        int64_t iw, ig;
        memcpy(&iw, &want, 8);
        memcpy(&ig, &got, 8);
        if (iw < 0) iw = INT64_MIN - iw;
        if (ig < 0) ig = INT64_MIN - ig;
        long ulps = (long)(iw > ig ? iw - ig : ig - iw);
        if (ulps > worst) worst = ulps;
        CHECK(ulps <= 1);
        if (rf_test_failures > 50) return;
    }
    printf("to_double: 200000 random values, worst %ld ulp from strtod\n", worst);
}

int main(void)
{
    static const char *files[] = {
        "../shared/data/binance/BINANCE.ws.1.0",
        "../shared/data/binance/BINANCE_FUTURES.ws.1.0",
        "../shared/data/binance/BINANCE.http.0.0",
        "../shared/data/binance/BINANCE_FUTURES.http.0.0",
    };
    long total = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        long n = round_trip_file(files[i]);
        if (n >= 0) {
            printf("round trip: %ld decimal strings from %s byte-identical\n", n, files[i]);
            total += n;
        }
    }
    printf("round trip: %ld recorded decimal strings in all\n", total);
    CHECK_BAIL();
    test_hand_cases();
    CHECK_BAIL();
    test_every_scale();
    CHECK_BAIL();
    test_parse_differential();
    CHECK_BAIL();
    test_cmp();
    CHECK_BAIL();
    test_rescale();
    CHECK_BAIL();
    test_to_double();
    TEST_DONE("test_decimal");
}
