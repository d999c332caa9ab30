/* A TLS session over one loop connection: ciphertext in from on_data,
 * plaintext out to a callback, plaintext writes encrypted into the
 * connection's send buffer. Shared by wss:// and https://.
 *
 * Where the kernel has kTLS and the context allows it, the stream hands
 * sending and then receiving to the kernel shortly after the handshake
 * (ktls_stream.c); from then on the ring moves plaintext and OpenSSL is
 * out of the data path. rf_tls_path(s->tls) says where records go. */
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
    /* The session ended outside rf__tls_stream_data: under kTLS RX the
     * peer's close_notify (RF_ECLOSED) or a fatal alert or record the kernel
     * cannot take (RF_ETLS_PROTOCOL; rf_tls_error says which). The owner
     * reacts as it would to that return from rf__tls_stream_data. */
    void (*on_end)(void *ctx, int rc);
} rf__tls_stream_handlers;

typedef struct rf__tls_stream {
    rf_conn *tcp;
    rf_tls *tls;
    rf_tls_ctx *ctx;
    uint8_t ctx_owned;   /* a default context made for this stream alone */
    uint8_t established;
    uint8_t stopped;     /* the owner stopped reading (on_plain said so) */
    uint8_t *plain;      /* decrypted bytes, one buffer reused */
    size_t plain_cap;
    uint8_t *tx;         /* plaintext staged for encryption */
    size_t tx_len;
    size_t tx_cap;
    rf_timer *seal;      /* encrypts what was staged, once per loop pass */
    rf__tls_stream_handlers h;
    void *hctx;
    /* Kernel TLS (ktls_stream.c). */
    uint8_t kt_want;     /* the context allows it and the kernel has the ULP */
    uint8_t kt_attached; /* the tls ULP is on the socket */
    uint8_t kt_tx, kt_rx;  /* directions the kernel owns */
    uint8_t kt_pausing;  /* receive paused to switch RX at a record boundary */
    uint8_t kt_rx_tries; /* pauses that ended off a boundary */
    uint8_t kt_holds;    /* seal passes held back for the send queue to drain */
} rf__tls_stream;

/* Starts the handshake on a connected socket. ctx NULL makes a private
 * default context (client: system trust store). Returns 0 or a negative code. */
int rf__tls_stream_start(rf__tls_stream *s, rf_conn *tcp, rf_tls_ctx *ctx, int server,
                         const char *host, uint16_t port, const rf__tls_stream_handlers *h,
                         void *hctx);

/* Received bytes (ciphertext; plaintext once the kernel has RX). data is
 * the loop's mutable view. Returns 0, RF_ECLOSED after the peer's
 * close_notify, or the RF_ETLS_* / RF_ENOMEM error that ended the session. */
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

/* ---- ktls_stream.c: moving a stream's records to the kernel ---- */

/* Called once the handshake is done: turns tracking on (before it) and
 * decides whether offload is wanted. */
void rf__ktls_stream_prepare(rf__tls_stream *s);
/* Hands sending to the kernel if the moment is right: nothing of OpenSSL's
 * output is unsent (the ring's queue is empty). Returns 1 when the kernel
 * has TX now, else 0. */
int rf__ktls_stream_try_tx(rf__tls_stream *s);
/* After received bytes were handled in userspace: starts the switch of RX
 * (pause the ring's receive, finish the record in hand, install). */
void rf__ktls_stream_try_rx(rf__tls_stream *s);
/* close_notify under kTLS TX. */
void rf__ktls_stream_close_notify(rf__tls_stream *s);
/* Bytes received from the loop through the userspace path: feed, decrypt,
 * hand on (tls_stream.c; ktls_stream.c uses it for the record in hand). */
int rf__tls_stream_userspace_data(rf__tls_stream *s, const uint8_t *data, size_t len);

#endif
