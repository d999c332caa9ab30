/* What client and server WebSocket connections share: the glue between a
 * loop connection and an rf_ws endpoint, deadlines, and the end of life. */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "ringfeed/error.h"
#include "ws_conn_internal.h"

#define DEFAULT_HANDSHAKE_TIMEOUT_NS (10ull * 1000000000ull)
#define DEFAULT_CLOSE_TIMEOUT_NS (5ull * 1000000000ull)

rf_ws_conn *rf__ws_conn_new(rf_loop *loop, int role, const rf_ws_conn_config *cfg,
                            const rf_ws_conn_handlers *h, void *ctx)
{
    rf_ws_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->loop = loop;
    c->role = role;
    c->h = *h;
    c->ctx = ctx;
    if (cfg != NULL)
        c->cfg = *cfg;
    if (c->cfg.handshake_timeout_ns == 0)
        c->cfg.handshake_timeout_ns = DEFAULT_HANDSHAKE_TIMEOUT_NS;
    if (c->cfg.close_timeout_ns == 0)
        c->cfg.close_timeout_ns = DEFAULT_CLOSE_TIMEOUT_NS;
    /* Borrowed strings are not kept: only the request built from them is. */
    c->cfg.protocols = NULL;
    c->cfg.extra_headers = NULL;
    c->end_code = RF_WS_CLOSE_ABNORMAL;
    return c;
}

static void cancel_timer(rf_ws_conn *c)
{
    if (c->timer != NULL) {
        rf_timer_cancel(c->timer);
        c->timer = NULL;
    }
}

static void on_deadline(rf_loop *loop, void *arg)
{
    rf_ws_conn *c = arg;
    c->timer = NULL;
    rf__ws_conn_end(c, RF_ETIMEDOUT, 0);
}

static void start_deadline(rf_ws_conn *c, uint64_t ns)
{
    cancel_timer(c);
    if (rf_timer_start(c->loop, ns, on_deadline, c, &c->timer) != 0)
        c->timer = NULL;
}

void rf__ws_conn_end(rf_ws_conn *c, int error, int graceful)
{
    if (c->phase == RF__WS_ENDING)
        return;
    if (c->end_error == 0 && !c->ws_closed)
        c->end_error = error;
    c->phase = RF__WS_ENDING;
    cancel_timer(c);
    if (c->tcp == NULL)
        return;
    if (graceful && c->use_tls)
        (void)rf__tls_stream_seal(&c->tls); /* staged frames go out first */
    if (graceful)
        rf_conn_close_graceful(c->tcp, c->cfg.close_timeout_ns);
    else
        rf_conn_close(c->tcp);
}

/* ---- rf_ws callbacks ---- */

static uint8_t *ws_reserve(void *ctx, size_t n)
{
    rf_ws_conn *c = ctx;
    if (c->phase != RF__WS_OPEN)
        return NULL;
    return c->use_tls ? rf__ws_conn_tls_reserve(c, n) : rf_conn_reserve(c->tcp, n);
}

static int ws_commit(void *ctx, size_t n)
{
    rf_ws_conn *c = ctx;
    return c->use_tls ? rf__ws_conn_tls_commit(c, n) : rf_conn_commit(c->tcp, n);
}

int rf__ws_conn_write(rf_ws_conn *c, const void *data, size_t len)
{
    if (!c->use_tls)
        return rf_conn_send(c->tcp, data, len);
    uint8_t *p = rf__ws_conn_tls_reserve(c, len);
    if (p == NULL)
        return RF_ENOMEM;
    memcpy(p, data, len);
    return rf__ws_conn_tls_commit(c, len);
}

static void ws_message(void *ctx, unsigned opcode, const uint8_t *data, size_t len)
{
    rf_ws_conn *c = ctx;
    if (c->phase == RF__WS_OPEN && c->h.on_message)
        c->h.on_message(c, c->ctx, opcode, data, len);
}

static void ws_ping(void *ctx, const uint8_t *data, size_t len)
{
    rf_ws_conn *c = ctx;
    if (c->phase == RF__WS_OPEN && c->h.on_ping)
        c->h.on_ping(c, c->ctx, data, len);
}

static void ws_pong(void *ctx, const uint8_t *data, size_t len)
{
    rf_ws_conn *c = ctx;
    if (c->phase == RF__WS_OPEN && c->h.on_pong)
        c->h.on_pong(c, c->ctx, data, len);
}

static void ws_closed(void *ctx, int code, const uint8_t *reason, size_t reason_len, int error)
{
    rf_ws_conn *c = ctx;
    c->ws_closed = 1;
    c->end_code = code;
    c->end_error = error;
    /* rf_ws passes the received reason only (already UTF-8 validated); a
     * longer one cannot come from a valid control frame, cut it anyway. */
    if (reason_len >= sizeof c->close_reason)
        reason_len = sizeof c->close_reason - 1;
    if (reason_len > 0)
        memcpy(c->close_reason, reason, reason_len);
    c->close_reason[reason_len] = '\0';
    /* Closing handshake complete (or failed): the close frame is queued, so
     * say close_notify on TLS, flush, and let TCP end. */
    if (c->use_tls)
        rf__ws_conn_tls_close_notify(c);
    rf__ws_conn_end(c, error, 1);
}

void rf__ws_conn_open(rf_ws_conn *c, size_t header_len)
{
    rf_ws_config wcfg = {.role = c->role, .max_message = c->cfg.max_message};
    rf_ws_callbacks cb = {
        .on_message = ws_message,
        .on_ping = ws_ping,
        .on_pong = ws_pong,
        .on_close = ws_closed,
        .reserve = ws_reserve,
        .commit = ws_commit,
    };
    if (rf_ws_create(&c->ws, &wcfg, &cb, c) != 0) {
        rf__ws_conn_end(c, RF_ENOMEM, 0);
        return;
    }
    cancel_timer(c);
    c->phase = RF__WS_OPEN;
    c->announced = 1;
    if (c->h.on_open)
        c->h.on_open(c, c->ctx);
    /* Frames may have arrived in the same read as the handshake's end. */
    if (c->phase == RF__WS_OPEN && header_len < c->hs_len)
        (void)rf_ws_feed(c->ws, c->hs + header_len, c->hs_len - header_len);
    free(c->hs);
    c->hs = NULL;
    c->hs_len = c->hs_cap = 0;
}

int rf__ws_conn_hs_append(rf_ws_conn *c, const uint8_t *data, size_t len)
{
    /* No ceiling here: the handshake parsers refuse a header block over
     * RF_WS_HANDSHAKE_MAX, and one receive adds at most one buffer. */
    int rc = rf__grow(&c->hs, &c->hs_cap, c->hs_len + len, SIZE_MAX);
    if (rc != 0)
        return rc;
    memcpy(c->hs + c->hs_len, data, len);
    c->hs_len += len;
    return 0;
}

/* ---- loop connection callbacks ---- */

static void tcp_connected(rf_conn *tcp, void *ctx)
{
    rf_ws_conn *c = ctx;
    if (c->use_tls) {
        int rc = rf__ws_conn_tls_start(c);
        if (rc != 0)
            rf__ws_conn_end(c, rc, 0);
        return;
    }
    c->phase = RF__WS_HANDSHAKE;
    if (rf_conn_send(tcp, c->request, c->request_len) != 0)
        rf__ws_conn_end(c, RF_ENOMEM, 0);
    free(c->request);
    c->request = NULL;
}

void rf__ws_conn_plain_data(rf_ws_conn *c, uint8_t *data, size_t len)
{
    switch (c->phase) {
    case RF__WS_OPEN:
        (void)rf_ws_feed(c->ws, data, len);
        return;
    case RF__WS_HANDSHAKE:
        if (rf__ws_conn_hs_append(c, data, len) != 0) {
            rf__ws_conn_end(c, RF_ENOMEM, 0);
            return;
        }
        if (c->role == RF_WS_CLIENT)
            rf__ws_client_on_handshake_data(c);
        else
            rf__ws_server_on_handshake_data(c);
        return;
    default:
        return; /* ending: input is discarded */
    }
}

static void tcp_data(rf_conn *tcp, void *ctx, uint8_t *data, size_t len)
{
    rf_ws_conn *c = ctx;
    if (c->phase == RF__WS_ENDING || c->stalled)
        return;
    if (c->use_tls)
        rf__ws_conn_tls_data(c, data, len);
    else
        rf__ws_conn_plain_data(c, data, len);
}

static void tcp_closed(rf_conn *tcp, void *ctx, int reason)
{
    rf_ws_conn *c = ctx;
    cancel_timer(c);
    if (!c->ws_closed) {
        c->end_code = RF_WS_CLOSE_ABNORMAL;
        if (c->end_error == 0 && c->phase == RF__WS_TLS)
            c->end_error = RF_ETLS_CLOSED; /* e.g. a server that hangs up on ClientHello */
        if (c->end_error == 0)
            c->end_error = reason != 0 ? reason : RF_ECLOSED;
    }
    /* Servers announce only connections that opened; clients always end
     * with on_close so a failed connect is reported. */
    if ((c->announced || c->role == RF_WS_CLIENT) && c->h.on_close)
        c->h.on_close(c, c->ctx, c->end_code, c->end_error);
    rf_ws_destroy(c->ws);
    rf__ws_conn_tls_free(c);
    free(c->hs);
    free(c->request);
    free(c->protocols);
    free(c->path);
    free(c->refusal);
    free(c);
}

const rf_conn_handlers rf__ws_conn_tcp_handlers = {
    .on_connect = tcp_connected,
    .on_data = tcp_data,
    .on_close = tcp_closed,
};

void rf__ws_conn_start_handshake_deadline(rf_ws_conn *c)
{
    start_deadline(c, c->cfg.handshake_timeout_ns);
}

/* ---- public API ---- */

static int can_send(const rf_ws_conn *c) { return c->phase == RF__WS_OPEN && !c->stalled; }

int rf_ws_conn_send(rf_ws_conn *c, unsigned opcode, const void *data, size_t len)
{
    return can_send(c) ? rf_ws_send(c->ws, opcode, data, len) : RF_ESTATE;
}

int rf_ws_conn_send_frame(rf_ws_conn *c, unsigned opcode, int fin, const void *data, size_t len)
{
    return can_send(c) ? rf_ws_send_frame(c->ws, opcode, fin, data, len) : RF_ESTATE;
}

int rf_ws_conn_ping(rf_ws_conn *c, const void *data, size_t len)
{
    return can_send(c) ? rf_ws_ping(c->ws, data, len) : RF_ESTATE;
}

int rf_ws_conn_send_raw(rf_ws_conn *c, const void *data, size_t len)
{
    if (!can_send(c))
        return RF_ESTATE;
    return len == 0 ? 0 : rf__ws_conn_write(c, data, len);
}

void rf_ws_conn_stall(rf_ws_conn *c) { c->stalled = 1; }

int rf_ws_conn_close(rf_ws_conn *c, int code, const char *reason, size_t reason_len)
{
    if (c->phase != RF__WS_OPEN) {
        rf__ws_conn_end(c, 0, 0);
        return 0;
    }
    int rc = rf_ws_close(c->ws, code, reason, reason_len);
    if (rc == 0)
        start_deadline(c, c->cfg.close_timeout_ns);
    return rc;
}

void rf_ws_conn_abort(rf_ws_conn *c) { rf__ws_conn_end(c, RF_ECLOSED, 0); }

void rf_ws_conn_set_ctx(rf_ws_conn *c, void *ctx) { c->ctx = ctx; }

size_t rf_ws_conn_pending(const rf_ws_conn *c) { return c->tcp ? rf_conn_pending(c->tcp) : 0; }

const char *rf_ws_conn_path(const rf_ws_conn *c) { return c->path ? c->path : ""; }

const char *rf_ws_conn_close_reason(const rf_ws_conn *c) { return c != NULL ? c->close_reason : ""; }
