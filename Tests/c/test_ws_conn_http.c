/* Plain HTTP on the WebSocket server role (on_http_request and
 * rf_ws_conn_http_respond), its request parser, and the fault-injection
 * calls rf_ws_conn_send_raw and rf_ws_conn_stall. Clients are raw sockets
 * (to see the exact bytes), the core's HTTP client and its WebSocket client.
 * Every wait has a deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "ringfeed/error.h"
#include "ringfeed/http_client.h"
#include "ringfeed/loop.h"
#include "ringfeed/ws_conn.h"

#define WAIT_FOR(loop, cond, ms)                                                   \
    do {                                                                           \
        uint64_t dl_ = rf_now_ns() + (uint64_t)(ms) * 1000000u;                    \
        while (!(cond) && rf_now_ns() < dl_)                                       \
            rf_loop_run_once((loop), 10);                                          \
    } while (0)

static int str_is(rf_str s, const char *lit) { return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0; }

/* ---- the parser alone ---- */

static void test_parser(void)
{
    rf_http_server_request r;
    const char *full = "GET /api/v3/depth?symbol=BTCUSDT HTTP/1.1\r\nHost: x\r\nX-A:  b c \r\n\r\nrest";
    size_t n = strlen(full);
    for (size_t i = 0; i < n - 4; i++)
        CHECK_EQ(rf_http_server_request_parse((const uint8_t *)full, i, &r), RF_EAGAIN);
    CHECK_EQ(rf_http_server_request_parse((const uint8_t *)full, n, &r), (long long)(n - 4));
    CHECK(str_is(r.method, "GET"));
    CHECK(str_is(r.target, "/api/v3/depth?symbol=BTCUSDT"));
    CHECK_EQ(r.minor_version, 1);
    CHECK_EQ(r.keep_alive, 1);
    CHECK_EQ(r.upgrade, 0);
    rf_str v;
    CHECK_EQ(rf_http_server_request_header(&r, "x-a", &v), 1);
    CHECK(str_is(v, "b c"));
    CHECK_EQ(rf_http_server_request_header(&r, "Host", &v), 1);
    CHECK(str_is(v, "x"));
    CHECK_EQ(rf_http_server_request_header(&r, "Missing", &v), 0);

    const char *close = "GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n";
    CHECK(rf_http_server_request_parse((const uint8_t *)close, strlen(close), &r) > 0);
    CHECK_EQ(r.keep_alive, 0);
    const char *old = "GET / HTTP/1.0\r\n\r\n";
    CHECK(rf_http_server_request_parse((const uint8_t *)old, strlen(old), &r) > 0);
    CHECK_EQ(r.keep_alive, 0);
    const char *old_keep = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    CHECK(rf_http_server_request_parse((const uint8_t *)old_keep, strlen(old_keep), &r) > 0);
    CHECK_EQ(r.keep_alive, 1);
    const char *up = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n";
    CHECK(rf_http_server_request_parse((const uint8_t *)up, strlen(up), &r) > 0);
    CHECK_EQ(r.upgrade, 1);

    const char *bad[] = {
        "GET / HTTP/1.1\r\n\r\n",                       /* no Host in 1.1 */
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", /* two Hosts */
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",           /* double space */
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",            /* not 1.x */
        "GET /\r\nHost: a\r\n\r\n",                     /* no version */
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",           /* space before colon */
        "GET / HTTP/1.1\nHost: a\r\n\r\n",              /* bare LF */
        "G@T / HTTP/1.1\r\nHost: a\r\n\r\n",            /* not a token */
        "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n", /* control byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_EQ(rf_http_server_request_parse((const uint8_t *)bad[i], strlen(bad[i]), &r), RF_EHS_MALFORMED);

    static uint8_t big[RF_WS_HANDSHAKE_MAX + 10];
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'a', sizeof big - 19);
    CHECK_EQ(rf_http_server_request_parse(big, sizeof big, &r), RF_EHS_TOOBIG);
}

/* ---- a server with routes ---- */

typedef struct server {
    int requests, upgrades_seen, opened, closed, close_code, messages, pings;
    int respond_outside_rc;
    rf_ws_conn *last;
    int raw_on_open;   /* send a reserved-opcode frame on open */
    int stall_on_open; /* go silent on open */
} server;

static void s_on_http(rf_ws_conn *c, void *ctx, const rf_http_server_request *req)
{
    server *s = ctx;
    s->requests++;
    if (req->upgrade) {
        s->upgrades_seen++;
        if (str_is(req->target, "/bad")) {
            static const char body[] = "{\"error\":{\"code\":2,\"msg\":\"Invalid request\"}}";
            CHECK_EQ(rf_ws_conn_http_respond(c, 400, "Content-Type: application/json\r\n", body, sizeof body - 1), 0);
        }
        return; /* unanswered: the upgrade goes ahead */
    }
    if (str_is(req->target, "/hello")) {
        CHECK_EQ(rf_ws_conn_http_respond(c, 200, "Content-Type: text/plain\r\nX-Test: 1\r\n", "hi", 2), 0);
        CHECK_EQ(rf_ws_conn_http_respond(c, 200, NULL, "again", 5), RF_ESTATE); /* once only */
    } else if (str_is(req->target, "/badheader")) {
        CHECK_EQ(rf_ws_conn_http_respond(c, 200, "No-CRLF: x", "x", 1), RF_EINVAL);
        CHECK_EQ(rf_ws_conn_http_respond(c, 99, NULL, "x", 1), RF_EINVAL);
        CHECK_EQ(rf_ws_conn_http_respond(c, 500, NULL, "oops", 4), 0);
    } else if (str_is(req->target, "/abort")) {
        rf_ws_conn_abort(c);
    }
    /* anything else: unanswered, so 404 */
}

static void s_on_open(rf_ws_conn *c, void *ctx)
{
    server *s = ctx;
    s->opened++;
    s->last = c;
    CHECK_EQ(rf_ws_conn_http_respond(c, 200, NULL, NULL, 0), RF_ESTATE); /* not an HTTP phase */
    if (s->raw_on_open) {
        static const uint8_t frame[] = {0x83, 0x02, 'h', 'i'}; /* FIN + reserved opcode 3 */
        CHECK_EQ(rf_ws_conn_send_raw(c, frame, sizeof frame), 0);
    }
    if (s->stall_on_open) {
        CHECK_EQ(rf_ws_conn_send(c, RF_WS_OP_TEXT, "before", 6), 0);
        rf_ws_conn_stall(c);
        CHECK_EQ(rf_ws_conn_send(c, RF_WS_OP_TEXT, "after", 5), RF_ESTATE);
        CHECK_EQ(rf_ws_conn_send_raw(c, "x", 1), RF_ESTATE);
    }
}

static void s_on_message(rf_ws_conn *c, void *ctx, unsigned op, const uint8_t *d, size_t n)
{
    server *s = ctx;
    s->messages++;
    rf_ws_conn_send(c, op, d, n);
}

static void s_on_ping(rf_ws_conn *c, void *ctx, const uint8_t *d, size_t n) { ((server *)ctx)->pings++; }

static void s_on_close(rf_ws_conn *c, void *ctx, int code, int error)
{
    server *s = ctx;
    s->closed++;
    s->close_code = code;
    if (s->last == c)
        s->last = NULL;
}

static const rf_ws_conn_handlers server_handlers = {
    .on_open = s_on_open,
    .on_message = s_on_message,
    .on_ping = s_on_ping,
    .on_close = s_on_close,
    .on_http_request = s_on_http,
};

/* ---- a raw socket client ---- */

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads what arrives within ms (running the loop meanwhile); *eof tells
 * whether the server closed. */
static size_t raw_read(rf_loop *loop, int fd, char *buf, size_t cap, int ms, int *eof)
{
    size_t got = 0;
    *eof = 0;
    uint64_t dl = rf_now_ns() + (uint64_t)ms * 1000000u;
    while (rf_now_ns() < dl && !*eof && got < cap - 1) {
        rf_loop_run_once(loop, 5);
        ssize_t r = recv(fd, buf + got, cap - 1 - got, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
        else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            *eof = 1;
    }
    buf[got] = '\0';
    return got;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_plain_requests(rf_loop *loop, uint16_t port, server *s)
{
    char buf[8192];
    int eof;

    /* Connection: close: one answer, then the server closes. */
    int fd = raw_connect(port);
    const char *req = "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    CHECK_EQ(send(fd, req, strlen(req), 0), (long long)strlen(req));
    raw_read(loop, fd, buf, sizeof buf, 2000, &eof);
    CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(buf, "Content-Length: 2\r\n") != NULL);
    CHECK(strstr(buf, "Connection: close\r\n") != NULL);
    CHECK(strstr(buf, "X-Test: 1\r\n") != NULL);
    CHECK(strstr(buf, "\r\n\r\nhi") != NULL && buf[strlen(buf) - 1] == 'i');
    CHECK_EQ(eof, 1);
    close(fd);

    /* Keep-alive: pipelined requests (one unknown -> 404, one HEAD) in one
     * send, answered in order; the connection stays open for a fourth. */
    fd = raw_connect(port);
    req = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /nothing HTTP/1.1\r\nHost: t\r\n\r\n"
          "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    CHECK_EQ(send(fd, req, strlen(req), 0), (long long)strlen(req));
    raw_read(loop, fd, buf, sizeof buf, 300, &eof);
    CHECK_EQ(eof, 0);
    CHECK_EQ(count(buf, "HTTP/1.1 "), 3);
    char *second = strstr(buf + 1, "HTTP/1.1 404 Not Found\r\n");
    char *third = second ? strstr(second + 1, "HTTP/1.1 200 OK\r\n") : NULL;
    CHECK(second != NULL && third != NULL);
    CHECK(strstr(buf, "Connection: keep-alive\r\n") != NULL);
    /* HEAD: the length of the GET body, but no body. */
    CHECK(third != NULL && strstr(third, "Content-Length: 2\r\n") != NULL);
    CHECK(third != NULL && strcmp(third + strlen(third) - 4, "\r\n\r\n") == 0);
    req = "GET /badheader HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    send(fd, req, strlen(req), 0);
    raw_read(loop, fd, buf, sizeof buf, 2000, &eof);
    CHECK(strncmp(buf, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
    CHECK(strstr(buf, "\r\n\r\noops") != NULL);
    CHECK_EQ(eof, 1);
    close(fd);

    /* A request split over several sends. */
    fd = raw_connect(port);
    send(fd, "GET /hel", 8, 0);
    raw_read(loop, fd, buf, sizeof buf, 50, &eof);
    CHECK_EQ(strlen(buf), 0);
    send(fd, "lo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r", 42, 0);
    raw_read(loop, fd, buf, sizeof buf, 50, &eof);
    CHECK_EQ(strlen(buf), 0);
    send(fd, "\n", 1, 0);
    raw_read(loop, fd, buf, sizeof buf, 2000, &eof);
    CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    close(fd);

    /* A body is refused; a malformed head too. */
    fd = raw_connect(port);
    req = "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
    send(fd, req, strlen(req), 0);
    raw_read(loop, fd, buf, sizeof buf, 2000, &eof);
    CHECK(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    CHECK_EQ(eof, 1);
    close(fd);
    fd = raw_connect(port);
    req = "GET /hello HTTP/1.1\r\nHost : t\r\n\r\n";
    send(fd, req, strlen(req), 0);
    raw_read(loop, fd, buf, sizeof buf, 2000, &eof);
    CHECK(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    CHECK_EQ(eof, 1);
    close(fd);

    /* The handler may end the connection instead of answering. */
    fd = raw_connect(port);
    req = "GET /abort HTTP/1.1\r\nHost: t\r\n\r\n";
    send(fd, req, strlen(req), 0);
    raw_read(loop, fd, buf, sizeof buf, 2000, &eof);
    CHECK_EQ(strlen(buf), 0);
    CHECK_EQ(eof, 1);
    close(fd);

    /* A refused upgrade: the handler's status and body, then close. */
    fd = raw_connect(port);
    req = "GET /bad HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    send(fd, req, strlen(req), 0);
    raw_read(loop, fd, buf, sizeof buf, 2000, &eof);
    CHECK(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    CHECK(strstr(buf, "Connection: close\r\n") != NULL);
    CHECK(strstr(buf, "\r\n\r\n{\"error\":{\"code\":2") != NULL);
    CHECK_EQ(eof, 1);
    close(fd);
    CHECK_EQ(s->opened, 0);
}

/* ---- the core's own HTTP client ---- */

typedef struct got {
    int done, error, status;
    char body[64];
} got;

static void on_done(void *ctx, int error, const rf_http_response *resp)
{
    got *g = ctx;
    g->done = 1;
    g->error = error;
    if (resp) {
        g->status = rf_http_response_status(resp);
        size_t n;
        const uint8_t *b = rf_http_response_body(resp, &n);
        if (n < sizeof g->body) {
            memcpy(g->body, b, n);
            g->body[n] = '\0';
        }
    }
}

static void test_http_client(rf_loop *loop, uint16_t port)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hello", port);
    got g = {0};
    CHECK_EQ(rf_http_get(loop, url, NULL, on_done, &g, NULL), 0);
    WAIT_FOR(loop, g.done, 3000);
    CHECK_EQ(g.error, 0);
    CHECK_EQ(g.status, 200);
    CHECK(strcmp(g.body, "hi") == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/elsewhere", port);
    got h = {0};
    CHECK_EQ(rf_http_get(loop, url, NULL, on_done, &h, NULL), 0);
    WAIT_FOR(loop, h.done, 3000);
    CHECK_EQ(h.error, 0);
    CHECK_EQ(h.status, 404);
}

/* ---- WebSocket clients: accepted upgrade, raw frame, stall ---- */

typedef struct client {
    int opened, closed, code, error, messages, pongs;
    char last[32];
    char refusal[128];
} client;

static void c_on_open(rf_ws_conn *c, void *ctx) { ((client *)ctx)->opened++; }
static void c_on_message(rf_ws_conn *c, void *ctx, unsigned op, const uint8_t *d, size_t n)
{
    client *k = ctx;
    k->messages++;
    if (n < sizeof k->last) {
        memcpy(k->last, d, n);
        k->last[n] = '\0';
    }
}
static void c_on_pong(rf_ws_conn *c, void *ctx, const uint8_t *d, size_t n) { ((client *)ctx)->pongs++; }
static void c_on_close(rf_ws_conn *c, void *ctx, int code, int error)
{
    client *k = ctx;
    k->closed++;
    k->code = code;
    k->error = error;
    snprintf(k->refusal, sizeof k->refusal, "%s", rf_ws_conn_refusal(c));
}

static const rf_ws_conn_handlers client_handlers = {
    .on_open = c_on_open, .on_message = c_on_message, .on_pong = c_on_pong, .on_close = c_on_close};

static void test_websocket(rf_loop *loop, uint16_t port, server *s)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/ok", port);

    /* An upgrade the handler leaves alone is accepted. */
    int seen = s->upgrades_seen;
    client k = {0};
    rf_ws_conn *c = NULL;
    CHECK_EQ(rf_ws_connect(loop, url, NULL, &client_handlers, &k, &c), 0);
    WAIT_FOR(loop, k.opened, 3000);
    CHECK_EQ(s->upgrades_seen, seen + 1);
    CHECK_EQ(strcmp(rf_ws_conn_path(s->last), "/ok"), 0);
    CHECK_EQ(rf_ws_conn_send(c, RF_WS_OP_TEXT, "echo", 4), 0);
    WAIT_FOR(loop, k.messages, 3000);
    CHECK(strcmp(k.last, "echo") == 0);
    rf_ws_conn_close(c, 1000, NULL, 0);
    WAIT_FOR(loop, k.closed, 3000);
    CHECK_EQ(k.code, 1000);

    /* A refused upgrade reaches the WebSocket client as a status error. */
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/bad", port);
    client r = {0};
    CHECK_EQ(rf_ws_connect(loop, url, NULL, &client_handlers, &r, NULL), 0);
    WAIT_FOR(loop, r.closed, 3000);
    CHECK_EQ(r.opened, 0);
    CHECK_EQ(r.error, RF_EHS_STATUS);
    /* ... with the server's own words kept for the user. */
    CHECK(strncmp(r.refusal, "400 Bad Request: ", 17) == 0);
    CHECK(strstr(r.refusal, "{\"error\":{\"code\":2,\"msg\":\"Invalid request\"}}") != NULL);
    CHECK_EQ(k.refusal[0], '\0'); /* an accepted upgrade has none */

    /* A reserved opcode sent raw: the client fails the connection with 1002. */
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/ok", port);
    s->raw_on_open = 1;
    client m = {0};
    CHECK_EQ(rf_ws_connect(loop, url, NULL, &client_handlers, &m, NULL), 0);
    WAIT_FOR(loop, m.closed, 3000);
    s->raw_on_open = 0;
    CHECK_EQ(m.opened, 1);
    CHECK_EQ(m.code, RF_WS_CLOSE_PROTOCOL_ERROR);
    CHECK_EQ(m.error, RF_EPROTO_OPCODE);

    /* Stalled: what was queued before arrives; then no pong, no echo, and
     * the socket stays open until the server aborts it. */
    s->stall_on_open = 1;
    client q = {0};
    int msgs = s->messages, pings = s->pings;
    CHECK_EQ(rf_ws_connect(loop, url, NULL, &client_handlers, &q, &c), 0);
    WAIT_FOR(loop, q.messages, 3000);
    s->stall_on_open = 0;
    CHECK(strcmp(q.last, "before") == 0);
    CHECK_EQ(rf_ws_conn_ping(c, "p", 1), 0);
    CHECK_EQ(rf_ws_conn_send(c, RF_WS_OP_TEXT, "x", 1), 0);
    WAIT_FOR(loop, q.closed, 300);
    CHECK_EQ(q.closed, 0);
    CHECK_EQ(q.pongs, 0);
    CHECK_EQ(q.messages, 1);
    CHECK_EQ(s->messages, msgs);
    CHECK_EQ(s->pings, pings);
    CHECK(s->last != NULL);
    if (s->last)
        rf_ws_conn_abort(s->last);
    WAIT_FOR(loop, q.closed, 3000);
    CHECK_EQ(q.code, RF_WS_CLOSE_ABNORMAL);
}

/* Without on_http_request, plain requests are refused as before. */
static void test_without_handler(rf_loop *loop)
{
    rf_ws_conn_handlers h = server_handlers;
    h.on_http_request = NULL;
    server s = {0};
    rf_ws_server *srv = NULL;
    CHECK_EQ(rf_ws_listen(loop, "127.0.0.1", 0, NULL, &h, &s, &srv), 0);
    int fd = raw_connect(rf_ws_server_port(srv));
    const char *req = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    send(fd, req, strlen(req), 0);
    char buf[1024];
    int eof;
    raw_read(loop, fd, buf, sizeof buf, 2000, &eof);
    CHECK(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    CHECK_EQ(eof, 1);
    CHECK_EQ(s.requests, 0);
    close(fd);
    rf_ws_server_close(srv);
}

int main(void)
{
    test_parser();
    rf_loop *loop = NULL;
    CHECK_EQ(rf_loop_create(&loop, NULL), 0);
    server s = {0};
    rf_ws_server *srv = NULL;
    CHECK_EQ(rf_ws_listen(loop, "127.0.0.1", 0, NULL, &server_handlers, &s, &srv), 0);
    uint16_t port = rf_ws_server_port(srv);
    test_plain_requests(loop, port, &s);
    test_http_client(loop, port);
    test_websocket(loop, port, &s);
    test_without_handler(loop);
    rf_ws_server_close(srv);
    WAIT_FOR(loop, 0, 50);
    rf_loop_destroy(loop);
    TEST_DONE("ws_conn_http");
}
