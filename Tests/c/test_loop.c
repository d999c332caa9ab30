/* The io_uring event loop, run twice: with the detected receive mode and
 * with single-shot receive forced. Every wait is bounded by a deadline so a
 * bug fails a check instead of hanging; alarm() is the last resort. */
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ringfeed/error.h"
#include "ringfeed/loop.h"

#define MIB ((size_t)1 << 20)

/* Polls the loop until cond holds or ms elapse. */
#define WAIT_FOR(loop, cond, ms)                                                   \
    do {                                                                           \
        uint64_t dl_ = rf_now_ns() + (uint64_t)(ms) * 1000000u;                    \
        while (!(cond) && rf_now_ns() < dl_)                                       \
            rf_loop_run_once((loop), 10);                                          \
    } while (0)

static int g_force;

static int fd_count(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static uint8_t pat(size_t i) {
    return (uint8_t)((i ^ (i >> 8) ^ (i >> 16) ^ (i >> 24)) * 31u + 7u);
}

static rf_loop *new_loop(void) {
    rf_loop_config cfg = {0};
    cfg.force_single_shot = g_force;
    cfg.buf_count = 16; /* small, so -ENOBUFS and re-arming get exercised */
    cfg.buf_size = 16384;
    rf_loop *loop = NULL;
    int r = rf_loop_create(&loop, &cfg);
    CHECK_EQ(r, 0);
    return loop;
}

/* ---- a connection endpoint used by both sides ---- */

enum { M_SINK, M_ECHO, M_CLOSE_ON_DATA };

typedef struct peer {
    rf_conn *c;
    int mode;
    int connected, closed, reason, data_calls, data_after_close;
    size_t rx;
    long bad; /* bytes that did not match the pattern */
    bool verify;
    size_t rx_at_close;
    rf_timer *ping; /* like the WebSocket layer's: cancelled in on_close */
} peer;

static void p_on_connect(rf_conn *c, void *ctx) {
    peer *p = ctx;
    p->connected++;
    (void)c;
}

static void p_on_data(rf_conn *c, void *ctx, uint8_t *data, size_t len) {
    peer *p = ctx;
    p->data_calls++;
    if (p->closed)
        p->data_after_close++;
    if (p->verify)
        for (size_t i = 0; i < len; i++)
            if (data[i] != pat(p->rx + i))
                p->bad++;
    p->rx += len;
    if (p->mode == M_ECHO) {
        /* The WebSocket layer's pattern: reserve + commit from on_data. */
        uint8_t *dst = rf_conn_reserve(c, len);
        if (!dst) {
            p->bad++;
            return;
        }
        memcpy(dst, data, len);
        if (rf_conn_commit(c, len) != 0)
            p->bad++;
    } else if (p->mode == M_CLOSE_ON_DATA) {
        rf_conn_close(c);
        rf_conn_close(c); /* twice: still one on_close */
    }
}

static void p_on_close(rf_conn *c, void *ctx, int reason) {
    peer *p = ctx;
    (void)c;
    p->closed++;
    p->reason = reason;
    p->rx_at_close = p->rx;
    p->c = NULL;
    if (p->ping) {
        rf_timer_cancel(p->ping);
        p->ping = NULL;
    }
}

static void never_cb(rf_loop *loop, void *arg) {
    peer *p = arg;
    (void)loop;
    p->bad += 1000; /* must not run */
    p->ping = NULL;
}

static const rf_conn_handlers peer_handlers = {p_on_connect, p_on_data, p_on_close};

/* ---- a server: accepts into an array of peers ---- */

typedef struct server {
    rf_listener *l;
    int accepted;
    int mode;
    bool verify;
    size_t graceful_bytes; /* > 0: queue this much, then close gracefully */
    uint64_t graceful_timeout;
    peer peers[8];
} server;

static void s_on_accept(rf_listener *l, void *ctx, rf_conn *c) {
    server *s = ctx;
    (void)l;
    if (s->accepted >= 8)
        return; /* untaken: the loop closes it */
    peer *p = &s->peers[s->accepted++];
    memset(p, 0, sizeof *p);
    p->c = c;
    p->mode = s->mode;
    p->verify = s->verify;
    rf_conn_set_handlers(c, &peer_handlers, p);
    if (s->graceful_bytes) {
        uint8_t *dst = rf_conn_reserve(c, s->graceful_bytes);
        CHECK(dst != NULL);
        if (!dst)
            return;
        for (size_t i = 0; i < s->graceful_bytes; i++)
            dst[i] = pat(i);
        CHECK_EQ(rf_conn_commit(c, s->graceful_bytes), 0);
        rf_conn_close_graceful(c, s->graceful_timeout);
        /* After a graceful close nothing more may be queued. */
        CHECK(rf_conn_reserve(c, 1) == NULL);
    }
}

static uint16_t start_server(rf_loop *loop, server *s, int mode) {
    memset(s, 0, sizeof *s);
    s->mode = mode;
    int r = rf_tcp_listen(loop, "127.0.0.1", 0, 16, s_on_accept, s, &s->l);
    CHECK_EQ(r, 0);
    uint16_t port = r == 0 ? rf_listener_port(s->l) : 0;
    CHECK(port != 0);
    return port;
}

static int connect_peer(rf_loop *loop, uint16_t port, peer *p, int mode) {
    memset(p, 0, sizeof *p);
    p->mode = mode;
    int r = rf_tcp_connect(loop, "127.0.0.1", port, &peer_handlers, p, &p->c);
    CHECK_EQ(r, 0);
    return r;
}

/* ---- tests ---- */

static void test_echo(void) {
    rf_loop *loop = new_loop();
    server s;
    uint16_t port = start_server(loop, &s, M_ECHO);
    peer cl;
    connect_peer(loop, port, &cl, M_SINK);
    cl.verify = true;
    /* Queued before the connect completes: goes out once connected. */
    uint8_t msg[100];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = pat(i);
    CHECK_EQ(rf_conn_send(cl.c, msg, sizeof msg), 0);
    WAIT_FOR(loop, cl.rx >= sizeof msg, 5000);
    CHECK_EQ(cl.connected, 1);
    CHECK_EQ(cl.rx, sizeof msg);
    CHECK_EQ(cl.bad, 0);
    CHECK_EQ(s.accepted, 1);
    CHECK_EQ(rf_conn_pending(cl.c), 0);
    CHECK(rf_conn_fd(cl.c) >= 0);
    CHECK(rf_conn_loop(cl.c) == loop);

    /* Many small sends become few large ones. */
    const size_t n = 10000, each = 8;
    for (size_t i = 0; i < n; i++) {
        uint8_t b[8];
        for (size_t k = 0; k < each; k++)
            b[k] = pat(sizeof msg + i * each + k);
        CHECK_EQ(rf_conn_send(cl.c, b, each), 0);
    }
    CHECK_EQ(rf_conn_pending(cl.c), n * each);
    WAIT_FOR(loop, cl.rx >= sizeof msg + n * each, 5000);
    CHECK_EQ(cl.rx, sizeof msg + n * each);
    CHECK_EQ(cl.bad, 0);
    CHECK(s.peers[0].data_calls < 100);
    printf("  %zu small sends arrived in %d reads\n", n, s.peers[0].data_calls);

    /* Client closes: both sides see an orderly close, once. */
    rf_conn_close(cl.c);
    CHECK_EQ(cl.closed, 0); /* never from inside the call */
    WAIT_FOR(loop, cl.closed && s.peers[0].closed, 5000);
    CHECK_EQ(cl.closed, 1);
    CHECK_EQ(cl.reason, 0);
    CHECK_EQ(s.peers[0].closed, 1);
    CHECK_EQ(s.peers[0].reason, 0);
    rf_listener_close(s.l);
    rf_loop_destroy(loop);
    CHECK_EQ(cl.closed, 1);
}

static void test_big(void) {
    rf_loop *loop = new_loop();
    server s;
    uint16_t port = start_server(loop, &s, M_ECHO);
    s.verify = true;
    peer cl;
    connect_peer(loop, port, &cl, M_SINK);
    cl.verify = true;
    WAIT_FOR(loop, cl.connected, 5000);
    CHECK_EQ(cl.connected, 1);
    const size_t total = 32 * MIB;
    uint8_t *big = malloc(total);
    CHECK(big != NULL);
    if (!big)
        return;
    for (size_t i = 0; i < total; i++)
        big[i] = pat(i);
    uint64_t t0 = rf_now_ns();
    /* One 32 MiB message in one call: must be resumed across short writes. */
    CHECK_EQ(rf_conn_send(cl.c, big, total), 0);
    free(big);
    WAIT_FOR(loop, cl.rx >= total, 60000);
    double ms = (double)(rf_now_ns() - t0) / 1e6;
    CHECK_EQ(cl.rx, total);
    CHECK_EQ(cl.bad, 0);
    CHECK_EQ(s.accepted, 1);
    CHECK_EQ(s.peers[0].rx, total);
    CHECK_EQ(s.peers[0].bad, 0);
    CHECK_EQ(rf_conn_pending(cl.c), 0);
    WAIT_FOR(loop, s.peers[0].c && rf_conn_pending(s.peers[0].c) == 0, 5000);
    printf("  32 MiB echoed in %.0f ms (%d + %d reads)\n", ms, s.peers[0].data_calls,
           cl.data_calls);
    rf_loop_destroy(loop);
    CHECK_EQ(cl.closed, 1);
    CHECK_EQ(cl.reason, RF_ECLOSED);
    CHECK_EQ(s.peers[0].closed, 1);
}

static void test_connect_errors(void) {
    rf_loop *loop = new_loop();
    /* A bound socket that never listens: connects to it are refused, and
     * holding it keeps the port from being reused meanwhile. */
    int hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(hold, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(hold, (struct sockaddr *)&sa, &sl);
    uint16_t port = ntohs(sa.sin_port);

    peer cl;
    connect_peer(loop, port, &cl, M_SINK);
    WAIT_FOR(loop, cl.closed, 5000);
    CHECK_EQ(cl.closed, 1);
    CHECK_EQ(cl.connected, 0);
    CHECK_EQ(cl.reason, RF_ECONNREFUSED);

    /* "localhost" may give ::1 and 127.0.0.1: each is tried, then refused. */
    memset(&cl, 0, sizeof cl);
    CHECK_EQ(rf_tcp_connect(loop, "localhost", port, &peer_handlers, &cl, &cl.c), 0);
    WAIT_FOR(loop, cl.closed, 5000);
    CHECK_EQ(cl.closed, 1);
    CHECK_EQ(cl.reason, RF_ECONNREFUSED);
    close(hold);

    rf_conn *c = (rf_conn *)&cl; /* must be overwritten with NULL */
    memset(&cl, 0, sizeof cl);
    int r = rf_tcp_connect(loop, "no-such-host.invalid", 80, &peer_handlers, &cl, &c);
    CHECK_EQ(r, RF_ERESOLVE);
    CHECK(c == NULL);
    rf_loop_run_once(loop, 0);
    CHECK_EQ(cl.closed, 0); /* no callback when nothing was started */
    rf_loop_destroy(loop);
}

typedef struct tstate {
    int order[16];
    int n;
    rf_timer *victim;
} tstate;

typedef struct targ {
    tstate *st;
    int id;
} targ;

static void t_cb(rf_loop *loop, void *arg) {
    targ *a = arg;
    (void)loop;
    a->st->order[a->st->n++] = a->id;
    if (a->id == 1 && a->st->victim) {
        rf_timer_cancel(a->st->victim); /* cancelling another from a callback */
        a->st->victim = NULL;
    }
}

static void test_timers(void) {
    rf_loop *loop = new_loop();
    tstate st;
    memset(&st, 0, sizeof st);
    targ a[6];
    for (int i = 0; i < 6; i++)
        a[i] = (targ){&st, i};
    rf_timer *t[6];
    const uint64_t ms = 1000000;
    CHECK_EQ(rf_timer_start(loop, 30 * ms, t_cb, &a[3], &t[3]), 0);
    CHECK_EQ(rf_timer_start(loop, 10 * ms, t_cb, &a[1], &t[1]), 0);
    CHECK_EQ(rf_timer_start(loop, 20 * ms, t_cb, &a[2], &t[2]), 0);
    CHECK_EQ(rf_timer_start(loop, 15 * ms, t_cb, &a[4], &t[4]), 0);
    CHECK_EQ(rf_timer_start(loop, 40 * ms, t_cb, &a[5], &t[5]), 0);
    CHECK_EQ(rf_timer_start(loop, 1 * ms, t_cb, &a[0], &t[0]), 0);
    rf_timer_cancel(t[4]); /* before it was even submitted */
    st.victim = t[5];       /* cancelled by timer 1's callback */
    uint64_t t0 = rf_now_ns();
    WAIT_FOR(loop, st.n >= 4, 5000);
    /* Give the cancelled ones ample time to misbehave. */
    WAIT_FOR(loop, false, 60);
    CHECK(rf_now_ns() - t0 >= 30 * ms);
    CHECK_EQ(st.n, 4);
    CHECK_EQ(st.order[0], 0);
    CHECK_EQ(st.order[1], 1);
    CHECK_EQ(st.order[2], 2);
    CHECK_EQ(st.order[3], 3);

    /* A pending timer at destroy is freed without running. */
    CHECK_EQ(rf_timer_start(loop, 1000 * ms, t_cb, &a[4], NULL), 0);
    rf_loop_destroy(loop);
    CHECK_EQ(st.n, 4);
}

typedef struct pstate {
    rf_loop *loop;
    int next;
    int out_of_order;
} pstate;

static void post_fn(rf_loop *loop, void *arg) {
    pstate *ps = (pstate *)((void **)arg)[0];
    int i = (int)(intptr_t)((void **)arg)[1];
    if (loop != ps->loop || i != ps->next)
        ps->out_of_order++;
    ps->next = i + 1;
    free(arg);
}

static void *poster(void *arg) {
    pstate *ps = arg;
    for (int i = 0; i < 1000; i++) {
        void **a = malloc(2 * sizeof *a);
        a[0] = ps;
        a[1] = (void *)(intptr_t)i;
        if (rf_loop_post(ps->loop, post_fn, a) != 0)
            free(a);
    }
    rf_loop_stop(ps->loop);
    return NULL;
}

static void *stopper(void *arg) {
    struct timespec ts = {0, 30000000};
    nanosleep(&ts, NULL);
    rf_loop_stop(arg);
    return NULL;
}

static void test_post_stop(void) {
    rf_loop *loop = new_loop();
    pstate ps = {loop, 0, 0};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, poster, &ps), 0);
    CHECK_EQ(rf_loop_run(loop), 0); /* returns once the poster stops it */
    pthread_join(th, NULL);
    /* Posts made just before the stop may still be queued. */
    WAIT_FOR(loop, ps.next == 1000, 5000);
    CHECK_EQ(ps.next, 1000);
    CHECK_EQ(ps.out_of_order, 0);

    /* Stop from another thread while the loop sleeps. */
    uint64_t t0 = rf_now_ns();
    CHECK_EQ(pthread_create(&th, NULL, stopper, loop), 0);
    CHECK_EQ(rf_loop_run(loop), 0);
    pthread_join(th, NULL);
    CHECK(rf_now_ns() - t0 < 5000000000ull);
    rf_loop_destroy(loop);
}

static void test_graceful(void) {
    rf_loop *loop = new_loop();
    server s;
    uint16_t port = start_server(loop, &s, M_SINK);
    s.graceful_bytes = 8 * MIB;
    s.graceful_timeout = 10000000000ull;
    peer cl;
    connect_peer(loop, port, &cl, M_SINK);
    cl.verify = true;
    WAIT_FOR(loop, cl.closed && s.accepted && s.peers[0].closed, 20000);
    CHECK_EQ(cl.closed, 1);
    CHECK_EQ(cl.reason, 0);
    CHECK_EQ(cl.rx_at_close, 8 * MIB); /* everything arrived before the EOF */
    CHECK_EQ(cl.bad, 0);
    CHECK_EQ(s.accepted, 1);
    CHECK_EQ(s.peers[0].closed, 1);
    CHECK_EQ(s.peers[0].reason, 0);

    /* A peer that never closes: the graceful close times out. */
    s.accepted = 0;
    s.graceful_bytes = 1000;
    s.graceful_timeout = 50000000;
    int raw = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    CHECK_EQ(connect(raw, (struct sockaddr *)&sa, sizeof sa), 0);
    WAIT_FOR(loop, s.accepted && s.peers[0].closed, 5000);
    CHECK_EQ(s.peers[0].closed, 1);
    CHECK_EQ(s.peers[0].reason, RF_ETIMEDOUT);
    close(raw);
    rf_loop_destroy(loop);
}

/* Closing from inside callbacks, and closing others from on_close. */
typedef struct chain {
    peer a, b;
    rf_conn *close_in_on_close;
    int close_in_connect;
} chain;

static void chain_on_connect(rf_conn *c, void *ctx) {
    peer *p = ctx;
    p->connected++;
    if (p->mode == M_CLOSE_ON_DATA) {
        rf_conn_close(c);
        CHECK(rf_conn_reserve(c, 1) == NULL); /* closing: no more sends */
        CHECK_EQ(p->closed, 0);
    }
}

static rf_conn *g_close_other;

static void chain_on_close(rf_conn *c, void *ctx, int reason) {
    p_on_close(c, ctx, reason);
    if (g_close_other) {
        rf_conn *o = g_close_other;
        g_close_other = NULL;
        rf_conn_close(o);
    }
}

static const rf_conn_handlers chain_handlers = {chain_on_connect, p_on_data, chain_on_close};

static void test_close_inside(void) {
    rf_loop *loop = new_loop();
    server s;
    uint16_t port = start_server(loop, &s, M_CLOSE_ON_DATA);
    peer cl;
    connect_peer(loop, port, &cl, M_SINK);
    WAIT_FOR(loop, cl.connected, 5000);
    CHECK_EQ(rf_conn_send(cl.c, "abc", 3), 0);
    rf_loop_run_once(loop, 10);
    CHECK_EQ(rf_conn_send(cl.c, "def", 3), 0);
    WAIT_FOR(loop, cl.closed && s.accepted && s.peers[0].closed, 5000);
    CHECK_EQ(s.peers[0].closed, 1);
    CHECK_EQ(s.peers[0].reason, 0);
    CHECK_EQ(s.peers[0].data_calls, 1);
    CHECK_EQ(s.peers[0].data_after_close, 0);
    CHECK_EQ(cl.closed, 1);
    CHECK(cl.reason == 0 || cl.reason == RF_ECONNRESET);

    /* Close from on_connect; and from one on_close, close another. */
    chain ch;
    memset(&ch, 0, sizeof ch);
    ch.a.mode = M_CLOSE_ON_DATA;
    s.mode = M_SINK;
    CHECK_EQ(rf_tcp_connect(loop, "127.0.0.1", port, &chain_handlers, &ch.a, &ch.a.c), 0);
    CHECK_EQ(rf_tcp_connect(loop, "127.0.0.1", port, &chain_handlers, &ch.b, &ch.b.c), 0);
    g_close_other = ch.b.c;
    WAIT_FOR(loop, ch.a.closed && ch.b.closed, 5000);
    CHECK_EQ(ch.a.connected, 1);
    CHECK_EQ(ch.a.closed, 1);
    CHECK_EQ(ch.a.reason, 0);
    CHECK_EQ(ch.b.closed, 1);
    CHECK_EQ(ch.b.reason, 0);
    WAIT_FOR(loop, false, 30);
    CHECK_EQ(ch.a.closed, 1);
    CHECK_EQ(ch.b.closed, 1);

    /* Closing a connection that is still connecting. */
    peer cc;
    connect_peer(loop, port, &cc, M_SINK);
    rf_conn_close(cc.c);
    WAIT_FOR(loop, cc.closed, 5000);
    CHECK_EQ(cc.closed, 1);
    CHECK_EQ(cc.connected, 0);
    CHECK_EQ(cc.reason, 0);
    rf_loop_destroy(loop);
}

static void test_destroy_open(void) {
    rf_loop *loop = new_loop();
    server s;
    uint16_t port = start_server(loop, &s, M_SINK);
    peer cl;
    connect_peer(loop, port, &cl, M_SINK);
    WAIT_FOR(loop, cl.connected && s.accepted, 5000);
    CHECK_EQ(s.accepted, 1);
    /* Bytes queued but unsent and a send in flight are both dropped cleanly. */
    uint8_t *p = rf_conn_reserve(cl.c, MIB);
    CHECK(p != NULL);
    if (p)
        memset(p, 1, MIB);
    CHECK_EQ(rf_conn_commit(cl.c, MIB), 0);
    rf_loop_run_once(loop, 0);
    CHECK_EQ(rf_conn_send(cl.c, "x", 1), 0);
    CHECK_EQ(rf_timer_start(loop, 10000000000ull, never_cb, &cl, &cl.ping), 0);

    /* A second one mid graceful close (its peer never answers), and a third
     * still connecting. */
    int rawl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(rawl, (struct sockaddr *)&sa, sizeof sa), 0);
    CHECK_EQ(listen(rawl, 4), 0);
    socklen_t sl = sizeof sa;
    getsockname(rawl, (struct sockaddr *)&sa, &sl);
    peer g, cc;
    connect_peer(loop, ntohs(sa.sin_port), &g, M_SINK);
    WAIT_FOR(loop, g.connected, 5000);
    CHECK_EQ(rf_timer_start(loop, 10000000000ull, never_cb, &g, &g.ping), 0);
    rf_conn_close_graceful(g.c, 10000000000ull);
    rf_loop_run_once(loop, 0);
    connect_peer(loop, port, &cc, M_SINK);

    rf_loop_destroy(loop);
    close(rawl);
    CHECK_EQ(cl.closed, 1);
    CHECK_EQ(cl.reason, RF_ECLOSED);
    CHECK_EQ(cl.bad, 0);
    CHECK_EQ(g.closed, 1);
    CHECK_EQ(g.reason, RF_ECLOSED);
    CHECK_EQ(g.bad, 0);
    CHECK_EQ(cc.closed, 1);
    CHECK(cc.reason == RF_ECLOSED);
    for (int i = 0; i < s.accepted; i++) {
        CHECK_EQ(s.peers[i].closed, 1);
        CHECK_EQ(s.peers[i].reason, RF_ECLOSED);
    }
}


/* Many connections ending every way at once, then destroy: lifetime bugs
 * show up here under ASan. */
#define NSTRESS 50

typedef struct stress {
    peer cl[NSTRESS];
    int srv_accepted, srv_closed, srv_bad;
} stress;

static stress *g_stress;

static void st_srv_data(rf_conn *c, void *ctx, uint8_t *data, size_t len) {
    (void)ctx;
    uint8_t *dst = rf_conn_reserve(c, len);
    if (dst) {
        memcpy(dst, data, len);
        rf_conn_commit(c, len);
    }
}

static void st_srv_close(rf_conn *c, void *ctx, int reason) {
    (void)c;
    (void)reason;
    int *closed = ctx;
    (*closed)++;
}

static const rf_conn_handlers st_srv_handlers = {NULL, st_srv_data, st_srv_close};

static void st_accept(rf_listener *l, void *ctx, rf_conn *c) {
    (void)l;
    stress *st = ctx;
    st->srv_accepted++;
    rf_conn_set_handlers(c, &st_srv_handlers, &st->srv_closed);
}

static void st_connect(rf_conn *c, void *ctx) {
    peer *p = ctx;
    int i = (int)(p - g_stress->cl);
    p->connected++;
    static uint8_t chunk[64 * 1024];
    if (i % 5 == 2) {
        rf_conn_close(c);
        return;
    }
    CHECK_EQ(rf_conn_send(c, chunk, sizeof chunk), 0);
    if (i % 5 == 1)
        rf_conn_close_graceful(c, 2000000000ull);
}

static void st_data(rf_conn *c, void *ctx, uint8_t *data, size_t len) {
    (void)data;
    (void)len;
    peer *p = ctx;
    int i = (int)(p - g_stress->cl);
    p->data_calls++;
    if (p->closed)
        p->data_after_close++;
    if (i % 5 == 0) {
        rf_conn_close(c);
        if (i + 3 < NSTRESS && g_stress->cl[i + 3].c)
            rf_conn_close(g_stress->cl[i + 3].c);
    }
}

static void st_close(rf_conn *c, void *ctx, int reason) {
    (void)c;
    peer *p = ctx;
    p->closed++;
    p->reason = reason;
    p->c = NULL;
}

static const rf_conn_handlers st_handlers = {st_connect, st_data, st_close};

static void test_stress(void) {
    rf_loop *loop = new_loop();
    stress *st = calloc(1, sizeof *st);
    g_stress = st;
    rf_listener *l;
    CHECK_EQ(rf_tcp_listen(loop, "127.0.0.1", 0, 128, st_accept, st, &l), 0);
    uint16_t port = rf_listener_port(l);
    for (int i = 0; i < NSTRESS; i++)
        CHECK_EQ(rf_tcp_connect(loop, "127.0.0.1", port, &st_handlers, &st->cl[i], &st->cl[i].c),
                 0);
    int ended;
    uint64_t dl = rf_now_ns() + 10000000000ull;
    do {
        rf_loop_run_once(loop, 10);
        ended = 0;
        for (int i = 0; i < NSTRESS; i++)
            ended += i % 5 != 4 && st->cl[i].closed;
    } while (ended < NSTRESS - NSTRESS / 5 && rf_now_ns() < dl);
    CHECK_EQ(ended, NSTRESS - NSTRESS / 5);
    rf_listener_close(l); /* accepted connections live on */
    rf_loop_run_once(loop, 0);
    rf_loop_destroy(loop);
    for (int i = 0; i < NSTRESS; i++) {
        CHECK_EQ(st->cl[i].closed, 1);
        CHECK_EQ(st->cl[i].data_after_close, 0);
        if (i % 5 == 4)
            CHECK_EQ(st->cl[i].reason, RF_ECLOSED);
        else if (i % 5 == 0 || i % 5 == 2 || i % 5 == 3)
            CHECK_EQ(st->cl[i].reason, 0);
        else
            CHECK(st->cl[i].reason == 0 || st->cl[i].reason == RF_ECONNRESET);
        if (i % 5 == 1)
            CHECK_EQ(st->cl[i].data_calls, 0); /* no on_data after a graceful close */
    }
    CHECK_EQ(st->srv_closed, st->srv_accepted);
    free(st);
    g_stress = NULL;
}

static void run_mode(int force) {
    g_force = force;
    int fds0 = fd_count();
    rf_loop *loop = new_loop();
    const char *mode = loop ? rf_loop_recv_mode(loop) : "?";
    printf("recv mode: %s (force_single_shot=%d)\n", mode, force);
    if (force)
        CHECK(strcmp(mode, "single-shot") == 0);
    else
        CHECK(strcmp(mode, "multishot") == 0 || strcmp(mode, "single-shot") == 0);
    rf_loop_destroy(loop);
    CHECK_EQ(fd_count(), fds0);

    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"echo + batching", test_echo},
        {"32 MiB echo", test_big},
        {"connect errors", test_connect_errors},
        {"timers", test_timers},
        {"post + stop", test_post_stop},
        {"graceful close", test_graceful},
        {"close inside callbacks", test_close_inside},
        {"destroy with open conns", test_destroy_open},
        {"stress: 50 conns", test_stress},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        int before = rf_test_failures;
        uint64_t t0 = rf_now_ns();
        tests[i].fn();
        printf("  %-26s %s (%.0f ms)\n", tests[i].name, rf_test_failures == before ? "ok" : "FAIL",
               (double)(rf_now_ns() - t0) / 1e6);
        fflush(stdout);
    }
    CHECK_EQ(fd_count(), fds0);
}

int main(void) {
    alarm(300);
    run_mode(0);
    run_mode(1);
    TEST_DONE("test_loop");
}
