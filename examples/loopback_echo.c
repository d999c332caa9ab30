/* A C program linking libringfeed.a: an echo server and a client on one
 * io_uring loop. The client sends messages of growing size, checks every
 * echo byte for byte, then runs the close handshake.
 *
 *   cc loopback_echo.c $(pkg-config --cflags --static --libs ringfeed)
 *   ./a.out [messages]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringfeed/ringfeed.h>

struct client {
    rf_ws_conn *conn;
    int sent, received, total, failed;
    int done, close_code, close_error;
    uint8_t *payload;
};

static size_t size_of(int i) { return (size_t)(i * 37) % 70000; }

static void fill(uint8_t *p, size_t n, int i)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (uint8_t)('a' + (k + (size_t)i) % 26);
}

static void send_next(struct client *cl)
{
    size_t n = size_of(cl->sent);
    fill(cl->payload, n, cl->sent);
    if (rf_ws_conn_send(cl->conn, RF_WS_OP_TEXT, cl->payload, n) != 0)
        cl->failed = 1;
    cl->sent++;
}

static void client_open(rf_ws_conn *c, void *ctx)
{
    struct client *cl = ctx;
    cl->conn = c;
    send_next(cl);
}

static void client_message(rf_ws_conn *c, void *ctx, unsigned opcode, const uint8_t *data, size_t len)
{
    struct client *cl = ctx;
    size_t want = size_of(cl->received);
    fill(cl->payload, want, cl->received);
    if (opcode != RF_WS_OP_TEXT || len != want || memcmp(data, cl->payload, len) != 0)
        cl->failed = 1;
    cl->received++;
    if (cl->sent < cl->total)
        send_next(cl);
    else
        rf_ws_conn_close(c, RF_WS_CLOSE_NORMAL, "bye", 3);
}

static void client_close(rf_ws_conn *c, void *ctx, int code, int error)
{
    struct client *cl = ctx;
    cl->done = 1;
    cl->close_code = code;
    cl->close_error = error;
}

static void echo(rf_ws_conn *c, void *ctx, unsigned opcode, const uint8_t *data, size_t len)
{
    rf_ws_conn_send(c, opcode, data, len);
}

int main(int argc, char **argv)
{
    struct client cl = {.total = argc > 1 ? atoi(argv[1]) : 2000};
    cl.payload = malloc(70000);
    rf_loop *loop;
    int rc = rf_loop_create(&loop, NULL);
    if (rc != 0) {
        fprintf(stderr, "loopback_echo: cannot create loop: %s\n", rf_strerror(rc));
        return 1;
    }
    rf_ws_conn_handlers server_h = {.on_message = echo};
    rf_ws_server *server;
    rc = rf_ws_listen(loop, "127.0.0.1", 0, NULL, &server_h, NULL, &server);
    if (rc != 0) {
        fprintf(stderr, "loopback_echo: listen: %s\n", rf_strerror(rc));
        return 1;
    }
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/echo", rf_ws_server_port(server));
    rf_ws_conn_handlers client_h = {
        .on_open = client_open, .on_message = client_message, .on_close = client_close};
    rc = rf_ws_connect(loop, url, NULL, &client_h, &cl, NULL);
    if (rc != 0) {
        fprintf(stderr, "loopback_echo: connect: %s\n", rf_strerror(rc));
        return 1;
    }
    uint64_t deadline = rf_now_ns() + 30ull * 1000000000ull;
    while (!cl.done && rf_now_ns() < deadline)
        rf_loop_run_once(loop, 10);
    rf_ws_server_close(server);
    rf_loop_destroy(loop);
    free(cl.payload);

    int ok = cl.done && !cl.failed && cl.received == cl.total && cl.close_code == 1000 && cl.close_error == 0;
    printf("loopback_echo: %d/%d messages echoed, close %d (%s), %s\n",
           cl.received, cl.total, cl.close_code, cl.close_error ? rf_strerror(cl.close_error) : "clean",
           ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
