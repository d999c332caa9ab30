/* TLS contexts: what connections share (role, trust, certificate, ALPN) and,
 * for clients, the latest session per "name:port" so reconnects resume. */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktls.h"
#include "ringfeed/error.h"
#include "tls_internal.h"

void rf__tls_line(char *dst, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    dst[i] = '\0';
}

/* The earliest queued OpenSSL error is the cause (later ones are callers
 * wrapping it); the queue is emptied so it cannot leak into another call. */
static void config_error(rf_tls_ctx *ctx, const char *what, const char *path)
{
    unsigned long e = ERR_get_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    char code[128] = "";
    if (e != 0 && ERR_SYSTEM_ERROR(e)) {
        reason = strerror_r(ERR_GET_REASON(e), code, sizeof code); /* "No such file or directory" */
    } else if (e != 0 && reason == NULL) {
        ERR_error_string_n(e, code, sizeof code);
        reason = code;
    }
    ERR_clear_error();
    char line[RF__TLS_ERR];
    if (path != NULL)
        snprintf(line, sizeof line, "%s '%s': %s", what, path, reason ? reason : "unknown error");
    else
        snprintf(line, sizeof line, "%s%s%s", what, reason ? ": " : "", reason ? reason : "");
    rf__tls_line(ctx->err, sizeof ctx->err, line);
    ctx->unusable = 1;
}

/* Client side of resumption: OpenSSL hands over each new session (TLS 1.3
 * tickets arrive after the handshake, while the application reads). Keeping
 * only the latest per endpoint bounds memory; the reference is ours. */
static int on_new_session(SSL *ssl, SSL_SESSION *session)
{
    rf_tls *t = SSL_get_app_data(ssl);
    if (t == NULL || t->key[0] == '\0' || !SSL_SESSION_is_resumable(session))
        return 0;
    rf_tls_ctx *ctx = t->ctx;
    SSL_SESSION *old = NULL;
    pthread_mutex_lock(&ctx->lock);
    rf__tls_cached *slot = NULL, *oldest = &ctx->cache[0];
    for (int i = 0; i < RF__TLS_CACHE && slot == NULL; i++) {
        rf__tls_cached *c = &ctx->cache[i];
        if (c->session != NULL && strcmp(c->key, t->key) == 0)
            slot = c;
        else if (oldest->session != NULL && (c->session == NULL || c->used < oldest->used))
            oldest = c; /* a free slot, else the least recently used */
    }
    if (slot == NULL) {
        slot = oldest;
        memcpy(slot->key, t->key, sizeof slot->key);
    }
    old = slot->session;
    slot->session = session;
    slot->used = ++ctx->clock;
    pthread_mutex_unlock(&ctx->lock);
    /* Freed outside the lock: other threads only need the table. */
    SSL_SESSION_free(old);
    return 1;
}

SSL_SESSION *rf__tls_ctx_session(rf_tls_ctx *ctx, const char *key)
{
    SSL_SESSION *s = NULL;
    pthread_mutex_lock(&ctx->lock);
    for (int i = 0; i < RF__TLS_CACHE; i++) {
        rf__tls_cached *c = &ctx->cache[i];
        if (c->session != NULL && strcmp(c->key, key) == 0) {
            if (SSL_SESSION_is_resumable(c->session) && SSL_SESSION_up_ref(c->session))
                s = c->session;
            c->used = ++ctx->clock;
            break;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return s;
}

/* Server side of ALPN: agree on our protocol if the client offers it;
 * a client that offers others still gets a connection, just without ALPN. */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    rf_tls_ctx *ctx = arg;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, ctx->alpn, (unsigned int)ctx->alpn_len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int configure_client(rf_tls_ctx *ctx, const rf_tls_ctx_config *cfg)
{
    SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
    if (cfg->ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(ctx->ssl, cfg->ca_file, NULL) != 1) {
            config_error(ctx, "cannot load CA file", cfg->ca_file);
            return RF_ETLS_CONFIG;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx->ssl) != 1) {
        config_error(ctx, "cannot load the system trust store", NULL);
        return RF_ETLS_CONFIG;
    }
    /* Without the callback nothing is stored, so nothing is ever offered. */
    if (cfg->no_session_cache) {
        SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_OFF);
    } else {
        SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx->ssl, on_new_session);
    }
    /* Unlike nearly every OpenSSL call, this one returns 0 on success. */
    if (ctx->alpn_len > 0 && SSL_CTX_set_alpn_protos(ctx->ssl, ctx->alpn, (unsigned int)ctx->alpn_len) != 0)
        return RF_ENOMEM;
    return 0;
}

static int configure_server(rf_tls_ctx *ctx, const rf_tls_ctx_config *cfg)
{
    if (cfg->cert_file == NULL || cfg->key_file == NULL) {
        rf__tls_line(ctx->err, sizeof ctx->err, "a TLS server needs cert_file and key_file");
        ctx->unusable = 1;
        return RF_ETLS_CONFIG;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx->ssl, cfg->cert_file) != 1) {
        config_error(ctx, "cannot load certificate chain", cfg->cert_file);
        return RF_ETLS_CONFIG;
    }
    /* Loading the key already compares it with the certificate. */
    int loaded = SSL_CTX_use_PrivateKey_file(ctx->ssl, cfg->key_file, SSL_FILETYPE_PEM) == 1;
    unsigned long e = ERR_peek_error();
    int mismatch = !loaded && ERR_GET_LIB(e) == ERR_LIB_X509 &&
                   (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH || ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
    if (!loaded && !mismatch) {
        config_error(ctx, "cannot load private key", cfg->key_file);
        return RF_ETLS_CONFIG;
    }
    if (mismatch || SSL_CTX_check_private_key(ctx->ssl) != 1) {
        ERR_clear_error();
        char line[RF__TLS_ERR];
        snprintf(line, sizeof line, "private key '%s' does not match certificate '%s'", cfg->key_file,
                 cfg->cert_file);
        rf__tls_line(ctx->err, sizeof ctx->err, line);
        ctx->unusable = 1;
        return RF_ETLS_CONFIG;
    }
    /* Session tickets stay on (OpenSSL's default) so our clients can resume;
     * the id context only keeps OpenSSL's server-side cache usable. */
    static const unsigned char sid[] = "ringfeed";
    SSL_CTX_set_session_id_context(ctx->ssl, sid, sizeof sid - 1);
    if (ctx->alpn_len > 0)
        SSL_CTX_set_alpn_select_cb(ctx->ssl, on_alpn, ctx);
    return 0;
}

int rf_tls_ctx_create(rf_tls_ctx **out, const rf_tls_ctx_config *cfg)
{
    if (out == NULL)
        return RF_EINVAL;
    *out = NULL;
    if (cfg == NULL)
        return RF_EINVAL;
    const char *alpn = cfg->alpn ? cfg->alpn : "http/1.1";
    size_t alpn_len = strlen(alpn);
    if (alpn_len > 255)
        return RF_EINVAL;

    rf_tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return RF_ENOMEM;
    if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
        free(ctx);
        return RF_ENOMEM;
    }
    atomic_init(&ctx->refs, 1);
    ctx->server = cfg->server != 0;
    if (alpn_len > 0) {
        ctx->alpn[0] = (unsigned char)alpn_len;
        memcpy(ctx->alpn + 1, alpn, alpn_len);
        ctx->alpn_len = alpn_len + 1;
    }

    ERR_clear_error();
    ctx->ssl = SSL_CTX_new(ctx->server ? TLS_server_method() : TLS_client_method());
    int rc = ctx->ssl == NULL ? RF_ENOMEM : 0;
    if (rc == 0 && SSL_CTX_set_min_proto_version(ctx->ssl, TLS1_2_VERSION) != 1)
        rc = RF_ENOMEM;
    /* Prefer AES-128-GCM (10 AES rounds against 14) over OpenSSL's default
     * first choice, AES-256-GCM, as browsers do: cheaper on cores without
     * wide AES units, equal on this project's benchmark machine (openssl
     * speed, 16 KiB: 2.85 vs 2.88 GB/s). The others stay for peers that ask. */
    if (rc == 0 && SSL_CTX_set_ciphersuites(ctx->ssl, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                                      "TLS_CHACHA20_POLY1305_SHA256") != 1)
        rc = RF_ENOMEM;
    if (rc == 0)
        rc = ctx->server ? configure_server(ctx, cfg) : configure_client(ctx, cfg);
    if (rc == 0 && !cfg->no_kernel_offload) {
        /* One probe per context, not per connection: whether the kernel has
         * the tls ULP does not change while the process runs (a module
         * loaded later is picked up by the next context). */
        ctx->offload = rf_tls_kernel_offload_available(NULL);
        /* Called a few times per handshake; it only keeps secrets of
         * connections that may be offloaded. */
        if (ctx->offload)
            SSL_CTX_set_keylog_callback(ctx->ssl, rf__ktls_keylog);
    }
    ERR_clear_error();
    if (rc == RF_ETLS_CONFIG) {
        /* Kept (and returned) so rf_tls_ctx_error can say which file and why. */
        *out = ctx;
        return rc;
    }
    if (rc != 0) {
        rf_tls_ctx_destroy(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void rf__tls_ctx_release(rf_tls_ctx *ctx)
{
    if (atomic_fetch_sub(&ctx->refs, 1) != 1)
        return;
    for (int i = 0; i < RF__TLS_CACHE; i++)
        SSL_SESSION_free(ctx->cache[i].session);
    SSL_CTX_free(ctx->ssl);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

/* Connections hold a reference, so the context may go first. */
void rf_tls_ctx_destroy(rf_tls_ctx *ctx)
{
    if (ctx != NULL)
        rf__tls_ctx_release(ctx);
}

const char *rf_tls_ctx_error(const rf_tls_ctx *ctx) { return ctx ? ctx->err : ""; }

void rf__tls_ctx_force_offload(rf_tls_ctx *ctx)
{
    ctx->offload = 1;
    SSL_CTX_set_keylog_callback(ctx->ssl, rf__ktls_keylog);
}
