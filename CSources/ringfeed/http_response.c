/* The response parser's life cycle and accessors: feed hands bytes to the
 * head or body stage (http_head.c, http_body.c) until the response is done;
 * errors are sticky until reset, so a caller cannot read on past them. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "ringfeed/error.h"
#include "ringfeed/http.h"

#define DEFAULT_MAX_HEADER ((size_t)64 << 10)
#define DEFAULT_MAX_BODY ((size_t)64 << 20)

int rf_http_response_create(rf_http_response **out, const rf_http_response_config *cfg)
{
    if (!out)
        return RF_EINVAL;
    *out = NULL;
    rf_http_response_config c = cfg ? *cfg : (rf_http_response_config){0};
    if (!c.max_header)
        c.max_header = DEFAULT_MAX_HEADER;
    if (!c.max_body)
        c.max_body = DEFAULT_MAX_BODY;
    /* Header views carry size_t lengths, but the feed count is an int and a
     * header block past 2 GiB is an attack, not a configuration. */
    if (c.max_header > INT_MAX)
        return RF_EINVAL;
    rf_http_response *r = calloc(1, sizeof *r);
    if (!r)
        return RF_ENOMEM;
    r->max_header = c.max_header;
    r->max_body = c.max_body;
    r->head_request = c.head_request != 0;
    rf_http_response_reset(r);
    *out = r;
    return 0;
}

void rf_http_response_destroy(rf_http_response *r)
{
    if (!r)
        return;
    if (r->z_ready)
        inflateEnd(&r->z);
    free(r->head);
    free(r->fields);
    free(r->body);
    free(r);
}

void rf_http_response_reset(rf_http_response *r)
{
    if (!r)
        return;
    r->state = RF__HTTP_HEAD;
    r->error = 0;
    r->head_len = 0;
    r->line_len = 0;
    r->nfields = 0;
    r->status = 0;
    r->reason = (rf_str){0};
    r->keep_alive = 0;
    r->framing = RF__HTTP_CLOSE;
    r->remaining = 0;
    r->chunk_state = 0;
    r->chunk_digits = 0;
    r->chunk_aux = 0;
    r->coding = RF__HTTP_IDENTITY;
    r->z_end = 0;
    r->z_in = 0;
    r->body_len = 0;
}

static int fail(rf_http_response *r, int e)
{
    r->state = RF__HTTP_ERROR;
    r->error = e;
    return e;
}

int rf_http_response_feed(rf_http_response *r, const uint8_t *data, size_t len, int *done)
{
    if (done)
        *done = 0;
    if (!r || !done || (!data && len))
        return RF_EINVAL;
    if (r->state == RF__HTTP_ERROR)
        return r->error;
    /* The count returned is an int; a caller handing more gets a short count
     * with *done == 0 and feeds the rest again. */
    if (len > INT_MAX)
        len = INT_MAX;
    size_t i = 0;
    while (r->state != RF__HTTP_DONE && i < len) {
        size_t used = 0;
        int e = r->state == RF__HTTP_HEAD ? rf__http_head_feed(r, data + i, len - i, &used)
                                          : rf__http_body_feed(r, data + i, len - i, &used);
        if (e)
            return fail(r, e);
        i += used;
    }
    *done = r->state == RF__HTTP_DONE;
    return (int)i;
}

int rf_http_response_eof(rf_http_response *r)
{
    if (!r)
        return RF_EINVAL;
    if (r->state == RF__HTTP_ERROR)
        return r->error;
    if (r->state == RF__HTTP_DONE)
        return 0;
    if (r->state == RF__HTTP_BODY && r->framing == RF__HTTP_CLOSE) {
        int e = rf__http_body_finish(r);
        return e ? fail(r, e) : 0;
    }
    return fail(r, RF_EHTTP_TRUNCATED);
}

int rf_http_response_status(const rf_http_response *r)
{
    return r ? r->status : 0;
}

rf_str rf_http_response_reason(const rf_http_response *r)
{
    return r && r->status ? r->reason : (rf_str){0};
}

static int eq_ci(rf_str a, const char *b)
{
    size_t i = 0;
    for (; i < a.len && b[i]; i++)
        if (rf__http_lower((unsigned char)a.ptr[i]) != rf__http_lower((unsigned char)b[i]))
            return 0;
    return i == a.len && b[i] == '\0';
}

int rf_http_response_header(const rf_http_response *r, const char *name, rf_str *value)
{
    if (!r || !name)
        return 0;
    const rf__http_field *f = (const rf__http_field *)(const void *)r->fields;
    for (size_t i = 0; i < rf_http_response_header_count(r); i++) {
        if (eq_ci(f[i].name, name)) {
            if (value)
                *value = f[i].value;
            return 1;
        }
    }
    return 0;
}

size_t rf_http_response_header_count(const rf_http_response *r)
{
    return r && r->status ? r->nfields : 0;
}

int rf_http_response_header_at(const rf_http_response *r, size_t i, rf_str *name, rf_str *value)
{
    if (i >= rf_http_response_header_count(r))
        return RF_EINVAL;
    const rf__http_field *f = (const rf__http_field *)(const void *)r->fields;
    if (name)
        *name = f[i].name;
    if (value)
        *value = f[i].value;
    return 0;
}

int rf_http_response_keep_alive(const rf_http_response *r)
{
    /* After an error the stream position is unknown: never reuse it. */
    return r && r->status && r->state != RF__HTTP_ERROR ? r->keep_alive : 0;
}

const uint8_t *rf_http_response_body(const rf_http_response *r, size_t *len)
{
    static const uint8_t empty[1];
    if (len)
        *len = r ? r->body_len : 0;
    return r && r->body ? r->body : empty;
}
