/* The RFC 6455 opening handshake, both roles, without I/O.
 *
 * Parsers take the bytes received so far and return RF_EAGAIN until the
 * blank line ending the header block has arrived; then the number of bytes
 * the header block used (anything after it is already WebSocket data).
 * Views (rf_str) point into the caller's buffer. */
#ifndef RINGFEED_WS_HANDSHAKE_H
#define RINGFEED_WS_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_str {
    const char *ptr;
    size_t len;
} rf_str;

#define RF_WS_KEY_LEN 24    /* base64 of 16 random bytes */
#define RF_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */
#define RF_WS_HANDSHAKE_MAX 16384 /* largest header block either parser accepts */

/* A fresh Sec-WebSocket-Key from the kernel's CSPRNG, NUL-terminated.
 * Returns 0 or RF_ESYS. */
int rf_ws_make_key(char key[RF_WS_KEY_LEN + 1]);

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), NUL-terminated. */
void rf_ws_accept_for_key(const char *key, size_t key_len, char accept[RF_WS_ACCEPT_LEN + 1]);

/* ---- client role ---- */

typedef struct rf_ws_client_request {
    const char *host;          /* Host header value, with ":port" when not default */
    const char *path;          /* request target; NULL means "/" */
    const char *key;           /* from rf_ws_make_key */
    const char *protocols;     /* Sec-WebSocket-Protocol offer, NULL for none */
    const char *extensions;    /* Sec-WebSocket-Extensions offer, NULL for none */
    const char *extra_headers; /* raw "Name: value\r\n" lines, NULL for none */
} rf_ws_client_request;

/* Writes the GET request into buf. Returns its length or RF_ENOSPC / RF_EINVAL. */
int rf_ws_client_request_write(char *buf, size_t cap, const rf_ws_client_request *req);

typedef struct rf_ws_client_response {
    int status;         /* HTTP status code (set even when it is not 101) */
    rf_str protocol;    /* Sec-WebSocket-Protocol chosen by the server, or empty */
    rf_str extensions;  /* Sec-WebSocket-Extensions accepted, or empty */
    rf_str reason;      /* the status line's reason phrase */
} rf_ws_client_response;

/* Parses the server's response to a request that sent `key` and offered
 * `protocols` / `extensions` (comma-separated lists, NULL for none).
 * Returns the header block length, RF_EAGAIN, or RF_EHS_* (RF_EHS_STATUS when
 * the status is not 101; out->status says which). Refuses a protocol or
 * extension the client did not offer. */
int rf_ws_client_response_parse(const uint8_t *buf, size_t len, const char *key,
                                const char *protocols, const char *extensions,
                                rf_ws_client_response *out);

/* ---- server role ---- */

typedef struct rf_ws_server_request {
    rf_str path;        /* request target */
    rf_str host;
    rf_str key;         /* Sec-WebSocket-Key (validated: base64 of 16 bytes) */
    rf_str protocols;   /* Sec-WebSocket-Protocol offered, or empty */
    rf_str extensions;  /* Sec-WebSocket-Extensions offered, or empty */
    rf_str origin;
} rf_ws_server_request;

/* Parses a client's upgrade request. Returns the header block length,
 * RF_EAGAIN, or RF_EHS_* (METHOD, VERSION, KEY, UPGRADE, CONNECTION,
 * MALFORMED, TOOBIG). */
int rf_ws_server_request_parse(const uint8_t *buf, size_t len, rf_ws_server_request *out);

/* Writes "101 Switching Protocols" with the accept value for key; protocol
 * is the chosen subprotocol or NULL. Returns length or RF_ENOSPC. */
int rf_ws_server_response_write(char *buf, size_t cap, const rf_str *key, const char *protocol);

/* Writes an HTTP error response for a failed upgrade (400 for most errors,
 * 426 with "Sec-WebSocket-Version: 13" for RF_EHS_VERSION) that closes the
 * connection. `error` is the parse result. Returns length or RF_ENOSPC. */
int rf_ws_server_reject_write(char *buf, size_t cap, int error);

#ifdef __cplusplus
}
#endif
#endif
