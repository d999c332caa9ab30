/* Moving a TLS stream's records to the kernel (kTLS) after the handshake,
 * each direction on its own.
 *
 * TX moves at a moment when every record OpenSSL produced has left the
 * ring's send queue (rf_conn_pending == 0): from then on the ring sends
 * plaintext and the kernel encrypts, continuing OpenSSL's sequence numbers.
 *
 * RX moves at a record boundary of the received stream, which the ring
 * does not respect (it reads whatever arrived), so: pause the ring's
 * receive (bytes it already read still come through the userspace path),
 * then, with nothing in flight, read the rest of the record in hand
 * straight from the socket, and install TLS_RX while the socket holds only
 * whole records OpenSSL has not seen. A client waits for the first
 * application record first: TLS 1.3 servers send their session tickets
 * before it, and those should still reach OpenSSL (resumption). If the
 * moment cannot be had (the record's tail has not arrived), the receive
 * resumes and a later chunk tries again, a bounded number of times.
 *
 * After RX moved, records that are not data make the ring's recv fail with
 * EIO; they are read here with their record type (close_notify ends the
 * stream cleanly, tickets are dropped, anything else is an error).
 * Any failure before a direction is installed leaves it in userspace. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "ktls.h"
#include "loop_ktls.h"
#include "ringfeed/error.h"
#include "tls_internal.h"
#include "tls_stream.h"

#define RX_TRIES 16
#define HS_NEW_SESSION_TICKET 4

void rf__ktls_stream_prepare(rf__tls_stream *s)
{
    if (s->ctx->offload && rf__ktls_track(s->tls) == 0)
        s->kt_want = 1;
}

static int attach(rf__tls_stream *s)
{
    if (s->kt_attached)
        return 0;
    if (rf__ktls_attach(rf_conn_fd(s->tcp)) != 0) {
        s->kt_want = 0; /* the probe said yes, this socket says no: userspace */
        return -1;
    }
    s->kt_attached = 1;
    return 0;
}

/* Gives up offload for the directions not yet moved, for a reason that will
 * not go away (a cipher the kernel lacks, keys that changed). */
static void give_up(rf__tls_stream *s, int rc)
{
    if (rc != RF_ESTATE)
        s->kt_want = 0;
}

int rf__ktls_stream_try_tx(rf__tls_stream *s)
{
    if (s->kt_tx)
        return 1;
    if (!s->kt_want || rf_tls_output_pending(s->tls) != 0 || rf_conn_pending(s->tcp) != 0)
        return 0;
    rf__ktls_info info;
    int rc = rf__ktls_info_get(s->tls, RF__KTLS_TX, &info);
    if (rc != 0) {
        give_up(s, rc);
        return 0;
    }
    if (attach(s) == 0 && rf__ktls_install(rf_conn_fd(s->tcp), RF__KTLS_TX, &info) == 0) {
        s->kt_tx = 1;
        rf__ktls_mark_offloaded(s->tls, RF__KTLS_TX);
    } else {
        s->kt_want = 0;
    }
    rf__ktls_info_wipe(&info);
    return s->kt_tx;
}

static void fail_stream(rf__tls_stream *s, int rc, const char *why)
{
    rf__tls_set_error(s->tls, rc, why);
    s->h.on_end(s->hctx, rc);
}

/* Reads the record that stopped a kTLS recv. Returns 0 to go on receiving
 * (the owner may have been told to end), or the loop's close reason. */
static int rx_error(rf_conn *c, void *arg, int err)
{
    rf__tls_stream *s = arg;
    if (err == -ECONNRESET || err == -EPIPE)
        return RF_ECONNRESET;
    if (err == -EBADMSG || err == -EMSGSIZE) {
        fail_stream(s, RF_ETLS_PROTOCOL, "TLS error: the kernel could not decrypt a record");
        return 0;
    }
    if (err != -EIO)
        return RF_ESYS;
    uint8_t type = 0;
    /* Non-data records are small; a larger one is cut, which only matters
     * for tickets, and those are dropped anyway. */
    uint8_t buf[512];
    ssize_t n = rf__ktls_recv_record(rf_conn_fd(c), &type, buf, sizeof buf);
    if (n == -EAGAIN)
        return 0;
    if (n < 0)
        return n == -ECONNRESET ? RF_ECONNRESET : RF_ESYS;
    if (type == RF__TLS_APPLICATION_DATA) {
        if (n > 0)
            (void)s->h.on_plain(s->hctx, buf, (size_t)n);
        return 0;
    }
    if (type == RF__TLS_ALERT && n >= 2 && buf[1] == 0) { /* close_notify */
        rf__tls_set_error(s->tls, RF_ECLOSED, "peer sent close_notify");
        s->h.on_end(s->hctx, RF_ECLOSED);
        return 0;
    }
    if (type == RF__TLS_HANDSHAKE && n >= 1 && buf[0] == HS_NEW_SESSION_TICKET)
        return 0; /* a ticket after the switch: this connection will not be resumed from it */
    if (type == RF__TLS_ALERT)
        fail_stream(s, RF_ETLS_PROTOCOL, "TLS error: peer sent a fatal alert");
    else if (type == RF__TLS_HANDSHAKE)
        fail_stream(s, RF_ETLS_PROTOCOL, "TLS error: the peer sent a post-handshake message "
                                         "(key update) that kernel TLS cannot follow");
    else
        fail_stream(s, RF_ETLS_PROTOCOL, "TLS error: unexpected record type");
    return 0;
}

/* Receiving is paused and nothing is in flight: complete the record in
 * hand from the socket, then move RX if the stream stands on a boundary. */
static void rx_paused(rf_conn *c, void *arg)
{
    rf__tls_stream *s = arg;
    s->kt_pausing = 0;
    int fd = rf_conn_fd(c);
    uint8_t buf[4096];
    while (!rf__ktls_rx_at_boundary(s->tls) && s->kt_want && !s->stopped) {
        size_t need = rf__ktls_rx_missing(s->tls);
        if (need == 0)
            break; /* decrypted bytes not yet read out: not a clean moment */
        ssize_t n = recv(fd, buf, need < sizeof buf ? need : sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            break; /* not arrived yet (or EOF / error, which the ring will see) */
        int rc = rf__tls_stream_userspace_data(s, buf, (size_t)n);
        if (rc != 0) {
            s->h.on_end(s->hctx, rc);
            rf__conn_resume_recv(c);
            return;
        }
    }
    if (s->kt_want && !s->kt_rx && !s->stopped && rf__ktls_rx_at_boundary(s->tls)) {
        rf__ktls_info info;
        int rc = rf__ktls_info_get(s->tls, RF__KTLS_RX, &info);
        if (rc == 0 && attach(s) == 0 && rf__ktls_install(fd, RF__KTLS_RX, &info) == 0) {
            s->kt_rx = 1;
            rf__ktls_mark_offloaded(s->tls, RF__KTLS_RX);
            rf__conn_set_recv_error(c, rx_error, s);
        } else if (rc != 0) {
            give_up(s, rc);
        }
        rf__ktls_info_wipe(&info);
    } else {
        s->kt_rx_tries++;
    }
    rf__conn_resume_recv(c);
}

void rf__ktls_stream_try_rx(rf__tls_stream *s)
{
    if (!s->kt_want || s->kt_rx || s->kt_pausing || s->kt_rx_tries >= RX_TRIES)
        return;
    if (!s->ctx->server && rf__ktls_rx_app_records(s->tls) == 0)
        return; /* tickets first */
    s->kt_pausing = 1;
    rf__conn_pause_recv(s->tcp, rx_paused, s);
}

void rf__ktls_stream_close_notify(rf__tls_stream *s)
{
    static const uint8_t close_notify[2] = {1, 0}; /* warning, close_notify */
    (void)rf__conn_send_record(s->tcp, RF__TLS_ALERT, close_notify, sizeof close_notify);
}
