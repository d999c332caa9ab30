/* The receiving half of rf_ws: message reassembly, UTF-8, control frames and
 * the close handshake, on top of the frame parser. */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "ringfeed/error.h"
#include "ringfeed/utf8.h"
#include "ws_internal.h"

int rf_ws_close_code_valid(int code)
{
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014) /* 1012-1014 are IANA-registered */
        return 1;
    return code >= 3000 && code <= 4999;
}

int rf_ws_close_code_for_error(int error)
{
    switch (error) {
    case RF_EUTF8: return RF_WS_CLOSE_INVALID_DATA;
    case RF_ETOOBIG: return RF_WS_CLOSE_TOO_BIG;
    case RF_ENOMEM: return RF_WS_CLOSE_INTERNAL;
    default: return RF_WS_CLOSE_PROTOCOL_ERROR;
    }
}

int rf_ws_create(rf_ws **out, const rf_ws_config *cfg, const rf_ws_callbacks *cb, void *ctx)
{
    if (out == NULL || cfg == NULL || cb == NULL || cb->reserve == NULL || cb->commit == NULL)
        return RF_EINVAL;
    if (cfg->role != RF_WS_CLIENT && cfg->role != RF_WS_SERVER)
        return RF_EINVAL;
    rf_ws *ws = calloc(1, sizeof *ws);
    if (ws == NULL)
        return RF_ENOMEM;
    ws->cfg = *cfg;
    if (ws->cfg.max_message == 0)
        ws->cfg.max_message = RF_WS_DEFAULT_MAX_MESSAGE;
    ws->cb = *cb;
    ws->ctx = ctx;
    ws->key_pos = sizeof ws->keys; /* draw keys on first send */
    rf_frame_parser_init(&ws->parser, cfg->role == RF_WS_SERVER);
    *out = ws;
    return 0;
}

void rf_ws_destroy(rf_ws *ws)
{
    if (ws == NULL)
        return;
    free(ws->buf);
    free(ws);
}

int rf_ws_state(const rf_ws *ws) { return ws->state; }

static int fail(rf_ws *ws, int error)
{
    rf__ws_finish(ws, rf_ws_close_code_for_error(error), NULL, 0, error, 1);
    return error;
}

static int buffer_append(rf_ws *ws, const uint8_t *data, size_t len)
{
    if (len == 0)
        return 0;
    /* The caller checked the message limit, so buf_len + len <= max_message. */
    int rc = rf__grow(&ws->buf, &ws->buf_cap, ws->buf_len + len, ws->cfg.max_message);
    if (rc != 0)
        return rc;
    memcpy(ws->buf + ws->buf_len, data, len);
    ws->buf_len += len;
    return 0;
}

static void deliver(rf_ws *ws, const uint8_t *data, size_t len)
{
    ws->msg_open = 0;
    ws->buf_len = 0;
    if (ws->cb.on_message)
        ws->cb.on_message(ws->ctx, ws->msg_opcode, data, len);
}

static int on_data_chunk(rf_ws *ws, const rf_frame_chunk *c)
{
    const rf_frame_header *h = c->header;
    if (c->first) {
        if (h->opcode == RF_WS_OP_CONTINUATION) {
            if (!ws->msg_open)
                return RF_EPROTO_CONTINUATION;
        } else {
            if (ws->msg_open)
                return RF_EPROTO_FRAGMENT;
            ws->msg_open = 1;
            ws->msg_opcode = h->opcode;
            ws->buf_len = 0;
            rf_utf8_init(&ws->utf8);
        }
        /* Refuse an oversized message from its header, before its bytes. */
        if (h->payload_len > ws->cfg.max_message - ws->buf_len)
            return RF_ETOOBIG;
    }
    if (ws->msg_opcode == RF_WS_OP_TEXT && rf_utf8_feed(&ws->utf8, c->data, c->len) != 0)
        return RF_EUTF8;

    const int message_ends = c->last && h->fin;
    if (message_ends && ws->msg_opcode == RF_WS_OP_TEXT && rf_utf8_finish(&ws->utf8) != 0)
        return RF_EUTF8;

    /* The fast path: the whole message is this one view. */
    if (message_ends && c->first && ws->buf_len == 0) {
        deliver(ws, c->data, c->len);
        return 0;
    }
    int rc = buffer_append(ws, c->data, c->len);
    if (rc != 0)
        return rc;
    if (message_ends)
        deliver(ws, ws->buf, ws->buf_len);
    return 0;
}

static int on_close_frame(rf_ws *ws)
{
    if (ws->ctl_len == 0) {
        rf__ws_finish(ws, RF_WS_CLOSE_NO_STATUS, NULL, 0, 0, 1);
        return 0;
    }
    if (ws->ctl_len == 1)
        return RF_EPROTO_CLOSE_PAYLOAD;
    int code = (ws->ctl[0] << 8) | ws->ctl[1];
    if (!rf_ws_close_code_valid(code))
        return RF_EPROTO_CLOSE_CODE;
    const uint8_t *reason = ws->ctl + 2;
    size_t reason_len = ws->ctl_len - 2;
    if (rf_utf8_validate(reason, reason_len) != 0)
        return RF_EUTF8;
    rf__ws_finish(ws, code, reason, reason_len, 0, 1);
    return 0;
}

static int on_control_chunk(rf_ws *ws, const rf_frame_chunk *c)
{
    if (c->first)
        ws->ctl_len = 0;
    /* The parser guarantees a control payload of at most 125 bytes. */
    memcpy(ws->ctl + ws->ctl_len, c->data, c->len);
    ws->ctl_len += c->len;
    if (!c->last)
        return 0;

    switch (c->header->opcode) {
    case RF_WS_OP_PING:
        if (ws->state == RF_WS_OPEN) {
            int rc = rf__ws_write_frame(ws, RF_WS_OP_PONG, 1, ws->ctl, ws->ctl_len);
            if (rc != 0)
                return rc;
        }
        if (ws->cb.on_ping)
            ws->cb.on_ping(ws->ctx, ws->ctl, ws->ctl_len);
        return 0;
    case RF_WS_OP_PONG:
        if (ws->cb.on_pong)
            ws->cb.on_pong(ws->ctx, ws->ctl, ws->ctl_len);
        return 0;
    default:
        return on_close_frame(ws);
    }
}

int rf_ws_feed(rf_ws *ws, uint8_t *data, size_t len)
{
    while (len > 0 && ws->state != RF_WS_CLOSED) {
        rf_frame_chunk chunk;
        int n = rf_frame_parser_next(&ws->parser, data, len, &chunk);
        if (n < 0)
            return fail(ws, n);
        data += n;
        len -= (size_t)n;
        if (chunk.header == NULL)
            continue;
        int rc = rf_ws_opcode_is_control(chunk.header->opcode) ? on_control_chunk(ws, &chunk)
                                                              : on_data_chunk(ws, &chunk);
        if (rc != 0)
            return fail(ws, rc);
    }
    return 0;
}
