/* A TLS session over one loop connection: ciphertext in from on_data,
 * plaintext out to a callback, plaintext writes encrypted into the
 * connection's send buffer. Shared by wss:// and https://. */
#ifndef RF_TLS_STREAM_H
#define RF_TLS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "ringfeed/loop.h"
#include "ringfeed/tls.h"

typedef struct rf__tls_stream_handlers {
    /* The handshake completed; writes are possible now. */
    void (*on_established)(void *ctx);
    /* Decrypted bytes (mutable, valid until return). Return 0 to go on,
     * non-zero when the owner has stopped reading (closing, ended). */
    int (*on_plain)(void *ctx, uint8_t *data, size_t len);
} rf__tls_stream_handlers;

typedef struct rf__tls_stream {
    rf_conn *tcp;
    rf_tls *tls;
    rf_tls_ctx *ctx;
    uint8_t ctx_owned;   /* a default context made for this stream alone */
    uint8_t established;
    uint8_t *plain;      /* decrypted bytes, one buffer reused */
    size_t plain_cap;
    uint8_t *tx;         /* plaintext staged for encryption */
    size_t tx_len;
    size_t tx_cap;
    rf_timer *seal;      /* encrypts what was staged, once per loop pass */
    rf__tls_stream_handlers h;
    void *hctx;
} rf__tls_stream;

/* Starts the handshake on a connected socket. ctx NULL makes a private
 * default context (client: system trust store). Returns 0 or a negative code. */
int rf__tls_stream_start(rf__tls_stream *s, rf_conn *tcp, rf_tls_ctx *ctx, int server,
                         const char *host, uint16_t port, const rf__tls_stream_handlers *h,
                         void *hctx);

/* Received ciphertext. Returns 0, RF_ECLOSED after the peer's close_notify,
 * or the RF_ETLS_* / RF_ENOMEM error that ended the session. */
int rf__tls_stream_data(rf__tls_stream *s, const uint8_t *data, size_t len);

/* Plaintext out: reserve/commit (no extra copy for the caller), or write.
 * Small writes are staged and encrypted together at the end of the loop's
 * pass (or once a full record's worth is staged), so a burst of messages
 * becomes a few 16 KiB records instead of one record each. */
uint8_t *rf__tls_stream_reserve(rf__tls_stream *s, size_t n);
int rf__tls_stream_commit(rf__tls_stream *s, size_t n);
int rf__tls_stream_write(rf__tls_stream *s, const void *data, size_t n);
/* Encrypts what is staged now (before closing, or when latency matters). */
int rf__tls_stream_seal(rf__tls_stream *s);

/* Seals, then queues close_notify (after the handshake only). */
void rf__tls_stream_close_notify(rf__tls_stream *s);
void rf__tls_stream_free(rf__tls_stream *s);

#endif
