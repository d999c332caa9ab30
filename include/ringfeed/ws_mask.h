/* WebSocket masking (RFC 6455 5.3): XOR with a 4-byte key, rotated by the
 * offset of the first byte within the frame payload. One routine serves
 * masking (client send) and unmasking (server receive).
 *
 * The implementation is chosen once at run time (AVX-512, AVX2, SSE2, then
 * scalar), never by build flags, so the library runs on any x86-64. */
#ifndef RINGFEED_WS_MASK_H
#define RINGFEED_WS_MASK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* In place: data[i] ^= key[(offset + i) % 4]. */
void rf_ws_mask(uint8_t *data, size_t len, const uint8_t key[4], uint64_t offset);

/* Copying: dst[i] = src[i] ^ key[(offset + i) % 4]. dst and src may be equal
 * but must not otherwise overlap. Used to mask straight into a send buffer. */
void rf_ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                     uint64_t offset);

/* The variants, for tests and benchmarks. rf_ws_mask_variant_available()
 * says whether this CPU can run one; the _with functions run an unavailable
 * (or unknown) variant as scalar rather than fault. */
enum rf_ws_mask_variant {
    RF_WS_MASK_SCALAR = 0,
    RF_WS_MASK_SSE2 = 1,
    RF_WS_MASK_AVX2 = 2,
    RF_WS_MASK_AVX512 = 3, /* AVX-512F: 64-byte vectors */
};
int rf_ws_mask_variant_available(int variant);
void rf_ws_mask_with(int variant, uint8_t *data, size_t len, const uint8_t key[4], uint64_t offset);
void rf_ws_mask_copy_with(int variant, uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[4], uint64_t offset);
/* "avx512", "avx2", "sse2" or "scalar": what rf_ws_mask uses on this CPU. */
const char *rf_ws_mask_impl(void);

#ifdef __cplusplus
}
#endif
#endif
