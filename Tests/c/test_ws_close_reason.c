/* rf_ws_conn_close_reason: the reason text of the peer's close frame reaches
 * on_close on both roles (an exchange's "1008 Too many requests" must not be
 * reduced to a number), the longest legal reason arrives whole, and closes
 * without one (no reason, an aborted socket, our own failure) report "".
 * Loopback only; every wait has a deadline. */
#include <string.h>

#include "check.h"
#include "ringfeed/error.h"
#include "ringfeed/loop.h"
#include "ringfeed/ws_conn.h"

#define WAIT_FOR(loop, cond, ms)                                                   \
    do {                                                                           \
        uint64_t dl_ = rf_now_ns() + (uint64_t)(ms) * 1000000u;                    \
        while (!(cond) && rf_now_ns() < dl_)                                       \
            rf_loop_run_once((loop), 10);                                          \
    } while (0)

/* One side's view of its connection's end. */
typedef struct side {
    int opened, closed, code, error;
    char reason[160];
    rf_ws_conn *conn;
} side;

/* What the server does when a client's message arrives: close with the
 * message's text as the reason (so each test picks its own), abort, or
 * send a bad frame so the client fails the connection itself. */
static void s_on_open(rf_ws_conn *c, void *ctx)
{
    side *s = ctx;
    s->opened++;
    s->conn = c;
}

static void s_on_message(rf_ws_conn *c, void *ctx, unsigned op, const uint8_t *d, size_t n)
{
    if (n >= 5 && memcmp(d, "abort", 5) == 0) {
        rf_ws_conn_abort(c);
    } else if (n >= 3 && memcmp(d, "bad", 3) == 0) {
        static const uint8_t frame[] = {0x83, 0x00}; /* reserved opcode 3 */
        CHECK_EQ(rf_ws_conn_send_raw(c, frame, sizeof frame), 0);
    } else if (n >= 5 && memcmp(d, "close", 5) == 0) {
        /* "close:CODE:REASON" */
        int code = atoi((const char *)d + 6);
        const uint8_t *colon = memchr(d + 6, ':', n - 6);
        size_t rl = colon ? n - (size_t)(colon + 1 - d) : 0;
        CHECK_EQ(rf_ws_conn_close(c, code, colon ? (const char *)colon + 1 : NULL, rl), 0);
    }
}

static void on_close(rf_ws_conn *c, void *ctx, int code, int error)
{
    side *s = ctx;
    s->closed++;
    s->code = code;
    s->error = error;
    snprintf(s->reason, sizeof s->reason, "%s", rf_ws_conn_close_reason(c));
    s->conn = NULL;
}

static void c_on_open(rf_ws_conn *c, void *ctx) { ((side *)ctx)->opened++; }

static const rf_ws_conn_handlers server_h = {
    .on_open = s_on_open, .on_message = s_on_message, .on_close = on_close};
static const rf_ws_conn_handlers client_h = {.on_open = c_on_open, .on_close = on_close};

/* Connects a client, sends cmd, waits for both ends to close. */
static void run(rf_loop *loop, uint16_t port, side *srv, side *cli, const char *cmd, rf_ws_conn **out)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", port);
    memset(srv, 0, sizeof *srv);
    memset(cli, 0, sizeof *cli);
    rf_ws_conn *c = NULL;
    CHECK_EQ(rf_ws_connect(loop, url, NULL, &client_h, cli, &c), 0);
    WAIT_FOR(loop, cli->opened && srv->opened, 3000);
    CHECK_EQ(cli->opened, 1);
    if (out) {
        *out = c;
        return;
    }
    CHECK_EQ(rf_ws_conn_send(c, RF_WS_OP_TEXT, cmd, strlen(cmd)), 0);
    WAIT_FOR(loop, cli->closed && srv->closed, 3000);
    CHECK_EQ(cli->closed, 1);
    CHECK_EQ(srv->closed, 1);
}

int main(void)
{
    rf_loop *loop = NULL;
    CHECK_EQ(rf_loop_create(&loop, NULL), 0);
    side srv, cli;
    rf_ws_server *server = NULL;
    CHECK_EQ(rf_ws_listen(loop, "127.0.0.1", 0, NULL, &server_h, &srv, &server), 0);
    uint16_t port = rf_ws_server_port(server);

    /* The server closes with a reason, as Binance does past 5 messages a
     * second: the client sees code and text; the server got the bare echo. */
    run(loop, port, &srv, &cli, "close:1008:Too many requests", NULL);
    CHECK_EQ(cli.code, 1008);
    CHECK_EQ(cli.error, 0);
    CHECK(strcmp(cli.reason, "Too many requests") == 0);
    CHECK_EQ(srv.code, 1008);
    CHECK_EQ(srv.reason[0], '\0');

    /* Non-ASCII UTF-8 arrives as sent. */
    run(loop, port, &srv, &cli, "close:1001:au revoir \xc3\xa0 bient\xc3\xb4t", NULL);
    CHECK_EQ(cli.code, 1001);
    CHECK(strcmp(cli.reason, "au revoir \xc3\xa0 bient\xc3\xb4t") == 0);

    /* The longest reason a control frame can carry (123 bytes) is kept whole. */
    char cmd[160] = "close:4000:";
    size_t at = strlen(cmd);
    for (size_t i = 0; i < 123; i++)
        cmd[at + i] = (char)('a' + i % 26);
    cmd[at + 123] = '\0';
    run(loop, port, &srv, &cli, cmd, NULL);
    CHECK_EQ(cli.code, 4000);
    CHECK_EQ(strlen(cli.reason), 123);
    CHECK(strcmp(cli.reason, cmd + at) == 0);

    /* A close code without a reason: "". */
    run(loop, port, &srv, &cli, "close:1000", NULL);
    CHECK_EQ(cli.code, 1000);
    CHECK_EQ(cli.error, 0);
    CHECK_EQ(cli.reason[0], '\0');

    /* The client closes with a reason: the server role sees it too. */
    rf_ws_conn *c = NULL;
    run(loop, port, &srv, &cli, NULL, &c);
    CHECK_EQ(rf_ws_conn_close(c, 1000, "bye now", 7), 0);
    WAIT_FOR(loop, cli.closed && srv.closed, 3000);
    CHECK_EQ(srv.code, 1000);
    CHECK(strcmp(srv.reason, "bye now") == 0);
    CHECK_EQ(cli.code, 1000);
    CHECK_EQ(cli.reason[0], '\0'); /* the server's echo carries none */

    /* No close frame at all: 1006 and "". */
    run(loop, port, &srv, &cli, "abort", NULL);
    CHECK_EQ(cli.code, RF_WS_CLOSE_ABNORMAL);
    CHECK_EQ(cli.reason[0], '\0');

    /* The client fails the connection itself (a reserved opcode): its own
     * close is not reported as the peer's reason. */
    run(loop, port, &srv, &cli, "bad", NULL);
    CHECK_EQ(cli.code, RF_WS_CLOSE_PROTOCOL_ERROR);
    CHECK_EQ(cli.error, RF_EPROTO_OPCODE);
    CHECK_EQ(cli.reason[0], '\0');

    /* Outside a connection: "" rather than a crash. */
    CHECK(strcmp(rf_ws_conn_close_reason(NULL), "") == 0);

    rf_ws_server_close(server);
    WAIT_FOR(loop, 0, 50);
    rf_loop_destroy(loop);
    TEST_DONE("ws_close_reason");
}
