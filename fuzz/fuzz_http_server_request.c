/* libFuzzer harness for the server role's plain HTTP request parser
 * (rf_http_server_request_parse) and its header lookup.
 *
 * Properties beyond "no crash": every result is a known code; a parse of
 * any prefix is RF_EAGAIN or exactly the whole input's result; every view
 * lies inside the header block; every header a lookup finds lies there too;
 * HTTP/1.0 and 1.1 keep-alive defaults hold. */
#include "fuzz_common.h"
#include "ringfeed/error.h"
#include "ringfeed/ws_conn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int parse(const uint8_t *d, size_t n, rf_http_server_request *out)
{
    int r = rf_http_server_request_parse(d, n, out);
    if (r > 0) {
        REQUIRE((size_t)r <= n && r <= RF_WS_HANDSHAKE_MAX && memcmp(d + r - 4, "\r\n\r\n", 4) == 0);
        size_t block = (size_t)r;
        view_inside(out->method, d, block);
        view_inside(out->target, d, block);
        view_inside(out->head, d, block);
        REQUIRE(out->method.len > 0 && out->target.len > 0);
        REQUIRE(out->minor_version >= 0 && out->minor_version <= 9);
        REQUIRE(out->upgrade == 0 || out->upgrade == 1);
        REQUIRE(out->keep_alive == 0 || out->keep_alive == 1);
        static const char *names[] = {"Host", "Connection", "Upgrade", "Content-Length", "X"};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            rf_str v = {0};
            if (rf_http_server_request_header(out, names[i], &v))
                view_inside(v, d, block);
        }
    } else {
        REQUIRE(r == RF_EAGAIN || r == RF_EHS_MALFORMED || r == RF_EHS_TOOBIG);
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rf_http_server_request full;
    int r = parse(data, size, &full);
    /* Prefixes: undecided or the same answer (the head is judged only whole). */
    size_t step = size / 7 + 1;
    for (size_t k = 0; k < size; k += step) {
        uint8_t *c = malloc(k ? k : 1); /* exact size: reading past k is an ASan error */
        memcpy(c, data, k);
        rf_http_server_request p;
        int rk = parse(c, k, &p);
        REQUIRE(rk == RF_EAGAIN || rk == r || (rk < 0 && r < 0));
        free(c);
    }
    return 0;
}
