/* rf_url: the URLs RingFeed accepts and the ones it refuses. */
#include <string.h>

#include "check.h"
#include "ringfeed/error.h"
#include "ringfeed/url.h"

static void ok(const char *text, const char *scheme, const char *host, unsigned port,
               const char *path, int tls, const char *host_header)
{
    rf_url u;
    int rc = rf_url_parse(text, &u);
    CHECK_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "  for %s\n", text);
        return;
    }
    CHECK(strcmp(u.scheme, scheme) == 0);
    CHECK(strcmp(u.host, host) == 0);
    CHECK_EQ(u.port, port);
    CHECK(strcmp(u.path, path) == 0);
    CHECK_EQ(u.tls, tls);
    char hh[300];
    CHECK(rf_url_host_header(&u, hh, sizeof hh) > 0);
    if (strcmp(hh, host_header) != 0)
        fprintf(stderr, "  host header %s, want %s\n", hh, host_header);
    CHECK(strcmp(hh, host_header) == 0);
}

int main(void)
{
    ok("ws://127.0.0.1:9001", "ws", "127.0.0.1", 9001, "/", 0, "127.0.0.1:9001");
    ok("ws://127.0.0.1:9001/runCase?case=1&agent=x", "ws", "127.0.0.1", 9001, "/runCase?case=1&agent=x", 0, "127.0.0.1:9001");
    ok("wss://stream.binance.com:9443/ws/btcusdt@trade", "wss", "stream.binance.com", 9443, "/ws/btcusdt@trade", 1, "stream.binance.com:9443");
    ok("wss://fstream.binance.com/public/stream?streams=a/b", "wss", "fstream.binance.com", 443, "/public/stream?streams=a/b", 1, "fstream.binance.com");
    ok("WS://Example.com", "ws", "Example.com", 80, "/", 0, "Example.com");
    ok("ws://h:80/x", "ws", "h", 80, "/x", 0, "h");
    ok("https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=5000", "https", "api.binance.com", 443, "/api/v3/depth?symbol=BTCUSDT&limit=5000", 1, "api.binance.com");
    ok("http://[::1]:8080/p", "http", "::1", 8080, "/p", 0, "[::1]:8080");
    ok("ws://[::1]", "ws", "::1", 80, "/", 0, "[::1]");
    ok("ws://h?q=1", "ws", "h", 80, "/?q=1", 0, "h");

    static const char *bad[] = {
        "", "127.0.0.1:9001", "ftp://h/", "ws:/h", "ws://", "ws://:80/", "ws://h:0/", "ws://h:65536/",
        "ws://h:12a/", "ws://h:/", "ws://user@h/", "ws://h/#frag", "ws://h/ x", "ws://[::1/",
        "ws://[::1]x/", "ws://h\n/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rf_url u;
        int rc = rf_url_parse(bad[i], &u);
        if (rc != RF_EURL)
            fprintf(stderr, "  accepted bad URL \"%s\"\n", bad[i]);
        CHECK_EQ(rc, RF_EURL);
    }
    char longurl[5000] = "ws://h/";
    memset(longurl + 7, 'a', 4500);
    rf_url u;
    CHECK_EQ(rf_url_parse(longurl, &u), RF_EURL);
    TEST_DONE("test_url");
}
