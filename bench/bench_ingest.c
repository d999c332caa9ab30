/* End-to-end receive path on loopback: a plain-socket sender thread blasts
 * pre-encoded text frames (100-300 bytes, like market data) after a real
 * opening handshake; the client is a RingFeed rf_ws_conn on an rf_loop.
 * Reports messages/s, ns per message and how many allocations the receiving
 * thread made per message in steady state (malloc/calloc/realloc are
 * wrapped at link time: -Wl,--wrap=...). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ringfeed/ringfeed.h"
#include "tape.h"

#include "alloc_count.h" /* allocs: this thread's allocations */

#define MESSAGES 2000000

static uint8_t *tape;
static size_t tape_len;
static int listen_fd;

static void build_tape(void) { tape = rf_bench_depth_tape(MESSAGES, &tape_len, NULL); }

static void *sender(void *arg)
{
    int fd = accept(listen_fd, NULL, NULL);
    uint8_t req[4096];
    size_t have = 0;
    rf_ws_server_request r;
    int rc;
    do {
        ssize_t got = read(fd, req + have, sizeof req - have);
        if (got <= 0)
            return NULL;
        have += (size_t)got;
    } while ((rc = rf_ws_server_request_parse(req, have, &r)) == RF_EAGAIN);
    char resp[512];
    int n = rf_ws_server_response_write(resp, sizeof resp, &r.key, NULL);
    if (rc < 0 || n < 0 || write(fd, resp, (size_t)n) != n)
        return NULL;
    for (size_t off = 0; off < tape_len;) {
        ssize_t w = write(fd, tape + off, tape_len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    /* Wait for the client to go away. */
    char sink[256];
    while (read(fd, sink, sizeof sink) > 0) {
    }
    close(fd);
    return NULL;
}

struct client {
    long received;
    long bytes;
    uint64_t t_first, t_last;
    long allocs_at_warm;
    int done;
};

static void on_message(rf_ws_conn *c, void *ctx, unsigned op, const uint8_t *d, size_t n)
{
    struct client *cl = ctx;
    if (cl->received == 10000) {
        cl->t_first = rf_now_ns();
        cl->allocs_at_warm = allocs;
    }
    cl->received++;
    cl->bytes += (long)n;
    if (cl->received == MESSAGES) {
        cl->t_last = rf_now_ns();
        cl->done = 1;
    }
}

static void on_close(rf_ws_conn *c, void *ctx, int code, int error)
{
    struct client *cl = ctx;
    if (!cl->done)
        fprintf(stderr, "bench_ingest: connection ended early: %s\n", rf_strerror(error));
    cl->done = 1;
}

static int run(int single_shot, const char *label)
{
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(listen_fd, 1) != 0)
        return 1;
    getsockname(listen_fd, (struct sockaddr *)&a, &al);
    pthread_t t;
    pthread_create(&t, NULL, sender, NULL);

    rf_loop_config lc = {.force_single_shot = single_shot};
    rf_loop *loop;
    if (rf_loop_create(&loop, &lc) != 0)
        return 1;
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", ntohs(a.sin_port));
    struct client cl = {0};
    rf_ws_conn_handlers h = {.on_message = on_message, .on_close = on_close};
    rf_ws_conn *conn;
    if (rf_ws_connect(loop, url, NULL, &h, &cl, &conn) != 0)
        return 1;
    uint64_t deadline = rf_now_ns() + 60ull * 1000000000ull;
    while (!cl.done && rf_now_ns() < deadline)
        rf_loop_run_once(loop, 100);
    long steady_allocs = allocs - cl.allocs_at_warm;
    double secs = (double)(cl.t_last - cl.t_first) / 1e9;
    long measured = cl.received - 10000;
    if (cl.received == MESSAGES) {
        printf("%-12s %9.0f msg/s  %6.1f ns/msg  %7.1f MB/s  allocations in steady state: %ld (%.6f per message)\n",
               label, measured / secs, secs * 1e9 / measured, (double)cl.bytes / 1e6 * measured / cl.received / secs,
               steady_allocs, (double)steady_allocs / measured);
    }
    rf_ws_conn_abort(conn);
    for (int i = 0; i < 20; i++)
        rf_loop_run_once(loop, 10);
    rf_loop_destroy(loop);
    pthread_join(t, NULL);
    close(listen_fd);
    return cl.received == MESSAGES && steady_allocs == 0 ? 0 : 1;
}

int main(void)
{
    build_tape();
    printf("bench_ingest: %d text frames, %.1f bytes average, loopback TCP, one receiving thread\n", MESSAGES,
           (double)tape_len / MESSAGES);
    int rc = 0;
    for (int rep = 0; rep < 3; rep++) {
        rc |= run(0, "multishot");
        rc |= run(1, "single-shot");
    }
    free(tape);
    if (rc)
        printf("bench_ingest: FAILED (incomplete run or allocations on the receive path)\n");
    return rc;
}
