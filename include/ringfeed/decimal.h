/* Exact decimal numbers as exchanges write them ("0.35130000"), held as an
 * int64 mantissa and a scale taken from the text, so the value prints back
 * byte-identical and never passes through binary floating point. */
#ifndef RINGFEED_DECIMAL_H
#define RINGFEED_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RF_DECIMAL_MAX_SCALE 18
#define RF_DECIMAL_MAX_TEXT 22 /* sign, 19 digits, point, NUL */

/* value = mantissa / 10^scale; scale = digits after the point as written. */
typedef struct rf_decimal {
    int64_t mantissa;
    uint8_t scale;
} rf_decimal;

/* Parses [-]digits[.digits] (at least one digit before the point, none or
 * more after; no exponent, no '+', no spaces). Returns 0, RF_EDECIMAL for
 * anything else, or RF_EOVERFLOW when the digits do not fit an int64 or the
 * scale exceeds RF_DECIMAL_MAX_SCALE. */
int rf_decimal_parse(const char *s, size_t n, rf_decimal *out);

/* Writes the canonical text: the integer part without leading zeros (a
 * single "0" if it is zero), and exactly `scale` fractional digits; "-" for
 * negative values. Byte-identical to any input without superfluous leading
 * zeros or a minus sign on zero (every exchange string). Returns the length
 * (without NUL), RF_ENOSPC, or RF_EINVAL for a scale over
 * RF_DECIMAL_MAX_SCALE; writes a NUL when there is room. */
int rf_decimal_format(rf_decimal d, char *buf, size_t cap);

/* Compares values regardless of scale: -1, 0 or 1 (exact, no overflow). */
int rf_decimal_cmp(rf_decimal a, rf_decimal b);

/* The value at another scale: exact when increasing the scale (RF_EOVERFLOW
 * if it does not fit); when decreasing, RF_EDECIMAL if digits would be lost. */
int rf_decimal_rescale(rf_decimal d, unsigned scale, rf_decimal *out);

/* Nearest double, for display and analytics edges only. */
double rf_decimal_to_double(rf_decimal d);

#ifdef __cplusplus
}
#endif
#endif
