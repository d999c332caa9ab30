/* rf_bn_scan: ns per message over every message of the recorded Binance
 * streams (../shared/data/binance, run from the repository root), by event
 * type and for the whole mix, plus two hand-written messages the recordings
 * lack (a spot trade, a 20-level partial depth). Messages are packed into one
 * buffer, as they would sit in a receive ring, and scanned in order. */
#include <string.h>

#include "bench.h"
#include "ringfeed/binance.h"
#include "ringfeed/error.h"

#define RUNS 15
#define MSGS_PER_RUN 400000
#define MAX_MSGS 4096

typedef struct msg {
    uint32_t off, len;
    int type;
} msg;

typedef struct job {
    const uint8_t *buf;
    const msg *m;
    size_t n, iters;
} job;

static rf_bn_level levels[256];

static void run(void *ctx)
{
    job *j = ctx;
    rf_bn_event ev;
    for (size_t it = 0; it < j->iters; it++) {
        for (size_t i = 0; i < j->n; i++) {
            if (rf_bn_scan(j->buf + j->m[i].off, j->m[i].len, levels, 256, &ev) != 0) {
                fprintf(stderr, "scan failed\n");
                exit(1);
            }
            rf_bench_clobber(&ev);
        }
    }
}

static uint8_t *buf;
static size_t used, cap = 4u << 20;
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

static void bench(const char *name, int type)
{
    static msg sel[MAX_MSGS];
    size_t n = 0, bytes = 0;
    for (size_t i = 0; i < nall; i++)
        if (type < 0 || all[i].type == type) sel[n++] = all[i], bytes += all[i].len;
    if (!n) return;
    job j = {buf, sel, n, MSGS_PER_RUN / n + 1};
    double ns = rf_bench_median_ns(RUNS, run, &j) / (double)(n * j.iters);
    printf("%-30s %6zu %8.0f %10.1f %10.2f\n", name, n, (double)bytes / (double)n, ns,
           (double)bytes / (double)n / ns);
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

    rf_bench_header("rf_bn_scan, ns per message", "median of 15 runs, messages packed in order");
    printf("%-30s %6s %8s %10s %10s\n", "messages", "count", "bytes", "ns/msg", "GB/s");
    size_t keep = nall;
    nall = recorded;
    bench("recorded mix", -1);
    bench("recorded depthUpdate", RF_BN_DEPTH_UPDATE);
    bench("recorded bookTicker", RF_BN_BOOK_TICKER);
    bench("recorded aggTrade", RF_BN_AGG_TRADE);
    bench("recorded kline", RF_BN_KLINE);
    nall = keep;
    bench("spot trade (hand)", RF_BN_TRADE);
    bench("partial depth 20 lv (hand)", RF_BN_PARTIAL_DEPTH);
    free(buf);
    return 0;
}
