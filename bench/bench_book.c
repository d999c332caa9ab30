/* The order book (rf_book): applying one level to a 5000-level-per-side
 * book, timed one operation at a time (rdtsc between fences, the timer's
 * own cost subtracted) and in batches of 16, each into a log-linear
 * histogram with three significant digits, HdrHistogram-style, and the
 * whole run without a timer; the cost by distance from the top; then best
 * bid/ask, a market order over 10 levels, top-N copies, the top-10
 * checksum, a 5000-level snapshot load, and the memory of a book.
 *
 * The update stream. A book of 5000 levels a side on a 0.0001 grid at
 * 8 decimals (prices near 350), filled at about 80% of the ticks near the
 * top thinning to 40% deep, takes a pre-generated sequence of
 * rf_book_set calls whose distance from the best, in levels, follows
 * the recorded futures session (tests' BINANCE_FUTURES.ws.1.0 with its
 * snapshots: median 9 levels, 90% within 48, 99% within 212, 99.8% within
 * 1000): 54% within 10 levels, 36% in 10-50, 8% in 50-500, 2% in 500-5000.
 * Two mixes: "recorded" keeps the recording's shares (96% quantity
 * changes, 2% new prices, 2% deletes), "churn" moves far more levels (80%
 * changes, 10% new prices, 10% deletes) to stress the structure. Inserts and
 * deletes balance, so the book stays at ~5000 levels a side. */
#include <string.h>
#include <unistd.h>
#include <x86intrin.h>

#include "bench.h"
#include "ringfeed/book.h"
#include "ringfeed/error.h"

#define LEVELS 5000
#define TICK 10000 /* 0.0001 at 8 decimals */
#define MID 35000000000 /* 350.00000000: room for 5000 sparse levels below */
#define OPS (1 << 21)

static uint64_t rng_state = 0x853C49E6748FEA9Bu;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* ---- a tiny HdrHistogram: exact below 2048, then 1024 sub-buckets per
 * power of two (relative width < 0.1%: three significant digits) ------- */

#define H_SUB 1024
#define H_SIZE (2 * H_SUB + 40 * H_SUB)

typedef struct hist {
    uint64_t count[H_SIZE];
    uint64_t total, max;
} hist;

static int h_index(uint64_t v)
{
    if (v < 2 * H_SUB) return (int)v;
    int shift = 63 - __builtin_clzll(v) - 10; /* v >> shift in [1024, 2048) */
    int i = 2 * H_SUB + (shift - 1) * H_SUB + (int)((v >> shift) - H_SUB);
    return i < H_SIZE ? i : H_SIZE - 1;
}

/* The middle of bucket i. */
static double h_value(int i)
{
    if (i < 2 * H_SUB) return i;
    int shift = (i - 2 * H_SUB) / H_SUB + 1;
    uint64_t sub = (uint64_t)((i - 2 * H_SUB) % H_SUB + H_SUB);
    return (double)(sub << shift) + (double)((1ull << shift) - 1) / 2;
}

static void h_add(hist *h, uint64_t v)
{
    h->count[h_index(v)]++;
    h->total++;
    if (v > h->max) h->max = v;
}

static double h_quantile(const hist *h, double q)
{
    uint64_t want = (uint64_t)(q * (double)h->total), seen = 0;
    if (want >= h->total) want = h->total - 1;
    for (int i = 0; i < H_SIZE; i++) {
        seen += h->count[i];
        if (seen > want) return h_value(i);
    }
    return (double)h->max;
}

/* ---- the clock ------------------------------------------------------------- */

static double tsc_ghz;

static void measure_tsc(void)
{
    uint64_t n0 = rf_bench_now_ns(), c0 = __rdtsc();
    while (rf_bench_now_ns() - n0 < 200000000) {
    }
    uint64_t n1 = rf_bench_now_ns(), c1 = __rdtsc();
    tsc_ghz = (double)(c1 - c0) / (double)(n1 - n0);
}

static inline uint64_t t_start(void)
{
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}

static inline uint64_t t_stop(void)
{
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}

/* The fenced timer pair around nothing: its median is subtracted. */
static uint64_t timer_overhead(void)
{
    static hist h;
    memset(&h, 0, sizeof h);
    for (int i = 0; i < 1000000; i++) {
        uint64_t a = t_start();
        uint64_t b = t_stop();
        h_add(&h, b - a);
    }
    printf("  TSC %.3f GHz; a fenced rdtsc/rdtscp pair around nothing: p1 %.0f, median %.0f, p99 %.0f cycles "
           "(the median is subtracted)\n",
           tsc_ghz, h_quantile(&h, 0.01), h_quantile(&h, 0.5), h_quantile(&h, 0.99));
    return (uint64_t)h_quantile(&h, 0.5);
}

/* ---- the book and its update stream -------------------------------------- */

typedef struct op {
    int64_t price, qty;
    int side;
} op;

static rf_bn_level snap[2][LEVELS];

/* Occupied ticks: 80% near the top, thinning to about 40% at depth. */
static void make_snapshot(void)
{
    for (int side = 0; side < 2; side++) {
        int64_t price = side == RF_BOOK_BID ? MID - TICK : MID;
        for (int i = 0; i < LEVELS; i++) {
            snap[side][i].price = (rf_decimal){price, 8};
            snap[side][i].quantity = (rf_decimal){(int64_t)(rng() % 5000000000000u) + 100000000, 8};
            int64_t step = 1;
            while (rng() % 1000 < (uint64_t)(200 + i * 400 / LEVELS)) step++;
            price += side == RF_BOOK_BID ? -step * TICK : step * TICK;
        }
    }
}

static rf_book *snapshot_book(void)
{
    rf_book *b;
    rf_book_config cfg = {8, 8, 0};
    if (rf_book_create(&b, &cfg)) exit(1);
    if (rf_book_load_snapshot(b, 1, snap[0], LEVELS, snap[1], LEVELS) < 0) exit(1);
    return b;
}

static size_t rank(void)
{
    uint64_t x = rng() % 100;
    if (x < 54) return (size_t)(rng() % 10);
    if (x < 90) return 10 + (size_t)(rng() % 40);
    if (x < 98) return 50 + (size_t)(rng() % 450);
    return 500 + (size_t)(rng() % 4500);
}

/* Generates ops against a plain model of the book (a sorted array a side,
 * best first), so each op targets a level that exists, or a free tick, at
 * that moment; the timed run replays them on a fresh copy of the snapshot.
 * inserts_pct and deletes_pct of the ops; the rest change a quantity. */
static void generate(op *ops, int n, int inserts_pct, int deletes_pct)
{
    static int64_t model[2][2 * LEVELS];
    size_t depth[2] = {LEVELS, LEVELS};
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < LEVELS; i++) model[side][i] = snap[side][i].price.mantissa;
    for (int i = 0; i < n; i++) {
        int side = (int)(rng() & 1);
        int64_t *m = model[side];
        int64_t dir = side == RF_BOOK_BID ? -1 : 1; /* toward worse prices */
        size_t d = depth[side], r = rank();
        if (r + 1 >= d) r = d - 2;
        int kind = (int)(rng() % 100);
        op o = {m[r], (int64_t)(rng() % 5000000000000u) + 100000000, side};
        if (kind < deletes_pct && d > LEVELS - 50) {
            o.qty = 0;
            memmove(&m[r], &m[r + 1], (d - r - 1) * sizeof m[0]);
            depth[side]--;
        } else if ((kind < deletes_pct + inserts_pct && d < LEVELS + 50) || d < LEVELS - 50) {
            /* a free tick just in front of level r (improving the best when
             * r is 0 and the spread has room), else the first one behind it */
            int64_t front = m[r] - dir * TICK, other = model[!side][0];
            size_t at;
            if (r ? m[r - 1] != front : (side == RF_BOOK_BID ? front < other : front > other)) {
                at = r;
                o.price = front;
            } else {
                size_t k = r;
                while (k + 1 < d && (m[k + 1] - m[k]) * dir == TICK) k++;
                at = k + 1;
                o.price = m[k] + dir * TICK;
            }
            if (at < d) {
                memmove(&m[at + 1], &m[at], (d - at) * sizeof m[0]);
                m[at] = o.price;
                depth[side]++;
            } else {
                o.price = m[r];
            }
        }
        ops[i] = o;
    }
}

#define BATCH 16

static void bench_apply(const char *mix, int inserts_pct, int deletes_pct, uint64_t overhead)
{
    static op ops[OPS];
    static hist one, batch;
    generate(ops, OPS, inserts_pct, deletes_pct);
    double wall_ns = 0;
    rf_book_info info;
    for (int pass = 0; pass < 4; pass++) {
        rf_book *b = snapshot_book();
        if (pass == 0) { /* warm-up: caches, branch predictors, pages */
            for (int i = 0; i < OPS; i++) rf_book_set(b, ops[i].side, ops[i].price, ops[i].qty);
        } else if (pass == 1) { /* the whole run, no timer inside */
            uint64_t t0 = rf_bench_now_ns();
            for (int i = 0; i < OPS; i++) rf_book_set(b, ops[i].side, ops[i].price, ops[i].qty);
            wall_ns = (double)(rf_bench_now_ns() - t0) / OPS;
        } else if (pass == 2) { /* each op between fences */
            memset(&one, 0, sizeof one);
            for (int i = 0; i < OPS; i++) {
                const op *o = &ops[i];
                uint64_t a = t_start();
                rf_book_set(b, o->side, o->price, o->qty);
                uint64_t d = t_stop() - a;
                h_add(&one, d > overhead ? d - overhead : 0);
            }
        } else { /* batches of 16 consecutive ops, the mean per op of each */
            memset(&batch, 0, sizeof batch);
            for (int i = 0; i < OPS; i += BATCH) {
                uint64_t a = t_start();
                for (int j = i; j < i + BATCH; j++) rf_book_set(b, ops[j].side, ops[j].price, ops[j].qty);
                uint64_t d = t_stop() - a;
                d = d > overhead ? d - overhead : 0;
                h_add(&batch, (d + BATCH / 2) / BATCH);
            }
        }
        rf_book_get_info(b, &info);
        rf_book_destroy(b);
    }
    double c = 1 / tsc_ghz;
    printf("  %-8s (%d%% new prices, %d%% deletes; the book ends at %u/%u levels): %.1f ns/op over the run\n", mix,
           inserts_pct, deletes_pct, info.bid_depth, info.ask_depth, wall_ns);
    printf("    one op:       median %5.1f ns, p90 %5.1f, p99 %5.1f, p99.9 %6.1f, max %.0f\n",
           h_quantile(&one, 0.5) * c, h_quantile(&one, 0.9) * c, h_quantile(&one, 0.99) * c,
           h_quantile(&one, 0.999) * c, (double)one.max * c);
    printf("    16-op batches: median %5.1f ns, p90 %5.1f, p99 %5.1f, p99.9 %6.1f, max %.0f (per op)\n",
           h_quantile(&batch, 0.5) * c, h_quantile(&batch, 0.9) * c, h_quantile(&batch, 0.99) * c,
           h_quantile(&batch, 0.999) * c, (double)batch.max * c);
}

/* Quantity changes only, at a given distance from the top: the cost by
 * class, ops run back to back (throughput, no timer inside). */
static void bench_ranks(void)
{
    static op ops[1 << 20];
    static rf_book_level lv[2][LEVELS];
    static const size_t lo[] = {0, 0, 10, 50, 500}, hi[] = {1, 10, 50, 500, LEVELS - 100};
    rf_book *b = snapshot_book();
    rf_book_levels(b, RF_BOOK_BID, LEVELS, lv[0]);
    rf_book_levels(b, RF_BOOK_ASK, LEVELS, lv[1]);
    printf("    quantity changes by distance from the top (ns/op, back to back):");
    for (int k = 0; k < 5; k++) {
        for (int i = 0; i < 1 << 20; i++) {
            int side = (int)(rng() & 1);
            size_t r = lo[k] + (size_t)(rng() % (hi[k] - lo[k]));
            ops[i] = (op){lv[side][r].price, (int64_t)(rng() % 5000000000000u) + 1, side};
        }
        double best = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            uint64_t t0 = rf_bench_now_ns();
            for (int i = 0; i < 1 << 20; i++) rf_book_set(b, ops[i].side, ops[i].price, ops[i].qty);
            double ns = (double)(rf_bench_now_ns() - t0) / (1 << 20);
            if (ns < best) best = ns;
        }
        printf("%s %zu-%zu: %.1f", k ? "," : "", lo[k], hi[k] - 1, best);
    }
    printf(" (best of 5)\n");
    rf_book_destroy(b);
}

/* ---- the other operations: median of runs of many calls -------------------- */

typedef struct ctx {
    rf_book *b;
    int calls;
    size_t n;
    int64_t qty;
    uint64_t sink;
} ctx;

static void run_best(void *p)
{
    ctx *x = p;
    rf_book_level l;
    for (int i = 0; i < x->calls; i++) {
        rf_book_best(x->b, i & 1, &l);
        x->sink += (uint64_t)l.price;
    }
}

static void run_market(void *p)
{
    ctx *x = p;
    rf_book_fill f;
    for (int i = 0; i < x->calls; i++) {
        rf_book_market_order(x->b, i & 1, x->qty, &f);
        x->sink += f.levels;
    }
}

static void run_levels(void *p)
{
    ctx *x = p;
    static rf_book_level out[1000];
    for (int i = 0; i < x->calls; i++) {
        x->sink += (uint64_t)rf_book_levels(x->b, i & 1, x->n, out);
        rf_bench_clobber(out);
    }
}

static void run_checksum(void *p)
{
    ctx *x = p;
    uint32_t crc;
    for (int i = 0; i < x->calls; i++) {
        rf_book_checksum(x->b, x->n, &crc);
        x->sink += crc;
    }
}

static void run_snapshot(void *p)
{
    ctx *x = p;
    for (int i = 0; i < x->calls; i++) x->sink += (uint64_t)rf_book_load_snapshot(x->b, i, snap[0], LEVELS, snap[1], LEVELS);
}

static void run_spread_mid(void *p)
{
    ctx *x = p;
    int64_t s;
    rf_decimal m;
    for (int i = 0; i < x->calls; i++) {
        rf_book_spread(x->b, &s);
        rf_book_mid(x->b, &m);
        x->sink += (uint64_t)(s + m.mantissa);
    }
}

static double per_call(void (*fn)(void *), ctx *x)
{
    return rf_bench_median_ns(15, fn, x) / x->calls;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE) / 1024;
}

int main(void)
{
    rf_bench_header("rf_book", "one thread; 5000 levels a side, 8 decimals");
    make_snapshot();
    measure_tsc();
    uint64_t overhead = timer_overhead();
    bench_apply("recorded", 2, 2, overhead);
    bench_apply("churn", 10, 10, overhead);
    bench_ranks();

    ctx x = {snapshot_book(), 1 << 20, 0, 0, 0};
    printf("    rf_book_best (bid, ask alternating): %.2f ns per call\n", per_call(run_best, &x));
    printf("    rf_book_spread + rf_book_mid: %.2f ns per pair\n", per_call(run_spread_mid, &x));
    /* a market order that takes 10 levels: the first 9 whole and half the 10th */
    rf_book_level top[10];
    rf_book_levels(x.b, RF_BOOK_ASK, 10, top);
    int64_t q = top[9].qty / 2;
    for (int i = 0; i < 9; i++) q += top[i].qty;
    rf_book_levels(x.b, RF_BOOK_BID, 10, top);
    int64_t qb = top[9].qty / 2;
    for (int i = 0; i < 9; i++) qb += top[i].qty;
    x.qty = q < qb ? q : qb; /* 10 levels on one side, 10 or fewer ... */
    rf_book_fill f;
    rf_book_market_order(x.b, RF_BOOK_ASK, x.qty, &f);
    unsigned la = f.levels;
    rf_book_market_order(x.b, RF_BOOK_BID, x.qty, &f);
    x.calls = 1 << 18;
    printf("    rf_book_market_order over %u/%u levels (ask/bid): %.1f ns per call\n", la, f.levels,
           per_call(run_market, &x));
    x.n = 10;
    printf("    rf_book_levels top 10: %.1f ns", per_call(run_levels, &x));
    x.n = 100;
    x.calls = 1 << 15;
    printf(", top 100: %.1f ns", per_call(run_levels, &x));
    x.n = 1000;
    x.calls = 1 << 12;
    printf(", top 1000: %.0f ns\n", per_call(run_levels, &x));
    x.n = 10;
    x.calls = 1 << 14;
    printf("    rf_book_checksum top 10 (20 levels as text, CRC-32): %.0f ns\n", per_call(run_checksum, &x));
    x.calls = 64;
    double load = per_call(run_snapshot, &x);
    printf("    rf_book_load_snapshot, 5000 + 5000 levels: %.1f us (%.1f ns a level)\n", load / 1000,
           load / (2 * LEVELS));
    rf_book_destroy(x.b);

    /* memory: what create allocates, and what 100 books of 5000 levels a
     * side really occupy */
    rf_book_info info;
    for (int k = 0; k < 2; k++) {
        rf_book *b;
        rf_book_config cfg = {8, 8, k ? LEVELS : 0};
        rf_book_create(&b, &cfg);
        rf_book_get_info(b, &info);
        printf("    memory: %zu bytes allocated for max_levels %u", info.memory_bytes, info.max_levels);
        printf(k ? "\n" : ";");
        rf_book_destroy(b);
    }
    enum { BOOKS = 100 };
    static rf_book *books[BOOKS];
    long before = rss_kib();
    for (int i = 0; i < BOOKS; i++) {
        rf_book_config cfg = {8, 8, 0};
        rf_book_create(&books[i], &cfg);
        rf_book_load_snapshot(books[i], 1, snap[0], LEVELS, snap[1], LEVELS);
    }
    long after = rss_kib();
    printf("    RSS growth for %d books of 5000 levels a side (max_levels 10000): %.0f KiB a book "
           "(levels alone: %zu KiB)\n",
           BOOKS, (double)(after - before) / BOOKS, (size_t)2 * LEVELS * 16 / 1024);
    for (int i = 0; i < BOOKS; i++) rf_book_destroy(books[i]);
    if (x.sink == 42) printf(" ");
    return 0;
}
