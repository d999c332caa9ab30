/* The TLS engine, client and server paired in memory: handshakes (1.3 and
 * 1.2), ALPN, bulk and small data, close_notify, resumption through the
 * context's session cache, and every error the connection layer reports. */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ringfeed/error.h"
#include "ringfeed/tls.h"
#include "tls_internal.h"

#define CERTS "build/test-certs/"

/* Moves all of from's pending ciphertext to to, `chunk` bytes at a time
 * (1 exercises every partial-record path). Returns the bytes moved. */
static size_t pump(rf_tls *from, rf_tls *to, size_t chunk)
{
    static uint8_t buf[65536];
    size_t total = 0, n;
    if (chunk > sizeof buf)
        chunk = sizeof buf;
    while ((n = rf_tls_take_output(from, buf, chunk)) > 0) {
        CHECK_EQ(rf_tls_feed(to, buf, n), 0);
        total += n;
    }
    return total;
}

/* Drives both handshakes until each finished or failed, or nothing moves. */
static void handshake_chunked(rf_tls *c, rf_tls *s, int *crc, int *src, size_t chunk)
{
    *crc = *src = RF_EAGAIN;
    for (int i = 0; i < 100000; i++) {
        if (*crc == RF_EAGAIN)
            *crc = rf_tls_handshake(c);
        size_t moved = pump(c, s, chunk);
        if (*src == RF_EAGAIN)
            *src = rf_tls_handshake(s);
        moved += pump(s, c, chunk);
        if ((*crc != RF_EAGAIN && *src != RF_EAGAIN) || moved == 0)
            break;
        if (chunk < 65536 && *crc == RF_EAGAIN)
            continue;
    }
    /* Let a failed side's alert reach the other before giving up. */
    if (*crc == RF_EAGAIN)
        *crc = rf_tls_handshake(c);
    if (*src == RF_EAGAIN)
        *src = rf_tls_handshake(s);
}

static void handshake(rf_tls *c, rf_tls *s, int *crc, int *src) { handshake_chunked(c, s, crc, src, 65536); }

static rf_tls_ctx *client_ctx(const char *ca, const char *alpn)
{
    rf_tls_ctx *ctx = NULL;
    rf_tls_ctx_config cfg = {.server = 0, .ca_file = ca, .alpn = alpn};
    int rc = rf_tls_ctx_create(&ctx, &cfg);
    CHECK_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "client context: %s\n", ctx ? rf_tls_ctx_error(ctx) : rf_strerror(rc));
        rf_tls_ctx_destroy(ctx);
        return NULL;
    }
    return ctx;
}

static rf_tls_ctx *server_ctx(const char *cert, const char *key, const char *alpn)
{
    rf_tls_ctx *ctx = NULL;
    rf_tls_ctx_config cfg = {.server = 1, .cert_file = cert, .key_file = key, .alpn = alpn};
    int rc = rf_tls_ctx_create(&ctx, &cfg);
    CHECK_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "server context: %s\n", ctx ? rf_tls_ctx_error(ctx) : rf_strerror(rc));
        rf_tls_ctx_destroy(ctx);
        return NULL;
    }
    return ctx;
}

static int one_line(const char *s) { return s != NULL && s[0] != '\0' && strpbrk(s, "\r\n") == NULL; }

/* Reads everything b has buffered into dst, through a buffer of `cap`. */
static size_t read_all(rf_tls *t, uint8_t *dst, size_t dstcap, size_t cap, int *last)
{
    size_t got = 0;
    for (;;) {
        size_t room = dstcap - got < cap ? dstcap - got : cap;
        int n = rf_tls_read(t, dst + got, room);
        *last = n;
        if (n <= 0)
            return got;
        got += (size_t)n;
        if (got == dstcap)
            return got;
    }
}

/* A pair that completed its handshake; the client has read the tickets. */
static int connect_pair(rf_tls_ctx *cc, rf_tls_ctx *sc, const char *name, uint16_t port, int max_version,
                        rf_tls **c, rf_tls **s)
{
    CHECK_EQ(rf_tls_create(c, cc, name, port), 0);
    CHECK_EQ(rf_tls_create(s, sc, NULL, 0), 0);
    if (*c == NULL || *s == NULL)
        return -1;
    if (max_version)
        CHECK_EQ(rf__tls_set_max_version(*c, max_version), 0);
    int crc, src;
    handshake(*c, *s, &crc, &src);
    CHECK_EQ(crc, 0);
    CHECK_EQ(src, 0);
    uint8_t tmp[16];
    CHECK_EQ(rf_tls_read(*c, tmp, sizeof tmp), 0); /* TLS 1.3 tickets */
    return crc == 0 && src == 0 ? 0 : -1;
}

static void transfer(rf_tls *from, rf_tls *to, const uint8_t *data, size_t len, size_t readcap)
{
    static uint8_t got[(1u << 20) + 4096];
    CHECK_EQ(rf_tls_write(from, data, len), 0);
    pump(from, to, 65536);
    int last = 0;
    size_t n = read_all(to, got, sizeof got, readcap, &last);
    CHECK_EQ(n, len);
    CHECK_EQ(last, 0);
    CHECK(n == len && memcmp(got, data, len) == 0);
}

static void test_full(rf_tls_ctx *cc, rf_tls_ctx *sc)
{
    static uint8_t big[1u << 20];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 31 + (i >> 13));
    rf_tls *c = NULL, *s = NULL;
    if (connect_pair(cc, sc, "localhost", 443, 0, &c, &s) == 0) {
        CHECK(strcmp(rf_tls_version(c), "TLSv1.3") == 0);
        CHECK(strcmp(rf_tls_version(s), "TLSv1.3") == 0);
        CHECK(strcmp(rf_tls_alpn(c), "http/1.1") == 0);
        CHECK(strcmp(rf_tls_alpn(s), "http/1.1") == 0);
        CHECK(rf_tls_cipher(c)[0] != '\0');
        CHECK_EQ(rf_tls_resumed(c), 0);
        CHECK(strcmp(rf_tls_error(c), "") == 0);
        const char *sni = SSL_get_servername(s->ssl, TLSEXT_NAMETYPE_host_name);
        CHECK(sni != NULL && strcmp(sni, "localhost") == 0);
        printf("  handshake: %s %s alpn=%s\n", rf_tls_version(c), rf_tls_cipher(c), rf_tls_alpn(c));

        transfer(c, s, (const uint8_t *)"hello", 5, 4096);
        transfer(s, c, (const uint8_t *)"world", 5, 4096);
        transfer(c, s, big, sizeof big, 65536);
        transfer(s, c, big, sizeof big, 65536);
        transfer(s, c, big, 100000, 7); /* a buffer smaller than a record */

        /* Many small writes, then one read pass gets them all in order. */
        size_t off = 0;
        for (int i = 0; i < 2000; i++) {
            size_t n = 1 + (size_t)(i % 97);
            CHECK_EQ(rf_tls_write(c, big + off, n), 0);
            off += n;
            if (i % 100 == 99)
                pump(c, s, 65536);
        }
        pump(c, s, 65536);
        static uint8_t got[1u << 20];
        int last = 0;
        CHECK_EQ(read_all(s, got, sizeof got, 65536, &last), off);
        CHECK(memcmp(got, big, off) == 0);
        CHECK_EQ(rf_tls_write(c, big, 0), 0);

        /* close_notify both ways; the result sticks. */
        CHECK_EQ(rf_tls_shutdown(c), 0);
        CHECK(rf_tls_output_pending(c) > 0);
        pump(c, s, 65536);
        uint8_t tmp[64];
        CHECK_EQ(rf_tls_read(s, tmp, sizeof tmp), RF_ECLOSED);
        CHECK_EQ(rf_tls_read(s, tmp, sizeof tmp), RF_ECLOSED);
        CHECK(one_line(rf_tls_error(s)));
        CHECK_EQ(rf_tls_shutdown(s), 0);
        pump(s, c, 65536);
        CHECK_EQ(rf_tls_read(c, tmp, sizeof tmp), RF_ECLOSED);
    }
    rf_tls_destroy(c);
    rf_tls_destroy(s);
}

static void test_resumption(rf_tls_ctx *cc, rf_tls_ctx *sc, int version, uint16_t port)
{
    rf_tls *c = NULL, *s = NULL;
    connect_pair(cc, sc, "localhost", port, version, &c, &s);
    CHECK_EQ(rf_tls_resumed(c), 0);
    rf_tls_destroy(c);
    rf_tls_destroy(s);

    c = s = NULL;
    if (connect_pair(cc, sc, "localhost", port, version, &c, &s) == 0) {
        CHECK_EQ(rf_tls_resumed(c), 1);
        CHECK_EQ(rf_tls_resumed(s), 1);
        CHECK(strcmp(rf_tls_version(c), version ? "TLSv1.2" : "TLSv1.3") == 0);
        CHECK(strcmp(rf_tls_alpn(c), "http/1.1") == 0);
        transfer(c, s, (const uint8_t *)"again", 5, 64);
    }
    rf_tls_destroy(c);
    rf_tls_destroy(s);

    /* Names compare without case; sessions are per name and port. */
    c = s = NULL;
    if (connect_pair(cc, sc, "LocalHost", port, version, &c, &s) == 0)
        CHECK_EQ(rf_tls_resumed(c), 1);
    rf_tls_destroy(c);
    rf_tls_destroy(s);

    c = s = NULL;
    if (connect_pair(cc, sc, "localhost", (uint16_t)(port + 1), version, &c, &s) == 0)
        CHECK_EQ(rf_tls_resumed(c), 0);
    rf_tls_destroy(c);
    rf_tls_destroy(s);
}

/* no_session_cache: the same two handshakes as test_resumption, side by
 * side with a caching context, and the second is not resumed; nothing is
 * stored either, though the server issues its tickets all the same. */
static void test_no_session_cache(rf_tls_ctx *sc, int version)
{
    rf_tls_ctx *cached = client_ctx(CERTS "ca.pem", NULL);
    rf_tls_ctx *uncached = NULL;
    rf_tls_ctx_config cfg = {.server = 0, .ca_file = CERTS "ca.pem", .no_session_cache = 1};
    CHECK_EQ(rf_tls_ctx_create(&uncached, &cfg), 0);
    if (cached == NULL || uncached == NULL) {
        rf_tls_ctx_destroy(cached);
        rf_tls_ctx_destroy(uncached);
        return;
    }
    rf_tls_ctx *ctxs[2] = {cached, uncached};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 3; i++) {
            rf_tls *c = NULL, *s = NULL;
            if (connect_pair(ctxs[k], sc, "localhost", 7443, version, &c, &s) == 0) {
                int want = k == 0 && i > 0; /* the caching context resumes from the second on */
                CHECK_EQ(rf_tls_resumed(c), want);
                CHECK_EQ(rf_tls_resumed(s), want);
                transfer(c, s, (const uint8_t *)"data", 4, 64);
            }
            rf_tls_destroy(c);
            rf_tls_destroy(s);
        }
    }
    int stored = 0;
    for (int i = 0; i < RF__TLS_CACHE; i++)
        stored += uncached->cache[i].session != NULL;
    CHECK_EQ(stored, 0);
    CHECK(cached->cache[0].session != NULL);
    rf_tls_ctx_destroy(cached);
    rf_tls_ctx_destroy(uncached);
}

/* The cache keeps the 32 most recently used endpoints. */
static void test_cache_eviction(rf_tls_ctx *sc)
{
    rf_tls_ctx *cc = client_ctx(CERTS "ca.pem", NULL);
    for (uint16_t p = 2000; p < 2000 + RF__TLS_CACHE + 4; p++) {
        rf_tls *c = NULL, *s = NULL;
        connect_pair(cc, sc, "localhost", p, 0, &c, &s);
        rf_tls_destroy(c);
        rf_tls_destroy(s);
    }
    uint16_t probe[2] = {2000 + RF__TLS_CACHE + 3, 2000};
    for (int i = 0; i < 2; i++) {
        rf_tls *c = NULL, *s = NULL;
        if (connect_pair(cc, sc, "localhost", probe[i], 0, &c, &s) == 0)
            CHECK_EQ(rf_tls_resumed(c), i == 0);
        rf_tls_destroy(c);
        rf_tls_destroy(s);
    }
    rf_tls_ctx_destroy(cc);
}

/* Runs a handshake expected to fail on the client with want; returns the
 * server's result. */
static int expect_client_error(rf_tls_ctx *cc, rf_tls_ctx *sc, const char *name, int want)
{
    rf_tls *c = NULL, *s = NULL;
    CHECK_EQ(rf_tls_create(&c, cc, name, 443), 0);
    CHECK_EQ(rf_tls_create(&s, sc, NULL, 0), 0);
    int crc = 0, src = 0;
    if (c != NULL && s != NULL) {
        handshake(c, s, &crc, &src);
        CHECK_EQ(crc, want);
        CHECK(one_line(rf_tls_error(c)));
        printf("  %-9s -> %s | %s\n", name, rf_strerror(crc), rf_tls_error(c));
        CHECK_EQ(rf_tls_handshake(c), want); /* sticky */
        uint8_t tmp[8];
        CHECK_EQ(rf_tls_read(c, tmp, sizeof tmp), want);
        CHECK_EQ(rf_tls_write(c, tmp, sizeof tmp), want);
    }
    rf_tls_destroy(c);
    rf_tls_destroy(s);
    return src;
}

static void test_verify_errors(rf_tls_ctx *cc, rf_tls_ctx *sc)
{
    rf_tls_ctx *wrong = client_ctx(CERTS "wrong-ca.pem", NULL);
    int src = expect_client_error(wrong, sc, "localhost", RF_ETLS_UNTRUSTED);
    CHECK_EQ(src, RF_ETLS_HANDSHAKE); /* the client's unknown-CA alert */
    rf_tls_ctx_destroy(wrong);

    rf_tls_ctx *other = server_ctx(CERTS "other.pem", CERTS "other.key", NULL);
    expect_client_error(cc, other, "localhost", RF_ETLS_HOSTNAME);
    expect_client_error(cc, other, "127.0.0.1", RF_ETLS_HOSTNAME);
    rf_tls_ctx_destroy(other);

    rf_tls_ctx *expired = server_ctx(CERTS "expired.pem", CERTS "expired.key", NULL);
    expect_client_error(cc, expired, "localhost", RF_ETLS_EXPIRED);
    rf_tls_ctx_destroy(expired);

    /* The certificate names localhost, not example.com. */
    expect_client_error(cc, sc, "example.com", RF_ETLS_HOSTNAME);
}

static void test_ip_literal(rf_tls_ctx *cc, rf_tls_ctx *sc)
{
    rf_tls *c = NULL, *s = NULL;
    if (connect_pair(cc, sc, "127.0.0.1", 443, 0, &c, &s) == 0) {
        /* An address is verified but never sent as SNI. */
        CHECK(SSL_get_servername(s->ssl, TLSEXT_NAMETYPE_host_name) == NULL);
        transfer(c, s, (const uint8_t *)"ip", 2, 64);
    }
    rf_tls_destroy(c);
    rf_tls_destroy(s);
}

static void test_not_tls(rf_tls_ctx *cc, rf_tls_ctx *sc)
{
    static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    rf_tls *c = NULL;
    CHECK_EQ(rf_tls_create(&c, cc, "localhost", 443), 0);
    if (c != NULL) {
        /* Nothing received yet is not an error, however often we ask. */
        CHECK_EQ(rf_tls_handshake(c), RF_EAGAIN);
        CHECK_EQ(rf_tls_handshake(c), RF_EAGAIN);
        CHECK(rf_tls_output_pending(c) > 0); /* the ClientHello */
        uint8_t hello[4096];
        CHECK(rf_tls_take_output(c, hello, sizeof hello) > 0);
        CHECK_EQ(rf_tls_output_pending(c), 0);
        CHECK_EQ(rf_tls_feed(c, (const uint8_t *)http, sizeof http - 1), 0);
        int rc = rf_tls_handshake(c);
        CHECK_EQ(rc, RF_ETLS_NOT_TLS);
        CHECK(one_line(rf_tls_error(c)));
        printf("  HTTP reply -> %s | %s\n", rf_strerror(rc), rf_tls_error(c));
    }
    rf_tls_destroy(c);

    /* A plain WebSocket client talking to our TLS server. */
    static const char get[] = "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n";
    rf_tls *s = NULL;
    CHECK_EQ(rf_tls_create(&s, sc, NULL, 0), 0);
    if (s != NULL) {
        CHECK_EQ(rf_tls_handshake(s), RF_EAGAIN);
        CHECK_EQ(rf_tls_feed(s, (const uint8_t *)get, sizeof get - 1), 0);
        int rc = rf_tls_handshake(s);
        CHECK_EQ(rc, RF_ETLS_NOT_TLS);
        CHECK(one_line(rf_tls_error(s)));
        printf("  HTTP request -> %s | %s\n", rf_strerror(rc), rf_tls_error(s));
    }
    rf_tls_destroy(s);
}

static void test_config_errors(void)
{
    struct {
        int server;
        const char *ca, *cert, *key, *what;
    } cases[] = {
        {1, NULL, CERTS "missing.pem", CERTS "server.key", "missing.pem"},
        {1, NULL, CERTS "server.key", CERTS "server.key", "server.key"},
        {1, NULL, CERTS "server.pem", CERTS "missing.key", "missing.key"},
        {1, NULL, CERTS "server.pem", CERTS "other.key", "does not match"},
        {1, NULL, NULL, NULL, "cert_file"},
        {0, CERTS "missing-ca.pem", NULL, NULL, "missing-ca.pem"},
        {0, CERTS "server.key", NULL, NULL, "server.key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rf_tls_ctx *ctx = NULL;
        rf_tls_ctx_config cfg = {.server = cases[i].server, .ca_file = cases[i].ca,
                                 .cert_file = cases[i].cert, .key_file = cases[i].key};
        CHECK_EQ(rf_tls_ctx_create(&ctx, &cfg), RF_ETLS_CONFIG);
        CHECK(ctx != NULL);
        if (ctx == NULL)
            continue;
        const char *e = rf_tls_ctx_error(ctx);
        CHECK(one_line(e));
        CHECK(strstr(e, cases[i].what) != NULL);
        printf("  config: %s\n", e);
        rf_tls *t = NULL;
        CHECK_EQ(rf_tls_create(&t, ctx, "localhost", 443), RF_ESTATE);
        CHECK(t == NULL);
        rf_tls_ctx_destroy(ctx);
    }
    rf_tls_ctx *ctx = (rf_tls_ctx *)1;
    rf_tls_ctx_config cfg = {.alpn = "x"};
    CHECK_EQ(rf_tls_ctx_create(&ctx, NULL), RF_EINVAL);
    CHECK(ctx == NULL);
    char longalpn[300];
    memset(longalpn, 'a', sizeof longalpn - 1);
    longalpn[sizeof longalpn - 1] = '\0';
    cfg.alpn = longalpn;
    CHECK_EQ(rf_tls_ctx_create(&ctx, &cfg), RF_EINVAL);
    /* A good client context still says nothing went wrong. */
    cfg.alpn = NULL;
    CHECK_EQ(rf_tls_ctx_create(&ctx, &cfg), 0);
    if (ctx != NULL) {
        CHECK(strcmp(rf_tls_ctx_error(ctx), "") == 0);
        rf_tls *t = (rf_tls *)1;
        CHECK_EQ(rf_tls_create(&t, ctx, NULL, 443), RF_EINVAL);
        CHECK(t == NULL);
        CHECK_EQ(rf_tls_create(&t, ctx, "", 443), RF_EINVAL);
    }
    rf_tls_ctx_destroy(ctx);
}

static void test_corrupt_record(rf_tls_ctx *cc, rf_tls_ctx *sc)
{
    rf_tls *c = NULL, *s = NULL;
    if (connect_pair(cc, sc, "localhost", 443, 0, &c, &s) == 0) {
        CHECK_EQ(rf_tls_write(c, (const uint8_t *)"market data", 11), 0);
        uint8_t rec[256];
        size_t n = rf_tls_take_output(c, rec, sizeof rec);
        CHECK(n > 20);
        rec[n / 2] ^= 0x40;
        CHECK_EQ(rf_tls_feed(s, rec, n), 0);
        uint8_t tmp[64];
        int rc = rf_tls_read(s, tmp, sizeof tmp);
        CHECK_EQ(rc, RF_ETLS_PROTOCOL);
        CHECK(one_line(rf_tls_error(s)));
        printf("  corrupt record -> %s | %s\n", rf_strerror(rc), rf_tls_error(s));
        CHECK_EQ(rf_tls_read(s, tmp, sizeof tmp), RF_ETLS_PROTOCOL);
        CHECK(rf_tls_output_pending(s) > 0); /* the bad_record_mac alert */
        pump(s, c, 65536);
        CHECK_EQ(rf_tls_read(c, tmp, sizeof tmp), RF_ETLS_PROTOCOL);
        CHECK(one_line(rf_tls_error(c)));
        /* The error queue is per thread: a healthy connection is unaffected. */
        rf_tls *c2 = NULL, *s2 = NULL;
        if (connect_pair(cc, sc, "localhost", 443, 0, &c2, &s2) == 0)
            transfer(s2, c2, (const uint8_t *)"fine", 4, 64);
        CHECK(strcmp(rf_tls_error(c2), "") == 0);
        rf_tls_destroy(c2);
        rf_tls_destroy(s2);
    }
    rf_tls_destroy(c);
    rf_tls_destroy(s);
}

static void test_alpn_and_lifetimes(rf_tls_ctx *sc)
{
    /* "" offers nothing; a server that wants something else does not fail. */
    const char *client_alpn[] = {"", "http/1.1"};
    const char *server_alpn[] = {"http/1.1", "h2"};
    for (int i = 0; i < 2; i++) {
        rf_tls_ctx *cc = client_ctx(CERTS "ca.pem", client_alpn[i]);
        rf_tls_ctx *s2 = server_ctx(CERTS "server.pem", CERTS "server.key", server_alpn[i]);
        rf_tls *c = NULL, *s = NULL;
        if (connect_pair(cc, s2, "localhost", 443, 0, &c, &s) == 0) {
            CHECK(strcmp(rf_tls_alpn(c), "") == 0);
            CHECK(strcmp(rf_tls_alpn(s), "") == 0);
        }
        rf_tls_destroy(c);
        rf_tls_destroy(s);
        rf_tls_ctx_destroy(cc);
        rf_tls_ctx_destroy(s2);
    }

    /* Contexts destroyed first: connections keep them alive, tickets still land. */
    rf_tls_ctx *cc = client_ctx(CERTS "ca.pem", NULL);
    rf_tls_ctx *s2 = server_ctx(CERTS "server.pem", CERTS "server.key", NULL);
    rf_tls *c = NULL, *s = NULL;
    CHECK_EQ(rf_tls_create(&c, cc, "localhost", 443), 0);
    CHECK_EQ(rf_tls_create(&s, s2, NULL, 0), 0);
    rf_tls_ctx_destroy(cc);
    rf_tls_ctx_destroy(s2);
    if (c != NULL && s != NULL) {
        int crc, src;
        handshake_chunked(c, s, &crc, &src, 1); /* one byte at a time */
        CHECK_EQ(crc, 0);
        CHECK_EQ(src, 0);
        uint8_t tmp[8];
        CHECK_EQ(rf_tls_read(c, tmp, sizeof tmp), 0);
        CHECK_EQ(rf_tls_write(c, (const uint8_t *)"x", 1), 0);
        CHECK_EQ(rf_tls_read(c, tmp, sizeof tmp), 0);
    }
    rf_tls_destroy(c);
    rf_tls_destroy(s);

    /* Before the handshake: no data, no shutdown, no names. */
    cc = client_ctx(CERTS "ca.pem", NULL);
    c = NULL;
    CHECK_EQ(rf_tls_create(&c, cc, "localhost", 443), 0);
    if (c != NULL) {
        CHECK_EQ(rf_tls_write(c, (const uint8_t *)"x", 1), RF_ESTATE);
        CHECK_EQ(rf_tls_shutdown(c), RF_ESTATE);
        CHECK(strcmp(rf_tls_version(c), "") == 0);
        CHECK(strcmp(rf_tls_alpn(c), "") == 0);
        CHECK_EQ(rf_tls_resumed(c), 0);
    }
    rf_tls_destroy(c);
    rf_tls_ctx_destroy(cc);
}

/* Contexts shared by connections on several threads: the session cache is
 * the only mutable part, and ASan sees any unguarded use of it. */
typedef struct {
    rf_tls_ctx *cc, *sc;
    int id, ok, resumed;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 12; i++) {
        rf_tls *c = NULL, *s = NULL;
        /* Ports overlap between threads so they race on the same entries. */
        uint16_t port = (uint16_t)(3000 + (w->id + i) % 6);
        int crc = RF_EAGAIN, src = RF_EAGAIN;
        if (rf_tls_create(&c, w->cc, "localhost", port) == 0 && rf_tls_create(&s, w->sc, NULL, 0) == 0) {
            for (int k = 0; k < 10 && (crc == RF_EAGAIN || src == RF_EAGAIN); k++) {
                uint8_t buf[16384], tmp[8];
                size_t n;
                if (crc == RF_EAGAIN)
                    crc = rf_tls_handshake(c);
                while ((n = rf_tls_take_output(c, buf, sizeof buf)) > 0)
                    rf_tls_feed(s, buf, n);
                if (src == RF_EAGAIN)
                    src = rf_tls_handshake(s);
                while ((n = rf_tls_take_output(s, buf, sizeof buf)) > 0)
                    rf_tls_feed(c, buf, n);
                if (crc == 0)
                    (void)rf_tls_read(c, tmp, sizeof tmp);
            }
            w->ok += crc == 0 && src == 0;
            w->resumed += rf_tls_resumed(c);
        }
        rf_tls_destroy(c);
        rf_tls_destroy(s);
    }
    return NULL;
}

static void test_threads(rf_tls_ctx *sc)
{
    rf_tls_ctx *cc = client_ctx(CERTS "ca.pem", NULL);
    worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.cc = cc, .sc = sc, .id = i};
        CHECK_EQ(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    int ok = 0, resumed = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        resumed += w[i].resumed;
    }
    CHECK_EQ(ok, 48);
    /* At most the first connection to each of the 6 ports is a full one
     * (plus any that raced it). */
    CHECK(resumed >= 48 - 6 * 4);
    printf("  threads: %d handshakes, %d resumed\n", ok, resumed);
    rf_tls_ctx_destroy(cc);
}

int main(void)
{
    CHECK_EQ(system("sh Tests/c/make_test_certs.sh build/test-certs"), 0);
    rf_tls_ctx *cc = client_ctx(CERTS "ca.pem", NULL);
    rf_tls_ctx *sc = server_ctx(CERTS "server.pem", CERTS "server.key", NULL);
    if (cc == NULL || sc == NULL) {
        rf_tls_ctx_destroy(cc);
        rf_tls_ctx_destroy(sc);
        TEST_DONE("tls");
    }

    test_full(cc, sc);
    test_resumption(cc, sc, 0, 8443);
    test_resumption(cc, sc, TLS1_2_VERSION, 9443);
    test_no_session_cache(sc, 0);
    test_no_session_cache(sc, TLS1_2_VERSION);
    test_cache_eviction(sc);
    test_ip_literal(cc, sc);
    test_verify_errors(cc, sc);
    test_not_tls(cc, sc);
    test_corrupt_record(cc, sc);
    test_config_errors();
    test_alpn_and_lifetimes(sc);
    test_threads(sc);

    const char *why = NULL;
    int k = rf_tls_kernel_offload_available(&why);
    CHECK(k == 0 || k == 1);
    CHECK(why != NULL && why[0] != '\0');
    printf("  kernel TLS: %s (%s)\n", k ? "available" : "unavailable", why ? why : "");
    CHECK_EQ(rf_tls_kernel_offload_available(NULL), k);

    rf_tls_ctx_destroy(cc);
    rf_tls_ctx_destroy(sc);
    /* OpenSSL's one-time globals, so LeakSanitizer sees only ours. */
    OPENSSL_cleanup();
    TEST_DONE("tls");
}
