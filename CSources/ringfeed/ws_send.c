/* The sending half of rf_ws: frames written straight into the transport's
 * buffer, masked on the way in the client role (one pass, no extra copy). */
#include <string.h>

#include "random.h"
#include "ringfeed/error.h"
#include "ringfeed/ws_mask.h"
#include "ws_internal.h"

static int next_mask_key(rf_ws *ws, uint8_t key[4])
{
    if (ws->key_pos + 4 > sizeof ws->keys) {
        if (rf__random_fill(ws->keys, sizeof ws->keys) != 0)
            return RF_ESYS;
        ws->key_pos = 0;
    }
    memcpy(key, ws->keys + ws->key_pos, 4);
    ws->key_pos += 4;
    return 0;
}

int rf__ws_write_frame(rf_ws *ws, unsigned opcode, int fin, const void *data, size_t len)
{
    uint8_t key[4];
    const int masked = ws->cfg.role == RF_WS_CLIENT;
    if (masked && next_mask_key(ws, key) != 0)
        return RF_ESYS;

    uint8_t header[RF_WS_FRAME_HEADER_MAX];
    size_t hlen = rf_frame_header_write(header, fin, opcode, len, masked ? key : NULL);
    uint8_t *out = ws->cb.reserve(ws->ctx, hlen + len);
    if (out == NULL)
        return RF_ENOMEM;
    memcpy(out, header, hlen);
    if (len > 0) {
        if (masked)
            rf_ws_mask_copy(out + hlen, data, len, key, 0);
        else
            memcpy(out + hlen, data, len);
    }
    return ws->cb.commit(ws->ctx, hlen + len);
}

int rf_ws_send_frame(rf_ws *ws, unsigned opcode, int fin, const void *data, size_t len)
{
    if (ws->state != RF_WS_OPEN)
        return RF_ESTATE;
    if (opcode != RF_WS_OP_TEXT && opcode != RF_WS_OP_BINARY && opcode != RF_WS_OP_CONTINUATION)
        return RF_EINVAL;
    return rf__ws_write_frame(ws, opcode, fin, data, len);
}

int rf_ws_send(rf_ws *ws, unsigned opcode, const void *data, size_t len)
{
    if (opcode != RF_WS_OP_TEXT && opcode != RF_WS_OP_BINARY)
        return RF_EINVAL;
    return rf_ws_send_frame(ws, opcode, 1, data, len);
}

static int send_control(rf_ws *ws, unsigned opcode, const void *data, size_t len)
{
    if (ws->state != RF_WS_OPEN)
        return RF_ESTATE;
    if (len > RF_WS_CONTROL_MAX)
        return RF_EINVAL;
    return rf__ws_write_frame(ws, opcode, 1, data, len);
}

int rf_ws_ping(rf_ws *ws, const void *data, size_t len)
{
    return send_control(ws, RF_WS_OP_PING, data, len);
}

int rf_ws_pong(rf_ws *ws, const void *data, size_t len)
{
    return send_control(ws, RF_WS_OP_PONG, data, len);
}

static int write_close(rf_ws *ws, int code, const uint8_t *reason, size_t reason_len)
{
    uint8_t payload[RF_WS_CONTROL_MAX];
    size_t n = 0;
    if (code != RF_WS_CLOSE_NO_STATUS) {
        if (reason_len > RF_WS_CONTROL_MAX - 2)
            reason_len = RF_WS_CONTROL_MAX - 2;
        payload[0] = (uint8_t)(code >> 8);
        payload[1] = (uint8_t)code;
        if (reason_len > 0)
            memcpy(payload + 2, reason, reason_len);
        n = 2 + reason_len;
    }
    return rf__ws_write_frame(ws, RF_WS_OP_CLOSE, 1, payload, n);
}

int rf_ws_close(rf_ws *ws, int code, const char *reason, size_t reason_len)
{
    if (ws->state != RF_WS_OPEN)
        return RF_ESTATE;
    if (!rf_ws_close_code_valid(code) || reason_len > RF_WS_CONTROL_MAX - 2)
        return RF_EINVAL;
    if (reason_len > 0 && rf_utf8_validate((const uint8_t *)reason, reason_len) != 0)
        return RF_EUTF8;
    int rc = write_close(ws, code, (const uint8_t *)reason, reason_len);
    ws->state = RF_WS_CLOSING;
    return rc;
}

void rf__ws_finish(rf_ws *ws, int code, const uint8_t *reason, size_t reason_len, int error,
                   int send_close)
{
    if (ws->state == RF_WS_CLOSED)
        return;
    /* Only one close frame ever goes out: not again if we started closing. */
    if (send_close && ws->state == RF_WS_OPEN)
        (void)write_close(ws, code, NULL, 0);
    ws->state = RF_WS_CLOSED;
    if (ws->cb.on_close)
        ws->cb.on_close(ws->ctx, code, reason, reason_len, error);
}
