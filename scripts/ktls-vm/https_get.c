/* Interop under kTLS, for the VM: RingFeed's HTTPS client (rf_http_get)
 * fetches a 2 MiB file from `openssl s_server -WWW`, a third-party TLS
 * stack with its own record layout, its session tickets before the data and
 * its close_notify after it (the close-delimited body ends there). Checks the
 * body byte for byte and that the kernel took over receiving (TlsRxSw in
 * /proc/net/tls_stat grew). Exits 0 on success. Run from the repository root
 * of the VM's /work (test certificates in build/test-certs). Every wait has
 * a deadline. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ringfeed/error.h"
#include "ringfeed/http_client.h"
#include "ringfeed/loop.h"
#include "ringfeed/tls.h"

#define PORT "44330"
#define BODY (2u << 20)
#define DIR "/tmp/www"

static uint8_t body[BODY];

struct result {
    int done, error, status, same;
    size_t len;
};

static long tls_stat(const char *name)
{
    FILE *f = fopen("/proc/net/tls_stat", "r");
    char key[64];
    long v, found = -1;
    while (f != NULL && fscanf(f, "%63s %ld", key, &v) == 2)
        if (strcmp(key, name) == 0)
            found = v;
    if (f != NULL)
        fclose(f);
    return found;
}

static void on_done(void *ctx, int error, const rf_http_response *resp)
{
    struct result *r = ctx;
    r->done = 1;
    r->error = error;
    if (resp != NULL) {
        r->status = rf_http_response_status(resp);
        const uint8_t *b = rf_http_response_body(resp, &r->len);
        r->same = r->len == BODY && memcmp(b, body, BODY) == 0;
    }
}

int main(void)
{
    for (size_t i = 0; i < BODY; i++) /* printable, so s_server sends it as is */
        body[i] = (uint8_t)('a' + (i * 7 + i / 4093) % 26);
    if (system("mkdir -p " DIR) != 0)
        return 1;
    FILE *f = fopen(DIR "/data.txt", "w");
    if (f == NULL || fwrite(body, 1, BODY, f) != BODY || fclose(f) != 0) {
        fprintf(stderr, "https_get: cannot write the file to serve\n");
        return 1;
    }
    char cert[512], key[512], ca[512];
    char *cwd = getcwd(NULL, 0);
    snprintf(cert, sizeof cert, "%s/build/test-certs/server.pem", cwd);
    snprintf(key, sizeof key, "%s/build/test-certs/server.key", cwd);
    snprintf(ca, sizeof ca, "%s/build/test-certs/ca.pem", cwd);
    free(cwd);

    pid_t srv = fork();
    if (srv == 0) {
        if (chdir(DIR) != 0)
            _exit(127);
        execlp("openssl", "openssl", "s_server", "-WWW", "-quiet", "-accept", "127.0.0.1:" PORT, "-cert", cert,
               "-key", key, (char *)NULL);
        _exit(127);
    }
    sleep(2); /* s_server listens within a moment; the client retries below anyway */

    long rx0 = tls_stat("TlsRxSw"), tx0 = tls_stat("TlsTxSw");
    rf_loop *loop = NULL;
    rf_tls_ctx *ctx = NULL;
    rf_tls_ctx_config cfg = {.server = 0, .ca_file = ca, .alpn = ""};
    struct result r = {0};
    int ok = rf_loop_create(&loop, NULL) == 0 && rf_tls_ctx_create(&ctx, &cfg) == 0;
    for (int attempt = 0; ok && attempt < 10; attempt++) {
        memset(&r, 0, sizeof r);
        rf_http_get_config hc = {.tls = ctx, .max_body = 4u << 20, .timeout_ns = 120ull * 1000000000ull};
        if (rf_http_get(loop, "https://localhost:" PORT "/data.txt", &hc, on_done, &r, NULL) != 0)
            break;
        uint64_t deadline = rf_now_ns() + 130ull * 1000000000ull;
        while (!r.done && rf_now_ns() < deadline)
            rf_loop_run_once(loop, 10);
        if (r.error != RF_ECONNREFUSED)
            break;
        sleep(1); /* not listening yet */
    }
    long rx1 = tls_stat("TlsRxSw"), tx1 = tls_stat("TlsTxSw");
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    rf_tls_ctx_destroy(ctx);
    rf_loop_destroy(loop);

    int pass = ok && r.done && r.error == 0 && r.status == 200 && r.same && rx1 > rx0;
    printf("  interop openssl s_server -WWW: %s (error %s, status %d, body %zu bytes %s, kernel RX sockets +%ld, TX +%ld)\n",
           pass ? "ok" : "FAIL", rf_strerror(r.error), r.status, r.len, r.same ? "identical" : "DIFFERENT",
           rx1 - rx0, tx1 - tx0);
    return pass ? 0 : 1;
}
