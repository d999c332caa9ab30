/* RFC 6455 frames: an incremental parser that accepts any split of the byte
 * stream, and a header writer.
 *
 * The parser never copies payload: it hands out views into the caller's
 * buffer and unmasks them in place, which is why it takes `uint8_t *`.
 * It enforces what a single frame can violate (reserved bits, opcodes,
 * control-frame rules, masking per role, length encoding); message-level
 * rules (fragment sequencing, UTF-8, size limits) belong to rf_ws. */
#ifndef RINGFEED_WS_FRAME_H
#define RINGFEED_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rf_ws_opcode {
    RF_WS_OP_CONTINUATION = 0x0,
    RF_WS_OP_TEXT = 0x1,
    RF_WS_OP_BINARY = 0x2,
    RF_WS_OP_CLOSE = 0x8,
    RF_WS_OP_PING = 0x9,
    RF_WS_OP_PONG = 0xA,
};

#define RF_WS_FRAME_HEADER_MAX 14
#define RF_WS_CONTROL_MAX 125

static inline int rf_ws_opcode_is_control(unsigned opcode) { return (opcode & 0x8) != 0; }

typedef struct rf_frame_header {
    uint64_t payload_len;
    uint8_t fin;         /* 1 on the final fragment of a message */
    uint8_t rsv;         /* RSV1..RSV3 as bits 2..0 (RSV1 = 0x4) */
    uint8_t opcode;      /* enum rf_ws_opcode */
    uint8_t masked;      /* 1 if a masking key was present */
    uint8_t mask_key[4];
    uint8_t header_len;  /* 2..14 */
} rf_frame_header;

/* Parses one header from contiguous bytes. Returns the header length (2..14),
 * RF_EAGAIN when more bytes are needed, or RF_EPROTO_LENGTH for a 64-bit
 * length with the top bit set (as soon as that byte is present, even if the
 * rest of the header is not). No role or opcode policy here. Non-minimal
 * length encodings (e.g. 5 sent as a 16-bit length) are accepted. */
int rf_frame_header_parse(const uint8_t *p, size_t n, rf_frame_header *h);

/* Writes a frame header into out and returns its length (2..14). The length
 * uses the shortest encoding. mask_key NULL writes an unmasked header. */
size_t rf_frame_header_write(uint8_t out[RF_WS_FRAME_HEADER_MAX], int fin, unsigned opcode,
                             uint64_t payload_len, const uint8_t *mask_key);

/* Parser state. A plain struct so it can live inside a connection; treat the
 * fields as private. */
typedef struct rf_frame_parser {
    rf_frame_header hdr;  /* the frame being delivered */
    uint64_t delivered;   /* payload bytes of hdr handed out so far */
    uint8_t partial[RF_WS_FRAME_HEADER_MAX];
    uint8_t partial_len;  /* header bytes buffered across calls */
    uint8_t in_payload;   /* 1 while hdr's payload is being delivered */
    uint8_t expect_masked;/* server role: every frame must be masked */
    uint8_t allowed_rsv;  /* RSV bits an extension negotiated (0 = none) */
} rf_frame_parser;
/* init sets allowed_rsv to 0; the one field a caller sets directly, after
 * init, is allowed_rsv when an extension was negotiated (RSV1 = 0x4). */

/* expect_masked: 1 for the server role (client frames must be masked),
 * 0 for the client role (server frames must not be). */
void rf_frame_parser_init(rf_frame_parser *p, int expect_masked);

/* One step of parsing. */
typedef struct rf_frame_chunk {
    const rf_frame_header *header; /* NULL when this step produced no chunk */
    uint8_t *data;    /* unmasked payload bytes, inside the caller's buffer */
    size_t len;       /* may be 0 (empty frame, or header seen before payload) */
    uint64_t offset;  /* of data within the frame's payload */
    uint8_t first;    /* 1 on the first chunk of this frame (header just parsed) */
    uint8_t last;     /* 1 when this chunk completes the frame */
} rf_frame_chunk;

/* Consumes bytes from data[0..len) and describes at most one chunk in *out.
 * Returns the number of bytes consumed (>= 0), or a negative RF_EPROTO_* code;
 * after an error the parser must not be fed again. Call in a loop until all
 * bytes are consumed:
 *
 *     while (len > 0) {
 *         int n = rf_frame_parser_next(&p, data, len, &chunk);
 *         if (n < 0) return n;
 *         if (chunk.header) handle(&chunk);
 *         data += n; len -= n;
 *     }
 *
 * Every frame yields at least one chunk (first = 1) as soon as its header is
 * complete, so callers can reject a frame before its payload arrives, and
 * exactly one chunk with last = 1. Payload in data is unmasked in place.
 * When the whole frame is in data, one call returns it as a single chunk
 * with first = last = 1. chunk.header points into *p and is valid until the
 * next call. A frame breaking several rules gets the code of the first rule
 * in header-byte order (RSV, opcode, control FIN, mask, control length,
 * 64-bit length); an error is returned by the call that supplies the byte
 * showing it. One call consumes at most INT_MAX bytes. */
int rf_frame_parser_next(rf_frame_parser *p, uint8_t *data, size_t len, rf_frame_chunk *out);

#ifdef __cplusplus
}
#endif
#endif
