/* libFuzzer harness for the server side of the opening handshake: the
 * request parser, then the writers fed from its result.
 *
 * Properties beyond "no crash": every result is a known code; a parse of
 * any prefix is RF_EAGAIN or exactly the whole input's result; every view
 * lies inside the header block; an accepted request yields a 101 that our
 * own client parser accepts for the same key; every failure has a reject. */
#include "fuzz_common.h"
#include "ringfeed/error.h"
#include "ringfeed/ws_handshake.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int parse(const uint8_t *d, size_t n, rf_ws_server_request *out)
{
    int r = rf_ws_server_request_parse(d, n, out);
    if (r > 0) {
        if ((size_t)r > n || r > RF_WS_HANDSHAKE_MAX || memcmp(d + r - 4, "\r\n\r\n", 4) != 0)
            abort();
    } else if (r != RF_EAGAIN && r != RF_EHS_TOOBIG && (r > RF_EHS_MALFORMED || r < RF_EHS_KEY)) {
        abort();
    }
    size_t block = r > 0 ? (size_t)r : n;
    view_inside(out->path, d, block);
    view_inside(out->host, d, block);
    view_inside(out->key, d, block);
    view_inside(out->protocols, d, block);
    view_inside(out->extensions, d, block);
    view_inside(out->origin, d, block);
    return r;
}

static void prefix(const uint8_t *d, size_t k, int r, const rf_ws_server_request *full)
{
    /* An exact-size copy, so reading past k is an ASan error, not a peek at d[k]. */
    uint8_t *c = malloc(k ? k : 1);
    memcpy(c, d, k);
    rf_ws_server_request out;
    int rk = parse(c, k, &out);
    if (rk != RF_EAGAIN) {
        if (rk != r || !same_view(out.path, c, full->path, d) ||
            !same_view(out.host, c, full->host, d) || !same_view(out.key, c, full->key, d) ||
            !same_view(out.protocols, c, full->protocols, d) ||
            !same_view(out.extensions, c, full->extensions, d) ||
            !same_view(out.origin, c, full->origin, d))
            abort();
    }
    free(c);
}

static void answer(int r, const rf_ws_server_request *rq)
{
    static char buf[512];
    if (r == RF_EAGAIN)
        return;
    if (r < 0) {
        if (rf_ws_server_reject_write(buf, sizeof buf, r) <= 0)
            abort();
        return;
    }
    if (rq->key.len != RF_WS_KEY_LEN)
        abort();
    char key[RF_WS_KEY_LEN + 1];
    memcpy(key, rq->key.ptr, RF_WS_KEY_LEN);
    key[RF_WS_KEY_LEN] = '\0';
    int n = rf_ws_server_response_write(buf, sizeof buf, &rq->key, "chat");
    if (n <= 0)
        abort();
    rf_ws_client_response cr;
    if (rf_ws_client_response_parse((const uint8_t *)buf, (size_t)n, key, "chat", NULL, &cr) != n)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rf_ws_server_request full;
    int r = parse(data, size, &full);
    if (size <= 128) {
        for (size_t k = 0; k < size; k++)
            prefix(data, k, r, &full);
    } else {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < size; i++)
            h = (h ^ data[i]) * 16777619u;
        size_t ks[4] = {h % size, (h >> 16) % size, size / 2, size - 1};
        for (int i = 0; i < 4; i++)
            prefix(data, ks[i], r, &full);
        if (r > 0)
            prefix(data, (size_t)r - 1, r, &full);
    }
    answer(r, &full);
    return 0;
}
