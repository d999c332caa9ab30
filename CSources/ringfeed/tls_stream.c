/* The TLS pump between a loop connection and its owner.
 *
 * Decrypted bytes land in one reused buffer that the owner may modify in
 * place (the frame parser unmasks there), so TLS adds one decrypt copy per
 * byte and no allocation per record. Ciphertext is copied straight into the
 * connection's send buffer. */
#include "tls_stream.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "ringfeed/error.h"
#include "tls_internal.h"

#define PLAIN_BUFFER (64u * 1024u) /* several 16 KiB records per pass */
#define SEAL_AT (16u * 1024u)      /* a full TLS record: encrypt at once */
/* While waiting for the send queue to drain so TX can move to the kernel,
 * staged plaintext waits too, up to this much and KTLS_HOLDS short delays
 * once per connection; then it is encrypted in userspace as before. */
#define KTLS_HOLD_BYTES (1u << 20)
#define KTLS_HOLDS 32
#define KTLS_HOLD_NS 50000u

static int flush(rf__tls_stream *s)
{
    size_t n = rf_tls_output_pending(s->tls);
    if (n == 0)
        return 0;
    if (s->kt_tx) /* OpenSSL answering something (a KeyUpdate) with stale keys */
        return rf__tls_set_error(s->tls, RF_ETLS_PROTOCOL,
                                 "the peer asked for a TLS key update, which kernel TLS cannot follow");
    uint8_t *dst = rf_conn_reserve(s->tcp, n);
    if (dst == NULL)
        return RF_ENOMEM;
    return rf_conn_commit(s->tcp, rf_tls_take_output(s->tls, dst, n));
}

int rf__tls_stream_start(rf__tls_stream *s, rf_conn *tcp, rf_tls_ctx *ctx, int server,
                         const char *host, uint16_t port, const rf__tls_stream_handlers *h,
                         void *hctx)
{
    s->tcp = tcp;
    s->h = *h;
    s->hctx = hctx;
    s->ctx = ctx;
    if (s->ctx == NULL) {
        rf_tls_ctx_config cfg = {.server = server};
        int rc = rf_tls_ctx_create(&s->ctx, &cfg);
        s->ctx_owned = s->ctx != NULL; /* set even on RF_ETLS_CONFIG: free it later */
        if (rc != 0)
            return rc;
    }
    if ((s->plain = malloc(PLAIN_BUFFER)) == NULL)
        return RF_ENOMEM;
    s->plain_cap = PLAIN_BUFFER;
    int rc = rf_tls_create(&s->tls, s->ctx, host, port);
    if (rc != 0)
        return rc;
    rf__ktls_stream_prepare(s);
    rc = rf_tls_handshake(s->tls);
    if (rc != 0 && rc != RF_EAGAIN)
        return rc;
    return flush(s);
}

int rf__tls_stream_data(rf__tls_stream *s, const uint8_t *data, size_t len)
{
    if (s->kt_rx) /* the kernel decrypted it; the loop's view is mutable */
        return (void)s->h.on_plain(s->hctx, (uint8_t *)(uintptr_t)data, len), 0;
    int rc = rf__tls_stream_userspace_data(s, data, len);
    if (rc == 0 && s->kt_want && s->established && !s->stopped) {
        if (!s->kt_tx && s->tx_len == 0)
            (void)rf__ktls_stream_try_tx(s);
        rf__ktls_stream_try_rx(s);
    }
    return rc;
}

int rf__tls_stream_userspace_data(rf__tls_stream *s, const uint8_t *data, size_t len)
{
    int rc = rf_tls_feed(s->tls, data, len);
    if (rc != 0)
        return rc;
    if (!s->established) {
        rc = rf_tls_handshake(s->tls);
        int frc = flush(s);
        if (rc == RF_EAGAIN)
            return frc;
        if (rc != 0)
            return rc;
        s->established = 1;
        s->h.on_established(s->hctx);
    }
    for (;;) {
        int n = rf_tls_read(s->tls, s->plain, s->plain_cap);
        if (n <= 0) {
            int frc = flush(s); /* reads can produce output (key updates) */
            return n < 0 ? n : frc;
        }
        if (s->h.on_plain(s->hctx, s->plain, (size_t)n) != 0) {
            s->stopped = 1;
            return flush(s);
        }
    }
}

uint8_t *rf__tls_stream_reserve(rf__tls_stream *s, size_t n)
{
    /* Under kTLS TX, plaintext goes straight into the send queue. */
    if (s->kt_tx && s->tx_len == 0)
        return rf_conn_reserve(s->tcp, n);
    if (rf__grow(&s->tx, &s->tx_cap, s->tx_len + n, SIZE_MAX) != 0)
        return NULL;
    return s->tx + s->tx_len;
}

int rf__tls_stream_seal(rf__tls_stream *s)
{
    if (s->seal != NULL) {
        rf_timer_cancel(s->seal);
        s->seal = NULL;
    }
    if (s->tx_len == 0)
        return 0;
    if (s->kt_want && !s->kt_tx && s->established)
        (void)rf__ktls_stream_try_tx(s);
    if (s->kt_tx) {
        int rc = rf_conn_send(s->tcp, s->tx, s->tx_len);
        s->tx_len = 0;
        return rc;
    }
    int rc = rf_tls_write(s->tls, s->tx, s->tx_len);
    s->tx_len = 0;
    return rc != 0 ? rc : flush(s);
}

/* Whether to keep staged plaintext back a little longer: TX could move to
 * the kernel as soon as the send queue (OpenSSL's records) has drained. */
static int hold_for_kernel(rf__tls_stream *s)
{
    return s->kt_want && !s->kt_tx && s->established && s->kt_holds < KTLS_HOLDS &&
           s->tx_len < KTLS_HOLD_BYTES && rf_conn_pending(s->tcp) > 0;
}

static void seal_later(rf_loop *loop, void *arg)
{
    rf__tls_stream *s = arg;
    s->seal = NULL;
    if (hold_for_kernel(s)) {
        s->kt_holds++;
        if (rf_timer_start(loop, KTLS_HOLD_NS, seal_later, s, &s->seal) == 0)
            return;
        s->seal = NULL;
    }
    if (rf__tls_stream_seal(s) != 0)
        rf_conn_close(s->tcp); /* the owner learns of it through on_close */
}

int rf__tls_stream_commit(rf__tls_stream *s, size_t n)
{
    if (s->kt_tx && s->tx_len == 0)
        return rf_conn_commit(s->tcp, n);
    s->tx_len += n;
    if (s->tx_len >= SEAL_AT && !hold_for_kernel(s))
        return rf__tls_stream_seal(s);
    /* A zero-delay timer completes after the completions of this pass, so
     * everything written in it is sealed together. */
    if (s->seal == NULL && rf_timer_start(rf_conn_loop(s->tcp), 0, seal_later, s, &s->seal) != 0) {
        s->seal = NULL;
        return rf__tls_stream_seal(s);
    }
    return 0;
}

int rf__tls_stream_write(rf__tls_stream *s, const void *data, size_t n)
{
    uint8_t *p = rf__tls_stream_reserve(s, n);
    if (p == NULL)
        return RF_ENOMEM;
    memcpy(p, data, n);
    return rf__tls_stream_commit(s, n);
}

void rf__tls_stream_close_notify(rf__tls_stream *s)
{
    if (s->tls == NULL || !s->established)
        return;
    (void)rf__tls_stream_seal(s);
    if (s->kt_tx) {
        rf__ktls_stream_close_notify(s);
        return;
    }
    if (rf_tls_shutdown(s->tls) == 0)
        (void)flush(s);
}

void rf__tls_stream_free(rf__tls_stream *s)
{
    if (s->seal != NULL)
        rf_timer_cancel(s->seal);
    rf_tls_destroy(s->tls);
    if (s->ctx_owned)
        rf_tls_ctx_destroy(s->ctx);
    free(s->plain);
    free(s->tx);
    memset(s, 0, sizeof *s);
}
