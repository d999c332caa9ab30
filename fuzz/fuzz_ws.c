/* libFuzzer harness for rf_ws, the message layer on top of the frame
 * parser: arbitrary bytes, either role, split at input-chosen points.
 * Invariants: no crash or out-of-bounds access; every text message handed
 * out is valid UTF-8 and within the size limit; nothing is delivered after
 * the endpoint reports CLOSED; on_close runs at most once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringfeed/error.h"
#include "ringfeed/utf8.h"
#include "ringfeed/ws.h"

typedef struct state {
    uint8_t out[4096];
    int closed;
    size_t max;
} state;

static uint8_t *f_reserve(void *ctx, size_t n)
{
    state *s = ctx;
    return n <= sizeof s->out ? s->out : NULL;
}

static int f_commit(void *ctx, size_t n) { return 0; }

static void f_message(void *ctx, unsigned opcode, const uint8_t *data, size_t len)
{
    state *s = ctx;
    if (s->closed || len > s->max)
        abort();
    if (opcode == 1 && rf_utf8_validate(data, len) != 0)
        abort();
    if (opcode != 1 && opcode != 2)
        abort();
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++) /* touch every byte: ASan checks the view */
        sink ^= data[i];
    (void)sink;
}

static void f_close(void *ctx, int code, const uint8_t *reason, size_t len, int error)
{
    state *s = ctx;
    if (s->closed++)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    state s = {.max = 1u << (8 + (data[0] >> 5))}; /* 256 B .. 32 KiB */
    rf_ws_config cfg = {.role = data[0] & 1, .max_message = s.max};
    rf_ws_callbacks cb = {.on_message = f_message, .on_close = f_close,
                          .reserve = f_reserve, .commit = f_commit};
    unsigned split = data[1] ? data[1] : 1;
    data += 2;
    size -= 2;
    rf_ws *ws;
    if (rf_ws_create(&ws, &cfg, &cb, &s) != 0)
        abort();
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    size_t at = 0;
    while (at < size) {
        size_t step = size - at < split ? size - at : split;
        int rc = rf_ws_feed(ws, copy + at, step);
        if (rc != 0 && rf_ws_state(ws) != RF_WS_CLOSED)
            abort(); /* a failure must leave the endpoint closed */
        at += step;
    }
    free(copy);
    rf_ws_destroy(ws);
    return 0;
}
