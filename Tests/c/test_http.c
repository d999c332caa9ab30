/* HTTP/1.1 client messages: the GET writer and the incremental response
 * parser. Every response case is fed whole, at every split point (for the
 * small ones), in fixed-size pieces and one byte at a time, and must give
 * the same outcome each time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "ringfeed/error.h"
#include "ringfeed/http.h"

/* ---- helpers ---- */

static int str_is(rf_str s, const char *lit)
{
    return s.len == strlen(lit) && (s.len == 0 || memcmp(s.ptr, lit, s.len) == 0);
}

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void buf_put(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_str(buf *b, const char *s) { buf_put(b, s, strlen(s)); }

static void buf_fmt(buf *b, const char *fmt, unsigned long long v)
{
    char t[64];
    int n = snprintf(t, sizeof t, fmt, v);
    buf_put(b, t, (size_t)n);
}

/* gzip (wbits 16+15) or zlib (wbits 15) of data, via deflate. */
static buf compress_with(const uint8_t *data, size_t n, int wbits)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    buf out = {0};
    out.cap = deflateBound(&s, (uLong)n) + 64;
    out.p = malloc(out.cap);
    s.next_in = (Bytef *)(uintptr_t)data;
    s.avail_in = (uInt)n;
    s.next_out = out.p;
    s.avail_out = (uInt)out.cap;
    if (deflate(&s, Z_FINISH) != Z_STREAM_END)
        abort();
    out.len = out.cap - s.avail_out;
    deflateEnd(&s);
    return out;
}

static buf gzip_of(const void *data, size_t n) { return compress_with(data, n, 16 + MAX_WBITS); }

/* How many bytes a prefix of a gzip stream decodes to. */
static size_t decodable(const uint8_t *g, size_t n)
{
    static uint8_t out[1 << 16];
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK)
        abort();
    s.next_in = (Bytef *)(uintptr_t)g;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = sizeof out;
    inflate(&s, Z_SYNC_FLUSH);
    size_t made = sizeof out - s.avail_out;
    inflateEnd(&s);
    return made;
}

/* A response head plus body, the body sent as Content-Length or chunked in
 * pieces of `chunk` bytes (with an extension on every other chunk). */
static buf response(const char *head, const uint8_t *body, size_t n, size_t chunk)
{
    buf b = {0};
    buf_str(&b, head);
    if (!chunk) {
        buf_fmt(&b, "Content-Length: %llu\r\n\r\n", n);
        buf_put(&b, body, n);
        return b;
    }
    buf_str(&b, "Transfer-Encoding: chunked\r\n\r\n");
    for (size_t i = 0, k = 0; i < n; i += chunk, k++) {
        size_t m = n - i < chunk ? n - i : chunk;
        buf_fmt(&b, k % 2 ? "%llX;ext=\"x y\"\r\n" : "%llx\r\n", m);
        buf_put(&b, body + i, m);
        buf_str(&b, "\r\n");
    }
    buf_str(&b, "0\r\nX-Checksum: abc\r\n\r\n");
    return b;
}

/* ---- the split driver ---- */

typedef struct outcome {
    int rc, done, status, keep_alive;
    size_t used;
    buf headers; /* "name: value\n" for each field */
    buf body;
} outcome;

static void outcome_free(outcome *o)
{
    free(o->headers.p);
    free(o->body.p);
    memset(o, 0, sizeof *o);
}

/* Feeds `first` bytes, then pieces of `step` (0: the rest at once), with an
 * empty feed between pieces; calls eof at the end when asked. */
static void run(rf_http_response *r, const uint8_t *in, size_t n, int eof, size_t first, size_t step,
                outcome *o)
{
    memset(o, 0, sizeof *o);
    rf_http_response_reset(r);
    size_t off = 0, piece = first ? first : n;
    int done = 0;
    do {
        size_t k = n - off < piece ? n - off : piece;
        int u = rf_http_response_feed(r, in + off, k, &done);
        if (u < 0) {
            o->rc = u;
            off = 0; /* where an error struck is not part of the outcome */
            break;
        }
        CHECK((size_t)u <= k);
        if (!done)
            CHECK_EQ(u, k); /* short only when complete */
        off += (size_t)u;
        int d2 = -1;
        int z = rf_http_response_feed(r, in + off, 0, &d2);
        CHECK(z == 0 && d2 == done);
        piece = step ? step : n;
    } while (off < n && !done);
    if (!o->rc && !done && eof) {
        o->rc = rf_http_response_eof(r);
        done = o->rc == 0;
    }
    o->done = done;
    o->used = o->rc ? 0 : off;
    o->status = rf_http_response_status(r);
    o->keep_alive = rf_http_response_keep_alive(r);
    for (size_t i = 0; i < rf_http_response_header_count(r); i++) {
        rf_str name, value;
        CHECK_EQ(rf_http_response_header_at(r, i, &name, &value), 0);
        CHECK(memchr(name.ptr, '\r', name.len) == NULL && memchr(value.ptr, '\n', value.len) == NULL);
        buf_put(&o->headers, name.ptr, name.len);
        buf_str(&o->headers, ": ");
        buf_put(&o->headers, value.ptr, value.len);
        buf_str(&o->headers, "\n");
    }
    size_t bl;
    const uint8_t *b = rf_http_response_body(r, &bl);
    buf_put(&o->body, b, bl);
}

static int same_buf(const buf *a, const buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static int same_outcome(const outcome *a, const outcome *b)
{
    return a->rc == b->rc && a->done == b->done && a->status == b->status &&
           a->keep_alive == b->keep_alive && a->used == b->used && same_buf(&a->headers, &b->headers) &&
           same_buf(&a->body, &b->body);
}

static void compare(const char *name, const char *how, size_t k, const outcome *whole, const outcome *o)
{
    int ok = same_outcome(whole, o);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  case %s: %s %zu differs (rc %d vs %d, done %d vs %d, used %zu vs %zu, body %zu vs %zu)\n",
                name, how, k, o->rc, whole->rc, o->done, whole->done, o->used, whole->used, o->body.len,
                whole->body.len);
}

#define ANY_RESULT 1 /* expect.rc: only that every split agrees */

typedef struct expect {
    int rc;
    int status;
    int keep_alive;
    const char *body; /* NULL: not checked here */
    size_t used;      /* 0: the whole input */
    int pending;      /* no error, but not complete either */
} expect;

/* Runs one case every way and checks the whole-input outcome against ex. */
static void check_case(const char *name, const rf_http_response_config *cfg, const uint8_t *in, size_t n,
                       int eof, expect ex)
{
    rf_http_response *r;
    if (rf_http_response_create(&r, cfg) != 0)
        abort();
    outcome whole, o;
    run(r, in, n, eof, n, 0, &whole);
    int ok = ex.rc == ANY_RESULT ||
             (whole.rc == ex.rc && whole.done == (ex.rc == 0 && !ex.pending) && whole.status == ex.status &&
              whole.keep_alive == ex.keep_alive);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  case %s: rc %d (%s) done %d status %d keep-alive %d\n", name, whole.rc,
                rf_strerror(whole.rc), whole.done, whole.status, whole.keep_alive);
    if (ex.rc == 0 && !ex.pending) {
        CHECK_EQ(whole.used, ex.used ? ex.used : n);
        if (ex.body) {
            size_t bl = strlen(ex.body);
            int bok = whole.body.len == bl && (bl == 0 || memcmp(whole.body.p, ex.body, bl) == 0);
            CHECK(bok);
            if (!bok)
                fprintf(stderr, "  case %s: body differs (%zu bytes)\n", name, whole.body.len);
        }
    }
    if (n <= 2048)
        for (size_t k = 0; k <= n; k++) {
            run(r, in, n, eof, k ? k : 1, k ? 0 : 1, &o);
            compare(name, k ? "split at" : "byte at a time", k, &whole, &o);
            outcome_free(&o);
        }
    else {
        run(r, in, n, eof, 1, 1, &o);
        compare(name, "byte at a time", 1, &whole, &o);
        outcome_free(&o);
        for (size_t k = 1; k < n; k += n / 97 + 1) {
            run(r, in, n, eof, k, 0, &o);
            compare(name, "split at", k, &whole, &o);
            outcome_free(&o);
        }
    }
    static const size_t steps[] = {2, 3, 5, 7, 13, 64, 511, 4096};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        run(r, in, n, eof, steps[s], steps[s], &o);
        compare(name, "pieces of", steps[s], &whole, &o);
        outcome_free(&o);
    }
    outcome_free(&whole);
    rf_http_response_destroy(r);
}

static void check_str(const char *name, const rf_http_response_config *cfg, const char *in, int eof, expect ex)
{
    check_case(name, cfg, (const uint8_t *)in, strlen(in), eof, ex);
}

#define OK_(status, ka, body) ((expect){0, status, ka, body, 0, 0})
#define ERR_(rc) ((expect){rc, 0, 0, NULL, 0, 0})
#define ERR_STATUS(rc, status) ((expect){rc, status, 0, NULL, 0, 0})

/* ---- the request writer ---- */

static void test_request(void)
{
    rf_url u;
    char out[8192];
    CHECK_EQ(rf_url_parse("https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000", &u), 0);
    const char *want = "GET /api/v3/depth?symbol=BTCUSDT&limit=1000 HTTP/1.1\r\n"
                       "Host: api.binance.com\r\n"
                       "User-Agent: ringfeed/0.1\r\n"
                       "Accept: */*\r\n"
                       "Accept-Encoding: gzip\r\n"
                       "Connection: keep-alive\r\n"
                       "\r\n";
    int n = rf_http_get_write(out, sizeof out, &u, NULL);
    CHECK_EQ(n, strlen(want));
    CHECK(n > 0 && strcmp(out, want) == 0);

    /* exactly enough room: written, no terminator needed */
    memset(out, 'Z', sizeof out);
    CHECK_EQ(rf_http_get_write(out, strlen(want), &u, NULL), strlen(want));
    CHECK(memcmp(out, want, strlen(want)) == 0 && out[strlen(want)] == 'Z');
    /* one byte short: refused, nothing written */
    memset(out, 'Z', sizeof out);
    CHECK_EQ(rf_http_get_write(out, strlen(want) - 1, &u, NULL), RF_ENOSPC);
    int untouched = 1;
    for (size_t i = 0; i < sizeof out; i++)
        untouched &= out[i] == 'Z';
    CHECK(untouched);
    CHECK_EQ(rf_http_get_write(NULL, 0, &u, NULL), RF_ENOSPC);
    CHECK_EQ(rf_http_get_write(NULL, 10, &u, NULL), RF_EINVAL);
    CHECK_EQ(rf_http_get_write(out, sizeof out, NULL, NULL), RF_EINVAL);

    /* Host carries a non-default port and IPv6 brackets */
    CHECK_EQ(rf_url_parse("http://[::1]:9000", &u), 0);
    n = rf_http_get_write(out, sizeof out, &u, "X-MBX-APIKEY: abc\r\nX-Empty:\r\n");
    CHECK(n > 0 && strncmp(out, "GET / HTTP/1.1\r\nHost: [::1]:9000\r\n", 34) == 0);
    CHECK(n > 0 && strstr(out, "Connection: keep-alive\r\nX-MBX-APIKEY: abc\r\nX-Empty:\r\n\r\n") != NULL);
    CHECK(n > 0 && (size_t)n == strlen(out) && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
    CHECK(rf_http_get_write(out, sizeof out, &u, "") > 0);

    static const char *const bad_extra[] = {
        "X: a",          "X: a\n",        "X: a\r",       "X a\r\n",         " X: a\r\n",
        "X : a\r\n",     "\r\n",          "X: a\r\n\r\n", "X: a\r\nY: b",     "X: a\rb\r\n",
        "X: \x01\r\n",   ": a\r\n",       "X\x7f: a\r\n", "X: a\nY: b\r\n",   "X: a\r\n\tb\r\n",
    };
    for (size_t i = 0; i < sizeof bad_extra / sizeof bad_extra[0]; i++) {
        memset(out, 'Z', 16);
        CHECK_EQ(rf_http_get_write(out, sizeof out, &u, bad_extra[i]), RF_EINVAL);
        CHECK(out[0] == 'Z');
    }

    static const char *const bad_path[] = {"/a b", "/a\rb", "/a\nb", "/a\tb", "/a\x7f", "", "a/b"};
    for (size_t i = 0; i < sizeof bad_path / sizeof bad_path[0]; i++) {
        CHECK_EQ(rf_url_parse("http://example.com/", &u), 0);
        strcpy(u.path, bad_path[i]);
        CHECK_EQ(rf_http_get_write(out, sizeof out, &u, NULL), RF_EINVAL);
    }
    CHECK_EQ(rf_url_parse("http://example.com/", &u), 0);
    memset(u.path, '/', sizeof u.path); /* no terminator inside the array */
    CHECK_EQ(rf_http_get_write(out, sizeof out, &u, NULL), RF_EINVAL);
    CHECK_EQ(rf_url_parse("http://example.com/", &u), 0);
    strcpy(u.host, "a\r\nb");
    CHECK_EQ(rf_http_get_write(out, sizeof out, &u, NULL), RF_EINVAL);
    memset(u.host, 'h', sizeof u.host); /* no terminator inside the array */
    CHECK_EQ(rf_http_get_write(out, sizeof out, &u, NULL), RF_EINVAL);

    /* the longest path fits when the buffer does */
    CHECK_EQ(rf_url_parse("http://example.com/", &u), 0);
    memset(u.path, 'p', sizeof u.path - 1);
    u.path[0] = '/';
    u.path[sizeof u.path - 1] = '\0';
    n = rf_http_get_write(out, sizeof out, &u, NULL);
    CHECK(n > (int)sizeof u.path);
    CHECK_EQ(rf_http_get_write(out, (size_t)n - 1, &u, NULL), RF_ENOSPC);
}

/* ---- framing ---- */

static void test_framing(void)
{
    check_str("content-length", NULL,
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: \t v w \t\r\nContent-Length: 13\r\n\r\n"
              "{\"a\":\"hello\"}",
              0, OK_(200, 1, "{\"a\":\"hello\"}"));
    check_str("content-length 0", NULL, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, OK_(200, 1, ""));
    check_str("repeated identical lengths", NULL,
              "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 005\r\nContent-Length: 5 , 5\r\n\r\nhello", 0,
              OK_(200, 1, "hello"));
    check_str("bytes after the body are not used", NULL, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1",
              0, (expect){0, 200, 1, "hi", 40, 0});
    check_str("chunked with extensions and trailers", NULL,
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5;foo=bar\r\nhello\r\n6 ; a=\"b c\" ;b\r\n world\r\n000A\r\n0123456789\r\n"
              "0;last\r\nX-Trailer: t\r\nX-Other:\r\n\r\n",
              0, OK_(200, 1, "hello world0123456789"));
    check_str("chunked, no trailers", NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", 0,
              OK_(200, 1, "x"));
    check_str("chunked wins over length", NULL,
              "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", 0,
              OK_(200, 0, "ab"));
    check_str("close-delimited", NULL, "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nuntil the end", 1,
              OK_(200, 0, "until the end"));
    check_str("close-delimited, empty", NULL, "HTTP/1.1 200 OK\r\n\r\n", 1, OK_(200, 0, ""));
    check_str("empty reason", NULL, "HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx", 0, OK_(200, 1, "x"));
    check_str("no reason at all", NULL, "HTTP/1.1 404\r\nContent-Length: 1\r\n\r\nx", 0, OK_(404, 1, "x"));
    check_str("error statuses still parse", NULL,
              "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 2\r\n\r\n{}", 0, OK_(429, 1, "{}"));
    check_str("obs-text in a value", NULL, "HTTP/1.1 200 \xc3\xa9t\xc3\xa9\r\nX: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
              0, OK_(200, 1, ""));

    /* keep-alive */
    check_str("1.0 closes", NULL, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 0, OK_(200, 0, "x"));
    check_str("1.0 keep-alive", NULL, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", 0,
              OK_(200, 1, "x"));
    check_str("1.1 close", NULL, "HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 1\r\n\r\nx", 0,
              OK_(200, 0, "x"));
    check_str("1.1 close in a second field", NULL,
              "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 0,
              OK_(200, 0, "x"));
    check_str("1.0 close-delimited", NULL, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nabc", 1, OK_(200, 0, "abc"));
    check_str("1.0 chunked closes", NULL,
              "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0,
              OK_(200, 0, ""));
    check_str("1.9 is 1.1", NULL, "HTTP/1.9 200 OK\r\nContent-Length: 0\r\n\r\n", 0, OK_(200, 1, ""));

    /* no body */
    check_str("100 continue skipped", NULL,
              "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
              0, OK_(200, 1, "ok"));
    const char *nc = "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\n";
    check_str("204 has no body", NULL, nc, 0, (expect){0, 204, 1, "", strstr(nc, "\r\n\r\n") - nc + 4, 0});
    const char *nm = "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    check_str("304 has no body", NULL, nm, 0, (expect){0, 304, 1, "", strstr(nm, "\r\n\r\n") - nm + 4, 0});
    rf_http_response_config head = {.head_request = 1};
    const char *hd = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Encoding: br\r\n\r\n";
    check_str("HEAD has no body", &head, hd, 0, OK_(200, 1, ""));
    check_str("HEAD, close-delimited would-be", &head, "HTTP/1.1 200 OK\r\n\r\n", 0, OK_(200, 1, ""));
}

static void test_headers_api(void)
{
    rf_http_response *r;
    CHECK_EQ(rf_http_response_create(&r, NULL), 0);
    const char *in = "HTTP/1.1 200 Fine Thanks\r\nContent-Type: application/json\r\nX-Pad:  v w \t\r\n"
                     "x-pad: second\r\nEmpty:\r\nContent-Length: 3\r\n\r\nabc";
    size_t n = strlen(in);
    uint8_t *copy = malloc(n);
    int done = 0, total = 0;
    /* fed from a buffer that is overwritten after each byte: the parser
     * must have copied everything its views point at */
    for (size_t i = 0; i < n && !done; i++) {
        copy[i] = (uint8_t)in[i];
        int u = rf_http_response_feed(r, copy + i, 1, &done);
        CHECK_EQ(u, 1);
        total += u;
        copy[i] = 0xAA;
    }
    free(copy);
    CHECK(done);
    CHECK_EQ(total, n);
    CHECK_EQ(rf_http_response_status(r), 200);
    CHECK(str_is(rf_http_response_reason(r), "Fine Thanks"));
    CHECK_EQ(rf_http_response_header_count(r), 5);
    rf_str v = {0}, name;
    CHECK(rf_http_response_header(r, "content-TYPE", &v) == 1 && str_is(v, "application/json"));
    CHECK(rf_http_response_header(r, "X-PAD", &v) == 1 && str_is(v, "v w"));
    CHECK(rf_http_response_header(r, "empty", &v) == 1 && v.len == 0);
    CHECK(rf_http_response_header(r, "Content-Typ", &v) == 0);
    CHECK(rf_http_response_header(r, "Content-Type-X", &v) == 0);
    CHECK(rf_http_response_header(r, NULL, &v) == 0);
    CHECK(rf_http_response_header_at(r, 2, &name, &v) == 0 && str_is(name, "x-pad") && str_is(v, "second"));
    CHECK_EQ(rf_http_response_header_at(r, 5, &name, &v), RF_EINVAL);
    size_t bl;
    const uint8_t *b = rf_http_response_body(r, &bl);
    CHECK(bl == 3 && memcmp(b, "abc", 3) == 0);
    CHECK_EQ(rf_http_response_keep_alive(r), 1);
    CHECK_EQ(rf_http_response_eof(r), 0); /* already complete */
    /* done: further bytes are the next response's, none used */
    CHECK_EQ(rf_http_response_feed(r, (const uint8_t *)"HTTP", 4, &done), 0);
    CHECK(done == 1);

    /* reset forgets it all */
    rf_http_response_reset(r);
    CHECK_EQ(rf_http_response_status(r), 0);
    CHECK_EQ(rf_http_response_header_count(r), 0);
    CHECK(rf_http_response_header(r, "content-type", &v) == 0);
    CHECK(rf_http_response_reason(r).len == 0);
    CHECK_EQ(rf_http_response_keep_alive(r), 0);
    b = rf_http_response_body(r, &bl);
    CHECK(b != NULL && bl == 0);
    CHECK_EQ(rf_http_response_eof(r), RF_EHTTP_TRUNCATED); /* nothing arrived */

    /* argument checks */
    CHECK_EQ(rf_http_response_create(NULL, NULL), RF_EINVAL);
    CHECK_EQ(rf_http_response_feed(NULL, (const uint8_t *)"x", 1, &done), RF_EINVAL);
    CHECK_EQ(rf_http_response_feed(r, NULL, 1, &done), RF_EINVAL);
    CHECK_EQ(rf_http_response_feed(r, (const uint8_t *)"x", 1, NULL), RF_EINVAL);
    CHECK_EQ(rf_http_response_eof(NULL), RF_EINVAL);
    CHECK_EQ(rf_http_response_status(NULL), 0);
    CHECK_EQ(rf_http_response_header_count(NULL), 0);
    rf_http_response_destroy(NULL);
    rf_http_response_destroy(r);

    rf_http_response_config huge = {.max_header = (size_t)1 << 40};
    CHECK_EQ(rf_http_response_create(&r, &huge), RF_EINVAL);
    CHECK(r == NULL);
}

/* Two responses in one buffer, and the parser reused between them. */
static void test_pipelined(void)
{
    buf g = gzip_of("second body, compressed", 23);
    buf all = {0};
    buf_str(&all, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstHTTP/1.1 201 Created\r\n"
                  "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
    buf_fmt(&all, "%llx\r\n", g.len);
    buf_put(&all, g.p, g.len);
    buf_str(&all, "\r\n0\r\n\r\n");

    for (size_t step = 1; step <= all.len; step++) {
        rf_http_response *r;
        CHECK_EQ(rf_http_response_create(&r, NULL), 0);
        size_t off = 0;
        int seen = 0, done = 0;
        const uint8_t *first_body = NULL;
        while (off < all.len) {
            size_t k = all.len - off < step ? all.len - off : step;
            int u = rf_http_response_feed(r, all.p + off, k, &done);
            CHECK(u >= 0);
            if (u < 0)
                break;
            off += (size_t)u;
            if (done) {
                size_t bl;
                const uint8_t *b = rf_http_response_body(r, &bl);
                if (seen == 0) {
                    CHECK(rf_http_response_status(r) == 200 && bl == 5 && memcmp(b, "first", 5) == 0);
                    CHECK_EQ(off, 43);
                    first_body = b;
                } else {
                    CHECK(rf_http_response_status(r) == 201 && bl == 23 &&
                          memcmp(b, "second body, compressed", 23) == 0);
                    CHECK(b == first_body); /* buffers kept across reset */
                }
                CHECK_EQ(rf_http_response_keep_alive(r), 1);
                seen++;
                rf_http_response_reset(r);
            }
        }
        CHECK_EQ(seen, 2);
        rf_http_response_destroy(r);
        if (rf_test_failures)
            break;
    }
    free(g.p);
    free(all.p);
}

/* ---- content coding ---- */

static void test_gzip(void)
{
    static const char text[] = "{\"lastUpdateId\":1027024,\"bids\":[[\"4.00000000\",\"431.00000000\"]],"
                               "\"asks\":[[\"4.00000200\",\"12.00000000\"]]}";
    size_t tn = sizeof text - 1;
    buf g = gzip_of(text, tn);
    buf rs;

    rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", g.p, g.len, 0);
    check_case("gzip over content-length", NULL, rs.p, rs.len, 0, OK_(200, 1, text));
    free(rs.p);
    rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: x-gzip\r\n", g.p, g.len, 7);
    check_case("x-gzip over chunked", NULL, rs.p, rs.len, 0, OK_(200, 1, text));
    free(rs.p);
    rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: identity, GZIP\r\n", g.p, g.len, 1);
    check_case("gzip in one-byte chunks", NULL, rs.p, rs.len, 0, OK_(200, 1, text));
    free(rs.p);
    {
        buf c = {0};
        buf_str(&c, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n");
        buf_put(&c, g.p, g.len);
        check_case("gzip until close", NULL, c.p, c.len, 1, OK_(200, 0, text));
        c.len -= 3;
        check_case("gzip until close, cut short", NULL, c.p, c.len, 1, ERR_STATUS(RF_EHTTP_GZIP, 200));
        free(c.p);
    }
    rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", NULL, 0, 0);
    check_case("empty body labelled gzip", NULL, rs.p, rs.len, 0, OK_(200, 1, ""));
    free(rs.p);

    /* deflate means the zlib format */
    buf z = compress_with((const uint8_t *)text, tn, MAX_WBITS);
    rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n", z.p, z.len, 0);
    check_case("deflate", NULL, rs.p, rs.len, 0, OK_(200, 1, text));
    free(rs.p);
    {
        buf zz = {0};
        buf_put(&zz, z.p, z.len);
        buf_str(&zz, "x");
        rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n", zz.p, zz.len, 0);
        check_case("deflate with junk after it", NULL, rs.p, rs.len, 0, ERR_STATUS(RF_EHTTP_GZIP, 200));
        free(rs.p);
        free(zz.p);
    }
    free(z.p);

    /* two gzip members make one body (RFC 1952 2.2) */
    {
        buf a = gzip_of("first half, ", 12), b2 = gzip_of("second half", 11), m = {0};
        buf_put(&m, a.p, a.len);
        buf_put(&m, b2.p, b2.len);
        rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", m.p, m.len, 5);
        check_case("gzip, two members", NULL, rs.p, rs.len, 0, OK_(200, 1, "first half, second half"));
        free(rs.p);
        buf_put(&m, "\0\0", 2); /* not a gzip header */
        rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", m.p, m.len, 0);
        check_case("gzip, junk after the members", NULL, rs.p, rs.len, 0, ERR_STATUS(RF_EHTTP_GZIP, 200));
        free(rs.p);
        free(a.p);
        free(b2.p);
        free(m.p);
    }

    /* corrupt: a flipped byte in the data, in the CRC, and a cut stream */
    {
        buf c = {0};
        buf_put(&c, g.p, g.len);
        c.p[c.len / 2] ^= 0x55;
        rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", c.p, c.len, 0);
        check_case("corrupt gzip", NULL, rs.p, rs.len, 0, ERR_STATUS(RF_EHTTP_GZIP, 200));
        free(rs.p);
        c.p[c.len / 2] ^= 0x55;
        c.p[c.len - 6] ^= 0x01;
        rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", c.p, c.len, 3);
        check_case("gzip with a bad CRC", NULL, rs.p, rs.len, 0, ERR_STATUS(RF_EHTTP_GZIP, 200));
        free(rs.p);
        c.p[c.len - 6] ^= 0x01;
        rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", c.p, c.len - 4, 0);
        check_case("gzip cut short", NULL, rs.p, rs.len, 0, ERR_STATUS(RF_EHTTP_GZIP, 200));
        free(rs.p);
        rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", (const uint8_t *)text, tn, 0);
        check_case("not gzip at all", NULL, rs.p, rs.len, 0, ERR_STATUS(RF_EHTTP_GZIP, 200));
        free(rs.p);
        free(c.p);
    }

    /* A stream cut anywhere, under a limit anywhere: zlib can hold back
     * output when the buffer fills just as input runs out, and the parser
     * must still answer the same for every split (found by the fuzzer). */
    for (size_t cut = 12; cut <= g.len; cut++) {
        size_t most = decodable(g.p, cut);
        for (size_t lim = most > 3 ? most - 3 : 1; lim <= most + 1; lim++) {
            rf_http_response_config cl = {.max_body = lim};
            buf c = {0};
            buf_str(&c, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n");
            buf_put(&c, g.p, cut);
            check_case("gzip cut under a limit", &cl, c.p, c.len, 1, (expect){ANY_RESULT, 0, 0, NULL, 0, 0});
            free(c.p);
        }
    }

    /* limits apply to the decoded size: exactly at it, and a bomb */
    {
        rf_http_response_config lim = {.max_body = tn};
        rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", g.p, g.len, 0);
        check_case("gzip exactly at the limit", &lim, rs.p, rs.len, 0, OK_(200, 1, text));
        lim.max_body = tn - 1;
        check_case("gzip one over the limit", &lim, rs.p, rs.len, 0, ERR_STATUS(RF_EHTTP_BODY_TOOBIG, 200));
        free(rs.p);

        size_t big = (size_t)16 << 20;
        uint8_t *zeros = calloc(1, big);
        buf bomb = gzip_of(zeros, big);
        free(zeros);
        CHECK(bomb.len < 20000);
        lim.max_body = (size_t)1 << 20;
        rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", bomb.p, bomb.len, 4000);
        check_case("gzip bomb", &lim, rs.p, rs.len, 0, ERR_STATUS(RF_EHTTP_BODY_TOOBIG, 200));
        free(rs.p);
        rs = response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", bomb.p, bomb.len, 0);
        check_case("gzip bomb (length)", NULL, rs.p, rs.len, 0, OK_(200, 1, NULL));
        free(rs.p);
        free(bomb.p);
    }
    free(g.p);
}

/* ---- a real snapshot ---- */

static void test_binance(void)
{
    const char *path = "../shared/data/binance/BINANCE.http.0.0";
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("test_http: %s missing, Binance snapshot case skipped\n", path);
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    const char *arrow = n > 0 ? strstr(line, " -> ") : NULL;
    const char *colon = arrow ? strstr(arrow, ": ") : NULL;
    CHECK(colon != NULL);
    if (!colon) {
        free(line);
        return;
    }
    char *body = (char *)colon + 2;
    body[strcspn(body, "\r\n")] = '\0';
    size_t bn = strlen(body);
    CHECK(bn > 1000 && body[0] == '{' && strstr(body, "\"lastUpdateId\"") != NULL);

    buf g = gzip_of(body, bn);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"
                       "Vary: Accept-Encoding\r\nx-mbx-used-weight: 50\r\nContent-Encoding: gzip\r\n";
    buf rs = response(head, g.p, g.len, 0);
    check_case("binance depth, gzip", NULL, rs.p, rs.len, 0, OK_(200, 1, body));
    free(rs.p);
    rs = response(head, g.p, g.len, 1000);
    check_case("binance depth, gzip chunked", NULL, rs.p, rs.len, 0, OK_(200, 1, body));
    free(rs.p);
    rs = response("HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n", (const uint8_t *)body, bn,
                  4096);
    check_case("binance depth, plain chunked", NULL, rs.p, rs.len, 0, OK_(200, 1, body));
    rf_http_response_config lim = {.max_body = bn - 1};
    check_case("binance depth over the limit", &lim, rs.p, rs.len, 0, ERR_STATUS(RF_EHTTP_BODY_TOOBIG, 200));
    free(rs.p);
    free(g.p);
    free(line);
}

/* ---- every error ---- */

static void test_errors(void)
{
    static const struct {
        const char *name, *in;
        int eof, rc, status;
    } cases[] = {
        /* status line */
        {"short status", "HTTP/1.1 20 OK\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"long status", "HTTP/1.1 2000 OK\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"status 099", "HTTP/1.1 099 x\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"status 600", "HTTP/1.1 600 x\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"HTTP/2", "HTTP/2 200 OK\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"lower-case version", "http/1.1 200 OK\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"two spaces", "HTTP/1.1  200 OK\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"no space after status", "HTTP/1.1 200OK\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"ICY", "ICY 200 OK\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"blank first line", "\r\nHTTP/1.1 200 OK\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"bare LF status", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"bare CR status", "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"101 switching", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 0, RF_EHTTP_UNSUPPORTED, 101},
        /* header fields */
        {"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"tab fold", "HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\nContent-Length: 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"missing colon", "HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"empty name", "HTTP/1.1 200 OK\r\n: 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"control in value", "HTTP/1.1 200 OK\r\nX: a\x01\r\nContent-Length: 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"DEL in value", "HTTP/1.1 200 OK\r\nX: a\x7f\r\nContent-Length: 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"bad name byte", "HTTP/1.1 200 OK\r\nX(y): a\r\nContent-Length: 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"bare LF field", "HTTP/1.1 200 OK\r\nX: a\nContent-Length: 0\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"bare LF end", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n", 0, RF_EHTTP_MALFORMED, 0},
        {"bad 100 continue", "HTTP/1.1 100 Continue\r\nX y\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        /* Content-Length */
        {"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 0,
         RF_EHTTP_MALFORMED, 0},
        {"conflicting in a list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello", 0, RF_EHTTP_MALFORMED, 0},
        {"signed length", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", 0, RF_EHTTP_MALFORMED, 0},
        {"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"hex length", "HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello", 0, RF_EHTTP_MALFORMED, 0},
        {"empty length", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", 0,
         RF_EHTTP_BODY_TOOBIG, 200},
        {"length over the limit", "HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\n", 0, RF_EHTTP_BODY_TOOBIG, 200},
        /* codings */
        {"gzip transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 0,
         RF_EHTTP_UNSUPPORTED, 200},
        {"chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0, RF_EHTTP_UNSUPPORTED,
         200},
        {"identity transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n", 0,
         RF_EHTTP_UNSUPPORTED, 200},
        {"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
         RF_EHTTP_MALFORMED, 0},
        {"empty transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n", 0, RF_EHTTP_MALFORMED, 0},
        {"brotli", "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 0\r\n\r\n", 0, RF_EHTTP_UNSUPPORTED,
         200},
        {"gzip twice", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: gzip\r\n\r\n", 0,
         RF_EHTTP_UNSUPPORTED, 200},
        /* chunks */
        {"non-hex size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, RF_EHTTP_CHUNK, 200},
        {"no size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 0, RF_EHTTP_CHUNK, 200},
        {"signed size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n", 0, RF_EHTTP_CHUNK, 200},
        {"0x size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n", 0, RF_EHTTP_CHUNK, 200},
        {"space, no extension", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n", 0,
         RF_EHTTP_CHUNK, 200},
        {"overflowing size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 0,
         RF_EHTTP_CHUNK, 200},
        {"size over the limit", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", 0,
         RF_EHTTP_BODY_TOOBIG, 200},
        {"bare LF after size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 0,
         RF_EHTTP_CHUNK, 200},
        {"data too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", 0,
         RF_EHTTP_CHUNK, 200},
        {"bare LF after data", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", 0,
         RF_EHTTP_CHUNK, 200},
        {"control in extension", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x01\r\nhello\r\n", 0,
         RF_EHTTP_CHUNK, 200},
        {"folded trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n", 0,
         RF_EHTTP_CHUNK, 200},
        {"trailer without colon", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nXa\r\n\r\n", 0,
         RF_EHTTP_CHUNK, 200},
        {"bare LF ending", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n", 0, RF_EHTTP_CHUNK, 200},
        /* the connection ends early */
        {"eof with nothing", "", 1, RF_EHTTP_TRUNCATED, 0},
        {"eof in the status line", "HTTP/1.1 200", 1, RF_EHTTP_TRUNCATED, 0},
        {"eof in the head", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", 1, RF_EHTTP_TRUNCATED, 0},
        {"eof in a 1xx", "HTTP/1.1 100 Continue\r\n\r\n", 1, RF_EHTTP_TRUNCATED, 0},
        {"eof in the body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", 1, RF_EHTTP_TRUNCATED, 200},
        {"eof in a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 1, RF_EHTTP_TRUNCATED,
         200},
        {"eof before the last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", 1,
         RF_EHTTP_TRUNCATED, 200},
        {"eof in trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n", 1,
         RF_EHTTP_TRUNCATED, 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_str(cases[i].name, NULL, cases[i].in, cases[i].eof, ERR_STATUS(cases[i].rc, cases[i].status));

    /* incomplete without eof: not done, no error, everything used */
    check_str("incomplete body", NULL, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", 0, ((expect){0, 200, 1, NULL, 0, 1}));

    /* limits */
    rf_http_response_config small = {.max_header = 64, .max_body = 8};
    const char *h64 = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Pad: 0123456789abcdefg\r\n\r\n";
    CHECK_EQ(strlen(h64), 64);
    buf b = {0};
    buf_str(&b, h64);
    buf_str(&b, "12345678");
    check_case("head exactly at the limit", &small, b.p, b.len, 0, OK_(200, 1, "12345678"));
    free(b.p);
    check_str("head over the limit", &small, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Pad: 0123456789abcdefgh\r\n\r\n", 0,
              ERR_(RF_EHTTP_HEADER_TOOBIG));
    check_str("head over the limit, no end", &small,
              "HTTP/1.1 200 OK\r\nX-Pad: 0123456789abcdef0123456789abcdef0123456789abcdef", 0,
              ERR_(RF_EHTTP_HEADER_TOOBIG));
    check_str("1xx heads count apart", &small,
              "HTTP/1.1 100 Continue\r\nX-Pad: 0123456789abcdef\r\n\r\n"
              "HTTP/1.1 100 Continue\r\nX-Pad: 0123456789abcdef\r\n\r\n"
              "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
              0, OK_(200, 1, "x"));
    check_str("length over max_body", &small, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n123456789", 0,
              ERR_STATUS(RF_EHTTP_BODY_TOOBIG, 200));
    check_str("chunks over max_body", &small,
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n4\r\n6789\r\n0\r\n\r\n", 0,
              ERR_STATUS(RF_EHTTP_BODY_TOOBIG, 200));
    check_str("chunks at max_body", &small,
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n3\r\n678\r\n0\r\n\r\n", 0,
              OK_(200, 1, "12345678"));
    check_str("close-delimited over max_body", &small, "HTTP/1.1 200 OK\r\n\r\n123456789", 1,
              ERR_STATUS(RF_EHTTP_BODY_TOOBIG, 200));
    check_str("close-delimited at max_body", &small, "HTTP/1.1 200 OK\r\n\r\n12345678", 1, OK_(200, 0, "12345678"));
    check_str("long chunk extension", &small,
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 0,
              ERR_STATUS(RF_EHTTP_CHUNK, 200));
    check_str("long trailers", &small,
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
              "Y: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", 0,
              ERR_STATUS(RF_EHTTP_HEADER_TOOBIG, 200));

    /* errors are sticky until reset */
    rf_http_response *r;
    CHECK_EQ(rf_http_response_create(&r, NULL), 0);
    int done = 7;
    const char *bad = "HTTP/1.1 200 OK\r\nX : y\r\n\r\n";
    CHECK_EQ(rf_http_response_feed(r, (const uint8_t *)bad, strlen(bad), &done), RF_EHTTP_MALFORMED);
    CHECK_EQ(done, 0);
    CHECK_EQ(rf_http_response_status(r), 0);
    CHECK_EQ(rf_http_response_feed(r, (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n", 19, &done), RF_EHTTP_MALFORMED);
    CHECK_EQ(rf_http_response_eof(r), RF_EHTTP_MALFORMED);
    CHECK_EQ(rf_http_response_keep_alive(r), 0);
    rf_http_response_reset(r);
    CHECK_EQ(rf_http_response_feed(r, (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n", 19, &done), 19);
    CHECK_EQ(done, 0);
    CHECK_EQ(rf_http_response_eof(r), 0);
    CHECK_EQ(rf_http_response_status(r), 200);
    /* an error after a good head still reports the status, never keep-alive */
    rf_http_response_reset(r);
    const char *tb = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz";
    CHECK_EQ(rf_http_response_feed(r, (const uint8_t *)tb, strlen(tb), &done), RF_EHTTP_CHUNK);
    CHECK_EQ(rf_http_response_status(r), 200);
    CHECK_EQ(rf_http_response_keep_alive(r), 0);
    rf_http_response_destroy(r);
}

int main(void)
{
    test_request();
    test_framing();
    test_headers_api();
    test_pipelined();
    test_gzip();
    test_binance();
    test_errors();
    TEST_DONE("test_http");
}
