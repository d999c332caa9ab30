/* wss: the WebSocket connection over a TLS stream. */
#include <stdlib.h>

#include "ringfeed/error.h"
#include "ws_conn_internal.h"

static void established(void *ctx)
{
    rf_ws_conn *c = ctx;
    c->phase = RF__WS_HANDSHAKE;
    if (c->role == RF_WS_CLIENT) {
        if (rf__ws_conn_write(c, c->request, c->request_len) != 0)
            rf__ws_conn_end(c, RF_ENOMEM, 0);
        free(c->request);
        c->request = NULL;
    }
}

static int plain(void *ctx, uint8_t *data, size_t len)
{
    rf_ws_conn *c = ctx;
    rf__ws_conn_plain_data(c, data, len);
    /* The WebSocket layer may have closed or ended the connection. */
    return c->phase != RF__WS_HANDSHAKE && c->phase != RF__WS_OPEN;
}

static void ended(void *ctx, int rc)
{
    rf_ws_conn *c = ctx;
    if (c->phase == RF__WS_ENDING)
        return;
    rf__ws_conn_end(c, rc, 1); /* RF_ECLOSED: close_notify, the peer is done sending */
}

int rf__ws_conn_tls_start(rf_ws_conn *c)
{
    static const rf__tls_stream_handlers h = {.on_established = established, .on_plain = plain, .on_end = ended};
    c->phase = RF__WS_TLS;
    return rf__tls_stream_start(&c->tls, c->tcp, c->tls_ctx, c->role == RF_WS_SERVER,
                                c->tls_host, c->tls_port, &h, c);
}

void rf__ws_conn_tls_data(rf_ws_conn *c, const uint8_t *data, size_t len)
{
    int rc = rf__tls_stream_data(&c->tls, data, len);
    if (rc == RF_ECLOSED) /* close_notify: the peer is done sending */
        rf__ws_conn_end(c, RF_ECLOSED, 1);
    else if (rc != 0) /* flush the alert that tells the peer why */
        rf__ws_conn_end(c, rc, 1);
}

uint8_t *rf__ws_conn_tls_reserve(rf_ws_conn *c, size_t n) { return rf__tls_stream_reserve(&c->tls, n); }

int rf__ws_conn_tls_commit(rf_ws_conn *c, size_t n) { return rf__tls_stream_commit(&c->tls, n); }

void rf__ws_conn_tls_close_notify(rf_ws_conn *c) { rf__tls_stream_close_notify(&c->tls); }

void rf__ws_conn_tls_free(rf_ws_conn *c)
{
    rf__tls_stream_free(&c->tls);
    free(c->tls_host);
}

const rf_tls *rf_ws_conn_tls(const rf_ws_conn *c) { return c->tls.tls; }

const char *rf_ws_conn_tls_path(const rf_ws_conn *c)
{
    /* "kernel" / "kernel-tx" once kTLS took over, else "userspace"; the
     * ring does the socket I/O on every path. */
    return c->tls.tls ? rf_tls_path(c->tls.tls) : "none";
}
