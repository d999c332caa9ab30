/* libFuzzer harness for the Binance message scanner (rf_bn_scan,
 * rf_bn_array_next, rf_bn_stream_kind).
 *
 * Input: one or more messages separated by 0xFF. Each is scanned from an
 * exactly-sized copy (so ASan sees any read past its end) with a small level
 * array, so RF_ENOSPC is reachable, then scanned again from a second copy
 * into a second array by the general path alone (no fixed-layout fast
 * path): the fast path must never change a result, and the scanner holds no
 * state, so both results must be the same, view for view. On success every view lies inside the message
 * and the depth levels inside the caller's array. An array event is walked
 * to its end (every element's views inside the array, the walk bounded by
 * its count), and the stream name, or else the whole input, is named by
 * rf_bn_stream_kind. */
#include <string.h>

#include "binance_internal.h" /* rf__bn_scan_general */
#include "decimal_avx2.h"     /* rf__decimal_use_avx2 */
#include "fuzz_common.h"
#include "ringfeed/binance.h"
#include "ringfeed/error.h"

#define LEVEL_CAP 4

static void check_event(const rf_bn_event *ev, const uint8_t *m, size_t n, const rf_bn_level *lv)
{
    REQUIRE(ev->type >= RF_BN_UNKNOWN && ev->type <= RF_BN_ARRAY);
    view_inside(ev->stream, m, n);
    view_inside(ev->event_name, m, n);
    view_inside(ev->symbol, m, n);
    if (ev->type == RF_BN_KLINE) view_inside(ev->u.kline.interval, m, n);
    if (ev->type == RF_BN_ROLLING_TICKER) view_inside(ev->u.ticker.window, m, n);
    if (ev->type == RF_BN_AVG_PRICE) view_inside(ev->u.avg_price.interval, m, n);
    if (ev->type == RF_BN_RESPONSE || ev->type == RF_BN_ERROR) {
        view_inside(ev->u.response.id_text, m, n);
        view_inside(ev->u.response.result, m, n);
        view_inside(ev->u.response.error_msg, m, n);
    }
    if (ev->type == RF_BN_ARRAY) {
        view_inside(ev->u.array.items, m, n);
        REQUIRE(ev->u.array.items.len >= 2 && ev->u.array.items.ptr[0] == '[' &&
                ev->u.array.items.ptr[ev->u.array.items.len - 1] == ']');
    }
    if (ev->type == RF_BN_DEPTH_UPDATE || ev->type == RF_BN_PARTIAL_DEPTH) {
        const rf_bn_depth *d = &ev->u.depth;
        REQUIRE(d->bid_count + d->ask_count <= LEVEL_CAP);
        REQUIRE(d->bids == lv); /* bids first, then asks, in the caller's array */
        REQUIRE(d->asks == lv + d->bid_count);
    }
}

/* Field by field: padding inside rf_decimal may hold anything. */
static int dec_eq(rf_decimal a, rf_decimal b) { return a.mantissa == b.mantissa && a.scale == b.scale; }

static int same_ticker(const rf_bn_ticker *a, const uint8_t *am, const rf_bn_ticker *b, const uint8_t *bm)
{
    const rf_decimal *x = &a->price_change, *y = &b->price_change;
    for (int i = 0; i < 15; i++) /* the fifteen decimals are consecutive members */
        if (!dec_eq(x[i], y[i])) return 0;
    return a->open_time == b->open_time && a->close_time == b->close_time &&
           a->first_trade_id == b->first_trade_id && a->last_trade_id == b->last_trade_id &&
           a->trade_count == b->trade_count && a->present == b->present &&
           same_view(a->window, am, b->window, bm);
}

static int same_event(const rf_bn_event *a, const uint8_t *am, const rf_bn_level *al,
                      const rf_bn_event *b, const uint8_t *bm, const rf_bn_level *bl)
{
    if (a->type != b->type || a->event_time != b->event_time) return 0;
    if (!same_view(a->stream, am, b->stream, bm) || !same_view(a->event_name, am, b->event_name, bm) ||
        !same_view(a->symbol, am, b->symbol, bm))
        return 0;
    const rf_bn_trade *ta = &a->u.trade, *tb = &b->u.trade;
    const rf_bn_book_ticker *ba = &a->u.book_ticker, *bb = &b->u.book_ticker;
    const rf_bn_kline *ka = &a->u.kline, *kb = &b->u.kline;
    const rf_bn_depth *x = &a->u.depth, *y = &b->u.depth;
    switch (a->type) {
    case RF_BN_TRADE:
    case RF_BN_AGG_TRADE:
        return ta->id == tb->id && ta->first_trade_id == tb->first_trade_id &&
               ta->last_trade_id == tb->last_trade_id && dec_eq(ta->price, tb->price) &&
               dec_eq(ta->quantity, tb->quantity) && ta->trade_time == tb->trade_time &&
               ta->buyer_is_maker == tb->buyer_is_maker;
    case RF_BN_BOOK_TICKER:
        return ba->update_id == bb->update_id && dec_eq(ba->bid_price, bb->bid_price) &&
               dec_eq(ba->bid_quantity, bb->bid_quantity) && dec_eq(ba->ask_price, bb->ask_price) &&
               dec_eq(ba->ask_quantity, bb->ask_quantity) &&
               ba->transaction_time == bb->transaction_time;
    case RF_BN_KLINE:
        return same_view(ka->interval, am, kb->interval, bm) && ka->open_time == kb->open_time &&
               ka->close_time == kb->close_time && ka->first_trade_id == kb->first_trade_id &&
               ka->last_trade_id == kb->last_trade_id && dec_eq(ka->open, kb->open) &&
               dec_eq(ka->high, kb->high) && dec_eq(ka->low, kb->low) &&
               dec_eq(ka->close, kb->close) && dec_eq(ka->volume, kb->volume) &&
               dec_eq(ka->quote_volume, kb->quote_volume) &&
               dec_eq(ka->taker_buy_volume, kb->taker_buy_volume) &&
               dec_eq(ka->taker_buy_quote_volume, kb->taker_buy_quote_volume) &&
               ka->trades == kb->trades && ka->is_closed == kb->is_closed;
    case RF_BN_MINI_TICKER:
    case RF_BN_TICKER:
    case RF_BN_ROLLING_TICKER:
        return same_ticker(&a->u.ticker, am, &b->u.ticker, bm);
    case RF_BN_AVG_PRICE:
        return same_view(a->u.avg_price.interval, am, b->u.avg_price.interval, bm) &&
               dec_eq(a->u.avg_price.price, b->u.avg_price.price) &&
               a->u.avg_price.last_trade_time == b->u.avg_price.last_trade_time;
    case RF_BN_RESPONSE:
    case RF_BN_ERROR: {
        const rf_bn_response *ra = &a->u.response, *rb = &b->u.response;
        return ra->id == rb->id && ra->error_code == rb->error_code &&
               same_view(ra->id_text, am, rb->id_text, bm) && same_view(ra->result, am, rb->result, bm) &&
               same_view(ra->error_msg, am, rb->error_msg, bm);
    }
    case RF_BN_ARRAY:
        return a->u.array.count == b->u.array.count && same_view(a->u.array.items, am, b->u.array.items, bm);
    case RF_BN_DEPTH_UPDATE:
    case RF_BN_PARTIAL_DEPTH:
        if (x->first_update_id != y->first_update_id || x->final_update_id != y->final_update_id ||
            x->prev_final_update_id != y->prev_final_update_id ||
            x->transaction_time != y->transaction_time || x->bid_count != y->bid_count ||
            x->ask_count != y->ask_count)
            return 0;
        for (size_t i = 0; i < x->bid_count + x->ask_count; i++)
            if (!dec_eq(al[i].price, bl[i].price) || !dec_eq(al[i].quantity, bl[i].quantity))
                return 0;
        return 1;
    }
    return 1;
}

static int known_rc(int r)
{
    return r == 0 || r == RF_EJSON || r == RF_EDECIMAL || r == RF_EOVERFLOW || r == RF_EMISSING ||
           r == RF_ETYPE || r == RF_ENOSPC;
}

/* Walks an array event: one result per element, each element's views
 * inside the array text, and the walk ends after exactly `count` steps. */
static void walk(const rf_bn_event *arr, const uint8_t *m, size_t n)
{
    const uint8_t *items = (const uint8_t *)arr->u.array.items.ptr;
    size_t len = arr->u.array.items.len, pos = 0, steps = 0, last = 0;
    rf_bn_level lv[LEVEL_CAP];
    rf_bn_event el;
    int r;
    while ((r = rf_bn_array_next(arr, &pos, lv, LEVEL_CAP, &el)) != 0) {
        REQUIRE(known_rc(r) || r == 1);
        REQUIRE(pos > last && pos < len); /* always forward */
        /* The element alone, by the general path, reads the same. */
        size_t a = last + 1, b = pos;
        while (a < b && (items[a] == ' ' || items[a] == '\t' || items[a] == '\n' || items[a] == '\r')) a++;
        while (b > a && (items[b - 1] == ' ' || items[b - 1] == '\t' || items[b - 1] == '\n' || items[b - 1] == '\r')) b--;
        if (a < b && items[a] == '{') {
            rf_bn_level gl[LEVEL_CAP];
            rf_bn_event g;
            int rg = rf__bn_scan_general(items + a, b - a, gl, LEVEL_CAP, &g);
            REQUIRE(rg == (r == 1 ? 0 : r));
            if (rg == 0 && !g.stream.ptr) g.stream = arr->stream;
            if (rg == 0) REQUIRE(same_event(&el, m, lv, &g, m, gl));
        }
        last = pos;
        if (r == 1) {
            check_event(&el, m, n, lv);
            view_inside(el.symbol, items, len);
            REQUIRE(el.type != RF_BN_ARRAY || el.u.array.items.ptr > (const char *)items);
        }
        REQUIRE(++steps <= arr->u.array.count);
    }
    REQUIRE(steps == arr->u.array.count);
    REQUIRE(rf_bn_array_next(arr, &pos, lv, LEVEL_CAP, &el) == 0);
    /* Any other start position is refused or walks forward, never crashes. */
    for (size_t p = 1; p < len && p < 64; p++) {
        size_t q = p;
        r = rf_bn_array_next(arr, &q, lv, LEVEL_CAP, &el);
        REQUIRE(r == RF_EINVAL || r == 0 || r == 1 || known_rc(r));
        REQUIRE(q >= p && q < len);
    }
}

static void scan_one(const uint8_t *data, size_t size)
{
    uint8_t *m1 = malloc(size ? size : 1), *m2 = malloc(size ? size : 1);
    if (size) memcpy(m1, data, size), memcpy(m2, data, size);
    rf_bn_level l1[LEVEL_CAP], l2[LEVEL_CAP];
    memset(l1, 0, sizeof l1);
    memset(l2, 0, sizeof l2);
    rf_bn_event e1, e2;

    int r1 = rf_bn_scan(m1, size, l1, LEVEL_CAP, &e1);
    REQUIRE(known_rc(r1));
    if (r1 == 0) check_event(&e1, m1, size, l1);
    if (r1 == 0 && e1.type == RF_BN_ARRAY) walk(&e1, m1, size);

    /* The stream name (or the whole input) as a subscription would name it. */
    rf_str name = r1 == 0 && e1.stream.len ? e1.stream : (rf_str){(const char *)m1, size};
    int kind = rf_bn_stream_kind(name.ptr, name.len);
    REQUIRE(kind >= RF_BN_UNKNOWN && kind <= RF_BN_ARRAY && kind != RF_BN_SERVER_SHUTDOWN &&
            kind != RF_BN_RESPONSE && kind != RF_BN_ERROR);
    REQUIRE(kind == RF_BN_UNKNOWN || memchr(name.ptr, '@', name.len) || name.ptr[0] == '!');

    int r2 = rf__bn_scan_general(m2, size, l2, LEVEL_CAP, &e2);
    REQUIRE(r1 == r2);
    if (r1 == 0) REQUIRE(same_event(&e1, m1, l1, &e2, m2, l2));

    /* On an AVX2 CPU the first scan took the AVX2 copy of the fast path;
     * the portable copy (other CPUs) must read the same. */
    static int avx2 = -1;
    if (avx2 < 0) avx2 = rf__decimal_use_avx2(1);
    if (avx2) {
        rf__decimal_use_avx2(0);
        r2 = rf_bn_scan(m2, size, l2, LEVEL_CAP, &e2);
        rf__decimal_use_avx2(1);
        REQUIRE(r1 == r2);
        if (r1 == 0) REQUIRE(same_event(&e1, m1, l1, &e2, m2, l2));
    }

    /* Without room for levels, a level list can only fail sooner, with
     * RF_ENOSPC; nothing else changes. */
    int r3 = rf_bn_scan(m2, size, NULL, 0, &e2);
    REQUIRE(r3 == r1 || r3 == RF_ENOSPC);
    if (r1 == 0) {
        int has_levels = (e1.type == RF_BN_DEPTH_UPDATE || e1.type == RF_BN_PARTIAL_DEPTH) &&
                         e1.u.depth.bid_count + e1.u.depth.ask_count > 0;
        REQUIRE(r3 == (has_levels ? RF_ENOSPC : 0));
    }
    free(m1);
    free(m2);
}

/* Most error paths end a scan, so one message reaches one of them; several
 * messages per input keep the saved corpus small. 0xFF separates them: it
 * never occurs in UTF-8, so no text frame can hold it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *end = data + size;
    for (;;) {
        const uint8_t *sep = memchr(data, 0xFF, (size_t)(end - data));
        scan_one(data, (size_t)((sep ? sep : end) - data));
        if (!sep) return 0;
        data = sep + 1;
    }
}
