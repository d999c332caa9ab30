/* TLS 1.2 / 1.3 through OpenSSL 3, without I/O ("sans I/O"): the caller's
 * event loop moves ciphertext between the socket and the engine; OpenSSL only
 * encrypts and decrypts in memory (memory BIOs).
 *
 *   received ciphertext --rf_tls_feed--> engine --rf_tls_read--> plaintext
 *   plaintext --rf_tls_write--> engine --rf_tls_take_output--> ciphertext to send
 *
 * A context (rf_tls_ctx) holds what many connections share: role, trust
 * store, certificate, ALPN and, for clients, the session cache that lets a
 * reconnect resume instead of running a full handshake. A context may be
 * shared by connections on several loops (OpenSSL locks internally); one
 * rf_tls belongs to one thread at a time. Nothing is allocated per record
 * in steady state. */
#ifndef RINGFEED_TLS_H
#define RINGFEED_TLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_tls_ctx rf_tls_ctx;
typedef struct rf_tls rf_tls;

typedef struct rf_tls_ctx_config {
    int server;            /* 0 = client, 1 = server */
    const char *ca_file;   /* client: PEM bundle to trust instead of the system store; NULL = system */
    const char *cert_file; /* server: certificate chain, PEM */
    const char *key_file;  /* server: private key, PEM */
    const char *alpn;      /* protocol to offer/accept, e.g. "http/1.1"; NULL = "http/1.1", "" = none */
    /* 0 (default): where the kernel offers kTLS (the "tls" TCP ULP), hand
     * records to it after the handshake (AES-GCM and ChaCha20-Poly1305,
     * TLS 1.2 and 1.3), so the ring sends and receives plaintext; anything
     * that prevents it keeps the connection in userspace. 1: always
     * userspace. */
    int no_kernel_offload;
    /* Client. 0 (default): keep the latest session per "name:port" and offer
     * it on the next connection to that endpoint, so a reconnect resumes
     * (an abbreviated handshake: no certificate chain to send or verify, no
     * signature). 1: keep nothing, every connection runs a full handshake
     * (for comparisons, or a peer that mishandles resumption). Ignored by
     * servers, which always issue tickets. */
    int no_session_cache;
} rf_tls_ctx_config;

/* Returns 0, RF_EINVAL, RF_ENOMEM or RF_ETLS_CONFIG (a file that does not
 * load; rf_tls_ctx_error() says which and why). TLS 1.2 is the minimum.
 * On RF_ETLS_CONFIG *out is still set, to a context that only carries that
 * message (rf_tls_create refuses it with RF_ESTATE): read the error, then
 * rf_tls_ctx_destroy it. On any other error *out is NULL. */
int rf_tls_ctx_create(rf_tls_ctx **out, const rf_tls_ctx_config *cfg);
/* Connections keep their context alive, so it may be destroyed before them. */
void rf_tls_ctx_destroy(rf_tls_ctx *ctx);
/* The last configuration error as one line, "" if none. */
const char *rf_tls_ctx_error(const rf_tls_ctx *ctx);

/* A connection's TLS state. Client: server_name is sent as SNI (unless it is
 * an IP literal) and the certificate is verified against it (host name or
 * IP address); a cached session for the same name and port is offered for
 * resumption. Server: server_name and port are ignored. */
int rf_tls_create(rf_tls **out, rf_tls_ctx *ctx, const char *server_name, uint16_t port);
void rf_tls_destroy(rf_tls *t);

/* Advances the handshake. Returns 0 once it is complete, RF_EAGAIN while it
 * needs more input (send what rf_tls_take_output gives first), or an
 * RF_ETLS_* error (rf_tls_error() has the detail). */
int rf_tls_handshake(rf_tls *t);

/* Hands received ciphertext to the engine (copied). Returns 0 or RF_ENOMEM. */
int rf_tls_feed(rf_tls *t, const uint8_t *data, size_t len);

/* Decrypted plaintext into buf: returns the byte count (> 0), 0 when no
 * complete record is buffered, RF_ECLOSED after the peer's close_notify, or
 * RF_ETLS_PROTOCOL. May produce output (post-handshake messages). */
int rf_tls_read(rf_tls *t, uint8_t *buf, size_t cap);

/* Encrypts all of data into pending output. Returns 0 or a negative code. */
int rf_tls_write(rf_tls *t, const uint8_t *data, size_t len);

/* Ciphertext waiting to be sent: its size, and a copy of up to cap bytes of
 * it (removed from the engine). Returns the number of bytes copied. */
size_t rf_tls_output_pending(const rf_tls *t);
size_t rf_tls_take_output(rf_tls *t, uint8_t *dst, size_t cap);

/* Queues a close_notify alert (send it with rf_tls_take_output). */
int rf_tls_shutdown(rf_tls *t);

/* After the handshake: whether the session was resumed, the negotiated
 * protocol version ("TLSv1.3"), cipher, and ALPN protocol ("" if none). */
int rf_tls_resumed(const rf_tls *t);
const char *rf_tls_version(const rf_tls *t);
const char *rf_tls_cipher(const rf_tls *t);
const char *rf_tls_alpn(const rf_tls *t);

/* The last error as one line for a user, e.g. "certificate verify failed:
 * unable to get local issuer certificate"; "" if none. */
const char *rf_tls_error(const rf_tls *t);

/* Kernel TLS: whether this kernel accepts the "tls" TCP upper-layer protocol
 * on a TCP socket (setsockopt TCP_ULP). Returns 1, or 0 with the reason. */
int rf_tls_kernel_offload_available(const char **why);

/* Where this connection's records are encrypted and decrypted: "kernel"
 * (kTLS both ways), "kernel-tx" or "kernel-rx" (one direction offloaded, the
 * other still in OpenSSL), "userspace", or "none" for NULL. A connection
 * starts in userspace and moves to the kernel shortly after its handshake,
 * each direction at its own safe moment. */
const char *rf_tls_path(const rf_tls *t);

#ifdef __cplusplus
}
#endif
#endif
