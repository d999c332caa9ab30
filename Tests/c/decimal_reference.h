/* An independent reference for rf_decimal_parse, shared by the unit test and
 * the fuzz harness: the grammar ^-?[0-9]+(\.[0-9]+)?$ written out plainly,
 * the value accumulated in 128 bits and clamped. */
#ifndef RF_TEST_DECIMAL_REFERENCE_H
#define RF_TEST_DECIMAL_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "ringfeed/decimal.h"
#include "ringfeed/error.h"

static inline int ref_is_digit(char c) { return c >= '0' && c <= '9'; }

static inline int ref_parse(const char *s, size_t n, rf_decimal *out)
{
    size_t i = 0, scale = 0;
    int neg = n > 0 && s[0] == '-';
    i += (size_t)neg;
    size_t a = i;
    while (i < n && ref_is_digit(s[i])) i++;
    if (i == a) return RF_EDECIMAL;
    if (i < n) {
        if (s[i] != '.') return RF_EDECIMAL;
        size_t b = ++i;
        while (i < n && ref_is_digit(s[i])) i++;
        if (i == b || i != n) return RF_EDECIMAL;
        scale = i - b;
    }
    if (scale > RF_DECIMAL_MAX_SCALE) return RF_EOVERFLOW;
    __int128 v = 0, limit = (__int128)INT64_MAX + neg;
    for (size_t j = (size_t)neg; j < n; j++) {
        if (s[j] == '.') continue;
        v = v * 10 + (s[j] - '0');
        if (v > limit) return RF_EOVERFLOW;
    }
    out->mantissa = (int64_t)(neg ? -v : v);
    out->scale = (uint8_t)scale;
    return 0;
}

#endif
