/* The opening handshake and the SHA-1 / base64 it rests on.
 *
 * Every parser input is copied into a heap block of exactly its length (and
 * again for every prefix), so under ASan a read one byte past the data the
 * parser was given is a crash, not a silent pass. */
#include "check.h"

#include "base64.h"
#include "ringfeed/error.h"
#include "ringfeed/ws_handshake.h"
#include "sha1.h"

#include <string.h>

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACC "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define LIT(s) s, sizeof(s) - 1

/* ---- SHA-1 ---- */

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int sha1_is(const void *data, size_t n, const char *want)
{
    uint8_t d[RF__SHA1_LEN];
    char h[2 * RF__SHA1_LEN + 1];
    rf__sha1(data, n, d);
    hex(d, sizeof d, h);
    if (strcmp(h, want) != 0)
        fprintf(stderr, "sha1 of %zu bytes: %s, want %s\n", n, h, want);
    return strcmp(h, want) == 0;
}

static void test_sha1(void)
{
    CHECK(sha1_is("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    CHECK(sha1_is(LIT("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d"));
    CHECK(sha1_is(LIT("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                  "84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
    CHECK(sha1_is(LIT("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
                  "a49b2446a02c645bf419f995b67091253a04a259"));
    CHECK(sha1_is(LIT("The quick brown fox jumps over the lazy dog"),
                  "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"));

    /* Lengths around the 55/56/64 padding boundaries (from Python's hashlib). */
    static const struct { size_t n; const char *want; } as[] = {
        {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
        {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
        {57, "f08f24908d682555111be7ff6f004e78283d989a"},
        {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
        {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
        {65, "11655326c708d70319be2610e8a57d9a5b959d3b"},
        {119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"},
        {120, "f34c1488385346a55709ba056ddd08280dd4c6d6"},
        {128, "ad5b3fdbcb526778c2839d2f151ea753995e26a0"},
    };
    static char a[128];
    memset(a, 'a', sizeof a);
    for (size_t i = 0; i < sizeof as / sizeof as[0]; i++)
        CHECK(sha1_is(a, as[i].n, as[i].want));

    /* A million 'a' in uneven chunks, so update's block carry is exercised. */
    static char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    rf__sha1_ctx s;
    rf__sha1_init(&s);
    size_t fed = 0, step = 1;
    while (fed < 1000000) {
        size_t n = step < 1000000 - fed ? step : 1000000 - fed;
        rf__sha1_update(&s, chunk, n);
        fed += n;
        step = step * 7 % 997 + 1;
    }
    uint8_t d[RF__SHA1_LEN];
    char h[41];
    rf__sha1_final(&s, d);
    hex(d, sizeof d, h);
    CHECK(strcmp(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0);

    uint8_t all[1024];
    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (uint8_t)i;
    CHECK(sha1_is(all, sizeof all, "5b00669c480d5cffbdfa8bdba99561160f2d1b77"));

    /* Byte-at-a-time must equal one shot at every length. */
    for (size_t n = 0; n <= 200; n++) {
        uint8_t one[RF__SHA1_LEN], many[RF__SHA1_LEN];
        rf__sha1(all, n, one);
        rf__sha1_init(&s);
        for (size_t i = 0; i < n; i++)
            rf__sha1_update(&s, all + i, 1);
        rf__sha1_final(&s, many);
        CHECK(memcmp(one, many, sizeof one) == 0);
    }
}

/* ---- base64 ---- */

static void test_base64(void)
{
    static const char *vec[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                   {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},   {"fooba", "Zm9vYmE="},
                                   {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        char enc[16];
        uint8_t dec[16];
        size_t n = strlen(vec[i][0]);
        CHECK_EQ(rf__base64_encode((const uint8_t *)vec[i][0], n, enc), strlen(vec[i][1]));
        CHECK(memcmp(enc, vec[i][1], strlen(vec[i][1])) == 0);
        CHECK_EQ(rf__base64_decode(vec[i][1], strlen(vec[i][1]), dec, sizeof dec), n);
        CHECK(memcmp(dec, vec[i][0], n) == 0);
    }

    uint8_t all[256], back[256];
    char enc[RF__BASE64_LEN(256)];
    for (size_t i = 0; i < 256; i++)
        all[i] = (uint8_t)(255 - i);
    for (size_t n = 0; n <= 256; n += 1) {
        size_t e = rf__base64_encode(all, n, enc);
        CHECK_EQ(e, RF__BASE64_LEN(n));
        CHECK_EQ(rf__base64_decode(enc, e, back, n), n);
        CHECK(memcmp(all, back, n) == 0);
        if (n > 0)
            CHECK_EQ(rf__base64_decode(enc, e, back, n - 1), RF_ENOSPC);
    }
    CHECK_EQ(rf__base64_encode(all, 256, enc), sizeof enc);

    static const char *bad[] = {
        "Zg=", "Zg", "Z", "Z===", "====", "Zg==Zg==", "Zh==", "Zm9=", "Zm 9v",  "Zm9v\n",
        "Zm-v", "Zm_v", "=Zm9", "Zm=v", "Zg=a", " Zm9", "Zm9v====", "Zm9\xc3", "Zm9\0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        memset(out, 0x5a, sizeof out);
        size_t n = i == sizeof bad / sizeof bad[0] - 1 ? 4 : strlen(bad[i]);
        int r = rf__base64_decode(bad[i], n, out, sizeof out);
        if (r != RF_EINVAL)
            fprintf(stderr, "base64 accepted bad[%zu]\n", i);
        CHECK_EQ(r, RF_EINVAL);
        CHECK(out[0] == 0x5a);
    }
    uint8_t k[16];
    CHECK_EQ(rf__base64_decode(LIT(KEY), k, sizeof k), 16);
    CHECK_EQ(rf__base64_decode(LIT("AAAAAAAAAAAAAAAAAAAA"), k, sizeof k), 15);
    CHECK_EQ(rf__base64_decode(LIT("AAAAAAAAAAAAAAAAAAAAAAA="), k, sizeof k), RF_ENOSPC);
}

/* ---- keys ---- */

static void test_keys(void)
{
    char acc[RF_WS_ACCEPT_LEN + 1];
    memset(acc, 'x', sizeof acc);
    rf_ws_accept_for_key(LIT(KEY), acc);
    CHECK(strcmp(acc, ACC) == 0);

    enum { N = 256 };
    static char keys[N][RF_WS_KEY_LEN + 1];
    for (int i = 0; i < N; i++) {
        memset(keys[i], 'x', sizeof keys[i]);
        CHECK_EQ(rf_ws_make_key(keys[i]), 0);
        CHECK_EQ(strlen(keys[i]), RF_WS_KEY_LEN);
        CHECK(keys[i][22] == '=' && keys[i][23] == '=');
        uint8_t nonce[16];
        CHECK_EQ(rf__base64_decode(keys[i], RF_WS_KEY_LEN, nonce, sizeof nonce), 16);
    }
    int dup = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            dup += strcmp(keys[i], keys[j]) == 0;
    CHECK_EQ(dup, 0);
    CHECK_EQ(rf_ws_make_key(NULL), RF_EINVAL);
}

/* ---- parsing helpers ---- */

/* The copy lives until the next call, so the views in *out can be checked. */
static uint8_t *exact_copy(const char *s, size_t n)
{
    static uint8_t *last;
    free(last);
    last = malloc(n ? n : 1);
    memcpy(last, s, n);
    return last;
}

static int resp_at(const char *s, size_t n, const char *prot, const char *ext,
                   rf_ws_client_response *out)
{
    return rf_ws_client_response_parse(exact_copy(s, n), n, KEY, prot, ext, out);
}

static int req_at(const char *s, size_t n, rf_ws_server_request *out)
{
    return rf_ws_server_request_parse(exact_copy(s, n), n, out);
}

static int inside(rf_str v, const char *s, size_t n)
{
    if (!v.ptr)
        return v.len == 0;
    return v.ptr >= s && v.len <= n && (size_t)(v.ptr - s) <= n - v.len;
}

static int view_is(rf_str v, const char *want)
{
    return v.len == strlen(want) && (v.len == 0 || memcmp(v.ptr, want, v.len) == 0);
}

/* Every strict prefix must ask for more; the whole block (and the block
 * followed by frame bytes) must give `want`. */
static void resp_case(int line, const char *s, size_t n, const char *prot, const char *ext,
                      int want)
{
    rf_ws_client_response out;
    for (size_t k = 0; k < n; k++) {
        int r = resp_at(s, k, prot, ext, &out);
        CHECK_EQ(r, RF_EAGAIN);
        if (r != RF_EAGAIN) {
            fprintf(stderr, "line %d: prefix %zu gave %d\n", line, k, r);
            return;
        }
    }
    int r = resp_at(s, n, prot, ext, &out);
    if (r != want)
        fprintf(stderr, "line %d: got %d want %d\n", line, r, want);
    CHECK_EQ(r, want);
    if (want == RF_OK)
        return;
    char *more = malloc(n + 6);
    memcpy(more, s, n);
    memcpy(more + n, "\x81\x02hi\r\n", 6);
    uint8_t *b = malloc(n + 6);
    memcpy(b, more, n + 6);
    r = rf_ws_client_response_parse(b, n + 6, KEY, prot, ext, &out);
    CHECK_EQ(r, want);
    CHECK(inside(out.reason, (const char *)b, n) && inside(out.protocol, (const char *)b, n) &&
          inside(out.extensions, (const char *)b, n));
    free(b);
    free(more);
}

static void req_case(int line, const char *s, size_t n, int want)
{
    rf_ws_server_request out;
    for (size_t k = 0; k < n; k++) {
        int r = req_at(s, k, &out);
        CHECK_EQ(r, RF_EAGAIN);
        if (r != RF_EAGAIN) {
            fprintf(stderr, "line %d: prefix %zu gave %d\n", line, k, r);
            return;
        }
    }
    int r = req_at(s, n, &out);
    if (r != want)
        fprintf(stderr, "line %d: got %d want %d\n", line, r, want);
    CHECK_EQ(r, want);
    uint8_t *b = malloc(n + 4);
    memcpy(b, s, n);
    memcpy(b + n, "\x81\x82xy", 4);
    CHECK_EQ(rf_ws_server_request_parse(b, n + 4, &out), want);
    const char *p = (const char *)b;
    CHECK(inside(out.path, p, n) && inside(out.host, p, n) && inside(out.key, p, n) &&
          inside(out.protocols, p, n) && inside(out.extensions, p, n) &&
          inside(out.origin, p, n));
    free(b);
}

#define RESP(s, prot, ext, want) resp_case(__LINE__, LIT(s), prot, ext, want)
#define REQ(s, want) req_case(__LINE__, LIT(s), want)
#define OKLEN(s) ((int)sizeof(s) - 1)

#define S101 "HTTP/1.1 101 Switching Protocols\r\n"
#define UPG "Upgrade: websocket\r\n"
#define CON "Connection: Upgrade\r\n"
#define SWA "Sec-WebSocket-Accept: " ACC "\r\n"
#define GOOD S101 UPG CON SWA

/* ---- client role: the response ---- */

static void test_response_valid(void)
{
    RESP(GOOD "\r\n", NULL, NULL, OKLEN(GOOD "\r\n"));
    RESP("HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: UPGRADE\r\n"
         "sec-websocket-accept: " ACC "\r\n\r\n",
         NULL, NULL, OKLEN("HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
                           "CONNECTION: UPGRADE\r\nsec-websocket-accept: " ACC "\r\n\r\n"));
#define T1 S101 "Connection: keep-alive, Upgrade\r\n" UPG SWA "Server: x\r\n\r\n"
    RESP(T1, NULL, NULL, OKLEN(T1));
#define T2 S101 "Connection: keep-alive\r\nConnection:upgrade\r\n" UPG SWA "\r\n"
    RESP(T2, NULL, NULL, OKLEN(T2));
#define T3 S101 "Upgrade: h2c , websocket\r\n" CON "Sec-WebSocket-Accept: \t " ACC " \t\r\n\r\n"
    RESP(T3, NULL, NULL, OKLEN(T3));
#define T4 "HTTP/1.1 101\r\n" UPG CON SWA "\r\n"
    RESP(T4, NULL, NULL, OKLEN(T4));
#define T5 "HTTP/1.1 101 \r\n" UPG CON SWA "\r\n"
    RESP(T5, NULL, NULL, OKLEN(T5));
#define T6 "HTTP/2.0 101 ok\r\n" UPG CON SWA "\r\n"
    RESP(T6, NULL, NULL, OKLEN(T6));
#define T7 GOOD "Sec-WebSocket-Protocol: superchat\r\n\r\n"
    RESP(T7, "chat, superchat", NULL, OKLEN(T7));
    RESP(T7, "superchat", NULL, OKLEN(T7));
#define T8 GOOD "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n"
    RESP(T8, NULL, "permessage-deflate; client_max_window_bits", OKLEN(T8));
#define T9 GOOD "Sec-WebSocket-Extensions: x-foo, permessage-deflate; a=\"1,2\"; b = 3\r\n\r\n"
    RESP(T9, NULL, "permessage-deflate, x-foo", OKLEN(T9));
#define T10 GOOD "Sec-WebSocket-Extensions:\r\n\r\n"
    RESP(T10, NULL, NULL, OKLEN(T10));

    rf_ws_client_response out;
    CHECK_EQ(resp_at(LIT(T7), "chat, superchat", NULL, &out), OKLEN(T7));
    CHECK_EQ(out.status, 101);
    CHECK(view_is(out.reason, "Switching Protocols"));
    CHECK(view_is(out.protocol, "superchat"));
    CHECK(out.extensions.len == 0);
    CHECK_EQ(resp_at(LIT(T8), NULL, "permessage-deflate", &out), OKLEN(T8));
    CHECK(view_is(out.extensions, "permessage-deflate; server_no_context_takeover"));
    CHECK(out.protocol.len == 0);
    CHECK_EQ(resp_at(LIT(T4), NULL, NULL, &out), OKLEN(T4));
    CHECK(out.reason.len == 0 && out.status == 101);
}

static void test_response_errors(void)
{
    rf_ws_client_response out;
#define E1 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    RESP(E1, NULL, NULL, RF_EHS_STATUS);
    CHECK_EQ(resp_at(LIT(E1), NULL, NULL, &out), RF_EHS_STATUS);
    CHECK_EQ(out.status, 200);
    CHECK(view_is(out.reason, "OK"));
#define E2 "HTTP/1.0 403 Forbidden by proxy\r\n\r\n"
    CHECK_EQ(resp_at(LIT(E2), NULL, NULL, &out), RF_EHS_STATUS);
    CHECK_EQ(out.status, 403);
    CHECK(view_is(out.reason, "Forbidden by proxy"));
    RESP("HTTP/1.1 404 Not Found\r\n" UPG CON SWA "\r\n", NULL, NULL, RF_EHS_STATUS);
    RESP("HTTP/1.1 100 Continue\r\n\r\n", NULL, NULL, RF_EHS_STATUS);
    RESP("HTTP/1.0 101 Switching Protocols\r\n" UPG CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);

    RESP(S101 CON SWA "\r\n", NULL, NULL, RF_EHS_UPGRADE);
    RESP(S101 "Upgrade: websocketx\r\n" CON SWA "\r\n", NULL, NULL, RF_EHS_UPGRADE);
    RESP(S101 "Upgrade: web socket\r\n" CON SWA "\r\n", NULL, NULL, RF_EHS_UPGRADE);
    RESP(S101 "Upgrade:\r\n" CON SWA "\r\n", NULL, NULL, RF_EHS_UPGRADE);
    RESP(S101 "X-Upgrade: websocket\r\n" CON SWA "\r\n", NULL, NULL, RF_EHS_UPGRADE);

    RESP(S101 UPG SWA "\r\n", NULL, NULL, RF_EHS_CONNECTION);
    RESP(S101 UPG "Connection: keep-alive\r\n" SWA "\r\n", NULL, NULL, RF_EHS_CONNECTION);
    RESP(S101 UPG "Connection: upgraded\r\n" SWA "\r\n", NULL, NULL, RF_EHS_CONNECTION);
    RESP(S101 UPG "Connection: keep-alive upgrade\r\n" SWA "\r\n", NULL, NULL, RF_EHS_CONNECTION);

    RESP(S101 UPG CON "\r\n", NULL, NULL, RF_EHS_ACCEPT);
    RESP(S101 UPG CON "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n", NULL, NULL,
         RF_EHS_ACCEPT);
    RESP(S101 UPG CON "Sec-WebSocket-Accept: S3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", NULL, NULL,
         RF_EHS_ACCEPT);
    RESP(S101 UPG CON "Sec-WebSocket-Accept: " ACC "x\r\n\r\n", NULL, NULL, RF_EHS_ACCEPT);
    RESP(GOOD SWA "\r\n", NULL, NULL, RF_EHS_ACCEPT);
    RESP(S101 UPG CON "Sec-WebSocket-Accept: " KEY "\r\n\r\n", NULL, NULL, RF_EHS_ACCEPT);

#define EXT(v) GOOD "Sec-WebSocket-Extensions: " v "\r\n\r\n"
    RESP(EXT("permessage-deflate"), NULL, NULL, RF_EHS_EXTENSION);
    RESP(EXT("x-webkit-deflate-frame"), NULL, "permessage-deflate", RF_EHS_EXTENSION);
    RESP(EXT("permessage-deflate, x-foo"), NULL, "permessage-deflate", RF_EHS_EXTENSION);
    RESP(EXT("Permessage-Deflate"), NULL, "permessage-deflate", RF_EHS_EXTENSION);
    RESP(EXT("permessage-deflate;"), NULL, "permessage-deflate", RF_EHS_EXTENSION);
    RESP(EXT("permessage-deflate; a=\"1,2"), NULL, "permessage-deflate", RF_EHS_EXTENSION);
    RESP(EXT("permessage-deflate; a="), NULL, "permessage-deflate", RF_EHS_EXTENSION);
    RESP(EXT("permessage-deflate x"), NULL, "permessage-deflate", RF_EHS_EXTENSION);
    RESP(EXT("\"permessage-deflate\""), NULL, "permessage-deflate", RF_EHS_EXTENSION);
    RESP(EXT("permessage-deflate") , NULL, "", RF_EHS_EXTENSION);
    RESP(GOOD "Sec-WebSocket-Extensions: permessage-deflate\r\n"
              "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
         NULL, "permessage-deflate", RF_EHS_EXTENSION);

#define PROTO(v) GOOD "Sec-WebSocket-Protocol: " v "\r\n\r\n"
    RESP(PROTO("chat"), NULL, NULL, RF_EHS_PROTOCOL);
    RESP(PROTO("chat"), "", NULL, RF_EHS_PROTOCOL);
    RESP(PROTO("chat"), "superchat", NULL, RF_EHS_PROTOCOL);
    RESP(PROTO("Chat"), "chat", NULL, RF_EHS_PROTOCOL);
    RESP(PROTO("chat, superchat"), "chat, superchat", NULL, RF_EHS_PROTOCOL);
    RESP(PROTO(""), "chat", NULL, RF_EHS_PROTOCOL);
    RESP(GOOD "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n", "chat", NULL,
         RF_EHS_PROTOCOL);

    /* Precedence: the first failed rule in RFC 6455 4.1's order wins. */
    RESP("HTTP/1.1 302 Found\r\nSec-WebSocket-Protocol: x\r\n\r\n", NULL, NULL, RF_EHS_STATUS);
    RESP(S101 SWA "\r\n", NULL, NULL, RF_EHS_UPGRADE);
    RESP(S101 UPG "\r\n", NULL, NULL, RF_EHS_CONNECTION);
    RESP(S101 UPG CON "Sec-WebSocket-Protocol: x\r\n\r\n", NULL, NULL, RF_EHS_ACCEPT);
}

static void test_response_malformed(void)
{
    RESP("\r\n\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP("\r\n" GOOD "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(UPG CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    static const char *lines[] = {
        "HTTP/1.1 101Switching Protocols", "HTTP/1.1  101 Switching", "HTTP/11 101 Switching",
        "http/1.1 101 Switching",          "HTTP/1.1 1O1 Switching",  "HTTP/1.1 10 Switching",
        "HTTP/1.1 1010 Switching",         "HTTP/1.1 601 Switching",  "HTTP/1.1 001 x",
        "ICY 200 OK",                      "HTTP/1.1",                "HTTP/1.1 ",
        "HTTP/1.1 101\tSwitching",         "HTTP/a.1 101 x",          " HTTP/1.1 101 x",
        "HTTP/1.1 101 Switching\x7f",      "HTTP/1.1 101 Switching\x01",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char b[256];
        int n = snprintf(b, sizeof b, "%s\r\n" UPG CON SWA "\r\n", lines[i]);
        resp_case(__LINE__ * 1000 + (int)i, b, (size_t)n, NULL, NULL, RF_EHS_MALFORMED);
    }
    RESP("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP("<html><body>hello</body></html>\r\n\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(GOOD "X-No-Colon\r\n\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 "Upgrade websocket\r\n" CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 "Upgrade : websocket\r\n" CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 ": websocket\r\n" UPG CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 "Up(grade): websocket\r\n" UPG CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 UPG "Connection: keep-alive,\r\n Upgrade\r\n" SWA "\r\n", NULL, NULL,
         RF_EHS_MALFORMED);
    RESP(S101 UPG CON SWA "X-A: b\r\n\tc\r\n\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 " Upgrade: websocket\r\n" CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 "Upgrade: web\0socket\r\n" CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 "Upg\0rade: websocket\r\n" CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP("HTTP/1.1 101 Switching\0Protocols\r\n" UPG CON SWA "\r\n", NULL, NULL,
         RF_EHS_MALFORMED);
    RESP(GOOD "X: \0\r\n\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\r\n" CON SWA "\r\n", NULL, NULL,
         RF_EHS_MALFORMED);
    RESP(S101 "Upgrade: websocket\n" CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 "Upgrade: web\rsocket\r\n" CON SWA "\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 UPG CON SWA "\r\r\n\r\n", NULL, NULL, RF_EHS_MALFORMED);
    RESP(S101 UPG CON SWA "X-Del: a\x7f\r\n\r\n", NULL, NULL, RF_EHS_MALFORMED);
    /* obs-text (bytes >= 0x80) is legal in values and reasons. */
#define OBS "HTTP/1.1 101 Prot\xc3\xa9g\xc3\xa9\r\n" UPG CON SWA "X-Utf8: caf\xc3\xa9\r\n\r\n"
    RESP(OBS, NULL, NULL, OKLEN(OBS));

    /* Bare-LF responses never end (the terminator must be CRLFCRLF). */
    static const char lf[] = "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n"
                             "Connection: Upgrade\nSec-WebSocket-Accept: " ACC "\n\n";
    rf_ws_client_response out;
    CHECK_EQ(resp_at(LIT(lf), NULL, NULL, &out), RF_EAGAIN);

    rf_ws_client_response o2;
    CHECK_EQ(rf_ws_client_response_parse(NULL, 0, KEY, NULL, NULL, &o2), RF_EAGAIN);
    CHECK_EQ(rf_ws_client_response_parse(NULL, 5, KEY, NULL, NULL, &o2), RF_EINVAL);
    CHECK_EQ(rf_ws_client_response_parse((const uint8_t *)GOOD "\r\n", 10, NULL, NULL, NULL, &o2),
             RF_EINVAL);
    CHECK_EQ(rf_ws_client_response_parse((const uint8_t *)GOOD "\r\n", 10, KEY, NULL, NULL, NULL),
             RF_EINVAL);
}

/* Builds a block of exactly `total` bytes around a padding header. */
static size_t padded(char *buf, const char *head, size_t total)
{
    size_t h = strlen(head);
    static const char pre[] = "X-Pad: ";
    size_t pad = total - h - (sizeof pre - 1) - 4;
    memcpy(buf, head, h);
    memcpy(buf + h, pre, sizeof pre - 1);
    memset(buf + h + sizeof pre - 1, 'p', pad);
    memcpy(buf + h + sizeof pre - 1 + pad, "\r\n\r\n", 4);
    return total;
}

static void test_size_limit(void)
{
    static char b[RF_WS_HANDSHAKE_MAX + 64];
    rf_ws_client_response out;
    rf_ws_server_request rq;
    size_t n = padded(b, GOOD, RF_WS_HANDSHAKE_MAX);
    CHECK_EQ(resp_at(b, n, NULL, NULL, &out), RF_WS_HANDSHAKE_MAX);
    CHECK_EQ(resp_at(b, n - 1, NULL, NULL, &out), RF_EAGAIN);
    n = padded(b, GOOD, RF_WS_HANDSHAKE_MAX + 1);
    CHECK_EQ(resp_at(b, n, NULL, NULL, &out), RF_EHS_TOOBIG);
    CHECK_EQ(resp_at(b, RF_WS_HANDSHAKE_MAX, NULL, NULL, &out), RF_EHS_TOOBIG);
    CHECK_EQ(resp_at(b, RF_WS_HANDSHAKE_MAX - 1, NULL, NULL, &out), RF_EAGAIN);

    static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                              "Sec-WebSocket-Key: " KEY "\r\n";
    n = padded(b, req, RF_WS_HANDSHAKE_MAX);
    CHECK_EQ(req_at(b, n, &rq), RF_WS_HANDSHAKE_MAX);
    n = padded(b, req, RF_WS_HANDSHAKE_MAX + 1);
    CHECK_EQ(req_at(b, n, &rq), RF_EHS_TOOBIG);
    CHECK_EQ(req_at(b, n - 1, &rq), RF_EHS_TOOBIG);
    CHECK_EQ(req_at(b, RF_WS_HANDSHAKE_MAX - 1, &rq), RF_EAGAIN);

    /* Endless header with no terminator at all; also a flood of empty-ish lines. */
    memset(b, 'a', sizeof b);
    CHECK_EQ(req_at(b, sizeof b, &rq), RF_EHS_TOOBIG);
    for (size_t i = 0; i + 1 < sizeof b; i += 2)
        b[i] = '\r', b[i + 1] = 'a';
    CHECK_EQ(resp_at(b, sizeof b, NULL, NULL, &out), RF_EHS_TOOBIG);
}

/* ---- server role: the request ---- */

#define RQL "GET /chat HTTP/1.1\r\n"
#define HOST "Host: server.example.com\r\n"
#define RUPG "Upgrade: websocket\r\n"
#define RCON "Connection: Upgrade\r\n"
#define RKEY "Sec-WebSocket-Key: " KEY "\r\n"
#define RVER "Sec-WebSocket-Version: 13\r\n"
#define RGOOD RQL HOST RUPG RCON RKEY RVER

static void test_request(void)
{
#define R1 RQL HOST RUPG RCON RKEY "Origin: http://example.com\r\n" \
    "Sec-WebSocket-Protocol: chat, superchat\r\n" RVER "\r\n"
    REQ(R1, OKLEN(R1));
    rf_ws_server_request out;
    CHECK_EQ(req_at(LIT(R1), &out), OKLEN(R1));
    CHECK(view_is(out.path, "/chat"));
    CHECK(view_is(out.host, "server.example.com"));
    CHECK(view_is(out.key, KEY));
    CHECK(view_is(out.origin, "http://example.com"));
    CHECK(view_is(out.protocols, "chat, superchat"));
    CHECK(out.extensions.len == 0);

#define R2 "GET /a?b=c&d HTTP/1.1\r\nhost: h:8080\r\nupgrade: WebSocket\r\n" \
    "connection: keep-alive, Upgrade\r\nsec-websocket-key:" KEY "  \r\n" \
    "SEC-WEBSOCKET-VERSION:   13\t\r\nSec-WebSocket-Extensions: \r\n" \
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" \
    "Sec-WebSocket-Extensions: x-foo\r\n\r\n"
    REQ(R2, OKLEN(R2));
    CHECK_EQ(req_at(LIT(R2), &out), OKLEN(R2));
    CHECK(view_is(out.path, "/a?b=c&d"));
    CHECK(view_is(out.host, "h:8080"));
    CHECK(view_is(out.key, KEY));
    CHECK(view_is(out.extensions, "permessage-deflate; client_max_window_bits"));
    CHECK(out.origin.ptr == NULL && out.protocols.len == 0);
#define R3 "GET / HTTP/1.1\r\n" HOST "Connection: keep-alive\r\nConnection: Upgrade\r\n" \
    "Upgrade: h2c\r\nUpgrade: websocket\r\n" RKEY RVER "\r\n"
    REQ(R3, OKLEN(R3));
#define R4 "GET / HTTP/2.0\r\n" HOST RUPG RCON RKEY RVER "\r\n"
    REQ(R4, OKLEN(R4));
#define R5 "GET / HTTP/1.2\r\n" HOST RUPG RCON RKEY RVER "\r\n"
    REQ(R5, OKLEN(R5));
#define R6 "GET http://h/x HTTP/1.1\r\n" HOST RUPG RCON RKEY RVER "Origin:\r\n\r\n"
    REQ(R6, OKLEN(R6));

    REQ("POST /chat HTTP/1.1\r\n" HOST RUPG RCON RKEY RVER "\r\n", RF_EHS_METHOD);
    REQ("get /chat HTTP/1.1\r\n" HOST RUPG RCON RKEY RVER "\r\n", RF_EHS_METHOD);
    REQ("HEAD /chat HTTP/1.1\r\n" HOST RUPG RCON RKEY RVER "\r\n", RF_EHS_METHOD);
    REQ("POST /chat HTTP/1.1\r\n\r\n", RF_EHS_METHOD);

    static const char *bad_lines[] = {
        "GET /chat HTTP/1.0",   "GET /chat",           "GET  /chat HTTP/1.1",
        "GET /chat HTTP/1.1 ",  "GET /c hat HTTP/1.1", "GET HTTP/1.1",
        "GET /chat http/1.1",   "GET /chat HTTP/1.1x", "GET /chat HTTP/0.9",
        " GET /chat HTTP/1.1",  "GET\t/chat HTTP/1.1", "GET /caf\xc3\xa9 HTTP/1.1",
        "",                     "GET /chat HTTP/1",    "G(T /chat HTTP/1.1",
        "GET /\x7f HTTP/1.1",
    };
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        char b[256];
        int n = snprintf(b, sizeof b, "%s\r\n" HOST RUPG RCON RKEY RVER "\r\n", bad_lines[i]);
        req_case(__LINE__ * 1000 + (int)i, b, (size_t)n, RF_EHS_MALFORMED);
    }
    REQ(RQL RUPG RCON RKEY RVER "\r\n", RF_EHS_MALFORMED);
    REQ(RGOOD HOST "\r\n", RF_EHS_MALFORMED);
    REQ(RQL "Host:\r\n" RUPG RCON RKEY RVER "\r\n", RF_EHS_MALFORMED);
    REQ(RGOOD "Origin: a\r\nOrigin: b\r\n\r\n", RF_EHS_MALFORMED);
    REQ(RGOOD "X-No-Colon\r\n\r\n", RF_EHS_MALFORMED);
    REQ(RQL "Host : h\r\n" RUPG RCON RKEY RVER "\r\n", RF_EHS_MALFORMED);
    REQ(RGOOD "X-A: b\r\n c\r\n\r\n", RF_EHS_MALFORMED);
    REQ(RQL HOST RUPG "Connection: keep-alive,\r\n\tUpgrade\r\n" RKEY RVER "\r\n",
        RF_EHS_MALFORMED);
    REQ(RGOOD "X-A: b\0c\r\n\r\n", RF_EHS_MALFORMED);
    REQ("GET /chat HTTP/1.1\nHost: h\r\n" RUPG RCON RKEY RVER "\r\n", RF_EHS_MALFORMED);
    REQ(RGOOD "X-A: b\rc\r\n\r\n", RF_EHS_MALFORMED);
    REQ("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", RF_EHS_MALFORMED);

    REQ(RQL HOST RCON RKEY RVER "\r\n", RF_EHS_UPGRADE);
    REQ(RQL HOST "Upgrade: h2c\r\n" RCON RKEY RVER "\r\n", RF_EHS_UPGRADE);
    REQ(RQL HOST RUPG RKEY RVER "\r\n", RF_EHS_CONNECTION);
    REQ(RQL HOST RUPG "Connection: keep-alive\r\n" RKEY RVER "\r\n", RF_EHS_CONNECTION);

    REQ(RQL HOST RUPG RCON RKEY "\r\n", RF_EHS_VERSION);
    REQ(RQL HOST RUPG RCON RKEY "Sec-WebSocket-Version: 8\r\n\r\n", RF_EHS_VERSION);
    REQ(RQL HOST RUPG RCON RKEY "Sec-WebSocket-Version: 13, 8\r\n\r\n", RF_EHS_VERSION);
    REQ(RQL HOST RUPG RCON RKEY "Sec-WebSocket-Version: 013\r\n\r\n", RF_EHS_VERSION);
    REQ(RGOOD RVER "\r\n", RF_EHS_VERSION);

    REQ(RQL HOST RUPG RCON RVER "\r\n", RF_EHS_KEY);
    static const char *bad_keys[] = {
        "", "!!!!", "AAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA=",
        "dGhlIHNhbXBsZSBub25jZR==", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ===",
        "dGhlIHNhbXBs ZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==",
        "dGhlIHNhbXBsZSBub25jZQ-_",
    };
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        char b[512];
        int n = snprintf(b, sizeof b, RQL HOST RUPG RCON "Sec-WebSocket-Key: %s\r\n" RVER "\r\n",
                         bad_keys[i]);
        req_case(__LINE__ * 1000 + (int)i, b, (size_t)n, RF_EHS_KEY);
    }
    REQ(RGOOD RKEY "\r\n", RF_EHS_KEY);

    /* HTTP-level problems come before WebSocket ones; then RFC 6455 4.2.1's order. */
    REQ("POST / HTTP/1.1\r\n\r\n", RF_EHS_METHOD);
    REQ("GET / HTTP/1.1\r\n\r\n", RF_EHS_MALFORMED);
    REQ("GET / HTTP/1.1\r\nHost: h\r\n\r\n", RF_EHS_UPGRADE);
    REQ("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", RF_EHS_CONNECTION);
    REQ("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        RF_EHS_VERSION);

    CHECK_EQ(rf_ws_server_request_parse(NULL, 0, &out), RF_EAGAIN);
    CHECK_EQ(rf_ws_server_request_parse(NULL, 1, &out), RF_EINVAL);
    CHECK_EQ(rf_ws_server_request_parse((const uint8_t *)"GET", 3, NULL), RF_EINVAL);
}

/* ---- writers ---- */

/* Every cap below the length must fail without touching the buffer; cap ==
 * length writes without the NUL; one more adds it. */
static void check_caps(int line, int (*write)(char *, size_t, const void *), const void *arg,
                       const char *want)
{
    size_t n = strlen(want);
    char *b = malloc(n + 2);
    for (size_t cap = 0; cap < n; cap++) {
        memset(b, 'Z', n + 2);
        int r = write(b, cap, arg);
        int untouched = 1;
        for (size_t i = 0; i < n + 2; i++)
            untouched &= b[i] == 'Z';
        if (r != RF_ENOSPC || !untouched) {
            fprintf(stderr, "line %d: cap %zu gave %d\n", line, cap, r);
            CHECK(0);
            break;
        }
    }
    memset(b, 'Z', n + 2);
    CHECK_EQ(write(b, n, arg), n);
    CHECK(memcmp(b, want, n) == 0 && b[n] == 'Z');
    memset(b, 'Z', n + 2);
    CHECK_EQ(write(b, n + 1, arg), n);
    CHECK(memcmp(b, want, n) == 0 && b[n] == '\0' && b[n + 1] == 'Z');
    free(b);
}

static int write_req(char *b, size_t cap, const void *arg)
{
    return rf_ws_client_request_write(b, cap, arg);
}

struct resp_arg {
    rf_str key;
    const char *protocol;
};

static int write_resp(char *b, size_t cap, const void *arg)
{
    const struct resp_arg *a = arg;
    return rf_ws_server_response_write(b, cap, &a->key, a->protocol);
}

static int write_reject(char *b, size_t cap, const void *arg)
{
    return rf_ws_server_reject_write(b, cap, *(const int *)arg);
}

static void test_request_write(void)
{
    rf_ws_client_request rq = {.host = "server.example.com", .path = "/chat", .key = KEY};
    check_caps(__LINE__, write_req, &rq,
               "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n");
    rf_ws_client_request full = {.host = "h:9443", .key = KEY, .protocols = "chat, superchat",
                                 .extensions = "permessage-deflate; client_max_window_bits",
                                 .extra_headers = "Origin: https://x\r\nUser-Agent: rf/0.1\r\n"};
    static const char want_full[] =
        "GET / HTTP/1.1\r\nHost: h:9443\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: chat, superchat\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        "Origin: https://x\r\nUser-Agent: rf/0.1\r\n\r\n";
    check_caps(__LINE__, write_req, &full, want_full);

    /* What we write, our server side accepts and reads back. */
    char b[1024];
    int n = rf_ws_client_request_write(b, sizeof b, &full);
    rf_ws_server_request sr;
    CHECK_EQ(req_at(b, (size_t)n, &sr), n);
    CHECK(view_is(sr.path, "/") && view_is(sr.host, "h:9443") && view_is(sr.key, KEY));
    CHECK(view_is(sr.protocols, "chat, superchat"));
    CHECK(view_is(sr.extensions, "permessage-deflate; client_max_window_bits"));
    CHECK(view_is(sr.origin, "https://x"));

    rf_ws_client_request empty = {.host = "h", .key = KEY, .protocols = "", .extensions = "",
                                  .extra_headers = ""};
    CHECK_EQ(rf_ws_client_request_write(b, sizeof b, &empty), strlen(b));
    CHECK(strstr(b, "Sec-WebSocket-Protocol") == NULL && strstr(b, "Extensions") == NULL);

    const rf_ws_client_request bad[] = {
        {.host = NULL, .key = KEY},
        {.host = "", .key = KEY},
        {.host = "h", .key = NULL},
        {.host = "h", .key = "not-a-key"},
        {.host = "h", .key = "AAAAAAAAAAAAAAAAAAAA"},
        {.host = "h\r\nX: y", .key = KEY},
        {.host = "h h", .key = KEY},
        {.host = "h", .path = "", .key = KEY},
        {.host = "h", .path = "/a b", .key = KEY},
        {.host = "h", .path = "/a\r\nX: y", .key = KEY},
        {.host = "h", .key = KEY, .protocols = "chat\r\n"},
        {.host = "h", .key = KEY, .extensions = "x\ny"},
        {.host = "h", .key = KEY, .extra_headers = "X-A: b"},
        {.host = "h", .key = KEY, .extra_headers = "X-A: b\n"},
        {.host = "h", .key = KEY, .extra_headers = "X-A: b\r\n\r\nGET / HTTP/1.1\r\n"},
        {.host = "h", .key = KEY, .extra_headers = "\r\n"},
        {.host = "h", .key = KEY, .extra_headers = " folded\r\n"},
        {.host = "h", .key = KEY, .extra_headers = "NoColon\r\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(b, 'Z', sizeof b);
        int r = rf_ws_client_request_write(b, sizeof b, &bad[i]);
        if (r != RF_EINVAL)
            fprintf(stderr, "bad request %zu gave %d\n", i, r);
        CHECK_EQ(r, RF_EINVAL);
        CHECK(b[0] == 'Z');
    }
    CHECK_EQ(rf_ws_client_request_write(b, sizeof b, NULL), RF_EINVAL);
    CHECK_EQ(rf_ws_client_request_write(NULL, 0, &rq), RF_ENOSPC);
    CHECK_EQ(rf_ws_client_request_write(NULL, 10, &rq), RF_EINVAL);
}

static void test_response_write(void)
{
    struct resp_arg a = {{KEY, sizeof KEY - 1}, NULL};
    static const char want[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Accept: " ACC "\r\n\r\n";
    check_caps(__LINE__, write_resp, &a, want);
    a.protocol = "chat";
    static const char want_p[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\nSec-WebSocket-Accept: " ACC "\r\n"
                                 "Sec-WebSocket-Protocol: chat\r\n\r\n";
    check_caps(__LINE__, write_resp, &a, want_p);

    char b[512];
    CHECK_EQ(resp_at(LIT(want_p), "superchat, chat", NULL, &(rf_ws_client_response){0}),
             OKLEN(want_p));
    a.protocol = "";
    CHECK_EQ(rf_ws_server_response_write(b, sizeof b, &a.key, ""), OKLEN(want));
    CHECK_EQ(rf_ws_server_response_write(b, sizeof b, &a.key, "a b"), RF_EINVAL);
    CHECK_EQ(rf_ws_server_response_write(b, sizeof b, &a.key, "a\r\n"), RF_EINVAL);
    CHECK_EQ(rf_ws_server_response_write(b, sizeof b, NULL, NULL), RF_EINVAL);
    rf_str nk = {NULL, 3};
    CHECK_EQ(rf_ws_server_response_write(b, sizeof b, &nk, NULL), RF_EINVAL);

    /* The full loop: fresh key, request, server parse, response, client parse. */
    for (int i = 0; i < 32; i++) {
        char key[RF_WS_KEY_LEN + 1], req[512], resp[512];
        CHECK_EQ(rf_ws_make_key(key), 0);
        rf_ws_client_request rq = {.host = "example.org", .path = "/ws", .key = key,
                                   .protocols = "v2.json, v1.json"};
        int rn = rf_ws_client_request_write(req, sizeof req, &rq);
        rf_ws_server_request sr;
        CHECK_EQ(req_at(req, (size_t)rn, &sr), rn);
        int sn = rf_ws_server_response_write(resp, sizeof resp, &sr.key, "v1.json");
        CHECK(sn > 0);
        rf_ws_client_response cr;
        CHECK_EQ(rf_ws_client_response_parse((const uint8_t *)resp, (size_t)sn, key, rq.protocols,
                                             NULL, &cr),
                 sn);
        CHECK(view_is(cr.protocol, "v1.json"));
        /* Someone else's key must not pass. */
        CHECK_EQ(resp_at(resp, (size_t)sn, rq.protocols, NULL, &cr), RF_EHS_ACCEPT);
    }
}

static void test_reject_write(void)
{
    static const struct { int error; const char *want; } cases[] = {
        {RF_EHS_VERSION, "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade, close\r\n"
                         "Content-Length: 0\r\n\r\n"},
        {RF_EHS_METHOD, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nConnection: close\r\n"
                        "Content-Length: 0\r\n\r\n"},
        {RF_EHS_TOOBIG, "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
                        "Content-Length: 0\r\n\r\n"},
        {RF_EHS_KEY, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
        {RF_EHS_MALFORMED, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                           "Content-Length: 0\r\n\r\n"},
        {RF_EHS_UPGRADE, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                         "Content-Length: 0\r\n\r\n"},
        {RF_EHS_CONNECTION, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                            "Content-Length: 0\r\n\r\n"},
        {0, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_caps(__LINE__, write_reject, &cases[i].error, cases[i].want);
        /* Our own client reads every reject as a plain refusal with its status. */
        rf_ws_client_response out;
        CHECK_EQ(resp_at(cases[i].want, strlen(cases[i].want), NULL, NULL, &out), RF_EHS_STATUS);
        CHECK(out.status == 400 || out.status == 405 || out.status == 426 || out.status == 431);
    }
    char b[8];
    CHECK_EQ(rf_ws_server_reject_write(NULL, 8, RF_EHS_KEY), RF_EINVAL);
    CHECK_EQ(rf_ws_server_reject_write(b, sizeof b, RF_EHS_KEY), RF_ENOSPC);
}

int main(void)
{
    test_sha1();
    test_base64();
    test_keys();
    test_response_valid();
    test_response_errors();
    test_response_malformed();
    test_size_limit();
    test_request();
    test_request_write();
    test_response_write();
    test_reject_write();
    exact_copy("", 0);
    TEST_DONE("ws_handshake");
}
