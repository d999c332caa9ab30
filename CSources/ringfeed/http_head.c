/* The response head: status line and header fields, and the body framing
 * and coding they choose (RFC 9112 6.3).
 *
 * Bytes are checked for line structure as they arrive (every LF after a CR,
 * every CR before an LF, the size limit) and copied into the parser's own
 * buffer; the lines themselves are judged only once the blank line is in.
 * Both steps go strictly in byte order, so where the input is split can
 * never change the answer. */
#include <string.h>

#include "grow.h"
#include "http_internal.h"
#include "ringfeed/error.h"

static int status_line(rf_http_response *r, const char *p, size_t n)
{
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    if (p[9] < '1' || p[9] > '5')
        return -1;
    if (n > 12 && p[12] != ' ')
        return -1;
    size_t at = n > 12 ? 13 : 12;
    for (size_t i = at; i < n; i++)
        if (!rf__http_is_field_char((unsigned char)p[i]))
            return -1;
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    r->reason = (rf_str){p + at, n - at};
    return p[7] - '0';
}

/* Splits the complete block into the status line and fields. */
static int head_lines(rf_http_response *r, int *minor)
{
    const char *p = (const char *)r->head, *e = p + r->head_len;
    size_t lines = 0;
    for (const char *q = p; q < e; q++)
        lines += *q == '\n';
    /* Every line but the last holds at least one byte before its CRLF. */
    size_t most = r->max_header / 3 + 2;
    size_t need = (lines - 1) * sizeof(rf__http_field);
    int g = rf__grow(&r->fields, &r->fields_cap, need, most * sizeof(rf__http_field));
    if (g)
        return g;
    rf__http_field *f = (rf__http_field *)(void *)r->fields;

    const char *eol = memchr(p, '\r', (size_t)(e - p));
    if ((*minor = status_line(r, p, (size_t)(eol - p))) < 0)
        return RF_EHTTP_MALFORMED;
    r->nfields = 0;
    for (p = eol + 2; (eol = memchr(p, '\r', (size_t)(e - p))) != p; p = eol + 2) {
        rf__http_field *x = &f[r->nfields++];
        if (rf__http_field_parse(p, (size_t)(eol - p), &x->name, &x->value) != 0)
            return RF_EHTTP_MALFORMED;
    }
    return 0;
}

/* Content-Length: digits only, in any number of fields and list elements
 * that must all agree (RFC 9112 6.3 item 5). Values past 2^64 saturate;
 * they are over any limit anyway. */
static int content_length(rf_str v, int *seen, uint64_t *out)
{
    rf_str item;
    int any = 0;
    while (rf__http_list_next(&v, &item)) {
        uint64_t x = 0;
        for (size_t i = 0; i < item.len; i++) {
            unsigned d = (unsigned char)item.ptr[i] - '0';
            if (d > 9)
                return RF_EHTTP_MALFORMED;
            x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
        }
        if (*seen && x != *out)
            return RF_EHTTP_MALFORMED;
        *seen = 1;
        *out = x;
        any = 1;
    }
    return any ? 0 : RF_EHTTP_MALFORMED;
}

typedef struct framing_info {
    int ka_close, ka_keep;
    int te, te_items, te_chunked, te_last_chunked, te_other;
    int cl;
    uint64_t length;
    int codings; /* non-identity content codings */
    int unknown_coding;
    int coding;
} framing_info;

static int scan_fields(rf_http_response *r, framing_info *fi)
{
    const rf__http_field *f = (const rf__http_field *)(const void *)r->fields;
    for (size_t i = 0; i < r->nfields; i++) {
        rf_str v = f[i].value, item;
        if (rf__http_eq_ci(f[i].name, "Connection")) {
            while (rf__http_list_next(&v, &item)) {
                fi->ka_close |= rf__http_eq_ci(item, "close");
                fi->ka_keep |= rf__http_eq_ci(item, "keep-alive");
            }
        } else if (rf__http_eq_ci(f[i].name, "Transfer-Encoding")) {
            fi->te = 1;
            while (rf__http_list_next(&v, &item)) {
                int ch = rf__http_eq_ci(item, "chunked");
                fi->te_items++;
                fi->te_chunked += ch;
                fi->te_other += !ch;
                fi->te_last_chunked = ch;
            }
        } else if (rf__http_eq_ci(f[i].name, "Content-Length")) {
            int e = content_length(v, &fi->cl, &fi->length);
            if (e)
                return e;
        } else if (rf__http_eq_ci(f[i].name, "Content-Encoding")) {
            while (rf__http_list_next(&v, &item)) {
                if (rf__http_eq_ci(item, "identity"))
                    continue;
                fi->codings++;
                if (rf__http_eq_ci(item, "gzip") || rf__http_eq_ci(item, "x-gzip"))
                    fi->coding = RF__HTTP_GZIP;
                else if (rf__http_eq_ci(item, "deflate"))
                    fi->coding = RF__HTTP_DEFLATE;
                else
                    fi->unknown_coding = 1;
            }
        }
    }
    return 0;
}

/* The block is complete: judge it and choose how the body is framed. */
static int head_judge(rf_http_response *r)
{
    int minor, e = head_lines(r, &minor);
    if (e)
        return e;
    if (r->status < 200) {
        /* 101 would switch protocols; this client never asks for that, and
         * skipping it would read the new protocol as HTTP. */
        if (r->status == 101)
            return RF_EHTTP_UNSUPPORTED;
        r->status = 0;
        r->reason = (rf_str){0};
        r->nfields = 0;
        r->head_len = 0;
        r->line_len = 0;
        return 0;
    }

    framing_info fi = {0};
    if ((e = scan_fields(r, &fi)) != 0)
        return e;
    r->keep_alive = !fi.ka_close && (minor >= 1 || fi.ka_keep);

    if (r->head_request || r->status == 204 || r->status == 304) {
        r->state = RF__HTTP_DONE;
        return 0;
    }
    if (fi.codings > 1 || fi.unknown_coding)
        return RF_EHTTP_UNSUPPORTED;
    r->coding = fi.codings ? fi.coding : RF__HTTP_IDENTITY;

    if (fi.te) {
        if (fi.te_items == 0 || fi.te_chunked > 1)
            return RF_EHTTP_MALFORMED;
        if (fi.te_other || !fi.te_last_chunked)
            return RF_EHTTP_UNSUPPORTED;
        /* TE with CL is how request smuggling starts, and TE in 1.0 is
         * faulty framing (RFC 9112 6.1, 6.3): read this one, then close. */
        if (fi.cl || minor == 0)
            r->keep_alive = 0;
        r->framing = RF__HTTP_CHUNKED;
    } else if (fi.cl) {
        if (r->coding == RF__HTTP_IDENTITY && fi.length > r->max_body)
            return RF_EHTTP_BODY_TOOBIG;
        r->framing = RF__HTTP_LENGTH;
        r->remaining = fi.length;
    } else {
        r->framing = RF__HTTP_CLOSE;
        r->keep_alive = 0;
    }
    r->state = RF__HTTP_BODY;
    return rf__http_body_start(r);
}

/* A head that is not valid HTTP reports no status or fields at all; one
 * refused for its framing or coding still says what the server answered. */
static int head_done(rf_http_response *r)
{
    int e = head_judge(r);
    if (e == RF_EHTTP_MALFORMED || e == RF_ENOMEM) {
        r->status = 0;
        r->reason = (rf_str){0};
        r->nfields = 0;
    }
    return e;
}

int rf__http_head_feed(rf_http_response *r, const uint8_t *p, size_t n, size_t *used)
{
    uint8_t prev = r->head_len ? r->head[r->head_len - 1] : 0;
    size_t room = r->max_header - r->head_len, line = r->line_len, i;
    int end = 0;
    for (i = 0; i < n && !end; i++) {
        if (i == room)
            return RF_EHTTP_HEADER_TOOBIG;
        uint8_t c = p[i];
        if (c == '\n') {
            if (prev != '\r')
                return RF_EHTTP_MALFORMED;
            end = line == 1;
            line = 0;
        } else {
            if (prev == '\r')
                return RF_EHTTP_MALFORMED;
            line++;
        }
        prev = c;
    }
    int e = rf__grow(&r->head, &r->head_cap, r->head_len + i, r->max_header);
    if (e)
        return e;
    memcpy(r->head + r->head_len, p, i);
    r->head_len += i;
    r->line_len = line;
    *used = i;
    return end ? head_done(r) : 0;
}
