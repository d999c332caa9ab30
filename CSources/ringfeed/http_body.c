/* The response body: framing (Content-Length, chunked, until close) and the
 * content coding (identity, gzip, deflate) into the parser's body buffer.
 *
 * The chunked decoder is a byte-at-a-time state machine for everything but
 * chunk data, so any split of the input walks the same states. Inflate runs
 * on whatever arrives, into a buffer that never grows past max_body: a gzip
 * bomb is stopped after max_body decoded bytes, not after it is unpacked. */
#include <limits.h>
#include <string.h>

#include "grow.h"
#include "http_internal.h"
#include "ringfeed/error.h"

enum {
    CS_SIZE,      /* hex digits */
    CS_SIZE_WS,   /* BWS after the size, before ';' */
    CS_EXT,       /* chunk extensions, skipped */
    CS_SIZE_LF,
    CS_DATA,
    CS_DATA_CR,
    CS_DATA_LF,
    CS_TRAILER,   /* start of a trailer line, or the final CRLF */
    CS_TR_NAME,
    CS_TR_VALUE,
    CS_TR_LF,
    CS_END_LF,
};

int rf__http_body_start(rf_http_response *r)
{
    r->chunk_state = CS_SIZE;
    r->chunk_digits = 0;
    r->chunk_aux = 0;
    if (r->framing == RF__HTTP_CHUNKED)
        r->remaining = 0;
    if (r->coding != RF__HTTP_IDENTITY) {
        /* 16+: gzip wrapper only; plain: zlib wrapper (what "deflate" means
         * in RFC 9110 8.4.1.2). Same window size, so resetting between them
         * keeps the window allocated. */
        int wbits = r->coding == RF__HTTP_GZIP ? 16 + MAX_WBITS : MAX_WBITS;
        int z = r->z_ready ? inflateReset2(&r->z, wbits) : inflateInit2(&r->z, wbits);
        if (z != Z_OK)
            return z == Z_MEM_ERROR ? RF_ENOMEM : RF_EHTTP_GZIP;
        r->z_ready = 1;
    }
    if (r->framing == RF__HTTP_LENGTH && r->remaining == 0)
        return rf__http_body_finish(r);
    return 0;
}

/* Inflates until zlib wants more input. A call that fills the output may
 * hold decoded bytes back even after taking all the input, so output space
 * is offered again until some is left unused; only then is the state the
 * same as if the input had come in any other split. */
static int inflate_run(rf_http_response *r)
{
    z_stream *z = &r->z;
    for (;;) {
        if (r->body_len == r->body_cap && r->body_cap < r->max_body) {
            int e = rf__grow(&r->body, &r->body_cap, r->body_cap + 1, r->max_body);
            if (e)
                return e;
        }
        /* At the limit, a one-byte scratch output tells "more is coming"
         * (too big) from "the rest is trailer or an empty block" (fine). */
        uint8_t probe;
        int full = r->body_len == r->body_cap;
        size_t space = full ? 1 : r->body_cap - r->body_len;
        z->next_out = full ? &probe : r->body + r->body_len;
        z->avail_out = space > UINT_MAX ? UINT_MAX : (uInt)space;
        size_t offered = z->avail_out;
        int ret = inflate(z, Z_NO_FLUSH);
        size_t made = offered - z->avail_out;
        if (full && made)
            return RF_EHTTP_BODY_TOOBIG;
        r->body_len += made;
        switch (ret) {
        case Z_STREAM_END:
            r->z_end = 1;
            return 0;
        case Z_OK:
        case Z_BUF_ERROR: /* no progress possible: input is exhausted */
            break;
        case Z_MEM_ERROR:
            return RF_ENOMEM;
        default:
            return RF_EHTTP_GZIP;
        }
        /* Each pass round the loop made at least a byte, and the body is
         * bounded, so this ends. */
        if (z->avail_out != 0)
            return 0;
    }
}

static int put(rf_http_response *r, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    if (r->coding == RF__HTTP_IDENTITY) {
        /* What fits is kept even when the rest does not, so the partial
         * body left by an error is the same however the input was split. */
        size_t fit = n < r->max_body - r->body_len ? n : r->max_body - r->body_len;
        int e = rf__grow(&r->body, &r->body_cap, r->body_len + fit, r->max_body);
        if (e)
            return e;
        memcpy(r->body + r->body_len, p, fit);
        r->body_len += fit;
        return fit < n ? RF_EHTTP_BODY_TOOBIG : 0;
    }
    r->z_in += n;
    while (n > 0) {
        if (r->z_end) {
            /* RFC 1952 lets a gzip file hold several members; zlib's
             * format has no such thing, so bytes after its end are junk. */
            if (r->coding != RF__HTTP_GZIP)
                return RF_EHTTP_GZIP;
            if (inflateReset(&r->z) != Z_OK)
                return RF_EHTTP_GZIP;
            r->z_end = 0;
        }
        uInt chunk = n > UINT_MAX ? UINT_MAX : (uInt)n;
        r->z.next_in = (Bytef *)(uintptr_t)p;
        r->z.avail_in = chunk;
        int e = inflate_run(r);
        if (e)
            return e;
        size_t took = chunk - r->z.avail_in;
        if (took == 0 && !r->z_end) /* zlib promises this cannot happen */
            return RF_EHTTP_GZIP;
        p += took;
        n -= took;
    }
    return 0;
}

int rf__http_body_finish(rf_http_response *r)
{
    /* An empty body is fine whatever Content-Encoding says: some servers
     * label 0-byte bodies gzip. A started stream must have ended. */
    if (r->coding != RF__HTTP_IDENTITY && r->z_in > 0 && !r->z_end)
        return RF_EHTTP_GZIP;
    r->state = RF__HTTP_DONE;
    return 0;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (uint8_t)rf__http_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Extensions and trailers are skipped, not stored, but still bounded (by
 * the header limit): an endless extension is a known way to pin a parser. */
static int aux_byte(rf_http_response *r, int err)
{
    return ++r->chunk_aux > r->max_header ? err : 0;
}

static int chunk_byte(rf_http_response *r, uint8_t c)
{
    int h;
    switch (r->chunk_state) {
    case CS_SIZE:
        if ((h = hexval(c)) >= 0) {
            if (r->remaining > UINT64_MAX >> 4)
                return RF_EHTTP_CHUNK;
            r->remaining = r->remaining << 4 | (uint64_t)h;
            r->chunk_digits = 1;
            return 0;
        }
        if (!r->chunk_digits)
            return RF_EHTTP_CHUNK;
        if (c == '\r')
            r->chunk_state = CS_SIZE_LF;
        else if (c == ';')
            r->chunk_state = CS_EXT;
        else if (rf__http_is_ows(c))
            r->chunk_state = CS_SIZE_WS;
        else
            return RF_EHTTP_CHUNK;
        return 0;
    case CS_SIZE_WS:
        if (c == ';')
            r->chunk_state = CS_EXT;
        else if (!rf__http_is_ows(c))
            return RF_EHTTP_CHUNK;
        return aux_byte(r, RF_EHTTP_CHUNK);
    case CS_EXT:
        if (c == '\r')
            r->chunk_state = CS_SIZE_LF;
        else if (!rf__http_is_field_char(c))
            return RF_EHTTP_CHUNK;
        return aux_byte(r, RF_EHTTP_CHUNK);
    case CS_SIZE_LF:
        if (c != '\n')
            return RF_EHTTP_CHUNK;
        r->chunk_aux = 0;
        if (r->remaining == 0) {
            r->chunk_state = CS_TRAILER;
        } else {
            if (r->coding == RF__HTTP_IDENTITY && r->remaining > r->max_body - r->body_len)
                return RF_EHTTP_BODY_TOOBIG;
            r->chunk_state = CS_DATA;
        }
        return 0;
    case CS_DATA_CR:
        if (c != '\r')
            return RF_EHTTP_CHUNK;
        r->chunk_state = CS_DATA_LF;
        return 0;
    case CS_DATA_LF:
        if (c != '\n')
            return RF_EHTTP_CHUNK;
        r->chunk_state = CS_SIZE;
        r->chunk_digits = 0;
        return 0;
    case CS_TRAILER:
        if (c == '\r')
            r->chunk_state = CS_END_LF;
        else if (rf__http_is_tchar(c))
            r->chunk_state = CS_TR_NAME;
        else
            return RF_EHTTP_CHUNK;
        return aux_byte(r, RF_EHTTP_HEADER_TOOBIG);
    case CS_TR_NAME:
        if (c == ':')
            r->chunk_state = CS_TR_VALUE;
        else if (!rf__http_is_tchar(c))
            return RF_EHTTP_CHUNK;
        return aux_byte(r, RF_EHTTP_HEADER_TOOBIG);
    case CS_TR_VALUE:
        if (c == '\r')
            r->chunk_state = CS_TR_LF;
        else if (!rf__http_is_field_char(c))
            return RF_EHTTP_CHUNK;
        return aux_byte(r, RF_EHTTP_HEADER_TOOBIG);
    case CS_TR_LF:
        if (c != '\n')
            return RF_EHTTP_CHUNK;
        r->chunk_state = CS_TRAILER;
        return aux_byte(r, RF_EHTTP_HEADER_TOOBIG);
    case CS_END_LF:
        if (c != '\n')
            return RF_EHTTP_CHUNK;
        return rf__http_body_finish(r);
    default:
        return RF_EHTTP_CHUNK;
    }
}

static int chunked_feed(rf_http_response *r, const uint8_t *p, size_t n, size_t *used)
{
    size_t i = 0;
    while (i < n && r->state == RF__HTTP_BODY) {
        if (r->chunk_state == CS_DATA) {
            size_t k = n - i;
            if (k > r->remaining)
                k = (size_t)r->remaining;
            int e = put(r, p + i, k);
            if (e)
                return e;
            i += k;
            if ((r->remaining -= k) == 0)
                r->chunk_state = CS_DATA_CR;
            continue;
        }
        int e = chunk_byte(r, p[i++]);
        if (e)
            return e;
    }
    *used = i;
    return 0;
}

int rf__http_body_feed(rf_http_response *r, const uint8_t *p, size_t n, size_t *used)
{
    switch (r->framing) {
    case RF__HTTP_CHUNKED:
        return chunked_feed(r, p, n, used);
    case RF__HTTP_LENGTH: {
        size_t k = n < r->remaining ? n : (size_t)r->remaining;
        int e = put(r, p, k);
        if (e)
            return e;
        *used = k;
        if ((r->remaining -= k) == 0)
            return rf__http_body_finish(r);
        return 0;
    }
    default:
        *used = n;
        return put(r, p, n);
    }
}
