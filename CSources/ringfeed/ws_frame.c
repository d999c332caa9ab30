/* RFC 6455 frame parser and header writer.
 *
 * The parser has two ways into a header. The fast one parses straight from
 * the caller's buffer when the whole header is there, which is nearly always
 * the case; the slow one gathers a header split across calls in
 * p->partial. Both run the same policy checks, and the slow one runs them on
 * every prefix it sees so a bad frame fails on the byte that shows it. */
#include "ringfeed/ws_frame.h"

#include <limits.h>
#include <string.h>

#include "ringfeed/error.h"
#include "ringfeed/ws_mask.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Header length implied by the second byte. */
static inline size_t header_len_for(uint8_t b1)
{
    unsigned len7 = b1 & 0x7f;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
}

static inline uint64_t load_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* Caller guarantees n >= header_len_for(p[1]). */
static inline void decode_header(const uint8_t *p, size_t hl, rf_frame_header *h)
{
    uint8_t b0 = p[0], b1 = p[1];
    unsigned len7 = b1 & 0x7f;
    size_t at = 2;
    h->fin = b0 >> 7;
    h->rsv = (b0 >> 4) & 7;
    h->opcode = b0 & 0xf;
    h->masked = b1 >> 7;
    if (len7 < 126) {
        h->payload_len = len7;
    } else if (len7 == 126) {
        h->payload_len = load_be(p + 2, 2);
        at = 4;
    } else {
        h->payload_len = load_be(p + 2, 8);
        at = 10;
    }
    if (h->masked)
        memcpy(h->mask_key, p + at, 4);
    else
        memset(h->mask_key, 0, 4);
    h->header_len = (uint8_t)hl;
}

int rf_frame_header_parse(const uint8_t *p, size_t n, rf_frame_header *h)
{
    /* The length check looks at a prefix so that it, too, fails fast. */
    if (n >= 3 && (p[1] & 0x7f) == 127 && (p[2] & 0x80)) return RF_EPROTO_LENGTH;
    if (n < 2) return RF_EAGAIN;
    size_t hl = header_len_for(p[1]);
    if (n < hl) return RF_EAGAIN;
    decode_header(p, hl, h);
    return (int)hl;
}

size_t rf_frame_header_write(uint8_t out[RF_WS_FRAME_HEADER_MAX], int fin, unsigned opcode,
                             uint64_t payload_len, const uint8_t *mask_key)
{
    size_t at = 2;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0xf));
    uint8_t mbit = mask_key ? 0x80 : 0;
    if (payload_len < 126) {
        out[1] = (uint8_t)(mbit | payload_len);
    } else if (payload_len <= 0xffff) {
        out[1] = mbit | 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        at = 4;
    } else {
        out[1] = mbit | 127;
        for (unsigned i = 0; i < 8; i++) out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
        at = 10;
    }
    if (mask_key) {
        memcpy(out + at, mask_key, 4);
        at += 4;
    }
    return at;
}

void rf_frame_parser_init(rf_frame_parser *p, int expect_masked)
{
    memset(p, 0, sizeof *p);
    p->expect_masked = expect_masked ? 1 : 0;
}

static inline int opcode_reserved(unsigned op)
{
    /* bit op set for 3-7 and 0xB-0xF */
    return (0xF8F8u >> op) & 1;
}

/* Policy on the first n (>= 1) bytes of a header; the order of the checks
 * decides which code a frame breaking several rules gets: byte order first,
 * then RSV, opcode, FIN within a byte. */
static int check_prefix(const rf_frame_parser *p, const uint8_t *h, size_t n)
{
    uint8_t b0 = h[0];
    unsigned op = b0 & 0xf;
    if ((b0 >> 4) & 7 & ~p->allowed_rsv) return RF_EPROTO_RSV;
    if (opcode_reserved(op)) return RF_EPROTO_OPCODE;
    int control = rf_ws_opcode_is_control(op);
    if (control && !(b0 & 0x80)) return RF_EPROTO_CONTROL_FRAGMENTED;
    if (n < 2) return 0;
    uint8_t b1 = h[1];
    if ((b1 >> 7) != p->expect_masked) return RF_EPROTO_MASK;
    if (control && (b1 & 0x7f) > RF_WS_CONTROL_MAX) return RF_EPROTO_CONTROL_TOO_LONG;
    if (n >= 3 && (b1 & 0x7f) == 127 && (h[2] & 0x80)) return RF_EPROTO_LENGTH;
    return 0;
}

/* Hands out as much of the current frame's payload as data holds. `used`
 * bytes of data went to the header in this call already. */
static inline int deliver(rf_frame_parser *p, uint8_t *data, size_t avail, size_t used, int first,
                          rf_frame_chunk *out)
{
    uint64_t remaining = p->hdr.payload_len - p->delivered;
    size_t take = avail - used;
    if ((uint64_t)take > remaining) take = (size_t)remaining;
    uint8_t *payload = data + used;
    if (p->hdr.masked && take) rf_ws_mask(payload, take, p->hdr.mask_key, p->delivered);
    out->header = &p->hdr;
    out->data = payload;
    out->len = take;
    out->offset = p->delivered;
    out->first = (uint8_t)first;
    out->last = take == remaining;
    p->delivered += take;
    p->in_payload = !out->last;
    return (int)(used + take);
}

static inline int no_chunk(rf_frame_chunk *out, int consumed)
{
    out->header = NULL;
    out->data = NULL;
    out->len = 0;
    out->offset = 0;
    out->first = out->last = 0;
    return consumed;
}

/* Gathers header bytes across calls; fails as soon as a prefix is bad. */
static int gather_header(rf_frame_parser *p, uint8_t *data, size_t avail, rf_frame_chunk *out)
{
    size_t used = 0;
    size_t have = p->partial_len;
    size_t need = have >= 2 ? header_len_for(p->partial[1]) : 2;
    while (have < need && used < avail) {
        p->partial[have++] = data[used++];
        if (have == 2) need = header_len_for(p->partial[1]);
    }
    p->partial_len = (uint8_t)have;
    int err = check_prefix(p, p->partial, have);
    if (err) return err;
    if (have < need) return no_chunk(out, (int)used);
    decode_header(p->partial, need, &p->hdr);
    p->partial_len = 0;
    p->delivered = 0;
    return deliver(p, data, avail, used, 1, out);
}

int rf_frame_parser_next(rf_frame_parser *p, uint8_t *data, size_t len, rf_frame_chunk *out)
{
    /* The count comes back as an int, so one call takes at most INT_MAX. */
    size_t avail = len < (size_t)INT_MAX ? len : (size_t)INT_MAX;
    if (p->in_payload) return avail ? deliver(p, data, avail, 0, 0, out) : no_chunk(out, 0);
    if (LIKELY(p->partial_len == 0 && avail >= 2)) {
        size_t hl = header_len_for(data[1]);
        if (LIKELY(avail >= hl)) {
            int err = check_prefix(p, data, hl);
            if (UNLIKELY(err)) return no_chunk(out, err);
            decode_header(data, hl, &p->hdr);
            p->delivered = 0;
            return deliver(p, data, avail, hl, 1, out);
        }
    }
    if (avail == 0) return no_chunk(out, 0);
    int r = gather_header(p, data, avail, out);
    return r < 0 ? no_chunk(out, r) : r;
}
