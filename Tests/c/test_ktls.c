/* Kernel TLS: the crypto info RingFeed would hand to the kernel, checked on
 * any machine, and the offload itself where the kernel has it.
 *
 * 1. Key derivation and sequence numbers, with a client and a server paired
 *    in memory (TLS 1.3 and 1.2; AES-128-GCM, AES-256-GCM and
 *    ChaCha20-Poly1305; full and resumed handshakes; after tickets and
 *    application data in both directions). For every record OpenSSL then
 *    writes, the receiver's crypto info must decrypt it (what kTLS RX would
 *    do) and the sender's crypto info must seal the same plaintext into the
 *    very same bytes (what kTLS TX would send). Then a record sealed only by
 *    us must be accepted by the peer's OpenSSL. The AEAD here is OpenSSL's
 *    EVP interface driven from the kernel layout alone, independent of the
 *    derivation code. Boundary tracking, key updates and unsupported ciphers
 *    are checked too.
 * 2. A wss:// exchange over loopback between RingFeed's own client and
 *    server on an io_uring loop, many messages both ways, clean close. The
 *    path must be "kernel" where the kernel offers kTLS, and a clean
 *    "userspace" fallback where it does not (this is what runs on machines
 *    without CONFIG_TLS) or the context opts out. TLS 1.3 with AES-128-GCM
 *    and ChaCha20-Poly1305, TLS 1.2 with AES-256-GCM. RF_TEST_REQUIRE_KTLS=1 makes "kernel" mandatory
 *    (the VM run: make ktls-vm). Every wait has a deadline. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ktls.h"
#include "ringfeed/error.h"
#include "ringfeed/loop.h"
#include "ringfeed/tls.h"
#include "ringfeed/ws_conn.h"
#include "tls_internal.h"

#define CERTS "build/test-certs/"

/* ---- in-memory pair ---- */

static size_t pump(rf_tls *from, rf_tls *to)
{
    static uint8_t buf[65536];
    size_t total = 0, n;
    while ((n = rf_tls_take_output(from, buf, sizeof buf)) > 0) {
        CHECK_EQ(rf_tls_feed(to, buf, n), 0);
        total += n;
    }
    return total;
}

static int handshake(rf_tls *c, rf_tls *s)
{
    int crc = RF_EAGAIN, src = RF_EAGAIN;
    for (int i = 0; i < 100 && (crc == RF_EAGAIN || src == RF_EAGAIN); i++) {
        if (crc == RF_EAGAIN)
            crc = rf_tls_handshake(c);
        pump(c, s);
        if (src == RF_EAGAIN)
            src = rf_tls_handshake(s);
        pump(s, c);
    }
    CHECK_EQ(crc, 0);
    CHECK_EQ(src, 0);
    return crc == 0 && src == 0 ? 0 : -1;
}

/* Sends msg from one side to the other through OpenSSL (userspace path). */
static void userspace_send(rf_tls *from, rf_tls *to, const uint8_t *msg, size_t n)
{
    static uint8_t got[1 << 16];
    CHECK_EQ(rf_tls_write(from, msg, n), 0);
    pump(from, to);
    int r = rf_tls_read(to, got, sizeof got);
    CHECK_EQ(r, (long long)n);
    CHECK(r == (int)n && memcmp(got, msg, n) == 0);
}

/* ---- AEAD from the kernel layout alone ---- */

typedef struct view {
    int v13, cipher;
    const uint8_t *key, *salt, *iv, *seq;
    size_t key_len;
} view;

static view view_of(const rf__ktls_info *i)
{
    view v = {.v13 = i->u.info.version == TLS_1_3_VERSION, .cipher = i->u.info.cipher_type};
    switch (v.cipher) {
    case TLS_CIPHER_AES_GCM_128:
        v = (view){v.v13, v.cipher, i->u.aes128.key, i->u.aes128.salt, i->u.aes128.iv, i->u.aes128.rec_seq, 16};
        break;
    case TLS_CIPHER_AES_GCM_256:
        v = (view){v.v13, v.cipher, i->u.aes256.key, i->u.aes256.salt, i->u.aes256.iv, i->u.aes256.rec_seq, 32};
        break;
    default:
        v = (view){v.v13, v.cipher, i->u.chacha.key, NULL, i->u.chacha.iv, i->u.chacha.rec_seq, 32};
        break;
    }
    return v;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int k = 0; k < 8; k++)
        x = x << 8 | p[k];
    return x;
}

static void put64(uint8_t *p, uint64_t x)
{
    for (int k = 7; k >= 0; k--, x >>= 8)
        p[k] = (uint8_t)x;
}

static const EVP_CIPHER *evp(const view *v)
{
    return v->cipher == TLS_CIPHER_AES_GCM_128   ? EVP_aes_128_gcm()
           : v->cipher == TLS_CIPHER_AES_GCM_256 ? EVP_aes_256_gcm()
                                                 : EVP_chacha20_poly1305();
}

/* nonce for record k after the info was taken (the kernel's counters). */
static void nonce_for(const view *v, uint64_t k, const uint8_t *explicit_nonce, uint8_t nonce[12])
{
    uint64_t seq = be64(v->seq) + k;
    if (!v->v13 && v->cipher != TLS_CIPHER_CHACHA20_POLY1305) {
        memcpy(nonce, v->salt, 4);
        if (explicit_nonce != NULL)
            memcpy(nonce + 4, explicit_nonce, 8);
        else
            put64(nonce + 4, be64(v->iv) + k);
        return;
    }
    if (v->cipher == TLS_CIPHER_CHACHA20_POLY1305)
        memcpy(nonce, v->iv, 12);
    else {
        memcpy(nonce, v->salt, 4);
        memcpy(nonce + 4, v->iv, 8);
    }
    for (int b = 0; b < 8; b++)
        nonce[4 + b] ^= (uint8_t)(seq >> (56 - 8 * b));
}

static int aead(int enc, const view *v, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ok = x != NULL && EVP_CipherInit_ex(x, evp(v), NULL, NULL, NULL, enc) == 1 &&
             EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1 &&
             EVP_CipherInit_ex(x, NULL, NULL, v->key, nonce, enc) == 1;
    int len = 0;
    ok = ok && EVP_CipherUpdate(x, NULL, &len, aad, (int)aad_len) == 1;
    ok = ok && EVP_CipherUpdate(x, out, &len, in, (int)n) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(x, out + len, &len) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(x);
    return ok ? 0 : -1;
}

/* Seals msg as the kernel would for record k after the info: returns the
 * record length written to rec. */
static size_t seal(const view *v, uint64_t k, const uint8_t *msg, size_t n, uint8_t *rec)
{
    static uint8_t inner[1 << 15];
    uint8_t nonce[12], aad[13];
    size_t body = 0, explicit_len = (!v->v13 && v->cipher != TLS_CIPHER_CHACHA20_POLY1305) ? 8 : 0;
    memcpy(inner, msg, n);
    size_t in_len = n;
    if (v->v13)
        inner[in_len++] = RF__TLS_APPLICATION_DATA; /* TLSInnerPlaintext content type, no padding */
    size_t rec_len = explicit_len + in_len + 16;
    rec[0] = RF__TLS_APPLICATION_DATA;
    rec[1] = 3;
    rec[2] = 3;
    rec[3] = (uint8_t)(rec_len >> 8);
    rec[4] = (uint8_t)rec_len;
    nonce_for(v, k, NULL, nonce);
    if (explicit_len)
        memcpy(rec + 5, nonce + 4, 8);
    size_t aad_len;
    if (v->v13) {
        memcpy(aad, rec, 5);
        aad_len = 5;
    } else {
        put64(aad, be64(v->seq) + k);
        aad[8] = RF__TLS_APPLICATION_DATA;
        aad[9] = 3;
        aad[10] = 3;
        aad[11] = (uint8_t)(n >> 8);
        aad[12] = (uint8_t)n;
        aad_len = 13;
    }
    body = 5 + explicit_len;
    if (aead(1, v, nonce, aad, aad_len, inner, in_len, rec + body, rec + body + in_len) != 0)
        return 0;
    return 5 + rec_len;
}

/* Opens record rec (rec_len bytes, header included) as record k after the
 * info; returns the plaintext length or -1. */
static long open_record(const view *v, uint64_t k, const uint8_t *rec, size_t rec_len, uint8_t *out)
{
    size_t explicit_len = (!v->v13 && v->cipher != TLS_CIPHER_CHACHA20_POLY1305) ? 8 : 0;
    if (rec_len < 5 + explicit_len + 16 || rec[0] != RF__TLS_APPLICATION_DATA)
        return -1;
    size_t ct_len = rec_len - 5 - explicit_len - 16;
    uint8_t nonce[12], aad[13], tag[16];
    nonce_for(v, k, explicit_len ? rec + 5 : NULL, nonce);
    size_t aad_len;
    if (v->v13) {
        memcpy(aad, rec, 5);
        aad_len = 5;
    } else {
        put64(aad, be64(v->seq) + k);
        aad[8] = rec[0];
        aad[9] = 3;
        aad[10] = 3;
        aad[11] = (uint8_t)(ct_len >> 8);
        aad[12] = (uint8_t)ct_len;
        aad_len = 13;
    }
    memcpy(tag, rec + rec_len - 16, 16);
    if (aead(0, v, nonce, aad, aad_len, rec + 5 + explicit_len, ct_len, out, tag) != 0)
        return -1;
    if (v->v13) { /* strip the inner content type (OpenSSL adds no padding) */
        if (ct_len == 0 || out[ct_len - 1] != RF__TLS_APPLICATION_DATA)
            return -1;
        ct_len--;
    }
    return (long)ct_len;
}

/* The same keys and next sequence number on both ends of a direction. */
static void check_pair(const rf__ktls_info *tx, const rf__ktls_info *rx)
{
    view a = view_of(tx), b = view_of(rx);
    CHECK_EQ(tx->len, rx->len);
    CHECK_EQ(a.v13, b.v13);
    CHECK_EQ(a.cipher, b.cipher);
    CHECK(memcmp(a.key, b.key, a.key_len) == 0);
    CHECK(a.salt == NULL || memcmp(a.salt, b.salt, 4) == 0);
    CHECK(memcmp(a.seq, b.seq, 8) == 0);
    if (a.v13 || a.cipher == TLS_CIPHER_CHACHA20_POLY1305) /* 1.2 GCM: iv is TX's explicit nonce only */
        CHECK(memcmp(a.iv, b.iv, a.cipher == TLS_CIPHER_CHACHA20_POLY1305 ? 12 : 8) == 0);
}

static size_t msg_size(int i) { return 1 + (size_t)(i * 2749) % 16000; }

static void fill(uint8_t *p, size_t n, int i)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (uint8_t)(k * 7 + (size_t)i * 13 + (k >> 8));
}

/* Records OpenSSL writes from `from` after the infos were taken: rx opens
 * each one, tx seals its plaintext into the same bytes. */
static void check_direction(rf_tls *from, rf_tls *to, const rf__ktls_info *tx, const rf__ktls_info *rx)
{
    static uint8_t msg[16384], wire[1 << 15], mine[1 << 15], plain[1 << 15];
    view vt = view_of(tx), vr = view_of(rx);
    int records = 0, same = 0, opened = 0;
    for (int i = 0; i < 40; i++) {
        size_t n = msg_size(i);
        fill(msg, n, i);
        CHECK_EQ(rf_tls_write(from, msg, n), 0);
        size_t w = rf_tls_take_output(from, wire, sizeof wire);
        CHECK_EQ(rf_tls_output_pending(from), 0);
        CHECK(w >= 5 && w == 5 + (size_t)(wire[3] << 8 | wire[4])); /* one record */
        long p = open_record(&vr, (uint64_t)i, wire, w, plain);
        CHECK_EQ(p, (long long)n);
        opened += p == (long)n && memcmp(plain, msg, n) == 0;
        size_t m = seal(&vt, (uint64_t)i, msg, n, mine);
        same += m == w && memcmp(mine, wire, w) == 0;
        records++;
        /* Keep the receiver's OpenSSL in step. */
        CHECK_EQ(rf_tls_feed(to, wire, w), 0);
        int r = rf_tls_read(to, plain, sizeof plain);
        CHECK_EQ(r, (long long)n);
    }
    CHECK_EQ(opened, records);
    CHECK_EQ(same, records);
    /* A record only we sealed, as the kernel's next one: OpenSSL takes it. */
    const char *tail = "sealed by the crypto info alone";
    size_t m = seal(&vt, (uint64_t)records, (const uint8_t *)tail, strlen(tail), mine);
    CHECK_EQ(rf_tls_feed(to, mine, m), 0);
    int r = rf_tls_read(to, plain, sizeof plain);
    CHECK_EQ(r, (long long)strlen(tail));
    CHECK(r > 0 && memcmp(plain, tail, strlen(tail)) == 0);
}

typedef struct suite {
    const char *name;
    int max_version;
    const char *ciphers; /* TLS 1.3 suites or TLS 1.2 cipher list */
    int kernel_cipher;
} suite;

static const suite suites[] = {
    {"TLS 1.3 AES-128-GCM", 0, "TLS_AES_128_GCM_SHA256", TLS_CIPHER_AES_GCM_128},
    {"TLS 1.3 AES-256-GCM", 0, "TLS_AES_256_GCM_SHA384", TLS_CIPHER_AES_GCM_256},
    {"TLS 1.3 ChaCha20-Poly1305", 0, "TLS_CHACHA20_POLY1305_SHA256", TLS_CIPHER_CHACHA20_POLY1305},
    {"TLS 1.2 AES-128-GCM", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", TLS_CIPHER_AES_GCM_128},
    {"TLS 1.2 AES-256-GCM", TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", TLS_CIPHER_AES_GCM_256},
    {"TLS 1.2 ChaCha20-Poly1305", TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", TLS_CIPHER_CHACHA20_POLY1305},
};

static int make_pair(rf_tls_ctx *cc, rf_tls_ctx *sc, const suite *su, uint16_t port, rf_tls **c, rf_tls **s)
{
    CHECK_EQ(rf_tls_create(c, cc, "localhost", port), 0);
    CHECK_EQ(rf_tls_create(s, sc, NULL, 0), 0);
    if (*c == NULL || *s == NULL)
        return -1;
    CHECK_EQ(rf__ktls_track(*c), 0);
    CHECK_EQ(rf__ktls_track(*s), 0);
    if (su->max_version) {
        CHECK_EQ(rf__tls_set_max_version(*c, su->max_version), 0);
        CHECK_EQ(SSL_set_cipher_list((*c)->ssl, su->ciphers), 1);
    } else {
        CHECK_EQ(SSL_set_ciphersuites((*c)->ssl, su->ciphers), 1);
        CHECK_EQ(SSL_set_ciphersuites((*s)->ssl, su->ciphers), 1);
    }
    return handshake(*c, *s);
}

static void test_suite(rf_tls_ctx *cc, rf_tls_ctx *sc, const suite *su, uint16_t port, int expect_resumed)
{
    rf_tls *c = NULL, *s = NULL;
    if (make_pair(cc, sc, su, port, &c, &s) == 0) {
        CHECK_EQ(rf_tls_resumed(c), expect_resumed);
        CHECK(strcmp(rf_tls_version(c), su->max_version ? "TLSv1.2" : "TLSv1.3") == 0);
        /* Application data both ways first (the client also reads the
         * TLS 1.3 tickets here), so the counts are not trivially zero. */
        static uint8_t m[3000];
        for (int i = 0; i < 3; i++) {
            fill(m, sizeof m, i);
            userspace_send(s, c, m, sizeof m - (size_t)i * 100);
            userspace_send(c, s, m, (size_t)i * 500 + 1);
        }
        rf__ktls_info ctx_, crx, stx, srx;
        CHECK_EQ(rf__ktls_info_get(c, RF__KTLS_TX, &ctx_), 0);
        CHECK_EQ(rf__ktls_info_get(c, RF__KTLS_RX, &crx), 0);
        CHECK_EQ(rf__ktls_info_get(s, RF__KTLS_TX, &stx), 0);
        CHECK_EQ(rf__ktls_info_get(s, RF__KTLS_RX, &srx), 0);
        CHECK_EQ(ctx_.u.info.cipher_type, su->kernel_cipher);
        CHECK_EQ(ctx_.u.info.version, su->max_version ? TLS_1_2_VERSION : TLS_1_3_VERSION);
        check_pair(&ctx_, &srx);
        check_pair(&stx, &crx);
        /* Three records each way so far, plus what the handshake leaves
         * under the application keys: TLS 1.2's Finished (record 0), and a
         * TLS 1.3 server's tickets (two for a full handshake, one after a
         * resumption, OpenSSL's defaults). */
        uint64_t c_seq = be64(view_of(&ctx_).seq), s_seq = be64(view_of(&stx).seq);
        if (su->max_version) {
            CHECK_EQ(c_seq, 4);
            CHECK_EQ(s_seq, 4);
        } else {
            CHECK_EQ(c_seq, 3);
            CHECK_EQ(s_seq, expect_resumed ? 4 : 5);
        }
        check_direction(s, c, &stx, &crx);
        check_direction(c, s, &ctx_, &srx);
        rf__ktls_info_wipe(&ctx_);
        rf__ktls_info_wipe(&crx);
        rf__ktls_info_wipe(&stx);
        rf__ktls_info_wipe(&srx);
    }
    printf("  %-26s %s\n", su->name, expect_resumed ? "resumed" : "full handshake");
    rf_tls_destroy(c);
    rf_tls_destroy(s);
}

/* RX may only move at a record boundary with everything consumed. */
static void test_boundary(rf_tls_ctx *cc, rf_tls_ctx *sc)
{
    rf_tls *c = NULL, *s = NULL;
    if (make_pair(cc, sc, &suites[0], 7001, &c, &s) == 0) {
        uint8_t buf[4096], got[4096];
        userspace_send(s, c, (const uint8_t *)"x", 1);
        CHECK(rf__ktls_rx_at_boundary(c));
        CHECK_EQ(rf__ktls_rx_missing(c), 0);
        fill(buf, 1000, 1);
        CHECK_EQ(rf_tls_write(s, buf, 1000), 0);
        size_t w = rf_tls_take_output(s, got, sizeof got);
        size_t body = (size_t)(got[3] << 8 | got[4]);
        CHECK_EQ(rf_tls_feed(c, got, 3), 0);
        CHECK(!rf__ktls_rx_at_boundary(c));
        CHECK_EQ(rf__ktls_rx_missing(c), 2);
        CHECK_EQ(rf_tls_feed(c, got + 3, 12), 0);
        CHECK_EQ(rf__ktls_rx_missing(c), body - 10);
        CHECK_EQ(rf_tls_read(c, buf, sizeof buf), 0);
        CHECK(!rf__ktls_rx_at_boundary(c));
        CHECK_EQ(rf_tls_feed(c, got + 15, w - 15), 0);
        CHECK(!rf__ktls_rx_at_boundary(c)); /* fed but not yet read */
        CHECK_EQ(rf_tls_read(c, buf, sizeof buf), 1000);
        CHECK(rf__ktls_rx_at_boundary(c));
        rf__ktls_info info;
        CHECK_EQ(rf__ktls_info_get(c, RF__KTLS_RX, &info), 0);
    }
    rf_tls_destroy(c);
    rf_tls_destroy(s);
}

/* After a KeyUpdate the counts no longer describe the keys: refuse. */
static void test_key_update(rf_tls_ctx *cc, rf_tls_ctx *sc)
{
    rf_tls *c = NULL, *s = NULL;
    if (make_pair(cc, sc, &suites[0], 7002, &c, &s) == 0) {
        userspace_send(s, c, (const uint8_t *)"x", 1);
        rf__ktls_info info;
        CHECK_EQ(rf__ktls_info_get(c, RF__KTLS_TX, &info), 0);
        CHECK_EQ(SSL_key_update(c->ssl, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
        userspace_send(c, s, (const uint8_t *)"y", 1);
        CHECK_EQ(rf__ktls_info_get(c, RF__KTLS_TX, &info), RF_ESTATE);
        CHECK_EQ(rf__ktls_info_get(s, RF__KTLS_RX, &info), RF_ESTATE);
    }
    rf_tls_destroy(c);
    rf_tls_destroy(s);
}

static void test_unsupported(rf_tls_ctx *cc, rf_tls_ctx *sc)
{
    static const suite cbc = {"TLS 1.2 AES-128-CBC", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA", 0};
    rf_tls *c = NULL, *s = NULL;
    if (make_pair(cc, sc, &cbc, 7003, &c, &s) == 0) {
        rf__ktls_info info;
        CHECK_EQ(rf__ktls_info_get(c, RF__KTLS_TX, &info), RF_EUNSUPPORTED);
        CHECK(strcmp(rf_tls_path(c), "userspace") == 0);
    }
    rf_tls_destroy(c);
    rf_tls_destroy(s);
    /* Not tracking (offload off or unavailable): nothing to hand over. */
    CHECK_EQ(rf_tls_create(&c, cc, "localhost", 7004), 0);
    CHECK_EQ(rf_tls_create(&s, sc, NULL, 0), 0);
    if (c != NULL && s != NULL && handshake(c, s) == 0) {
        rf__ktls_info info;
        CHECK_EQ(rf__ktls_info_get(c, RF__KTLS_TX, &info), RF_ESTATE);
    }
    rf_tls_destroy(c);
    rf_tls_destroy(s);
    CHECK(strcmp(rf_tls_path(NULL), "none") == 0);
}

/* ---- the real thing: wss over loopback on the ring ---- */

/* Sized for the VM too, where kTLS runs under emulation (TCG): about 100
 * messages a second there, against thousands natively. */
static int ws_messages;

typedef struct peer {
    rf_ws_conn *conn;
    int sent, received, bad, opened, closed, close_code, close_error;
    char path[16];
    char version[16], cipher[64];
    uint8_t buf[70000];
} peer;

static size_t ws_size(int i) { return (size_t)(i * 613) % 66000; }

static void ws_send_next(peer *p)
{
    size_t n = ws_size(p->sent);
    fill(p->buf, n, p->sent);
    if (rf_ws_conn_send(p->conn, RF_WS_OP_BINARY, p->buf, n) != 0)
        p->bad++;
    p->sent++;
}

static void note_path(peer *p)
{
    snprintf(p->path, sizeof p->path, "%s", rf_ws_conn_tls_path(p->conn));
    const rf_tls *t = rf_ws_conn_tls(p->conn);
    snprintf(p->version, sizeof p->version, "%s", t ? rf_tls_version(t) : "");
    snprintf(p->cipher, sizeof p->cipher, "%s", t ? rf_tls_cipher(t) : "");
}

/* The client sends ws_messages messages, a window of 8 in flight; the
 * server echoes each; the client checks every byte, then closes. */
static void cl_open(rf_ws_conn *c, void *ctx)
{
    peer *p = ctx;
    p->conn = c;
    p->opened = 1;
    for (int i = 0; i < 8; i++)
        ws_send_next(p);
}

static void cl_message(rf_ws_conn *c, void *ctx, unsigned op, const uint8_t *d, size_t n)
{
    peer *p = ctx;
    static uint8_t want[70000];
    size_t w = ws_size(p->received);
    fill(want, w, p->received);
    if (op != RF_WS_OP_BINARY || n != w || memcmp(d, want, n) != 0)
        p->bad++;
    p->received++;
    if (p->sent < ws_messages)
        ws_send_next(p);
    else if (p->received == ws_messages) {
        note_path(p);
        rf_ws_conn_close(c, RF_WS_CLOSE_NORMAL, "done", 4);
    }
}

static void on_closed(rf_ws_conn *c, void *ctx, int code, int error)
{
    peer *p = ctx;
    p->closed = 1;
    p->close_code = code;
    p->close_error = error;
}

static void sv_open(rf_ws_conn *c, void *ctx)
{
    peer *p = ctx;
    p->conn = c;
    p->opened = 1;
}

static void sv_message(rf_ws_conn *c, void *ctx, unsigned op, const uint8_t *d, size_t n)
{
    peer *p = ctx;
    p->received++;
    if (rf_ws_conn_send(c, op, d, n) != 0)
        p->bad++;
    if (p->received == ws_messages)
        note_path(p);
}

static void test_wss_loopback(rf_tls_ctx *cc, rf_tls_ctx *sc, int messages, int offload, int require_kernel)
{
    const char *why = "";
    int available = rf_tls_kernel_offload_available(&why);
    const char *expect = available && offload ? "kernel" : "userspace";
    ws_messages = messages;
    rf_loop *loop = NULL;
    CHECK_EQ(rf_loop_create(&loop, NULL), 0);
    if (loop == NULL)
        return;
    static peer cl, sv;
    memset(&cl, 0, sizeof cl);
    memset(&sv, 0, sizeof sv);
    rf_ws_conn_handlers sh = {.on_open = sv_open, .on_message = sv_message, .on_close = on_closed};
    rf_ws_conn_handlers ch = {.on_open = cl_open, .on_message = cl_message, .on_close = on_closed};
    rf_ws_conn_config scfg = {.tls = sc, .max_message = 1 << 20};
    rf_ws_conn_config ccfg = {.tls = cc, .max_message = 1 << 20};
    rf_ws_server *server = NULL;
    CHECK_EQ(rf_ws_listen(loop, "127.0.0.1", 0, &scfg, &sh, &sv, &server), 0);
    if (server != NULL) {
        char url[64];
        snprintf(url, sizeof url, "wss://localhost:%u/ktls", (unsigned)rf_ws_server_port(server));
        CHECK_EQ(rf_ws_connect(loop, url, &ccfg, &ch, &cl, NULL), 0);
        uint64_t deadline = rf_now_ns() + 180ull * 1000000000ull;
        while (!(cl.closed && sv.closed) && rf_now_ns() < deadline)
            rf_loop_run_once(loop, 10);
        rf_ws_server_close(server);
        if (!(cl.closed && sv.closed))
            fprintf(stderr, "stalled: client sent %d received %d pending %zu path %s; server received %d pending %zu path %s\n",
                    cl.sent, cl.received, cl.conn ? rf_ws_conn_pending(cl.conn) : 0,
                    cl.conn ? rf_ws_conn_tls_path(cl.conn) : "-", sv.received,
                    sv.conn ? rf_ws_conn_pending(sv.conn) : 0, sv.conn ? rf_ws_conn_tls_path(sv.conn) : "-");
    }
    CHECK(cl.opened && sv.opened);
    CHECK_EQ(cl.bad, 0);
    CHECK_EQ(sv.bad, 0);
    CHECK_EQ(cl.received, ws_messages);
    CHECK_EQ(sv.received, ws_messages);
    CHECK(cl.closed && sv.closed);
    CHECK_EQ(cl.close_code, RF_WS_CLOSE_NORMAL);
    CHECK_EQ(sv.close_code, RF_WS_CLOSE_NORMAL);
    CHECK_EQ(cl.close_error, 0);
    CHECK_EQ(sv.close_error, 0);
    CHECK(strcmp(cl.path, expect) == 0);
    CHECK(strcmp(sv.path, expect) == 0);
    if (require_kernel && offload)
        CHECK(available && strcmp(cl.path, "kernel") == 0 && strcmp(sv.path, "kernel") == 0);
    printf("  wss loopback %s %s: %d messages each way, client path %s, server path %s (kernel TLS: %s)\n",
           cl.version, cl.cipher, cl.received, cl.path, sv.path, why);
    rf_loop_destroy(loop);
}

int main(void)
{
    CHECK_EQ(system("sh Tests/c/make_test_certs.sh build/test-certs"), 0);
    rf_tls_ctx *cc = NULL, *sc = NULL;
    rf_tls_ctx_config ccfg = {.server = 0, .ca_file = CERTS "ca.pem"};
    rf_tls_ctx_config scfg = {.server = 1, .cert_file = CERTS "server.pem", .key_file = CERTS "server.key"};
    CHECK_EQ(rf_tls_ctx_create(&cc, &ccfg), 0);
    CHECK_EQ(rf_tls_ctx_create(&sc, &scfg), 0);
    if (cc == NULL || sc == NULL) {
        rf_tls_ctx_destroy(cc);
        rf_tls_ctx_destroy(sc);
        TEST_DONE("ktls");
    }
    /* Key tracking even where the kernel has no kTLS (it only needs OpenSSL). */
    rf__tls_ctx_force_offload(cc);
    rf__tls_ctx_force_offload(sc);

    for (size_t i = 0; i < sizeof suites / sizeof *suites; i++) {
        uint16_t port = (uint16_t)(7100 + i);
        test_suite(cc, sc, &suites[i], port, 0);
        test_suite(cc, sc, &suites[i], port, 1); /* the session cache resumes it */
        CHECK_BAIL();
    }
    test_boundary(cc, sc);
    test_key_update(cc, sc);
    test_unsupported(cc, sc);

    /* Contexts as an application makes them: offload where available
     * (the last one opts out). The cipher and version are narrowed on the
     * contexts' SSL_CTX only to cover what the kernel is handed. */
    static const struct {
        int max_version;
        const char *ciphers;
        int messages, offload;
    } runs[] = {
        {0, NULL, 1000, 1}, /* TLS 1.3, AES-128-GCM (the contexts' first choice) */
        {0, "TLS_CHACHA20_POLY1305_SHA256", 200, 1},
        {TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", 200, 1},
        {0, NULL, 200, 0},
    };
    const char *req = getenv("RF_TEST_REQUIRE_KTLS");
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        rf_tls_ctx *wcc = NULL, *wsc = NULL;
        rf_tls_ctx_config wc = ccfg, ws = scfg;
        wc.no_kernel_offload = ws.no_kernel_offload = !runs[i].offload;
        CHECK_EQ(rf_tls_ctx_create(&wcc, &wc), 0);
        CHECK_EQ(rf_tls_ctx_create(&wsc, &ws), 0);
        if (wcc != NULL && wsc != NULL && runs[i].ciphers != NULL) {
            if (runs[i].max_version) {
                CHECK_EQ(SSL_CTX_set_max_proto_version(wcc->ssl, runs[i].max_version), 1);
                CHECK_EQ(SSL_CTX_set_cipher_list(wcc->ssl, runs[i].ciphers), 1);
            } else {
                CHECK_EQ(SSL_CTX_set_ciphersuites(wcc->ssl, runs[i].ciphers), 1);
                CHECK_EQ(SSL_CTX_set_ciphersuites(wsc->ssl, runs[i].ciphers), 1);
            }
        }
        if (wcc != NULL && wsc != NULL)
            test_wss_loopback(wcc, wsc, runs[i].messages, runs[i].offload, req != NULL && strcmp(req, "1") == 0);
        rf_tls_ctx_destroy(wcc);
        rf_tls_ctx_destroy(wsc);
    }

    rf_tls_ctx_destroy(cc);
    rf_tls_ctx_destroy(sc);
    OPENSSL_cleanup();
    TEST_DONE("ktls");
}
