/* Base64 (RFC 4648, standard alphabet, padded) for the handshake's key and
 * accept values. Decoding is strict on purpose: it is how a server tells a
 * real Sec-WebSocket-Key from junk, so anything a canonical encoder would
 * not have produced is refused. */
#ifndef RF_BASE64_H
#define RF_BASE64_H

#include <stddef.h>
#include <stdint.h>

#define RF__BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes exactly RF__BASE64_LEN(n) characters, no NUL; returns that count. */
size_t rf__base64_encode(const uint8_t *in, size_t n, char *out);

/* Returns the decoded length, RF_EINVAL for anything but canonical padded
 * base64 (no whitespace, no URL alphabet, zero trailing bits), or
 * RF_ENOSPC when it would not fit in cap (out is then left untouched). */
int rf__base64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
