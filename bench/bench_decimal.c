/* Decimal strings, ns per call: rf_decimal_parse over every price and
 * quantity in the recorded Binance traffic (or a synthetic Binance-like set
 * when the recordings are missing), then file by file (spot strings carry
 * eight decimals, futures ones are short), rf_decimal_format of the same
 * values, and strtod on the same text as a yardstick; on an AVX2 CPU also
 * the portable parse paths that other CPUs take. */
#include <string.h>

#include "bench.h"
#include "decimal_avx2.h" /* rf__decimal_use_avx2: the portable path for comparison */
#include "ringfeed/decimal.h"

#define RUNS 15
#define MIN_CALLS (1u << 22) /* per run, so one run is a few ms */

typedef struct text {
    const char *p;
    size_t n;
} text;

typedef struct set {
    text *t;
    rf_decimal *d;
    size_t count, cap, bytes;
    size_t reps;
} set;

static int is_decimal(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '-', a = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == a) return 0;
    if (i == n) return 1;
    if (s[i++] != '.' || i == n) return 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    return i == n;
}

static void add(set *s, const char *p, size_t n)
{
    if (s->count == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4096;
        s->t = realloc(s->t, s->cap * sizeof *s->t);
        if (!s->t) exit(1);
    }
    s->t[s->count++] = (text){p, n};
    s->bytes += n;
}

/* JSON string values that are decimals, found by quote pairs; the file
 * stays loaded because the set points into it. */
static void load(set *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    for (size_t i = 0; i < got; i++) {
        if (buf[i] != '"') continue;
        size_t j = i + 1;
        while (j < got && buf[j] != '"' && buf[j] != '\n') j++;
        if (j < got && buf[j] == '"' && is_decimal(buf + i + 1, j - i - 1)) add(s, buf + i + 1, j - i - 1);
        i = j;
    }
}

/* Prices with 2-8 decimals and quantities with 8, like spot depth levels. */
static void synthesise(set *s)
{
    uint64_t x = 88172645463325252u;
    char *pool = malloc(200000 * 24), *w = pool;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int len = i % 2 ? snprintf(w, 24, "%llu.%08llu", (unsigned long long)(x % 100000),
                                   (unsigned long long)((x >> 20) % 100000000))
                        : snprintf(w, 24, "%llu.%02llu", (unsigned long long)(x % 70000),
                                   (unsigned long long)((x >> 24) % 100));
        add(s, w, (size_t)len);
        w += len;
    }
}

static void run_parse(void *ctx)
{
    set *s = ctx;
    for (size_t r = 0; r < s->reps; r++) {
        for (size_t i = 0; i < s->count; i++) {
            if (rf_decimal_parse(s->t[i].p, s->t[i].n, &s->d[i])) exit(1);
        }
        rf_bench_clobber(s->d);
    }
}

static void run_format(void *ctx)
{
    set *s = ctx;
    char buf[RF_DECIMAL_MAX_TEXT];
    for (size_t r = 0; r < s->reps; r++) {
        for (size_t i = 0; i < s->count; i++) {
            if (rf_decimal_format(s->d[i], buf, sizeof buf) < 0) exit(1);
            rf_bench_clobber(buf);
        }
    }
}

static void run_strtod(void *ctx)
{
    set *s = ctx;
    char buf[64];
    double sink = 0;
    for (size_t r = 0; r < s->reps; r++) {
        for (size_t i = 0; i < s->count; i++) {
            /* strtod needs a terminated string; the copy is part of its cost
             * in a scanner that only has views. */
            memcpy(buf, s->t[i].p, s->t[i].n);
            buf[s->t[i].n] = '\0';
            sink += strtod(buf, NULL);
        }
        rf_bench_clobber(&sink);
    }
}

int main(void)
{
    static const char *files[] = {
        "../shared/data/binance/BINANCE.ws.1.0",
        "../shared/data/binance/BINANCE_FUTURES.ws.1.0",
        "../shared/data/binance/BINANCE.http.0.0",
        "../shared/data/binance/BINANCE_FUTURES.http.0.0",
    };
    set s = {0};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) load(&s, files[i]);
    const char *source = "recorded Binance strings";
    if (s.count == 0) {
        synthesise(&s);
        source = "synthetic Binance-like strings (recordings missing)";
    }
    /* Packed end to end, as the strings of the message being scanned would
     * be in cache, so the numbers measure the parser and not memory. */
    char *pool = rf_bench_alloc(s.bytes), *w = pool;
    for (size_t i = 0; i < s.count; i++) {
        memcpy(w, s.t[i].p, s.t[i].n);
        s.t[i].p = w;
        w += s.t[i].n;
    }
    s.d = rf_bench_alloc(s.count * sizeof *s.d);
    s.reps = (MIN_CALLS + s.count - 1) / s.count;
    double calls = (double)s.count * (double)s.reps;

    char note[160];
    snprintf(note, sizeof note, "%zu %s, mean %.1f B, median of %d runs", s.count, source,
             (double)s.bytes / (double)s.count, RUNS);
    rf_bench_header("decimal strings, ns per call", note);
    double parse = rf_bench_median_ns(RUNS, run_parse, &s) / calls;
    double format = rf_bench_median_ns(RUNS, run_format, &s) / calls;
    double sd = rf_bench_median_ns(RUNS, run_strtod, &s) / calls;
    printf("%-36s %8.2f ns  (%.2f GB/s)\n", "rf_decimal_parse", parse, (double)s.bytes / s.count / parse);
    printf("%-36s %8.2f ns\n", "rf_decimal_format", format);
    printf("%-36s %8.2f ns\n", "strtod (copy + parse, yardstick)", sd);
#if RF__DEC_AVX2
    /* The portable paths (SWAR and SSE2), which CPUs without AVX2 take. */
    if (rf__decimal_use_avx2(0) == 0) {
        double portable = rf_bench_median_ns(RUNS, run_parse, &s) / calls;
        printf("%-36s %8.2f ns  (%s path dispatched)\n", "rf_decimal_parse, portable path", portable,
               rf__decimal_use_avx2(1) ? "AVX2" : "portable");
    }
#endif

    /* The same parse, one recording at a time. */
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        set one = {0};
        load(&one, files[i]);
        if (!one.count) continue;
        char *w1 = rf_bench_alloc(one.bytes), *at = w1;
        for (size_t k = 0; k < one.count; k++) {
            memcpy(at, one.t[k].p, one.t[k].n);
            one.t[k].p = at;
            at += one.t[k].n;
        }
        one.d = rf_bench_alloc(one.count * sizeof *one.d);
        one.reps = (MIN_CALLS + one.count - 1) / one.count;
        double ns = rf_bench_median_ns(RUNS, run_parse, &one) / ((double)one.count * (double)one.reps);
        /* and the fastest of a few more runs, for a machine shared with other work */
        double best = 1e30;
        for (int r = 0; r < RUNS; r++) {
            uint64_t t0 = rf_bench_now_ns();
            run_parse(&one);
            double t = (double)(rf_bench_now_ns() - t0);
            if (t < best) best = t;
        }
        best /= (double)one.count * (double)one.reps;
        const char *name = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
        printf("  parse, %-27s %8.2f ns, fastest run %.2f ns  (%zu strings, mean %.1f B)\n", name, ns,
               best, one.count, (double)one.bytes / (double)one.count);
        free(w1);
        free(one.d);
        free(one.t);
    }
    return 0;
}
