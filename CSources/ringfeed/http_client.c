/* One HTTP GET on its own connection: connect, optional TLS, request,
 * response, with one deadline over all of it. */
#include <stdlib.h>
#include <string.h>

#include "ringfeed/error.h"
#include "ringfeed/http_client.h"
#include "ringfeed/url.h"
#include "tls_stream.h"

#define DEFAULT_TIMEOUT_NS (10ull * 1000000000ull)
#define REQUEST_MAX 8192

struct rf_http_request {
    rf_loop *loop;
    rf_conn *tcp;
    rf_timer *timer;
    rf_http_response *resp;
    rf_http_done_fn done;
    void *ctx;
    rf_url url;
    uint8_t use_tls;
    uint8_t finished;
    uint8_t cancelled;
    rf__tls_stream tls;
    rf_tls_ctx *tls_ctx;
    char *request;
    size_t request_len;
};

/* Reports once, then closes the connection; memory goes with on_close. */
static void finish(rf_http_request *r, int error)
{
    if (r->finished)
        return;
    r->finished = 1;
    if (r->timer != NULL) {
        rf_timer_cancel(r->timer);
        r->timer = NULL;
    }
    r->done(r->ctx, error, error == 0 ? r->resp : NULL);
    if (r->tcp != NULL)
        rf_conn_close(r->tcp);
}

static void on_deadline(rf_loop *loop, void *arg)
{
    rf_http_request *r = arg;
    r->timer = NULL;
    finish(r, RF_ETIMEDOUT);
}

/* Response bytes (decrypted when TLS). Returns non-zero once finished. */
static int response_bytes(rf_http_request *r, const uint8_t *data, size_t len)
{
    while (len > 0 && !r->finished) {
        int done = 0;
        int n = rf_http_response_feed(r->resp, data, len, &done);
        if (n < 0) {
            finish(r, n);
            break;
        }
        data += n;
        len -= (size_t)n;
        if (done) {
            finish(r, 0); /* bytes after a complete response are not ours */
            break;
        }
        if (n == 0)
            break;
    }
    return r->finished;
}

static void send_request(rf_http_request *r)
{
    int rc = r->use_tls ? rf__tls_stream_write(&r->tls, r->request, r->request_len)
                        : rf_conn_send(r->tcp, r->request, r->request_len);
    if (rc != 0)
        finish(r, rc);
}

static void tls_established(void *ctx) { send_request(ctx); }

static int tls_plain(void *ctx, uint8_t *data, size_t len) { return response_bytes(ctx, data, len); }

/* Under kTLS RX the peer's close_notify or a fatal alert arrives here. */
static void tls_ended(void *ctx, int rc)
{
    rf_http_request *r = ctx;
    finish(r, rc == RF_ECLOSED ? rf_http_response_eof(r->resp) : rc);
}

static void tcp_connected(rf_conn *tcp, void *ctx)
{
    rf_http_request *r = ctx;
    if (!r->use_tls) {
        send_request(r);
        return;
    }
    static const rf__tls_stream_handlers h = {.on_established = tls_established, .on_plain = tls_plain,
                                                .on_end = tls_ended};
    int rc = rf__tls_stream_start(&r->tls, tcp, r->tls_ctx, 0, r->url.host, r->url.port, &h, r);
    if (rc != 0)
        finish(r, rc);
}

static void tcp_data(rf_conn *tcp, void *ctx, uint8_t *data, size_t len)
{
    rf_http_request *r = ctx;
    if (r->finished || r->cancelled)
        return;
    if (!r->use_tls) {
        response_bytes(r, data, len);
        return;
    }
    int rc = rf__tls_stream_data(&r->tls, data, len);
    if (rc == RF_ECLOSED) /* close_notify ends a close-delimited body */
        finish(r, rf_http_response_eof(r->resp));
    else if (rc != 0)
        finish(r, rc);
}

static void tcp_closed(rf_conn *tcp, void *ctx, int reason)
{
    rf_http_request *r = ctx;
    r->tcp = NULL;
    if (!r->finished) {
        int error = r->cancelled ? RF_ECLOSED : reason;
        if (error == 0 && r->use_tls && !r->tls.established)
            error = RF_ETLS_CLOSED;
        if (error == 0)
            error = rf_http_response_eof(r->resp); /* 0 for a close-delimited body */
        finish(r, error);
    }
    rf__tls_stream_free(&r->tls);
    rf_http_response_destroy(r->resp);
    free(r->request);
    free(r);
}

static const rf_conn_handlers tcp_handlers = {
    .on_connect = tcp_connected,
    .on_data = tcp_data,
    .on_close = tcp_closed,
};

int rf_http_get(rf_loop *loop, const char *url, const rf_http_get_config *cfg, rf_http_done_fn done,
                void *ctx, rf_http_request **out)
{
    if (loop == NULL || url == NULL || done == NULL)
        return RF_EINVAL;
    rf_http_request *r = calloc(1, sizeof *r);
    if (r == NULL)
        return RF_ENOMEM;
    int rc = rf_url_parse(url, &r->url);
    if (rc == 0 && strcmp(r->url.scheme, "http") != 0 && strcmp(r->url.scheme, "https") != 0)
        rc = RF_EURL;
    if (rc == 0 && (r->request = malloc(REQUEST_MAX)) == NULL)
        rc = RF_ENOMEM;
    if (rc == 0) {
        rc = rf_http_get_write(r->request, REQUEST_MAX, &r->url, cfg ? cfg->extra_headers : NULL);
        r->request_len = rc > 0 ? (size_t)rc : 0;
        rc = rc > 0 ? 0 : rc;
    }
    rf_http_response_config rcfg = {.max_body = cfg ? cfg->max_body : 0};
    if (rc == 0)
        rc = rf_http_response_create(&r->resp, &rcfg);
    if (rc != 0) {
        rf_http_response_destroy(r->resp);
        free(r->request);
        free(r);
        return rc;
    }
    r->loop = loop;
    r->done = done;
    r->ctx = ctx;
    r->use_tls = r->url.tls;
    r->tls_ctx = cfg ? cfg->tls : NULL;
    rc = rf_tcp_connect(loop, r->url.host, r->url.port, &tcp_handlers, r, &r->tcp);
    if (rc != 0) {
        rf_http_response_destroy(r->resp);
        free(r->request);
        free(r);
        return rc;
    }
    uint64_t timeout = cfg && cfg->timeout_ns ? cfg->timeout_ns : DEFAULT_TIMEOUT_NS;
    if (rf_timer_start(loop, timeout, on_deadline, r, &r->timer) != 0)
        r->timer = NULL;
    if (out != NULL)
        *out = r;
    return 0;
}

const rf_tls *rf_http_request_tls(const rf_http_request *r)
{
    return r != NULL && r->use_tls ? r->tls.tls : NULL;
}

void rf_http_request_cancel(rf_http_request *r)
{
    if (r->finished || r->cancelled)
        return;
    r->cancelled = 1;
    /* done runs from the loop's on_close, never from inside this call. */
    if (r->tcp != NULL)
        rf_conn_close(r->tcp);
}
