/* The server role: accept, answer the upgrade request, then run rf_ws. */
#include <stdlib.h>
#include <string.h>

#include "ringfeed/error.h"
#include "ws_conn_internal.h"

struct rf_ws_server {
    rf_loop *loop;
    rf_listener *listener;
    rf_ws_conn_config cfg;
    rf_ws_conn_handlers h;
    void *ctx;
};

static void reject(rf_ws_conn *c, int error)
{
    char buf[256];
    int n = rf_ws_server_reject_write(buf, sizeof buf, error);
    if (n > 0)
        (void)rf__ws_conn_write(c, buf, (size_t)n);
    if (c->use_tls)
        rf__ws_conn_tls_close_notify(c);
    rf__ws_conn_end(c, error, 1);
}

void rf__ws_server_on_handshake_data(rf_ws_conn *c)
{
    rf_ws_server_request req;
    int rc = rf_ws_server_request_parse(c->hs, c->hs_len, &req);
    if (rc == RF_EAGAIN)
        return;
    if (rc < 0) {
        reject(c, rc);
        return;
    }
    c->path = strndup(req.path.ptr, req.path.len);
    char resp[512];
    int n = rf_ws_server_response_write(resp, sizeof resp, &req.key, NULL);
    if (c->path == NULL || n < 0 || rf__ws_conn_write(c, resp, (size_t)n) != 0) {
        rf__ws_conn_end(c, RF_ENOMEM, 0);
        return;
    }
    rf__ws_conn_open(c, (size_t)rc);
}

static void on_accept(rf_listener *l, void *ctx, rf_conn *tcp)
{
    rf_ws_server *s = ctx;
    rf_ws_conn *c = rf__ws_conn_new(s->loop, RF_WS_SERVER, &s->cfg, &s->h, s->ctx);
    if (c == NULL)
        return; /* untaken: the loop closes it */
    c->tcp = tcp;
    c->phase = RF__WS_HANDSHAKE;
    rf_conn_set_handlers(tcp, &rf__ws_conn_tcp_handlers, c);
    rf__ws_conn_start_handshake_deadline(c);
    if (s->cfg.tls != NULL) {
        c->use_tls = 1;
        c->tls_ctx = s->cfg.tls;
        int rc = rf__ws_conn_tls_start(c);
        if (rc != 0)
            rf__ws_conn_end(c, rc, 0);
    }
}

int rf_ws_listen(rf_loop *loop, const char *host, uint16_t port, const rf_ws_conn_config *cfg,
                 const rf_ws_conn_handlers *h, void *ctx, rf_ws_server **out)
{
    if (loop == NULL || h == NULL || out == NULL)
        return RF_EINVAL;
    rf_ws_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return RF_ENOMEM;
    s->loop = loop;
    if (cfg != NULL)
        s->cfg = *cfg;
    s->h = *h;
    s->ctx = ctx;
    int rc = rf_tcp_listen(loop, host ? host : "127.0.0.1", port, 512, on_accept, s, &s->listener);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

uint16_t rf_ws_server_port(const rf_ws_server *s) { return rf_listener_port(s->listener); }

void rf_ws_server_close(rf_ws_server *s)
{
    if (s == NULL)
        return;
    rf_listener_close(s->listener);
    free(s);
}
