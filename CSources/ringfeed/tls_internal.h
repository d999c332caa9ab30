/* What tls.c and tls_ctx.c share: the two handles' layouts and the client
 * session cache that lets a reconnect resume. */
#ifndef RF_TLS_INTERNAL_H
#define RF_TLS_INTERNAL_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ringfeed/tls.h"

#define RF__TLS_ERR 256
/* "name:port": a DNS name is at most 253 bytes. */
#define RF__TLS_KEY 264
/* Enough for the endpoints one process talks to; the least recently used
 * entry makes room. */
#define RF__TLS_CACHE 32

typedef struct rf__tls_cached {
    char key[RF__TLS_KEY];
    SSL_SESSION *session; /* NULL = free slot */
    uint64_t used;        /* LRU stamp */
} rf__tls_cached;

struct rf_tls_ctx {
    SSL_CTX *ssl;
    int server;
    int unusable; /* configuration failed; kept only to report why */
    atomic_int refs; /* the owner's plus one per rf_tls */
    unsigned char alpn[256]; /* wire format: length byte + name */
    size_t alpn_len;
    pthread_mutex_t lock; /* guards cache and clock: connections on several threads */
    uint64_t clock;
    rf__tls_cached cache[RF__TLS_CACHE];
    char err[RF__TLS_ERR];
};

struct rf_tls {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    rf_tls_ctx *ctx;
    int done;  /* handshake complete */
    int error; /* sticky: once OpenSSL fails, the SSL object is unusable */
    char key[RF__TLS_KEY];
    char alpn[256];
    char err[RF__TLS_ERR];
};

/* The cached session for key with a reference for the caller, or NULL. */
SSL_SESSION *rf__tls_ctx_session(rf_tls_ctx *ctx, const char *key);
void rf__tls_ctx_release(rf_tls_ctx *ctx);

/* Caps the protocol version of a connection before its handshake (tests use
 * it to exercise TLS 1.2). Returns 0 or RF_ESTATE. */
int rf__tls_set_max_version(rf_tls *t, int version);

/* Copies s into dst (cap bytes) as one line: control characters become
 * spaces, so messages stay single-line whatever OpenSSL says. */
void rf__tls_line(char *dst, size_t cap, const char *s);

#endif
