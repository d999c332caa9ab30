/* Binance market-stream messages, scanned straight into a typed struct
 * without building a DOM: known keys are located in one pass, decimal strings
 * become exact rf_decimal values, ids and times int64, depth levels land in a
 * caller-provided array. Spot and USD-M futures; raw (/ws/<name>) and
 * combined ({"stream":..., "data":...}) payloads.
 *
 * Unknown keys and unknown event types are tolerated (an unknown event is
 * RF_BN_UNKNOWN with its "e" value). Malformed JSON, a number that does not
 * fit, a missing required field or a known field of the wrong type is a typed
 * error for that message only: the scanner holds no state between calls. */
#ifndef RINGFEED_BINANCE_H
#define RINGFEED_BINANCE_H

#include <stddef.h>
#include <stdint.h>

#include "ringfeed/decimal.h"
#include "ringfeed/ws_handshake.h" /* rf_str */

#ifdef __cplusplus
extern "C" {
#endif

enum rf_bn_type {
    RF_BN_UNKNOWN = 0,   /* an event this scanner does not know ("e" in event_name) */
    RF_BN_TRADE,         /* <symbol>@trade */
    RF_BN_AGG_TRADE,     /* <symbol>@aggTrade */
    RF_BN_DEPTH_UPDATE,  /* <symbol>@depth[@100ms] (futures: with T and pu) */
    RF_BN_PARTIAL_DEPTH, /* <symbol>@depth<5|10|20>[@100ms] (spot: lastUpdateId, bids, asks) */
    RF_BN_BOOK_TICKER,   /* <symbol>@bookTicker */
    RF_BN_KLINE,         /* <symbol>@kline_<interval> */
};

/* An optional integer field that was not in the message. No real value can
 * look like it: an integer equal to INT64_MIN is refused with RF_EOVERFLOW. */
#define RF_BN_ABSENT INT64_MIN

typedef struct rf_bn_level {
    rf_decimal price;
    rf_decimal quantity;
} rf_bn_level;

typedef struct rf_bn_trade {      /* trade (id) and aggTrade (agg id, first/last trade ids) */
    int64_t id;                   /* "t" for trade, "a" for aggTrade */
    int64_t first_trade_id;       /* aggTrade "f", else RF_BN_ABSENT */
    int64_t last_trade_id;        /* aggTrade "l", else RF_BN_ABSENT */
    rf_decimal price;             /* "p" */
    rf_decimal quantity;          /* "q" */
    int64_t trade_time;           /* "T" */
    uint8_t buyer_is_maker;       /* "m" */
} rf_bn_trade;

typedef struct rf_bn_depth {      /* depthUpdate and partial depth */
    int64_t first_update_id;      /* "U" (RF_BN_ABSENT for partial depth) */
    int64_t final_update_id;      /* "u", or partial depth's "lastUpdateId" */
    int64_t prev_final_update_id; /* futures "pu", else RF_BN_ABSENT */
    int64_t transaction_time;     /* futures "T", else RF_BN_ABSENT */
    const rf_bn_level *bids;      /* into the caller's level array */
    size_t bid_count;
    const rf_bn_level *asks;
    size_t ask_count;
} rf_bn_depth;

typedef struct rf_bn_book_ticker {
    int64_t update_id;            /* "u" */
    rf_decimal bid_price, bid_quantity, ask_price, ask_quantity; /* "b" "B" "a" "A" */
    int64_t transaction_time;     /* futures "T", else RF_BN_ABSENT */
} rf_bn_book_ticker;

typedef struct rf_bn_kline {      /* the "k" object */
    rf_str interval;              /* "i", e.g. "1m" */
    int64_t open_time, close_time;             /* "t" "T" */
    int64_t first_trade_id, last_trade_id;     /* "f" "L" */
    rf_decimal open, high, low, close;         /* "o" "h" "l" "c" */
    rf_decimal volume, quote_volume;           /* "v" "q" */
    rf_decimal taker_buy_volume, taker_buy_quote_volume; /* "V" "Q" */
    int64_t trades;               /* "n" */
    uint8_t is_closed;            /* "x" */
} rf_bn_kline;

typedef struct rf_bn_event {
    int type;                     /* enum rf_bn_type */
    rf_str stream;                /* combined payloads: the stream name; else empty */
    rf_str event_name;            /* "e" as sent (empty for spot bookTicker and partial depth) */
    rf_str symbol;                /* "s"; empty for spot partial depth (take it from the stream) */
    int64_t event_time;           /* "E", RF_BN_ABSENT where the exchange sends none */
    union {
        rf_bn_trade trade;
        rf_bn_depth depth;
        rf_bn_book_ticker book_ticker;
        rf_bn_kline kline;
    } u;
} rf_bn_event;

/* Scans one message. Views (rf_str) point into msg and hold the raw bytes of
 * the JSON string, escapes included (exchange symbols and names have none).
 * Depth levels are written to levels[0..level_cap), bids first. Keys may come
 * in any order; for a duplicated key the first one counts. Returns 0,
 * RF_EJSON, RF_EDECIMAL, RF_EOVERFLOW, RF_EMISSING, RF_ETYPE, RF_ENOSPC when a
 * depth message has more levels than level_cap, or RF_EINVAL for a NULL msg
 * or levels with a non-zero length or capacity. */
int rf_bn_scan(const uint8_t *msg, size_t len, rf_bn_level *levels, size_t level_cap,
               rf_bn_event *out);

#ifdef __cplusplus
}
#endif
#endif
