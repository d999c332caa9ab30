/* TLS 1.3 handshake cost, full vs resumed, in memory with the rf_tls API
 * only: a client rf_tls and a server rf_tls on one thread, ciphertext moved
 * with rf_tls_take_output -> rf_tls_feed until both rf_tls_handshake return
 * 0, then one rf_tls_read on each side (the client takes in the session
 * ticket), then both are destroyed. No sockets, so the figures are CPU only,
 * and they include BOTH sides' CPU (the time inside client and server calls
 * is also shown separately).
 *
 * Full: the client context has no session for "localhost:PORT" (a port
 * never used before), so a full handshake with certificate signature and
 * chain verification runs. Resumed: the same context, name and port every
 * time, after a priming connection: the cached ticket is offered (TLS 1.3
 * PSK with (EC)DHE, OpenSSL's default). Each result is checked with
 * rf_tls_resumed() on both sides. Full and resumed runs alternate. Run from
 * the repository root (test certificates go to build/test-certs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* bench.h defines rf_bench_median_ns, which this benchmark does not use. */
#include "bench.h"
#include "ringfeed/ringfeed.h"

#define ITERATIONS 400 /* of each kind */
#define WARMUP 20      /* of each kind, not recorded */
#define MAX_ROUNDS 8   /* a TLS 1.3 handshake needs 2-3 flights: more is a bug */
#define CERT_DIR "build/test-certs"
#define RESUME_PORT 443
#define FULL_PORT_BASE 10000 /* full handshakes use FULL_PORT_BASE + i */

static rf_tls_ctx *client_ctx, *server_ctx;
static uint8_t wire[64 * 1024];

struct sample {
    double total, client, server; /* ns */
};

struct timed {
    uint64_t client, server;
};

/* Moves everything `from` has to send into `to`. The time spent in each
 * side's calls is charged to that side. */
static int shuttle(rf_tls *from, uint64_t *from_ns, rf_tls *to, uint64_t *to_ns)
{
    for (;;) {
        uint64_t t0 = rf_bench_now_ns();
        size_t n = rf_tls_take_output(from, wire, sizeof wire);
        uint64_t t1 = rf_bench_now_ns();
        *from_ns += t1 - t0;
        if (n == 0)
            return 0;
        int rc = rf_tls_feed(to, wire, n);
        *to_ns += rf_bench_now_ns() - t1;
        if (rc != 0)
            return rc;
    }
}

static int step(rf_tls *t, uint64_t *ns)
{
    uint64_t t0 = rf_bench_now_ns();
    int rc = rf_tls_handshake(t);
    *ns += rf_bench_now_ns() - t0;
    return rc;
}

static int check(int rc, const char *what, const rf_tls *t)
{
    if (rc == 0 || rc == RF_EAGAIN)
        return 0;
    fprintf(stderr, "bench_tls_handshake: %s: %s %s\n", what, rf_strerror(rc), t ? rf_tls_error(t) : "");
    return 1;
}

/* One connection. *resumed gets rf_tls_resumed() of the client, or -1 when
 * the two sides disagree. Returns 0 or 1 (failed, message printed). */
static int connect_once(uint16_t port, struct sample *out, int *resumed, const char **version,
                        const char **cipher)
{
    struct timed t = {0};
    rf_tls *c = NULL, *s = NULL;
    uint64_t t_begin = rf_bench_now_ns();
    int rc = rf_tls_create(&c, client_ctx, "localhost", port);
    uint64_t t_mid = rf_bench_now_ns();
    t.client += t_mid - t_begin;
    if (check(rc, "client rf_tls_create", NULL))
        return 1;
    rc = rf_tls_create(&s, server_ctx, NULL, 0);
    t.server += rf_bench_now_ns() - t_mid;
    if (check(rc, "server rf_tls_create", NULL)) {
        rf_tls_destroy(c);
        return 1;
    }

    int failed = 1, crc = RF_EAGAIN, src = RF_EAGAIN;
    for (int round = 0; round < MAX_ROUNDS && (crc != 0 || src != 0); round++) {
        crc = step(c, &t.client);
        if (check(crc, "client handshake", c) || check(shuttle(c, &t.client, s, &t.server), "feed server", s))
            goto out;
        src = step(s, &t.server);
        if (check(src, "server handshake", s) || check(shuttle(s, &t.server, c, &t.client), "feed client", c))
            goto out;
    }
    if (crc != 0 || src != 0) {
        fprintf(stderr, "bench_tls_handshake: handshake not complete after %d rounds\n", MAX_ROUNDS);
        goto out;
    }
    /* The server's tickets are in the client's input now: reading takes them in. */
    uint8_t plain[256];
    uint64_t t0 = rf_bench_now_ns();
    int rrc = rf_tls_read(c, plain, sizeof plain);
    uint64_t t1 = rf_bench_now_ns();
    t.client += t1 - t0;
    if (rrc != 0) {
        fprintf(stderr, "bench_tls_handshake: client read: %d %s\n", rrc, rf_tls_error(c));
        goto out;
    }
    rrc = rf_tls_read(s, plain, sizeof plain);
    t.server += rf_bench_now_ns() - t1;
    if (rrc != 0 || rf_tls_output_pending(c) != 0) {
        fprintf(stderr, "bench_tls_handshake: server read: %d %s\n", rrc, rf_tls_error(s));
        goto out;
    }
    *resumed = rf_tls_resumed(c) == rf_tls_resumed(s) ? rf_tls_resumed(c) : -1;
    if (version != NULL) {
        *version = rf_tls_version(c);
        *cipher = rf_tls_cipher(c);
    }
    failed = 0;
out:
    t0 = rf_bench_now_ns();
    rf_tls_destroy(c);
    t1 = rf_bench_now_ns();
    rf_tls_destroy(s);
    uint64_t t_end = rf_bench_now_ns();
    t.client += t1 - t0;
    t.server += t_end - t1;
    out->total = (double)(t_end - t_begin);
    out->client = (double)t.client;
    out->server = (double)t.server;
    return failed;
}

static double percentile(double *v, int n, int pct)
{
    qsort(v, (size_t)n, sizeof v[0], rf_bench_cmp_double);
    int k = (pct * n + 99) / 100 - 1; /* nearest rank */
    return v[k < 0 ? 0 : k];
}

struct summary {
    double median, p90, client, server;
};

static struct summary summarise(const struct sample *s, int n)
{
    static double v[ITERATIONS];
    struct summary r;
    for (int i = 0; i < n; i++)
        v[i] = s[i].total;
    r.median = percentile(v, n, 50);
    r.p90 = percentile(v, n, 90);
    for (int i = 0; i < n; i++)
        v[i] = s[i].client;
    r.client = percentile(v, n, 50);
    for (int i = 0; i < n; i++)
        v[i] = s[i].server;
    r.server = percentile(v, n, 50);
    return r;
}

int main(void)
{
    if (system("sh Tests/c/make_test_certs.sh " CERT_DIR) != 0) {
        fprintf(stderr, "bench_tls_handshake: cannot make test certificates (run from the repository root)\n");
        return 1;
    }
    rf_tls_ctx_config sc = {.server = 1, .cert_file = CERT_DIR "/server.pem", .key_file = CERT_DIR "/server.key"};
    rf_tls_ctx_config cc = {.ca_file = CERT_DIR "/ca.pem"};
    int rc = rf_tls_ctx_create(&server_ctx, &sc);
    if (rc == 0)
        rc = rf_tls_ctx_create(&client_ctx, &cc);
    if (rc != 0) {
        fprintf(stderr, "bench_tls_handshake: TLS context: %s %s%s\n", rf_strerror(rc),
                server_ctx ? rf_tls_ctx_error(server_ctx) : "", client_ctx ? rf_tls_ctx_error(client_ctx) : "");
        return 1;
    }

    static struct sample full[ITERATIONS], resumed[ITERATIONS];
    struct sample junk;
    const char *version = "", *cipher = "";
    int r = 0, bad = 0;
    /* Priming: the first connection to the resumption endpoint is a full one. */
    if (connect_once(RESUME_PORT, &junk, &r, &version, &cipher) != 0)
        return 1;
    if (r != 0) {
        fprintf(stderr, "bench_tls_handshake: the priming connection resumed (rf_tls_resumed = %d)\n", r);
        return 1;
    }
    for (int i = -WARMUP; i < ITERATIONS; i++) {
        struct sample *f = i < 0 ? &junk : &full[i];
        if (connect_once((uint16_t)(FULL_PORT_BASE + WARMUP + i), f, &r, NULL, NULL) != 0)
            return 1;
        bad += r != 0;
        struct sample *s = i < 0 ? &junk : &resumed[i];
        if (connect_once(RESUME_PORT, s, &r, NULL, NULL) != 0)
            return 1;
        bad += r != 1;
    }

    struct summary fs = summarise(full, ITERATIONS), rs = summarise(resumed, ITERATIONS);
    printf("bench_tls_handshake: %s %s, ECDSA P-256 server certificate; in memory (no sockets), client and server\n"
           "  on one thread, so every figure includes BOTH sides' CPU; per connection: rf_tls_create x2 ... "
           "rf_tls_destroy x2;\n  %d of each kind after %d warm-up, alternating\n",
           version, cipher, ITERATIONS, WARMUP);
    printf("              median      p90    (median time in client / in server calls)\n");
    printf("  full     %8.1f us %8.1f us  (%.1f / %.1f us)\n", fs.median / 1e3, fs.p90 / 1e3, fs.client / 1e3,
           fs.server / 1e3);
    printf("  resumed  %8.1f us %8.1f us  (%.1f / %.1f us)\n", rs.median / 1e3, rs.p90 / 1e3, rs.client / 1e3,
           rs.server / 1e3);
    printf("  full / resumed: %.2fx (median), %.2fx (p90); a resumed handshake saves %.1f us\n", fs.median / rs.median,
           fs.p90 / rs.p90, (fs.median - rs.median) / 1e3);

    rf_tls_ctx_destroy(client_ctx);
    rf_tls_ctx_destroy(server_ctx);
    if (bad != 0) {
        printf("bench_tls_handshake: FAILED: %d connections did not resume (or resumed) as intended\n", bad);
        return 1;
    }
    return 0;
}
