/* rf_ws_conn internals shared by the client (ws_client.c), the server
 * (ws_server.c) and the common part (ws_conn.c). */
#ifndef RF_WS_CONN_INTERNAL_H
#define RF_WS_CONN_INTERNAL_H

#include "ringfeed/ws_conn.h"
#include "ringfeed/ws_handshake.h"
#include "tls_stream.h"

enum rf__ws_phase {
    RF__WS_CONNECTING, /* TCP connect in progress (client) */
    RF__WS_TLS,        /* TLS handshake in progress (wss) */
    RF__WS_HANDSHAKE,  /* waiting for the peer's half of the opening handshake */
    RF__WS_OPEN,       /* rf_ws runs */
    RF__WS_ENDING,     /* TCP close started; waiting for the loop's on_close */
};

struct rf_ws_conn {
    rf_loop *loop;
    rf_conn *tcp;
    rf_ws *ws;
    rf_ws_conn_handlers h;
    void *ctx;
    rf_ws_conn_config cfg;
    int role;
    int phase;
    rf_timer *timer;     /* handshake deadline, then close deadline */

    uint8_t *hs;         /* handshake bytes received so far */
    size_t hs_len;
    size_t hs_cap;

    char *request;       /* client: the GET request, sent once connected */
    size_t request_len;
    char key[RF_WS_KEY_LEN + 1];
    char *protocols;     /* client: our Sec-WebSocket-Protocol offer (copy) */
    char *path;          /* server: the path the client asked for */
    char *refusal;       /* client: the server's answer when it refused the upgrade */

    /* TLS (wss). */
    uint8_t use_tls;
    rf__tls_stream tls;
    rf_tls_ctx *tls_ctx;  /* borrowed from the config, or NULL for a default */
    char *tls_host;
    uint16_t tls_port;

    int end_code;        /* close code to report */
    int end_error;       /* error to report (0 = clean) */
    /* The peer's close reason (RFC 6455 caps it at 123 bytes), kept inline
     * so on_close can hand it on without an allocation. */
    char close_reason[124];
    uint8_t ws_closed;   /* rf_ws reached RF_WS_CLOSED */
    uint8_t announced;   /* on_open ran, so on_close is owed */
    uint8_t stalled;     /* fault injection: input discarded, sends refused */

    /* Server: the plain HTTP request being answered by on_http_request. */
    const rf_http_server_request *http_req;
    uint8_t http_answered;
};

/* Shared pieces. */
rf_ws_conn *rf__ws_conn_new(rf_loop *loop, int role, const rf_ws_conn_config *cfg,
                            const rf_ws_conn_handlers *h, void *ctx);
extern const rf_conn_handlers rf__ws_conn_tcp_handlers;
int rf__ws_conn_hs_append(rf_ws_conn *c, const uint8_t *data, size_t len);
/* Handshake done: creates the rf_ws, announces, feeds bytes that followed. */
void rf__ws_conn_open(rf_ws_conn *c, size_t header_len);
/* Ends the connection with error; graceful flushes queued bytes first. */
void rf__ws_conn_end(rf_ws_conn *c, int error, int graceful);
void rf__ws_conn_start_handshake_deadline(rf_ws_conn *c);

/* Bytes of the WebSocket stream (decrypted when TLS): handshake or frames. */
void rf__ws_conn_plain_data(rf_ws_conn *c, uint8_t *data, size_t len);
/* Sends handshake bytes through TLS when it is on. */
int rf__ws_conn_write(rf_ws_conn *c, const void *data, size_t len);

/* The TLS transport (ws_conn_tls.c). */
int rf__ws_conn_tls_start(rf_ws_conn *c);
void rf__ws_conn_tls_data(rf_ws_conn *c, const uint8_t *data, size_t len);
uint8_t *rf__ws_conn_tls_reserve(rf_ws_conn *c, size_t n);
int rf__ws_conn_tls_commit(rf_ws_conn *c, size_t n);
void rf__ws_conn_tls_close_notify(rf_ws_conn *c);
void rf__ws_conn_tls_free(rf_ws_conn *c);

/* Plain HTTP answers on the server role (http_server.c). */
int rf__http_headers_valid(const char *headers);
int rf__http_status_line_write(char *buf, size_t cap, int status, int keep_alive, size_t body_len);

/* Role-specific handshake steps, called from the common on_data. */
void rf__ws_client_on_handshake_data(rf_ws_conn *c);
void rf__ws_server_on_handshake_data(rf_ws_conn *c);

#endif
