/* End-to-end receive path over TLS, against plain ws:// in the same process.
 *
 * A plain-socket sender thread accepts one connection per run. For wss:// it
 * wraps the socket in an OpenSSL server (blocking socket BIO: the sender is
 * not what is measured), reads the upgrade request through TLS, answers it,
 * then SSL_write()s the pre-encoded frame tape in 256 KiB chunks, so records
 * are full 16 KiB. For ws:// it does the same with read()/write(). The
 * receiver is an rf_ws_conn on an rf_loop on the main thread, connecting to
 * ws://localhost:PORT/ or wss://localhost:PORT/ (client context trusting the
 * test CA). The modes alternate, so their ratio comes from one process.
 *
 * Allocations on the receiving thread are counted after warm-up (10,000
 * messages), both ours (malloc/calloc/realloc wrapped at link time:
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc) and OpenSSL's, which
 * happen inside libcrypto where --wrap does not reach: counting functions
 * are installed with CRYPTO_set_mem_functions before any other OpenSSL call.
 * Exits non-zero if the receiving thread allocates in steady state (our
 * code: never; OpenSSL: more than once per record, see below) or a run does
 * not complete. Every wait has a deadline. Run from the repository root
 * (test certificates go to build/test-certs); --tls1.2 caps the sender at
 * TLS 1.2, to compare the two record paths. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* bench.h defines rf_bench_median_ns, which this benchmark does not use. */
#include "bench.h"
#include "tape.h"
#include "ringfeed/ringfeed.h"

/* ---- allocation counting (per thread) ----
 * allocs: our code (the benchmark and libringfeed.a), through --wrap.
 * ossl_allocs: libssl/libcrypto, through CRYPTO_set_mem_functions. The
 * OpenSSL hooks call __real_* so one allocation is never counted twice. */
#include "alloc_count.h" /* allocs */
static _Thread_local long ossl_allocs;

/* Same contract as OpenSSL 3.0's defaults: 0 bytes gives NULL, realloc of
 * NULL allocates, realloc to 0 frees. */
static void *ossl_malloc(size_t n, const char *file, int line)
{
    if (n == 0)
        return NULL;
    ossl_allocs++;
    return __real_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    if (p == NULL)
        return ossl_malloc(n, file, line);
    if (n == 0) {
        free(p);
        return NULL;
    }
    ossl_allocs++;
    return __real_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line) { free(p); }

#define MESSAGES 2000000
#define WARMUP 10000
#define REPS 3
#define RUN_DEADLINE_NS (60ull * 1000000000ull)
#define SOCKET_TIMEOUT_S 20 /* bounds every blocking call of the sender */
#define JOIN_TIMEOUT_S 30
#define WRITE_CHUNK (256u * 1024u)
#define CERT_DIR "build/test-certs"

static uint8_t *tape;
static size_t tape_len;
static size_t tape_payload; /* frame payload bytes, headers excluded */

static void build_tape(void)
{
    tape = rf_bench_depth_tape(MESSAGES, &tape_len, &tape_payload);
}

/* ---- sender thread ---- */

struct sender {
    int listen_fd;
    SSL_CTX *tls; /* NULL: plain ws:// */
    char err[200];
};

static void sender_fail(struct sender *s, const char *what)
{
    unsigned long e = ERR_get_error();
    char detail[128] = "";
    if (e != 0)
        ERR_error_string_n(e, detail, sizeof detail);
    else if (errno != 0)
        snprintf(detail, sizeof detail, "%s", strerror(errno));
    snprintf(s->err, sizeof s->err, "%s%s%s", what, detail[0] ? ": " : "", detail);
}

static long io_read(int fd, SSL *ssl, void *buf, size_t n)
{
    if (ssl == NULL)
        return (long)read(fd, buf, n);
    size_t got = 0;
    return SSL_read_ex(ssl, buf, n, &got) == 1 ? (long)got : -1;
}

static int io_write_all(int fd, SSL *ssl, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t chunk = n < WRITE_CHUNK ? n : WRITE_CHUNK;
        size_t done = 0;
        if (ssl != NULL) {
            if (SSL_write_ex(ssl, p, chunk, &done) != 1)
                return -1;
        } else {
            ssize_t w = send(fd, p, chunk, MSG_NOSIGNAL);
            if (w <= 0)
                return -1;
            done = (size_t)w;
        }
        p += done;
        n -= done;
    }
    return 0;
}

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    errno = 0;
    int fd = accept(s->listen_fd, NULL, NULL); /* SO_RCVTIMEO bounds it */
    if (fd < 0) {
        sender_fail(s, "accept");
        return NULL;
    }
    struct timeval tv = {.tv_sec = SOCKET_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    SSL *ssl = NULL;
    if (s->tls != NULL) {
        if ((ssl = SSL_new(s->tls)) == NULL || SSL_set_fd(ssl, fd) != 1) {
            sender_fail(s, "SSL_new");
            goto out;
        }
        if (SSL_accept(ssl) != 1) {
            sender_fail(s, "TLS handshake (server side)");
            goto out;
        }
    }

    uint8_t req[4096];
    size_t have = 0;
    rf_ws_server_request r;
    int rc;
    do {
        long got = io_read(fd, ssl, req + have, sizeof req - have);
        if (got <= 0) {
            sender_fail(s, "reading the upgrade request");
            goto out;
        }
        have += (size_t)got;
    } while ((rc = rf_ws_server_request_parse(req, have, &r)) == RF_EAGAIN && have < sizeof req);
    char resp[512];
    int n = rc >= 0 ? rf_ws_server_response_write(resp, sizeof resp, &r.key, NULL) : rc;
    if (n < 0) {
        snprintf(s->err, sizeof s->err, "upgrade request: %s", rf_strerror(n));
        goto out;
    }
    if (io_write_all(fd, ssl, (const uint8_t *)resp, (size_t)n) != 0 || io_write_all(fd, ssl, tape, tape_len) != 0) {
        sender_fail(s, "sending");
        goto out;
    }
    /* Wait for the client to go away (it aborts after the last message). */
    char sink[4096];
    while (io_read(fd, ssl, sink, sizeof sink) > 0) {
    }
out:
    SSL_free(ssl);
    close(fd);
    return NULL;
}

/* ---- receiver (main thread) ---- */

struct client {
    long received;
    long bytes, bytes_at_warm;
    uint64_t t_first, t_last, cpu_first, cpu_last;
    long allocs_at_warm, ossl_at_warm;
    long allocs_at_end, ossl_at_end;
    int done, closed, error;
    const char *tls_version, *tls_cipher, *tls_path;
};

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_open(rf_ws_conn *c, void *ctx)
{
    struct client *cl = ctx;
    const rf_tls *t = rf_ws_conn_tls(c);
    cl->tls_path = rf_ws_conn_tls_path(c);
    if (t != NULL) {
        cl->tls_version = rf_tls_version(t); /* static strings inside OpenSSL */
        cl->tls_cipher = rf_tls_cipher(t);
    }
}

static void on_message(rf_ws_conn *c, void *ctx, unsigned op, const uint8_t *d, size_t n)
{
    struct client *cl = ctx;
    if (cl->received == WARMUP) {
        cl->allocs_at_warm = allocs;
        cl->ossl_at_warm = ossl_allocs;
        cl->bytes_at_warm = cl->bytes;
        cl->cpu_first = thread_cpu_ns();
        cl->t_first = rf_now_ns();
    }
    cl->received++;
    cl->bytes += (long)n;
    if (cl->received == MESSAGES) {
        cl->t_last = rf_now_ns();
        cl->cpu_last = thread_cpu_ns();
        cl->allocs_at_end = allocs;
        cl->ossl_at_end = ossl_allocs;
        cl->done = 1;
    }
}

static void on_close(rf_ws_conn *c, void *ctx, int code, int error)
{
    struct client *cl = ctx;
    if (!cl->done) {
        cl->error = error ? error : RF_ECLOSED;
        cl->done = 1;
    }
    cl->closed = 1;
}

struct result {
    double msgps, ns_msg, cpu_ns_msg, mbps, ns_mb;
    long steady_allocs, steady_ossl, warm_allocs, warm_ossl;
};

static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    struct timeval tv = {.tv_sec = SOCKET_TIMEOUT_S};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Returns 0 for a complete run with no allocation in steady state, 1 for a
 * complete run that allocated, 2 for an incomplete one. */
static int run(SSL_CTX *server_tls, rf_tls_ctx *client_tls, const char *label, struct result *res)
{
    memset(res, 0, sizeof *res);
    /* Per-thread running totals: what happened before this run is not its business. */
    allocs = 0;
    ossl_allocs = 0;
    struct sender s = {.tls = server_tls};
    uint16_t port;
    if ((s.listen_fd = listen_loopback(&port)) < 0) {
        fprintf(stderr, "bench_tls_ingest: cannot listen on loopback: %s\n", strerror(errno));
        return 1;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, sender_main, &s) != 0) {
        close(s.listen_fd);
        return 1;
    }

    int rc = 2;
    rf_loop *loop = NULL;
    struct client cl = {0};
    int lrc = rf_loop_create(&loop, NULL);
    if (lrc == 0) {
        char url[64];
        snprintf(url, sizeof url, "%s://localhost:%u/", server_tls ? "wss" : "ws", port);
        rf_ws_conn_config cfg = {.tls = client_tls};
        rf_ws_conn_handlers h = {.on_open = on_open, .on_message = on_message, .on_close = on_close};
        rf_ws_conn *conn = NULL;
        lrc = rf_ws_connect(loop, url, &cfg, &h, &cl, &conn);
        if (lrc == 0) {
            uint64_t deadline = rf_now_ns() + RUN_DEADLINE_NS;
            while (!cl.done && rf_now_ns() < deadline)
                rf_loop_run_once(loop, 100);
            if (!cl.done)
                cl.error = RF_ETIMEDOUT;
            if (!cl.closed)
                rf_ws_conn_abort(conn);
            uint64_t close_deadline = rf_now_ns() + 5ull * 1000000000ull;
            while (!cl.closed && rf_now_ns() < close_deadline)
                rf_loop_run_once(loop, 10);
        }
    }
    if (loop != NULL)
        rf_loop_destroy(loop);
    if (lrc != 0)
        fprintf(stderr, "bench_tls_ingest: %s: cannot start: %s\n", label, rf_strerror(lrc));

    /* The client is gone, so the sender's reads end; its socket timeouts
     * bound the rest. A sender that still hangs is fatal. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += JOIN_TIMEOUT_S;
    if (pthread_timedjoin_np(thread, NULL, &until) != 0) {
        fprintf(stderr, "bench_tls_ingest: %s: sender thread did not finish\n", label);
        exit(1);
    }
    close(s.listen_fd);
    if (s.err[0] != '\0')
        fprintf(stderr, "bench_tls_ingest: %s sender: %s\n", label, s.err);

    if (lrc == 0 && cl.received == MESSAGES && cl.error == 0) {
        long measured = cl.received - WARMUP;
        double secs = (double)(cl.t_last - cl.t_first) / 1e9;
        double bytes = (double)(cl.bytes - cl.bytes_at_warm);
        res->msgps = measured / secs;
        res->ns_msg = secs * 1e9 / measured;
        res->cpu_ns_msg = (double)(cl.cpu_last - cl.cpu_first) / measured;
        res->mbps = bytes / 1e6 / secs;
        res->ns_mb = secs * 1e9 / (bytes / 1e6);
        res->steady_allocs = cl.allocs_at_end - cl.allocs_at_warm;
        res->steady_ossl = cl.ossl_at_end - cl.ossl_at_warm;
        res->warm_allocs = cl.allocs_at_warm;
        res->warm_ossl = cl.ossl_at_warm;
        printf("%-4s %10.0f msg/s  %6.1f ns/msg (cpu %6.1f)  %7.1f MB/s  steady-state allocations: ours %ld, "
               "OpenSSL %ld  (connect+warm-up: ours %ld, OpenSSL %ld)\n",
               label, res->msgps, res->ns_msg, res->cpu_ns_msg, res->mbps, res->steady_allocs, res->steady_ossl,
               res->warm_allocs, res->warm_ossl);
        /* OpenSSL 3.0 builds each TLS 1.3 record's additional data in a
         * WPACKET, which mallocs and frees a 40-byte tracker per record
         * (crypto/packet.c) inside SSL_read; TLS 1.2 does not. Nothing in
         * the rf_tls API can avoid it, so it is allowed, but only at that
         * rate: once per 16 KiB record, never per message. */
        double ossl_budget = 0;
        if (cl.tls_version != NULL && cl.tls_cipher != NULL) {
            /* The sender fills every record: 16 KiB of plaintext each. */
            double records = (double)tape_len * measured / MESSAGES / 16384.0;
            printf("     %s %s, records decrypted in %s; OpenSSL allocations per 16 KiB record: %.3f\n",
                   cl.tls_version, cl.tls_cipher, cl.tls_path ? cl.tls_path : "?", res->steady_ossl / records);
            ossl_budget = records * 1.01 + 4;
        }
        rc = res->steady_allocs == 0 && res->steady_ossl <= ossl_budget ? 0 : 1;
    } else {
        fprintf(stderr, "bench_tls_ingest: %s: incomplete run: %ld of %d messages (%s)\n", label, cl.received,
                MESSAGES, rf_strerror(cl.error));
    }
    return rc;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], rf_bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    /* Before anything else touches OpenSSL: it refuses once it has allocated. */
    if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) != 1) {
        fprintf(stderr, "bench_tls_ingest: CRYPTO_set_mem_functions refused (OpenSSL already allocated)\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (system("sh Tests/c/make_test_certs.sh " CERT_DIR) != 0) {
        fprintf(stderr, "bench_tls_ingest: cannot make test certificates (run from the repository root)\n");
        return 1;
    }

    SSL_CTX *server_tls = SSL_CTX_new(TLS_server_method());
    if (server_tls == NULL || SSL_CTX_use_certificate_chain_file(server_tls, CERT_DIR "/server.pem") != 1 ||
        SSL_CTX_use_PrivateKey_file(server_tls, CERT_DIR "/server.key", SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "bench_tls_ingest: cannot set up the TLS sender\n");
        return 1;
    }
    /* --tls1.2: the sender offers at most TLS 1.2 (to compare record paths). */
    int tls12 = argc > 1 && strcmp(argv[1], "--tls1.2") == 0;
    if (argc > 1 && !tls12) {
        fprintf(stderr, "usage: bench_tls_ingest [--tls1.2]\n");
        return 2;
    }
    if (tls12 && SSL_CTX_set_max_proto_version(server_tls, TLS1_2_VERSION) != 1)
        return 1;
    rf_tls_ctx *client_tls = NULL;
    rf_tls_ctx_config ccfg = {.ca_file = CERT_DIR "/ca.pem"};
    int crc = rf_tls_ctx_create(&client_tls, &ccfg);
    if (crc != 0) {
        fprintf(stderr, "bench_tls_ingest: client TLS context: %s %s\n", rf_strerror(crc),
                client_tls ? rf_tls_ctx_error(client_tls) : "");
        return 1;
    }

    build_tape();
    printf("bench_tls_ingest: %d text frames, %.1f bytes average (%.1f MB tape), loopback TCP, one receiving "
           "thread;\n  ws:// and wss:// alternate, %d runs each; first %d messages are warm-up; ns/msg is wall "
           "time, cpu is the receiving thread's CPU time\n",
           MESSAGES, (double)tape_len / MESSAGES, (double)tape_len / 1e6, REPS, WARMUP);

    struct result ws[REPS], wss[REPS];
    int rc = 0;
    for (int rep = 0; rep < REPS; rep++) {
        rc |= run(NULL, NULL, "ws", &ws[rep]);
        rc |= run(server_tls, client_tls, "wss", &wss[rep]);
    }

    if ((rc & 2) == 0) { /* every run complete */
        double a[REPS], b[REPS], c[REPS], d[REPS], e[REPS], f[REPS], g[REPS], h[REPS], o[REPS], om[REPS];
        for (int i = 0; i < REPS; i++) {
            a[i] = ws[i].msgps, b[i] = wss[i].msgps;
            c[i] = ws[i].ns_msg, d[i] = wss[i].ns_msg;
            e[i] = ws[i].mbps, f[i] = wss[i].mbps;
            g[i] = ws[i].cpu_ns_msg, h[i] = wss[i].cpu_ns_msg;
            o[i] = wss[i].ns_msg - ws[i].ns_msg;         /* per adjacent pair */
            om[i] = (wss[i].ns_mb - ws[i].ns_mb) / 1e3; /* µs per MB */
        }
        double ws_ns = median(c, REPS), wss_ns = median(d, REPS), ws_cpu = median(g, REPS), wss_cpu = median(h, REPS);
        double avg = (double)tape_payload / MESSAGES; /* payload bytes per message */
        double over = wss_ns - ws_ns, over_cpu = wss_cpu - ws_cpu;
        double pair = median(o, REPS), pair_mb = median(om, REPS);
        printf("\nmedians of %d      msg/s      ns/msg  cpu ns/msg    MB/s\n", REPS);
        printf("  ws         %10.0f  %10.1f  %10.1f  %7.1f\n", median(a, REPS), ws_ns, ws_cpu, median(e, REPS));
        printf("  wss        %10.0f  %10.1f  %10.1f  %7.1f\n", median(b, REPS), wss_ns, wss_cpu, median(f, REPS));
        printf("TLS overhead: %.1f ns/msg (%.2fx), %.0f us per MB of payload (%.2f GB/s equivalent); "
               "receiving-thread CPU: %.1f ns/msg, %.0f us/MB\n",
               over, wss_ns / ws_ns, over / avg * 1e3, over > 0 ? avg / over : 0.0, over_cpu, over_cpu / avg * 1e3);
        printf("  median of the %d adjacent ws/wss pairs: %.1f ns/msg, %.0f us/MB\n", REPS, pair, pair_mb);
        long wo = 0, wssl = 0, so = 0, sssl = 0;
        for (int i = 0; i < REPS; i++)
            wo += ws[i].steady_allocs, wssl += ws[i].steady_ossl, so += wss[i].steady_allocs, sssl += wss[i].steady_ossl;
        printf("steady-state allocations on the receiving thread, all runs: ws ours %ld OpenSSL %ld; "
               "wss ours %ld OpenSSL %ld (%.4f per message)\n",
               wo, wssl, so, sssl, (double)sssl / ((double)REPS * (MESSAGES - WARMUP)));
    }

    rf_tls_ctx_destroy(client_tls);
    SSL_CTX_free(server_tls);
    free(tape);
    if (rc & 2)
        printf("bench_tls_ingest: FAILED: a run did not complete\n");
    if (rc & 1)
        printf("bench_tls_ingest: FAILED: the receiving thread allocated in steady state\n");
    return rc != 0;
}
