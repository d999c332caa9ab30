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

/* The WebSocket upgrade proper: validate, answer 101, open. */
static void upgrade(rf_ws_conn *c)
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

static int is_head(const rf_http_server_request *req)
{
    return req->method.len == 4 && memcmp(req->method.ptr, "HEAD", 4) == 0;
}

/* Status line, the caller's header lines, the blank line, the body. */
static int answer(rf_ws_conn *c, const rf_http_server_request *req, int status, const char *headers,
                  const void *body, size_t len)
{
    char line[160];
    int keep = req->keep_alive && !req->upgrade;
    int n = rf__http_status_line_write(line, sizeof line, status, keep, len);
    if (n < 0)
        return n;
    int rc = rf__ws_conn_write(c, line, (size_t)n);
    if (rc == 0 && headers != NULL && headers[0] != '\0')
        rc = rf__ws_conn_write(c, headers, strlen(headers));
    if (rc == 0)
        rc = rf__ws_conn_write(c, "\r\n", 2);
    if (rc == 0 && len > 0 && !is_head(req))
        rc = rf__ws_conn_write(c, body, len);
    return rc;
}

/* Ends a connection after its last answer: flush, close_notify, FIN. */
static void finish(rf_ws_conn *c)
{
    if (c->use_tls)
        rf__ws_conn_tls_close_notify(c);
    rf__ws_conn_end(c, 0, 1);
}

static const char no_route[] = "Content-Type: text/plain\r\n";

void rf__ws_server_on_handshake_data(rf_ws_conn *c)
{
    if (c->h.on_http_request == NULL) {
        upgrade(c);
        return;
    }
    /* One request after another while the client keeps the connection. */
    while (c->phase == RF__WS_HANDSHAKE && c->hs_len > 0) {
        rf_http_server_request req;
        int rc = rf_http_server_request_parse(c->hs, c->hs_len, &req);
        if (rc == RF_EAGAIN)
            return;
        if (rc < 0) {
            reject(c, rc);
            return;
        }
        size_t used = (size_t)rc;
        rf_str v;
        if (rf_http_server_request_header(&req, "Transfer-Encoding", &v) ||
            (rf_http_server_request_header(&req, "Content-Length", &v) &&
             !(v.len == 1 && v.ptr[0] == '0'))) {
            /* Bodies are not read, so the next request could not be found. */
            req.keep_alive = 0;
            (void)answer(c, &req, 400, no_route, "request bodies are not accepted\n", 32);
            finish(c);
            return;
        }
        c->http_req = &req;
        c->http_answered = 0;
        c->h.on_http_request(c, c->ctx, &req);
        c->http_req = NULL;
        if (c->phase != RF__WS_HANDSHAKE)
            return; /* the handler closed or aborted it */
        if (!c->http_answered) {
            if (req.upgrade) {
                upgrade(c);
                return;
            }
            if (answer(c, &req, 404, no_route, "not found\n", 10) != 0) {
                rf__ws_conn_end(c, RF_ENOMEM, 0);
                return;
            }
        }
        if (req.upgrade || !req.keep_alive) {
            finish(c);
            return;
        }
        memmove(c->hs, c->hs + used, c->hs_len - used);
        c->hs_len -= used;
        rf__ws_conn_start_handshake_deadline(c); /* the idle deadline for the next request */
    }
}

int rf_ws_conn_http_respond(rf_ws_conn *c, int status, const char *headers, const void *body,
                            size_t len)
{
    if (c->http_req == NULL || c->http_answered || c->phase != RF__WS_HANDSHAKE)
        return RF_ESTATE;
    if (status < 100 || status > 599 || !rf__http_headers_valid(headers) || (len > 0 && body == NULL))
        return RF_EINVAL;
    c->http_answered = 1;
    return answer(c, c->http_req, status, headers, body, len);
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
