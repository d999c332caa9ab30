/* Masking throughput against memcpy, per variant and buffer size. */
#include <string.h>

#include "bench.h"
#include "ringfeed/ws_mask.h"

#define RUNS 9
#define BYTES_PER_RUN (64u << 20)

typedef struct job {
    int kind; /* -2 memcpy, -1 dispatched copy, 0.. variant in place, 10 dispatched in place */
    uint8_t *dst, *src;
    size_t len, iters;
} job;

static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};

static void run(void *ctx)
{
    job *j = ctx;
    for (size_t i = 0; i < j->iters; i++) {
        switch (j->kind) {
        case -2: memcpy(j->dst, j->src, j->len); break;
        case -1: rf_ws_mask_copy(j->dst, j->src, j->len, key, i); break;
        case 10: rf_ws_mask(j->src, j->len, key, i); break;
        default: rf_ws_mask_with(j->kind, j->src, j->len, key, i); break;
        }
        rf_bench_clobber(j->dst);
        rf_bench_clobber(j->src);
    }
}

int main(void)
{
    static const size_t sizes[] = {1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20};
    static const struct { int kind; const char *name; } kinds[] = {
        {-2, "memcpy"}, {0, "scalar"}, {1, "sse2"}, {2, "avx2"}, {3, "avx512"},
        {10, "rf_ws_mask"}, {-1, "rf_ws_mask_copy"},
    };
    uint8_t *src = rf_bench_alloc(1 << 20), *dst = rf_bench_alloc(1 << 20);
    memset(src, 0x5a, 1 << 20);
    memset(dst, 0, 1 << 20);

    char note[64];
    snprintf(note, sizeof note, "dispatch: %s, median of %d", rf_ws_mask_impl(), RUNS);
    rf_bench_header("ws_mask throughput, GB/s (x memcpy)", note);
    printf("%-16s", "size");
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) printf("%18s", kinds[k].name);
    printf("\n");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t len = sizes[s];
        char label[32];
        snprintf(label, sizeof label, "%zu KiB", len >> 10);
        printf("%-16s", label);
        double memcpy_gbs = 0;
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            int kind = kinds[k].kind;
            if (kind >= 0 && kind < 10 && !rf_ws_mask_variant_available(kind)) {
                printf("%18s", "n/a");
                continue;
            }
            job j = {kind, dst, src, len, BYTES_PER_RUN / len};
            double ns = rf_bench_median_ns(RUNS, run, &j);
            double gbs = (double)len * (double)j.iters / ns;
            if (kind == -2) {
                memcpy_gbs = gbs;
                printf("%18.1f", gbs);
            } else {
                char cell[32];
                snprintf(cell, sizeof cell, "%.1f (%.2fx)", gbs, gbs / memcpy_gbs);
                printf("%18s", cell);
            }
        }
        printf("\n");
    }
    free(src);
    free(dst);
    return 0;
}
