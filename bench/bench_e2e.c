/* End to end on loopback (issue 5): a server blasts a pre-encoded tape of
 * Binance combined-stream messages (bench/depth_tape.h: 70% depth diffs of
 * 1-20 levels, 25% aggTrade, 5% bookTicker, ~268 bytes) and one RingFeed
 * client receives it (rf_loop + rf_ws_conn), scans every message
 * (rf_bn_scan), applies every diff to an rf_book per symbol loaded from the
 * starting snapshot, checks the update-id chain and every bookTicker against
 * its book as it goes, and at the end checks each book level by level, and
 * the trade sums, against the generator's.
 *
 * The server is a separate process (forked before anything is measured)
 * that builds the whole tape as frames in one buffer and writes it in
 * 1 MiB slices with blocking writes, so sending costs little. With --url it
 * is another server instead, e.g. `ringfeed simulate --tape N --seed S`:
 * then the snapshots come over REST through rf_http_get, and the same N and
 * seed must be passed here.
 *
 * Measured on the client (this process, one thread): messages/s from the
 * first message to the last, the thread's CPU per message
 * (CLOCK_THREAD_CPUTIME_ID), allocations on it (malloc/calloc/realloc
 * wrapped at link time), and peak RSS (VmHWM; this process never holds the
 * tape). The server reports its CPU per run through a pipe.
 *
 * Usage: bench_e2e [--messages N | --full] [--runs R] [--seed S] [--url ws://HOST:PORT] [--tape-crc] [--offline]
 *   default 200,000 messages, 3 runs; --full: 1,000,000 messages, 5 runs;
 *   RF_E2E_MESSAGES=N in the environment does what --messages does.
 *   --tape-crc prints the CRC-32 of the tape's payloads, back to back, and of
 *   the four starting snapshots, and exits (the Swift port's tests compare
 *   against them). --offline runs the client's work on the tape in memory,
 *   without a socket (what receiving costs is the difference). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "depth_tape.h"
#include "ringfeed/ringfeed.h"

#include "alloc_count.h" /* allocs: this thread's allocations */

#define WARMUP 10000     /* allocations after this many messages count as steady-state */
#define SNAPSHOT_LIMIT 5000
#define MAX_RUNS 16

static const char STREAMS[] =
    "/stream?streams=btcusdt@depth@100ms/btcusdt@aggTrade/btcusdt@bookTicker/"
    "ethusdt@depth@100ms/ethusdt@aggTrade/ethusdt@bookTicker/"
    "solusdt@depth@100ms/solusdt@aggTrade/solusdt@bookTicker/"
    "bnbusdt@depth@100ms/bnbusdt@aggTrade/bnbusdt@bookTicker";

static uint64_t now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, kl) == 0 && line[kl] == ':')
            v = strtol(line + kl + 1, NULL, 10);
    if (f != NULL)
        fclose(f);
    return v;
}

static size_t frame_header_len(size_t payload) { return payload <= 125 ? 2 : payload <= 65535 ? 4 : 10; }

/* ---- the server (a child process) ---- */

struct server_report {
    uint64_t cpu_ns, wall_ns, bytes;
};

static uint8_t *build_tape(uint64_t seed, long messages, size_t *len)
{
    static rf_tape_gen g;
    rf_tape_init(&g, seed);
    size_t cap = (size_t)messages * 290 + (1u << 20), at = 0;
    uint8_t *tape = malloc(cap);
    char msg[RF_TAPE_MAX_MESSAGE];
    for (long i = 0; tape != NULL && i < messages; i++) {
        size_t n = rf_tape_next(&g, msg);
        if (at + n + 16 > cap) {
            cap += cap / 2;
            uint8_t *t = realloc(tape, cap);
            if (t == NULL) {
                free(tape);
                return NULL;
            }
            tape = t;
        }
        at += rf_frame_header_write(tape + at, 1, RF_WS_OP_TEXT, n, NULL);
        memcpy(tape + at, msg, n);
        at += n;
    }
    *len = at;
    return tape;
}

static int serve_one(int lfd, const uint8_t *tape, size_t len, struct server_report *rep)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return -1;
    uint8_t req[4096];
    size_t have = 0;
    rf_ws_server_request r;
    int rc;
    do {
        ssize_t got = read(fd, req + have, sizeof req - have);
        if (got <= 0) {
            close(fd);
            return -1;
        }
        have += (size_t)got;
    } while ((rc = rf_ws_server_request_parse(req, have, &r)) == RF_EAGAIN);
    char resp[512];
    int n = rf_ws_server_response_write(resp, sizeof resp, &r.key, NULL);
    if (rc < 0 || n < 0 || write(fd, resp, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    uint64_t c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID), t0 = now_ns(CLOCK_MONOTONIC);
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off < (1u << 20) ? len - off : (1u << 20);
        ssize_t w = write(fd, tape + off, chunk);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    rep->wall_ns = now_ns(CLOCK_MONOTONIC) - t0;
    rep->cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
    rep->bytes = off;
    char sink[4096];
    while (read(fd, sink, sizeof sink) > 0) {
    }
    close(fd);
    return 0;
}

static void server_main(int lfd, int report_fd, uint64_t seed, long messages, int runs)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the benchmark */
    size_t len = 0;
    uint8_t *tape = build_tape(seed, messages, &len);
    if (tape == NULL) {
        fprintf(stderr, "bench_e2e: server: out of memory for the tape\n");
        _exit(1);
    }
    for (int i = 0; i < runs; i++) {
        struct server_report rep = {0};
        if (serve_one(lfd, tape, len, &rep) != 0)
            _exit(1);
        if (write(report_fd, &rep, sizeof rep) != (ssize_t)sizeof rep)
            _exit(1);
    }
    _exit(0);
}

/* ---- the client (this thread) ---- */

struct sym {
    rf_book *book;
    uint64_t trades, trade_price_sum, trade_qty_sum, tickers, diffs, levels;
};

struct client {
    struct sym sym[RF_TAPE_SYMBOLS];
    rf_bn_level levels[64];
    long target, received, errors;
    uint64_t bytes;
    uint64_t t_first, t_last, cpu_first, cpu_last;
    long allocs_first, allocs_warm, allocs_last;
    int done;
    char first_error[200];
};

static void client_fail(struct client *cl, const char *what, int code)
{
    if (cl->errors++ == 0)
        snprintf(cl->first_error, sizeof cl->first_error, "message %ld: %s (%s)", cl->received, what,
                 code != 0 ? rf_strerror(code) : "mismatch");
}

static struct sym *client_symbol(struct client *cl, rf_str s)
{
    for (int i = 0; i < RF_TAPE_SYMBOLS; i++)
        if (s.len == 7 && memcmp(s.ptr, rf_tape_symbols[i].name, 7) == 0)
            return &cl->sym[i];
    return NULL;
}

/* The books use the scales of the exchange's texts (8 and 8 on spot, as
 * rf_book_config advises), so a decimal goes in without rescaling. */
#define BOOK_SCALE 8

static int same_value(int64_t book_units, rf_decimal d)
{
    return rf_decimal_cmp((rf_decimal){.mantissa = book_units, .scale = BOOK_SCALE}, d) == 0;
}

static void on_message(rf_ws_conn *c, void *ctx, unsigned op, const uint8_t *d, size_t n)
{
    struct client *cl = ctx;
    if (cl->received >= cl->target)
        return; /* the rest of a longer tape (--url with a longer --tape): not ours to apply */
    if (cl->received == 0) {
        cl->t_first = now_ns(CLOCK_MONOTONIC);
        cl->cpu_first = now_ns(CLOCK_THREAD_CPUTIME_ID);
        cl->allocs_first = allocs;
    }
    if (cl->received == WARMUP)
        cl->allocs_warm = allocs;
    cl->received++;
    cl->bytes += n;

    rf_bn_event ev;
    int rc = rf_bn_scan(d, n, cl->levels, sizeof cl->levels / sizeof cl->levels[0], &ev);
    struct sym *s = rc == 0 ? client_symbol(cl, ev.symbol) : NULL;
    if (rc != 0 || s == NULL) {
        client_fail(cl, rc != 0 ? "scan" : "unknown symbol", rc);
    } else if (ev.type == RF_BN_DEPTH_UPDATE) {
        /* The chain, checked here as well as by the book: every diff
         * follows the previous one exactly. */
        if (ev.u.depth.first_update_id != rf_book_last_update_id(s->book) + 1)
            client_fail(cl, "update id chain broken", 0);
        else if ((rc = rf_book_apply_diff(s->book, &ev.u.depth, 0)) != RF_BOOK_APPLIED)
            client_fail(cl, "apply diff", rc < 0 ? rc : 0);
        s->diffs++;
        s->levels += ev.u.depth.bid_count + ev.u.depth.ask_count;
    } else if (ev.type == RF_BN_AGG_TRADE) {
        rf_decimal p = ev.u.trade.price, q = ev.u.trade.quantity;
        if ((p.scale != 8 && rf_decimal_rescale(p, 8, &p) != 0) || (q.scale != 8 && rf_decimal_rescale(q, 8, &q) != 0))
            client_fail(cl, "trade decimals", 0);
        s->trades++;
        s->trade_price_sum += (uint64_t)p.mantissa;
        s->trade_qty_sum += (uint64_t)q.mantissa;
    } else if (ev.type == RF_BN_BOOK_TICKER) {
        /* The exchange's best levels at that update id must be ours. */
        const rf_bn_book_ticker *t = &ev.u.book_ticker;
        rf_book_level bid, ask;
        if (rf_book_best(s->book, RF_BOOK_BID, &bid) < 0 || rf_book_best(s->book, RF_BOOK_ASK, &ask) < 0 ||
            t->update_id != rf_book_last_update_id(s->book) || !same_value(bid.price, t->bid_price) ||
            !same_value(ask.price, t->ask_price) || !same_value(bid.qty, t->bid_quantity) ||
            !same_value(ask.qty, t->ask_quantity))
            client_fail(cl, "bookTicker differs from the book", 0);
        s->tickers++;
    } else {
        client_fail(cl, "unexpected event type", 0);
    }

    if (cl->received == cl->target) {
        cl->t_last = now_ns(CLOCK_MONOTONIC);
        cl->cpu_last = now_ns(CLOCK_THREAD_CPUTIME_ID);
        cl->allocs_last = allocs;
        cl->done = 1;
    }
}

static void on_close(rf_ws_conn *c, void *ctx, int code, int error)
{
    struct client *cl = ctx;
    if (!cl->done) {
        fprintf(stderr, "bench_e2e: connection ended after %ld of %ld messages: %s\n", cl->received, cl->target,
                rf_strerror(error));
        cl->done = -1;
    }
}

/* ---- snapshots ---- */

static rf_bn_level *snapshot_levels; /* 2 * SNAPSHOT_LIMIT, allocated once */

static int load_snapshot(rf_book *book, const uint8_t *body, size_t len)
{
    rf_bn_event ev;
    int rc = rf_bn_scan(body, len, snapshot_levels, 2 * SNAPSHOT_LIMIT, &ev);
    if (rc != 0)
        return rc;
    if (ev.type != RF_BN_PARTIAL_DEPTH)
        return RF_ETYPE;
    rc = rf_book_load_snapshot(book, ev.u.depth.final_update_id, ev.u.depth.bids, ev.u.depth.bid_count,
                               ev.u.depth.asks, ev.u.depth.ask_count);
    return rc == RF_BOOK_APPLIED ? 0 : rc < 0 ? rc : RF_ESTATE;
}

struct rest {
    rf_book *book;
    int done, error, status;
};

static void on_rest(void *ctx, int error, const rf_http_response *resp)
{
    struct rest *r = ctx;
    r->done = 1;
    r->error = error;
    r->status = error == 0 ? rf_http_response_status(resp) : 0;
    if (error == 0 && r->status == 200) {
        size_t len;
        const uint8_t *body = rf_http_response_body(resp, &len);
        r->error = load_snapshot(r->book, body, len);
    }
}

/* Every book from the server's REST depth endpoint, fetched in parallel. */
static int fetch_snapshots(rf_loop *loop, const char *http_base, struct client *cl)
{
    struct rest rest[RF_TAPE_SYMBOLS] = {{0}};
    for (int i = 0; i < RF_TAPE_SYMBOLS; i++) {
        char url[512];
        snprintf(url, sizeof url, "%s/api/v3/depth?symbol=%s&limit=%d", http_base, rf_tape_symbols[i].name,
                 SNAPSHOT_LIMIT);
        rest[i].book = cl->sym[i].book;
        int rc = rf_http_get(loop, url, NULL, on_rest, &rest[i], NULL);
        if (rc != 0)
            return rc;
    }
    uint64_t deadline = now_ns(CLOCK_MONOTONIC) + 15ull * 1000000000u;
    for (;;) {
        int pending = 0;
        for (int i = 0; i < RF_TAPE_SYMBOLS; i++)
            pending += !rest[i].done;
        if (pending == 0 || now_ns(CLOCK_MONOTONIC) > deadline)
            break;
        rf_loop_run_once(loop, 100);
    }
    for (int i = 0; i < RF_TAPE_SYMBOLS; i++) {
        if (rest[i].done && rest[i].error == 0 && rest[i].status != 200) {
            fprintf(stderr, "bench_e2e: REST depth of %s: HTTP status %d\n", rf_tape_symbols[i].name, rest[i].status);
            return RF_ESTATE;
        }
        if (!rest[i].done || rest[i].error != 0)
            return rest[i].done ? rest[i].error : RF_ETIMEDOUT;
    }
    return 0;
}

/* ---- the end: books and sums against the generator's ---- */

static int verify(const struct client *cl, const rf_tape_gen *g, char *why, size_t cap)
{
    for (int s = 0; s < RF_TAPE_SYMBOLS; s++) {
        const rf_tape_book *want = &g->book[s];
        const struct sym *have = &cl->sym[s];
        const char *name = rf_tape_symbols[s].name;
        if (rf_book_state(have->book) != RF_BOOK_LIVE || rf_book_last_update_id(have->book) != want->last_update_id) {
            snprintf(why, cap, "%s: state %d, last update id %lld (want %lld)", name, rf_book_state(have->book),
                     (long long)rf_book_last_update_id(have->book), (long long)want->last_update_id);
            return 1;
        }
        if (have->diffs != want->diffs || have->levels != want->levels || have->tickers != want->tickers ||
            have->trades != want->trades || have->trade_price_sum != want->trade_price_sum ||
            have->trade_qty_sum != want->trade_qty_sum) {
            snprintf(why, cap, "%s: message counts or trade sums differ", name);
            return 1;
        }
        for (int side = 0; side < 2; side++) {
            int32_t depth = side ? want->ask_depth : want->bid_depth;
            if (rf_book_depth(have->book, side) != depth) {
                snprintf(why, cap, "%s: %s depth %d, want %d", name, side ? "ask" : "bid",
                         rf_book_depth(have->book, side), depth);
                return 1;
            }
            int64_t price_unit = rf_tape_pow10(BOOK_SCALE - RF_TAPE_PRICE_DP);
            int64_t qty_unit = rf_tape_pow10(BOOK_SCALE - rf_tape_symbols[s].qty_dp);
            rf_book_iter it;
            rf_book_iter_init(&it, have->book, side);
            int32_t i = side ? want->best_ask : want->best_bid;
            for (int32_t k = 0; k < depth; i += side ? 1 : -1) {
                if (want->qty[i] == 0)
                    continue;
                rf_book_level lv;
                if (!rf_book_iter_next(&it, &lv) || lv.price != (want->base + i) * price_unit ||
                    lv.qty != want->qty[i] * qty_unit) {
                    snprintf(why, cap, "%s: %s level %d differs", name, side ? "ask" : "bid", k);
                    return 1;
                }
                k++;
            }
        }
    }
    return 0;
}

/* ---- one run ---- */

struct result {
    double msg_per_s, cpu_ns_per_msg, wall_ns_per_msg, mb_per_s;
    long allocs_total, allocs_steady;
    int ok;
};

static int run_once(const char *ws_base, const char *http_base, char *const *snapshot, const size_t *snapshot_len,
                    const rf_tape_gen *final, long messages, struct result *res)
{
    memset(res, 0, sizeof *res);
    static struct client cl;
    memset(&cl, 0, sizeof cl);
    cl.target = messages;
    rf_loop *loop;
    int rc = rf_loop_create(&loop, NULL);
    if (rc != 0) {
        fprintf(stderr, "bench_e2e: loop: %s\n", rf_strerror(rc));
        return 1;
    }
    for (int i = 0; i < RF_TAPE_SYMBOLS; i++) {
        rf_book_config bc = {.price_scale = BOOK_SCALE, .qty_scale = BOOK_SCALE};
        if ((rc = rf_book_create(&cl.sym[i].book, &bc)) != 0) {
            fprintf(stderr, "bench_e2e: book: %s\n", rf_strerror(rc));
            return 1;
        }
        if (http_base == NULL && (rc = load_snapshot(cl.sym[i].book, (const uint8_t *)snapshot[i], snapshot_len[i])) != 0) {
            fprintf(stderr, "bench_e2e: snapshot of %s: %s\n", rf_tape_symbols[i].name, rf_strerror(rc));
            return 1;
        }
    }
    if (http_base != NULL && (rc = fetch_snapshots(loop, http_base, &cl)) != 0) {
        fprintf(stderr, "bench_e2e: REST snapshots from %s: %s\n", http_base, rf_strerror(rc));
        return 1;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s%s", ws_base, STREAMS);
    rf_ws_conn_handlers h = {.on_message = on_message, .on_close = on_close};
    rf_ws_conn *conn;
    if ((rc = rf_ws_connect(loop, url, NULL, &h, &cl, &conn)) != 0) {
        fprintf(stderr, "bench_e2e: connect %s: %s\n", url, rf_strerror(rc));
        return 1;
    }
    uint64_t deadline = now_ns(CLOCK_MONOTONIC) + 120ull * 1000000000u;
    while (cl.done == 0 && now_ns(CLOCK_MONOTONIC) < deadline)
        rf_loop_run_once(loop, 100);
    if (cl.done == 0)
        fprintf(stderr, "bench_e2e: timed out after %ld of %ld messages\n", cl.received, messages);
    if (cl.done > 0)
        rf_ws_conn_abort(conn);
    for (int i = 0; i < 20; i++)
        rf_loop_run_once(loop, 5);

    char why[256] = "";
    int bad = cl.done <= 0 || cl.errors != 0 || verify(&cl, final, why, sizeof why) != 0;
    if (cl.errors != 0)
        fprintf(stderr, "bench_e2e: %ld message(s) failed; first: %s\n", cl.errors, cl.first_error);
    else if (why[0] != 0)
        fprintf(stderr, "bench_e2e: final books: %s\n", why);
    if (cl.done > 0) {
        double secs = (double)(cl.t_last - cl.t_first) / 1e9;
        res->msg_per_s = (double)(messages - 1) / secs;
        res->wall_ns_per_msg = secs * 1e9 / (double)messages;
        res->cpu_ns_per_msg = (double)(cl.cpu_last - cl.cpu_first) / (double)messages;
        res->mb_per_s = (double)cl.bytes / 1e6 / secs;
        res->allocs_total = cl.allocs_last - cl.allocs_first;
        res->allocs_steady = messages > WARMUP ? cl.allocs_last - cl.allocs_warm : 0;
    }
    res->ok = !bad;
    for (int i = 0; i < RF_TAPE_SYMBOLS; i++)
        rf_book_destroy(cl.sym[i].book);
    rf_loop_destroy(loop);
    return bad;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The same client work without the transport: the tape's frames walked in
 * memory and handed to on_message one by one. What is left of the loopback
 * figure is receiving (kernel copy, io_uring, frame parsing, UTF-8). */
static int run_offline(char *const *snapshot, const size_t *snapshot_len, const rf_tape_gen *final, uint64_t seed,
                       long messages)
{
    size_t len = 0;
    uint8_t *tape = build_tape(seed, messages, &len);
    static struct client cl;
    if (tape == NULL)
        return 1;
    double best = 0, cpu[MAX_RUNS];
    int bad = 0;
    for (int r = 0; r < 3; r++) {
        memset(&cl, 0, sizeof cl);
        cl.target = messages;
        for (int i = 0; i < RF_TAPE_SYMBOLS; i++) {
            rf_book_config bc = {.price_scale = BOOK_SCALE, .qty_scale = BOOK_SCALE};
            if (rf_book_create(&cl.sym[i].book, &bc) != 0 ||
                load_snapshot(cl.sym[i].book, (const uint8_t *)snapshot[i], snapshot_len[i]) != 0)
                return 1;
        }
        for (size_t at = 0; at < len;) {
            size_t n = tape[at + 1] & 0x7f, head = 2;
            if (n == 126) {
                n = (size_t)tape[at + 2] << 8 | tape[at + 3];
                head = 4;
            }
            on_message(NULL, &cl, RF_WS_OP_TEXT, tape + at + head, n);
            at += head + n;
        }
        char why[256] = "";
        bad |= cl.errors != 0 || verify(&cl, final, why, sizeof why) != 0;
        cpu[r] = (double)(cl.cpu_last - cl.cpu_first) / (double)messages;
        if (best == 0 || cpu[r] < best)
            best = cpu[r];
        for (int i = 0; i < RF_TAPE_SYMBOLS; i++)
            rf_book_destroy(cl.sym[i].book);
    }
    printf("offline (no socket: frames walked in memory, same on_message): CPU %.1f ns/msg median of 3, best %.1f; "
           "books %s\n", median(cpu, 3), best, bad ? "WRONG" : "exact");
    free(tape);
    return bad;
}

int main(int argc, char **argv)
{
    long messages = 200000;
    int runs = 3;
    uint64_t seed = 1;
    const char *url = NULL;
    int tape_crc = 0, offline = 0;
    const char *env = getenv("RF_E2E_MESSAGES");
    if (env != NULL && *env != 0)
        messages = atol(env);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--full") == 0) {
            messages = 1000000;
            runs = 5;
        } else if (strcmp(a, "--messages") == 0 && v != NULL) {
            messages = atol(v), i++;
        } else if (strcmp(a, "--runs") == 0 && v != NULL) {
            runs = atoi(v), i++;
        } else if (strcmp(a, "--seed") == 0 && v != NULL) {
            seed = strtoull(v, NULL, 10), i++;
        } else if (strcmp(a, "--url") == 0 && v != NULL) {
            url = v, i++;
        } else if (strcmp(a, "--tape-crc") == 0) {
            tape_crc = 1;
        } else if (strcmp(a, "--offline") == 0) {
            offline = 1;
        } else {
            fprintf(stderr, "usage: bench_e2e [--messages N | --full] [--runs R] [--seed S] [--url ws://HOST:PORT] "
                            "[--tape-crc] [--offline]\n");
            return 2;
        }
    }
    if (messages < 1 || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "bench_e2e: --messages must be positive, --runs 1..%d\n", MAX_RUNS);
        return 2;
    }

    /* What the client must end with: the generator run to the end here too
     * (messages written to a scratch buffer, never kept). */
    static rf_tape_gen gen;
    rf_tape_init(&gen, seed);
    char *snapshot[RF_TAPE_SYMBOLS];
    size_t snapshot_len[RF_TAPE_SYMBOLS];
    for (int i = 0; i < RF_TAPE_SYMBOLS; i++) {
        snapshot[i] = malloc((size_t)RF_TAPE_START_DEPTH * 2 * 40 + 64);
        snapshot_len[i] = rf_tape_snapshot(&gen, i, SNAPSHOT_LIMIT, snapshot[i]);
    }
    uint64_t frame_bytes = 0, kinds_diff = 0, kinds_trade = 0, kinds_ticker = 0, levels = 0;
    char scratch[RF_TAPE_MAX_MESSAGE];
    uLong crc = crc32(0, Z_NULL, 0);
    for (long i = 0; i < messages; i++) {
        size_t n = rf_tape_next(&gen, scratch);
        frame_bytes += frame_header_len(n);
        if (tape_crc)
            crc = crc32(crc, (const Bytef *)scratch, (uInt)n);
    }
    frame_bytes += gen.bytes;
    if (tape_crc) {
        uLong snap_crc = crc32(0, Z_NULL, 0);
        for (int i = 0; i < RF_TAPE_SYMBOLS; i++)
            snap_crc = crc32(snap_crc, (const Bytef *)snapshot[i], (uInt)snapshot_len[i]);
        printf("tape: %ld messages, seed %llu, %llu payload bytes, CRC-32 0x%08lx; snapshots CRC-32 0x%08lx\n",
               messages, (unsigned long long)seed, (unsigned long long)gen.bytes, (unsigned long)crc,
               (unsigned long)snap_crc);
        return 0;
    }
    for (int i = 0; i < RF_TAPE_SYMBOLS; i++) {
        kinds_diff += gen.book[i].diffs;
        kinds_trade += gen.book[i].trades;
        kinds_ticker += gen.book[i].tickers;
        levels += gen.book[i].levels;
    }
    snapshot_levels = malloc(sizeof *snapshot_levels * 2 * SNAPSHOT_LIMIT);
    if (offline)
        return run_offline(snapshot, snapshot_len, &gen, seed, messages);

    char ws_base[512], http_base[512];
    const char *http = NULL;
    pid_t server = -1;
    int report_fd = -1;
    if (url == NULL) {
        int lfd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof a;
        int pipefd[2];
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4) != 0 ||
            getsockname(lfd, (struct sockaddr *)&a, &al) != 0 || pipe(pipefd) != 0) {
            perror("bench_e2e: listen");
            return 1;
        }
        fflush(stdout);
        server = fork();
        if (server < 0) {
            perror("bench_e2e: fork");
            return 1;
        }
        if (server == 0) {
            close(pipefd[0]);
            server_main(lfd, pipefd[1], seed, messages, runs);
        }
        close(lfd);
        close(pipefd[1]);
        report_fd = pipefd[0];
        snprintf(ws_base, sizeof ws_base, "ws://127.0.0.1:%u", ntohs(a.sin_port));
    } else {
        snprintf(ws_base, sizeof ws_base, "%s", url);
        size_t n = strlen(ws_base);
        while (n > 0 && ws_base[n - 1] == '/')
            ws_base[--n] = 0;
        if (strncmp(ws_base, "ws://", 5) != 0) {
            fprintf(stderr, "bench_e2e: --url takes ws://HOST:PORT\n");
            return 2;
        }
        snprintf(http_base, sizeof http_base, "http://%s", ws_base + 5);
        http = http_base;
    }

    printf("bench_e2e: %ld messages (%.1f%% depth diffs, %.1f levels each; %.1f%% aggTrade; %.1f%% bookTicker), "
           "%.1f bytes a message (%.1f with the frame header), 4 symbols, seed %llu\n",
           messages, 100.0 * (double)kinds_diff / (double)messages, (double)levels / (double)kinds_diff,
           100.0 * (double)kinds_trade / (double)messages, 100.0 * (double)kinds_ticker / (double)messages,
           (double)gen.bytes / (double)messages, (double)frame_bytes / (double)messages, (unsigned long long)seed);
    printf("server: %s; client: rf_loop + rf_ws_conn, rf_bn_scan, rf_book per symbol, one thread\n",
           url == NULL ? "forked process, pre-encoded frames, blocking 1 MiB writes, snapshots from the tape"
                       : "external (--url), snapshots over REST (rf_http_get)");
    long rss_before = status_kib("VmRSS");

    double rate[MAX_RUNS], cpu[MAX_RUNS], srv_cpu[MAX_RUNS];
    int failed = 0, done = 0, have_srv = 0;
    for (int r = 0; r < runs; r++) {
        struct result res;
        failed |= run_once(ws_base, http, snapshot, snapshot_len, &gen, messages, &res);
        char srv[96] = "";
        if (report_fd >= 0) {
            struct pollfd p = {.fd = report_fd, .events = POLLIN};
            struct server_report rep;
            if (poll(&p, 1, 10000) == 1 && read(report_fd, &rep, sizeof rep) == (ssize_t)sizeof rep) {
                srv_cpu[have_srv++] = (double)rep.cpu_ns / (double)messages;
                snprintf(srv, sizeof srv, "  server CPU %5.1f ns/msg", (double)rep.cpu_ns / (double)messages);
            }
        }
        if (res.msg_per_s > 0) {
            rate[done] = res.msg_per_s;
            cpu[done++] = res.cpu_ns_per_msg;
        }
        printf("run %d: %9.0f msg/s  %6.1f ns/msg wall  CPU %6.1f ns/msg  %7.1f MB/s  allocations %ld (%ld after %d)  "
               "books %s%s\n",
               r + 1, res.msg_per_s, res.wall_ns_per_msg, res.cpu_ns_per_msg, res.mb_per_s, res.allocs_total,
               res.allocs_steady, WARMUP, res.ok ? "exact" : "WRONG", srv);
        failed |= res.allocs_steady != 0;
    }
    long hwm = status_kib("VmHWM");
    if (done > 0)
        printf("median of %d: %.0f msg/s, client CPU %.1f ns/msg%s", done, median(rate, done), median(cpu, done),
               have_srv > 0 ? "" : "\n");
    if (have_srv > 0)
        printf(", server CPU %.1f ns/msg\n", median(srv_cpu, have_srv));
    printf("client memory: VmRSS %.1f MB before connecting, peak (VmHWM) %.1f MB\n", rss_before / 1024.0,
           hwm / 1024.0);
    if (server > 0) {
        int st = 0;
        if (failed)
            kill(server, SIGKILL);
        waitpid(server, &st, 0);
    }
    for (int i = 0; i < RF_TAPE_SYMBOLS; i++)
        free(snapshot[i]);
    free(snapshot_levels);
    if (failed)
        printf("bench_e2e: FAILED (a book or a message check failed, a run was incomplete, or the receive path allocated)\n");
    return failed;
}
