/* ns per frame for a buffer of ~10k text frames of 100-300 bytes, parsed
 * the way a connection does: one loop over rf_frame_parser_next. Unmasked is
 * the client receiving from an exchange; masked is the server side. */
#include <string.h>

#include "bench.h"
#include "ringfeed/ws_frame.h"
#include "ringfeed/ws_mask.h"

#define FRAMES 10000
#define PASSES 20
#define RUNS 15

typedef struct job {
    uint8_t *buf;
    size_t len;
    int masked;
    uint64_t frames, bytes;
} job;

static void run(void *ctx)
{
    job *j = ctx;
    uint64_t frames = 0, bytes = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        rf_frame_parser p;
        rf_frame_parser_init(&p, j->masked);
        uint8_t *d = j->buf;
        size_t left = j->len;
        while (left > 0) {
            rf_frame_chunk c;
            int n = rf_frame_parser_next(&p, d, left, &c);
            if (n < 0) {
                fprintf(stderr, "parse error %d\n", n);
                exit(1);
            }
            if (c.header) {
                bytes += c.len;
                frames += c.last;
                rf_bench_clobber(c.data);
            }
            d += n, left -= (size_t)n;
        }
    }
    j->frames = frames, j->bytes = bytes;
}

/* A depth update as Binance sends it, cut or padded to len. */
static void fill_payload(uint8_t *p, size_t len, unsigned seq)
{
    char text[512];
    int n = snprintf(text, sizeof text,
                     "{\"e\":\"depthUpdate\",\"E\":%u,\"s\":\"BTCUSDT\",\"U\":%u,\"u\":%u,"
                     "\"b\":[[\"43012.%02u\",\"0.512\"],[\"43011.90\",\"1.204\"]],"
                     "\"a\":[[\"43013.00\",\"0.031\"],[\"43013.10\",\"2.700\"]],"
                     "\"pad\":\"",
                     1700000000u + seq, seq * 3, seq * 3 + 2, seq % 100);
    for (size_t i = 0; i < len; i++) p[i] = i < (size_t)n ? (uint8_t)text[i] : 'x';
    if (len) p[len - 1] = '}';
}

static size_t build(uint8_t *buf, int masked)
{
    uint32_t rng = 42;
    size_t at = 0;
    for (unsigned i = 0; i < FRAMES; i++) {
        rng = rng * 1103515245u + 12345u;
        size_t len = 100 + (rng >> 16) % 201;
        uint8_t key[4] = {(uint8_t)rng, (uint8_t)(rng >> 8), (uint8_t)(rng >> 16), 0x5a};
        at += rf_frame_header_write(buf + at, 1, RF_WS_OP_TEXT, len, masked ? key : NULL);
        fill_payload(buf + at, len, i);
        if (masked) rf_ws_mask(buf + at, len, key, 0);
        at += len;
    }
    return at;
}

int main(void)
{
    uint8_t *buf = rf_bench_alloc(FRAMES * (300 + RF_WS_FRAME_HEADER_MAX));
    char note[96];
    snprintf(note, sizeof note, "%d frames of 100-300 B, %d passes per run, median of %d; mask: %s",
             FRAMES, PASSES, RUNS, rf_ws_mask_impl());
    rf_bench_header("frame parser", note);
    printf("%-34s%14s%14s\n", "case", "ns/frame", "GB/s");
    for (int masked = 0; masked <= 1; masked++) {
        job j = {buf, build(buf, masked), masked, 0, 0};
        double ns = rf_bench_median_ns(RUNS, run, &j);
        if (j.frames != (uint64_t)FRAMES * PASSES) {
            fprintf(stderr, "frame count %llu\n", (unsigned long long)j.frames);
            return 1;
        }
        printf("%-34s%14.2f%14.2f\n",
               masked ? "masked (server receive)" : "unmasked (client receive)",
               ns / (double)j.frames, (double)j.len * PASSES / ns);
    }
    free(buf);
    return 0;
}
