/* libFuzzer harness for the HTTP/1.1 response parser.
 *
 * The first byte picks the limits, HEAD or not, and a piece size; the rest
 * is a stream of responses, parsed one after another (reset between) as on
 * a kept-alive connection, then ended with eof. The stream is parsed twice,
 * whole and in pieces, and every response must come out the same: result,
 * completion, bytes used, status, keep-alive, header fields and body.
 * Along the way: no call uses more than it was given, a body never exceeds
 * max_body, and no header name or value holds CR, LF or NUL. */
#include "fuzz_common.h"
#include "ringfeed/error.h"
#include "ringfeed/http.h"

#include <stdint.h>
#include <string.h>

#define MAX_RESPONSES 16

typedef struct outcome {
    int rc, done, status, keep_alive;
    size_t used, nfields, body_len;
    uint64_t fields_hash, body_hash;
} outcome;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static int known_error(int rc)
{
    return rc == RF_ENOMEM || (rc <= RF_EHTTP_MALFORMED && rc >= RF_EHTTP_UNSUPPORTED);
}

static void field_ok(rf_str s)
{
    REQUIRE(s.ptr || s.len == 0);
    for (size_t i = 0; i < s.len; i++)
        REQUIRE(s.ptr[i] != '\r' && s.ptr[i] != '\n' && s.ptr[i] != '\0');
}

static void describe(rf_http_response *r, outcome *o, size_t max_body)
{
    o->status = rf_http_response_status(r);
    o->keep_alive = rf_http_response_keep_alive(r);
    REQUIRE(o->status == 0 || (o->status >= 100 && o->status <= 599));
    REQUIRE(o->keep_alive == 0 || o->keep_alive == 1);
    field_ok(rf_http_response_reason(r));
    o->nfields = rf_http_response_header_count(r);
    o->fields_hash = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < o->nfields; i++) {
        rf_str name, value, first;
        REQUIRE(rf_http_response_header_at(r, i, &name, &value) == 0);
        REQUIRE(name.len > 0);
        field_ok(name);
        field_ok(value);
        REQUIRE(value.len == 0 || (value.ptr[0] != ' ' && value.ptr[0] != '\t' && value.ptr[value.len - 1] != ' ' &&
                                      value.ptr[value.len - 1] != '\t'));
        char key[64];
        if (name.len < sizeof key) {
            memcpy(key, name.ptr, name.len);
            key[name.len] = '\0';
            REQUIRE(rf_http_response_header(r, key, &first) == 1);
        }
        o->fields_hash = fnv(fnv(fnv(o->fields_hash, name.ptr, name.len), ":", 1), value.ptr, value.len);
    }
    REQUIRE(rf_http_response_header_at(r, o->nfields, NULL, NULL) == RF_EINVAL);
    const uint8_t *b = rf_http_response_body(r, &o->body_len);
    REQUIRE(b != NULL);
    REQUIRE(o->body_len <= max_body);
    o->body_hash = fnv(0xcbf29ce484222325ull, b, o->body_len);
}

/* Parses the stream in pieces of `step` bytes (0: whole); returns how many
 * responses it saw. */
static size_t run(rf_http_response *r, const uint8_t *d, size_t n, size_t step, size_t max_body,
                  outcome out[MAX_RESPONSES])
{
    size_t off = 0, count = 0;
    while (count < MAX_RESPONSES) {
        outcome *o = &out[count++];
        memset(o, 0, sizeof *o);
        rf_http_response_reset(r);
        int done = 0;
        size_t start = off;
        while (off < n && !done) {
            size_t k = step && n - off > step ? step : n - off;
            int u = rf_http_response_feed(r, d + off, k, &done);
            if (u < 0) {
                REQUIRE(known_error(u));
                REQUIRE(!done);
                o->rc = u;
                break;
            }
            REQUIRE((size_t)u <= k);
            REQUIRE(done || (size_t)u == k);
            off += (size_t)u;
        }
        if (!o->rc && !done) {
            int e = rf_http_response_eof(r);
            REQUIRE(e == 0 || known_error(e));
            o->rc = e;
            done = e == 0;
            REQUIRE(rf_http_response_eof(r) == e); /* sticky */
        }
        o->done = done;
        o->used = o->rc ? 0 : off - start;
        describe(r, o, max_body);
        if (o->rc || off == n)
            break;
    }
    return count;
}

static const size_t header_limits[] = {0, 48, 200, 1024};
static const size_t body_limits[] = {0, 16, 300, 5000};
static const size_t steps[] = {1, 2, 3, 5, 8, 17, 64, 301};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t c = data[0];
    rf_http_response_config cfg = {
        .max_header = header_limits[(c >> 3) & 3],
        .max_body = body_limits[(c >> 5) & 3],
        .head_request = c >> 7,
    };
    size_t step = steps[c & 7];
    size_t max_body = cfg.max_body ? cfg.max_body : (size_t)64 << 20;
    data++;
    size--;

    rf_http_response *r;
    REQUIRE(rf_http_response_create(&r, &cfg) == 0);
    static outcome whole[MAX_RESPONSES], split[MAX_RESPONSES];
    size_t nw = run(r, data, size, 0, max_body, whole);
    size_t ns = run(r, data, size, step, max_body, split);
    REQUIRE(nw == ns);
    for (size_t i = 0; i < nw; i++) {
        const outcome *a = &whole[i], *b = &split[i];
        REQUIRE(a->rc == b->rc);
        REQUIRE(a->done == b->done);
        REQUIRE(a->used == b->used);
        REQUIRE(a->status == b->status);
        REQUIRE(a->keep_alive == b->keep_alive);
        REQUIRE(a->nfields == b->nfields && a->fields_hash == b->fields_hash);
        REQUIRE(a->body_len == b->body_len && a->body_hash == b->body_hash);
    }
    rf_http_response_destroy(r);
    return 0;
}
