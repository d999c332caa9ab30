/* Kernel TLS (kTLS) for connections whose handshake ran in OpenSSL over
 * memory BIOs. OpenSSL never hands keys to the kernel on that path, so they
 * are derived here from what the handshake exposes (TLS 1.3 traffic secrets
 * from the key log, the TLS 1.2 master secret and randoms), and the record
 * sequence numbers are counted as records pass (ktls_track.c).
 *
 *   ktls_keys.c   crypto info for setsockopt(SOL_TLS, TLS_TX / TLS_RX)
 *   ktls_track.c  per-direction record counts, epochs, stream boundaries
 *   ktls.c        the socket side: probe, ULP, install, control records */
#ifndef RF_KTLS_H
#define RF_KTLS_H

#include <linux/tls.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ringfeed/tls.h"

enum { RF__KTLS_TX = 0, RF__KTLS_RX = 1 };

/* TLS record content types (RFC 8446 5.1). */
enum {
    RF__TLS_CHANGE_CIPHER_SPEC = 20,
    RF__TLS_ALERT = 21,
    RF__TLS_HANDSHAKE = 22,
    RF__TLS_APPLICATION_DATA = 23,
};

/* Exactly what setsockopt(SOL_TLS, TLS_TX/TLS_RX) takes: one of the three
 * kernel layouts, len bytes of it. */
typedef struct rf__ktls_info {
    union {
        struct tls_crypto_info info;
        struct tls12_crypto_info_aes_gcm_128 aes128;
        struct tls12_crypto_info_aes_gcm_256 aes256;
        struct tls12_crypto_info_chacha20_poly1305 chacha;
    } u;
    size_t len;
} rf__ktls_info;

/* ---- ktls_keys.c ---- */

/* The crypto info for one direction of t as of now: keys of the current
 * application epoch and the sequence number of the next record. Returns 0,
 * RF_ESTATE (handshake not done, tracking off, keys changed after the
 * handshake, or a record is half-way through) or RF_EUNSUPPORTED (a cipher
 * or version the kernel cannot take). */
int rf__ktls_info_get(rf_tls *t, int dir, rf__ktls_info *out);
/* Wipes key material. */
void rf__ktls_info_wipe(rf__ktls_info *info);

/* ---- ktls_track.c ---- */

/* Turns on what offload needs for t (before its handshake): the key log and
 * record counting. Costs one callback per record, so it is only done when
 * offload may happen. Returns 0 or RF_ESTATE. */
int rf__ktls_track(rf_tls *t);
/* Whether every byte fed to t so far ends on a record boundary and OpenSSL
 * has consumed it all: the only point where the kernel may take over RX. */
int rf__ktls_rx_at_boundary(const rf_tls *t);
/* Bytes still missing to complete the record the input stands in (0 at a
 * boundary; a header counts as 5 missing bytes when it is incomplete). */
size_t rf__ktls_rx_missing(const rf_tls *t);
/* Application records received so far (the client waits for the first one
 * before RX offload, so TLS 1.3 session tickets, which precede it, still
 * reach OpenSSL). */
uint64_t rf__ktls_rx_app_records(const rf_tls *t);
/* From now on t's records in direction dir belong to the kernel: any further
 * OpenSSL output (a KeyUpdate answer, for instance) is an error, and
 * rf_tls_path reports it. */
void rf__ktls_mark_offloaded(rf_tls *t, int dir);
int rf__ktls_offloaded(const rf_tls *t, int dir);

/* ---- ktls.c ---- */

/* Attaches the tls ULP to a connected TCP socket. 0 or -errno. */
int rf__ktls_attach(int fd);
/* Hands one direction to the kernel. 0 or -errno. */
int rf__ktls_install(int fd, int dir, const rf__ktls_info *info);
/* Sends one record of another content type (an alert) through kTLS TX
 * (TLS_SET_RECORD_TYPE cmsg). Fills msg, iov and the cmsg buffer cbuf
 * (CMSG_SPACE(1) bytes) so the ring can send it: they must outlive the send. */
#define RF__KTLS_CMSG_SPACE 24
void rf__ktls_record_msg(struct msghdr *msg, struct iovec *iov, uint8_t *cbuf, uint8_t type,
                         const uint8_t *data, size_t len);
/* Reads the record that made a kTLS RX recv fail with EIO (a non-data
 * record): *type and up to cap bytes of its plaintext. Returns the byte
 * count or -errno (-EAGAIN if none is queued). */
ssize_t rf__ktls_recv_record(int fd, uint8_t *type, uint8_t *buf, size_t cap);

#endif
