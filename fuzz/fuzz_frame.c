/* libFuzzer harness for the frame parser.
 *
 * Input: byte 0 picks the role (bit 0), the allowed RSV bits (bits 1-3) and
 * how the stream is cut (bits 4-5: whole, 1-byte pieces, fixed size from
 * byte 1, pseudo-random sizes seeded by byte 1); the rest is the stream.
 * Each piece lives in its own exactly-sized allocation so ASan sees any read
 * past it. A plain whole-buffer reference parser below says which frames,
 * payloads and error (at which byte) the incremental parser must produce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "ringfeed/error.h"
#include "ringfeed/ws_frame.h"

typedef struct ref_frame {
    size_t header_pos, payload_pos;
    uint64_t payload_len;
    uint8_t b0, masked, header_len, key[4];
} ref_frame;

typedef struct ref_result {
    ref_frame *frames;
    size_t nframes;
    int error;        /* 0 or the code */
    size_t error_at;  /* index of the byte that shows it */
} ref_result;

static int ref_reserved_op(unsigned op) { return (op >= 3 && op <= 7) || op >= 0xB; }

/* Whole-buffer reference: the rules written out plainly, in the order the
 * parser documents (RSV, opcode, FIN on control, mask, control length,
 * 64-bit top bit). */
static void ref_parse(const uint8_t *s, size_t n, int expect_masked, unsigned allowed_rsv,
                      ref_result *r)
{
    size_t pos = 0, cap = 16;
    r->frames = malloc(cap * sizeof *r->frames);
    r->nframes = 0;
    r->error = 0;
    while (pos < n) {
        uint8_t b0 = s[pos];
        unsigned op = b0 & 15, rsv = (b0 >> 4) & 7;
        int control = op >= 8;
        int e = (rsv & ~allowed_rsv) ? RF_EPROTO_RSV
                : ref_reserved_op(op)  ? RF_EPROTO_OPCODE
                : (control && !(b0 & 0x80)) ? RF_EPROTO_CONTROL_FRAGMENTED
                                            : 0;
        if (e) { r->error = e, r->error_at = pos; return; }
        if (pos + 1 >= n) return;
        uint8_t b1 = s[pos + 1];
        unsigned len7 = b1 & 127;
        int masked = b1 >> 7;
        e = masked != expect_masked ? RF_EPROTO_MASK
            : (control && len7 > 125) ? RF_EPROTO_CONTROL_TOO_LONG
                                      : 0;
        if (e) { r->error = e, r->error_at = pos + 1; return; }
        if (len7 == 127 && pos + 2 < n && (s[pos + 2] & 0x80)) {
            r->error = RF_EPROTO_LENGTH, r->error_at = pos + 2;
            return;
        }
        size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        size_t hl = 2 + ext + (masked ? 4 : 0);
        if (pos + hl > n) return;
        uint64_t plen = len7 < 126 ? len7 : 0;
        for (size_t i = 0; i < ext; i++) plen = plen << 8 | s[pos + 2 + i];
        if (r->nframes == cap) r->frames = realloc(r->frames, (cap *= 2) * sizeof *r->frames);
        ref_frame *f = &r->frames[r->nframes++];
        f->header_pos = pos;
        f->payload_pos = pos + hl;
        f->payload_len = plen;
        f->b0 = b0;
        f->masked = (uint8_t)masked;
        f->header_len = (uint8_t)hl;
        memset(f->key, 0, 4);
        if (masked) memcpy(f->key, s + pos + 2 + ext, 4);
        if (plen > n - (pos + hl)) return;
        pos += hl + (size_t)plen;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int expect_masked = data[0] & 1;
    unsigned allowed_rsv = (data[0] >> 1) & 7;
    unsigned mode = (data[0] >> 4) & 3;
    unsigned seed = data[1];
    const uint8_t *s = data + 2;
    size_t n = size - 2;

    ref_result ref;
    ref_parse(s, n, expect_masked, allowed_rsv, &ref);

    rf_frame_parser p;
    rf_frame_parser_init(&p, expect_masked);
    p.allowed_rsv = (uint8_t)allowed_rsv;

    size_t fed = 0, frame = 0;
    uint64_t got = 0;
    int open = 0, error = 0;
    uint32_t rng = seed * 2654435761u + 1;
    while (fed < n && !error) {
        size_t piece = n - fed;
        if (mode == 1) piece = 1;
        else if (mode == 2) piece = seed + 1;
        else if (mode == 3) rng = rng * 1103515245u + 12345u, piece = 1 + (rng >> 16) % 37;
        if (piece > n - fed) piece = n - fed;
        uint8_t *buf = malloc(piece);
        memcpy(buf, s + fed, piece);
        size_t at = 0;
        while (at < piece) {
            rf_frame_chunk c;
            int r = rf_frame_parser_next(&p, buf + at, piece - at, &c);
            if (r < 0) {
                /* fail fast: the error shows up with the byte that reveals it */
                REQUIRE(ref.error == r);
                REQUIRE(ref.error_at >= fed + at && ref.error_at < fed + piece);
                error = 1;
                break;
            }
            REQUIRE((size_t)r <= piece - at);
            REQUIRE(r > 0); /* input left means progress */
            if (c.header) {
                REQUIRE(frame < ref.nframes);
                const ref_frame *f = &ref.frames[frame];
                if (c.first) {
                    REQUIRE(!open);
                    size_t hend = f->header_pos + f->header_len;
                    REQUIRE(hend > fed + at && hend <= fed + at + (size_t)r);
                    REQUIRE(c.header->fin == f->b0 >> 7);
                    REQUIRE(c.header->rsv == ((f->b0 >> 4) & 7));
                    REQUIRE(c.header->opcode == (f->b0 & 15));
                    REQUIRE(c.header->masked == f->masked);
                    REQUIRE(c.header->payload_len == f->payload_len);
                    REQUIRE(c.header->header_len == f->header_len);
                    REQUIRE(memcmp(c.header->mask_key, f->key, 4) == 0);
                    open = 1, got = 0;
                }
                REQUIRE(open);
                REQUIRE(c.offset == got);
                REQUIRE(c.len <= f->payload_len - got);
                if (c.len) {
                    REQUIRE(c.data >= buf + at && c.data + c.len <= buf + at + r);
                    /* where the model says this payload byte sits */
                    REQUIRE(fed + (size_t)(c.data - buf) == f->payload_pos + c.offset);
                    for (size_t i = 0; i < c.len; i++)
                        REQUIRE(c.data[i] == (s[f->payload_pos + c.offset + i] ^
                                              f->key[(c.offset + i) & 3]));
                }
                got += c.len;
                REQUIRE(c.last == (got == f->payload_len));
                if (c.last) open = 0, frame++;
            } else {
                REQUIRE(c.len == 0);
            }
            at += (size_t)r;
        }
        free(buf);
        fed += piece;
    }
    if (!error) {
        REQUIRE(ref.error == 0);
        /* every complete frame ended, the incomplete one (if any) is open */
        size_t complete = ref.nframes;
        if (complete) {
            const ref_frame *lastf = &ref.frames[complete - 1];
            if (lastf->payload_len > n - lastf->payload_pos) complete--;
        }
        REQUIRE(frame == complete);
    }
    free(ref.frames);
    return 0;
}
