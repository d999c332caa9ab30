/* Binance order-book synchronisation. The recorded sessions (spot with its
 * /api/v3/depth snapshots, USD-M futures with its /fapi/v1/depth snapshots
 * and the pu chain) are replayed per symbol exactly as Binance documents:
 * every diff event from the stream's start, the snapshot loaded, stale
 * events dropped, the first one bridging, the rest chained. No false gap is
 * allowed, and the book after every event (top-10 checksum) and at the end
 * (every level, as text) must equal Tests/c/book_reference.py's, a plain
 * dict book built with Python's json from the same files. Then synthetic
 * sequences: gaps, stale and repeated events, the first-event edges,
 * crossing, and the states around them. */
#include <stdarg.h>
#include <string.h>

#include "book_internal.h"
#include "check.h"
#include "ringfeed/binance.h"
#include "ringfeed/book.h"
#include "ringfeed/error.h"

#define DATA "../shared/data/binance/"
#define CAP 8192

static rf_bn_level levels[CAP];

typedef struct file_lines {
    char *text;
    char **line;
    size_t n;
} file_lines;

static int read_lines(const char *path, file_lines *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    out->text = malloc((size_t)size + 1);
    size_t got = fread(out->text, 1, (size_t)size, f);
    fclose(f);
    out->text[got] = 0;
    size_t cap = 64;
    out->line = malloc(cap * sizeof *out->line);
    for (char *p = out->text; *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        if (*p) {
            if (out->n == cap) out->line = realloc(out->line, (cap *= 2) * sizeof *out->line);
            out->line[out->n++] = p;
        }
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

static void free_lines(file_lines *f)
{
    free(f->text);
    free(f->line);
}

/* Our output, compared line by line with the reference's. */
static FILE *ref;
static char *want;
static size_t want_cap;
static int mismatches;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
    char got[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(got, sizeof got, fmt, ap);
    va_end(ap);
    ssize_t n = getline(&want, &want_cap, ref);
    if (n > 0 && want[n - 1] == '\n') want[n - 1] = 0;
    int same = n > 0 && strcmp(want, got) == 0;
    CHECK(same);
    if (!same && mismatches++ < 5) fprintf(stderr, "  want %s\n  got  %s\n", n > 0 ? want : "(end)", got);
}

static const char *text(rf_decimal d, char *buf)
{
    rf_decimal_format(d, buf, RF_DECIMAL_MAX_TEXT);
    return buf;
}

static void emit_crc(const rf_book *b, size_t n, const char *fmt_prefix, const char *sym, int64_t u)
{
    uint32_t crc;
    rf_book_checksum(b, n, &crc);
    if (fmt_prefix)
        emit("event %s %lld %u", sym, (long long)u, crc);
    else
        emit("crc %zu %u", n, crc);
}

static void replay(const char *session, const char *ws_path, const char *http_path, unsigned flags)
{
    file_lines ws, http;
    if (read_lines(ws_path, &ws) || read_lines(http_path, &http)) {
        printf("  skipped %s: recordings not found (its checks not run)\n", session);
        return;
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 Tests/c/book_reference.py %s", session);
    ref = popen(cmd, "r");
    CHECK(ref != NULL);
    if (!ref) return;
    long total_applied = 0, total_skipped = 0;
    for (size_t h = 0; h < http.n; h++) {
        /* "<URL> -> <time>: <body>", the symbol in the URL */
        char *sym = strstr(http.line[h], "symbol="), *body = strstr(http.line[h], ": {");
        CHECK(sym && body);
        if (!sym || !body) continue;
        sym += 7;
        size_t sym_len = strcspn(sym, "&");
        char symbol[32] = {0};
        memcpy(symbol, sym, sym_len < 31 ? sym_len : 31);
        body += 2;
        rf_bn_event ev;
        CHECK_EQ(rf_bn_scan((const uint8_t *)body, strlen(body), levels, CAP, &ev), 0);
        CHECK_EQ(ev.type, RF_BN_PARTIAL_DEPTH);
        const rf_bn_depth *snap = &ev.u.depth;
        /* the grid of the symbol's texts, as the snapshot writes them */
        rf_book_config cfg = {snap->bids[0].price.scale, snap->bids[0].quantity.scale, 0};
        rf_book *b;
        CHECK_EQ(rf_book_create(&b, &cfg), 0);
        CHECK_EQ(rf_book_load_snapshot(b, snap->final_update_id, snap->bids, snap->bid_count, snap->asks,
                                       snap->ask_count),
                 RF_BOOK_APPLIED);
        CHECK_EQ(rf_book_state(b), RF_BOOK_SYNCING);
        CHECK_EQ(rf__book_check(b), 0);

        long applied = 0, skipped = 0, gaps = 0;
        for (size_t i = 1; i < ws.n; i++) { /* line 0: the URL */
            char *msg = strstr(ws.line[i], ": ");
            if (!msg) continue;
            msg += 2;
            rf_bn_event d;
            CHECK_EQ(rf_bn_scan((const uint8_t *)msg, strlen(msg), levels, CAP, &d), 0);
            if (d.type != RF_BN_DEPTH_UPDATE || d.symbol.len != sym_len || memcmp(d.symbol.ptr, symbol, sym_len))
                continue;
            int r = rf_book_apply_diff(b, &d.u.depth, flags);
            if (r == RF_BOOK_SKIPPED) {
                CHECK_EQ(applied, 0); /* only before the bridge, in a recording without repeats */
                skipped++;
                continue;
            }
            if (r != RF_BOOK_APPLIED) {
                fprintf(stderr, "  %s %s: rf_book_apply_diff U=%lld u=%lld: %s\n", session, symbol,
                        (long long)d.u.depth.first_update_id, (long long)d.u.depth.final_update_id,
                        rf_strerror(r));
                gaps++;
                break;
            }
            applied++;
            CHECK_EQ(rf_book_state(b), RF_BOOK_LIVE);
            emit_crc(b, 10, "event", symbol, d.u.depth.final_update_id);
        }
        CHECK_EQ(gaps, 0); /* no false gap */
        CHECK(applied > 0);
        CHECK_EQ(rf__book_check(b), 0);
        emit("book %s applied=%ld skipped=%ld last=%lld", symbol, applied, skipped,
             (long long)rf_book_last_update_id(b));
        for (int side = 0; side < 2; side++) {
            rf_book_iter it;
            rf_book_level l;
            rf_book_iter_init(&it, b, side);
            while (rf_book_iter_next(&it, &l)) {
                rf_bn_level t;
                char p[RF_DECIMAL_MAX_TEXT], q[RF_DECIMAL_MAX_TEXT];
                rf_book_level_decimal(b, l, &t);
                emit("%s %s %s", side == RF_BOOK_BID ? "bid" : "ask", text(t.price, p), text(t.quantity, q));
            }
        }
        emit_crc(b, 1, NULL, symbol, 0);
        emit_crc(b, 10, NULL, symbol, 0);
        emit_crc(b, 1000, NULL, symbol, 0);
        printf("  %s %-9s %4zu/%4zu levels, %3ld events applied, %ld dropped as older than the snapshot\n",
               session, symbol, (size_t)rf_book_depth(b, RF_BOOK_BID), (size_t)rf_book_depth(b, RF_BOOK_ASK),
               applied, skipped);
        total_applied += applied;
        total_skipped += skipped;
        rf_book_destroy(b);
    }
    CHECK_EQ(getline(&want, &want_cap, ref), -1); /* nothing left in the reference */
    CHECK_EQ(pclose(ref), 0);
    CHECK(total_applied > 100 && total_skipped > 0);
    free_lines(&ws);
    free_lines(&http);
}

/* ---- synthetic sequences ----------------------------------------------- */

static rf_bn_level bid_lv[4], ask_lv[4];

/* A diff with one bid and one ask level (prices in ticks at scale 2). */
static rf_bn_depth diff(int64_t U, int64_t u, int64_t pu, int64_t bid, int64_t ask)
{
    bid_lv[0] = (rf_bn_level){{bid, 2}, {1, 0}};
    ask_lv[0] = (rf_bn_level){{ask, 2}, {1, 0}};
    return (rf_bn_depth){U, u, pu, RF_BN_ABSENT, bid_lv, 1, ask_lv, 1};
}

static rf_book *loaded(int64_t lid)
{
    rf_book_config cfg = {2, 0, 0};
    rf_book *b;
    CHECK_EQ(rf_book_create(&b, &cfg), 0);
    rf_bn_level bids[] = {{{1000, 2}, {5, 0}}, {{990, 2}, {5, 0}}};
    rf_bn_level asks[] = {{{1010, 2}, {5, 0}}, {{1020, 2}, {5, 0}}};
    CHECK_EQ(rf_book_load_snapshot(b, lid, bids, 2, asks, 2), 0);
    return b;
}

static uint32_t crc_all(const rf_book *b)
{
    uint32_t c;
    rf_book_checksum(b, SIZE_MAX, &c);
    return c;
}

static void spot_rules(void)
{
    rf_book *b = loaded(100);
    rf_bn_depth d;
    d = diff(90, 95, RF_BN_ABSENT, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_BOOK_SKIPPED);
    d = diff(96, 100, RF_BN_ABSENT, 995, 1015); /* u == lastUpdateId: still older */
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_BOOK_SKIPPED);
    CHECK_EQ(rf_book_state(b), RF_BOOK_SYNCING);
    CHECK_EQ(rf_book_depth(b, RF_BOOK_BID), 2);
    d = diff(101, 105, RF_BN_ABSENT, 995, 1015); /* U == lastUpdateId + 1: the bridge */
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_BOOK_APPLIED);
    CHECK_EQ(rf_book_state(b), RF_BOOK_LIVE);
    CHECK_EQ(rf_book_last_update_id(b), 105);
    CHECK_EQ(rf_book_depth(b, RF_BOOK_BID), 3);
    d = diff(106, 106, RF_BN_ABSENT, 996, 1016);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_BOOK_APPLIED);
    d = diff(101, 105, RF_BN_ABSENT, 996, 1016); /* a repeat */
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_BOOK_SKIPPED);
    CHECK_EQ(rf_book_state(b), RF_BOOK_LIVE);
    uint32_t before = crc_all(b);
    d = diff(108, 110, RF_BN_ABSENT, 997, 1017); /* 107 missing */
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_EGAP);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    CHECK_EQ(crc_all(b), before); /* the old book stays readable */
    rf_book_level l;
    CHECK_EQ(rf_book_best(b, RF_BOOK_BID, &l), RF_BOOK_STALE);
    CHECK_EQ(l.price, 1000);
    d = diff(107, 107, RF_BN_ABSENT, 997, 1017);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_ESTATE); /* stale until reloaded */

    /* resync: a new snapshot, a first event straddling it */
    rf_bn_level bids[] = {{{1001, 2}, {7, 0}}};
    rf_bn_level asks[] = {{{1011, 2}, {7, 0}}};
    CHECK_EQ(rf_book_load_snapshot(b, 110, bids, 1, asks, 1), 0);
    CHECK_EQ(rf_book_state(b), RF_BOOK_SYNCING);
    CHECK_EQ(rf_book_depth(b, RF_BOOK_BID), 1);
    d = diff(95, 120, RF_BN_ABSENT, 1002, 1012); /* U < lastUpdateId + 1 < u */
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_BOOK_APPLIED);
    CHECK_EQ(rf_book_state(b), RF_BOOK_LIVE);
    d = diff(121, 121, RF_BN_ABSENT, 1003, 1013);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_BOOK_APPLIED);
    rf_book_destroy(b);

    /* a first event that starts after the snapshot: events were missed */
    b = loaded(100);
    d = diff(102, 105, RF_BN_ABSENT, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_EGAP);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    CHECK_EQ(rf_book_depth(b, RF_BOOK_BID), 2);
    rf_book_destroy(b);

    /* a first event ending exactly one past the snapshot */
    b = loaded(100);
    d = diff(101, 101, RF_BN_ABSENT, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_BOOK_APPLIED);
    /* the futures rule would not let this chain on: pu is ignored on spot */
    d = diff(102, 102, 7, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_BOOK_APPLIED);
    rf_book_destroy(b);
}

static void futures_rules(void)
{
    rf_book *b = loaded(100);
    rf_bn_depth d;
    d = diff(80, 99, 70, 995, 1015); /* u < lastUpdateId */
    CHECK_EQ(rf_book_apply_diff(b, &d, RF_BOOK_FUTURES), RF_BOOK_SKIPPED);
    d = diff(90, 100, 79, 995, 1015); /* u == lastUpdateId: the bridge on futures */
    CHECK_EQ(rf_book_apply_diff(b, &d, RF_BOOK_FUTURES), RF_BOOK_APPLIED);
    CHECK_EQ(rf_book_state(b), RF_BOOK_LIVE);
    d = diff(101, 130, 100, 996, 1016); /* pu == previous u */
    CHECK_EQ(rf_book_apply_diff(b, &d, RF_BOOK_FUTURES), RF_BOOK_APPLIED);
    d = diff(135, 140, 130, 997, 1017); /* U need not follow u on futures */
    CHECK_EQ(rf_book_apply_diff(b, &d, RF_BOOK_FUTURES), RF_BOOK_APPLIED);
    uint32_t before = crc_all(b);
    d = diff(141, 150, 139, 998, 1018); /* pu != previous u */
    CHECK_EQ(rf_book_apply_diff(b, &d, RF_BOOK_FUTURES), RF_EGAP);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    CHECK_EQ(crc_all(b), before);
    rf_book_destroy(b);

    /* the same u == lastUpdateId event is older than the snapshot on spot */
    b = loaded(100);
    d = diff(90, 100, 79, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_BOOK_SKIPPED);
    rf_book_destroy(b);

    /* a first event that starts after the snapshot */
    b = loaded(100);
    d = diff(101, 110, 100, 995, 1015); /* U > lastUpdateId, though pu names it */
    CHECK_EQ(rf_book_apply_diff(b, &d, RF_BOOK_FUTURES), RF_EGAP);
    rf_book_destroy(b);

    /* U <= lastUpdateId < u, then a repeat and a chain */
    b = loaded(100);
    d = diff(95, 105, 94, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, RF_BOOK_FUTURES), RF_BOOK_APPLIED);
    CHECK_EQ(rf_book_apply_diff(b, &d, RF_BOOK_FUTURES), RF_BOOK_SKIPPED);
    d = diff(106, 106, 105, 996, 1016);
    CHECK_EQ(rf_book_apply_diff(b, &d, RF_BOOK_FUTURES), RF_BOOK_APPLIED);
    CHECK_EQ(rf_book_last_update_id(b), 106);
    rf_book_destroy(b);
}

static void states_and_errors(void)
{
    rf_book_config cfg = {2, 0, 0};
    rf_book *b;
    CHECK_EQ(rf_book_create(&b, &cfg), 0);
    rf_bn_depth d = diff(1, 2, RF_BN_ABSENT, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_ESTATE); /* no snapshot yet */
    CHECK_EQ(rf_book_last_update_id(b), 0);
    rf_book_destroy(b);

    b = loaded(100);
    d = diff(RF_BN_ABSENT, 105, RF_BN_ABSENT, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_EINVAL);
    d = diff(106, 105, RF_BN_ABSENT, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_EINVAL);
    d = diff(95, 105, RF_BN_ABSENT, 995, 1015); /* futures needs pu */
    CHECK_EQ(rf_book_apply_diff(b, &d, RF_BOOK_FUTURES), RF_EINVAL);
    CHECK_EQ(rf_book_apply_diff(b, NULL, 0), RF_EINVAL);
    CHECK_EQ(rf_book_state(b), RF_BOOK_SYNCING);

    /* a crossing event: applied, reported, stale */
    d = diff(101, 101, RF_BN_ABSENT, 1010, 1030); /* bid at the best ask */
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_ECROSSED);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    rf_book_level l;
    CHECK_EQ(rf_book_best(b, RF_BOOK_BID, &l), RF_BOOK_STALE);
    CHECK_EQ(l.price, 1010);
    int64_t spread;
    CHECK_EQ(rf_book_spread(b, &spread), RF_BOOK_STALE);
    d = diff(102, 102, RF_BN_ABSENT, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_ESTATE);
    rf_book_destroy(b);

    /* an event whose level is off the grid: nothing applied, stale */
    b = loaded(100);
    uint32_t before = crc_all(b);
    d = diff(101, 101, RF_BN_ABSENT, 995, 1015);
    ask_lv[0].price = (rf_decimal){10155, 3};
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_EDECIMAL);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    CHECK_EQ(crc_all(b), before);
    /* a snapshot that does not load leaves the old book as it was */
    rf_bn_level bad[] = {{{10155, 3}, {1, 0}}};
    CHECK_EQ(rf_book_load_snapshot(b, 200, bad, 1, NULL, 0), RF_EDECIMAL);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    CHECK_EQ(rf_book_last_update_id(b), 100);
    CHECK_EQ(crc_all(b), before);
    /* a crossed snapshot */
    rf_bn_level bids[] = {{{1000, 2}, {1, 0}}}, asks[] = {{{999, 2}, {1, 0}}};
    CHECK_EQ(rf_book_load_snapshot(b, 200, bids, 1, asks, 1), RF_ECROSSED);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    rf_book_destroy(b);

    /* mark_stale: the stream dropped */
    b = loaded(100);
    d = diff(101, 101, RF_BN_ABSENT, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), 0);
    rf_book_mark_stale(b);
    CHECK_EQ(rf_book_state(b), RF_BOOK_STALE);
    d = diff(102, 102, RF_BN_ABSENT, 995, 1015);
    CHECK_EQ(rf_book_apply_diff(b, &d, 0), RF_ESTATE);
    rf_book_clear(b);
    rf_book_mark_stale(b); /* an empty book has nothing to be stale about */
    CHECK_EQ(rf_book_state(b), RF_BOOK_EMPTY);
    rf_book_destroy(b);
}

int main(void)
{
    spot_rules();
    futures_rules();
    states_and_errors();
    replay("spot", DATA "BINANCE.ws.1.0", DATA "BINANCE.http.0.0", 0);
    replay("futures", DATA "BINANCE_FUTURES.ws.1.0", DATA "BINANCE_FUTURES.http.0.0", RF_BOOK_FUTURES);
    free(want);
    TEST_DONE("test_book_sync");
}
