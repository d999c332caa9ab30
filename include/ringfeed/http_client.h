/* HTTP/1.1 GET over plain TCP or TLS on an rf_loop: what fetches REST
 * snapshots (depth, exchangeInfo). One request per call, on its own
 * connection, with a deadline; the response is parsed by rf_http_response
 * (Content-Length, chunked, close-delimited, gzip), its body bounded. */
#ifndef RINGFEED_HTTP_CLIENT_H
#define RINGFEED_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "ringfeed/http.h"
#include "ringfeed/loop.h"
#include "ringfeed/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_http_get_config {
    rf_tls_ctx *tls;           /* https: the client context; NULL = a private default (system CAs) */
    size_t max_body;           /* decoded body limit; 0 = 64 MiB */
    uint64_t timeout_ns;       /* connect + request + whole response; 0 = 10 s */
    const char *extra_headers; /* raw "Name: value\r\n" lines, or NULL */
} rf_http_get_config;

typedef struct rf_http_request rf_http_request;

/* Called exactly once, on the loop thread. error 0: the response is complete
 * (any status: the caller judges it) and resp is valid until the callback
 * returns. Otherwise resp is NULL and error says why (RF_ECONNREFUSED,
 * RF_ETLS_*, RF_EHTTP_*, RF_ETIMEDOUT ...). */
typedef void (*rf_http_done_fn)(void *ctx, int error, const rf_http_response *resp);

/* Starts a GET of an http:// or https:// URL. Returns 0 (done will run), or
 * a negative code with no callback. */
int rf_http_get(rf_loop *loop, const char *url, const rf_http_get_config *cfg, rf_http_done_fn done,
                void *ctx, rf_http_request **out);

/* The TLS state of an https request (version, cipher, resumption, and
 * rf_tls_path: kernel or userspace records), valid until done returns; NULL
 * for http:// or before the handshake started. */
const rf_tls *rf_http_request_tls(const rf_http_request *r);

/* Gives up on a request: done runs with RF_ECLOSED (from the loop, not from
 * inside this call) unless it already ran. */
void rf_http_request_cancel(rf_http_request *r);

#ifdef __cplusplus
}
#endif
#endif
