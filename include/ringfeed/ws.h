/* An RFC 6455 endpoint after the opening handshake, for either role, with no
 * I/O of its own ("sans I/O"): the transport feeds it received bytes and
 * gives it a place to write frames; it hands complete messages to a callback.
 *
 * It reassembles fragmented messages (control frames may be interleaved),
 * validates UTF-8 of text messages as bytes arrive (failing fast, across
 * fragment boundaries), enforces a maximum message size, answers pings with
 * pongs carrying the ping's payload, runs the close handshake, and turns
 * every protocol violation into a typed error and the right close code.
 *
 * Zero copy: a message that is one frame and arrives in one received buffer
 * is handed out as a view into that buffer. Only messages split across frames
 * or across receives are copied (into one buffer that is reused). */
#ifndef RINGFEED_WS_H
#define RINGFEED_WS_H

#include <stddef.h>
#include <stdint.h>

#include "ringfeed/ws_frame.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_ws rf_ws;

enum rf_ws_role { RF_WS_CLIENT = 0, RF_WS_SERVER = 1 };

enum rf_ws_state {
    RF_WS_OPEN = 0,    /* messages flow both ways */
    RF_WS_CLOSING = 1, /* we sent a close frame and wait for the peer's */
    RF_WS_CLOSED = 2,  /* handshake done or connection failed: close the transport */
};

/* Close codes (RFC 6455 7.4.1). 1005 and 1006 are never sent on the wire. */
enum rf_ws_close_code {
    RF_WS_CLOSE_NORMAL = 1000,
    RF_WS_CLOSE_GOING_AWAY = 1001,
    RF_WS_CLOSE_PROTOCOL_ERROR = 1002,
    RF_WS_CLOSE_UNSUPPORTED = 1003,
    RF_WS_CLOSE_NO_STATUS = 1005,
    RF_WS_CLOSE_ABNORMAL = 1006,
    RF_WS_CLOSE_INVALID_DATA = 1007,
    RF_WS_CLOSE_POLICY = 1008,
    RF_WS_CLOSE_TOO_BIG = 1009,
    RF_WS_CLOSE_EXTENSION = 1010,
    RF_WS_CLOSE_INTERNAL = 1011,
};

#define RF_WS_DEFAULT_MAX_MESSAGE (4u << 20) /* 4 MiB */

typedef struct rf_ws_config {
    int role;           /* enum rf_ws_role */
    size_t max_message; /* bytes; 0 = RF_WS_DEFAULT_MAX_MESSAGE */
} rf_ws_config;

typedef struct rf_ws_callbacks {
    /* A complete text or binary message. The view is valid until the
     * callback returns. Text has been validated as UTF-8. */
    void (*on_message)(void *ctx, unsigned opcode, const uint8_t *data, size_t len);
    /* Optional: a ping arrived (the pong is already queued) / a pong arrived. */
    void (*on_ping)(void *ctx, const uint8_t *data, size_t len);
    void (*on_pong)(void *ctx, const uint8_t *data, size_t len);
    /* The endpoint reached RF_WS_CLOSED. code is the peer's close code
     * (RF_WS_CLOSE_NO_STATUS if its close frame had none), or the code we
     * sent when we failed the connection; error is 0 for a clean close
     * handshake, else the RF_E* violation that failed it. */
    void (*on_close)(void *ctx, int code, const uint8_t *reason, size_t reason_len, int error);

    /* The transport. reserve returns n contiguous writable bytes (NULL if it
     * cannot); commit queues n of them for sending. Required. */
    uint8_t *(*reserve)(void *ctx, size_t n);
    int (*commit)(void *ctx, size_t n);
} rf_ws_callbacks;

/* cfg and cb are copied. Returns 0, RF_EINVAL or RF_ENOMEM. */
int rf_ws_create(rf_ws **out, const rf_ws_config *cfg, const rf_ws_callbacks *cb, void *ctx);
void rf_ws_destroy(rf_ws *ws);

/* Feeds received bytes (modified in place: unmasking). Returns 0, or the
 * negative RF_E* violation that failed the connection (a close frame with
 * the matching code is already queued and the state is RF_WS_CLOSED).
 * Bytes after the closing handshake are ignored. Callbacks run inside. */
int rf_ws_feed(rf_ws *ws, uint8_t *data, size_t len);

/* Sends one unfragmented message (RF_WS_OP_TEXT or RF_WS_OP_BINARY), masked
 * with a fresh key in the client role. Text is sent as given (the caller
 * promises UTF-8). Returns 0, RF_ESTATE after close, RF_ENOMEM. */
int rf_ws_send(rf_ws *ws, unsigned opcode, const void *data, size_t len);

/* Sends one frame of a fragmented message: opcode TEXT/BINARY for the first
 * frame, RF_WS_OP_CONTINUATION after; fin = 1 on the last. */
int rf_ws_send_frame(rf_ws *ws, unsigned opcode, int fin, const void *data, size_t len);

/* Sends a ping or pong (payload <= 125 bytes). */
int rf_ws_ping(rf_ws *ws, const void *data, size_t len);
int rf_ws_pong(rf_ws *ws, const void *data, size_t len);

/* Starts the close handshake: sends a close frame with code (1000..4999,
 * not 1005/1006/1015) and an optional UTF-8 reason (<= 123 bytes); state
 * becomes RF_WS_CLOSING until the peer answers. */
int rf_ws_close(rf_ws *ws, int code, const char *reason, size_t reason_len);

int rf_ws_state(const rf_ws *ws);

/* Maps an RF_E* violation to the close code sent for it (1002, 1007, 1009 ...). */
int rf_ws_close_code_for_error(int error);

/* Whether a code may appear in a close frame on the wire (RFC 6455 7.4). */
int rf_ws_close_code_valid(int code);

#ifdef __cplusplus
}
#endif
#endif
