/* SHA-1, only because RFC 6455 derives Sec-WebSocket-Accept from it: the
 * handshake must not drag in libcrypto for twenty bytes of digest. Not for
 * anything that needs collision resistance. */
#ifndef RF_SHA1_H
#define RF_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define RF__SHA1_LEN 20

typedef struct rf__sha1_ctx {
    uint32_t h[5];
    uint64_t total;     /* bytes hashed so far; the padding encodes it */
    size_t fill;        /* bytes waiting in block */
    uint8_t block[64];
} rf__sha1_ctx;

void rf__sha1_init(rf__sha1_ctx *s);
void rf__sha1_update(rf__sha1_ctx *s, const void *data, size_t n);
/* Leaves s unusable until the next rf__sha1_init. */
void rf__sha1_final(rf__sha1_ctx *s, uint8_t digest[RF__SHA1_LEN]);
void rf__sha1(const void *data, size_t n, uint8_t digest[RF__SHA1_LEN]);

#endif
