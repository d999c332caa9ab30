/* What tls.c and tls_ctx.c share: the two handles' layouts and the client
 * session cache that lets a reconnect resume. */
#ifndef RF_TLS_INTERNAL_H
#define RF_TLS_INTERNAL_H

#include <openssl/evp.h>
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
    int offload; /* kTLS wanted (not disabled) and this kernel has the tls ULP */
    int unusable; /* configuration failed; kept only to report why */
    atomic_int refs; /* the owner's plus one per rf_tls */
    unsigned char alpn[256]; /* wire format: length byte + name */
    size_t alpn_len;
    pthread_mutex_t lock; /* guards cache and clock: connections on several threads */
    uint64_t clock;
    rf__tls_cached cache[RF__TLS_CACHE];
    char err[RF__TLS_ERR];
};

/* One direction's record count as OpenSSL sees it (ktls_track.c). The
 * kernel needs the sequence number of the next record under the current
 * keys: records minus the count where the epoch began, which is after the
 * ChangeCipherSpec record in TLS 1.2 (the Finished that follows is record
 * 0) and after the record carrying Finished in TLS 1.3. */
typedef struct rf__ktls_dir {
    uint64_t records;   /* record headers written / read */
    uint64_t epoch_ccs; /* records at the last ChangeCipherSpec */
    uint64_t epoch_fin; /* records at the last Finished */
    uint8_t offloaded;  /* the kernel owns this direction now */
} rf__ktls_dir;

/* A byte stream cut into records by their 5-byte headers: where the next
 * boundary is, and (output only) the TLS 1.2 explicit nonce of the last
 * record, which the kernel's counter must continue. */
typedef struct rf__ktls_scan {
    uint8_t hdr[5];
    uint8_t have; /* header bytes seen of the current record */
    uint32_t len; /* body length of the current record */
    uint32_t left; /* body bytes still to come */
    uint8_t nonce[8];
} rf__ktls_scan;

typedef struct rf__ktls_state {
    uint8_t on;      /* tracking enabled for this connection */
    uint8_t rekeyed; /* keys changed after the handshake: counts no longer apply */
    uint8_t read_data; /* an application record was read */
    uint8_t secret_len;
    uint8_t have_secret[2];  /* [0] client, [1] server */
    uint8_t secret[2][EVP_MAX_MD_SIZE]; /* TLS 1.3 *_TRAFFIC_SECRET_0 */
    rf__ktls_dir dir[2];     /* [RF__KTLS_TX], [RF__KTLS_RX] */
    rf__ktls_scan in, out;
} rf__ktls_state;

struct rf_tls {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    rf_tls_ctx *ctx;
    int done;  /* handshake complete */
    int error; /* sticky: once OpenSSL fails, the SSL object is unusable */
    char key[RF__TLS_KEY];
    char alpn[256];
    char err[RF__TLS_ERR];
    rf__ktls_state kt;
};

/* The cached session for key with a reference for the caller, or NULL. */
SSL_SESSION *rf__tls_ctx_session(rf_tls_ctx *ctx, const char *key);
void rf__tls_ctx_release(rf_tls_ctx *ctx);

/* Caps the protocol version of a connection before its handshake (tests use
 * it to exercise TLS 1.2). Returns 0 or RF_ESTATE. */
int rf__tls_set_max_version(rf_tls *t, int version);

/* Ends t with code and a one-line reason (the kTLS path finds errors
 * OpenSSL never sees). Returns code. */
int rf__tls_set_error(rf_tls *t, int code, const char *line);

/* Tests: lets a context's connections track for offload even where the
 * kernel has no kTLS, so key derivation can be checked on any machine. */
void rf__tls_ctx_force_offload(rf_tls_ctx *ctx);

/* The key log callback every context installs (ktls_track.c): it keeps
 * TLS 1.3 traffic secrets of connections that track for offload only. */
void rf__ktls_keylog(const SSL *ssl, const char *line);
/* Record scanning of the streams (ktls_track.c), for tracking connections. */
void rf__ktls_scan_bytes(rf__ktls_scan *s, const uint8_t *p, size_t n);

/* Copies s into dst (cap bytes) as one line: control characters become
 * spaces, so messages stay single-line whatever OpenSSL says. */
void rf__tls_line(char *dst, size_t cap, const char *s);

#endif
