/* Private: the fast path's readers (binance_fast.c), included once per
 * instruction set. The includer defines
 *   RF__FAST(name)    the name of this copy's version of `name`
 *   RF__FAST_ATTR     its functions' target attribute (or nothing)
 *   RF__FAST_INT_ANY, RF__FAST_DEC_ANY, RF__FAST_LEVELS, RF__FAST_STR
 *                     the number, level and string readers of that
 *                     instruction set
 * and this file undefines them again. No include guard: that is the point. */

static RF__FAST_ATTR const uint8_t *RF__FAST(read_k)(fast *restrict f, const uint8_t *p, rf_bn_event *restrict out);

/* A plain integer: int_fast's form, or a lone 0. */
static inline RF__FAST_ATTR __attribute__((always_inline)) const uint8_t *RF__FAST(f_int)(const fast *restrict f, const uint8_t *p, int64_t *restrict out)
{
    const uint8_t *end = f->end;
    if (p < end && *p == '0') {
        p++;
        if (p < end && (rf__bn_digit(*p) || *p == '.' || (*p | 0x20) == 'e')) return NULL;
        *out = 0;
        return p;
    }
    return p < end ? RF__FAST_INT_ANY(p, end, f->base, out) : NULL;
}

static inline RF__FAST_ATTR __attribute__((always_inline)) const uint8_t *RF__FAST(f_dec)(const fast *restrict f, const uint8_t *p, rf_decimal *restrict out)
{
    if (p >= f->end || *p != '"') return NULL;
    return RF__FAST_DEC_ANY(p + 1, f->end, f->base, out);
}

/* [["price","qty"],...] straight into the caller's array, p at '['
 * (binance_levels.c, binance_numbers_avx2.h). */
static inline RF__FAST_ATTR __attribute__((always_inline)) const uint8_t *RF__FAST(f_levels)(fast *restrict f, const uint8_t *p,
                                                                                          size_t *count)
{
    rf_bn_level *lv = NULL, *lv_end = NULL;
    if (f->levels) lv = f->levels + f->used, lv_end = f->levels + f->cap;
    const uint8_t *q = RF__FAST_LEVELS(f->base, p, f->end, lv, lv_end, count);
    if (q) f->used += *count;
    return q;
}

/* The members after the first, as the layout lists them, then '}'.
 * Always inlined into one reader per layout, with the loop unrolled: the
 * steps are constants there, so each key compare, switch and offset folds
 * away and the reader is straight-line code. */
static inline RF__FAST_ATTR __attribute__((always_inline)) const uint8_t *RF__FAST(f_object)(fast *restrict f,
                                                                                          const uint8_t *p,
                                                                                          const layout *l,
                                                                                          rf_bn_event *restrict out)
{
    const uint8_t *end = f->end;
    char *o = (char *)out;
#if defined(__clang__)
#pragma clang loop unroll(full)
#endif
    for (unsigned i = 0; i < l->count; i++) {
        const step *s = &l->steps[i];
        /* The key literal, compared in the widths its length allows (one
         * or two compares against constants once the loop is unrolled). */
        int match = 0;
        if (end - p >= s->len) {
            uint32_t w4;
            memcpy(&w4, p, 4);
            if (s->len == 5) {
                match = w4 == (uint32_t)s->key && p[4] == (uint8_t)(s->key >> 32);
            } else if (s->len == 6) {
                uint16_t w2;
                memcpy(&w2, p + 4, 2);
                match = w4 == (uint32_t)s->key && w2 == (uint16_t)(s->key >> 32);
            } else {
                uint64_t w = 0;
                memcpy(&w, p, s->len);
                match = (w & s->mask) == s->key;
            }
        }
        if (!match) {
            if (!s->optional) return NULL;
            if (s->kind == F_INT) *(int64_t *)(void *)(o + s->off) = RF_BN_ABSENT;
            continue;
        }
        p += s->len;
        switch (s->kind) {
        case F_INT: p = RF__FAST(f_int)(f, p, (int64_t *)(void *)(o + s->off)); break;
        case F_DEC: p = RF__FAST(f_dec)(f, p, (rf_decimal *)(void *)(o + s->off)); break;
        case F_TK:
            p = RF__FAST(f_dec)(f, p, (rf_decimal *)(void *)(o + s->off));
            out->u.ticker.present |= 1u << s->bit;
            break;
        case F_STR: p = RF__FAST_STR(p, end, (rf_str *)(void *)(o + s->off)); break;
        case F_BOOL: p = f_bool(p, end, (uint8_t *)(o + s->off)); break;
        case F_SKIP_BOOL: {
            uint8_t ignored;
            p = f_bool(p, end, &ignored);
            break;
        }
        case F_SKIP_STR: {
            rf_str ignored;
            p = RF__FAST_STR(p, end, &ignored);
            break;
        }
        case F_BIDS:
            if (p >= end || *p != '[') return NULL;
            p = RF__FAST(f_levels)(f, p, &out->u.depth.bid_count);
            break;
        case F_ASKS:
            if (p >= end || *p != '[') return NULL;
            p = RF__FAST(f_levels)(f, p, &out->u.depth.ask_count);
            break;
        default: /* F_KLINE: {"t":...} then its own layout */
            if (end - p < 6 || memcmp(p, "{\"t\":", 5)) return NULL;
            p = RF__FAST(f_int)(f, p + 5, &out->u.kline.open_time);
            if (p) p = RF__FAST(read_k)(f, p, out);
            break;
        }
        if (!p) return NULL;
    }
    return p < end && *p == '}' ? p + 1 : NULL;
}

#define READER(n)                                                                               \
    static RF__FAST_ATTR const uint8_t *RF__FAST(read_##n)(fast *restrict f, const uint8_t *p, rf_bn_event *restrict out) \
    {                                                                                           \
        return RF__FAST(f_object)(f, p, &n##_layout, out);                                      \
    }
READER(trade)
READER(futures_agg_trade)
READER(agg_trade)
READER(documented_book_ticker)
READER(depth)
READER(partial_depth)
READER(book_ticker)
READER(spot_book_ticker)
READER(kline)
READER(mini_ticker)
READER(ticker)
READER(rolling_ticker)
READER(avg_price)
#undef READER

/* The reader of a layout. */
static RF__FAST_ATTR const uint8_t *RF__FAST(read)(fast *restrict f, const uint8_t *p, const layout *l, rf_bn_event *restrict out)
{
    switch (l->id) {
    case L_TRADE: return RF__FAST(read_trade)(f, p, out);
    case L_AGG_TRADE: return RF__FAST(read_agg_trade)(f, p, out);
    case L_FUTURES_AGG_TRADE: return RF__FAST(read_futures_agg_trade)(f, p, out);
    case L_DOCUMENTED_BOOK_TICKER: return RF__FAST(read_documented_book_ticker)(f, p, out);
    case L_DEPTH: return RF__FAST(read_depth)(f, p, out);
    case L_PARTIAL_DEPTH: return RF__FAST(read_partial_depth)(f, p, out);
    case L_BOOK_TICKER: return RF__FAST(read_book_ticker)(f, p, out);
    case L_SPOT_BOOK_TICKER: return RF__FAST(read_spot_book_ticker)(f, p, out);
    case L_KLINE: return RF__FAST(read_kline)(f, p, out);
    case L_MINI_TICKER: return RF__FAST(read_mini_ticker)(f, p, out);
    case L_TICKER: return RF__FAST(read_ticker)(f, p, out);
    case L_ROLLING_TICKER: return RF__FAST(read_rolling_ticker)(f, p, out);
    case L_AVG_PRICE: return RF__FAST(read_avg_price)(f, p, out);
    default: return NULL; /* L_K is only read inside a kline */
    }
}

/* Starts the union member of layout l: zeroed (only that member: the rest
 * of the union is not the event's), with what the layout does not set. */
static inline RF__FAST_ATTR __attribute__((always_inline)) void RF__FAST(f_begin)(const layout *l, rf_bn_event *restrict out)
{
    out->type = l->type;
    switch (l->type) {
    case RF_BN_TRADE:
        memset(&out->u.trade, 0, sizeof out->u.trade);
        out->u.trade.first_trade_id = out->u.trade.last_trade_id = RF_BN_ABSENT;
        break;
    case RF_BN_AGG_TRADE: memset(&out->u.trade, 0, sizeof out->u.trade); break;
    case RF_BN_DEPTH_UPDATE: memset(&out->u.depth, 0, sizeof out->u.depth); break;
    case RF_BN_PARTIAL_DEPTH:
        memset(&out->u.depth, 0, sizeof out->u.depth);
        out->u.depth.first_update_id = out->u.depth.prev_final_update_id = RF_BN_ABSENT;
        out->u.depth.transaction_time = RF_BN_ABSENT;
        break;
    case RF_BN_BOOK_TICKER:
        memset(&out->u.book_ticker, 0, sizeof out->u.book_ticker);
        out->u.book_ticker.transaction_time = RF_BN_ABSENT;
        break;
    case RF_BN_KLINE: memset(&out->u.kline, 0, sizeof out->u.kline); break;
    case RF_BN_MINI_TICKER:
        memset(&out->u.ticker, 0, sizeof out->u.ticker);
        out->u.ticker.open_time = out->u.ticker.close_time = RF_BN_ABSENT;
        out->u.ticker.first_trade_id = out->u.ticker.last_trade_id = RF_BN_ABSENT;
        out->u.ticker.trade_count = RF_BN_ABSENT;
        break;
    case RF_BN_TICKER:
    case RF_BN_ROLLING_TICKER: memset(&out->u.ticker, 0, sizeof out->u.ticker); break;
    default: memset(&out->u.avg_price, 0, sizeof out->u.avg_price); break;
    }
}

/* The event object, p just past its '{'. */
static RF__FAST_ATTR const uint8_t *RF__FAST(f_event)(fast *restrict f, const uint8_t *p, rf_bn_event *restrict out)
{
    const uint8_t *end = f->end;
    size_t left = (size_t)(end - p);
    const layout *l;
    if (STARTS(p, left, "\"e\":\"")) {
        p = RF__FAST_STR(p + 4, end, &out->event_name);
        if (!p) return NULL;
        const char *e = out->event_name.ptr;
        size_t n = out->event_name.len;
        if (RF__BN_NAME_IS(e, n, "depthUpdate")) l = &depth_layout;
        else if (RF__BN_NAME_IS(e, n, "bookTicker")) l = &book_ticker_layout;
        else if (RF__BN_NAME_IS(e, n, "aggTrade")) l = &futures_agg_trade_layout;
        else if (RF__BN_NAME_IS(e, n, "trade")) l = &trade_layout;
        else if (RF__BN_NAME_IS(e, n, "kline")) l = &kline_layout;
        else if (RF__BN_NAME_IS(e, n, "24hrMiniTicker")) l = &mini_ticker_layout;
        else if (RF__BN_NAME_IS(e, n, "24hrTicker")) l = &ticker_layout;
        else if (RF__BN_NAME_IS(e, n, "1hTicker") || RF__BN_NAME_IS(e, n, "4hTicker") ||
                 RF__BN_NAME_IS(e, n, "1dTicker")) {
            RF__FAST(f_begin)(l = &rolling_ticker_layout, out);
            out->u.ticker.window = (rf_str){e, 2};
        } else if (RF__BN_NAME_IS(e, n, "avgPrice")) l = &avg_price_layout;
        else return NULL;
        if (l != &rolling_ticker_layout) RF__FAST(f_begin)(l, out);
    } else if (STARTS(p, left, "\"u\":")) { /* spot bookTicker: no "e", no "E" */
        RF__FAST(f_begin)(l = &spot_book_ticker_layout, out);
        p = RF__FAST(f_int)(f, p + 4, &out->u.book_ticker.update_id);
    } else if (STARTS(p, left, "\"lastUpdateId\":")) { /* spot partial depth */
        RF__FAST(f_begin)(l = &partial_depth_layout, out);
        p = RF__FAST(f_int)(f, p + 15, &out->u.depth.final_update_id);
    } else {
        return NULL;
    }
    if (!p) return NULL;
    const uint8_t *q = RF__FAST(read)(f, p, l, out);
    if (!q && l->alt) {
        /* The same fields in the other order: every one is written again. */
        f->used = 0;
        q = RF__FAST(read)(f, p, l->alt, out);
    }
    if (!q) return NULL;
    p = q;
    if (l->type == RF_BN_DEPTH_UPDATE || l->type == RF_BN_PARTIAL_DEPTH) {
        rf_bn_depth *d = &out->u.depth;
        d->bids = f->levels;
        d->asks = f->levels ? f->levels + d->bid_count : NULL;
    }
    return p;
}

static RF__FAST_ATTR const uint8_t *RF__FAST(fast_message)(const uint8_t *base, const uint8_t *p,
                                                          const uint8_t *end, rf_bn_level *levels,
                                                          size_t level_cap, rf_bn_event *restrict out)
{
    fast f = {base, end, levels, level_cap, 0};
    /* The header; the union member is started once the kind is known. */
    memset(out, 0, offsetof(rf_bn_event, u));
    out->event_time = RF_BN_ABSENT;
    if (end - p < 2 || p[0] != '{') return NULL;
    p++;
    int combined = STARTS(p, end - p, "\"stream\":\"");
    if (combined) {
        p = RF__FAST_STR(p + 9, end, &out->stream);
        if (!p || !STARTS(p, end - p, ",\"data\":{")) return NULL;
        p += 9;
    }
    p = RF__FAST(f_event)(&f, p, out);
    if (p && combined) p = p < end && *p == '}' ? p + 1 : NULL;
    return p;
}

static RF__FAST_ATTR const uint8_t *RF__FAST(read_k)(fast *restrict f, const uint8_t *p, rf_bn_event *restrict out)
{
    return RF__FAST(f_object)(f, p, &k_layout, out);
}

#undef RF__FAST
#undef RF__FAST_ATTR
#undef RF__FAST_INT_ANY
#undef RF__FAST_DEC_ANY
#undef RF__FAST_LEVELS
#undef RF__FAST_STR
