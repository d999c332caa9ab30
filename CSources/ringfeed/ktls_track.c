/* What kTLS needs to know about a connection that OpenSSL runs over memory
 * BIOs: the TLS 1.3 traffic secrets (from the key log), how many records
 * each direction has carried under the current keys (from the message
 * callback, which OpenSSL calls once per record header and once per
 * handshake message), and where the record boundaries of the byte streams
 * are (scanned here, because the ring reads arbitrary chunks).
 *
 * Why count records instead of asking OpenSSL: OpenSSL 3.0 has no public
 * accessor for its sequence numbers. The count is exact because the message
 * callback sees every record OpenSSL writes or reads, and the epoch start
 * is pinned to the message that changes keys. Anything that would change
 * keys again (KeyUpdate, renegotiation) marks the connection as rekeyed and
 * offload is refused from then on. */
#include <stdio.h>
#include <string.h>

#include "ktls.h"
#include "ringfeed/error.h"
#include "tls_internal.h"

#define HS_HELLO_REQUEST 0
#define HS_CLIENT_HELLO 1
#define HS_FINISHED 20
#define HS_KEY_UPDATE 24

void rf__ktls_scan_bytes(rf__ktls_scan *s, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (s->left == 0) {
            size_t k = 5u - s->have < n ? 5u - s->have : n;
            memcpy(s->hdr + s->have, p, k);
            s->have = (uint8_t)(s->have + k);
            p += k;
            n -= k;
            if (s->have == 5) {
                s->len = s->left = (uint32_t)s->hdr[3] << 8 | s->hdr[4];
                s->have = 0; /* an empty record is complete with its header */
            }
            continue;
        }
        size_t k = s->left < n ? s->left : n;
        uint32_t pos = s->len - s->left;
        if (pos < sizeof s->nonce) {
            size_t c = sizeof s->nonce - pos < k ? sizeof s->nonce - pos : k;
            memcpy(s->nonce + pos, p, c);
        }
        s->left -= (uint32_t)k;
        p += k;
        n -= k;
    }
}

static int hex_to_bytes(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; h[0] != '\0' && h[1] != '\0' && h[0] != ' '; h += 2) {
        int v = 0;
        for (int i = 0; i < 2; i++) {
            char c = h[i];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0)
                return -1;
            v = v << 4 | d;
        }
        if (n == cap)
            return -1;
        out[n++] = (uint8_t)v;
    }
    return (int)n;
}

/* "CLIENT_TRAFFIC_SECRET_0 <client random> <secret>": only the first
 * application secrets matter; later generations mean a KeyUpdate, which the
 * message callback already turns into a refusal. */
void rf__ktls_keylog(const SSL *ssl, const char *line)
{
    rf_tls *t = SSL_get_app_data(ssl);
    if (t == NULL || !t->kt.on)
        return;
    int who;
    if (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0)
        who = 0;
    else if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0)
        who = 1;
    else
        return;
    const char *secret = strchr(line + 24, ' ');
    if (secret == NULL)
        return;
    int n = hex_to_bytes(secret + 1, t->kt.secret[who], sizeof t->kt.secret[who]);
    if (n <= 0)
        return;
    t->kt.secret_len = (uint8_t)n;
    t->kt.have_secret[who] = 1;
}

static void on_message(int write_p, int version, int content_type, const void *buf, size_t len,
                       SSL *ssl, void *arg)
{
    rf_tls *t = arg;
    rf__ktls_dir *d = &t->kt.dir[write_p ? RF__KTLS_TX : RF__KTLS_RX];
    const uint8_t *p = buf;
    switch (content_type) {
    case SSL3_RT_HEADER:
        d->records++;
        /* OpenSSL 3.0 reports a received ChangeCipherSpec only through its
         * record header, so both directions use that. TLS 1.3's
         * compatibility CCS changes nothing; epoch_fin is used there. */
        if (len >= 1 && p[0] == RF__TLS_CHANGE_CIPHER_SPEC) {
            if (t->done && SSL_version(ssl) != TLS1_3_VERSION)
                t->kt.rekeyed = 1; /* renegotiation */
            d->epoch_ccs = d->records;
        }
        break;
    case SSL3_RT_HANDSHAKE:
        if (len == 0)
            break;
        if (p[0] == HS_FINISHED) {
            if (t->done)
                t->kt.rekeyed = 1;
            d->epoch_fin = d->records;
        } else if (p[0] == HS_KEY_UPDATE ||
                   (t->done && (p[0] == HS_HELLO_REQUEST || p[0] == HS_CLIENT_HELLO))) {
            t->kt.rekeyed = 1;
        }
        break;
    default:
        break;
    }
}

int rf__ktls_track(rf_tls *t)
{
    if (t->done || SSL_get_state(t->ssl) != TLS_ST_BEFORE)
        return RF_ESTATE;
    t->kt.on = 1;
    SSL_set_msg_callback(t->ssl, on_message);
    SSL_set_msg_callback_arg(t->ssl, t);
    /* After offload the kernel cannot follow a renegotiation; refusing it is
     * what a server that pushes market data never notices. */
    SSL_set_options(t->ssl, SSL_OP_NO_RENEGOTIATION);
    return 0;
}

int rf__ktls_rx_at_boundary(const rf_tls *t)
{
    const rf__ktls_scan *s = &t->kt.in;
    return t->kt.on && s->have == 0 && s->left == 0 && BIO_ctrl_pending(t->rbio) == 0 &&
           !SSL_has_pending(t->ssl);
}

size_t rf__ktls_rx_missing(const rf_tls *t)
{
    const rf__ktls_scan *s = &t->kt.in;
    return s->have > 0 ? 5u - s->have : s->left;
}

uint64_t rf__ktls_rx_app_records(const rf_tls *t) { return t->kt.read_data; }

void rf__ktls_mark_offloaded(rf_tls *t, int dir) { t->kt.dir[dir].offloaded = 1; }

int rf__ktls_offloaded(const rf_tls *t, int dir) { return t != NULL && t->kt.dir[dir].offloaded; }

const char *rf_tls_path(const rf_tls *t)
{
    if (t == NULL)
        return "none";
    int tx = t->kt.dir[RF__KTLS_TX].offloaded, rx = t->kt.dir[RF__KTLS_RX].offloaded;
    return tx && rx ? "kernel" : tx ? "kernel-tx" : rx ? "kernel-rx" : "userspace";
}
