/* The frame parser against a model: a realistic sequence of frames (both
 * roles, every length encoding, control frames, fragments) fed whole, split
 * in two at every byte, in 1-byte pieces and in random pieces; every
 * single-frame violation, fed whole and a byte at a time; the writer. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ringfeed/error.h"
#include "ringfeed/ws_frame.h"

typedef struct frame_spec {
    uint8_t fin, rsv, opcode;
    uint64_t len;
    int encoding; /* 0 = shortest, 16 or 64 = force that extended length */
} frame_spec;

static const frame_spec specs[] = {
    {1, 0, RF_WS_OP_TEXT, 0, 0},        {1, 0, RF_WS_OP_TEXT, 1, 0},
    {1, 0, RF_WS_OP_TEXT, 125, 0},      {1, 0, RF_WS_OP_PING, 0, 0},
    {1, 0, RF_WS_OP_BINARY, 126, 0},    {1, 0, RF_WS_OP_PONG, 125, 0},
    {1, 0, RF_WS_OP_TEXT, 65535, 0},    {0, 0, RF_WS_OP_TEXT, 10, 0},
    {1, 0, RF_WS_OP_PING, 4, 0},        {0, 0, RF_WS_OP_CONTINUATION, 65536, 0},
    {1, 0, RF_WS_OP_CONTINUATION, 3, 0}, {1, 0, RF_WS_OP_BINARY, 70000, 0},
    {1, 0, RF_WS_OP_TEXT, 5, 16},       {1, 0, RF_WS_OP_TEXT, 7, 64},
    {1, 0, RF_WS_OP_BINARY, 300, 64},   {1, 0, RF_WS_OP_TEXT, 0, 64},
    {1, 0, RF_WS_OP_TEXT, 200, 0},      {1, 0, RF_WS_OP_CLOSE, 2, 0},
};
#define NSPECS (sizeof specs / sizeof specs[0])

typedef struct expect {
    frame_spec s;
    uint8_t masked, key[4], header_len;
    size_t header_pos, payload_pos;
} expect;

typedef struct stream {
    uint8_t *wire;      /* what goes on the wire (masked where masked) */
    uint8_t *plain;     /* the same with payloads unmasked: what the parser leaves */
    uint8_t *work;      /* the parser's scratch copy */
    size_t len;
    expect frames[NSPECS];
    size_t nframes;
    int masked;
} stream;

static uint32_t rng = 1;
static uint32_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    return rng;
}

/* Writes a header by hand, so forced (non-shortest) encodings can be made. */
static size_t put_header(uint8_t *o, const frame_spec *s, const uint8_t *key)
{
    size_t at = 2;
    o[0] = (uint8_t)(s->fin << 7 | s->rsv << 4 | s->opcode);
    uint8_t m = key ? 0x80 : 0;
    if (s->encoding == 0 && s->len < 126) {
        o[1] = (uint8_t)(m | s->len);
    } else if (s->encoding == 16 || (s->encoding == 0 && s->len <= 0xffff)) {
        o[1] = m | 126, o[2] = (uint8_t)(s->len >> 8), o[3] = (uint8_t)s->len;
        at = 4;
    } else {
        o[1] = m | 127;
        for (int i = 0; i < 8; i++) o[2 + i] = (uint8_t)(s->len >> (56 - 8 * i));
        at = 10;
    }
    if (key) memcpy(o + at, key, 4), at += 4;
    return at;
}

static void build_stream(stream *st, int masked)
{
    size_t cap = 0;
    for (size_t i = 0; i < NSPECS; i++) cap += specs[i].len + RF_WS_FRAME_HEADER_MAX;
    st->wire = malloc(cap), st->plain = malloc(cap), st->work = malloc(cap);
    st->masked = masked;
    size_t at = 0;
    for (size_t i = 0; i < NSPECS; i++) {
        expect *e = &st->frames[i];
        e->s = specs[i];
        e->masked = (uint8_t)masked;
        for (int k = 0; k < 4; k++) e->key[k] = masked ? (uint8_t)next_rand() | 1 : 0;
        e->header_pos = at;
        e->header_len = (uint8_t)put_header(st->wire + at, &e->s, masked ? e->key : NULL);
        memcpy(st->plain + at, st->wire + at, e->header_len);
        at += e->header_len;
        e->payload_pos = at;
        for (uint64_t j = 0; j < e->s.len; j++) {
            uint8_t b = (uint8_t)next_rand();
            st->plain[at + j] = b;
            st->wire[at + j] = b ^ e->key[j % 4];
        }
        at += e->s.len;
    }
    st->len = at;
    st->nframes = NSPECS;
}

static void free_stream(stream *st)
{
    free(st->wire), free(st->plain), free(st->work);
}

/* Follows the chunks of one run and checks them against the model. */
typedef struct tracker {
    const stream *st;
    size_t frame;      /* index of the frame being delivered, or next to start */
    int open;          /* a frame's header was seen, its last chunk not yet */
    uint64_t got;      /* payload bytes of the open frame seen so far */
    size_t consumed;   /* bytes consumed before the current call */
} tracker;

static void track(tracker *t, const rf_frame_chunk *c, size_t call_len, int n)
{
    CHECK(n >= 0 && (size_t)n <= call_len);
    if (!c->header) {
        CHECK(c->len == 0);
        t->consumed += (size_t)n;
        return;
    }
    CHECK(t->frame < t->st->nframes);
    if (t->frame >= t->st->nframes) return;
    const expect *e = &t->st->frames[t->frame];
    if (c->first) {
        CHECK(!t->open);
        size_t header_end = e->header_pos + e->header_len;
        /* the chunk arrives from the call that delivered the header's last byte */
        CHECK(t->consumed < header_end && header_end <= t->consumed + (size_t)n);
        CHECK_EQ(c->header->fin, e->s.fin);
        CHECK_EQ(c->header->rsv, e->s.rsv);
        CHECK_EQ(c->header->opcode, e->s.opcode);
        CHECK_EQ(c->header->masked, e->masked);
        CHECK_EQ(c->header->payload_len, e->s.len);
        CHECK_EQ(c->header->header_len, e->header_len);
        if (e->masked) CHECK(memcmp(c->header->mask_key, e->key, 4) == 0);
        t->open = 1;
        t->got = 0;
    }
    CHECK(t->open);
    CHECK_EQ(c->offset, t->got);
    CHECK(c->len <= e->s.len - t->got);
    if (c->len) CHECK(c->data == t->st->work + e->payload_pos + c->offset);
    /* the chunk lies inside what this call was given */
    if (c->len) {
        size_t start = (size_t)(c->data - t->st->work);
        CHECK(start >= t->consumed && start + c->len <= t->consumed + (size_t)n);
    }
    t->got += c->len;
    CHECK_EQ(c->last, t->got == e->s.len);
    if (c->last) {
        t->open = 0;
        t->frame++;
    }
    t->consumed += (size_t)n;
}

/* Feeds work[0..len) in the pieces cuts[] describes (ascending offsets). */
static void run_pieces(stream *st, const size_t *cuts, size_t ncuts)
{
    memcpy(st->work, st->wire, st->len);
    rf_frame_parser p;
    rf_frame_parser_init(&p, st->masked);
    tracker t = {st, 0, 0, 0, 0};
    size_t from = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t to = k < ncuts ? cuts[k] : st->len;
        uint8_t *d = st->work + from;
        size_t left = to - from;
        while (left > 0) {
            rf_frame_chunk c;
            int n = rf_frame_parser_next(&p, d, left, &c);
            CHECK(n >= 0);
            if (n < 0) return;
            track(&t, &c, left, n);
            /* a call that consumes nothing must be a no-op forever */
            if (n == 0) {
                CHECK(c.header && c.len == 0);
                if (!c.header) return;
            }
            d += n, left -= (size_t)n;
        }
        from = to;
    }
    CHECK_EQ(t.frame, st->nframes);
    CHECK(!t.open);
    CHECK_EQ(t.consumed, st->len);
    CHECK(memcmp(st->work, st->plain, st->len) == 0);
}

static void test_stream(int masked)
{
    stream st;
    build_stream(&st, masked);
    run_pieces(&st, NULL, 0);

    /* two pieces, split at every byte boundary */
    for (size_t k = 0; k <= st.len; k++) {
        run_pieces(&st, &k, 1);
        if (rf_test_failures > 50) break;
    }

    /* 1-byte pieces */
    size_t *cuts = malloc(st.len * sizeof *cuts);
    for (size_t k = 0; k < st.len; k++) cuts[k] = k + 1;
    run_pieces(&st, cuts, st.len - 1);

    /* random piece sizes, biased to the small ones that split headers */
    for (int r = 0; r < 200; r++) {
        size_t n = 0, at = 0;
        for (;;) {
            uint32_t x = next_rand();
            at += (x & 3) ? 1 + (x >> 8) % 16 : 1 + (x >> 8) % 5000;
            if (at >= st.len) break;
            cuts[n++] = at;
        }
        run_pieces(&st, cuts, n);
    }
    free(cuts);
    free_stream(&st);
}

/* A header whose byte bad_at first shows the violation; feeds it whole and
 * byte by byte and checks the error comes exactly there. */
static void expect_violation(const uint8_t *hdr, size_t hlen, int expect_masked, uint8_t allowed_rsv,
                             size_t bad_at, int code)
{
    uint8_t buf[64];
    memset(buf, 0, sizeof buf);
    memcpy(buf, hdr, hlen);
    rf_frame_parser p;
    rf_frame_chunk c;
    rf_frame_parser_init(&p, expect_masked);
    p.allowed_rsv = allowed_rsv;
    CHECK_EQ(rf_frame_parser_next(&p, buf, hlen + 8, &c), code);

    rf_frame_parser_init(&p, expect_masked);
    p.allowed_rsv = allowed_rsv;
    for (size_t i = 0; i <= bad_at; i++) {
        int n = rf_frame_parser_next(&p, buf + i, 1, &c);
        if (i < bad_at) {
            CHECK_EQ(n, 1);
            CHECK(c.header == NULL);
        } else {
            CHECK_EQ(n, code);
        }
    }
    /* the stand-alone header parser only polices the length */
    rf_frame_header h;
    int r = rf_frame_header_parse(buf, hlen, &h);
    if (code == RF_EPROTO_LENGTH) CHECK_EQ(r, RF_EPROTO_LENGTH);
    else CHECK_EQ(r, (int)hlen);
}

static void test_violations(void)
{
    const uint8_t key[4] = {1, 2, 3, 4};
    uint8_t h[RF_WS_FRAME_HEADER_MAX];
    for (int role = 0; role <= 1; role++) {
        const uint8_t *k = role ? key : NULL;
        for (unsigned rsv = 1; rsv < 8; rsv++) {
            frame_spec s = {1, (uint8_t)rsv, RF_WS_OP_TEXT, 5, 0};
            size_t n = put_header(h, &s, k);
            expect_violation(h, n, role, 0, 0, RF_EPROTO_RSV);
            /* an extension may allow RSV1; the others stay reserved */
            if (rsv & 3) expect_violation(h, n, role, 0x4, 0, RF_EPROTO_RSV);
        }
        for (unsigned op = 0; op < 16; op++) {
            if (op <= 2 || (op >= 8 && op <= 0xA)) continue;
            frame_spec s = {1, 0, (uint8_t)op, 5, 0};
            expect_violation(h, put_header(h, &s, k), role, 0, 0, RF_EPROTO_OPCODE);
        }
        for (unsigned op = 8; op <= 0xA; op++) {
            frame_spec s = {0, 0, (uint8_t)op, 5, 0};
            expect_violation(h, put_header(h, &s, k), role, 0, 0, RF_EPROTO_CONTROL_FRAGMENTED);
            frame_spec big = {1, 0, (uint8_t)op, 126, 0};
            expect_violation(h, put_header(h, &big, k), role, 0, 1, RF_EPROTO_CONTROL_TOO_LONG);
            frame_spec small16 = {1, 0, (uint8_t)op, 5, 16};
            expect_violation(h, put_header(h, &small16, k), role, 0, 1,
                             RF_EPROTO_CONTROL_TOO_LONG);
            frame_spec small64 = {1, 0, (uint8_t)op, 5, 64};
            expect_violation(h, put_header(h, &small64, k), role, 0, 1,
                             RF_EPROTO_CONTROL_TOO_LONG);
        }
        /* masking the wrong way for the role */
        frame_spec s = {1, 0, RF_WS_OP_TEXT, 5, 0};
        expect_violation(h, put_header(h, &s, role ? NULL : key), role, 0, 1, RF_EPROTO_MASK);
        /* 64-bit length with the top bit set */
        frame_spec huge = {1, 0, RF_WS_OP_BINARY, 0x8000000000000000ull, 64};
        expect_violation(h, put_header(h, &huge, k), role, 0, 2, RF_EPROTO_LENGTH);
        huge.len = ~0ull;
        expect_violation(h, put_header(h, &huge, k), role, 0, 2, RF_EPROTO_LENGTH);
    }
}

/* RSV bits an extension negotiated reach the caller. */
static void test_allowed_rsv(void)
{
    uint8_t buf[32];
    frame_spec s = {1, 4, RF_WS_OP_TEXT, 3, 0};
    size_t n = put_header(buf, &s, NULL);
    memcpy(buf + n, "abc", 3);
    rf_frame_parser p;
    rf_frame_chunk c;
    rf_frame_parser_init(&p, 0);
    p.allowed_rsv = 0x4;
    CHECK_EQ(rf_frame_parser_next(&p, buf, n + 3, &c), (int)(n + 3));
    CHECK(c.header && c.header->rsv == 4 && c.first && c.last && c.len == 3);
}

static void test_writer(void)
{
    const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70000, 0xffffffffull,
                             0x100000000ull, 0x7fffffffffffffffull};
    const uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (int m = 0; m <= 1; m++) {
            for (unsigned op = 0; op <= 0xA; op++) {
                if (op > 2 && op < 8) continue;
                int fin = (op & 1) || rf_ws_opcode_is_control(op);
                uint8_t out[RF_WS_FRAME_HEADER_MAX];
                size_t n = rf_frame_header_write(out, fin, op, lens[i], m ? key : NULL);
                size_t want = (lens[i] < 126 ? 2 : lens[i] <= 0xffff ? 4 : 10) + (m ? 4 : 0);
                CHECK_EQ(n, want);
                rf_frame_header h;
                for (size_t k = 0; k < n; k++) CHECK_EQ(rf_frame_header_parse(out, k, &h), RF_EAGAIN);
                CHECK_EQ(rf_frame_header_parse(out, n, &h), (int)n);
                CHECK_EQ(h.payload_len, lens[i]);
                CHECK_EQ(h.fin, fin);
                CHECK_EQ(h.opcode, op);
                CHECK_EQ(h.rsv, 0);
                CHECK_EQ(h.masked, m);
                CHECK_EQ(h.header_len, n);
                if (m) CHECK(memcmp(h.mask_key, key, 4) == 0);

                /* and through the parser, when the frame is legal */
                if (rf_ws_opcode_is_control(op) && lens[i] > RF_WS_CONTROL_MAX) continue;
                rf_frame_parser p;
                rf_frame_chunk c;
                rf_frame_parser_init(&p, m);
                CHECK_EQ(rf_frame_parser_next(&p, out, n, &c), (int)n);
                CHECK(c.header && c.first && c.len == 0 && c.last == (lens[i] == 0));
                CHECK(c.header && c.header->payload_len == lens[i] && c.header->opcode == op);
            }
        }
    }
}

/* Nothing happens on empty input, mid-header or mid-payload. */
static void test_empty_calls(void)
{
    uint8_t buf[16] = {0x81, 0x03, 'a', 'b', 'c'};
    rf_frame_parser p;
    rf_frame_chunk c;
    rf_frame_parser_init(&p, 0);
    CHECK_EQ(rf_frame_parser_next(&p, buf, 0, &c), 0);
    CHECK(c.header == NULL);
    CHECK_EQ(rf_frame_parser_next(&p, buf, 1, &c), 1);
    CHECK(c.header == NULL);
    CHECK_EQ(rf_frame_parser_next(&p, buf + 1, 0, &c), 0);
    CHECK(c.header == NULL);
    CHECK_EQ(rf_frame_parser_next(&p, buf + 1, 2, &c), 2);
    CHECK(c.header && c.first && !c.last && c.len == 1 && c.data == buf + 2);
    CHECK_EQ(rf_frame_parser_next(&p, buf + 3, 0, &c), 0);
    CHECK(c.header == NULL);
    CHECK_EQ(rf_frame_parser_next(&p, buf + 3, 5, &c), 2);
    CHECK(c.header && !c.first && c.last && c.len == 2 && c.offset == 1);
}

int main(void)
{
    test_writer();
    test_violations();
    test_allowed_rsv();
    test_empty_calls();
    test_stream(0);
    test_stream(1);
    TEST_DONE("ws_frame");
}
