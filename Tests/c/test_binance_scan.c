/* The Binance message scanner: every recorded message against Python's json
 * module (Tests/c/binance_reference.py), then hand cases for every event type
 * in raw and combined form and every key order, and every error class:
 * truncation at every byte, single-byte corruption, wrong types, overflow,
 * bad decimals, missing fields, too many levels, nesting, escapes.
 *
 * Inputs are copied into exactly-sized heap buffers so that ASan sees any
 * read past the end of a message. */
#include <string.h>

#include "binance_internal.h" /* rf__bn_scan_general */
#include "check.h"
#include "decimal_avx2.h"     /* rf__decimal_use_avx2 */
#include "ringfeed/binance.h"
#include "ringfeed/error.h"

#define CAP 128

static rf_bn_level lv[CAP];

typedef struct out { char buf[8192]; } out;
static void format_event(const rf_bn_event *ev, out *res);
static long fast_agreed;

/* Scans a copy of m[0..n) with the given level capacity. The copy is kept
 * until the next call so views stay valid for the checks. Every scan is
 * also run through the general path alone: the fast path must never change
 * a result, so the two must agree field for field on every input here. */
static int scan_n(const char *m, size_t n, size_t cap, rf_bn_event *ev)
{
    static uint8_t *copy;
    static rf_bn_level lv2[CAP];
    free(copy);
    copy = malloc(n ? n : 1);
    memcpy(copy, m, n);
    rf_bn_event g;
    int rg = rf__bn_scan_general(copy, n, cap ? lv2 : NULL, cap, &g);
    int rc = rf_bn_scan(copy, n, cap ? lv : NULL, cap, ev);
    CHECK_EQ(rc, rg);
    if (rc == 0 && rg == 0) {
        static struct out a, b;
        format_event(ev, &a);
        format_event(&g, &b);
        if (strcmp(a.buf, b.buf)) {
            CHECK(0);
            fprintf(stderr, "fast and general paths differ on %.*s\n  %s\n  %s\n", (int)n, m, a.buf, b.buf);
        }
        CHECK(ev->stream.ptr == g.stream.ptr && ev->symbol.ptr == g.symbol.ptr &&
              ev->event_name.ptr == g.event_name.ptr);
        fast_agreed++;
    }
    return rc;
}

static int scan(const char *m, rf_bn_event *ev) { return scan_n(m, strlen(m), CAP, ev); }

#define LAST_TYPE RF_BN_ARRAY

static int known_rc(int rc)
{
    return rc == 0 || rc == RF_EJSON || rc == RF_EDECIMAL || rc == RF_EOVERFLOW ||
           rc == RF_EMISSING || rc == RF_ETYPE || rc == RF_ENOSPC;
}

static int str_is(rf_str s, const char *want)
{
    return s.len == strlen(want) && (s.len == 0 || !memcmp(s.ptr, want, s.len));
}

/* ---- one normalised line per event, as binance_reference.py prints it --- */

static void put_str(FILE *o, const char *label, rf_str s) { fprintf(o, "%s%.*s", label, (int)s.len, s.len ? s.ptr : ""); }

static void put_int(FILE *o, int64_t v)
{
    if (v == RF_BN_ABSENT) fprintf(o, " -");
    else fprintf(o, " %" PRId64, v);
}

static void put_dec(FILE *o, const char *sep, rf_decimal d)
{
    char t[RF_DECIMAL_MAX_TEXT + 8];
    fprintf(o, "%s%s", sep, rf_decimal_format(d, t, sizeof t) < 0 ? "?" : t);
}

static const char *type_name(int t)
{
    static const char *const names[] = {"unknown",    "trade",         "aggTrade",      "depthUpdate",
                                        "partialDepth", "bookTicker",  "kline",         "miniTicker",
                                        "ticker",     "rollingTicker", "avgPrice",      "serverShutdown",
                                        "response",   "error",         "array"};
    _Static_assert(sizeof names / sizeof names[0] == LAST_TYPE + 1, "a name per type");
    return t >= 0 && t <= LAST_TYPE ? names[t] : "?";
}

/* Raw JSON text without the whitespace between tokens, as Python's
 * json.dumps(separators=(",", ":")) writes it (for plain strings). */
static void put_json(FILE *o, const char *label, rf_str s)
{
    fprintf(o, "%s", label);
    int in_str = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (in_str) {
            fputc(c, o);
            if (c == '\\') fputc(s.ptr[++i], o);
            else if (c == '"') in_str = 0;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            fputc(c, o);
            in_str = c == '"';
        }
    }
}

static void put_tk(FILE *o, const rf_bn_ticker *t, int bit, rf_decimal d)
{
    if (t->present & (uint32_t)bit) put_dec(o, " ", d);
    else fprintf(o, " -");
}

static void format_event(const rf_bn_event *ev, out *res)
{
    FILE *o = fmemopen(res->buf, sizeof res->buf, "w");
    fprintf(o, "%s", type_name(ev->type));
    put_str(o, " stream=", ev->stream), put_str(o, " e=", ev->event_name), put_str(o, " s=", ev->symbol);
    if (ev->event_time == RF_BN_ABSENT) fprintf(o, " E=-");
    else fprintf(o, " E=%" PRId64, ev->event_time);
    const rf_bn_trade *t = &ev->u.trade;
    const rf_bn_depth *d = &ev->u.depth;
    const rf_bn_book_ticker *b = &ev->u.book_ticker;
    const rf_bn_kline *k = &ev->u.kline;
    switch (ev->type) {
    case RF_BN_TRADE:
    case RF_BN_AGG_TRADE:
        put_int(o, t->id), put_int(o, t->first_trade_id), put_int(o, t->last_trade_id);
        put_dec(o, " ", t->price), put_dec(o, " ", t->quantity), put_int(o, t->trade_time);
        fprintf(o, " %d", t->buyer_is_maker);
        break;
    case RF_BN_DEPTH_UPDATE:
    case RF_BN_PARTIAL_DEPTH:
        put_int(o, d->first_update_id), put_int(o, d->final_update_id);
        put_int(o, d->prev_final_update_id), put_int(o, d->transaction_time);
        fprintf(o, " nb=%zu na=%zu", d->bid_count, d->ask_count);
        for (size_t i = 0; i < d->bid_count; i++)
            put_dec(o, " ", d->bids[i].price), put_dec(o, ":", d->bids[i].quantity);
        for (size_t i = 0; i < d->ask_count; i++)
            put_dec(o, " ", d->asks[i].price), put_dec(o, ":", d->asks[i].quantity);
        break;
    case RF_BN_BOOK_TICKER:
        put_int(o, b->update_id), put_dec(o, " ", b->bid_price), put_dec(o, " ", b->bid_quantity);
        put_dec(o, " ", b->ask_price), put_dec(o, " ", b->ask_quantity), put_int(o, b->transaction_time);
        break;
    case RF_BN_KLINE:
        put_str(o, " ", k->interval), put_int(o, k->open_time), put_int(o, k->close_time);
        put_int(o, k->first_trade_id), put_int(o, k->last_trade_id);
        put_dec(o, " ", k->open), put_dec(o, " ", k->high), put_dec(o, " ", k->low);
        put_dec(o, " ", k->close), put_dec(o, " ", k->volume), put_dec(o, " ", k->quote_volume);
        put_dec(o, " ", k->taker_buy_volume), put_dec(o, " ", k->taker_buy_quote_volume);
        put_int(o, k->trades);
        fprintf(o, " %d", k->is_closed);
        break;
    case RF_BN_MINI_TICKER:
    case RF_BN_TICKER:
    case RF_BN_ROLLING_TICKER: {
        const rf_bn_ticker *x = &ev->u.ticker;
        const rf_decimal dv[15] = {x->price_change, x->price_change_percent, x->weighted_avg_price,
                                  x->first_trade_price, x->last_price, x->last_quantity,
                                  x->best_bid_price, x->best_bid_quantity, x->best_ask_price,
                                  x->best_ask_quantity, x->open_price, x->high_price,
                                  x->low_price, x->volume, x->quote_volume};
        for (int i = 0; i < 15; i++) put_tk(o, x, 1 << i, dv[i]);
        put_int(o, x->open_time), put_int(o, x->close_time), put_int(o, x->first_trade_id);
        put_int(o, x->last_trade_id), put_int(o, x->trade_count);
        put_str(o, " w=", x->window);
        break;
    }
    case RF_BN_AVG_PRICE:
        put_str(o, " ", ev->u.avg_price.interval), put_dec(o, " ", ev->u.avg_price.price);
        put_int(o, ev->u.avg_price.last_trade_time);
        break;
    case RF_BN_RESPONSE:
    case RF_BN_ERROR: {
        const rf_bn_response *r = &ev->u.response;
        if (r->id == RF_BN_ABSENT) fprintf(o, " id=-");
        else fprintf(o, " id=%" PRId64, r->id);
        put_json(o, " id_text=", r->id_text);
        if (ev->type == RF_BN_RESPONSE) {
            put_json(o, " result=", r->result);
        } else {
            fprintf(o, " code=%" PRId64, r->error_code);
            put_str(o, " msg=", r->error_msg);
        }
        break;
    }
    case RF_BN_ARRAY:
        fprintf(o, " count=%zu", ev->u.array.count);
        break;
    }
    fclose(o);
}

/* Every prefix of a valid message is malformed; so is (mostly) a corrupted
 * byte. Neither may crash, and a corrupted byte gives a known code. */
static void damage(const char *m, size_t n)
{
    rf_bn_event ev;
    size_t body = n; /* a valid message ends at its '}' plus whitespace */
    while (body && m[body - 1] != '}') body--;
    for (size_t k = 0; k < n; k++) {
        int rc = scan_n(m, k, CAP, &ev);
        if (k < body) CHECK_EQ(rc, RF_EJSON);
        else CHECK(known_rc(rc));
    }
    static const char subst[] = {'\0', '"', '\\', '{', '}', '[', ']', ',', ':', '0', 'x', ' ', '\x80'};
    char *c = malloc(n);
    for (size_t k = 0; k < n; k++) {
        memcpy(c, m, n);
        for (size_t s = 0; s < sizeof subst; s++) {
            c[k] = subst[s];
            CHECK(known_rc(scan_n(c, n, CAP, &ev)));
        }
    }
    free(c);
}

/* ---- the recorded streams and the documented examples --------------------
 * Recordings: line 1 is the URL, then "<time>: <message>". Fixtures (.jsonl):
 * one message per line, every documented example of every kind, spot and
 * futures (binance_docs.jsonl), and each with 16-digit microsecond times
 * (binance_microseconds.jsonl). */

static const char *const data_files[] = {"../shared/data/binance/BINANCE.ws.1.0",
                                         "../shared/data/binance/BINANCE_FUTURES.ws.1.0",
                                         "Tests/fixtures/binance_docs.jsonl",
                                         "Tests/fixtures/binance_microseconds.jsonl"};

/* Compares the next reference line with ours. */
static int same_as_reference(FILE *ref, const rf_bn_event *ev, const char *file, long lineno)
{
    static char *want;
    static size_t want_cap;
    out o;
    format_event(ev, &o);
    CHECK(getline(&want, &want_cap, ref) > 0);
    size_t wl = strlen(want ? want : "");
    if (wl && want[wl - 1] == '\n') want[--wl] = 0;
    if (!want || strcmp(o.buf, want) != 0) {
        CHECK(0);
        fprintf(stderr, "%s:%ld\n  want %s\n  got  %s\n", file, lineno, want ? want : "", o.buf);
        return 0;
    }
    return 1;
}

static int real_data(void)
{
    char cmd[1024] = "python3 Tests/c/binance_reference.py";
    for (size_t f = 0; f < sizeof data_files / sizeof data_files[0]; f++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", data_files[f]);
    FILE *ref = popen(cmd, "r");
    CHECK(ref != NULL);
    if (!ref) return 1;
    char *line = NULL;
    size_t line_cap = 0;
    for (size_t f = 0; f < sizeof data_files / sizeof data_files[0]; f++) {
        FILE *in = fopen(data_files[f], "r");
        if (!in) {
            printf("  skipped %s: not found (its checks not run)\n", data_files[f]);
            continue;
        }
        int jsonl = strstr(data_files[f], ".jsonl") != NULL;
        ssize_t got;
        long counts[LAST_TYPE + 1] = {0}, lineno = 0, total = 0;
        while ((got = getline(&line, &line_cap, in)) > 0) {
            if (lineno++ == 0 && !jsonl) continue; /* the URL */
            size_t n = (size_t)got;
            if (line[n - 1] == '\n') line[--n] = 0;
            if (n == 0) continue;
            char *msg = jsonl ? line : strstr(line, ": ");
            CHECK(msg != NULL);
            msg = !msg ? line : jsonl ? msg : msg + 2;
            size_t mlen = n - (size_t)(msg - line);
            rf_bn_event ev;
            int rc = scan_n(msg, mlen, CAP, &ev);
            CHECK_EQ(rc, 0);
            CHECK(ev.type > RF_BN_UNKNOWN && ev.type <= LAST_TYPE);
            if (!same_as_reference(ref, &ev, data_files[f], lineno)) CHECK_BAIL();
            counts[ev.type >= 0 && ev.type <= LAST_TYPE ? ev.type : 0]++, total++;
            if (ev.type == RF_BN_ARRAY) {
                /* Every element, as the reference lists them. */
                rf_bn_event el;
                size_t pos = 0, walked = 0;
                int r;
                while ((r = rf_bn_array_next(&ev, &pos, lv, CAP, &el)) == 1) {
                    walked++;
                    counts[el.type >= 0 && el.type <= LAST_TYPE ? el.type : 0]++;
                    if (!same_as_reference(ref, &el, data_files[f], lineno)) CHECK_BAIL();
                    if (walked > ev.u.array.count) break;
                }
                CHECK_EQ(r, 0);
                CHECK_EQ(walked, ev.u.array.count);
            }
            /* Exactly enough room is enough; one less is RF_ENOSPC. */
            if ((ev.type == RF_BN_DEPTH_UPDATE || ev.type == RF_BN_PARTIAL_DEPTH) && rc == 0) {
                size_t need = ev.u.depth.bid_count + ev.u.depth.ask_count;
                CHECK_EQ(scan_n(msg, mlen, need, &ev), 0);
                if (need) CHECK_EQ(scan_n(msg, mlen, need - 1, &ev), RF_ENOSPC);
            }
            if (jsonl) damage(msg, mlen); /* prefixes and corrupted bytes */
            else
                for (size_t k = 0; k < mlen; k++) CHECK_EQ(scan_n(msg, k, CAP, &ev), RF_EJSON);
        }
        printf("  %s: %ld messages:", data_files[f], total);
        for (int t = RF_BN_TRADE; t <= LAST_TYPE; t++)
            if (counts[t]) printf(" %ld %s", counts[t], type_name(t));
        printf("\n");
        fclose(in);
    }
    char *extra = NULL;
    size_t extra_cap = 0;
    CHECK(getline(&extra, &extra_cap, ref) <= 0); /* the reference has no extra lines */
    free(extra);
    free(line);
    CHECK_EQ(pclose(ref), 0);
    return 0;
}


/* ---- templates: one message as a list of members ------------------------
 * A member's first character says what leaving it out does: '!' required
 * (RF_EMISSING), '?' optional (same line), '~' changes the type (any code). */

#define MAX_MEMBERS 24

typedef struct tmpl {
    const char *members[MAX_MEMBERS];
    const char *want; /* the line for the raw form */
    int top_only;     /* a control answer: not an event, so not inside "data" */
} tmpl;

#define KLINE_K                                                                              \
    "{\"t\":1626992700000,\"T\":1626992759999,\"s\":\"CTKUSDT\",\"i\":\"1m\",\"f\":23961275," \
    "\"L\":23961322,\"o\":\"1.01000\",\"c\":\"1.01100\",\"h\":\"1.01200\",\"l\":\"1.00900\","  \
    "\"v\":\"3917\",\"n\":48,\"x\":false,\"q\":\"3957.89900\",\"V\":\"1729\",\"Q\":\"1748.01900\"," \
    "\"B\":\"0\"}"

static const tmpl templates[] = {
    {{"~\"e\":\"trade\"", "!\"E\":1672515782136", "!\"s\":\"BNBBTC\"", "!\"t\":12345",
      "!\"p\":\"0.001\"", "!\"q\":\"100\"", "?\"b\":88", "?\"a\":50", "!\"T\":1672515782135",
      "!\"m\":true", "?\"M\":true", 0},
     "trade stream= e=trade s=BNBBTC E=1672515782136 12345 - - 0.001 100 1672515782135 1", 0},
    {{"~\"e\":\"aggTrade\"", "!\"E\":1626992741424", "!\"a\":26129", "!\"s\":\"SUSHIUSDT\"",
      "!\"p\":\"7.6110\"", "!\"q\":\"-0.5\"", "!\"f\":100", "!\"l\":105", "!\"T\":1626992741400",
      "!\"m\":false", "?\"M\":true", 0},
     "aggTrade stream= e=aggTrade s=SUSHIUSDT E=1626992741424 26129 100 105 7.6110 -0.5 "
     "1626992741400 0", 0},
    {{"~\"e\":\"depthUpdate\"", "!\"E\":1626992741037", "?\"T\":1626992741024",
      "!\"s\":\"SUSHIUSDT\"", "!\"U\":600859599090", "!\"u\":600859600917",
      "?\"pu\":600859598061", "!\"b\":[[\"7.5040\",\"813\"],[\"7.6090\",\"0\"],[\"7.6110\",\"2\"]]",
      "!\"a\":[[\"7.6150\",\"1563\"],[\"7.6220\",\"3284\",\"extra\",[1,{\"x\":null}]]]", 0},
     "depthUpdate stream= e=depthUpdate s=SUSHIUSDT E=1626992741037 600859599090 600859600917 "
     "600859598061 1626992741024 nb=3 na=2 7.5040:813 7.6090:0 7.6110:2 7.6150:1563 7.6220:3284", 0},
    {{"~\"e\":\"depthUpdate\"", "!\"E\":1633998512068", "!\"s\":\"NKNUSDT\"", "!\"U\":499869750",
      "!\"u\":499869752", "!\"b\":[]", "!\"a\":[[\"0.35130000\",\"6195.00000000\"]]", 0},
     "depthUpdate stream= e=depthUpdate s=NKNUSDT E=1633998512068 499869750 499869752 - - "
     "nb=0 na=1 0.35130000:6195.00000000", 0},
    {{"!\"lastUpdateId\":160", "!\"bids\":[[\"0.0024\",\"10\"],[\"0.0023\",\"1\"]]",
      "!\"asks\":[[\"0.0026\",\"100\"]]", 0},
     "partialDepth stream= e= s= E=- - 160 - - nb=2 na=1 0.0024:10 0.0023:1 0.0026:100", 0},
    {{"!\"u\":400900217", "!\"s\":\"BNBUSDT\"", "!\"b\":\"25.35190000\"", "!\"B\":\"31.21000000\"",
      "!\"a\":\"25.36520000\"", "!\"A\":\"40.66000000\"", 0},
     "bookTicker stream= e= s=BNBUSDT E=- 400900217 25.35190000 31.21000000 25.36520000 "
     "40.66000000 -", 0},
    {{"~\"e\":\"bookTicker\"", "!\"u\":600859600576", "!\"s\":\"SUSHIUSDT\"", "!\"b\":\"7.6110\"",
      "!\"B\":\"2\"", "!\"a\":\"7.6120\"", "!\"A\":\"297\"", "?\"T\":1626992741012",
      "!\"E\":1626992741017", 0},
     "bookTicker stream= e=bookTicker s=SUSHIUSDT E=1626992741017 600859600576 7.6110 2 7.6120 "
     "297 1626992741012", 0},
    {{"~\"e\":\"kline\"", "!\"E\":1626992741424", "!\"s\":\"CTKUSDT\"", "!\"k\":" KLINE_K},
     "kline stream= e=kline s=CTKUSDT E=1626992741424 1m 1626992700000 1626992759999 23961275 "
     "23961322 1.01000 1.01200 1.00900 1.01100 3917 3957.89900 1729 1748.01900 48 0", 0},
    {{"?\"e\":\"somethingNew\"", "?\"E\":123", "?\"s\":\"BTCUSDT\"", "?\"c\":\"1.0\"",
      "?\"x\":[1,{\"y\":null,\"z\":[true,false,-0.5e+3]}]", 0},
     "unknown stream= e=somethingNew s=BTCUSDT E=123", 0},
    {{"~\"e\":\"24hrMiniTicker\"", "!\"E\":1672515782136", "!\"s\":\"BNBBTC\"", "!\"c\":\"0.0025\"",
      "!\"o\":\"0.0010\"", "!\"h\":\"0.0025\"", "!\"l\":\"0.0010\"", "!\"v\":\"10000\"",
      "!\"q\":\"18\"", "?\"M\":[null]", 0},
     "miniTicker stream= e=24hrMiniTicker s=BNBBTC E=1672515782136 - - - - 0.0025 - - - - - 0.0010 "
     "0.0025 0.0010 10000 18 - - - - - w=", 0},
    {{"~\"e\":\"24hrTicker\"", "!\"E\":1672515782136", "!\"s\":\"BNBBTC\"", "!\"p\":\"0.0015\"",
      "!\"P\":\"250.00\"", "!\"w\":\"0.0018\"", "?\"x\":\"0.0009\"", "!\"c\":\"0.0025\"",
      "!\"Q\":\"10\"", "?\"b\":\"0.0024\"", "?\"B\":\"10\"", "?\"a\":\"0.0026\"", "?\"A\":\"100\"",
      "!\"o\":\"0.0010\"", "!\"h\":\"0.0025\"", "!\"l\":\"0.0010\"", "!\"v\":\"10000\"", "!\"q\":\"18\"",
      "!\"O\":0", "!\"C\":86400000", "!\"F\":0", "!\"L\":18150", "!\"n\":18151", 0},
     "ticker stream= e=24hrTicker s=BNBBTC E=1672515782136 0.0015 250.00 0.0018 0.0009 0.0025 10 "
     "0.0024 10 0.0026 100 0.0010 0.0025 0.0010 10000 18 0 86400000 0 18150 18151 w=", 0},
    {{"~\"e\":\"4hTicker\"", "!\"E\":1672515782136", "!\"s\":\"BNBBTC\"", "!\"p\":\"-0.0015\"",
      "!\"P\":\"-37.50\"", "!\"o\":\"0.0040\"", "!\"h\":\"0.0045\"", "!\"l\":\"0.0020\"",
      "!\"c\":\"0.0025\"", "!\"w\":\"0.0031\"", "!\"v\":\"40000\"", "!\"q\":\"124\"",
      "!\"O\":1675202173749", "!\"C\":1675216573749", "!\"F\":-1", "!\"L\":-1", "!\"n\":0", 0},
     "rollingTicker stream= e=4hTicker s=BNBBTC E=1672515782136 -0.0015 -37.50 0.0031 - 0.0025 - - - "
     "- - 0.0040 0.0045 0.0020 40000 124 1675202173749 1675216573749 -1 -1 0 w=4h", 0},
    {{"~\"e\":\"avgPrice\"", "!\"E\":1693907033000", "!\"s\":\"BTCUSDT\"", "!\"i\":\"5m\"",
      "!\"w\":\"25776.86000000\"", "!\"T\":1693907032213", 0},
     "avgPrice stream= e=avgPrice s=BTCUSDT E=1693907033000 5m 25776.86000000 1693907032213", 0},
    {{"~\"e\":\"serverShutdown\"", "!\"E\":1770123456789", "?\"x\":{}"},
     "serverShutdown stream= e=serverShutdown s= E=1770123456789", 0},
    {{"~\"result\":[\"btcusdt@aggTrade\", {\"a\" : [ 1 , \"x y\" ]}]", "!\"id\":3", "?\"x\":{}"},
     "response stream= e= s= E=- id=3 id_text=3 result=[\"btcusdt@aggTrade\",{\"a\":[1,\"x y\"]}]", 1},
    {{"~\"result\":null", "!\"id\":\"req-7\""},
     "response stream= e= s= E=- id=- id_text=\"req-7\" result=null", 1},
    {{"~\"error\":{\"code\":2,\"msg\":\"Invalid request\",\"x\":1}", "?\"id\":null"},
     "error stream= e= s= E=- id=- id_text=null code=2 msg=Invalid request", 1},
    {{"~\"code\":0", "~\"msg\":\"Unknown property\"", "?\"id\":-12"},
     "error stream= e= s= E=- id=-12 id_text=-12 code=0 msg=Unknown property", 1},
};

/* The members in the order given by idx (skipping `omit`), as an object;
 * ws adds whitespace around every token boundary the members expose. */
static size_t build(const tmpl *t, const int *idx, int n, int omit, int ws, char *buf)
{
    size_t o = 0;
    o += (size_t)sprintf(buf + o, ws ? " {\n " : "{");
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (idx[i] == omit) continue;
        if (!first) o += (size_t)sprintf(buf + o, ws ? " ,\t" : ",");
        o += (size_t)sprintf(buf + o, "%s", t->members[idx[i]] + 1);
        first = 0;
    }
    o += (size_t)sprintf(buf + o, ws ? "\r\n} " : "}");
    return o;
}

static void check_line(const char *m, size_t n, const char *want)
{
    rf_bn_event ev;
    int rc = scan_n(m, n, CAP, &ev);
    CHECK_EQ(rc, 0);
    out o;
    format_event(&ev, &o);
    if (strcmp(o.buf, want) != 0) {
        CHECK(0);
        fprintf(stderr, "message %.*s\n  want %s\n  got  %s\n", (int)n, m, want, o.buf);
    }
    if (ev.type == RF_BN_DEPTH_UPDATE || ev.type == RF_BN_PARTIAL_DEPTH) {
        CHECK(ev.u.depth.bids == lv);
        CHECK(ev.u.depth.asks == lv + ev.u.depth.bid_count);
    }
}

static void templates_check(void)
{
    static char m[4096], c[4200], want[1024];
    for (size_t ti = 0; ti < sizeof templates / sizeof templates[0]; ti++) {
        const tmpl *t = &templates[ti];
        int n = 0, idx[MAX_MEMBERS];
        while (n < MAX_MEMBERS && t->members[n]) idx[n] = n, n++;
        /* Every rotation and its reverse: "e" last, asks before bids... */
        for (int r = 0; r < n; r++)
            for (int rev = 0; rev < 2; rev++) {
                int ord[MAX_MEMBERS];
                for (int i = 0; i < n; i++) ord[i] = idx[(rev ? n - 1 - i + r : i + r) % n];
                for (int ws = 0; ws < 2; ws++) check_line(m, build(t, ord, n, -1, ws, m), t->want);
            }
        size_t len = build(t, idx, n, -1, 0, m);
        damage(m, len);
        /* Combined, in both key orders and with top-level noise. */
        if (t->top_only) goto omit;
        const char *rest = strstr(t->want, " stream=") + 8;
        snprintf(want, sizeof want, "%.*s stream=a@b%s", (int)(rest - 8 - t->want), t->want, rest);
        static const char *const wraps[] = {
            "{\"stream\":\"a@b\",\"data\":%s}",
            "{\"data\":%s,\"stream\":\"a@b\"}",
            ("{\"e\":\"trade\",\"u\":1,\"data\":%s,\"id\":{\"data\":{}},\"stream\":\"a@b\","
             "\"data\":{},\"e\":5}"),
        };
        for (size_t w = 0; w < sizeof wraps / sizeof wraps[0]; w++)
            check_line(c, (size_t)snprintf(c, sizeof c, wraps[w], m), want);
        /* Leaving out each member. */
    omit:
        for (int i = 0; i < n; i++) {
            rf_bn_event ev;
            len = build(t, idx, n, i, 0, m);
            int rc = scan_n(m, len, CAP, &ev);
            char kind = t->members[i][0];
            if (kind == '!') CHECK_EQ(rc, RF_EMISSING);
            else if (kind == '~') CHECK(known_rc(rc));
            else {
                const char *tn = type_name(ev.type);
                CHECK_EQ(rc, 0);
                CHECK(!strncmp(t->want, tn, strlen(tn)) && t->want[strlen(tn)] == ' ');
            }
        }
    }
}

/* ---- errors and odd but valid inputs ------------------------------------ */

/* A trade whose first member is x: the first occurrence of a key wins. */
#define TRADE(x)                                                                           \
    "{" x ",\"e\":\"trade\",\"E\":1,\"s\":\"S\",\"t\":1,\"p\":\"1.5\",\"q\":\"2\",\"T\":3," \
    "\"m\":false}"
#define DEPTH(x) "{" x ",\"e\":\"depthUpdate\",\"E\":1,\"s\":\"S\",\"U\":1,\"u\":2,\"b\":[],\"a\":[]}"

#define MINI(x)                                                                                  \
    "{" x ",\"e\":\"24hrMiniTicker\",\"E\":1,\"s\":\"S\",\"c\":\"1\",\"o\":\"1\",\"h\":\"1\",\"l\":\"1\","   \
    "\"v\":\"1\",\"q\":\"1\"}"

typedef struct expect {
    const char *msg;
    int rc;
} expect;

static const expect cases[] = {
    /* accepted */
    {TRADE("\"x\":1"), 0}, {TRADE("\"t\":9223372036854775807"), 0}, {TRADE("\"t\":-0"), 0},
    {TRADE("\"t\":-9223372036854775807"), 0}, {TRADE("\"p\":\"0\""), 0},
    {TRADE("\"x\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\\u0000\""), 0},
    {TRADE("\"x\":{\"a\":[[[{}]],[],{\"b\":[1,-2.5E-3,\"\",null]}]}"), 0},
    {TRADE("\"\\u0078\":[]"), 0},
    {"{}", 0}, {"{\"result\":null,\"id\":1}", 0},
    {" \t\r\n{\"e\":\"somethingNew\",\"E\":\"not checked\"} \n", 0},
    {"{\"data\":5,\"stream\":\"x\"}", 0}, /* not combined: an unknown event */
    /* malformed JSON */
    {"", RF_EJSON}, {" ", RF_EJSON}, {"\"e\"", RF_EJSON}, {"null", RF_EJSON},
    {"{}x", RF_EJSON}, {"{}{}", RF_EJSON}, {"{} ,", RF_EJSON}, {"{,}", RF_EJSON},
    {"{\"a\":1,}", RF_EJSON}, {"{\"a\" 1}", RF_EJSON}, {"{\"a\":}", RF_EJSON}, {"{a:1}", RF_EJSON},
    {"{'a':1}", RF_EJSON}, {"{\"a\":[1,]}", RF_EJSON}, {"{\"a\":[,1]}", RF_EJSON},
    {"{\"a\":[1 2]}", RF_EJSON}, {"{\"a\":{\"b\"}}", RF_EJSON}, {"{\"a\":{\"b\":1,}}", RF_EJSON},
    {TRADE("\"t\":01"), RF_EJSON}, {TRADE("\"t\":-"), RF_EJSON}, {TRADE("\"t\":+1"), RF_EJSON},
    {TRADE("\"t\":1."), RF_EJSON}, {TRADE("\"t\":.5"), RF_EJSON}, {TRADE("\"t\":1e"), RF_EJSON},
    {TRADE("\"t\":1e+"), RF_EJSON}, {TRADE("\"t\":NaN"), RF_EJSON}, {TRADE("\"m\":tru"), RF_EJSON},
    {TRADE("\"m\":True"), RF_EJSON}, {TRADE("\"m\":nul"), RF_EJSON}, {TRADE("\"t\":0x10"), RF_EJSON},
    {TRADE("\"x\":\"\\x\""), RF_EJSON}, {TRADE("\"x\":\"\\u12G4\""), RF_EJSON},
    {TRADE("\"x\":\"\\u123\""), RF_EJSON}, {TRADE("\"x\":\"\\\""), RF_EJSON},
    {TRADE("\"x\":\"a\x01\""), RF_EJSON}, {TRADE("\"x\":\"a\tb\""), RF_EJSON},
    {TRADE("\"x\":\"a\nb\""), RF_EJSON}, {TRADE("\"\x1f\":1"), RF_EJSON},
    {TRADE("\"x\":1,\"y\":[[\"1\",\"2\"],]"), RF_EJSON},
    {DEPTH("\"b\":[[\"1\",\"2\",]]"), RF_EJSON}, {DEPTH("\"b\":[[\"1\" \"2\"]]"), RF_EJSON},
    {DEPTH("\"b\":[[\"1\",\"2\"] [\"3\",\"4\"]]"), RF_EJSON}, {DEPTH("\"b\":[[\"1\",\"2\"]"), RF_EJSON},
    {"{\"stream\":\"a\",\"data\":{\"e\":\"trade\"}", RF_EJSON},
    {"{\"stream\":\"a\",\"data\":{\"e\":\"trade\"}}}", RF_EJSON},
    /* wrong types */
    {TRADE("\"e\":5"), RF_ETYPE}, {TRADE("\"E\":\"1\""), RF_ETYPE}, {TRADE("\"t\":1.5"), RF_ETYPE},
    {TRADE("\"t\":1e3"), RF_ETYPE}, {TRADE("\"t\":1.0"), RF_ETYPE}, {TRADE("\"t\":null"), RF_ETYPE},
    {TRADE("\"t\":\"12\""), RF_ETYPE}, {TRADE("\"t\":[1]"), RF_ETYPE}, {TRADE("\"p\":1.5"), RF_ETYPE},
    {TRADE("\"p\":null"), RF_ETYPE}, {TRADE("\"q\":[\"1\"]"), RF_ETYPE}, {TRADE("\"m\":\"true\""), RF_ETYPE},
    {TRADE("\"m\":1"), RF_ETYPE}, {TRADE("\"m\":null"), RF_ETYPE}, {TRADE("\"s\":5"), RF_ETYPE},
    {TRADE("\"s\":{}"), RF_ETYPE}, {TRADE("\"T\":true"), RF_ETYPE},
    {DEPTH("\"b\":\"1\""), RF_ETYPE}, {DEPTH("\"a\":{}"), RF_ETYPE}, {DEPTH("\"b\":[1]"), RF_ETYPE},
    {DEPTH("\"b\":[{\"p\":\"1\"}]"), RF_ETYPE}, {DEPTH("\"b\":[[\"1\"]]"), RF_ETYPE},
    {DEPTH("\"b\":[[]]"), RF_ETYPE}, {DEPTH("\"b\":[[1,\"2\"]]"), RF_ETYPE},
    {DEPTH("\"a\":[[\"1\",2]]"), RF_ETYPE}, {DEPTH("\"pu\":\"1\""), RF_ETYPE},
    {DEPTH("\"T\":1.5"), RF_ETYPE},
    {"{\"e\":\"kline\",\"E\":1,\"s\":\"S\",\"k\":[]}", RF_ETYPE},
    {"{\"stream\":5,\"data\":{}}", RF_ETYPE},
    {"{\"u\":1,\"s\":\"S\",\"b\":[[\"1\",\"2\"]],\"B\":\"1\",\"a\":\"1\",\"A\":\"1\"}", RF_ETYPE},
    /* overflow */
    {TRADE("\"t\":9223372036854775808"), RF_EOVERFLOW}, {TRADE("\"t\":-9223372036854775808"), RF_EOVERFLOW},
    {TRADE("\"t\":18446744073709551616"), RF_EOVERFLOW}, {TRADE("\"E\":99999999999999999999999999"), RF_EOVERFLOW},
    {DEPTH("\"U\":-99999999999999999999"), RF_EOVERFLOW},
    {TRADE("\"p\":\"99999999999999999999\""), RF_EOVERFLOW},
    /* bad decimals */
    {TRADE("\"p\":\"\""), RF_EDECIMAL}, {TRADE("\"p\":\"1.2.3\""), RF_EDECIMAL},
    {TRADE("\"p\":\"1e5\""), RF_EDECIMAL}, {TRADE("\"p\":\" 1\""), RF_EDECIMAL},
    {TRADE("\"q\":\"+1\""), RF_EDECIMAL}, {TRADE("\"q\":\".5\""), RF_EDECIMAL},
    {TRADE("\"q\":\"\\u0031\""), RF_EDECIMAL}, {DEPTH("\"b\":[[\"abc\",\"1\"]]"), RF_EDECIMAL},
    {DEPTH("\"a\":[[\"1\",\"2\"],[\"1\",\"x\"]]"), RF_EDECIMAL},
    /* missing */
    {"{\"stream\":\"a@b\",\"data\":{\"e\":\"trade\"}}", RF_EMISSING},
    {"{\"data\":{\"u\":1,\"s\":\"S\"}}", RF_EMISSING},
    {"{\"stream\":\"btcusdt@bookTicker\",\"data\":{}}", RF_EMISSING},
    {"{\"stream\":\"btcusdt@depth10@100ms\",\"data\":{\"x\":1}}", RF_EMISSING},
    {"{\"e\":\"kline\",\"E\":1,\"s\":\"S\",\"k\":{}}", RF_EMISSING},
    /* the ticker family, avgPrice, serverShutdown */
    {MINI("\"c\":1.5"), RF_ETYPE}, {MINI("\"v\":null"), RF_ETYPE}, {MINI("\"q\":\"1.2.3\""), RF_EDECIMAL},
    {MINI("\"o\":\"99999999999999999999\""), RF_EOVERFLOW}, {MINI("\"O\":\"1\""), RF_ETYPE},
    {MINI("\"n\":99999999999999999999"), RF_EOVERFLOW}, {MINI("\"x\":5"), RF_ETYPE},
    {MINI("\"b\":[[\"1\",\"2\"]]"), RF_ETYPE}, {MINI("\"Q\":\"1e5\""), RF_EDECIMAL},
    {"{\"e\":\"24hrMiniTicker\",\"E\":1,\"s\":\"S\",\"c\":\"1\",\"o\":\"1\",\"h\":\"1\",\"l\":\"1\",\"v\":\"1\"}", RF_EMISSING},
    {"{\"e\":\"24hrTicker\",\"E\":1,\"s\":\"S\",\"c\":\"1\",\"o\":\"1\",\"h\":\"1\",\"l\":\"1\",\"v\":\"1\",\"q\":\"1\"}", RF_EMISSING},
    {"{\"e\":\"1hTicker\",\"E\":1,\"s\":\"S\",\"c\":\"1\",\"o\":\"1\",\"h\":\"1\",\"l\":\"1\",\"v\":\"1\",\"q\":\"1\"}", RF_EMISSING},
    {"{\"e\":\"2hTicker\",\"E\":1}", 0}, /* no such window: an unknown event */
    {"{\"e\":\"avgPrice\",\"E\":1,\"s\":\"S\",\"i\":\"5m\",\"w\":5,\"T\":1}", RF_ETYPE},
    {"{\"e\":\"avgPrice\",\"E\":1,\"s\":\"S\",\"i\":5,\"w\":\"5\",\"T\":1}", RF_ETYPE},
    {"{\"e\":\"avgPrice\",\"E\":1,\"s\":\"S\",\"i\":\"5m\",\"w\":\"5\"}", RF_EMISSING},
    {"{\"e\":\"serverShutdown\"}", RF_EMISSING}, {"{\"event\":{\"e\":\"serverShutdown\"}}", RF_EMISSING},
    {"{\"event\":{\"e\":\"serverShutdown\",\"E\":1.5}}", RF_ETYPE},
    {"{\"event\":{\"e\":\"serverShutdown\",\"E\":1}", RF_EJSON},
    {"{\"event\":{\"e\":\"somethingNew\"},\"x\":[]}", 0}, {"{\"event\":5}", 0},
    /* control answers */
    {"{\"result\":null}", RF_EMISSING}, {"{\"result\":null,\"id\":1.5}", RF_ETYPE},
    {"{\"result\":null,\"id\":true}", RF_ETYPE}, {"{\"result\":null,\"id\":[1]}", RF_ETYPE},
    {"{\"result\":null,\"id\":99999999999999999999}", RF_EOVERFLOW},
    {"{\"result\":[1,],\"id\":1}", RF_EJSON}, {"{\"result\":,\"id\":1}", RF_EJSON},
    {"{\"error\":5,\"id\":1}", RF_ETYPE}, {"{\"error\":{\"code\":\"2\",\"msg\":\"x\"}}", RF_ETYPE},
    {"{\"error\":{\"code\":2}}", RF_EMISSING}, {"{\"error\":{\"msg\":\"x\"}}", RF_EMISSING},
    {"{\"error\":{\"code\":2,\"msg\":5}}", RF_ETYPE},
    {"{\"error\":{\"code\":2,\"msg\":\"x\"},\"id\":{}}", RF_ETYPE},
    {"{\"error\":{\"code\":1e3,\"msg\":\"x\"}}", RF_ETYPE},
    {"{\"error\":{\"code\":99999999999999999999,\"msg\":\"x\"}}", RF_EOVERFLOW},
    {"{\"code\":1.5,\"msg\":\"x\"}", RF_ETYPE}, {"{\"code\":1,\"msg\":null}", RF_ETYPE},
    {"{\"code\":1}", 0}, /* neither an answer nor an event: unknown */
    {"{\"stream\":\"a\",\"data\":{\"result\":null}}", 0}, /* answers are never inside "data" */
    /* arrays */
    {"[]", 0}, {" [ ] ", 0}, {"[1,\"x\",null]", 0}, {"[", RF_EJSON}, {"[1,]", RF_EJSON},
    {"[,1]", RF_EJSON}, {"[{}", RF_EJSON}, {"[]]", RF_EJSON}, {"[] []", RF_EJSON},
    {"[{\"a\":}]", RF_EJSON}, {"{\"stream\":\"x\",\"data\":[1,2}", RF_EJSON},
    {"{\"data\":[]}", RF_EMISSING}, {"{\"data\":[],\"stream\":7}", RF_ETYPE},
};

static void cases_check(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rf_bn_event ev;
        int rc = scan(cases[i].msg, &ev);
        if (rc != cases[i].rc) {
            CHECK_EQ(rc, cases[i].rc);
            fprintf(stderr, "  case %zu: %s\n", i, cases[i].msg);
        }
        CHECK(known_rc(rc));
    }
    /* Errors of a later field do not hide malformed JSON, and an error in a
     * list the event does not use is not reported. */
    rf_bn_event ev;
    CHECK_EQ(scan(TRADE("\"t\":\"x\",\"z\":[1,]"), &ev), RF_EJSON);
    CHECK_EQ(scan(TRADE("\"b\":[[\"x\",\"1\"]],\"a\":[[\"1\"]]"), &ev), 0);
}

static void specifics_check(void)
{
    rf_bn_event ev;
    /* Escapes: keys and "e" are decoded for matching, values stay raw. */
    CHECK_EQ(scan("{\"\\u0065\":\"de\\u0070thUpdate\",\"E\":1,\"s\":\"BTC\\u0055SDT\",\"U\":1,"
                  "\"u\":2,\"\\u0062\":[],\"a\":[[\"1.0\",\"2.0\"]],\"l\\u0061stUpdateId\":7}", &ev), 0);
    CHECK_EQ(ev.type, RF_BN_DEPTH_UPDATE);
    CHECK(str_is(ev.symbol, "BTC\\u0055SDT"));
    CHECK(str_is(ev.event_name, "de\\u0070thUpdate"));
    CHECK_EQ(ev.u.depth.ask_count, 1);
    /* First occurrence wins; later ones only have to be valid JSON. */
    CHECK_EQ(scan(TRADE("\"p\":\"2.25\",\"p\":null"), &ev), 0);
    CHECK_EQ(ev.u.trade.price.mantissa, 225);
    CHECK_EQ(ev.u.trade.price.scale, 2);
    /* Level capacity: exactly enough, one short, none at all. */
    const char *d = DEPTH("\"a\":[[\"1\",\"2\"],[\"3\",\"4\"]],\"b\":[[\"5\",\"6\"]]");
    CHECK_EQ(scan_n(d, strlen(d), 3, &ev), 0);
    CHECK_EQ(ev.u.depth.bids[0].price.mantissa, 5);
    CHECK_EQ(ev.u.depth.asks[1].quantity.mantissa, 4);
    CHECK_EQ(scan_n(d, strlen(d), 2, &ev), RF_ENOSPC);
    CHECK_EQ(scan_n(d, strlen(d), 0, &ev), RF_ENOSPC);
    CHECK_EQ(scan_n(DEPTH("\"x\":0"), strlen(DEPTH("\"x\":0")), 0, &ev), 0);
    CHECK(ev.u.depth.bids == NULL && ev.u.depth.bid_count == 0);
    CHECK_EQ(rf_bn_scan((const uint8_t *)"{}", 2, NULL, 4, &ev), RF_EINVAL);
    /* Unused lists before the used ones still leave bids first, asks next. */
    const char *u = "{\"bids\":[[\"9\",\"9\"]],\"a\":[[\"1\",\"2\"]],\"asks\":[[\"8\",\"8\"],[\"7\",\"7\"]],"
                    "\"e\":\"depthUpdate\",\"E\":1,\"s\":\"S\",\"U\":1,\"u\":2,\"b\":[[\"3\",\"4\"],[\"5\",\"6\"]]}";
    check_line(u, strlen(u), "depthUpdate stream= e=depthUpdate s=S E=1 1 2 - - nb=2 na=1 3:4 5:6 1:2");
    /* Each kline field is required. */
    static const char *const kf[] = {"t", "T", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q"};
    for (size_t i = 0; i < sizeof kf / sizeof kf[0]; i++) {
        char m[1024], k[] = KLINE_K, key[8];
        snprintf(key, sizeof key, "\"%s\":", kf[i]);
        char *at = strstr(k, key);
        CHECK(at != NULL);
        if (at) at[1] = 'Z'; /* renamed: an unknown key */
        snprintf(m, sizeof m, "{\"e\":\"kline\",\"E\":1,\"s\":\"S\",\"k\":%s}", k);
        CHECK_EQ(scan(m, &ev), RF_EMISSING);
    }
    /* Nesting: 32 levels in all is the limit; a deep bomb is refused early. */
    for (int depth = 30; depth <= 34; depth++) {
        char m[256];
        int o = sprintf(m, "{\"x\":");
        for (int i = 1; i < depth; i++) o += sprintf(m + o, i % 2 ? "[" : "{\"k\":");
        m[o++] = '0';
        for (int i = depth - 1; i >= 1; i--) m[o++] = i % 2 ? ']' : '}';
        m[o++] = '}';
        CHECK_EQ(scan_n(m, (size_t)o, CAP, &ev), depth <= 32 ? 0 : RF_EJSON);
    }
    static char bomb[1 << 20] = "{\"x\":";
    memset(bomb + 5, '[', sizeof bomb - 5);
    CHECK_EQ(scan_n(bomb, sizeof bomb, CAP, &ev), RF_EJSON);
    /* The scan keeps no state: the same bytes give the same event. */
    rf_bn_event a, b;
    out la, lb;
    const char *t = TRADE("\"x\":1");
    CHECK_EQ(scan(t, &a) + scan(t, &b), 0);
    format_event(&a, &la), format_event(&b, &lb);
    CHECK(!strcmp(la.buf, lb.buf));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cases[i].rc != RF_EJSON) damage(cases[i].msg, strlen(cases[i].msg));
}

/* ---- all-market arrays ---------------------------------------------------- */

/* The i-th generated miniTicker's numbers. */
static int64_t gen_time(size_t i) { return 1672515782136 + (int64_t)i * 7; }
static int64_t gen_close(size_t i) { return 25000000 + (int64_t)(i * 7919 % 1000003); }

static void arrays_check(void)
{
    enum { N = 1000 };
    size_t cap = N * 256 + 64, o = 0;
    char *m = malloc(cap);
    o += (size_t)sprintf(m + o, "{\"stream\":\"!miniTicker@arr\",\"data\":[");
    size_t body = o;
    for (size_t i = 0; i < N; i++)
        o += (size_t)sprintf(m + o,
                             "%s{\"e\":\"24hrMiniTicker\",\"E\":%" PRId64 ",\"s\":\"SYM%zuUSDT\","
                             "\"c\":\"%" PRId64 ".%08d\",\"o\":\"0.0010\",\"h\":\"0.0025\",\"l\":\"0.0010\","
                             "\"v\":\"%zu0000.5\",\"q\":\"18\"}",
                             i ? "," : "", gen_time(i), i, gen_close(i), (int)(i % 100000000), i);
    o += (size_t)sprintf(m + o, "]}");
    CHECK(o - body > 65536); /* more than a 16-bit length could hold */
    /* Combined, then the same array raw. */
    for (int raw = 0; raw < 2; raw++) {
        const char *msg = raw ? m + body - 1 : m;
        size_t len = raw ? o - body : o;
        rf_bn_event ev, el;
        CHECK_EQ(scan_n(msg, len, CAP, &ev), 0);
        CHECK_EQ(ev.type, RF_BN_ARRAY);
        CHECK_EQ(ev.u.array.count, N);
        CHECK(str_is(ev.stream, raw ? "" : "!miniTicker@arr"));
        CHECK(ev.u.array.items.len == o - body);
        size_t pos = 0, i = 0;
        int r;
        while ((r = rf_bn_array_next(&ev, &pos, lv, CAP, &el)) == 1 && i <= N) {
            char sym[32], close[48];
            snprintf(sym, sizeof sym, "SYM%zuUSDT", i);
            CHECK_EQ(el.type, RF_BN_MINI_TICKER);
            CHECK(str_is(el.symbol, sym));
            CHECK(str_is(el.stream, raw ? "" : "!miniTicker@arr"));
            CHECK_EQ(el.event_time, gen_time(i));
            char t[RF_DECIMAL_MAX_TEXT];
            rf_decimal_format(el.u.ticker.last_price, t, sizeof t);
            snprintf(close, sizeof close, "%" PRId64 ".%08d", gen_close(i), (int)(i % 100000000));
            CHECK(!strcmp(t, close));
            CHECK_EQ(el.u.ticker.volume.mantissa, (int64_t)i * 100000 + 5);
            CHECK_EQ(el.u.ticker.present, RF_BN_TK_LAST_PRICE | RF_BN_TK_OPEN_PRICE | RF_BN_TK_HIGH_PRICE |
                                              RF_BN_TK_LOW_PRICE | RF_BN_TK_VOLUME | RF_BN_TK_QUOTE_VOLUME);
            CHECK_EQ(el.u.ticker.open_time, RF_BN_ABSENT);
            i++;
        }
        CHECK_EQ(r, 0);
        CHECK_EQ(i, N);
        CHECK_EQ(rf_bn_array_next(&ev, &pos, lv, CAP, &el), 0); /* and stays at the end */
    }
    free(m);

    /* Elements that do not scan are reported one by one; the walk goes on. */
    const char *bad = "[{\"e\":\"24hrMiniTicker\",\"E\":1}, 5 ,{\"e\":\"trade\",\"E\":1,\"s\":\"S\","
                      "\"t\":1,\"p\":\"1.5\",\"q\":\"2\",\"T\":3,\"m\":false},[],"
                      "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"S\",\"U\":1,\"u\":2,\"b\":[[\"1\",\"2\"]],"
                      "\"a\":[[\"3\",\"4\"]]},{\"p\":\"x\"},{\"e\":\"x\",\"s\":\"S\"}]";
    rf_bn_event ev, el;
    CHECK_EQ(scan(bad, &ev), 0);
    CHECK_EQ(ev.u.array.count, 7);
    static const int want[] = {RF_EMISSING, RF_ETYPE, 1, RF_ETYPE, 1, 1, 1, 0, 0};
    static const int want_type[] = {-1, -1, RF_BN_TRADE, -1, RF_BN_DEPTH_UPDATE, RF_BN_UNKNOWN, RF_BN_UNKNOWN};
    size_t pos = 0;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        /* One level of room: the depth element needs two. */
        int r = rf_bn_array_next(&ev, &pos, lv, k == 4 ? 1 : CAP, &el);
        CHECK_EQ(r, k == 4 ? RF_ENOSPC : want[k]);
        if (k == 4) {
            CHECK_EQ(pos, strstr(bad, ",{\"p\"") - bad);
            pos = (size_t)(strstr(bad, ",{\"e\":\"depth") - bad); /* again, with room */
            r = rf_bn_array_next(&ev, &pos, lv, CAP, &el);
            CHECK_EQ(r, 1);
            CHECK(el.u.depth.bid_count == 1 && el.u.depth.ask_count == 1 && el.u.depth.asks[0].price.mantissa == 3);
        }
        if (r == 1) CHECK_EQ(el.type, want_type[k]);
    }
    /* Misuse. */
    size_t p0 = 0, p1 = 1, big = 100000;
    CHECK_EQ(rf_bn_array_next(&ev, &p1, lv, CAP, &el), RF_EINVAL); /* inside an element */
    CHECK_EQ(rf_bn_array_next(&ev, &big, lv, CAP, &el), RF_EINVAL);
    CHECK_EQ(rf_bn_array_next(&ev, &p0, NULL, 4, &el), RF_EINVAL);
    CHECK_EQ(scan(TRADE("\"x\":1"), &ev), 0);
    CHECK_EQ(rf_bn_array_next(&ev, &p0, lv, CAP, &el), RF_EINVAL); /* not an array */
    CHECK_EQ(scan(" [ ] ", &ev), 0);
    CHECK(ev.type == RF_BN_ARRAY && ev.u.array.count == 0 && str_is(ev.u.array.items, "[ ]"));
    CHECK_EQ(rf_bn_array_next(&ev, &p0, lv, CAP, &el), 0);
    /* An element is a message of its own: nesting starts again at 1. */
    char deep[256];
    int d = sprintf(deep, "[{\"x\":");
    for (int i = 0; i < 30; i++) deep[d++] = '[';
    for (int i = 0; i < 30; i++) deep[d++] = ']';
    d += sprintf(deep + d, "}]");
    CHECK_EQ(scan_n(deep, (size_t)d, CAP, &ev), 0);
    p0 = 0;
    CHECK_EQ(rf_bn_array_next(&ev, &p0, lv, CAP, &el), 1);
    deep[1] = '[', deep[d - 2] = ']'; /* one level deeper than 32 in all */
    memmove(deep + 1, deep, (size_t)d), deep[0] = '[', deep[++d] = 0;
    deep[d - 1] = ']';
    CHECK_EQ(scan_n(deep, (size_t)d, CAP, &ev), RF_EJSON);
}

/* ---- stream names ----------------------------------------------------------- */

static void stream_kinds_check(void)
{
    static const struct { const char *name; int kind; } names[] = {
        {"btcusdt@trade", RF_BN_TRADE}, {"btcusdt@aggTrade", RF_BN_AGG_TRADE},
        {"btcusdt@miniTicker", RF_BN_MINI_TICKER}, {"btcusdt@ticker", RF_BN_TICKER},
        {"btcusdt@ticker_1h", RF_BN_ROLLING_TICKER}, {"btcusdt@ticker_4h", RF_BN_ROLLING_TICKER},
        {"btcusdt@ticker_1d", RF_BN_ROLLING_TICKER}, {"btcusdt@bookTicker", RF_BN_BOOK_TICKER},
        {"btcusdt@avgPrice", RF_BN_AVG_PRICE}, {"btcusdt@depth", RF_BN_DEPTH_UPDATE},
        {"btcusdt@depth@100ms", RF_BN_DEPTH_UPDATE}, {"btcusdt@depth@250ms", RF_BN_DEPTH_UPDATE},
        {"btcusdt@depth@500ms", RF_BN_DEPTH_UPDATE}, {"btcusdt@depth5", RF_BN_PARTIAL_DEPTH},
        {"btcusdt@depth10", RF_BN_PARTIAL_DEPTH}, {"btcusdt@depth20", RF_BN_PARTIAL_DEPTH},
        {"btcusdt@depth5@100ms", RF_BN_PARTIAL_DEPTH}, {"btcusdt@depth10@250ms", RF_BN_PARTIAL_DEPTH},
        {"btcusdt@depth20@500ms", RF_BN_PARTIAL_DEPTH}, {"!miniTicker@arr", RF_BN_ARRAY},
        {"!ticker@arr", RF_BN_ARRAY}, {"!ticker_1h@arr", RF_BN_ARRAY}, {"!ticker_4h@arr", RF_BN_ARRAY},
        {"!ticker_1d@arr", RF_BN_ARRAY}, {"!bookTicker", RF_BN_BOOK_TICKER},
        {"1000shibusdt@aggTrade", RF_BN_AGG_TRADE}, {"btcusdt_240329@depth", RF_BN_DEPTH_UPDATE},
        /* near misses */
        {"", RF_BN_UNKNOWN}, {"@trade", RF_BN_UNKNOWN}, {"btcusdt", RF_BN_UNKNOWN},
        {"btcusdt@", RF_BN_UNKNOWN}, {"btcusdt@trades", RF_BN_UNKNOWN}, {"btcusdt@Trade", RF_BN_UNKNOWN},
        {"btcusdt@trade ", RF_BN_UNKNOWN}, {"BTCUSDT@trade", RF_BN_UNKNOWN}, {"btc usdt@trade", RF_BN_UNKNOWN},
        {"btcusdt@aggtrade", RF_BN_UNKNOWN}, {"btcusdt@kline_", RF_BN_UNKNOWN}, {"btcusdt@kline", RF_BN_UNKNOWN},
        {"btcusdt@kline_2m", RF_BN_UNKNOWN}, {"btcusdt@kline_1H", RF_BN_UNKNOWN}, {"btcusdt@kline_10m", RF_BN_UNKNOWN},
        {"btcusdt@kline_1m@+08:00", RF_BN_UNKNOWN}, {"btcusdt@kline_1mm", RF_BN_UNKNOWN},
        {"btcusdt@ticker_", RF_BN_UNKNOWN}, {"btcusdt@ticker_2h", RF_BN_UNKNOWN}, {"btcusdt@ticker_1w", RF_BN_UNKNOWN},
        {"btcusdt@ticker_1h@arr", RF_BN_UNKNOWN}, {"btcusdt@depth15", RF_BN_UNKNOWN}, {"btcusdt@depth1", RF_BN_UNKNOWN},
        {"btcusdt@depth0", RF_BN_UNKNOWN}, {"btcusdt@depth@200ms", RF_BN_UNKNOWN}, {"btcusdt@depth@1000ms", RF_BN_UNKNOWN},
        {"btcusdt@depth5@", RF_BN_UNKNOWN}, {"btcusdt@depth@", RF_BN_UNKNOWN}, {"btcusdt@depth100ms", RF_BN_UNKNOWN},
        {"btcusdt@depth@100msx", RF_BN_UNKNOWN}, {"btcusdt@depth205", RF_BN_UNKNOWN}, {"btcusdt@markPrice", RF_BN_UNKNOWN},
        {"btcusdt@avgprice", RF_BN_UNKNOWN}, {"!miniTicker", RF_BN_UNKNOWN}, {"!miniTicker@arr@3000ms", RF_BN_UNKNOWN},
        {"!ticker_2h@arr", RF_BN_UNKNOWN}, {"!ticker_1h@ar", RF_BN_UNKNOWN}, {"!ticker_1h", RF_BN_UNKNOWN},
        {"!bookTicker@arr", RF_BN_UNKNOWN}, {"!markPrice@arr", RF_BN_UNKNOWN}, {"!", RF_BN_UNKNOWN},
        {"miniTicker@arr", RF_BN_UNKNOWN}, {"btcusdt@trade@trade", RF_BN_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int k = rf_bn_stream_kind(names[i].name, strlen(names[i].name));
        if (k != names[i].kind) fprintf(stderr, "  stream %s\n", names[i].name);
        CHECK_EQ(k, names[i].kind);
    }
    /* Every kline interval, and every other two-character one refused. */
    static const char *const iv[] = {"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h",
                                     "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"};
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
        char n[64];
        int len = snprintf(n, sizeof n, "ethbtc@kline_%s", iv[i]);
        CHECK_EQ(rf_bn_stream_kind(n, (size_t)len), RF_BN_KLINE);
        CHECK_EQ(rf_bn_stream_kind(n, (size_t)len - 1), len == 15 ? RF_BN_UNKNOWN : rf_bn_stream_kind(n, (size_t)len - 1));
    }
    long accepted = 0;
    for (int a = '0'; a <= '9'; a++)
        for (int b = 'A'; b <= 'z'; b++) {
            char n[32];
            int len = snprintf(n, sizeof n, "x@kline_%c%c", a, b);
            int known = 0;
            for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) known |= !strcmp(n + 8, iv[i]);
            CHECK_EQ(rf_bn_stream_kind(n, (size_t)len), known ? RF_BN_KLINE : RF_BN_UNKNOWN);
            accepted += known;
        }
    CHECK_EQ(accepted, 13); /* the two-character intervals */
    /* Only len bytes count. */
    CHECK_EQ(rf_bn_stream_kind("btcusdt@trade", 12), RF_BN_UNKNOWN);
    CHECK_EQ(rf_bn_stream_kind("btcusdt@depth5@100ms", 14), RF_BN_PARTIAL_DEPTH);
    CHECK_EQ(rf_bn_stream_kind(NULL, 0), RF_BN_UNKNOWN);
}

int main(void)
{
    /* Everything twice on an AVX2 CPU: the fast path has a copy of its
     * readers for AVX2 and one for every other x86-64 CPU. */
    int rounds = rf__decimal_use_avx2(1) ? 2 : 1;
    for (int r = 0; r < rounds; r++) {
        rf__decimal_use_avx2(r == 0);
        real_data();
        arrays_check();
        stream_kinds_check();
        templates_check();
        cases_check();
        specifics_check();
    }
    rf__decimal_use_avx2(1);
    printf("  fast and general paths agreed on %ld scans (%s)\n", fast_agreed,
           rounds == 2 ? "AVX2 and portable readers" : "portable readers");
    TEST_DONE("binance_scan");
}
