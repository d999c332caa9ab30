/* The fast path's depth levels: [["price","qty"],...] straight into the
 * caller's array. A depth message is mostly levels, so this is the hottest
 * loop of the scanner.
 *
 * Like the rest of the fast path it only ever accepts: a level that is not
 * ["digits(.digits)?","digits(.digits)?"] with texts of 1 to 16 bytes goes
 * through the per-number readers, and anything they refuse makes the whole
 * message take the general path, which decides results and errors.
 * This file holds the portable loop and the per-number reading of one level
 * that every loop falls back on; binance_numbers_avx2.h the AVX2 loop. */
#include "binance_internal.h"
#include "binance_numbers.h"
#include "binance_numbers_avx2.h" /* RF__BN_NEXT_OR_END */

const uint8_t *rf__bn_level_slow(const uint8_t *base, const uint8_t *p, const uint8_t *end, rf_bn_level *lv)
{
    if (end - p < 8 || p[0] != '[' || p[1] != '"') return NULL;
    p = dec_any(p + 2, end, base, &lv->price);
    if (!p || end - p < 5 || p[0] != ',' || p[1] != '"') return NULL;
    p = dec_any(p + 2, end, base, &lv->quantity);
    if (!p || end - p < 2 || p[0] != ']') return NULL;
    return p + 1;
}

const uint8_t *rf__bn_levels_portable(const uint8_t *base, const uint8_t *p, const uint8_t *end, rf_bn_level *lv,
                                      rf_bn_level *lv_end, size_t *count)
{
    rf_bn_level *first = lv;
    p++;
    if (p < end && *p == ']') return *count = 0, p + 1;
    for (;;) {
        if (lv == lv_end) return NULL;
        p = rf__bn_level_slow(base, p, end, lv);
        if (!p) return NULL;
        lv++;
        RF__BN_NEXT_OR_END(p, end, lv, first, count);
    }
}

