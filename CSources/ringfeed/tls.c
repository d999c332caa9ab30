/* One TLS connection over two memory BIOs: the event loop moves ciphertext,
 * OpenSSL only transforms it. Every failure becomes one RF_ETLS_* code and
 * one line of text, and OpenSSL's per-thread error queue is emptied around
 * each call so one connection's errors never surface on another. */
#include <arpa/inet.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktls.h"
#include "ringfeed/error.h"
#include "tls_internal.h"

static int is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int verify_code(long v)
{
    switch (v) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        return RF_ETLS_UNTRUSTED;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return RF_ETLS_HOSTNAME;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return RF_ETLS_EXPIRED;
    default:
        return RF_ETLS_HANDSHAKE;
    }
}

/* Reasons OpenSSL gives when the first bytes are not a TLS record at all:
 * an HTTP response ("HTTP/1.1 400") reads as a bad version or a huge length. */
static int not_tls_reason(int reason)
{
    switch (reason) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_UNKNOWN_PROTOCOL:
#ifdef SSL_R_RECORD_LAYER_FAILURE
    case SSL_R_RECORD_LAYER_FAILURE:
#endif
        return 1;
    default:
        return 0;
    }
}

static int set_error(rf_tls *t, int code, const char *prefix, const char *detail)
{
    char line[RF__TLS_ERR];
    snprintf(line, sizeof line, "%s%s%s", prefix, *prefix && *detail ? ": " : "", detail);
    rf__tls_line(t->err, sizeof t->err, line);
    t->error = code;
    return code;
}

/* Turns a failed SSL_* call into RF_EAGAIN (wants more input) or a sticky
 * error. SSL_get_error must run before the queue is drained. */
static int fail(rf_tls *t, int ret, int handshaking)
{
    int e = SSL_get_error(t->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return RF_EAGAIN;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        if (handshaking)
            return set_error(t, RF_ETLS_CLOSED, "peer sent close_notify during the handshake", "");
        return set_error(t, RF_ECLOSED, "peer sent close_notify", "");
    }

    unsigned long first = 0;
    int not_tls = 0;
    for (unsigned long x; (x = ERR_get_error()) != 0;) {
        if (first == 0)
            first = x;
        if (ERR_GET_LIB(x) == ERR_LIB_SSL && not_tls_reason(ERR_GET_REASON(x)))
            not_tls = 1;
    }
    char detail[160] = "";
    if (first != 0) {
        const char *r = ERR_reason_error_string(first);
        if (r != NULL)
            snprintf(detail, sizeof detail, "%s", r);
        else
            ERR_error_string_n(first, detail, sizeof detail);
    } else if (e == SSL_ERROR_SYSCALL) {
        snprintf(detail, sizeof detail, "unexpected end of input");
    } else {
        snprintf(detail, sizeof detail, "OpenSSL error %d", e);
    }

    if (!handshaking)
        return set_error(t, RF_ETLS_PROTOCOL, "TLS error", detail);
    long v = SSL_get_verify_result(t->ssl);
    if (!t->ctx->server && v != X509_V_OK)
        return set_error(t, verify_code(v), "certificate verify failed", X509_verify_cert_error_string(v));
    if (not_tls)
        return set_error(t, RF_ETLS_NOT_TLS, "peer does not speak TLS", detail);
    return set_error(t, RF_ETLS_HANDSHAKE, "TLS handshake failed", detail);
}

static int set_peer_name(rf_tls *t, const char *name)
{
    /* URLs bracket IPv6 literals; certificates and inet_pton do not. */
    char host[RF__TLS_KEY];
    size_t n = strlen(name);
    if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
        memcpy(host, name + 1, n - 2);
        host[n - 2] = '\0';
    } else {
        memcpy(host, name, n + 1);
    }
    if (is_ip_literal(host)) {
        /* SNI must not carry an address (RFC 6066), so only verification sees it. */
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) == 1 ? 0 : RF_EINVAL;
    }
    if (SSL_set_tlsext_host_name(t->ssl, host) != 1 || SSL_set1_host(t->ssl, host) != 1)
        return RF_EINVAL;
    SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return 0;
}

static int setup(rf_tls *t, const char *server_name, uint16_t port)
{
    t->ssl = SSL_new(t->ctx->ssl);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        t->rbio = t->wbio = NULL;
        return RF_ENOMEM;
    }
    /* An empty input buffer means "wait for the socket", not end of stream. */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_app_data(t->ssl, t);
    if (t->ctx->server) {
        SSL_set_accept_state(t->ssl);
        return 0;
    }
    SSL_set_connect_state(t->ssl);
    int rc = set_peer_name(t, server_name);
    if (rc != 0)
        return rc;
    snprintf(t->key, sizeof t->key, "%s:%u", server_name, (unsigned)port);
    for (char *k = t->key; *k; k++) /* DNS names are case-insensitive */
        if (*k >= 'A' && *k <= 'Z')
            *k = (char)(*k - 'A' + 'a');
    SSL_SESSION *s = rf__tls_ctx_session(t->ctx, t->key);
    if (s != NULL) {
        /* A session the server refuses just means a full handshake. */
        (void)SSL_set_session(t->ssl, s);
        SSL_SESSION_free(s);
    }
    return 0;
}

int rf_tls_create(rf_tls **out, rf_tls_ctx *ctx, const char *server_name, uint16_t port)
{
    if (out == NULL)
        return RF_EINVAL;
    *out = NULL;
    if (ctx == NULL)
        return RF_EINVAL;
    if (ctx->unusable)
        return RF_ESTATE;
    if (!ctx->server && (server_name == NULL || server_name[0] == '\0' || strlen(server_name) > 253))
        return RF_EINVAL;
    rf_tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return RF_ENOMEM;
    t->ctx = ctx;
    atomic_fetch_add(&ctx->refs, 1);
    ERR_clear_error();
    int rc = setup(t, server_name, port);
    ERR_clear_error();
    if (rc != 0) {
        rf_tls_destroy(t);
        return rc;
    }
    *out = t;
    return 0;
}

void rf_tls_destroy(rf_tls *t)
{
    if (t == NULL)
        return;
    /* Connections usually end with the TCP stream, not close_notify, and
     * OpenSSL would then mark the session unresumable. A fatal alert has
     * already invalidated it where that matters. */
    if (t->ssl != NULL && t->done && (t->error == 0 || t->error == RF_ECLOSED))
        SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(t->ssl);
    OPENSSL_cleanse(t->kt.secret, sizeof t->kt.secret);
    rf__tls_ctx_release(t->ctx);
    free(t);
}

int rf__tls_set_error(rf_tls *t, int code, const char *line) { return set_error(t, code, line, ""); }

int rf__tls_set_max_version(rf_tls *t, int version)
{
    if (t->done || SSL_get_state(t->ssl) != TLS_ST_BEFORE)
        return RF_ESTATE;
    return SSL_set_max_proto_version(t->ssl, version) == 1 ? 0 : RF_EINVAL;
}

int rf_tls_handshake(rf_tls *t)
{
    if (t->error != 0)
        return t->error;
    if (t->done)
        return 0;
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r != 1)
        return fail(t, r, 1);
    t->done = 1;
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(t->ssl, &p, &n);
    if (p != NULL && n < sizeof t->alpn) {
        memcpy(t->alpn, p, n);
        t->alpn[n] = '\0';
    }
    return 0;
}

int rf_tls_feed(rf_tls *t, const uint8_t *data, size_t len)
{
    if (t->kt.on)
        rf__ktls_scan_bytes(&t->kt.in, data, len);
    /* BIO_write takes an int, so very large inputs go in slices. */
    while (len > 0) {
        int chunk = len > INT_MAX ? INT_MAX : (int)len;
        ERR_clear_error();
        int w = BIO_write(t->rbio, data, chunk);
        if (w <= 0) {
            ERR_clear_error();
            return RF_ENOMEM;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int rf_tls_read(rf_tls *t, uint8_t *buf, size_t cap)
{
    if (t->error != 0)
        return t->error;
    if (!t->done) {
        int rc = rf_tls_handshake(t);
        if (rc != 0)
            return rc == RF_EAGAIN ? 0 : rc;
    }
    if (cap > INT_MAX)
        cap = INT_MAX;
    /* SSL_read yields one record per call; keep going while whole records
     * are buffered so the caller gets as much as fits in one call. */
    size_t total = 0;
    while (total < cap) {
        size_t n = 0;
        ERR_clear_error();
        int r = SSL_read_ex(t->ssl, buf + total, cap - total, &n);
        if (r == 1) {
            total += n;
            continue;
        }
        int rc = fail(t, r, 0);
        if (rc == RF_EAGAIN || total > 0)
            break; /* a sticky error is reported by the next call */
        return rc;
    }
    if (total > 0)
        t->kt.read_data = 1;
    return (int)total;
}

int rf_tls_write(rf_tls *t, const uint8_t *data, size_t len)
{
    if (t->error != 0)
        return t->error;
    if (!t->done || t->kt.dir[RF__KTLS_TX].offloaded)
        return RF_ESTATE;
    while (len > 0) {
        size_t n = 0;
        ERR_clear_error();
        int r = SSL_write_ex(t->ssl, data, len, &n);
        if (r != 1) {
            int rc = fail(t, r, 0);
            /* A memory BIO never pushes back, so a retry is a bug. */
            return rc == RF_EAGAIN ? set_error(t, RF_ETLS_PROTOCOL, "TLS write could not complete", "") : rc;
        }
        data += n;
        len -= n;
    }
    return 0;
}

size_t rf_tls_output_pending(const rf_tls *t) { return BIO_ctrl_pending(t->wbio); }

size_t rf_tls_take_output(rf_tls *t, uint8_t *dst, size_t cap)
{
    if (cap > INT_MAX)
        cap = INT_MAX;
    if (cap == 0 || BIO_ctrl_pending(t->wbio) == 0)
        return 0;
    int n = BIO_read(t->wbio, dst, (int)cap);
    if (n <= 0)
        return 0;
    if (t->kt.on)
        rf__ktls_scan_bytes(&t->kt.out, dst, (size_t)n);
    return (size_t)n;
}

int rf_tls_shutdown(rf_tls *t)
{
    if (!t->done || t->kt.dir[RF__KTLS_TX].offloaded) /* the kernel sends it then */
        return RF_ESTATE;
    if (t->error != 0 && t->error != RF_ECLOSED)
        return t->error;
    ERR_clear_error();
    int r = SSL_shutdown(t->ssl);
    ERR_clear_error();
    /* 0 = our alert is queued, 1 = both sides have closed; either is done. */
    return r >= 0 ? 0 : RF_ESTATE;
}

int rf_tls_resumed(const rf_tls *t) { return t->done && SSL_session_reused(t->ssl) ? 1 : 0; }
const char *rf_tls_version(const rf_tls *t) { return t->done ? SSL_get_version(t->ssl) : ""; }

const char *rf_tls_cipher(const rf_tls *t)
{
    const char *c = t->done ? SSL_get_cipher_name(t->ssl) : NULL;
    return c ? c : "";
}

const char *rf_tls_alpn(const rf_tls *t) { return t->alpn; }
const char *rf_tls_error(const rf_tls *t) { return t->err; }
