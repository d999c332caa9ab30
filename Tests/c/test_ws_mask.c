/* Every masking variant this CPU runs, against a byte-at-a-time reference,
 * for every length 0..4096 at every alignment 0..63, in place and copying. */
#include <string.h>

#include "check.h"
#include "ringfeed/ws_mask.h"

#define MAXLEN 4096
#define ALIGNS 64

static void reference(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t off)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[i] ^ key[(off + i) % 4];
}

/* Guard bytes around every buffer catch writes past either end. */
#define GUARD 64

int main(void)
{
    static uint8_t src_mem[MAXLEN + ALIGNS + 2 * GUARD], dst_mem[MAXLEN + ALIGNS + 2 * GUARD];
    static uint8_t input[MAXLEN], want[MAXLEN];
    const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    const uint64_t offsets[] = {0, 1, 2, 3, 0xfffffffffffffffeull};
    uint32_t x = 12345;
    for (size_t i = 0; i < MAXLEN; i++) {
        x = x * 1103515245u + 12345u;
        input[i] = (uint8_t)(x >> 16);
    }

    const char *impl = rf_ws_mask_impl();
    CHECK(!strcmp(impl, "avx512") || !strcmp(impl, "avx2") || !strcmp(impl, "sse2") || !strcmp(impl, "scalar"));
    CHECK(rf_ws_mask_variant_available(RF_WS_MASK_SCALAR));
    CHECK(!rf_ws_mask_variant_available(7));

    /* variant -1 stands for the dispatched entry points */
    for (int v = -1; v <= RF_WS_MASK_AVX512; v++) {
        if (v >= 0 && !rf_ws_mask_variant_available(v)) {
            printf("  mask variant %d not available on this CPU, skipped\n", v);
            continue;
        }
        for (size_t oi = 0; oi < sizeof offsets / sizeof offsets[0]; oi++) {
            uint64_t off = offsets[oi];
            for (size_t align = 0; align < ALIGNS; align++) {
                uint8_t *buf = src_mem + GUARD + align;
                uint8_t *dst = dst_mem + GUARD + (align * 7 + 3) % ALIGNS;
                for (size_t len = 0; len <= MAXLEN; len++) {
                    reference(want, input, len, key, off);
                    buf[-1] = buf[len] = 0xAA;
                    memcpy(buf, input, len);
                    if (v < 0) rf_ws_mask(buf, len, key, off);
                    else rf_ws_mask_with(v, buf, len, key, off);
                    CHECK(memcmp(buf, want, len) == 0);
                    CHECK(src_mem[GUARD + align - 1] == 0xAA && buf[len] == 0xAA);

                    /* copy, with the destination at another alignment */
                    dst[-1] = dst[len] = 0x55;
                    memcpy(buf, input, len);
                    if (v < 0) rf_ws_mask_copy(dst, buf, len, key, off);
                    else rf_ws_mask_copy_with(v, dst, buf, len, key, off);
                    CHECK(memcmp(dst, want, len) == 0);
                    CHECK(memcmp(buf, input, len) == 0);
                    CHECK(dst[-1] == 0x55 && dst[len] == 0x55);
                    CHECK_BAIL();
                }
            }
        }
    }

    /* Masking twice restores the data: the property the protocol relies on. */
    uint8_t buf[1000];
    memcpy(buf, input, sizeof buf);
    rf_ws_mask(buf, 333, key, 5);
    rf_ws_mask(buf + 333, sizeof buf - 333, key, 5 + 333);
    rf_ws_mask(buf, sizeof buf, key, 5);
    CHECK(memcmp(buf, input, sizeof buf) == 0);

    printf("  dispatched mask: %s\n", impl);
    TEST_DONE("ws_mask");
}
