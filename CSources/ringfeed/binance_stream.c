/* Stream names to the kind of event they carry: "<symbol>@<suffix>" for one
 * symbol, "!<name>" for the all-market streams. Names are matched exactly,
 * so a near miss ("@kline_2m", "@depth15", "@depth@200ms") is RF_BN_UNKNOWN
 * and a caller never subscribes to something it cannot scan. */
#include <string.h>

#include "binance_internal.h"

#define IS(s, n, lit) RF__BN_NAME_IS(s, n, lit)

/* The update speeds a depth stream may ask for: spot 100 ms (1000 ms by
 * default), futures 100, 250 (the default) or 500 ms. */
static int depth_speed(const char *s, size_t n)
{
    return n == 0 || IS(s, n, "@100ms") || IS(s, n, "@250ms") || IS(s, n, "@500ms");
}

static int kline_interval(const char *s, size_t n)
{
    static const char *const intervals[] = {"1s", "1m", "3m",  "5m",  "15m", "30m", "1h", "2h",
                                            "4h", "6h", "8h",  "12h", "1d",  "3d",  "1w", "1M"};
    for (size_t i = 0; i < sizeof intervals / sizeof intervals[0]; i++)
        if (n == strlen(intervals[i]) && !memcmp(s, intervals[i], n)) return 1;
    return 0;
}

static int window(const char *s, size_t n) { return IS(s, n, "1h") || IS(s, n, "4h") || IS(s, n, "1d"); }

/* The part after "<symbol>@". */
static int symbol_stream(const char *s, size_t n)
{
    if (IS(s, n, "trade")) return RF_BN_TRADE;
    if (IS(s, n, "aggTrade")) return RF_BN_AGG_TRADE;
    if (IS(s, n, "miniTicker")) return RF_BN_MINI_TICKER;
    if (IS(s, n, "ticker")) return RF_BN_TICKER;
    if (IS(s, n, "bookTicker")) return RF_BN_BOOK_TICKER;
    if (IS(s, n, "avgPrice")) return RF_BN_AVG_PRICE;
    if (n > 6 && !memcmp(s, "kline_", 6)) return kline_interval(s + 6, n - 6) ? RF_BN_KLINE : RF_BN_UNKNOWN;
    if (n > 7 && !memcmp(s, "ticker_", 7)) return window(s + 7, n - 7) ? RF_BN_ROLLING_TICKER : RF_BN_UNKNOWN;
    if (n >= 5 && !memcmp(s, "depth", 5)) {
        s += 5, n -= 5;
        size_t levels = 0;
        if (n >= 1 && s[0] == '5') levels = 1;
        else if (n >= 2 && (!memcmp(s, "10", 2) || !memcmp(s, "20", 2))) levels = 2;
        if (!depth_speed(s + levels, n - levels)) return RF_BN_UNKNOWN;
        return levels ? RF_BN_PARTIAL_DEPTH : RF_BN_DEPTH_UPDATE;
    }
    return RF_BN_UNKNOWN;
}

int rf_bn_stream_kind(const char *name, size_t len)
{
    if (!name || len == 0) return RF_BN_UNKNOWN;
    if (name[0] == '!') {
        const char *s = name + 1;
        size_t n = len - 1;
        if (IS(s, n, "bookTicker")) return RF_BN_BOOK_TICKER; /* one event per update, not an array */
        if (IS(s, n, "miniTicker@arr") || IS(s, n, "ticker@arr")) return RF_BN_ARRAY;
        if (n == 13 && !memcmp(s, "ticker_", 7) && window(s + 7, 2) && !memcmp(s + 9, "@arr", 4))
            return RF_BN_ARRAY;
        return RF_BN_UNKNOWN;
    }
    /* Symbols are lower-case letters and digits (futures delivery contracts
     * add "_" and a date); the kind follows the first '@'. */
    size_t i = 0;
    while (i < len && ((name[i] >= 'a' && name[i] <= 'z') || rf__bn_digit((uint8_t)name[i]) ||
                       name[i] == '_'))
        i++;
    if (i == 0 || i == len || name[i] != '@') return RF_BN_UNKNOWN;
    return symbol_stream(name + i + 1, len - i - 1);
}
