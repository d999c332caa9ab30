/* The client role: connect, send the upgrade request, check the answer. */
#include <stdlib.h>
#include <string.h>

#include "ringfeed/error.h"
#include "ringfeed/url.h"
#include "ws_conn_internal.h"

static int build_request(rf_ws_conn *c, const rf_url *url, const rf_ws_conn_config *cfg)
{
    char host[300];
    if (rf_url_host_header(url, host, sizeof host) < 0)
        return RF_EURL;
    int rc = rf_ws_make_key(c->key);
    if (rc != 0)
        return rc;
    rf_ws_client_request req = {
        .host = host,
        .path = url->path,
        .key = c->key,
        .protocols = cfg ? cfg->protocols : NULL,
        .extra_headers = cfg ? cfg->extra_headers : NULL,
    };
    if (req.protocols != NULL && (c->protocols = strdup(req.protocols)) == NULL)
        return RF_ENOMEM;
    size_t cap = 512 + strlen(host) + strlen(url->path) +
                 (req.protocols ? strlen(req.protocols) : 0) +
                 (req.extra_headers ? strlen(req.extra_headers) : 0);
    c->request = malloc(cap);
    if (c->request == NULL)
        return RF_ENOMEM;
    rc = rf_ws_client_request_write(c->request, cap, &req);
    if (rc < 0)
        return rc;
    c->request_len = (size_t)rc;
    return 0;
}

/* Keeps what a server said when it refused the upgrade ("400 Bad Request:
 * {"code":2,...}"): exchanges explain a bad stream name in the body, and
 * "server did not answer 101" alone leaves the user guessing. The body is
 * what arrived with the head, cut short and with control bytes blanked. */
static void keep_refusal(rf_ws_conn *c)
{
    const uint8_t *p = c->hs;
    size_t n = c->hs_len, line = 0, body = n;
    while (line + 1 < n && !(p[line] == '\r' && p[line + 1] == '\n'))
        line++;
    for (size_t i = 0; i + 3 < n; i++) {
        if (memcmp(p + i, "\r\n\r\n", 4) == 0) {
            body = i + 4;
            break;
        }
    }
    size_t skip = line > 9 ? 9 : line; /* "HTTP/1.1 " */
    size_t status_len = line - skip, body_len = n - body;
    if (body_len > 200)
        body_len = 200;
    char *out = malloc(status_len + body_len + 3);
    if (out == NULL)
        return;
    size_t k = 0;
    for (size_t i = skip; i < line; i++)
        out[k++] = (p[i] < 0x20 || p[i] == 0x7f) ? ' ' : (char)p[i];
    if (body_len > 0) {
        out[k++] = ':';
        out[k++] = ' ';
        for (size_t i = body; i < body + body_len; i++)
            out[k++] = (p[i] < 0x20 || p[i] == 0x7f) ? ' ' : (char)p[i];
    }
    out[k] = '\0';
    free(c->refusal);
    c->refusal = out;
}

const char *rf_ws_conn_refusal(const rf_ws_conn *c)
{
    return c != NULL && c->refusal != NULL ? c->refusal : "";
}

void rf__ws_client_on_handshake_data(rf_ws_conn *c)
{
    rf_ws_client_response resp;
    int rc = rf_ws_client_response_parse(c->hs, c->hs_len, c->key, c->protocols, NULL, &resp);
    if (rc == RF_EAGAIN)
        return;
    if (rc == RF_EHS_STATUS)
        keep_refusal(c);
    if (rc < 0) {
        rf__ws_conn_end(c, rc, 0);
        return;
    }
    rf__ws_conn_open(c, (size_t)rc);
}

static void discard(rf_ws_conn *c)
{
    free(c->request);
    free(c->protocols);
    free(c->tls_host);
    free(c->refusal);
    free(c);
}

int rf_ws_connect(rf_loop *loop, const char *url_text, const rf_ws_conn_config *cfg,
                  const rf_ws_conn_handlers *h, void *ctx, rf_ws_conn **out)
{
    if (loop == NULL || url_text == NULL || h == NULL)
        return RF_EINVAL;
    rf_url url;
    int rc = rf_url_parse(url_text, &url);
    if (rc != 0)
        return rc;
    if (strcmp(url.scheme, "ws") != 0 && strcmp(url.scheme, "wss") != 0)
        return RF_EURL;

    rf_ws_conn *c = rf__ws_conn_new(loop, RF_WS_CLIENT, cfg, h, ctx);
    if (c == NULL)
        return RF_ENOMEM;
    rc = build_request(c, &url, cfg);
    if (rc == 0 && url.tls) {
        c->use_tls = 1;
        c->tls_ctx = cfg ? cfg->tls : NULL;
        c->tls_port = url.port;
        if ((c->tls_host = strdup(url.host)) == NULL)
            rc = RF_ENOMEM;
    }
    if (rc != 0) {
        discard(c);
        return rc;
    }
    c->phase = RF__WS_CONNECTING;
    rc = rf_tcp_connect(loop, url.host, url.port, &rf__ws_conn_tcp_handlers, c, &c->tcp);
    if (rc != 0) {
        discard(c);
        return rc;
    }
    rf__ws_conn_start_handshake_deadline(c);
    if (out != NULL)
        *out = c;
    return 0;
}
