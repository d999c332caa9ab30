/* RFC 6455 opening handshake, both roles, without I/O or allocation.
 *
 * The parsers face the network, so they are deliberately stateless and
 * strict: nothing is interpreted until the whole header block (up to the
 * first CRLFCRLF, at most RF_WS_HANDSHAKE_MAX bytes) is present, which makes
 * a parse of any prefix either RF_EAGAIN or the final answer. Lines must end
 * in CRLF; a bare CR or LF, a control byte, obs-fold or whitespace before a
 * colon is RF_EHS_MALFORMED rather than something to guess about. */
#include "ringfeed/ws_handshake.h"

#include "base64.h"
#include "http_syntax.h"
#include "random.h"
#include "ringfeed/error.h"
#include "sha1.h"

#include <limits.h>
#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- keys ---- */

int rf_ws_make_key(char key[RF_WS_KEY_LEN + 1])
{
    if (!key)
        return RF_EINVAL;
    uint8_t nonce[16];
    if (rf__random_fill(nonce, sizeof nonce) != 0)
        return RF_ESYS;
    rf__base64_encode(nonce, sizeof nonce, key);
    key[RF_WS_KEY_LEN] = '\0';
    return 0;
}

void rf_ws_accept_for_key(const char *key, size_t key_len, char accept[RF_WS_ACCEPT_LEN + 1])
{
    rf__sha1_ctx s;
    uint8_t digest[RF__SHA1_LEN];
    rf__sha1_init(&s);
    rf__sha1_update(&s, key, key_len);
    rf__sha1_update(&s, ws_guid, sizeof ws_guid - 1);
    rf__sha1_final(&s, digest);
    rf__base64_encode(digest, sizeof digest, accept);
    accept[RF_WS_ACCEPT_LEN] = '\0';
}

static int key_valid(const char *p, size_t n)
{
    uint8_t nonce[16];
    return p && rf__base64_decode(p, n, nonce, sizeof nonce) == (int)sizeof nonce;
}

/* ---- characters and views (RFC 9110 / 9112 grammar) ---- */

static int is_vchar(unsigned char c) { return c > 0x20 && c < 0x7f; }

static int all_chars(const char *p, size_t n, int (*ok)(unsigned char))
{
    for (size_t i = 0; i < n; i++)
        if (!ok((unsigned char)p[i]))
            return 0;
    return 1;
}

static int eq(rf_str a, const char *lit)
{
    return a.len == strlen(lit) && memcmp(a.ptr, lit, a.len) == 0;
}

static int same(rf_str a, rf_str b) { return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0; }

static rf_str cstr(const char *s) { return (rf_str){s, strlen(s)}; }

/* ---- comma-separated lists ---- */

static int list_has_ci(rf_str list, const char *token)
{
    rf_str item;
    while (rf__http_list_next(&list, &item))
        if (rf__http_eq_ci(item, token))
            return 1;
    return 0;
}

static const char *skip_ows(const char *p, const char *e)
{
    while (p < e && rf__http_is_ows((unsigned char)*p))
        p++;
    return p;
}

static const char *skip_token(const char *p, const char *e)
{
    while (p < e && rf__http_is_tchar((unsigned char)*p))
        p++;
    return p;
}

/* Past the closing quote, or NULL when unterminated. */
static const char *skip_quoted(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\') {
            if (++p == e)
                return NULL;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

/* Next extension name of a Sec-WebSocket-Extensions list (RFC 6455 9.1),
 * parameters skipped. Quoted parameter values may hold commas, so a plain
 * comma split would misread them. Returns 1, 0 at the end, -1 on bad syntax. */
static int ext_next(rf_str *s, rf_str *name)
{
    const char *p = s->ptr, *e = s->ptr + s->len, *t;
    while (p < e && (rf__http_is_ows((unsigned char)*p) || *p == ','))
        p++;
    if (p == e)
        return 0;
    t = p;
    p = skip_token(p, e);
    if (p == t)
        return -1;
    *name = (rf_str){t, (size_t)(p - t)};
    for (;;) {
        p = skip_ows(p, e);
        if (p == e || *p == ',')
            break;
        if (*p != ';')
            return -1;
        p = skip_ows(p + 1, e);
        t = p;
        p = skip_token(p, e);
        if (p == t)
            return -1;
        p = skip_ows(p, e);
        if (p < e && *p == '=') {
            p = skip_ows(p + 1, e);
            if (p < e && *p == '"') {
                if (!(p = skip_quoted(p, e)))
                    return -1;
            } else {
                t = p;
                p = skip_token(p, e);
                if (p == t)
                    return -1;
            }
        }
    }
    *s = (rf_str){p, (size_t)(e - p)};
    return 1;
}

static int ext_offered(const char *offer, rf_str name)
{
    if (!offer)
        return 0;
    rf_str rest = cstr(offer), n;
    while (ext_next(&rest, &n) > 0)
        if (same(n, name))
            return 1;
    return 0;
}

/* Every name the server accepted must be one the client offered: a server
 * that turns on an unknown extension would change the meaning of RSV bits. */
static int exts_all_offered(rf_str got, const char *offer)
{
    rf_str name;
    int r;
    while ((r = ext_next(&got, &name)) > 0)
        if (!ext_offered(offer, name))
            return 0;
    return r == 0;
}

static int protocol_offered(rf_str got, const char *offer)
{
    if (!offer)
        return 0;
    rf_str rest = cstr(offer), item;
    while (rf__http_list_next(&rest, &item))
        if (same(item, got))
            return 1;
    return 0;
}

/* ---- the header block ---- */

typedef struct head {
    const char *p;
    size_t end; /* block length, final CRLFCRLF included */
    size_t pos; /* start of the next line */
} head;

/* The block's length once complete. Nothing is judged before that, so a
 * prefix can never give a different answer than the whole. */
static int head_find(const uint8_t *buf, size_t len)
{
    size_t win = len < RF_WS_HANDSHAKE_MAX ? len : RF_WS_HANDSHAKE_MAX;
    const uint8_t *hit = win >= 4 ? memmem(buf, win, "\r\n\r\n", 4) : NULL;
    if (hit)
        return (int)(hit - buf) + 4;
    return len >= RF_WS_HANDSHAKE_MAX ? RF_EHS_TOOBIG : RF_EAGAIN;
}

/* The block ends in CRLFCRLF, so a CRLF always follows; the blank line
 * (len 0) can only be the block's own end. */
static rf_str head_line(head *h)
{
    const char *s = h->p + h->pos;
    const char *crlf = memmem(s, h->end - h->pos, "\r\n", 2);
    rf_str line = {s, (size_t)(crlf - s)};
    h->pos += line.len + 2;
    return line;
}

/* field-name ":" OWS field-value OWS. Leading whitespace (obs-fold) and
 * whitespace before the colon are refused, as RFC 9112 5.1-5.2 require of
 * servers; clients get the same rule since nothing legitimate needs it. */
static int head_field(rf_str line, rf_str *name, rf_str *value)
{
    return rf__http_field_parse(line.ptr, line.len, name, value) == 0 ? 0 : RF_EHS_MALFORMED;
}

/* "HTTP/" DIGIT "." DIGIT: 1 for 1.1 or later, 0 for earlier, -1 if not a version. */
static int http_version(const char *p, size_t n)
{
    if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' || p[6] != '.' ||
        p[7] < '0' || p[7] > '9')
        return -1;
    return p[5] > '1' || (p[5] == '1' && p[7] >= '1');
}

/* HTTP-version SP 3DIGIT [SP reason]. The SP before an empty reason is
 * optional because real servers drop it. Earlier versions parse so that a
 * proxy's "HTTP/1.0 403" still reports 403. */
static int status_line(rf_str line, rf_ws_client_response *out, int *v11)
{
    const char *p = line.ptr;
    if (line.len < 12 || (*v11 = http_version(p, 8)) < 0 || p[8] != ' ')
        return RF_EHS_MALFORMED;
    for (int i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return RF_EHS_MALFORMED;
    if (p[9] < '1' || p[9] > '5')
        return RF_EHS_MALFORMED;
    if (line.len > 12 && p[12] != ' ')
        return RF_EHS_MALFORMED;
    size_t r = line.len > 12 ? 13 : 12;
    if (!all_chars(p + r, line.len - r, rf__http_is_field_char))
        return RF_EHS_MALFORMED;
    out->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    out->reason = (rf_str){p + r, line.len - r};
    return 0;
}

/* method SP request-target SP HTTP-version, single spaces only. */
static int request_line(rf_str line, rf_str *method, rf_str *target)
{
    const char *p = line.ptr, *e = line.ptr + line.len;
    const char *sp1 = skip_token(p, e);
    if (sp1 == p || sp1 == e || *sp1 != ' ')
        return RF_EHS_MALFORMED;
    const char *t = sp1 + 1, *sp2 = t;
    while (sp2 < e && is_vchar((unsigned char)*sp2))
        sp2++;
    if (sp2 == t || sp2 == e || *sp2 != ' ')
        return RF_EHS_MALFORMED;
    if (http_version(sp2 + 1, (size_t)(e - sp2 - 1)) != 1)
        return RF_EHS_MALFORMED;
    *method = (rf_str){p, (size_t)(sp1 - p)};
    *target = (rf_str){t, (size_t)(sp2 - t)};
    return 0;
}

/* ---- client role ---- */

int rf_ws_client_response_parse(const uint8_t *buf, size_t len, const char *key,
                                const char *protocols, const char *extensions,
                                rf_ws_client_response *out)
{
    if (!out || !key || (!buf && len))
        return RF_EINVAL;
    memset(out, 0, sizeof *out);
    int end = head_find(buf, len);
    if (end < 0)
        return end;

    head h = {(const char *)buf, (size_t)end, 0};
    int v11;
    int r = status_line(head_line(&h), out, &v11);
    if (r)
        return r;
    int upgrade = 0, connection = 0, n_accept = 0, n_ext = 0, n_proto = 0;
    rf_str line, name, value, accept = {0};
    while ((line = head_line(&h)).len) {
        if (head_field(line, &name, &value))
            return RF_EHS_MALFORMED;
        if (rf__http_eq_ci(name, "Upgrade")) {
            upgrade |= list_has_ci(value, "websocket");
        } else if (rf__http_eq_ci(name, "Connection")) {
            connection |= list_has_ci(value, "upgrade");
        } else if (rf__http_eq_ci(name, "Sec-WebSocket-Accept")) {
            n_accept++;
            accept = value;
        } else if (rf__http_eq_ci(name, "Sec-WebSocket-Extensions")) {
            n_ext++;
            out->extensions = value;
        } else if (rf__http_eq_ci(name, "Sec-WebSocket-Protocol")) {
            n_proto++;
            out->protocol = value;
        }
    }

    if (out->status != 101)
        return RF_EHS_STATUS;
    if (!v11) /* 101 means nothing before HTTP/1.1 */
        return RF_EHS_MALFORMED;
    if (!upgrade)
        return RF_EHS_UPGRADE;
    if (!connection)
        return RF_EHS_CONNECTION;
    /* Accept and Protocol MUST NOT repeat in a response (RFC 6455 11.3.3,
     * 11.3.4). Erratum 3433 lets Extensions repeat, but one view cannot hold
     * two lines and dropping one would misread later frames' RSV bits, so a
     * split Extensions is refused too, as WebKit and Chromium do. */
    char want[RF_WS_ACCEPT_LEN + 1];
    rf_ws_accept_for_key(key, strlen(key), want);
    if (n_accept != 1 || !eq(accept, want))
        return RF_EHS_ACCEPT;
    if (n_ext > 1 || (n_ext == 1 && !exts_all_offered(out->extensions, extensions)))
        return RF_EHS_EXTENSION;
    if (n_proto > 1 || (n_proto == 1 && !protocol_offered(out->protocol, protocols)))
        return RF_EHS_PROTOCOL;
    return end;
}

/* ---- writers ---- */

/* Each writer runs twice, first with p == NULL to measure, so a buffer that
 * is too small is left untouched rather than holding half a request. */
typedef struct sink {
    char *p;
    size_t len;
} sink;

static void put(sink *o, const char *s, size_t n)
{
    if (o->p)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(sink *o, const char *s) { put(o, s, strlen(s)); }

static int finish(char *buf, size_t cap, size_t len)
{
    if (len > INT_MAX)
        return RF_EINVAL;
    if (!buf && cap)
        return RF_EINVAL;
    if (len > cap)
        return RF_ENOSPC;
    return 0;
}

static void terminate(char *buf, size_t cap, size_t len)
{
    if (len < cap)
        buf[len] = '\0';
}

/* Each extra line must be a complete "Name: value\r\n"; a stray CR, LF or
 * blank line would let a caller's string end the request early or smuggle
 * a second one. */
static int extra_valid(const char *s)
{
    const char *e = s + strlen(s);
    while (s < e) {
        const char *crlf = memmem(s, (size_t)(e - s), "\r\n", 2);
        rf_str name, value;
        if (!crlf || head_field((rf_str){s, (size_t)(crlf - s)}, &name, &value))
            return 0;
        s = crlf + 2;
    }
    return 1;
}

static int value_valid(const char *s) { return all_chars(s, strlen(s), rf__http_is_field_char); }

static void compose_request(sink *o, const rf_ws_client_request *req, const char *path)
{
    puts_(o, "GET ");
    puts_(o, path);
    puts_(o, " HTTP/1.1\r\nHost: ");
    puts_(o, req->host);
    puts_(o, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    puts_(o, req->key);
    puts_(o, "\r\nSec-WebSocket-Version: 13\r\n");
    if (req->protocols && *req->protocols) {
        puts_(o, "Sec-WebSocket-Protocol: ");
        puts_(o, req->protocols);
        puts_(o, "\r\n");
    }
    if (req->extensions && *req->extensions) {
        puts_(o, "Sec-WebSocket-Extensions: ");
        puts_(o, req->extensions);
        puts_(o, "\r\n");
    }
    if (req->extra_headers)
        puts_(o, req->extra_headers);
    puts_(o, "\r\n");
}

int rf_ws_client_request_write(char *buf, size_t cap, const rf_ws_client_request *req)
{
    if (!req || !req->host || !*req->host || !req->key)
        return RF_EINVAL;
    const char *path = req->path ? req->path : "/";
    if (!*path || !all_chars(path, strlen(path), is_vchar) ||
        !all_chars(req->host, strlen(req->host), is_vchar) ||
        !key_valid(req->key, strlen(req->key)) ||
        (req->protocols && !value_valid(req->protocols)) ||
        (req->extensions && !value_valid(req->extensions)) ||
        (req->extra_headers && !extra_valid(req->extra_headers)))
        return RF_EINVAL;

    sink o = {NULL, 0};
    compose_request(&o, req, path);
    int r = finish(buf, cap, o.len);
    if (r)
        return r;
    o = (sink){buf, 0};
    compose_request(&o, req, path);
    terminate(buf, cap, o.len);
    return (int)o.len;
}

/* ---- server role ---- */

int rf_ws_server_request_parse(const uint8_t *buf, size_t len, rf_ws_server_request *out)
{
    if (!out || (!buf && len))
        return RF_EINVAL;
    memset(out, 0, sizeof *out);
    int end = head_find(buf, len);
    if (end < 0)
        return end;

    head h = {(const char *)buf, (size_t)end, 0};
    rf_str method, line, name, value, version = {0};
    if (request_line(head_line(&h), &method, &out->path))
        return RF_EHS_MALFORMED;
    int upgrade = 0, connection = 0, n_host = 0, n_origin = 0, n_version = 0, n_key = 0;
    while ((line = head_line(&h)).len) {
        if (head_field(line, &name, &value))
            return RF_EHS_MALFORMED;
        if (rf__http_eq_ci(name, "Host")) {
            n_host++;
            out->host = value;
        } else if (rf__http_eq_ci(name, "Upgrade")) {
            upgrade |= list_has_ci(value, "websocket");
        } else if (rf__http_eq_ci(name, "Connection")) {
            connection |= list_has_ci(value, "upgrade");
        } else if (rf__http_eq_ci(name, "Sec-WebSocket-Version")) {
            n_version++;
            version = value;
        } else if (rf__http_eq_ci(name, "Sec-WebSocket-Key")) {
            n_key++;
            out->key = value;
        } else if (rf__http_eq_ci(name, "Origin")) {
            n_origin++;
            out->origin = value;
        } else if (rf__http_eq_ci(name, "Sec-WebSocket-Protocol")) {
            /* This and Extensions may repeat in a request (RFC 6455 11.3.2,
             * 11.3.4) but a view holds one line: keep the first non-empty
             * one. Dropping later offers is safe; a server may decline any. */
            if (!out->protocols.len)
                out->protocols = value;
        } else if (rf__http_eq_ci(name, "Sec-WebSocket-Extensions")) {
            if (!out->extensions.len)
                out->extensions = value;
        }
    }

    if (!eq(method, "GET"))
        return RF_EHS_METHOD;
    /* RFC 9112 3.2: exactly one Host. Two Origins would make any origin
     * check ambiguous. */
    if (n_host != 1 || !out->host.len || n_origin > 1)
        return RF_EHS_MALFORMED;
    if (!upgrade)
        return RF_EHS_UPGRADE;
    if (!connection)
        return RF_EHS_CONNECTION;
    if (n_version != 1 || !eq(version, "13"))
        return RF_EHS_VERSION;
    if (n_key != 1 || !key_valid(out->key.ptr, out->key.len))
        return RF_EHS_KEY;
    return end;
}

static void compose_response(sink *o, const char accept[], const char *protocol)
{
    puts_(o, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    puts_(o, accept);
    puts_(o, "\r\n");
    if (protocol && *protocol) {
        puts_(o, "Sec-WebSocket-Protocol: ");
        puts_(o, protocol);
        puts_(o, "\r\n");
    }
    puts_(o, "\r\n");
}

int rf_ws_server_response_write(char *buf, size_t cap, const rf_str *key, const char *protocol)
{
    if (!key || (!key->ptr && key->len))
        return RF_EINVAL;
    /* The client compares the chosen protocol byte for byte with one it
     * offered, and offers are tokens. */
    if (protocol && !all_chars(protocol, strlen(protocol), rf__http_is_tchar))
        return RF_EINVAL;
    char accept[RF_WS_ACCEPT_LEN + 1];
    rf_ws_accept_for_key(key->len ? key->ptr : "", key->len, accept);

    sink o = {NULL, 0};
    compose_response(&o, accept, protocol);
    int r = finish(buf, cap, o.len);
    if (r)
        return r;
    o = (sink){buf, 0};
    compose_response(&o, accept, protocol);
    terminate(buf, cap, o.len);
    return (int)o.len;
}

int rf_ws_server_reject_write(char *buf, size_t cap, int error)
{
    const char *text;
    switch (error) {
    case RF_EHS_VERSION:
        /* RFC 6455 4.2.2 asks for the versions we speak; RFC 9110 15.5.22
         * requires Upgrade with a 426, and Upgrade requires Connection: upgrade. */
        text = "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade, close\r\nContent-Length: 0\r\n\r\n";
        break;
    case RF_EHS_METHOD:
        text = "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n"
               "Connection: close\r\nContent-Length: 0\r\n\r\n";
        break;
    case RF_EHS_TOOBIG:
        text = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
               "Connection: close\r\nContent-Length: 0\r\n\r\n";
        break;
    default:
        text = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        break;
    }
    size_t n = strlen(text);
    int r = finish(buf, cap, n);
    if (r)
        return r;
    memcpy(buf, text, n);
    terminate(buf, cap, n);
    return (int)n;
}
