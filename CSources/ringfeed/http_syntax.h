/* HTTP/1.1 syntax shared by the response parser and the WebSocket opening
 * handshake (RFC 9110 5.6, RFC 9112 5): character classes, header fields,
 * comma-separated lists. */
#ifndef RF_HTTP_SYNTAX_H
#define RF_HTTP_SYNTAX_H

#include <stddef.h>
#include <string.h>

#include "ringfeed/ws_handshake.h" /* rf_str */

static inline int rf__http_is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return 1;
    default:
        return 0;
    }
}

static inline int rf__http_is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

/* field-vchar, obs-text, SP and HTAB: every byte but CTLs and DEL, which is
 * what keeps CR, LF and NUL out of every view handed back. */
static inline int rf__http_is_field_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

static inline int rf__http_lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

/* A header line without its CRLF: token ":" OWS value OWS, nothing before
 * the colon but the name (so no obs-fold and no space before the colon). */
static inline int rf__http_field_parse(const char *p, size_t n, rf_str *name, rf_str *value)
{
    const char *e = p + n, *c = p;
    while (c < e && rf__http_is_tchar((unsigned char)*c))
        c++;
    if (c == p || c == e || *c != ':')
        return -1;
    for (const char *q = c + 1; q < e; q++)
        if (!rf__http_is_field_char((unsigned char)*q))
            return -1;
    const char *v = c + 1;
    while (v < e && rf__http_is_ows((unsigned char)*v))
        v++;
    while (e > v && rf__http_is_ows((unsigned char)e[-1]))
        e--;
    *name = (rf_str){p, (size_t)(c - p)};
    *value = (rf_str){v, (size_t)(e - v)};
    return 0;
}

/* Case-insensitive equality of a view and a literal (header names, tokens). */
static inline int rf__http_eq_ci(rf_str a, const char *lit)
{
    size_t n = strlen(lit);
    if (a.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (rf__http_lower((unsigned char)a.ptr[i]) != rf__http_lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

/* Next non-empty element of a comma-separated list, trimmed; empty elements
 * ("a, ,b") are skipped, as RFC 9110 5.6.1 asks of recipients. */
static inline int rf__http_list_next(rf_str *s, rf_str *item)
{
    const char *p = s->ptr, *e = s->ptr + s->len;
    while (p < e && (rf__http_is_ows((unsigned char)*p) || *p == ','))
        p++;
    if (p == e)
        return 0;
    const char *t = p;
    while (p < e && *p != ',')
        p++;
    const char *q = p;
    while (q > t && rf__http_is_ows((unsigned char)q[-1]))
        q--;
    *item = (rf_str){t, (size_t)(q - t)};
    *s = (rf_str){p, (size_t)(e - p)};
    return 1;
}

#endif
