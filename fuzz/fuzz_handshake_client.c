/* libFuzzer harness for the client side of the opening handshake: the
 * response parser (with and without offers) and, from the same bytes split
 * on NUL, the request writer.
 *
 * Properties beyond "no crash": every result is a known code; a parse of
 * any prefix is RF_EAGAIN or exactly the whole input's result; every view
 * lies inside the header block; and whatever the writer accepts is one
 * complete request that our own server parser ends exactly at its end. */
#include "fuzz_common.h"
#include "ringfeed/error.h"
#include "ringfeed/ws_handshake.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

static const char *const offers[][2] = {
    {NULL, NULL},
    {"chat, superchat", "permessage-deflate; client_max_window_bits, x-foo"},
};

static int parse(const uint8_t *d, size_t n, int o, rf_ws_client_response *out)
{
    int r = rf_ws_client_response_parse(d, n, KEY, offers[o][0], offers[o][1], out);
    if (r > 0) {
        if ((size_t)r > n || r > RF_WS_HANDSHAKE_MAX || memcmp(d + r - 4, "\r\n\r\n", 4) != 0)
            abort();
    } else if (r != RF_EAGAIN && r != RF_EHS_TOOBIG && (r > RF_EHS_MALFORMED || r < RF_EHS_KEY)) {
        abort();
    }
    size_t block = r > 0 ? (size_t)r : n;
    view_inside(out->reason, d, block);
    view_inside(out->protocol, d, block);
    view_inside(out->extensions, d, block);
    return r;
}

static void prefix(const uint8_t *d, size_t k, int o, int r,
                   const rf_ws_client_response *full)
{
    /* An exact-size copy, so reading past k is an ASan error, not a peek at d[k]. */
    uint8_t *c = malloc(k ? k : 1);
    memcpy(c, d, k);
    rf_ws_client_response out;
    int rk = parse(c, k, o, &out);
    if (rk != RF_EAGAIN) {
        if (rk != r || out.status != full->status || !same_view(out.reason, c, full->reason, d) ||
            !same_view(out.protocol, c, full->protocol, d) ||
            !same_view(out.extensions, c, full->extensions, d))
            abort();
    }
    free(c);
}

static void check_writer(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    const char *f[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t i = 0;
    for (int k = 0; k < 5 && i <= size; k++) {
        f[k] = s + i;
        i += strlen(s + i) + 1;
    }
    rf_ws_client_request rq = {.host = f[0], .path = f[1], .key = KEY, .protocols = f[2],
                               .extensions = f[3], .extra_headers = f[4]};
    static char buf[8192];
    int w = rf_ws_client_request_write(buf, sizeof buf, &rq);
    if (w > 0) {
        if (w >= (int)sizeof buf || buf[w] != '\0')
            abort();
        rf_ws_server_request sr;
        int r = rf_ws_server_request_parse((const uint8_t *)buf, (size_t)w, &sr);
        /* Never a request that ends early or runs on: no smuggling. */
        if (r == RF_EAGAIN || (r > 0 && r != w))
            abort();
        /* Only a caller's extra headers (a second Host, a bad version...) may spoil it. */
        if (r < 0 && r != RF_EHS_TOOBIG && !(f[4] && *f[4]))
            abort();
    } else if (w != RF_EINVAL && w != RF_ENOSPC) {
        abort();
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int o = 0; o < 2; o++) {
        rf_ws_client_response full;
        int r = parse(data, size, o, &full);
        if (size <= 128) {
            for (size_t k = 0; k < size; k++)
                prefix(data, k, o, r, &full);
        } else {
            uint32_t h = 2166136261u;
            for (size_t i = 0; i < size; i++)
                h = (h ^ data[i]) * 16777619u;
            size_t ks[4] = {h % size, (h >> 16) % size, size / 2, size - 1};
            for (int i = 0; i < 4; i++)
                prefix(data, ks[i], o, r, &full);
            if (r > 0)
                prefix(data, (size_t)r - 1, o, r, &full);
        }
    }
    check_writer(data, size);
    return 0;
}
