/* Private to http_*.c: the response parser's state and the character
 * classes of RFC 9110 / 9112 that the writer and the parser share. */
#ifndef RF_HTTP_INTERNAL_H
#define RF_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "http_syntax.h"
#include "ringfeed/http.h"

enum rf__http_state { RF__HTTP_HEAD, RF__HTTP_BODY, RF__HTTP_DONE, RF__HTTP_ERROR };
enum rf__http_framing { RF__HTTP_LENGTH, RF__HTTP_CHUNKED, RF__HTTP_CLOSE };
enum rf__http_coding { RF__HTTP_IDENTITY, RF__HTTP_GZIP, RF__HTTP_DEFLATE };

typedef struct rf__http_field {
    rf_str name, value;
} rf__http_field;

struct rf_http_response {
    size_t max_header, max_body;
    int head_request;

    int state;
    int error; /* sticky once state is RF__HTTP_ERROR */

    /* The header block is copied here whole before it is judged, so every
     * view handed out points into memory that stays put until reset. */
    uint8_t *head;
    size_t head_cap, head_len;
    size_t line_len; /* bytes of the current, unfinished line */
    uint8_t *fields; /* rf__http_field[], grown with rf__grow */
    size_t fields_cap, nfields;
    int status;
    rf_str reason;
    int keep_alive;

    int framing;
    uint64_t remaining; /* Content-Length left, or the current chunk's */
    int chunk_state;
    int chunk_digits;
    size_t chunk_aux; /* bytes of chunk extensions or trailers, bounded */

    int coding;
    z_stream z;
    int z_ready;   /* inflateInit2 done; the stream is reset, not rebuilt */
    int z_end;     /* the last member ended and nothing followed yet */
    uint64_t z_in; /* coded bytes seen, so an empty coded body is allowed */
    uint8_t *body;
    size_t body_cap, body_len;
};

/* http_head.c: consumes header bytes; moves state on to BODY or DONE. */
int rf__http_head_feed(rf_http_response *r, const uint8_t *p, size_t n, size_t *used);

/* http_body.c */
int rf__http_body_start(rf_http_response *r); /* after the head chose framing and coding */
int rf__http_body_feed(rf_http_response *r, const uint8_t *p, size_t n, size_t *used);
int rf__http_body_finish(rf_http_response *r); /* the framing says the body ended */

#endif
