/* The rf_ws object, shared by its receive side (ws.c) and send side
 * (ws_send.c). */
#ifndef RF_WS_INTERNAL_H
#define RF_WS_INTERNAL_H

#include "ringfeed/utf8.h"
#include "ringfeed/ws.h"
#include "ringfeed/ws_frame.h"

#define RF__WS_KEY_POOL 256 /* mask keys drawn from the kernel in batches */

struct rf_ws {
    rf_ws_config cfg;
    rf_ws_callbacks cb;
    void *ctx;
    int state;

    rf_frame_parser parser;

    /* The data message being received. */
    uint8_t msg_open;     /* a message has started and not finished */
    uint8_t msg_opcode;   /* TEXT or BINARY */
    rf_utf8 utf8;         /* validator state across its fragments */
    uint8_t *buf;         /* reassembly, used only when a message spans chunks */
    size_t buf_len;
    size_t buf_cap;

    /* The control frame being received (it may still arrive in pieces). */
    uint8_t ctl[RF_WS_CONTROL_MAX];
    size_t ctl_len;

    uint8_t keys[RF__WS_KEY_POOL];
    size_t key_pos;
};

/* Sends a close frame and moves to CLOSED with on_close(code, error). Used
 * both for failing the connection and for answering the peer's close. */
void rf__ws_finish(rf_ws *ws, int code, const uint8_t *reason, size_t reason_len, int error,
                   int send_close);

/* Writes one frame through the transport. */
int rf__ws_write_frame(rf_ws *ws, unsigned opcode, int fin, const void *data, size_t len);

#endif
