/* HTTP/1.1 client messages without I/O: a GET request writer and an
 * incremental response parser (status line, headers, Content-Length,
 * chunked and close-delimited bodies, gzip content coding), with limits.
 * It is what fetches REST snapshots (depth, exchangeInfo).
 *
 * The parser takes bytes in any split and collects the decoded body into a
 * buffer it owns (bounded by max_body), because a snapshot is consumed whole.
 * It can be reset and reused for the next response on a kept-alive
 * connection. */
#ifndef RINGFEED_HTTP_H
#define RINGFEED_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ringfeed/url.h"
#include "ringfeed/ws_handshake.h" /* rf_str */

#ifdef __cplusplus
extern "C" {
#endif

/* Writes "GET <path> HTTP/1.1" with Host, User-Agent, Accept-Encoding: gzip
 * and Connection: keep-alive, then extra_headers (raw "Name: value\r\n"
 * lines, or NULL) and the blank line. Returns the length or RF_ENOSPC /
 * RF_EINVAL (CR/LF in the URL or a malformed extra header). */
int rf_http_get_write(char *buf, size_t cap, const rf_url *url, const char *extra_headers);

typedef struct rf_http_response rf_http_response;

typedef struct rf_http_response_config {
    size_t max_header; /* header block limit; 0 = 64 KiB */
    size_t max_body;   /* decoded body limit; 0 = 64 MiB */
    int head_request;  /* the request was HEAD: no body follows */
} rf_http_response_config;

/* cfg may be NULL. Returns 0, RF_EINVAL or RF_ENOMEM. */
int rf_http_response_create(rf_http_response **out, const rf_http_response_config *cfg);
void rf_http_response_destroy(rf_http_response *r);
/* Forgets the last response, keeps the buffers (for the next one). */
void rf_http_response_reset(rf_http_response *r);

/* Consumes bytes. Returns how many were used (>= 0); *done becomes 1 when the
 * response is complete (bytes after it are the next response's). 1xx interim
 * responses are skipped. Negative RF_EHTTP_* (or RF_ENOMEM) on error; the
 * parser must then be reset before reuse. */
int rf_http_response_feed(rf_http_response *r, const uint8_t *data, size_t len, int *done);

/* The connection ended: completes a close-delimited body (returns 0, *done
 * semantics), else RF_EHTTP_TRUNCATED (or 0 if already complete). */
int rf_http_response_eof(rf_http_response *r);

/* After the header block has been parsed (status > 0): */
int rf_http_response_status(const rf_http_response *r);      /* 0 until known */
rf_str rf_http_response_reason(const rf_http_response *r);
/* First header with this name (case-insensitive): 1 and *value set, or 0. */
int rf_http_response_header(const rf_http_response *r, const char *name, rf_str *value);
size_t rf_http_response_header_count(const rf_http_response *r);
int rf_http_response_header_at(const rf_http_response *r, size_t i, rf_str *name, rf_str *value);
/* Whether the connection can carry another request after this response. */
int rf_http_response_keep_alive(const rf_http_response *r);

/* The decoded body (gunzipped if the server sent gzip); valid until the
 * next feed, reset or destroy. */
const uint8_t *rf_http_response_body(const rf_http_response *r, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
