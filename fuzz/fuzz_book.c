/* libFuzzer harness for the order book. The input is a program: a config
 * (scales, a small max_levels so the bound is hit), then operations read
 * byte by byte: set and delete levels (in ticks or as decimals that may not
 * fit the grid), batches, snapshot loads (in any order, with duplicates
 * and zeros), depth diffs with fuzzed U/u/pu (spot and futures rules),
 * clear, mark_stale, and queries. After every operation:
 *   - the layout invariants hold (rf__book_check: sorted, no zero
 *     quantity, bounded count, pair sums, best cache);
 *   - the levels equal a plain reference book (Tests/c/book_reference.h)
 *     fed the same changes, and every query agrees with it;
 *   - the state and the result code equal an independent model of the
 *     synchronisation rules;
 *   - a LIVE or SYNCING book is never crossed. */
#include <string.h>

#include "../Tests/c/book_reference.h"
#include "book_internal.h"
#include "fuzz_common.h"
#include "ringfeed/book.h"
#include "ringfeed/error.h"

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static uint8_t byte(input *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

static uint64_t bytes(input *in, int k)
{
    uint64_t v = 0;
    for (int i = 0; i < k; i++) v = v << 8 | byte(in);
    return v;
}

/* Prices crowd a few hundred ticks (collisions, crossings), with the edges
 * of the valid range now and then. */
static int64_t price(input *in)
{
    uint8_t c = byte(in);
    switch (c >> 5) {
    case 0: return RF_BOOK_MAX_PRICE - (c & 3);
    case 1: return (int64_t)(c & 15) - 4; /* 0 and negatives: invalid */
    case 2: return (int64_t)bytes(in, 8);
    default: return 100 + (int64_t)byte(in) + (c & 3);
    }
}

static int64_t quantity(input *in)
{
    uint8_t c = byte(in);
    if (c < 64) return 0;
    if (c < 72) return INT64_MAX - (c & 7);
    if (c < 80) return -(int64_t)(c & 7) - 1;
    return (int64_t)bytes(in, c & 3) + 1;
}

/* A decimal around the grid: the book's scale, fewer or more digits. */
static rf_decimal decimal(input *in, int64_t v, unsigned scale)
{
    uint8_t c = byte(in);
    int shift = (int)(c % 5) - 2; /* -2..2 decimals off the grid */
    if ((int)scale + shift < 0 || scale + shift > RF_DECIMAL_MAX_SCALE) shift = 0;
    int64_t m = v;
    if (shift > 0) {
        for (int i = 0; i < shift; i++)
            if (__builtin_mul_overflow(m, 10, &m)) return (rf_decimal){v, (uint8_t)scale};
        if (c & 0x80) m += 1; /* a digit off the grid */
    } else {
        for (int i = 0; i < -shift; i++) m /= 10;
    }
    return (rf_decimal){m, (uint8_t)(scale + shift)};
}

/* rf_decimal_rescale's rule, written out: exact or an error. */
static int to_grid(rf_decimal d, unsigned scale, int64_t *out)
{
    int64_t m = d.mantissa;
    if (scale >= d.scale) {
        for (unsigned i = d.scale; i < scale; i++)
            if (__builtin_mul_overflow(m, 10, &m)) return RF_EOVERFLOW;
    } else {
        for (unsigned i = scale; i < d.scale; i++) {
            if (m % 10) return RF_EDECIMAL;
            m /= 10;
        }
    }
    *out = m;
    return 0;
}

static int level_error(int64_t p, int64_t q)
{
    if (p <= 0 || q < 0) return RF_EINVAL;
    if (p > RF_BOOK_MAX_PRICE) return RF_EOVERFLOW;
    return 0;
}

static int levels_error(const rf_bn_level *l, size_t n, unsigned ps, unsigned qs)
{
    for (size_t i = 0; i < n; i++) {
        int64_t p, q;
        int e = to_grid(l[i].price, ps, &p);
        if (!e) e = to_grid(l[i].quantity, qs, &q);
        if (!e) e = level_error(p, q);
        if (e) return e;
    }
    return 0;
}

/* Levels in order; a snapshot skips quantities of 0 instead of deleting. */
static int ref_apply(ref_book *r, int side, const rf_bn_level *l, size_t n, int snapshot)
{
    int trimmed = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t p, q;
        to_grid(l[i].price, r->price_scale, &p);
        to_grid(l[i].quantity, r->qty_scale, &q);
        if (q || !snapshot) trimmed |= ref_set(r, side, p, q);
    }
    return trimmed;
}

typedef struct model {
    int state;
    int64_t lid;
} model;

/* After a change by hand: crossed -> stale, empty -> live. */
static int settle(model *m, const ref_book *r, int code)
{
    if (ref_crossed(r)) {
        m->state = RF_BOOK_STALE;
        return RF_ECROSSED;
    }
    if (m->state == RF_BOOK_EMPTY) m->state = RF_BOOK_LIVE;
    return code;
}

static void compare(const rf_book *b, const ref_book *r, const model *m, input *in)
{
    REQUIRE(rf__book_check(b) == 0);
    REQUIRE(rf_book_state(b) == m->state);
    REQUIRE(rf_book_last_update_id(b) == m->lid);
    if (m->state == RF_BOOK_LIVE || m->state == RF_BOOK_SYNCING) REQUIRE(!ref_crossed(r));
    static rf_book_level got[70];
    for (int side = 0; side < 2; side++) {
        REQUIRE(rf_book_depth(b, side) == (int)r->n[side]);
        int c = rf_book_levels(b, side, 70, got);
        REQUIRE(c == (int)(r->n[side] < 70 ? r->n[side] : 70));
        for (int i = 0; i < c; i++)
            REQUIRE(got[i].price == r->side[side][i].price && got[i].qty == r->side[side][i].qty);
        rf_book_level best;
        int e = rf_book_best(b, side, &best);
        REQUIRE(r->n[side] ? e == m->state && best.price == got[0].price : e == RF_EEMPTY);
        int64_t q = (int64_t)bytes(in, 1) * 1000 + 1;
        rf_book_fill f;
        e = rf_book_market_order(b, side, q, &f);
        if (!r->n[side]) {
            REQUIRE(e == RF_EEMPTY && f.exhausted);
        } else {
            ref_fill want = ref_market(r, side, q);
            REQUIRE(e == m->state && f.filled == want.filled && f.levels == want.levels &&
                    f.exhausted == want.exhausted && f.worst_price == want.worst &&
                    f.notional_lo == (uint64_t)want.notional && f.notional_hi == (int64_t)(want.notional >> 64));
        }
        int64_t vol;
        __int128 rv = ref_volume(r, side, 10);
        e = rf_book_volume_levels(b, side, 10, &vol);
        REQUIRE(rv > INT64_MAX ? e == RF_EOVERFLOW : e == m->state && vol == (int64_t)rv);
    }
    uint32_t crc;
    REQUIRE(rf_book_checksum(b, 10, &crc) == m->state && crc == ref_checksum(r, 10));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    unsigned ps = byte(&in) % 9, qs = byte(&in) % 9;
    uint32_t max = byte(&in) % 80; /* 0: the default bound */
    rf_book_config cfg = {(uint8_t)ps, (uint8_t)qs, max};
    rf_book *b;
    REQUIRE(rf_book_create(&b, &cfg) == 0);
    b->simd = b->simd && (byte(&in) & 1); /* either block search */
    ref_book r;
    ref_init(&r, max ? max : RF_BOOK_DEFAULT_MAX_LEVELS, ps, qs);
    model m = {RF_BOOK_EMPTY, 0};
    rf_bn_level bids[24], asks[24];

    for (int ops = 0; in.n && ops < 400; ops++) {
        uint8_t op = byte(&in);
        int side = op >> 7;
        switch (op % 8) {
        case 0:
        case 1: { /* one level in ticks */
            int64_t p = price(&in), q = quantity(&in);
            int want = level_error(p, q);
            if (!want) want = settle(&m, &r, ref_set(&r, side, p, q) ? RF_BOOK_TRIMMED : RF_BOOK_APPLIED);
            REQUIRE(rf_book_set(b, side, p, q) == want);
            break;
        }
        case 2: { /* one level as decimals */
            rf_decimal dp = decimal(&in, price(&in), ps), dq = decimal(&in, quantity(&in), qs);
            int64_t p = 0, q = 0;
            int want = to_grid(dp, ps, &p);
            if (!want) want = to_grid(dq, qs, &q);
            if (!want) want = level_error(p, q);
            if (!want) want = settle(&m, &r, ref_set(&r, side, p, q) ? RF_BOOK_TRIMMED : RF_BOOK_APPLIED);
            REQUIRE(rf_book_set_decimal(b, side, dp, dq) == want);
            break;
        }
        case 3:
        case 4: { /* a batch (case 3) or a snapshot (case 4) */
            size_t nb = byte(&in) % 24, na = byte(&in) % 24;
            for (size_t i = 0; i < nb; i++) bids[i] = (rf_bn_level){decimal(&in, price(&in), ps), decimal(&in, quantity(&in), qs)};
            for (size_t i = 0; i < na; i++) asks[i] = (rf_bn_level){decimal(&in, price(&in), ps), decimal(&in, quantity(&in), qs)};
            if (byte(&in) & 1) { /* best first, as the exchange sends them */
                for (size_t i = 0; i < nb; i++)
                    bids[i].price = (rf_decimal){(int64_t)(1000 - 3 * i), (uint8_t)ps};
                for (size_t i = 0; i < na; i++)
                    asks[i].price = (rf_decimal){(int64_t)(1001 + 2 * i), (uint8_t)ps};
            }
            int want = levels_error(bids, nb, ps, qs);
            if (!want) want = levels_error(asks, na, ps, qs);
            if (op % 8 == 3) {
                if (!want) {
                    int t = ref_apply(&r, 0, bids, nb, 0) | ref_apply(&r, 1, asks, na, 0);
                    want = settle(&m, &r, t ? RF_BOOK_TRIMMED : RF_BOOK_APPLIED);
                }
                REQUIRE(rf_book_apply(b, bids, nb, asks, na) == want);
            } else {
                int64_t lid = (int64_t)bytes(&in, 1);
                if (!want) {
                    ref_clear(&r);
                    int t = ref_apply(&r, 0, bids, nb, 1) | ref_apply(&r, 1, asks, na, 1);
                    m.lid = lid;
                    m.state = ref_crossed(&r) ? RF_BOOK_STALE : RF_BOOK_SYNCING;
                    want = ref_crossed(&r) ? RF_ECROSSED : t ? RF_BOOK_TRIMMED : RF_BOOK_APPLIED;
                }
                REQUIRE(rf_book_load_snapshot(b, lid, bids, nb, asks, na) == want);
            }
            break;
        }
        case 5: { /* a depth diff */
            int futures = byte(&in) & 1;
            int64_t U = m.lid + (int64_t)(byte(&in) % 8) - 4, u = U + (int64_t)(byte(&in) % 8) - 1;
            int64_t pu = m.lid + (int64_t)(byte(&in) % 4) - 2;
            uint8_t c = byte(&in);
            if (c == 1) U = RF_BN_ABSENT;
            if (c == 2) pu = RF_BN_ABSENT;
            size_t nb = byte(&in) % 6, na = byte(&in) % 6;
            for (size_t i = 0; i < nb; i++) bids[i] = (rf_bn_level){decimal(&in, price(&in), ps), decimal(&in, quantity(&in), qs)};
            for (size_t i = 0; i < na; i++) asks[i] = (rf_bn_level){decimal(&in, price(&in), ps), decimal(&in, quantity(&in), qs)};
            rf_bn_depth d = {U, u, pu, RF_BN_ABSENT, bids, nb, asks, na};
            int want;
            if (U == RF_BN_ABSENT || U > u || (futures && pu == RF_BN_ABSENT)) {
                want = RF_EINVAL;
            } else if (m.state != RF_BOOK_SYNCING && m.state != RF_BOOK_LIVE) {
                want = RF_ESTATE;
            } else if (m.state == RF_BOOK_SYNCING ? (futures ? u < m.lid : u <= m.lid) : u <= m.lid) {
                want = RF_BOOK_SKIPPED;
            } else if (m.state == RF_BOOK_SYNCING ? (futures ? U > m.lid : U > m.lid + 1)
                                                  : (futures ? pu != m.lid : U != m.lid + 1)) {
                want = RF_EGAP;
                m.state = RF_BOOK_STALE;
            } else if ((want = levels_error(bids, nb, ps, qs)) || (want = levels_error(asks, na, ps, qs))) {
                m.state = RF_BOOK_STALE;
            } else {
                ref_apply(&r, 0, bids, nb, 0);
                ref_apply(&r, 1, asks, na, 0);
                m.lid = u;
                m.state = RF_BOOK_LIVE;
                want = settle(&m, &r, RF_BOOK_APPLIED);
            }
            REQUIRE(rf_book_apply_diff(b, &d, futures ? RF_BOOK_FUTURES : 0) == want);
            break;
        }
        case 6:
            if (op & 0x40) {
                rf_book_clear(b);
                ref_clear(&r);
                m = (model){RF_BOOK_EMPTY, 0};
            } else {
                rf_book_mark_stale(b);
                if (m.state == RF_BOOK_SYNCING || m.state == RF_BOOK_LIVE) m.state = RF_BOOK_STALE;
            }
            break;
        default: { /* queries that read deeper */
            size_t i = byte(&in);
            rf_book_level l;
            int e = rf_book_level_at(b, side, i, &l);
            REQUIRE(i < r.n[side] ? e == m.state && l.price == r.side[side][i].price : e == RF_EEMPTY);
            rf_book_iter it;
            rf_book_iter_init(&it, b, side);
            size_t k = 0;
            while (rf_book_iter_next(&it, &l)) REQUIRE(k < r.n[side] && l.price == r.side[side][k++].price);
            REQUIRE(k == r.n[side]);
            int64_t v;
            int64_t dist = (int64_t)bytes(&in, 2);
            e = rf_book_volume_within(b, side, dist, &v);
            if (!r.n[0] || !r.n[1]) {
                REQUIRE(e == RF_EEMPTY);
            } else {
                __int128 rv = ref_volume_within(&r, side, dist);
                REQUIRE(rv > INT64_MAX ? e == RF_EOVERFLOW : e == m.state && v == (int64_t)rv);
            }
            break;
        }
        }
        compare(b, &r, &m, &in);
    }
    ref_free(&r);
    rf_book_destroy(b);
    return 0;
}
