/* The second half of rf_bn_scan: once binance_scan.c has walked and
 * validated the whole message, the recorded slots become an rf_bn_event.
 * Doing this at the end is what lets "e" come anywhere (or nowhere, for spot
 * bookTicker and partial depth) and gives errors a fixed precedence:
 * malformed JSON anywhere wins over every field error, and field errors are
 * reported in the order the fields are converted below. */
#include <string.h>

#include "binance_internal.h"
#include "json_scan.h"
#include "ringfeed/error.h"

typedef rf__bn_value value;
typedef rf__bn_scan scan;

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

static int as_int(const value *v, int64_t *out)
{
    if (v->kind != V_INT) return v->kind == V_BIG ? RF_EOVERFLOW : RF_ETYPE;
    *out = v->num;
    return 0;
}

static int as_dec(const value *v, rf_decimal *out)
{
    if (v->kind != V_STRING) return RF_ETYPE;
    if (v->has_dec) {
        *out = v->dec;
        return 0;
    }
    return rf_decimal_parse((const char *)v->ptr, v->len, out);
}

static int as_bool(const value *v, uint8_t *out)
{
    if (v->kind != V_TRUE && v->kind != V_FALSE) return RF_ETYPE;
    *out = v->kind == V_TRUE;
    return 0;
}

static int as_str(const value *v, rf_str *out)
{
    if (v->kind != V_STRING) return RF_ETYPE;
    out->ptr = (const char *)v->ptr;
    out->len = v->len;
    return 0;
}

#define HAS(id) (sc->seen >> (id) & 1)
#define KHAS(id) (sc->kseen >> (id) & 1)

/* A required field, converted: absent is RF_EMISSING. */
#define EV(id, conv, out) (HAS(id) ? conv(&sc->v[id], out) : RF_EMISSING)
#define KL(id, conv, out) (KHAS(id) ? conv(&sc->k[id], out) : RF_EMISSING)

static int opt_int(const scan *sc, int id, int64_t *out)
{
    *out = RF_BN_ABSENT;
    return HAS(id) ? as_int(&sc->v[id], out) : 0;
}

static void reverse(rf_bn_level *a, size_t n)
{
    for (size_t i = 0, j = n - 1; i < j; i++, j--) {
        rf_bn_level t = a[i];
        a[i] = a[j], a[j] = t;
    }
}

/* Moves a[0..n) left by k places, cyclically, without a buffer. */
static void rotate(rf_bn_level *a, size_t n, size_t k)
{
    if (k == 0 || k == n) return;
    reverse(a, k);
    reverse(a + k, n - k);
    reverse(a, n);
}

static int level_list(const scan *sc, int id)
{
    if (!HAS(id)) return RF_EMISSING;
    const value *v = &sc->v[id];
    if (v->kind != V_ARRAY) return RF_ETYPE;
    return v->err;
}

/* Bids then asks at the front of the caller's array, whatever order (and
 * whatever unused lists) the message had them in. */
static int depth_levels(scan *sc, int bid_id, int ask_id, rf_bn_depth *d)
{
    TRY(level_list(sc, bid_id));
    TRY(level_list(sc, ask_id));
    size_t nb = sc->v[bid_id].len, na = sc->v[ask_id].len;
    size_t ob = (size_t)sc->v[bid_id].num, oa = (size_t)sc->v[ask_id].num;
    if (ob != 0 || oa != nb) {
        rotate(sc->levels, ob + nb, ob);
        if (oa < ob) oa += nb;
        rotate(sc->levels + nb, oa + na - nb, oa - nb);
    }
    d->bids = sc->levels;
    d->bid_count = nb;
    d->asks = sc->levels ? sc->levels + nb : NULL;
    d->ask_count = na;
    return 0;
}

#define NAME_IS RF__BN_NAME_IS

/* The kind an "e" value names. */
static int named_type(const uint8_t *s, size_t n)
{
    if (NAME_IS(s, n, "depthUpdate")) return RF_BN_DEPTH_UPDATE;
    if (NAME_IS(s, n, "aggTrade")) return RF_BN_AGG_TRADE;
    if (NAME_IS(s, n, "trade")) return RF_BN_TRADE;
    if (NAME_IS(s, n, "bookTicker")) return RF_BN_BOOK_TICKER;
    if (NAME_IS(s, n, "kline")) return RF_BN_KLINE;
    if (NAME_IS(s, n, "24hrMiniTicker")) return RF_BN_MINI_TICKER;
    if (NAME_IS(s, n, "24hrTicker")) return RF_BN_TICKER;
    if (NAME_IS(s, n, "1hTicker") || NAME_IS(s, n, "4hTicker") || NAME_IS(s, n, "1dTicker"))
        return RF_BN_ROLLING_TICKER;
    if (NAME_IS(s, n, "avgPrice")) return RF_BN_AVG_PRICE;
    if (NAME_IS(s, n, "serverShutdown")) return RF_BN_SERVER_SHUTDOWN;
    return RF_BN_UNKNOWN;
}

/* Type from "e", else from the keys, else from the stream name's suffix. */
static int event_type(const scan *sc)
{
    if (sc->array.kind == V_ARRAY) return RF_BN_ARRAY;
    if (HAS(S_e)) {
        const value *e = &sc->v[S_e];
        if (!e->escaped) return named_type(e->ptr, e->len);
        char buf[16];
        int m = rf__json_ascii(e->ptr, e->len, buf, sizeof buf);
        return m < 0 ? RF_BN_UNKNOWN : named_type((const uint8_t *)buf, (size_t)m);
    }
    if (!sc->combined && !sc->wrapped) {
        /* Control answers: {"result":..,"id":..}, {"error":{..},"id":..}, {"code":..,"msg":..}. */
        if (HAS(S_result)) return RF_BN_RESPONSE;
        if (HAS(S_error) || (HAS(S_code) && HAS(S_msg))) return RF_BN_ERROR;
    }
    if (HAS(S_lastUpdateId) || HAS(S_bids) || HAS(S_asks)) return RF_BN_PARTIAL_DEPTH;
    if (HAS(S_u) || HAS(S_B) || HAS(S_A)) return RF_BN_BOOK_TICKER;
    if (sc->combined && sc->stream.kind == V_STRING) {
        const uint8_t *s = sc->stream.ptr;
        size_t n = sc->stream.len;
        for (size_t i = 0; i < n; i++) {
            if (s[i] != '@') continue;
            if (NAME_IS(s + i + 1, n - i - 1, "bookTicker")) return RF_BN_BOOK_TICKER;
            if (n - i > 6 && !memcmp(s + i + 1, "depth", 5) && (unsigned)(s[i + 6] - '0') < 10)
                return RF_BN_PARTIAL_DEPTH;
        }
    }
    return RF_BN_UNKNOWN;
}

/* The ticker family's decimals, in the order of rf_bn_ticker_field. */
static const int8_t ticker_slot[15] = {S_p, S_P, S_w, S_x, S_c, S_Q, S_b, S_B,
                                       S_a, S_A, S_o, S_h, S_l, S_v, S_q};

/* Which decimals each kind requires (the rest are taken when present):
 * ticker requires what spot and futures both send. */
#define TK(x) RF_BN_TK_##x
static const uint32_t mini_required = TK(LAST_PRICE) | TK(OPEN_PRICE) | TK(HIGH_PRICE) |
                                      TK(LOW_PRICE) | TK(VOLUME) | TK(QUOTE_VOLUME);
static const uint32_t ticker_required = mini_required | TK(PRICE_CHANGE) |
                                        TK(PRICE_CHANGE_PERCENT) | TK(WEIGHTED_AVG_PRICE) |
                                        TK(LAST_QUANTITY);
static const uint32_t rolling_required = mini_required | TK(PRICE_CHANGE) |
                                         TK(PRICE_CHANGE_PERCENT) | TK(WEIGHTED_AVG_PRICE);
#undef TK

static int ticker(const scan *sc, int type, rf_bn_ticker *t)
{
    uint32_t required = type == RF_BN_MINI_TICKER ? mini_required
                        : type == RF_BN_TICKER    ? ticker_required
                                                  : rolling_required;
    rf_decimal *dst[15] = {&t->price_change, &t->price_change_percent, &t->weighted_avg_price,
                           &t->first_trade_price, &t->last_price, &t->last_quantity,
                           &t->best_bid_price, &t->best_bid_quantity, &t->best_ask_price,
                           &t->best_ask_quantity, &t->open_price, &t->high_price,
                           &t->low_price, &t->volume, &t->quote_volume};
    for (int i = 0; i < 15; i++) {
        int id = ticker_slot[i];
        if (HAS(id)) {
            TRY(as_dec(&sc->v[id], dst[i]));
            t->present |= 1u << i;
        } else if (required >> i & 1) {
            return RF_EMISSING;
        }
    }
    static const int8_t int_slot[5] = {S_O, S_C, S_F, S_L, S_n};
    int64_t *ints[5] = {&t->open_time, &t->close_time, &t->first_trade_id, &t->last_trade_id,
                        &t->trade_count};
    for (int i = 0; i < 5; i++) {
        /* The mini ticker has none of them; the others all of them. */
        if (type != RF_BN_MINI_TICKER && !HAS(int_slot[i])) return RF_EMISSING;
        TRY(opt_int(sc, int_slot[i], ints[i]));
    }
    if (type == RF_BN_ROLLING_TICKER) {
        /* "1hTicker": the window is the name less its "Ticker" (raw bytes,
         * like every view; an escaped name keeps its escapes). */
        const value *e = &sc->v[S_e];
        t->window.ptr = (const char *)e->ptr;
        t->window.len = e->len >= 6 ? e->len - 6 : e->len;
    }
    return 0;
}

/* A control answer's "id": an integer, a string or null, kept as raw text. */
static int answer_id(const scan *sc, rf_bn_response *r, int required)
{
    r->id = RF_BN_ABSENT;
    if (!HAS(S_id)) return required ? RF_EMISSING : 0;
    const value *v = &sc->v[S_id];
    if (v->kind != V_STRING && v->kind != V_NULL) TRY(as_int(v, &r->id));
    r->id_text.ptr = (const char *)v->ptr;
    r->id_text.len = v->len;
    return 0;
}

static int answer(const scan *sc, int type, rf_bn_response *r)
{
    r->error_code = RF_BN_ABSENT;
    if (type == RF_BN_RESPONSE) {
        /* Every answer to a request carries the request's id. */
        TRY(answer_id(sc, r, 1));
        r->result.ptr = (const char *)sc->v[S_result].ptr;
        r->result.len = sc->v[S_result].len;
        return 0;
    }
    /* Errors may come without one: a request that did not parse has none. */
    TRY(answer_id(sc, r, 0));
    if (HAS(S_error)) {
        if (sc->v[S_error].kind != V_OBJECT) return RF_ETYPE;
        if (!(sc->rseen & 1u << R_code) || !(sc->rseen & 1u << R_msg)) return RF_EMISSING;
        TRY(as_int(&sc->r[R_code], &r->error_code));
        return as_str(&sc->r[R_msg], &r->error_msg);
    }
    TRY(EV(S_code, as_int, &r->error_code));
    return EV(S_msg, as_str, &r->error_msg);
}

int rf__bn_interpret(scan *sc, rf_bn_event *out)
{
    if (sc->combined) {
        if (sc->stream.kind == V_ABSENT) return RF_EMISSING;
        TRY(as_str(&sc->stream, &out->stream));
    }
    if (HAS(S_e)) TRY(as_str(&sc->v[S_e], &out->event_name));
    int type = event_type(sc);
    out->type = type;
    switch (type) {
    case RF_BN_UNKNOWN:
        /* Tolerated: pass on what is well-formed, complain about nothing. */
        if (HAS(S_s)) as_str(&sc->v[S_s], &out->symbol);
        if (HAS(S_E)) as_int(&sc->v[S_E], &out->event_time);
        return 0;
    case RF_BN_ARRAY:
        out->u.array.items.ptr = (const char *)sc->array.ptr;
        out->u.array.items.len = sc->array.len;
        out->u.array.count = (size_t)sc->array.num;
        return 0;
    case RF_BN_RESPONSE:
    case RF_BN_ERROR:
        return answer(sc, type, &out->u.response);
    case RF_BN_PARTIAL_DEPTH:
    case RF_BN_SERVER_SHUTDOWN:
        if (HAS(S_s)) TRY(as_str(&sc->v[S_s], &out->symbol));
        break;
    default:
        TRY(EV(S_s, as_str, &out->symbol));
    }
    /* Every event that names itself carries E; spot bookTicker and partial depth do not. */
    TRY(HAS(S_e) ? EV(S_E, as_int, &out->event_time) : opt_int(sc, S_E, &out->event_time));

    switch (type) {
    case RF_BN_TRADE:
    case RF_BN_AGG_TRADE: {
        rf_bn_trade *t = &out->u.trade;
        if (type == RF_BN_TRADE) {
            TRY(EV(S_t, as_int, &t->id));
            t->first_trade_id = t->last_trade_id = RF_BN_ABSENT;
        } else {
            TRY(EV(S_a, as_int, &t->id));
            TRY(EV(S_f, as_int, &t->first_trade_id));
            TRY(EV(S_l, as_int, &t->last_trade_id));
        }
        TRY(EV(S_p, as_dec, &t->price));
        TRY(EV(S_q, as_dec, &t->quantity));
        TRY(EV(S_T, as_int, &t->trade_time));
        return EV(S_m, as_bool, &t->buyer_is_maker);
    }
    case RF_BN_DEPTH_UPDATE:
    case RF_BN_PARTIAL_DEPTH: {
        rf_bn_depth *d = &out->u.depth;
        if (type == RF_BN_DEPTH_UPDATE) {
            TRY(EV(S_U, as_int, &d->first_update_id));
            TRY(EV(S_u, as_int, &d->final_update_id));
            TRY(opt_int(sc, S_pu, &d->prev_final_update_id));
            TRY(opt_int(sc, S_T, &d->transaction_time));
            return depth_levels(sc, S_b, S_a, d);
        }
        d->first_update_id = d->prev_final_update_id = d->transaction_time = RF_BN_ABSENT;
        TRY(EV(S_lastUpdateId, as_int, &d->final_update_id));
        return depth_levels(sc, S_bids, S_asks, d);
    }
    case RF_BN_BOOK_TICKER: {
        rf_bn_book_ticker *b = &out->u.book_ticker;
        TRY(EV(S_u, as_int, &b->update_id));
        TRY(EV(S_b, as_dec, &b->bid_price));
        TRY(EV(S_B, as_dec, &b->bid_quantity));
        TRY(EV(S_a, as_dec, &b->ask_price));
        TRY(EV(S_A, as_dec, &b->ask_quantity));
        return opt_int(sc, S_T, &b->transaction_time);
    }
    case RF_BN_KLINE: {
        rf_bn_kline *k = &out->u.kline;
        if (!HAS(S_k)) return RF_EMISSING;
        if (sc->v[S_k].kind != V_OBJECT) return RF_ETYPE;
        TRY(KL(K_i, as_str, &k->interval));
        TRY(KL(K_t, as_int, &k->open_time));
        TRY(KL(K_T, as_int, &k->close_time));
        TRY(KL(K_f, as_int, &k->first_trade_id));
        TRY(KL(K_L, as_int, &k->last_trade_id));
        TRY(KL(K_o, as_dec, &k->open));
        TRY(KL(K_h, as_dec, &k->high));
        TRY(KL(K_l, as_dec, &k->low));
        TRY(KL(K_c, as_dec, &k->close));
        TRY(KL(K_v, as_dec, &k->volume));
        TRY(KL(K_q, as_dec, &k->quote_volume));
        TRY(KL(K_V, as_dec, &k->taker_buy_volume));
        TRY(KL(K_Q, as_dec, &k->taker_buy_quote_volume));
        TRY(KL(K_n, as_int, &k->trades));
        return KL(K_x, as_bool, &k->is_closed);
    }
    case RF_BN_MINI_TICKER:
    case RF_BN_TICKER:
    case RF_BN_ROLLING_TICKER:
        return ticker(sc, type, &out->u.ticker);
    case RF_BN_AVG_PRICE: {
        rf_bn_avg_price *a = &out->u.avg_price;
        TRY(EV(S_i, as_str, &a->interval));
        TRY(EV(S_w, as_dec, &a->price));
        return EV(S_T, as_int, &a->last_trade_time);
    }
    default: /* RF_BN_SERVER_SHUTDOWN: only its time */
        return 0;
    }
}
