/* libFuzzer harness for the UTF-8 validator, differential: one-shot, every
 * SIMD level split at three points chosen by byte 0, byte-by-byte (for the
 * fail-fast position) and a plain decoder written out below must agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "fuzz_common.h"
#include "ringfeed/error.h"
#include "ringfeed/utf8.h"

/* Index of the first byte no valid text could have there, or -1; sets
 * *truncated when the input ends inside a character. Table 3-7 of the
 * Unicode standard: only the second byte of a sequence has a narrowed range. */
static long ref_first_bad(const uint8_t *p, size_t n, int *truncated)
{
    *truncated = 0;
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) need = 1;
        else if (b == 0xE0) need = 2, lo = 0xA0;
        else if (b == 0xED) need = 2, hi = 0x9F;
        else if (b >= 0xE1 && b <= 0xEF) need = 2;
        else if (b == 0xF0) need = 3, lo = 0x90;
        else if (b >= 0xF1 && b <= 0xF3) need = 3;
        else if (b == 0xF4) need = 3, hi = 0x8F;
        else return (long)i;
        for (size_t j = 1; j <= need; j++) {
            if (i + j >= n) {
                *truncated = 1;
                return -1;
            }
            uint8_t c = p[i + j];
            if (j == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return (long)(i + j);
        }
        i += need + 1;
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned sel = data[0];
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1); /* exact size: ASan catches over-reads */
    memcpy(p, data + 1, n);

    int truncated;
    long bad = ref_first_bad(p, n, &truncated);
    int want = (bad < 0 && !truncated) ? 0 : RF_EUTF8;
    REQUIRE(rf_utf8_validate(p, n) == want);

    size_t cuts[3] = {n ? (sel * 7u) % (n + 1) : 0, n ? (sel * 13u + 5) % (n + 1) : 0,
                      n ? (sel * 31u + 11) % (n + 1) : 0};
    if (cuts[0] > cuts[1]) { size_t t = cuts[0]; cuts[0] = cuts[1]; cuts[1] = t; }
    if (cuts[1] > cuts[2]) { size_t t = cuts[1]; cuts[1] = cuts[2]; cuts[2] = t; }
    if (cuts[0] > cuts[1]) { size_t t = cuts[0]; cuts[0] = cuts[1]; cuts[1] = t; }
    for (int level = RF__SIMD_SCALAR; level <= RF__SIMD_AVX2; level++) {
        if (!rf__cpu_simd_available(level)) continue;
        rf_utf8 v;
        rf_utf8_init(&v);
        int r = rf__utf8_feed_with(level, &v, p, n);
        REQUIRE(r == (bad >= 0 ? RF_EUTF8 : 0));
        REQUIRE(rf_utf8_finish(&v) == want);

        rf_utf8_init(&v);
        size_t from = 0;
        for (int k = 0; k <= 3; k++) {
            size_t to = k < 3 ? cuts[k] : n;
            r = rf__utf8_feed_with(level, &v, p + from, to - from);
            /* fails exactly once the bad byte has been fed */
            REQUIRE((r != 0) == (bad >= 0 && (size_t)bad < to));
            from = to;
        }
        REQUIRE(rf_utf8_finish(&v) == want);
    }

    /* byte by byte through the public entry point */
    rf_utf8 v;
    rf_utf8_init(&v);
    for (size_t i = 0; i < n; i++) {
        int r = rf_utf8_feed(&v, p + i, 1);
        REQUIRE((r != 0) == (bad >= 0 && (size_t)bad <= i));
    }
    REQUIRE(rf_utf8_finish(&v) == want);
    free(p);
    return 0;
}
