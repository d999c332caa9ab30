/* libFuzzer harness for decimal strings. The whole input is parsed and
 * checked against a plain reference parser; a value that parses must format
 * and re-parse to itself (and to the same text when the input was
 * canonical). The input split at its first ',' gives two values whose
 * comparison must be antisymmetric and agree with rescaling. */
#include <string.h>

#include "../Tests/c/decimal_reference.h"
#include "fuzz_common.h"
#include "ringfeed/decimal.h"
#include "ringfeed/error.h"

/* Leading zeros ("007.5") or a negative zero ("-0.00") do not survive
 * formatting; everything else must come back byte-identical. */
static int canonical(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '-';
    if (n - i >= 2 && s[i] == '0' && s[i + 1] != '.') return 0;
    if (!i) return 1;
    for (size_t j = i; j < n; j++)
        if (s[j] != '0' && s[j] != '.') return 1;
    return 0;
}

/* Parses a copy of exactly n bytes, so ASan sees any read past the end. */
static int parse_checked(const uint8_t *data, size_t n, rf_decimal *out)
{
    char *s = malloc(n ? n : 1);
    if (n) memcpy(s, data, n);
    rf_decimal d = {0, 0}, ref = {0, 0};
    int r = rf_decimal_parse(s, n, &d);
    REQUIRE(r == ref_parse(s, n, &ref));
    if (r == 0) {
        REQUIRE(d.mantissa == ref.mantissa && d.scale == ref.scale);
        char buf[RF_DECIMAL_MAX_TEXT];
        int len = rf_decimal_format(d, buf, sizeof buf);
        REQUIRE(len > 0 && len < RF_DECIMAL_MAX_TEXT && buf[len] == '\0');
        rf_decimal again;
        REQUIRE(rf_decimal_parse(buf, (size_t)len, &again) == 0);
        REQUIRE(again.mantissa == d.mantissa && again.scale == d.scale);
        if (canonical(s, n)) REQUIRE((size_t)len == n && memcmp(buf, s, n) == 0);
        /* One byte short never fits and never writes past cap. */
        char small[RF_DECIMAL_MAX_TEXT];
        REQUIRE(rf_decimal_format(d, small, (size_t)len - 1) == RF_ENOSPC);
        *out = d;
    }
    free(s);
    return r;
}

static int sign_of(long long x)
{
    return (x > 0) - (x < 0);
}

/* Doubles as integers in the same order, adjacent doubles one apart. */
static int64_t ordered(double x)
{
    int64_t i;
    memcpy(&i, &x, sizeof i);
    return i < 0 ? INT64_MIN - i : i;
}

static void check_pair(rf_decimal a, rf_decimal b)
{
    int c = rf_decimal_cmp(a, b);
    REQUIRE(c >= -1 && c <= 1);
    REQUIRE(rf_decimal_cmp(b, a) == -c);
    REQUIRE(rf_decimal_cmp(a, a) == 0 && rf_decimal_cmp(b, b) == 0);
    /* At a common scale the mantissas must order the same way. */
    unsigned hi = a.scale > b.scale ? a.scale : b.scale;
    rf_decimal ra, rb;
    if (rf_decimal_rescale(a, hi, &ra) == 0 && rf_decimal_rescale(b, hi, &rb) == 0)
        REQUIRE(c == sign_of((ra.mantissa > rb.mantissa) - (ra.mantissa < rb.mantissa)));
    /* Every exact rescaling is the same value. */
    for (unsigned s = 0; s <= RF_DECIMAL_MAX_SCALE; s++) {
        if (rf_decimal_rescale(a, s, &ra) == 0) {
            REQUIRE(ra.scale == s && rf_decimal_cmp(ra, a) == 0 && rf_decimal_cmp(ra, b) == c);
            rf_decimal back;
            REQUIRE(rf_decimal_rescale(ra, a.scale, &back) == 0 && back.mantissa == a.mantissa);
        }
    }
    /* The conversion is within an ulp, not correctly rounded, so doubles
     * of close values may tie or cross by one ulp, never more. */
    int64_t da = ordered(rf_decimal_to_double(a)), db = ordered(rf_decimal_to_double(b));
    if (c < 0) REQUIRE(da <= db + 1);
    if (c > 0) REQUIRE(da + 1 >= db);
    if (c == 0) REQUIRE(da - db <= 1 && db - da <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rf_decimal whole;
    parse_checked(data, size, &whole);

    const uint8_t *comma = memchr(data, ',', size);
    if (!comma) return 0;
    size_t na = (size_t)(comma - data);
    rf_decimal a, b;
    if (parse_checked(data, na, &a) == 0 && parse_checked(comma + 1, size - na - 1, &b) == 0) check_pair(a, b);
    return 0;
}
