/* UTF-8 validation throughput per SIMD level: JSON-like ASCII (Binance depth
 * updates), the same validated one ~300-byte message at a time (per-call
 * cost included), and mixed text with multi-byte characters. */
#include <string.h>

#include "bench.h"
#include "cpu.h"
#include "ringfeed/utf8.h"

#define RUNS 9
#define BUF (1u << 20)
#define BYTES_PER_RUN (128u << 20)

static const char depth[] =
    "{\"e\":\"depthUpdate\",\"E\":1700000000123,\"s\":\"BTCUSDT\",\"U\":400900217,"
    "\"u\":400900221,\"b\":[[\"43012.10\",\"0.51200000\"],[\"43011.90\",\"1.20400000\"],"
    "[\"43011.00\",\"0.00000000\"]],\"a\":[[\"43013.00\",\"0.03100000\"],"
    "[\"43013.10\",\"2.70000000\"]]}";

/* Mostly ASCII JSON with names and notes in other scripts, so the DFA and
 * the ASCII scan hand over to each other often. */
static const char mixed[] =
    "{\"user\":\"Jos\xc3\xa9 M\xc3\xbcller\",\"note\":\"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5"
    "\xd1\x82 \xe4\xbd\xa0\xe5\xa5\xbd \xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf "
    "\xf0\x9f\x9a\x80\xf0\x9f\x93\x88\",\"price\":\"43012.10\",\"qty\":\"0.512\",\"side\":\"BUY\"}";

typedef struct job {
    int level;
    const uint8_t *buf;
    size_t len, msg, iters;
} job;

static void run(void *ctx)
{
    job *j = ctx;
    for (size_t i = 0; i < j->iters; i++) {
        for (size_t at = 0; at < j->len; at += j->msg) {
            size_t n = j->len - at < j->msg ? j->len - at : j->msg;
            rf_utf8 v;
            rf_utf8_init(&v);
            int r = j->level < 0 ? rf_utf8_feed(&v, j->buf + at, n)
                                 : rf__utf8_feed_with(j->level, &v, j->buf + at, n);
            if (r || rf_utf8_finish(&v)) {
                fprintf(stderr, "unexpected invalid input\n");
                exit(1);
            }
        }
        rf_bench_clobber(j->buf);
    }
}

static size_t fill(uint8_t *buf, size_t cap, const char *unit, size_t *unit_len)
{
    size_t u = strlen(unit), at = 0;
    while (at + u <= cap) memcpy(buf + at, unit, u), at += u;
    *unit_len = u;
    return at;
}

int main(void)
{
    uint8_t *ascii = rf_bench_alloc(BUF), *mix = rf_bench_alloc(BUF);
    size_t ulen_ascii, ulen_mixed;
    size_t n_ascii = fill(ascii, BUF, depth, &ulen_ascii);
    size_t n_mixed = fill(mix, BUF, mixed, &ulen_mixed);
    const struct { const char *name; const uint8_t *buf; size_t len, msg; } cases[] = {
        {"JSON ASCII, 1 MiB in one call", ascii, n_ascii, n_ascii},
        {"JSON ASCII, 64 KiB calls", ascii, n_ascii, 64 << 10},
        {"JSON ASCII, per message", ascii, n_ascii, ulen_ascii},
        {"mixed text, 1 MiB in one call", mix, n_mixed, n_mixed},
        {"mixed text, per message", mix, n_mixed, ulen_mixed},
    };
    const struct { int level; const char *name; } levels[] = {
        {RF__SIMD_SCALAR, "scalar"}, {RF__SIMD_SSE2, "sse2"}, {RF__SIMD_AVX2, "avx2"},
        {-1, "rf_utf8_feed"},
    };
    char note[96];
    snprintf(note, sizeof note, "dispatch: %s, median of %d; per-message sizes %zu and %zu B",
             rf_utf8_impl(), RUNS, ulen_ascii, ulen_mixed);
    rf_bench_header("utf8 validation, GB/s", note);
    printf("%-32s", "case");
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) printf("%14s", levels[l].name);
    printf("\n");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        printf("%-32s", cases[c].name);
        for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
            if (levels[l].level >= 0 && !rf__cpu_simd_available(levels[l].level)) {
                printf("%14s", "n/a");
                continue;
            }
            job j = {levels[l].level, cases[c].buf, cases[c].len, cases[c].msg,
                     BYTES_PER_RUN / cases[c].len};
            double ns = rf_bench_median_ns(RUNS, run, &j);
            printf("%14.2f", (double)cases[c].len * (double)j.iters / ns);
        }
        printf("\n");
    }
    free(ascii);
    free(mix);
    return 0;
}
