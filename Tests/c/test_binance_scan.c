/* The Binance message scanner: every recorded message against Python's json
 * module (Tests/c/binance_reference.py), then hand cases for every event type
 * in raw and combined form and every key order, and every error class:
 * truncation at every byte, single-byte corruption, wrong types, overflow,
 * bad decimals, missing fields, too many levels, nesting, escapes.
 *
 * Inputs are copied into exactly-sized heap buffers so that ASan sees any
 * read past the end of a message. */
#include <string.h>

#include "check.h"
#include "ringfeed/binance.h"
#include "ringfeed/error.h"

#define CAP 128

static rf_bn_level lv[CAP];

/* Scans a copy of m[0..n) with the given level capacity. The copy is kept
 * until the next call so views stay valid for the checks. */
static int scan_n(const char *m, size_t n, size_t cap, rf_bn_event *ev)
{
    static uint8_t *copy;
    free(copy);
    copy = malloc(n ? n : 1);
    memcpy(copy, m, n);
    return rf_bn_scan(copy, n, cap ? lv : NULL, cap, ev);
}

static int scan(const char *m, rf_bn_event *ev) { return scan_n(m, strlen(m), CAP, ev); }

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

typedef struct out { char buf[8192]; } out;

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
    static const char *const names[] = {"unknown", "trade", "aggTrade", "depthUpdate",
                                        "partialDepth", "bookTicker", "kline"};
    return t >= 0 && t <= RF_BN_KLINE ? names[t] : "?";
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

/* ---- the recorded streams ------------------------------------------------ */

static const char *const data_files[] = {"../shared/data/binance/BINANCE.ws.1.0",
                                         "../shared/data/binance/BINANCE_FUTURES.ws.1.0"};

static int real_data(void)
{
    FILE *ref = popen("python3 Tests/c/binance_reference.py", "r");
    CHECK(ref != NULL);
    if (!ref) return 1;
    char *want = NULL, *line = NULL;
    size_t want_cap = 0, line_cap = 0;
    for (size_t f = 0; f < sizeof data_files / sizeof data_files[0]; f++) {
        FILE *in = fopen(data_files[f], "r");
        if (!in) {
            printf("  skipped %s: not found (real-data checks not run)\n", data_files[f]);
            continue;
        }
        ssize_t got;
        long counts[RF_BN_KLINE + 1] = {0}, lineno = 0, total = 0;
        while ((got = getline(&line, &line_cap, in)) > 0) {
            if (lineno++ == 0) continue; /* the URL */
            size_t n = (size_t)got;
            if (line[n - 1] == '\n') line[--n] = 0;
            if (n == 0) continue;
            char *msg = strstr(line, ": ");
            CHECK(msg != NULL);
            msg = msg ? msg + 2 : line;
            size_t mlen = n - (size_t)(msg - line);
            rf_bn_event ev;
            int rc = scan_n(msg, mlen, CAP, &ev);
            CHECK_EQ(rc, 0);
            CHECK(ev.type > RF_BN_UNKNOWN && ev.type <= RF_BN_KLINE);
            out o;
            format_event(&ev, &o);
            CHECK(getline(&want, &want_cap, ref) > 0);
            size_t wl = strlen(want);
            if (wl && want[wl - 1] == '\n') want[--wl] = 0;
            if (strcmp(o.buf, want) != 0) {
                CHECK(0);
                fprintf(stderr, "%s:%ld\n  want %s\n  got  %s\n", data_files[f], lineno, want, o.buf);
                CHECK_BAIL();
            }
            counts[ev.type >= 0 && ev.type <= RF_BN_KLINE ? ev.type : 0]++, total++;
            /* Exactly enough room is enough; one less is RF_ENOSPC. */
            if (ev.type == RF_BN_DEPTH_UPDATE && rc == 0) {
                size_t need = ev.u.depth.bid_count + ev.u.depth.ask_count;
                CHECK_EQ(scan_n(msg, mlen, need, &ev), 0);
                if (need) CHECK_EQ(scan_n(msg, mlen, need - 1, &ev), RF_ENOSPC);
            }
            for (size_t k = 0; k < mlen; k++) CHECK_EQ(scan_n(msg, k, CAP, &ev), RF_EJSON);
        }
        printf("  %s: %ld messages:", data_files[f], total);
        for (int t = RF_BN_TRADE; t <= RF_BN_KLINE; t++) printf(" %ld %s", counts[t], type_name(t));
        printf("\n");
        fclose(in);
    }
    CHECK(getline(&want, &want_cap, ref) <= 0); /* the reference has no extra lines */
    free(want);
    free(line);
    CHECK_EQ(pclose(ref), 0);
    return 0;
}


/* ---- templates: one message as a list of members ------------------------
 * A member's first character says what leaving it out does: '!' required
 * (RF_EMISSING), '?' optional (same line), '~' changes the type (any code). */

typedef struct tmpl {
    const char *members[14];
    const char *want; /* the line for the raw form */
} tmpl;

#define KLINE_K                                                                              \
    "{\"t\":1626992700000,\"T\":1626992759999,\"s\":\"CTKUSDT\",\"i\":\"1m\",\"f\":23961275," \
    "\"L\":23961322,\"o\":\"1.01000\",\"c\":\"1.01100\",\"h\":\"1.01200\",\"l\":\"1.00900\","  \
    "\"v\":\"3917\",\"n\":48,\"x\":false,\"q\":\"3957.89900\",\"V\":\"1729\",\"Q\":\"1748.01900\"," \
    "\"B\":\"0\"}"

static const tmpl templates[] = {
    {{"~\"e\":\"trade\"", "!\"E\":1672515782136", "!\"s\":\"BNBBTC\"", "!\"t\":12345",
      "!\"p\":\"0.001\"", "!\"q\":\"100\"", "?\"b\":88", "?\"a\":50", "!\"T\":1672515782135",
      "!\"m\":true", "?\"M\":true"},
     "trade stream= e=trade s=BNBBTC E=1672515782136 12345 - - 0.001 100 1672515782135 1"},
    {{"~\"e\":\"aggTrade\"", "!\"E\":1626992741424", "!\"a\":26129", "!\"s\":\"SUSHIUSDT\"",
      "!\"p\":\"7.6110\"", "!\"q\":\"-0.5\"", "!\"f\":100", "!\"l\":105", "!\"T\":1626992741400",
      "!\"m\":false", "?\"M\":true"},
     "aggTrade stream= e=aggTrade s=SUSHIUSDT E=1626992741424 26129 100 105 7.6110 -0.5 "
     "1626992741400 0"},
    {{"~\"e\":\"depthUpdate\"", "!\"E\":1626992741037", "?\"T\":1626992741024",
      "!\"s\":\"SUSHIUSDT\"", "!\"U\":600859599090", "!\"u\":600859600917",
      "?\"pu\":600859598061", "!\"b\":[[\"7.5040\",\"813\"],[\"7.6090\",\"0\"],[\"7.6110\",\"2\"]]",
      "!\"a\":[[\"7.6150\",\"1563\"],[\"7.6220\",\"3284\",\"extra\",[1,{\"x\":null}]]]"},
     "depthUpdate stream= e=depthUpdate s=SUSHIUSDT E=1626992741037 600859599090 600859600917 "
     "600859598061 1626992741024 nb=3 na=2 7.5040:813 7.6090:0 7.6110:2 7.6150:1563 7.6220:3284"},
    {{"~\"e\":\"depthUpdate\"", "!\"E\":1633998512068", "!\"s\":\"NKNUSDT\"", "!\"U\":499869750",
      "!\"u\":499869752", "!\"b\":[]", "!\"a\":[[\"0.35130000\",\"6195.00000000\"]]"},
     "depthUpdate stream= e=depthUpdate s=NKNUSDT E=1633998512068 499869750 499869752 - - "
     "nb=0 na=1 0.35130000:6195.00000000"},
    {{"!\"lastUpdateId\":160", "!\"bids\":[[\"0.0024\",\"10\"],[\"0.0023\",\"1\"]]",
      "!\"asks\":[[\"0.0026\",\"100\"]]"},
     "partialDepth stream= e= s= E=- - 160 - - nb=2 na=1 0.0024:10 0.0023:1 0.0026:100"},
    {{"!\"u\":400900217", "!\"s\":\"BNBUSDT\"", "!\"b\":\"25.35190000\"", "!\"B\":\"31.21000000\"",
      "!\"a\":\"25.36520000\"", "!\"A\":\"40.66000000\""},
     "bookTicker stream= e= s=BNBUSDT E=- 400900217 25.35190000 31.21000000 25.36520000 "
     "40.66000000 -"},
    {{"~\"e\":\"bookTicker\"", "!\"u\":600859600576", "!\"s\":\"SUSHIUSDT\"", "!\"b\":\"7.6110\"",
      "!\"B\":\"2\"", "!\"a\":\"7.6120\"", "!\"A\":\"297\"", "?\"T\":1626992741012",
      "!\"E\":1626992741017"},
     "bookTicker stream= e=bookTicker s=SUSHIUSDT E=1626992741017 600859600576 7.6110 2 7.6120 "
     "297 1626992741012"},
    {{"~\"e\":\"kline\"", "!\"E\":1626992741424", "!\"s\":\"CTKUSDT\"", "!\"k\":" KLINE_K},
     "kline stream= e=kline s=CTKUSDT E=1626992741424 1m 1626992700000 1626992759999 23961275 "
     "23961322 1.01000 1.01200 1.00900 1.01100 3917 3957.89900 1729 1748.01900 48 0"},
    {{"?\"e\":\"24hrTicker\"", "?\"E\":123", "?\"s\":\"BTCUSDT\"", "?\"c\":\"1.0\"",
      "?\"x\":[1,{\"y\":null,\"z\":[true,false,-0.5e+3]}]"},
     "unknown stream= e=24hrTicker s=BTCUSDT E=123"},
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
        int n = 0, idx[14];
        while (n < 14 && t->members[n]) idx[n] = n, n++;
        /* Every rotation and its reverse: "e" last, asks before bids... */
        for (int r = 0; r < n; r++)
            for (int rev = 0; rev < 2; rev++) {
                int ord[14];
                for (int i = 0; i < n; i++) ord[i] = idx[(rev ? n - 1 - i + r : i + r) % n];
                for (int ws = 0; ws < 2; ws++) check_line(m, build(t, ord, n, -1, ws, m), t->want);
            }
        size_t len = build(t, idx, n, -1, 0, m);
        damage(m, len);
        /* Combined, in both key orders and with top-level noise. */
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
    {"", RF_EJSON}, {" ", RF_EJSON}, {"[]", RF_EJSON}, {"\"e\"", RF_EJSON}, {"null", RF_EJSON},
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

int main(void)
{
    real_data();
    templates_check();
    cases_check();
    specifics_check();
    TEST_DONE("binance_scan");
}
