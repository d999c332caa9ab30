/* rf_ws, the message layer: reassembly, control frames, UTF-8 across
 * fragments, limits, the close handshake and the close code for every
 * violation, in both roles, with input split at every byte. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ringfeed/error.h"
#include "ringfeed/ws.h"
#include "ringfeed/ws_mask.h"

/* A transport that records what the endpoint writes. */
typedef struct peer {
    uint8_t out[1 << 16];
    size_t out_len;
    uint8_t scratch[1 << 21];
    /* what the endpoint reported */
    int messages;
    unsigned last_opcode;
    uint8_t last[1 << 20];
    size_t last_len;
    const uint8_t *last_ptr;
    int pings, pongs;
    int closed, close_code, close_error;
} peer;

static uint8_t *t_reserve(void *ctx, size_t n)
{
    peer *p = ctx;
    return n <= sizeof p->scratch ? p->scratch : NULL;
}

static int t_commit(void *ctx, size_t n)
{
    peer *p = ctx;
    if (p->out_len + n <= sizeof p->out) {
        memcpy(p->out + p->out_len, p->scratch, n);
        p->out_len += n;
    }
    return 0;
}

static void t_message(void *ctx, unsigned opcode, const uint8_t *data, size_t len)
{
    peer *p = ctx;
    p->messages++;
    p->last_opcode = opcode;
    p->last_len = len < sizeof p->last ? len : sizeof p->last;
    memcpy(p->last, data, p->last_len);
    p->last_ptr = data;
}

static void t_ping(void *ctx, const uint8_t *d, size_t n) { ((peer *)ctx)->pings++; }
static void t_pong(void *ctx, const uint8_t *d, size_t n) { ((peer *)ctx)->pongs++; }

static void t_close(void *ctx, int code, const uint8_t *reason, size_t len, int error)
{
    peer *p = ctx;
    p->closed++;
    p->close_code = code;
    p->close_error = error;
}

static rf_ws *make(peer *p, int role, size_t max)
{
    memset(p, 0, sizeof *p);
    rf_ws_config cfg = {.role = role, .max_message = max};
    rf_ws_callbacks cb = {.on_message = t_message, .on_ping = t_ping, .on_pong = t_pong,
                          .on_close = t_close, .reserve = t_reserve, .commit = t_commit};
    rf_ws *ws = NULL;
    CHECK_EQ(rf_ws_create(&ws, &cfg, &cb, p), 0);
    return ws;
}

/* Builds a frame as the peer of `role` would send it. */
static size_t frame(uint8_t *out, int to_role, int fin, unsigned opcode, const void *data, size_t len)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    const int masked = to_role == RF_WS_SERVER;
    size_t h = rf_frame_header_write(out, fin, opcode, len, masked ? key : NULL);
    memcpy(out + h, data, len);
    if (masked)
        rf_ws_mask(out + h, len, key, 0);
    return h + len;
}

/* The close code in the first close frame the endpoint wrote, or -1. */
static int sent_close_code(const peer *p, int role)
{
    rf_frame_parser fp;
    rf_frame_parser_init(&fp, role == RF_WS_CLIENT); /* we parse what it sent */
    uint8_t buf[sizeof p->out];
    memcpy(buf, p->out, p->out_len);
    size_t off = 0;
    while (off < p->out_len) {
        rf_frame_chunk c;
        int n = rf_frame_parser_next(&fp, buf + off, p->out_len - off, &c);
        if (n < 0)
            return -2;
        off += (size_t)n;
        if (c.header && c.last && c.header->opcode == RF_WS_OP_CLOSE) {
            if (c.header->payload_len == 0)
                return 1005;
            return (c.data[c.len - c.header->payload_len] << 8) | c.data[c.len - c.header->payload_len + 1];
        }
    }
    return -1;
}

/* Feeds the stream whole, then split at every byte boundary, then one byte
 * at a time; the outcome must be identical. */
typedef struct outcome {
    int rc, messages, closed, close_code, close_error, sent_code;
    unsigned opcode;
    size_t len;
    uint8_t first_bytes[16];
} outcome;

static outcome run(int role, size_t max, const uint8_t *stream, size_t n, size_t split)
{
    static peer p;
    rf_ws *ws = make(&p, role, max);
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, stream, n);
    outcome o = {0};
    size_t at = 0;
    while (at < n && o.rc == 0) {
        size_t step = split == 0 ? n - at : (split == 1 ? 1 : (at == 0 ? split : n - at));
        if (step > n - at)
            step = n - at;
        o.rc = rf_ws_feed(ws, copy + at, step);
        at += step;
    }
    o.messages = p.messages;
    o.closed = p.closed;
    o.close_code = p.close_code;
    o.close_error = p.close_error;
    o.sent_code = sent_close_code(&p, role);
    o.opcode = p.last_opcode;
    o.len = p.last_len;
    memcpy(o.first_bytes, p.last, p.last_len < 16 ? p.last_len : 16);
    rf_ws_destroy(ws);
    free(copy);
    return o;
}

static outcome run_all_splits(int role, size_t max, const uint8_t *stream, size_t n)
{
    outcome whole = run(role, max, stream, n, 0);
    for (size_t s = 1; s < n; s++) {
        outcome o = run(role, max, stream, n, s == 1 ? 1 : s);
        if (memcmp(&o, &whole, sizeof o) != 0) {
            CHECK(!"split changed the outcome");
            fprintf(stderr, "  split %zu: rc %d/%d msgs %d/%d code %d/%d\n", s, o.rc, whole.rc,
                    o.messages, whole.messages, o.close_code, whole.close_code);
            break;
        }
    }
    return whole;
}

static void expect_violation(int role, const uint8_t *s, size_t n, int error, int code, const char *what)
{
    outcome o = run_all_splits(role, 1 << 20, s, n);
    if (o.rc != error || o.close_code != code || o.sent_code != code || o.closed != 1)
        fprintf(stderr, "violation '%s': rc %d want %d, code %d sent %d want %d\n", what, o.rc, error,
                o.close_code, o.sent_code, code);
    CHECK_EQ(o.rc, error);
    CHECK_EQ(o.close_code, code);
    CHECK_EQ(o.sent_code, code);
    CHECK_EQ(o.close_error, error);
}

static void test_violations(int role)
{
    uint8_t s[512];
    size_t n;

    n = frame(s, role, 1, 0x3, "x", 1);
    expect_violation(role, s, n, RF_EPROTO_OPCODE, 1002, "reserved opcode");
    n = frame(s, role, 1, RF_WS_OP_TEXT, "x", 1);
    s[0] |= 0x40;
    expect_violation(role, s, n, RF_EPROTO_RSV, 1002, "rsv1");
    n = frame(s, role, 0, RF_WS_OP_PING, "x", 1);
    expect_violation(role, s, n, RF_EPROTO_CONTROL_FRAGMENTED, 1002, "fragmented ping");
    uint8_t big[200] = {0};
    n = frame(s, role, 1, RF_WS_OP_PING, big, 126);
    expect_violation(role, s, n, RF_EPROTO_CONTROL_TOO_LONG, 1002, "long ping");
    n = frame(s, role, 1, RF_WS_OP_CONTINUATION, "x", 1);
    expect_violation(role, s, n, RF_EPROTO_CONTINUATION, 1002, "continuation first");
    n = frame(s, role, 0, RF_WS_OP_TEXT, "a", 1);
    n += frame(s + n, role, 1, RF_WS_OP_TEXT, "b", 1);
    expect_violation(role, s, n, RF_EPROTO_FRAGMENT, 1002, "new message inside fragmented");
    n = frame(s, role, 1, RF_WS_OP_TEXT, "\xce\xba\xf4\x90\x80\x80", 6);
    expect_violation(role, s, n, RF_EUTF8, 1007, "invalid utf8");
    n = frame(s, role, 0, RF_WS_OP_TEXT, "\xce", 1);
    n += frame(s + n, role, 1, RF_WS_OP_CONTINUATION, "\xba\xce", 2);
    expect_violation(role, s, n, RF_EUTF8, 1007, "truncated utf8 at message end");
    n = frame(s, role, 1, RF_WS_OP_CLOSE, "\x03", 1);
    expect_violation(role, s, n, RF_EPROTO_CLOSE_PAYLOAD, 1002, "1-byte close");
    n = frame(s, role, 1, RF_WS_OP_CLOSE, "\x03\xed", 2); /* 1005 */
    expect_violation(role, s, n, RF_EPROTO_CLOSE_CODE, 1002, "close 1005");
    n = frame(s, role, 1, RF_WS_OP_CLOSE, "\x03\xe8\xff", 3);
    expect_violation(role, s, n, RF_EUTF8, 1007, "close reason not utf8");
    /* Masking must match the role. */
    n = frame(s, role == RF_WS_CLIENT ? RF_WS_SERVER : RF_WS_CLIENT, 1, RF_WS_OP_TEXT, "x", 1);
    expect_violation(role, s, n, RF_EPROTO_MASK, 1002, "wrong masking");
}

static void test_fragments_with_control(int role)
{
    uint8_t s[1024];
    size_t n = 0;
    n += frame(s + n, role, 0, RF_WS_OP_TEXT, "Hello, ", 7);
    n += frame(s + n, role, 1, RF_WS_OP_PING, "p", 1);
    n += frame(s + n, role, 0, RF_WS_OP_CONTINUATION, "\xce", 1); /* κ split across frames */
    n += frame(s + n, role, 1, RF_WS_OP_PONG, "", 0);
    n += frame(s + n, role, 1, RF_WS_OP_CONTINUATION, "\xbaz", 2);
    outcome o = run_all_splits(role, 1 << 20, s, n);
    CHECK_EQ(o.rc, 0);
    CHECK_EQ(o.messages, 1);
    CHECK_EQ(o.len, 10);
    CHECK(memcmp(o.first_bytes, "Hello, \xce\xbaz", 10) == 0);
    CHECK_EQ(o.closed, 0);
}

static void test_fail_fast_utf8(int role)
{
    /* The invalid byte is in the first part of a long frame: the endpoint
     * must fail before the rest of the payload arrives. */
    static uint8_t s[5000];
    static uint8_t payload[4000];
    memset(payload, 'a', sizeof payload);
    payload[10] = 0xff;
    size_t n = frame(s, role, 1, RF_WS_OP_TEXT, payload, sizeof payload);
    peer *p = calloc(1, sizeof *p);
    rf_ws *ws = make(p, role, 1 << 20);
    int rc = rf_ws_feed(ws, s, 40); /* header + 30 payload bytes */
    CHECK_EQ(rc, RF_EUTF8);
    CHECK_EQ(p->close_code, 1007);
    rf_ws_destroy(ws);
    free(p);
    (void)n;
}

static void test_limits_and_zero_copy(int role)
{
    static uint8_t s[1 << 17];
    static uint8_t payload[70000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)i;
    /* Too big, refused from the header before the payload arrives. */
    size_t n = frame(s, role, 1, RF_WS_OP_BINARY, payload, 70000);
    peer *p = calloc(1, sizeof *p);
    rf_ws *ws = make(p, role, 65536);
    CHECK_EQ(rf_ws_feed(ws, s, 14), RF_ETOOBIG); /* the header, masked or not */
    CHECK_EQ(p->close_code, 1009);
    rf_ws_destroy(ws);
    /* The limit counts all fragments of a message. */
    n = frame(s, role, 0, RF_WS_OP_BINARY, payload, 40000);
    n += frame(s + n, role, 1, RF_WS_OP_CONTINUATION, payload, 30000);
    outcome o = run(role, 65536, s, n, 0);
    CHECK_EQ(o.rc, RF_ETOOBIG);
    o = run(role, 70000, s, n, 0);
    CHECK_EQ(o.rc, 0);
    CHECK_EQ(o.len, 70000);
    /* One whole frame in one buffer is handed out in place, no copy. */
    ws = make(p, role, 1 << 20);
    n = frame(s, role, 1, RF_WS_OP_BINARY, payload, 300);
    CHECK_EQ(rf_ws_feed(ws, s, n), 0);
    CHECK(p->last_ptr >= s && p->last_ptr < s + n);
    CHECK_EQ(p->last_len, 300);
    rf_ws_destroy(ws);
    free(p);
}

static void test_close_handshake(int role)
{
    uint8_t s[256];
    /* Peer closes with 1000 + reason: we echo the code and are CLOSED. */
    size_t n = frame(s, role, 1, RF_WS_OP_CLOSE, "\x03\xe8ok", 4);
    outcome o = run_all_splits(role, 1 << 20, s, n);
    CHECK_EQ(o.rc, 0);
    CHECK_EQ(o.closed, 1);
    CHECK_EQ(o.close_code, 1000);
    CHECK_EQ(o.close_error, 0);
    CHECK_EQ(o.sent_code, 1000);
    /* Empty close: answered with an empty close; reported as 1005. */
    n = frame(s, role, 1, RF_WS_OP_CLOSE, "", 0);
    o = run(role, 1 << 20, s, n, 0);
    CHECK_EQ(o.close_code, 1005);
    CHECK_EQ(o.sent_code, 1005);
    /* Data after the close frame is ignored. */
    n = frame(s, role, 1, RF_WS_OP_CLOSE, "\x0f\xa0", 2); /* 4000 */
    n += frame(s + n, role, 1, RF_WS_OP_TEXT, "late", 4);
    o = run(role, 1 << 20, s, n, 0);
    CHECK_EQ(o.messages, 0);
    CHECK_EQ(o.close_code, 4000);
    /* We start closing: one close frame out, CLOSED when the peer answers. */
    peer *p = calloc(1, sizeof *p);
    rf_ws *ws = make(p, role, 1 << 20);
    CHECK_EQ(rf_ws_close(ws, 1001, "bye", 3), 0);
    CHECK_EQ(rf_ws_state(ws), RF_WS_CLOSING);
    CHECK_EQ(rf_ws_send(ws, RF_WS_OP_TEXT, "x", 1), RF_ESTATE);
    CHECK_EQ(rf_ws_close(ws, 1000, NULL, 0), RF_ESTATE);
    CHECK_EQ(sent_close_code(p, role), 1001);
    size_t before = p->out_len;
    n = frame(s, role, 1, RF_WS_OP_CLOSE, "\x03\xe9", 2);
    CHECK_EQ(rf_ws_feed(ws, s, n), 0);
    CHECK_EQ(rf_ws_state(ws), RF_WS_CLOSED);
    CHECK_EQ(p->out_len, before); /* no second close frame */
    CHECK_EQ(p->close_code, 1001);
    rf_ws_destroy(ws);
    /* Invalid close codes are refused locally. */
    ws = make(p, role, 1 << 20);
    CHECK_EQ(rf_ws_close(ws, 1005, NULL, 0), RF_EINVAL);
    CHECK_EQ(rf_ws_close(ws, 999, NULL, 0), RF_EINVAL);
    CHECK_EQ(rf_ws_close(ws, 1000, "\xff", 1), RF_EUTF8);
    rf_ws_destroy(ws);
    free(p);
}

static void test_ping_pong_and_masking(int role)
{
    uint8_t s[256];
    peer *p = calloc(1, sizeof *p);
    rf_ws *ws = make(p, role, 1 << 20);
    size_t n = frame(s, role, 1, RF_WS_OP_PING, "abc", 3);
    CHECK_EQ(rf_ws_feed(ws, s, n), 0);
    CHECK_EQ(p->pings, 1);
    /* The pong carries the ping's payload, masked iff we are the client. */
    rf_frame_header h;
    int hl = rf_frame_header_parse(p->out, p->out_len, &h);
    CHECK(hl > 0);
    CHECK_EQ(h.opcode, RF_WS_OP_PONG);
    CHECK_EQ(h.masked, role == RF_WS_CLIENT);
    CHECK_EQ(h.payload_len, 3);
    uint8_t body[3];
    memcpy(body, p->out + hl, 3);
    if (h.masked)
        rf_ws_mask(body, 3, h.mask_key, 0);
    CHECK(memcmp(body, "abc", 3) == 0);
    /* Each client frame gets a fresh key. */
    if (role == RF_WS_CLIENT) {
        uint8_t keys[64][4];
        for (int i = 0; i < 64; i++) {
            p->out_len = 0;
            CHECK_EQ(rf_ws_send(ws, RF_WS_OP_TEXT, "k", 1), 0);
            rf_frame_header_parse(p->out, p->out_len, &h);
            memcpy(keys[i], h.mask_key, 4);
        }
        int distinct = 1;
        for (int i = 0; i < 64; i++)
            for (int j = 0; j < i; j++)
                if (memcmp(keys[i], keys[j], 4) == 0)
                    distinct = 0;
        CHECK(distinct);
    }
    rf_ws_destroy(ws);
    free(p);
}

static void test_close_code_table(void)
{
    static const int valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    static const int invalid[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++)
        CHECK(rf_ws_close_code_valid(valid[i]));
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++)
        CHECK(!rf_ws_close_code_valid(invalid[i]));
    CHECK_EQ(rf_ws_close_code_for_error(RF_EUTF8), 1007);
    CHECK_EQ(rf_ws_close_code_for_error(RF_ETOOBIG), 1009);
    CHECK_EQ(rf_ws_close_code_for_error(RF_EPROTO_OPCODE), 1002);
}

int main(void)
{
    for (int role = RF_WS_CLIENT; role <= RF_WS_SERVER; role++) {
        test_violations(role);
        test_fragments_with_control(role);
        test_fail_fast_utf8(role);
        test_limits_and_zero_copy(role);
        test_close_handshake(role);
        test_ping_pong_and_masking(role);
    }
    test_close_code_table();
    TEST_DONE("test_ws");
}
