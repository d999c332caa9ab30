/* rf_book against a plain reference (book_reference.h): hundreds of
 * thousands of seeded random sets, deletes and clears with a realistic
 * clustering near the top, after which every query must agree with the
 * reference; plus the edges: empty sides, one level, crossing updates, the
 * max-level bound, the smallest and largest prices, rescaled texts, and
 * the checksum against a value computed with Python's zlib.crc32. */
#include <math.h>
#include <string.h>

#include "book_internal.h"
#include "book_reference.h"
#include "check.h"
#include "ringfeed/book.h"
#include "ringfeed/error.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Du;

/* splitmix64: deterministic, so a failure reproduces. */
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static rf_book *make(unsigned ps, unsigned qs, uint32_t max)
{
    rf_book *b = NULL;
    rf_book_config cfg = {(uint8_t)ps, (uint8_t)qs, max};
    CHECK_EQ(rf_book_create(&b, &cfg), 0);
    return b;
}

static int close_to(double a, double b, double rel)
{
    if (a == b) return 1;
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b));
}

static double pow10d(unsigned k)
{
    double p = 1;
    while (k--) p *= 10;
    return p;
}

/* Every query of the book against the reference. `full` adds the whole
 * level lists, the iterator, and the layout invariants. */
static void compare(const rf_book *b, const ref_book *r, int full, int state)
{
    static rf_book_level got[RF_BOOK_MAX_MAX_LEVELS / 64];
    CHECK_EQ(rf_book_state(b), state);
    for (int side = 0; side < 2; side++) {
        size_t n = r->n[side];
        const ref_level *l = r->side[side];
        CHECK_EQ(rf_book_depth(b, side), n);
        rf_book_level best = {0, 0};
        int e = rf_book_best(b, side, &best);
        if (!n) {
            CHECK_EQ(e, RF_EEMPTY);
        } else {
            CHECK_EQ(e, state);
            CHECK_EQ(best.price, l[0].price);
            CHECK_EQ(best.qty, l[0].qty);
        }
        size_t want = full ? n + 3 : (size_t)(rng() % 40);
        if (want > sizeof got / sizeof got[0]) want = sizeof got / sizeof got[0];
        int c = rf_book_levels(b, side, want, got);
        CHECK_EQ(c, want < n ? want : n);
        for (int i = 0; i < c; i++) {
            if (got[i].price != l[i].price || got[i].qty != l[i].qty) {
                CHECK_EQ(got[i].price, l[i].price);
                CHECK_EQ(got[i].qty, l[i].qty);
                break;
            }
        }
        if (full) {
            rf_book_iter it;
            rf_book_iter_init(&it, b, side);
            size_t k = 0;
            rf_book_level x;
            while (rf_book_iter_next(&it, &x)) {
                if (k >= n || x.price != l[k].price || x.qty != l[k].qty) break;
                k++;
            }
            CHECK_EQ(k, n);
            CHECK_EQ(rf_book_iter_next(&it, &x), 0);
        }
        for (int t = 0; t < 3; t++) {
            size_t i = n ? (size_t)(rng() % (n + 2)) : 0;
            rf_book_level x;
            e = rf_book_level_at(b, side, i, &x);
            if (i >= n) {
                CHECK_EQ(e, RF_EEMPTY);
            } else {
                CHECK_EQ(e, state);
                CHECK(x.price == l[i].price && x.qty == l[i].qty);
            }
        }
        size_t nv = (size_t)(full && rng() % 2 ? SIZE_MAX : rng() % 60);
        int64_t vol = -1;
        __int128 rv = ref_volume(r, side, nv);
        e = rf_book_volume_levels(b, side, nv, &vol);
        if (rv > INT64_MAX) {
            CHECK_EQ(e, RF_EOVERFLOW);
        } else {
            CHECK_EQ(e, state);
            CHECK_EQ(vol, (int64_t)rv);
        }
        /* near the mid, except in full checks */
        int64_t spread = r->n[0] && r->n[1] ? r->side[1][0].price - r->side[0][0].price : 1;
        int64_t d = (int64_t)(full ? rng() % 1000000000000u : rng() % (uint64_t)(64 * spread + 1));
        e = rf_book_volume_within(b, side, d, &vol);
        if (!r->n[0] || !r->n[1]) {
            CHECK_EQ(e, RF_EEMPTY);
        } else {
            rv = ref_volume_within(r, side, d);
            if (rv > INT64_MAX) {
                CHECK_EQ(e, RF_EOVERFLOW);
            } else {
                CHECK_EQ(e, state);
                CHECK_EQ(vol, (int64_t)rv);
            }
        }
        for (int t = 0; t < 2; t++) {
            int64_t q;
            switch (rng() % 4) {
            case 0: q = 1; break;
            case 1: q = n ? l[0].qty : 1; break;
            case 2: q = (int64_t)(rng() % 4000000000000u) + 1; break;
            default: q = full ? INT64_MAX : 1000; break;
            }
            rf_book_fill f;
            e = rf_book_market_order(b, side, q, &f);
            if (!n) {
                CHECK_EQ(e, RF_EEMPTY);
                CHECK_EQ(f.exhausted, 1);
                CHECK_EQ(f.filled, 0);
                continue;
            }
            ref_fill rf = ref_market(r, side, q);
            CHECK_EQ(e, state);
            CHECK_EQ(f.filled, rf.filled);
            CHECK(f.notional_lo == (uint64_t)rf.notional && f.notional_hi == (int64_t)(rf.notional >> 64));
            CHECK_EQ(f.levels, rf.levels);
            CHECK_EQ(f.exhausted, rf.exhausted);
            CHECK_EQ(f.best_price, l[0].price);
            CHECK_EQ(f.worst_price, rf.worst);
            double avg_ticks = (double)((long double)rf.notional / rf.filled);
            CHECK(close_to(f.avg_price, avg_ticks / pow10d(r->price_scale), 1e-12));
            CHECK(close_to(f.notional, (double)rf.notional / pow10d(r->price_scale + r->qty_scale), 1e-12));
            double slip = side == RF_BOOK_ASK ? avg_ticks - (double)l[0].price : (double)l[0].price - avg_ticks;
            CHECK(f.slippage_ticks >= 0 && close_to(f.slippage_ticks, slip, 1e-9) ||
                  fabs(f.slippage_ticks - slip) < 1e-6);
            CHECK(close_to(f.slippage_bps, slip / (double)l[0].price * 1e4, 1e-9) ||
                  fabs(f.slippage_bps - slip / (double)l[0].price * 1e4) < 1e-9);
        }
    }
    int64_t spread = 0;
    rf_decimal mid = {0, 0};
    double micro = 0;
    if (!r->n[0] || !r->n[1]) {
        CHECK_EQ(rf_book_spread(b, &spread), RF_EEMPTY);
        CHECK_EQ(rf_book_mid(b, &mid), RF_EEMPTY);
        CHECK_EQ(rf_book_microprice(b, &micro), RF_EEMPTY);
    } else {
        const ref_level *bid = &r->side[0][0], *ask = &r->side[1][0];
        CHECK_EQ(rf_book_spread(b, &spread), state);
        CHECK_EQ(spread, ask->price - bid->price);
        CHECK_EQ(rf_book_mid(b, &mid), state);
        CHECK_EQ(mid.mantissa, (bid->price + ask->price) * 5);
        CHECK_EQ(mid.scale, r->price_scale + 1);
        CHECK_EQ(rf_book_microprice(b, &micro), state);
        long double m = ((long double)bid->price * ask->qty + (long double)ask->price * bid->qty) /
                        ((long double)bid->qty + ask->qty);
        CHECK(close_to(micro, (double)(m / pow10d(r->price_scale)), 1e-12));
    }
    size_t ni = (size_t)(rng() % 30);
    __int128 vb = ref_volume(r, 0, ni), va = ref_volume(r, 1, ni);
    double imb = 0;
    int e = rf_book_imbalance(b, ni, &imb);
    if (!vb && !va) {
        CHECK_EQ(e, RF_EEMPTY);
    } else {
        CHECK_EQ(e, state);
        CHECK(close_to(imb, (double)((long double)(vb - va) / (long double)(vb + va)), 1e-12) ||
              fabs(imb) < 1e-12);
    }
    size_t nc = full ? SIZE_MAX : (size_t)(rng() % 3 == 0 ? 10 : rng() % 40);
    uint32_t crc = 1;
    CHECK_EQ(rf_book_checksum(b, nc, &crc), state);
    CHECK_EQ(crc, ref_checksum(r, nc));
    if (full) CHECK_EQ(rf__book_check(b), 0);
}

/* Distance from the top of the book, in ticks: mostly the first levels,
 * a tail reaching deep into the book. */
static int64_t distance(void)
{
    uint64_t x = rng() % 100;
    if (x < 60) return (int64_t)(rng() % 16);
    if (x < 85) return (int64_t)(rng() % 200);
    if (x < 97) return (int64_t)(rng() % 5000);
    return (int64_t)(rng() % 40000);
}

static int64_t quantity(void)
{
    uint64_t x = rng() % 100;
    if (x < 70) return (int64_t)(rng() % 100000) + 1;
    if (x < 98) return (int64_t)(rng() % 1000000000000u) + 1;
    return (int64_t)(rng() % 4000000000000000000u) + 1; /* sums overflow int64 */
}

/* Random operations with bids below `mid` and asks at or above it (so the
 * book never crosses), `tick` apart, checked against the reference. */
static void random_run(const char *name, unsigned ps, unsigned qs, uint32_t max, int64_t mid, int64_t tick,
                       long ops, int deletes, long clears, int prefill)
{
    rf_book *b = make(ps, qs, max);
    ref_book r;
    ref_init(&r, max ? max : RF_BOOK_DEFAULT_MAX_LEVELS, ps, qs);
    int state = RF_BOOK_EMPTY;
    long trims = 0;
    int avx2 = b->simd;
    if (prefill) {
        /* a deep snapshot, every other tick, through the bulk load */
        rf_bn_level *lv[2] = {calloc((size_t)prefill, sizeof(rf_bn_level)),
                              calloc((size_t)prefill, sizeof(rf_bn_level))};
        for (int side = 0; side < 2; side++)
            for (int i = 0; i < prefill; i++) {
                int64_t price = side == 0 ? mid - tick - 2 * i * tick : mid + 2 * i * tick, qty = quantity();
                lv[side][i] = (rf_bn_level){{price, (uint8_t)ps}, {qty, (uint8_t)qs}};
                trims += ref_set(&r, side, price, qty);
            }
        CHECK_EQ(rf_book_load_snapshot(b, 1, lv[0], (size_t)prefill, lv[1], (size_t)prefill),
                 trims ? RF_BOOK_TRIMMED : RF_BOOK_APPLIED);
        state = RF_BOOK_SYNCING;
        compare(b, &r, 1, state);
        free(lv[0]);
        free(lv[1]);
    }
    for (long op = 0; op < ops; op++) {
        int side = (int)(rng() & 1);
        uint64_t kind = rng() % 1000;
        if (clears && rng() % (uint64_t)(ops / clears) == 0) {
            rf_book_clear(b);
            ref_clear(&r);
            state = RF_BOOK_EMPTY;
            continue;
        }
        int64_t price, qty;
        if (kind < 300 && r.n[side]) {
            /* delete or change an existing level, mostly near the top */
            size_t i = (size_t)distance();
            if (i >= r.n[side]) i = (size_t)(rng() % r.n[side]);
            price = r.side[side][i].price;
            qty = (int)kind < deletes ? 0 : quantity();
        } else {
            int64_t d = distance();
            price = side == 0 ? mid - tick - d * tick : mid + d * tick;
            qty = rng() % 10 == 0 ? 0 : quantity();
        }
        /* both block searches, AVX2 and portable, on the same book */
        b->simd = avx2 && (rng() & 1);
        int want = ref_set(&r, side, price, qty);
        trims += want;
        int e;
        if (rng() % 4 == 0) {
            rf_bn_level lv = {{price, (uint8_t)ps}, {qty, (uint8_t)qs}};
            e = rf_book_apply(b, side == 0 ? &lv : NULL, side == 0, side == 1 ? &lv : NULL, side == 1);
        } else {
            e = rf_book_set(b, side, price, qty);
        }
        CHECK_EQ(e, want ? RF_BOOK_TRIMMED : RF_BOOK_APPLIED);
        if (state == RF_BOOK_EMPTY) state = RF_BOOK_LIVE;
        if (op % 2000 == 0 || op == ops - 1)
            compare(b, &r, 1, state);
        else if (op % 7 == 0)
            compare(b, &r, 0, state);
        if (rf_test_failures > 20) break;
    }
    rf_book_info info;
    rf_book_get_info(b, &info);
    CHECK_EQ(info.trimmed, trims);
    printf("  %s: %ld ops, final depth %zu/%zu, %ld trimmed, %zu bytes\n", name, ops, r.n[0], r.n[1], trims,
           info.memory_bytes);
    ref_free(&r);
    rf_book_destroy(b);
}

static void test_empty_and_one(void)
{
    rf_book *b = make(8, 8, 0);
    ref_book r;
    ref_init(&r, RF_BOOK_DEFAULT_MAX_LEVELS, 8, 8);
    CHECK_EQ(rf_book_state(b), RF_BOOK_EMPTY);
    compare(b, &r, 1, RF_BOOK_EMPTY);
    uint32_t crc = 7;
    CHECK_EQ(rf_book_checksum(b, 10, &crc), RF_BOOK_EMPTY);
    CHECK_EQ(crc, 0);
    rf_book_fill f;
    CHECK_EQ(rf_book_market_order(b, RF_BOOK_ASK, 0, &f), RF_EINVAL);
    CHECK_EQ(rf_book_market_order(b, 2, 1, &f), RF_EINVAL);
    CHECK_EQ(rf_book_best(b, 2, &(rf_book_level){0, 0}), RF_EINVAL);
    CHECK_EQ(rf_book_depth(b, -1), RF_EINVAL);

    /* deleting a level that is not there: nothing changes */
    CHECK_EQ(rf_book_set(b, RF_BOOK_BID, 100, 0), 0);
    CHECK_EQ(rf_book_depth(b, RF_BOOK_BID), 0);

    CHECK_EQ(rf_book_set(b, RF_BOOK_BID, 35210000, 67200000000), 0);
    ref_set(&r, 0, 35210000, 67200000000);
    compare(b, &r, 1, RF_BOOK_LIVE);
    /* one level per side */
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 35290000, 1096800000000), 0);
    ref_set(&r, 1, 35290000, 1096800000000);
    compare(b, &r, 1, RF_BOOK_LIVE);
    rf_decimal mid;
    CHECK_EQ(rf_book_mid(b, &mid), 0);
    char text[RF_DECIMAL_MAX_TEXT];
    rf_decimal_format(mid, text, sizeof text);
    CHECK(strcmp(text, "0.352500000") == 0);
    /* a market order bigger than the side */
    CHECK_EQ(rf_book_market_order(b, RF_BOOK_ASK, 2000000000000, &f), 0);
    CHECK(f.exhausted == 1 && f.filled == 1096800000000 && f.levels == 1 && f.slippage_ticks == 0);
    CHECK(f.avg_price == 0.3529);
    /* delete back to empty */
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 35290000, 0), 0);
    CHECK_EQ(rf_book_set(b, RF_BOOK_BID, 35210000, 0), 0);
    ref_clear(&r);
    compare(b, &r, 1, RF_BOOK_LIVE);
    ref_free(&r);
    rf_book_destroy(b);
}

static void test_crossing(void)
{
    rf_book *b = make(4, 0, 0);
    CHECK_EQ(rf_book_set(b, RF_BOOK_BID, 76110, 6), 0);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 76120, 297), 0);
    /* a bid at the ask: crossed (a locked book is not a state the exchange shows) */
    CHECK_EQ(rf_book_set(b, RF_BOOK_BID, 76120, 1), RF_ECROSSED);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    rf_book_level l;
    CHECK_EQ(rf_book_best(b, RF_BOOK_BID, &l), RF_BOOK_STALE);
    CHECK_EQ(l.price, 76120); /* the contents reflect the update */
    int64_t spread;
    CHECK_EQ(rf_book_spread(b, &spread), RF_BOOK_STALE);
    CHECK_EQ(spread, 0);
    /* undoing it does not make the book live again: it must be reloaded */
    CHECK_EQ(rf_book_set(b, RF_BOOK_BID, 76120, 0), 0);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    rf_book_clear(b);
    CHECK_EQ(rf_book_state(b), RF_BOOK_EMPTY);
    CHECK_EQ(rf_book_depth(b, RF_BOOK_BID) + rf_book_depth(b, RF_BOOK_ASK), 0);

    /* a batch whose steps cross but whose end does not is fine: the new
     * bid comes first, the ask it crosses is removed after it */
    CHECK_EQ(rf_book_set(b, RF_BOOK_BID, 76110, 6), 0);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 76120, 297), 0);
    rf_bn_level bids[] = {{{76120, 4}, {5, 0}}};
    rf_bn_level asks[] = {{{76120, 4}, {0, 0}}, {{76130, 4}, {10, 0}}};
    CHECK_EQ(rf_book_apply(b, bids, 1, asks, 2), 0);
    CHECK_EQ(rf_book_state(b), RF_BOOK_LIVE);
    CHECK_EQ(rf_book_spread(b, &spread), 0);
    CHECK_EQ(spread, 10);
    /* and one that ends crossed is not */
    rf_bn_level bids2[] = {{{76140, 4}, {5, 0}}};
    CHECK_EQ(rf_book_apply(b, bids2, 1, NULL, 0), RF_ECROSSED);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    rf_book_destroy(b);
}

static void test_bound(void)
{
    /* max_levels 3: the best three stay */
    rf_book *b = make(2, 0, 3);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 100, 1), 0);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 102, 1), 0);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 104, 1), 0);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 106, 1), RF_BOOK_TRIMMED); /* worse than all: not stored */
    CHECK_EQ(rf_book_depth(b, RF_BOOK_ASK), 3);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 104, 9), 0);               /* an update at the bound */
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 101, 1), RF_BOOK_TRIMMED); /* evicts 104 */
    rf_book_level l[4];
    CHECK_EQ(rf_book_levels(b, RF_BOOK_ASK, 4, l), 3);
    CHECK(l[0].price == 100 && l[1].price == 101 && l[2].price == 102);
    rf_book_info info;
    rf_book_get_info(b, &info);
    CHECK_EQ(info.trimmed, 2);
    CHECK_EQ(info.max_levels, 3);
    /* a snapshot larger than the bound keeps its best levels */
    rf_bn_level snap[5] = {
        {{100, 2}, {1, 0}}, {{101, 2}, {2, 0}}, {{102, 2}, {3, 0}}, {{103, 2}, {4, 0}}, {{104, 2}, {5, 0}},
    };
    CHECK_EQ(rf_book_load_snapshot(b, 7, NULL, 0, snap, 5), RF_BOOK_TRIMMED);
    CHECK_EQ(rf_book_levels(b, RF_BOOK_ASK, 4, l), 3);
    CHECK(l[0].price == 100 && l[2].price == 102 && l[2].qty == 3);
    CHECK_EQ(rf__book_check(b), 0);
    rf_book_destroy(b);

    rf_book_config bad = {8, 8, RF_BOOK_MAX_MAX_LEVELS + 1};
    CHECK_EQ(rf_book_create(&b, &bad), RF_EINVAL);
    CHECK(b == NULL);
    bad = (rf_book_config){18, 8, 0}; /* the mid would need 19 decimals */
    CHECK_EQ(rf_book_create(&b, &bad), RF_EINVAL);
    bad = (rf_book_config){17, 18, RF_BOOK_MAX_MAX_LEVELS};
    CHECK_EQ(rf_book_create(&b, &bad), 0);
    rf_book_destroy(b);
}

static void test_extreme_prices(void)
{
    /* 0.00000001 and 9,999,999.99999999 in one book at 8 decimals */
    rf_book *b = make(8, 8, 0);
    const int64_t lo = 1, hi = 999999999999999;
    CHECK_EQ(rf_book_set(b, RF_BOOK_BID, lo, 100000000), 0);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, hi, 1), 0);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, RF_BOOK_MAX_PRICE, 1), 0);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, RF_BOOK_MAX_PRICE + 1, 1), RF_EOVERFLOW);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 0, 1), RF_EINVAL);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, -5, 1), RF_EINVAL);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, 5, -1), RF_EINVAL);
    CHECK_EQ(rf_book_set(b, 2, 5, 1), RF_EINVAL);
    int64_t spread;
    CHECK_EQ(rf_book_spread(b, &spread), 0);
    CHECK_EQ(spread, hi - lo);
    rf_decimal mid;
    CHECK_EQ(rf_book_mid(b, &mid), 0);
    char text[RF_DECIMAL_MAX_TEXT];
    rf_decimal_format(mid, text, sizeof text);
    CHECK(strcmp(text, "5000000.000000000") == 0);
    uint32_t crc;
    CHECK_EQ(rf_book_checksum(b, 1, &crc), 0);
    /* python3 -c 'import zlib; print(zlib.crc32(b"0.00000001:1.00000000,9999999.99999999:0.00000001"))' */
    CHECK_EQ(crc, 2899028491u);
    rf_book_fill f;
    CHECK_EQ(rf_book_market_order(b, RF_BOOK_ASK, 2, &f), 0);
    __int128 want = (__int128)hi + RF_BOOK_MAX_PRICE;
    CHECK(f.notional_lo == (uint64_t)want && f.notional_hi == 0 && f.levels == 2);
    CHECK_EQ(f.worst_price, RF_BOOK_MAX_PRICE);
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, RF_BOOK_MAX_PRICE, 0), 0);
    /* the largest quantities: the notional passes 2^64 and is still exact */
    CHECK_EQ(rf_book_set(b, RF_BOOK_ASK, hi, INT64_MAX), 0);
    CHECK_EQ(rf_book_market_order(b, RF_BOOK_ASK, INT64_MAX, &f), 0);
    want = (__int128)hi * INT64_MAX;
    CHECK(f.notional_lo == (uint64_t)want && f.notional_hi == (int64_t)(want >> 64) && !f.exhausted);
    CHECK_EQ(rf__book_check(b), 0);
    rf_book_destroy(b);
}

static rf_decimal dec(const char *s)
{
    rf_decimal d = {0, 0};
    CHECK_EQ(rf_decimal_parse(s, strlen(s), &d), 0);
    return d;
}

static void test_decimals(void)
{
    /* SUSHIUSDT futures: prices at 4 decimals, whole quantities */
    rf_book *b = make(4, 0, 0);
    CHECK_EQ(rf_book_set_decimal(b, RF_BOOK_BID, dec("7.6110"), dec("6")), 0);
    CHECK_EQ(rf_book_set_decimal(b, RF_BOOK_BID, dec("7.60900"), dec("2.0")), 0); /* zeros: exact */
    CHECK_EQ(rf_book_set_decimal(b, RF_BOOK_BID, dec("7.6"), dec("3")), 0);        /* fewer decimals */
    CHECK_EQ(rf_book_set_decimal(b, RF_BOOK_BID, dec("7.60851"), dec("1")), RF_EDECIMAL);
    CHECK_EQ(rf_book_set_decimal(b, RF_BOOK_BID, dec("7.6085"), dec("1.5")), RF_EDECIMAL);
    CHECK_EQ(rf_book_set_decimal(b, RF_BOOK_BID, dec("922337203685477.5807"), dec("1")), RF_EOVERFLOW);
    CHECK_EQ(rf_book_set_decimal(b, RF_BOOK_BID, dec("9223372036854775807"), dec("1")), RF_EOVERFLOW);
    CHECK_EQ(rf_book_set_decimal(b, RF_BOOK_BID, dec("-7.6"), dec("1")), RF_EINVAL);
    CHECK_EQ(rf_book_set_decimal(b, RF_BOOK_BID, dec("7.6"), dec("-1")), RF_EINVAL);
    CHECK_EQ(rf_book_depth(b, RF_BOOK_BID), 3); /* errors changed nothing */
    rf_book_level l[3];
    CHECK_EQ(rf_book_levels(b, RF_BOOK_BID, 3, l), 3);
    CHECK(l[0].price == 76110 && l[0].qty == 6 && l[1].price == 76090 && l[1].qty == 2 && l[2].price == 76000);
    /* texts come back as the exchange writes them on this grid */
    const char *want[3][2] = {{"7.6110", "6"}, {"7.6090", "2"}, {"7.6000", "3"}};
    for (int i = 0; i < 3; i++) {
        rf_bn_level d;
        rf_book_level_decimal(b, l[i], &d);
        char p[RF_DECIMAL_MAX_TEXT], q[RF_DECIMAL_MAX_TEXT];
        rf_decimal_format(d.price, p, sizeof p);
        rf_decimal_format(d.quantity, q, sizeof q);
        CHECK(strcmp(p, want[i][0]) == 0 && strcmp(q, want[i][1]) == 0);
    }
    /* a batch with one bad level applies none of them */
    rf_bn_level batch[2] = {{dec("7.6120"), dec("5")}, {dec("7.61205"), dec("5")}};
    CHECK_EQ(rf_book_apply(b, NULL, 0, batch, 2), RF_EDECIMAL);
    CHECK_EQ(rf_book_depth(b, RF_BOOK_ASK), 0);
    CHECK_EQ(rf_book_apply(b, NULL, 1, NULL, 0), RF_EINVAL);
    /* checksum of the exchange texts:
     * python3 -c 'import zlib; print(zlib.crc32(b"7.6110:6,7.6090:2,7.6000:3"))' */
    uint32_t crc;
    CHECK_EQ(rf_book_checksum(b, 10, &crc), 0);
    CHECK_EQ(crc, 3002079231u);
    CHECK_EQ(rf_book_checksum(b, 0, &crc), 0);
    CHECK_EQ(crc, 0);
    rf_book_destroy(b);
}

/* Snapshots in an order other than the exchange's take the general path
 * and give the same book; zero quantities are skipped. */
static void test_snapshot_orders(void)
{
    enum { N = 700 };
    static rf_bn_level sorted[N], shuffled[N];
    for (int i = 0; i < N; i++) {
        sorted[i].price = (rf_decimal){1000000 - i * 7, 2};
        sorted[i].quantity = (rf_decimal){i % 50 == 3 ? 0 : i + 1, 0};
    }
    memcpy(shuffled, sorted, sizeof sorted);
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(rng() % (uint64_t)(i + 1));
        rf_bn_level t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
    }
    rf_book *a = make(2, 0, 0), *c = make(2, 0, 0);
    CHECK_EQ(rf_book_load_snapshot(a, 42, sorted, N, NULL, 0), 0);
    CHECK_EQ(rf_book_load_snapshot(c, 42, shuffled, N, NULL, 0), 0);
    CHECK_EQ(rf_book_state(a), RF_BOOK_SYNCING);
    CHECK_EQ(rf_book_last_update_id(a), 42);
    CHECK_EQ(rf_book_depth(a, RF_BOOK_BID), N - N / 50);
    uint32_t x, y;
    rf_book_checksum(a, SIZE_MAX, &x);
    rf_book_checksum(c, SIZE_MAX, &y);
    CHECK_EQ(x, y);
    CHECK_EQ(rf__book_check(a), 0);
    CHECK_EQ(rf__book_check(c), 0);
    /* every size around the block boundaries loads within the invariants */
    for (int n = 0; n <= 200; n++) {
        CHECK_EQ(rf_book_load_snapshot(a, 1, sorted, (size_t)n, NULL, 0), 0);
        CHECK_EQ(rf__book_check(a), 0);
    }
    /* a 0 in a snapshot is no level (it deletes nothing); of two levels
     * with the same price the later counts */
    rf_bn_level dup[] = {{{500, 2}, {1, 0}}, {{500, 2}, {0, 0}}, {{400, 2}, {3, 0}}, {{400, 2}, {4, 0}}};
    CHECK_EQ(rf_book_load_snapshot(a, 9, dup, 4, NULL, 0), 0);
    rf_book_level l[3];
    CHECK_EQ(rf_book_levels(a, RF_BOOK_BID, 3, l), 2);
    CHECK(l[0].price == 500 && l[0].qty == 1 && l[1].price == 400 && l[1].qty == 4);
    rf_bn_level two[] = {{{500, 2}, {1, 0}}, {{500, 2}, {0, 0}}}; /* one non-zero level: the sorted path */
    CHECK_EQ(rf_book_load_snapshot(a, 9, two, 2, NULL, 0), 0);
    CHECK_EQ(rf_book_levels(a, RF_BOOK_BID, 3, l), 1);
    CHECK(l[0].price == 500 && l[0].qty == 1);
    rf_book_destroy(a);
    rf_book_destroy(c);
}

int main(void)
{
    CHECK(strcmp(rf_strerror(RF_EGAP), "unknown error") != 0);
    CHECK(strcmp(rf_strerror(RF_ECROSSED), "unknown error") != 0);
    CHECK(strcmp(rf_strerror(RF_EEMPTY), "unknown error") != 0);
    test_empty_and_one();
    test_crossing();
    test_bound();
    test_extreme_prices();
    test_decimals();
    test_snapshot_orders();
    /* spot-like: 8 decimals, 0.0001 tick, deep (thousands of levels a side) */
    random_run("spot 8/8, deep", 8, 8, 0, 1000000000, 10000, 200000, 150, 0, 6000);
    /* futures-like: 4/0, bound of 300 levels a side (eviction) */
    random_run("futures 4/0, max 300", 4, 0, 300, 76110, 1, 100000, 240, 5, 1000);
    /* tiny bounds: every insert at the bound evicts or is dropped */
    random_run("max 1", 2, 0, 1, 500000, 1, 20000, 240, 5, 0);
    random_run("max 40", 2, 0, 40, 500000, 3, 40000, 240, 5, 0);
    TEST_DONE("test_book");
}
