/* rf_bn_scan: ns per message over every message of the recorded Binance
 * streams (../shared/data/binance, run from the repository root), by event
 * type and for the whole mix, with GB/s; hand-written messages the
 * recordings lack (a spot trade, a 20-level partial depth, a miniTicker, a
 * ticker, a 1000-element !miniTicker@arr walked with rf_bn_array_next); and
 * the cost of one depth level: depthUpdates of 0 to 40 levels, the slope of
 * ns/msg over the level count (least squares). Messages are packed into one
 * buffer, as they would sit in a receive ring, and scanned in order. The
 * general path alone (no fixed-layout fast path) runs on the same messages
 * for comparison, and on an AVX2 CPU the level cost is measured again with
 * the portable decimal paths. */
#include <string.h>

#include "bench.h"
#include "binance_internal.h" /* rf__bn_scan_general, rf__bn_fast */
#include "decimal_avx2.h"     /* rf__decimal_use_avx2: the portable paths for comparison */
#include "ringfeed/binance.h"
#include "ringfeed/error.h"

#define RUNS 15 /* timed runs per figure */
#define MSGS_PER_RUN 400000
#define MAX_MSGS 4096

typedef struct msg {
    uint32_t off, len;
    int type;
} msg;

typedef int (*scan_fn)(const uint8_t *, size_t, rf_bn_level *, size_t, rf_bn_event *);

typedef struct job {
    const uint8_t *buf;
    const msg *m;
    size_t n, iters;
    scan_fn scan;
} job;

static rf_bn_level levels[256];

static void run(void *ctx)
{
    job *j = ctx;
    rf_bn_event ev, el;
    for (size_t it = 0; it < j->iters; it++) {
        for (size_t i = 0; i < j->n; i++) {
            if (j->scan(j->buf + j->m[i].off, j->m[i].len, levels, 256, &ev) != 0) {
                fprintf(stderr, "scan failed\n");
                exit(1);
            }
            if (ev.type == RF_BN_ARRAY) { /* the elements are part of the work */
                size_t pos = 0;
                while (rf_bn_array_next(&ev, &pos, levels, 256, &el) == 1) rf_bench_clobber(&el);
            }
            rf_bench_clobber(&ev);
        }
    }
}

static uint8_t *buf;
static size_t used, cap = 8u << 20;
static msg all[MAX_MSGS];
static size_t nall;

static void add(const char *text, size_t len)
{
    if (nall == MAX_MSGS || used + len > cap) return;
    memcpy(buf + used, text, len);
    rf_bn_event ev;
    if (rf_bn_scan(buf + used, len, levels, 256, &ev) != 0) {
        fprintf(stderr, "unexpected: %.*s\n", (int)len, text);
        exit(1);
    }
    all[nall++] = (msg){(uint32_t)used, (uint32_t)len, ev.type};
    used += (len + 63) & ~(size_t)63;
}

static void load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("(%s not found: skipped)\n", path);
        return;
    }
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    for (int first = 1; (n = getline(&line, &lcap, f)) > 0; first = 0) {
        char *m = strstr(line, ": ");
        if (first || !m) continue;
        m += 2;
        size_t len = (size_t)n - (size_t)(m - line);
        while (len && (m[len - 1] == '\n' || m[len - 1] == '\r')) len--;
        if (len) add(m, len);
    }
    free(line);
    fclose(f);
}

/* The median and the fastest of `runs` timed runs after one warm-up, in
 * ns: on a shared machine the median is the honest figure and the fastest
 * run shows what the code does when it has the core to itself. */
static void timed(int runs, void (*fn)(void *), void *ctx, double *median, double *best)
{
    double t[RF_BENCH_MAX_RUNS];
    fn(ctx);
    for (int i = 0; i < runs; i++) {
        uint64_t t0 = rf_bench_now_ns();
        fn(ctx);
        t[i] = (double)(rf_bench_now_ns() - t0);
    }
    qsort(t, (size_t)runs, sizeof t[0], rf_bench_cmp_double);
    *median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    *best = t[0];
}

static double last_best; /* the fastest run of the last bench_from(), ns per message */

/* ns per message of the selected messages (first..nall), both paths. */
static double bench_from(const char *name, int type, size_t first)
{
    static msg sel[MAX_MSGS];
    size_t n = 0, bytes = 0;
    for (size_t i = first; i < nall; i++)
        if (type < 0 || all[i].type == type) sel[n++] = all[i], bytes += all[i].len;
    if (!n) return 0;
    job j = {buf, sel, n, MSGS_PER_RUN / n + 1, rf_bn_scan};
    if (bytes / n > 4096) j.iters = 2000000 / (bytes / n) + 1; /* big arrays: fewer passes */
    double ns, best, gen, gen_best;
    timed(RUNS, run, &j, &ns, &best);
    j.scan = rf__bn_scan_general;
    timed(RUNS, run, &j, &gen, &gen_best);
    double calls = (double)(n * j.iters), b = (double)bytes / (double)n;
    ns /= calls, best /= calls, gen /= calls, gen_best /= calls;
    printf("%-30s %6zu %7.0f %9.1f %6.2f %9.1f %6.2f %9.1f %9.1f\n", name, n, b, ns, b / ns, best,
           b / best, gen, gen_best);
    last_best = best;
    return ns;
}

static double bench(const char *name, int type) { return bench_from(name, type, 0); }

/* A spot depthUpdate with k bids (and no asks), prices and quantities with
 * eight decimals, as the recorded spot messages. */
static size_t depth_msg(char *m, int k)
{
    int o = sprintf(m, "{\"stream\":\"nknusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1633998512068,"
                       "\"s\":\"NKNUSDT\",\"U\":499869750,\"u\":499869752,\"b\":[");
    for (int i = 0; i < k; i++)
        o += sprintf(m + o, "%s[\"0.%08d\",\"%d.00000000\"]", i ? "," : "", 35130000 - 1700 * i, 6195 + 37 * i);
    o += sprintf(m + o, "],\"a\":[]}}");
    return (size_t)o;
}

/* ns per level: least squares over the depthUpdates of 0-40 levels
 * (medians; the "best" slope uses the fastest runs). */
static void level_slope(size_t depth_at, const int *depth_levels, size_t nd)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0, sb = 0, sxb = 0;
    for (size_t i = 0; i < nd; i++) {
        char name[64];
        snprintf(name, sizeof name, "depthUpdate, %d levels", depth_levels[i]);
        nall = depth_at + i + 1;
        double ns = bench_from(name, RF_BN_DEPTH_UPDATE, depth_at + i);
        double x = depth_levels[i];
        sx += x, sy += ns, sxx += x * x, sxy += x * ns, sb += last_best, sxb += x * last_best;
    }
    double slope = (nd * sxy - sx * sy) / (nd * sxx - sx * sx);
    double best_slope = (nd * sxb - sx * sb) / (nd * sxx - sx * sx);
    printf("  = %.2f ns per level (slope of medians), %.1f ns fixed per message; %.2f ns per level "
           "from the fastest runs\n", slope, (sy - slope * sx) / nd, best_slope);
}

int main(void)
{
    buf = rf_bench_alloc(cap);
    load("../shared/data/binance/BINANCE.ws.1.0");
    load("../shared/data/binance/BINANCE_FUTURES.ws.1.0");
    size_t recorded = nall;
    static const char trade[] =
        "{\"e\":\"trade\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"t\":12345,\"p\":\"0.00100000\","
        "\"q\":\"100.00000000\",\"T\":1672515782136,\"m\":true,\"M\":true}";
    char partial[2048];
    int o = sprintf(partial, "{\"lastUpdateId\":160,\"bids\":[");
    for (int side = 0; side < 2; side++) {
        for (int i = 0; i < 10; i++)
            o += sprintf(partial + o, "%s[\"%d.%08d\",\"%d.00000000\"]", i ? "," : "",
                         43000 + (side ? i : -i), 10000000 * i, 3 + i);
        o += sprintf(partial + o, side ? "]}" : "],\"asks\":[");
    }
    add(trade, sizeof trade - 1);
    add(partial, (size_t)o);
    static const char mini[] =
        "{\"e\":\"24hrMiniTicker\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"c\":\"0.00250000\","
        "\"o\":\"0.00100000\",\"h\":\"0.00250000\",\"l\":\"0.00100000\",\"v\":\"10000.00000000\",\"q\":\"18.00000000\"}";
    static const char ticker[] =
        "{\"e\":\"24hrTicker\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"p\":\"0.00150000\",\"P\":\"250.000\","
        "\"w\":\"0.00180000\",\"x\":\"0.00090000\",\"c\":\"0.00250000\",\"Q\":\"10.00000000\",\"b\":\"0.00240000\","
        "\"B\":\"10.00000000\",\"a\":\"0.00260000\",\"A\":\"100.00000000\",\"o\":\"0.00100000\",\"h\":\"0.00250000\","
        "\"l\":\"0.00100000\",\"v\":\"10000.00000000\",\"q\":\"18.00000000\",\"O\":0,\"C\":86400000,\"F\":0,"
        "\"L\":18150,\"n\":18151}";
    add(mini, sizeof mini - 1);
    add(ticker, sizeof ticker - 1);
    size_t arr_at = nall;
    {
        /* !miniTicker@arr: 1000 elements, about 130 KB. */
        size_t acap = 1000 * 200, ao = 0;
        char *a = malloc(acap);
        ao += (size_t)sprintf(a, "{\"stream\":\"!miniTicker@arr\",\"data\":[");
        for (int i = 0; i < 1000; i++)
            ao += (size_t)sprintf(a + ao, "%s{\"e\":\"24hrMiniTicker\",\"E\":1672515782136,\"s\":\"S%dUSDT\","
                                          "\"c\":\"%d.%08d\",\"o\":\"0.00100000\",\"h\":\"0.00250000\",\"l\":\"0.00100000\","
                                          "\"v\":\"10000.00000000\",\"q\":\"18.00000000\"}",
                                  i ? "," : "", i, i, i * 7919);
        ao += (size_t)sprintf(a + ao, "]}");
        add(a, ao);
        free(a);
    }
    size_t depth_at = nall;
    static const int depth_levels[] = {0, 5, 10, 20, 40};
    for (size_t i = 0; i < sizeof depth_levels / sizeof depth_levels[0]; i++) {
        static char m[4096];
        add(m, depth_msg(m, depth_levels[i]));
    }

    size_t fast = 0, total = 0, recorded_bytes = 0;
    for (size_t i = 0; i < recorded; i++) {
        rf_bn_event ev;
        memset(&ev, 0, sizeof ev);
        const uint8_t *m = buf + all[i].off;
        fast += rf__bn_fast(m, m, m + all[i].len, levels, 256, &ev) == m + all[i].len;
        total++;
        recorded_bytes += all[i].len;
    }
    rf_bench_header("rf_bn_scan, ns per message", "median of 15 runs, messages packed in order");
    printf("fast path takes %zu of %zu recorded messages (%zu bytes)\n", fast, total, recorded_bytes);
    printf("%-30s %6s %7s %9s %6s %9s %6s %9s %9s\n", "messages", "count", "bytes", "ns/msg", "GB/s",
           "best", "GB/s", "general", "best");
    size_t keep = nall;
    nall = recorded;
    bench("recorded mix (both ws files)", -1);
    bench("recorded depthUpdate", RF_BN_DEPTH_UPDATE);
    bench("recorded bookTicker", RF_BN_BOOK_TICKER);
    bench("recorded aggTrade", RF_BN_AGG_TRADE);
    bench("recorded kline", RF_BN_KLINE);
    nall = arr_at;
    bench_from("spot trade (hand)", RF_BN_TRADE, recorded);
    bench_from("partial depth 20 lv (hand)", RF_BN_PARTIAL_DEPTH, recorded);
    bench_from("miniTicker (hand)", RF_BN_MINI_TICKER, recorded);
    bench_from("ticker (hand)", RF_BN_TICKER, recorded);
    nall = depth_at;
    double arr = bench_from("!miniTicker@arr, 1000 (hand)", RF_BN_ARRAY, arr_at);
    printf("  = %.1f ns per array element, scan and walk\n", arr / 1000);

    printf("\ndepthUpdate by level count (spot form, 8-decimal strings):\n");
    level_slope(depth_at, depth_levels, sizeof depth_levels / sizeof depth_levels[0]);
#if RF__DEC_AVX2
    /* The same with the portable decimal paths, which CPUs without AVX2 take. */
    if (rf__decimal_use_avx2(0) == 0) {
        printf("\nthe same, portable decimal paths (no AVX2):\n");
        level_slope(depth_at, depth_levels, sizeof depth_levels / sizeof depth_levels[0]);
        rf__decimal_use_avx2(1);
    }
#endif
    nall = keep;
    free(buf);
    return 0;
}
