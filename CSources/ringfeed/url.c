/* URL parsing for the schemes RingFeed speaks. Deliberately strict: a URL
 * that would need guessing is refused with RF_EURL. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ringfeed/error.h"
#include "ringfeed/url.h"

static const struct {
    const char *name;
    uint16_t port;
    uint8_t tls;
} schemes[] = {{"ws", 80, 0}, {"wss", 443, 1}, {"http", 80, 0}, {"https", 443, 1}};

static int copy_bounded(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        return RF_EURL;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

static int parse_port(const char *p, size_t len, uint16_t *out)
{
    if (len == 0 || len > 5)
        return RF_EURL;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return RF_EURL;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return RF_EURL;
    *out = (uint16_t)v;
    return 0;
}

int rf_url_parse(const char *text, rf_url *out)
{
    if (text == NULL || out == NULL)
        return RF_EINVAL;
    memset(out, 0, sizeof *out);
    const char *sep = strstr(text, "://");
    if (sep == NULL)
        return RF_EURL;
    size_t scheme_len = (size_t)(sep - text);
    int found = 0;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        if (strlen(schemes[i].name) == scheme_len && strncasecmp(text, schemes[i].name, scheme_len) == 0) {
            strcpy(out->scheme, schemes[i].name);
            out->port = schemes[i].port;
            out->tls = schemes[i].tls;
            found = 1;
        }
    }
    if (!found)
        return RF_EURL;

    const char *auth = sep + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *rest = auth + auth_len;
    if (memchr(auth, '@', auth_len) != NULL || strchr(rest, '#') != NULL)
        return RF_EURL;
    for (const char *c = text; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return RF_EURL;

    const char *host = auth, *port = NULL;
    size_t host_len = auth_len, port_len = 0;
    if (auth_len > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', auth_len);
        if (close == NULL)
            return RF_EURL;
        host = auth + 1;
        host_len = (size_t)(close - host);
        const char *after = close + 1;
        if (after < auth + auth_len) {
            if (*after != ':')
                return RF_EURL;
            port = after + 1;
            port_len = (size_t)(auth + auth_len - port);
        }
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        if (colon != NULL) {
            host_len = (size_t)(colon - auth);
            port = colon + 1;
            port_len = auth_len - host_len - 1;
        }
    }
    if (host_len == 0 || copy_bounded(out->host, sizeof out->host, host, host_len) != 0)
        return RF_EURL;
    out->default_port = 1;
    if (port != NULL) {
        uint16_t p;
        if (parse_port(port, port_len, &p) != 0)
            return RF_EURL;
        out->default_port = p == out->port;
        out->port = p;
    }
    if (*rest == '\0')
        return copy_bounded(out->path, sizeof out->path, "/", 1);
    if (*rest == '?') { /* "ws://h?x" means path "/" with a query */
        out->path[0] = '/';
        return copy_bounded(out->path + 1, sizeof out->path - 1, rest, strlen(rest));
    }
    return copy_bounded(out->path, sizeof out->path, rest, strlen(rest));
}

int rf_url_host_header(const rf_url *url, char *buf, unsigned cap)
{
    const int v6 = strchr(url->host, ':') != NULL;
    int n = url->default_port
                ? snprintf(buf, cap, v6 ? "[%s]" : "%s", url->host)
                : snprintf(buf, cap, v6 ? "[%s]:%u" : "%s:%u", url->host, (unsigned)url->port);
    if (n < 0 || (unsigned)n >= cap)
        return RF_ENOSPC;
    return n;
}
