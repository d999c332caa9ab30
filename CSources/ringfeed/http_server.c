/* Plain HTTP/1.1 requests on the server role: the request-head parser and
 * the response writer behind on_http_request.
 *
 * Like the handshake parser it is stateless and strict: nothing is judged
 * before the blank line ending the head has arrived, lines end in CRLF, and
 * anything outside the grammar is RF_EHS_MALFORMED. It faces the network. */
#include <stdio.h>
#include <string.h>

#include "http_syntax.h"
#include "ringfeed/error.h"
#include "ringfeed/ws_conn.h"

/* Length of the head including its CRLFCRLF, RF_EAGAIN, or RF_EHS_TOOBIG. */
static int head_end(const uint8_t *buf, size_t len)
{
    size_t n = len < RF_WS_HANDSHAKE_MAX ? len : RF_WS_HANDSHAKE_MAX;
    for (size_t i = 3; i < n; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return (int)(i + 1);
    return len >= RF_WS_HANDSHAKE_MAX ? RF_EHS_TOOBIG : RF_EAGAIN;
}

/* The next CRLF-terminated line of [*p, e), without its CRLF; -1 if a bare
 * CR or LF appears first. */
static int next_line(const char **p, const char *e, rf_str *line)
{
    const char *s = *p;
    for (const char *q = s; q + 1 < e; q++) {
        if (*q == '\r' && q[1] == '\n') {
            *line = (rf_str){s, (size_t)(q - s)};
            *p = q + 2;
            return 0;
        }
        if (*q == '\r' || *q == '\n')
            return -1;
    }
    return -1;
}

/* method SP request-target SP HTTP/1.x (RFC 9112 3). */
static int request_line(rf_str l, rf_http_server_request *out)
{
    const char *p = l.ptr, *e = l.ptr + l.len, *t = p;
    while (p < e && rf__http_is_tchar((unsigned char)*p))
        p++;
    if (p == t || p == e || *p != ' ')
        return -1;
    out->method = (rf_str){t, (size_t)(p - t)};
    t = ++p;
    while (p < e && (unsigned char)*p > ' ' && *p != 0x7f)
        p++;
    if (p == t || p == e || *p != ' ')
        return -1;
    out->target = (rf_str){t, (size_t)(p - t)};
    p++;
    if (e - p != 8 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9')
        return -1;
    out->minor_version = p[7] - '0';
    return 0;
}

static int list_has_ci(rf_str list, const char *token)
{
    rf_str item;
    while (rf__http_list_next(&list, &item))
        if (rf__http_eq_ci(item, token))
            return 1;
    return 0;
}

int rf_http_server_request_parse(const uint8_t *buf, size_t len, rf_http_server_request *out)
{
    if (!out || (!buf && len))
        return RF_EINVAL;
    memset(out, 0, sizeof *out);
    int end = head_end(buf, len);
    if (end < 0)
        return end;
    const char *p = (const char *)buf, *e = p + end;
    rf_str line, name, value;
    if (next_line(&p, e, &line) || request_line(line, out))
        return RF_EHS_MALFORMED;
    out->head = (rf_str){p, (size_t)(e - p - 2)};
    int close = 0, keep = 0, hosts = 0;
    while (p < e) {
        if (next_line(&p, e, &line))
            return RF_EHS_MALFORMED;
        if (line.len == 0)
            break;
        if (rf__http_field_parse(line.ptr, line.len, &name, &value))
            return RF_EHS_MALFORMED;
        if (rf__http_eq_ci(name, "Host")) {
            hosts++;
        } else if (rf__http_eq_ci(name, "Connection")) {
            close |= list_has_ci(value, "close");
            keep |= list_has_ci(value, "keep-alive");
        } else if (rf__http_eq_ci(name, "Upgrade")) {
            out->upgrade |= list_has_ci(value, "websocket");
        }
    }
    /* RFC 9112 3.2: an HTTP/1.1 request has exactly one Host. */
    if (hosts > 1 || (hosts == 0 && out->minor_version >= 1))
        return RF_EHS_MALFORMED;
    out->keep_alive = out->minor_version >= 1 ? !close : keep && !close;
    return end;
}

int rf_http_server_request_header(const rf_http_server_request *r, const char *name, rf_str *value)
{
    const char *p = r->head.ptr, *e = p + r->head.len + 2;
    rf_str line, n, v;
    while (p && p < e && next_line(&p, e, &line) == 0 && line.len > 0) {
        if (rf__http_field_parse(line.ptr, line.len, &n, &v) == 0 && rf__http_eq_ci(n, name)) {
            *value = v;
            return 1;
        }
    }
    return 0;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 418: return "I'm a teapot";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Extra header lines must be whole "Name: value\r\n" lines: anything else
 * could end the head early or smuggle a second response. */
int rf__http_headers_valid(const char *h)
{
    if (h == NULL)
        return 1;
    const char *p = h, *e = h + strlen(h);
    rf_str line, n, v;
    while (p < e) {
        if (next_line(&p, e, &line) || line.len == 0 || rf__http_field_parse(line.ptr, line.len, &n, &v))
            return 0;
    }
    return 1;
}

int rf__http_status_line_write(char *buf, size_t cap, int status, int keep_alive, size_t body_len)
{
    int n = snprintf(buf, cap, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: %s\r\n", status,
                     reason_phrase(status), body_len, keep_alive ? "keep-alive" : "close");
    return n < 0 || (size_t)n >= cap ? RF_ENOSPC : n;
}
