/* The GET request of a REST snapshot fetch. Everything a caller passes in is
 * checked before a byte is written: a CR, LF or space in the path, or an
 * extra header that is not a complete line, could end the request early or
 * smuggle a second one onto a kept-alive connection. */
#include <limits.h>
#include <string.h>

#include "http_internal.h"
#include "ringfeed/error.h"
#include "ringfeed/http.h"

/* Origin-form target: starts with '/', then visible ASCII or obs-text
 * (already percent-encoded or not is the caller's business). */
static int path_valid(const char *p, size_t cap)
{
    const char *nul = memchr(p, '\0', cap);
    if (!nul || p[0] != '/')
        return 0;
    for (; p < nul; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == 0x7f)
            return 0;
    }
    return 1;
}

static int host_valid(const char *h, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c <= ' ' || c >= 0x7f)
            return 0;
    }
    return 1;
}

static int extra_valid(const char *s)
{
    const char *e = s + strlen(s);
    while (s < e) {
        const char *crlf = memmem(s, (size_t)(e - s), "\r\n", 2);
        rf_str name, value;
        if (!crlf || rf__http_field_parse(s, (size_t)(crlf - s), &name, &value) != 0)
            return 0;
        s = crlf + 2;
    }
    return 1;
}

/* Run twice, first with p == NULL to measure, so a buffer that is too small
 * is left untouched rather than holding half a request. */
typedef struct sink {
    char *p;
    size_t len;
} sink;

static void put(sink *o, const char *s)
{
    size_t n = strlen(s);
    if (o->p)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void compose(sink *o, const char *path, const char *host, const char *extra)
{
    put(o, "GET ");
    put(o, path);
    put(o, " HTTP/1.1\r\nHost: ");
    put(o, host);
    put(o, "\r\nUser-Agent: ringfeed/0.1\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n"
           "Connection: keep-alive\r\n");
    if (extra)
        put(o, extra);
    put(o, "\r\n");
}

int rf_http_get_write(char *buf, size_t cap, const rf_url *url, const char *extra_headers)
{
    if (!url || (!buf && cap))
        return RF_EINVAL;
    if (!memchr(url->host, '\0', sizeof url->host))
        return RF_EINVAL;
    char host[sizeof url->host + 16];
    int hn = rf_url_host_header(url, host, sizeof host);
    if (hn < 0 || !host_valid(host, (size_t)hn))
        return RF_EINVAL;
    if (!path_valid(url->path, sizeof url->path))
        return RF_EINVAL;
    if (extra_headers && !extra_valid(extra_headers))
        return RF_EINVAL;

    sink o = {NULL, 0};
    compose(&o, url->path, host, extra_headers);
    if (o.len > INT_MAX)
        return RF_EINVAL;
    if (o.len > cap)
        return RF_ENOSPC;
    o = (sink){buf, 0};
    compose(&o, url->path, host, extra_headers);
    if (o.len < cap)
        buf[o.len] = '\0';
    return (int)o.len;
}
