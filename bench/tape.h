/* The ingest benchmarks' tape: depth-update-like JSON text frames of 100-300
 * bytes (1-9 bid levels), pre-encoded as unmasked server frames, the same
 * for every benchmark and every run (fixed xorshift seed). */
#ifndef RF_BENCH_TAPE_H
#define RF_BENCH_TAPE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringfeed/ws_frame.h"

/* Returns a malloc'd tape of `messages` frames; *len is its size in bytes,
 * *payload the sum of the payload sizes. Exits on allocation failure. */
static inline uint8_t *rf_bench_depth_tape(int messages, size_t *len, size_t *payload)
{
    uint8_t *tape = malloc((size_t)messages * 320);
    if (tape == NULL) {
        fprintf(stderr, "bench: out of memory for the tape\n");
        exit(1);
    }
    size_t at = 0, body_total = 0;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < messages; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        char body[320];
        int n = snprintf(body, sizeof body,
                         "{\"e\":\"depthUpdate\",\"E\":%d,\"s\":\"BTCUSDT\",\"U\":%d,\"u\":%d,\"b\":[[\"65%03u.%02u\",\"%u.%05u\"]",
                         1700000000 + i, i, i, (unsigned)(x % 1000), (unsigned)(x >> 20) % 100,
                         (unsigned)(x >> 30) % 10, (unsigned)(x >> 40) % 100000);
        int extra = (int)((x >> 50) % 9);
        for (int k = 0; k < extra; k++)
            n += snprintf(body + n, sizeof body - (size_t)n, ",[\"65%03d.%02d\",\"0.%05d\"]", k * 7, k, k * 131);
        n += snprintf(body + n, sizeof body - (size_t)n, "],\"a\":[]}");
        at += rf_frame_header_write(tape + at, 1, RF_WS_OP_TEXT, (uint64_t)n, NULL);
        memcpy(tape + at, body, (size_t)n);
        at += (size_t)n;
        body_total += (size_t)n;
    }
    *len = at;
    if (payload != NULL)
        *payload = body_total;
    return tape;
}

#endif
