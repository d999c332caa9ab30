/* WebSocket connections on an rf_loop: the opening handshake, then an rf_ws
 * endpoint fed straight from the receive buffers. Client (rf_ws_connect) and
 * server (rf_ws_listen) roles.
 *
 * Everything runs on the loop's thread; callbacks too. A connection lives
 * until its on_close, which is called exactly once; it is freed when on_close
 * returns. A client connection gets on_close also when connecting or the
 * handshake failed. A server connection is announced by on_open: one whose
 * handshake fails is answered with an HTTP error and closed unseen. */
#ifndef RINGFEED_WS_CONN_H
#define RINGFEED_WS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "ringfeed/loop.h"
#include "ringfeed/tls.h"
#include "ringfeed/ws.h"
#include "ringfeed/ws_handshake.h" /* rf_str */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_ws_conn rf_ws_conn;
typedef struct rf_ws_server rf_ws_server;

typedef struct rf_ws_conn_config {
    size_t max_message;            /* 0 = RF_WS_DEFAULT_MAX_MESSAGE */
    uint64_t handshake_timeout_ns; /* connect + opening handshake; 0 = 10 s */
    uint64_t close_timeout_ns;     /* wait for the peer's close frame / EOF; 0 = 5 s */
    const char *protocols;         /* client: Sec-WebSocket-Protocol offer, or NULL */
    const char *extra_headers;     /* client: raw "Name: value\r\n" lines, or NULL */
    /* TLS. Client: the context for wss:// URLs; NULL gives the connection a
     * private default one (system trust store, so no session resumption
     * across connections: share a context to get it). Server: when set, every
     * accepted connection speaks TLS first. Not owned; must outlive the
     * connections that use it. */
    rf_tls_ctx *tls;
} rf_ws_conn_config;

/* ---- plain HTTP requests on the server role ----
 *
 * A server can answer ordinary HTTP/1.1 requests on the port it serves
 * WebSockets on (REST endpoints next to streams, as exchanges do). A request
 * head is parsed into views; bodies are not read (a request that announces
 * one is refused with 400). */
typedef struct rf_http_server_request {
    rf_str method;     /* "GET", "HEAD" ... */
    rf_str target;     /* the request-target as sent: path and query */
    int minor_version; /* HTTP/1.<minor_version> */
    int upgrade;       /* 1: it asks for a WebSocket upgrade (Upgrade: websocket) */
    int keep_alive;    /* 1: the client lets the connection carry another request */
    rf_str head;       /* the header lines (CRLF-separated), for rf_http_server_request_header */
} rf_http_server_request;

/* Parses a request head. Returns the header block length (bytes after it
 * belong to the next request or, after an upgrade, to WebSocket frames),
 * RF_EAGAIN until the blank line has arrived, RF_EHS_MALFORMED or
 * RF_EHS_TOOBIG (over RF_WS_HANDSHAKE_MAX). Views point into buf. */
int rf_http_server_request_parse(const uint8_t *buf, size_t len, rf_http_server_request *out);
/* First header with this name (case-insensitive): 1 and *value set, or 0. */
int rf_http_server_request_header(const rf_http_server_request *r, const char *name, rf_str *value);

typedef struct rf_ws_conn_handlers {
    /* The opening handshake succeeded; messages may be sent now. */
    void (*on_open)(rf_ws_conn *c, void *ctx);
    /* A complete message; the view is valid until the callback returns. */
    void (*on_message)(rf_ws_conn *c, void *ctx, unsigned opcode, const uint8_t *data, size_t len);
    /* Optional. */
    void (*on_ping)(rf_ws_conn *c, void *ctx, const uint8_t *data, size_t len);
    void (*on_pong)(rf_ws_conn *c, void *ctx, const uint8_t *data, size_t len);
    /* The end. code: the close code received (or sent, when we failed the
     * connection), RF_WS_CLOSE_ABNORMAL (1006) if no close handshake took
     * place. error: 0 after a clean close handshake, else why it ended
     * (RF_ECONNREFUSED, RF_EHS_*, RF_EUTF8, RF_ETIMEDOUT ...). */
    void (*on_close)(rf_ws_conn *c, void *ctx, int code, int error);
    /* Optional, server role: every request before the upgrade, plain HTTP or
     * a WebSocket upgrade (req->upgrade), with the server's ctx. Answer it
     * inside the callback with rf_ws_conn_http_respond. An upgrade left
     * unanswered goes on to the WebSocket handshake (so answering it is how
     * an upgrade is refused); a plain request left unanswered gets 404.
     * Without this handler plain requests are refused as before (400/405).
     * After an answer to a plain request the connection waits for the next
     * one (keep-alive, with the handshake timeout as idle deadline) unless
     * the client asked to close; after a refused upgrade it closes. */
    void (*on_http_request)(rf_ws_conn *c, void *ctx, const rf_http_server_request *req);
} rf_ws_conn_handlers;

/* Opens a client connection to a ws:// or wss:// URL. cfg may be NULL.
 * Returns 0 with *out set (outcome via callbacks), or a negative code with no
 * callback. TLS failures arrive as on_close errors (RF_ETLS_*). */
int rf_ws_connect(rf_loop *loop, const char *url, const rf_ws_conn_config *cfg,
                  const rf_ws_conn_handlers *h, void *ctx, rf_ws_conn **out);

/* Server: accepts connections on host:port (0 = any free port), runs the
 * server handshake, then calls h for each connection with ctx (change it per
 * connection with rf_ws_conn_set_ctx in on_open). cfg may be NULL. */
int rf_ws_listen(rf_loop *loop, const char *host, uint16_t port, const rf_ws_conn_config *cfg,
                 const rf_ws_conn_handlers *h, void *ctx, rf_ws_server **out);
uint16_t rf_ws_server_port(const rf_ws_server *s);
/* Stops accepting; open connections live on. */
void rf_ws_server_close(rf_ws_server *s);

int rf_ws_conn_send(rf_ws_conn *c, unsigned opcode, const void *data, size_t len);
int rf_ws_conn_send_frame(rf_ws_conn *c, unsigned opcode, int fin, const void *data, size_t len);
int rf_ws_conn_ping(rf_ws_conn *c, const void *data, size_t len);
/* Starts the close handshake; the TCP connection ends when the peer answers
 * or close_timeout_ns passes. */
int rf_ws_conn_close(rf_ws_conn *c, int code, const char *reason, size_t reason_len);
/* Drops the TCP connection now (on_close follows with 1006). */
void rf_ws_conn_abort(rf_ws_conn *c);

/* Answers the request being handled by on_http_request (only from inside
 * it): a status line for status, then headers (raw "Name: value\r\n" lines
 * or NULL; Content-Length and Connection are added here), then body (not for
 * HEAD). Returns 0, RF_ESTATE outside on_http_request or when already
 * answered, RF_EINVAL for a status outside 100..599 or a malformed header
 * line, RF_ENOMEM. */
int rf_ws_conn_http_respond(rf_ws_conn *c, int status, const char *headers, const void *body,
                            size_t len);

/* ---- fault injection (test servers only) ----
 *
 * These break the protocol on purpose, for exchange simulators that must
 * show clients what a broken peer looks like. Nothing else should call them. */

/* Queues bytes as they are, without framing (through TLS when it is on):
 * e.g. a frame with a reserved opcode or RSV bits set. Open connections only;
 * returns 0, RF_ESTATE or RF_ENOMEM. */
int rf_ws_conn_send_raw(rf_ws_conn *c, const void *data, size_t len);
/* Goes silent: from now on received bytes are discarded unread (so pings
 * are not answered and messages not delivered) and sends fail with
 * RF_ESTATE, while the TCP connection stays open. Only close or abort end it. */
void rf_ws_conn_stall(rf_ws_conn *c);

void rf_ws_conn_set_ctx(rf_ws_conn *c, void *ctx);
/* Bytes queued for sending and not yet taken by the kernel (backpressure). */
size_t rf_ws_conn_pending(const rf_ws_conn *c);
/* The path the client asked for (server role), "" otherwise. */
const char *rf_ws_conn_path(const rf_ws_conn *c);
/* The connection's TLS state (version, cipher, resumption, last error), or
 * NULL on a plain connection. */
const rf_tls *rf_ws_conn_tls(const rf_ws_conn *c);
/* Where TLS records are handled (see rf_tls_path): "kernel" when both
 * directions are offloaded to the kernel (kTLS), "kernel-tx" / "kernel-rx"
 * when one is, "userspace" when OpenSSL handles them, "none" on a plain
 * connection. */
const char *rf_ws_conn_tls_path(const rf_ws_conn *c);
/* Client: when the server refused the upgrade (RF_EHS_STATUS), its status
 * and the start of its body, e.g. "400 Bad Request: {"code":2,...}"; valid
 * in on_close. "" otherwise. */
const char *rf_ws_conn_refusal(const rf_ws_conn *c);
/* The reason text of the close frame the peer sent (UTF-8, validated by the
 * frame layer, at most 123 bytes), e.g. "Too many requests" with 1008; valid
 * in on_close. "" when the peer gave none, sent no close frame, or we failed
 * the connection ourselves (our own reasons are not reported back). */
const char *rf_ws_conn_close_reason(const rf_ws_conn *c);

#ifdef __cplusplus
}
#endif
#endif
