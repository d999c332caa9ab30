/* The runtime-dispatched decimal paths against the portable ones: every
 * string and every depth message is read once with the AVX2 paths (when the
 * CPU has them) and once with the SSE2 and scalar ones, and the results
 * must agree exactly, and with the general scanner. The other decimal and
 * scanner tests run whichever path this CPU picks; this one runs both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binance_internal.h" /* rf__bn_scan_general */
#include "check.h"
#include "decimal_avx2.h"      /* rf__decimal_use_avx2 */
#include "ringfeed/binance.h"
#include "ringfeed/decimal.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static unsigned next(unsigned n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Mostly plain decimals of 1 to 20 bytes; sometimes a sign, a misplaced or
 * second point, or a stray byte. */
static size_t gen_with(char *w, int clean)
{
    size_t n = 1 + next(20), i = 0;
    if (next(8) == 0) w[i++] = '-';
    size_t dot = next(3) ? next((unsigned)n + 1) : n + 1;
    if (clean && n >= 3) dot = next(3) ? 1 + next((unsigned)n - 2) : n + 1;
    for (; i < n; i++) w[i] = i == dot ? '.' : (char)('0' + next(10));
    if (clean && w[0] == '-' && (n == 1 || w[1] == '.')) w[0] = '1';
    if (!clean && next(16) == 0) w[next((unsigned)n)] = "..-e x\"/:"[next(9)];
    return n;
}

static size_t gen(char *w) { return gen_with(w, 0); }

static int same(int ra, const rf_decimal *a, int rb, const rf_decimal *b)
{
    return ra == rb && (ra != 0 || (a->mantissa == b->mantissa && a->scale == b->scale));
}

static int has_avx2;

static void parse_both(const char *s, size_t n)
{
    rf_decimal a = {0, 0}, b = {0, 0};
    rf__decimal_use_avx2(1);
    int ra = rf_decimal_parse(s, n, &a);
    rf__decimal_use_avx2(0);
    int rb = rf_decimal_parse(s, n, &b);
    if (!same(ra, &a, rb, &b)) fprintf(stderr, "differs: \"%.*s\"\n", (int)n, s);
    CHECK(same(ra, &a, rb, &b));
}

/* A depthUpdate whose level texts are all plain decimals (clean) or may
 * hold anything gen() makes. */
static size_t depth(char *m, size_t cap, int levels, int clean)
{
    int o = snprintf(m, cap, "{\"e\":\"depthUpdate\",\"E\":1633998512068,\"s\":\"NKNUSDT\",\"U\":499869750,"
                             "\"u\":499869752,\"b\":[");
    for (int i = 0; i < levels; i++) {
        char p[32], q[32];
        size_t np = gen_with(p, clean), nq = gen_with(q, clean);
        o += snprintf(m + o, cap - (size_t)o, "%s[\"%.*s\",\"%.*s\"]", i ? "," : "", (int)np, p, (int)nq, q);
    }
    o += snprintf(m + o, cap - (size_t)o, "],\"a\":[[\"0.1\",\"2\"]]}");
    return (size_t)o;
}

static int scan_eq(const rf_bn_event *a, const rf_bn_level *la, const rf_bn_event *b, const rf_bn_level *lb)
{
    if (a->type != b->type || a->u.depth.bid_count != b->u.depth.bid_count ||
        a->u.depth.ask_count != b->u.depth.ask_count)
        return 0;
    for (size_t i = 0; i < a->u.depth.bid_count + a->u.depth.ask_count; i++)
        if (la[i].price.mantissa != lb[i].price.mantissa || la[i].price.scale != lb[i].price.scale ||
            la[i].quantity.mantissa != lb[i].quantity.mantissa || la[i].quantity.scale != lb[i].quantity.scale)
            return 0;
    return 1;
}

int main(void)
{
    has_avx2 = rf__decimal_use_avx2(1);
    if (!has_avx2) printf("(no AVX2 on this CPU: only the portable paths run)\n");

    /* Strings at every offset from a page start (where the AVX2 parser may
     * not read before the string), well inside a page, and at its end
     * (where it may not read after it). */
    char *page = aligned_alloc(4096, 8192);
    CHECK(page != NULL);
    if (!page) TEST_DONE("decimal_simd");
    memset(page, '7', 8192);
    for (int k = 0; k < 300000; k++) {
        char w[32];
        size_t n = gen(w);
        /* just after a page start, inside a page, and ending at most two
         * bytes before a page end */
        size_t at = k % 3 == 0 ? 4096 + (size_t)next(24) : k % 3 == 1 ? 2048 + (size_t)next(64)
                                                                     : 8192 - n - (size_t)next(3);
        memcpy(page + at, w, n);
        parse_both(page + at, n);
        CHECK_BAIL();
    }
    static const char *const edge[] = {"0", "-0", "-", ".", "1.", ".1", "-.1", "1..2", "1.2.3",
                                       "9999999999999999", "-999999999999999.9", "1234567890.123456",
                                       "00000000000000001", "0.0000000000000001", "--1", "1-"};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        memcpy(page + 4096, edge[i], strlen(edge[i]));
        parse_both(page + 4096, strlen(edge[i]));
        parse_both(edge[i], strlen(edge[i]));
    }
    free(page);

    /* Depth messages: the fast path with each decimal path, against the
     * general path. */
    static char m[4096];
    static rf_bn_level la[64], lb[64], lg[64];
    for (int k = 0; k < 20000; k++) {
        size_t n = depth(m, sizeof m, 1 + next(40), k % 4 != 0);
        rf_bn_event a, b, g;
        rf__decimal_use_avx2(1);
        int ra = rf_bn_scan((const uint8_t *)m, n, la, 64, &a);
        rf__decimal_use_avx2(0);
        int rb = rf_bn_scan((const uint8_t *)m, n, lb, 64, &b);
        int rg = rf__bn_scan_general((const uint8_t *)m, n, lg, 64, &g);
        CHECK_EQ(ra, rb);
        CHECK_EQ(ra, rg);
        if (ra == 0 && rb == 0 && rg == 0) {
            CHECK(scan_eq(&a, la, &b, lb));
            CHECK(scan_eq(&a, la, &g, lg));
        }
        CHECK_BAIL();
    }
    rf__decimal_use_avx2(1);
    TEST_DONE("decimal_simd");
}
