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
    RF_BN_MINI_TICKER,   /* <symbol>@miniTicker ("24hrMiniTicker") */
    RF_BN_TICKER,        /* <symbol>@ticker ("24hrTicker") */
    RF_BN_ROLLING_TICKER,/* <symbol>@ticker_<1h|4h|1d> ("1hTicker", "4hTicker", "1dTicker") */
    RF_BN_AVG_PRICE,     /* <symbol>@avgPrice (spot) */
    RF_BN_SERVER_SHUTDOWN, /* "serverShutdown": reconnect soon (also {"event":{...}}) */
    RF_BN_RESPONSE,      /* a control-message answer: {"result":...,"id":...} */
    RF_BN_ERROR,         /* a control-message error: {"error":{"code":..,"msg":..},"id":...} */
    RF_BN_ARRAY,         /* an all-market stream (!miniTicker@arr ...): a JSON array of events;
                            walk it with rf_bn_array_next */
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

/* The ticker family. Which fields a kind carries (Binance's letters):
 *   miniTicker:     c o h l v q
 *   ticker (spot):  p P w x c Q b B a A o h l v q O C F L n
 *   ticker (futures): as spot without x b B a A
 *   rolling ticker: p P o h l c w v q O C F L n
 * A decimal field that was not in the message has its RF_BN_TK_* bit clear
 * in `present` (and reads 0); an absent integer is RF_BN_ABSENT. Fields a
 * kind documents are required; extra ones are taken when present. */
enum rf_bn_ticker_field {
    RF_BN_TK_PRICE_CHANGE = 1u << 0,          /* "p" */
    RF_BN_TK_PRICE_CHANGE_PERCENT = 1u << 1,  /* "P" */
    RF_BN_TK_WEIGHTED_AVG_PRICE = 1u << 2,    /* "w" */
    RF_BN_TK_FIRST_TRADE_PRICE = 1u << 3,     /* "x": last price before the window */
    RF_BN_TK_LAST_PRICE = 1u << 4,            /* "c" (miniTicker: close price) */
    RF_BN_TK_LAST_QUANTITY = 1u << 5,         /* "Q" */
    RF_BN_TK_BEST_BID_PRICE = 1u << 6,        /* "b" */
    RF_BN_TK_BEST_BID_QUANTITY = 1u << 7,     /* "B" */
    RF_BN_TK_BEST_ASK_PRICE = 1u << 8,        /* "a" */
    RF_BN_TK_BEST_ASK_QUANTITY = 1u << 9,     /* "A" */
    RF_BN_TK_OPEN_PRICE = 1u << 10,           /* "o" */
    RF_BN_TK_HIGH_PRICE = 1u << 11,           /* "h" */
    RF_BN_TK_LOW_PRICE = 1u << 12,            /* "l" */
    RF_BN_TK_VOLUME = 1u << 13,               /* "v": base asset */
    RF_BN_TK_QUOTE_VOLUME = 1u << 14,         /* "q" */
};

typedef struct rf_bn_ticker {     /* miniTicker, ticker, rolling ticker */
    rf_decimal price_change, price_change_percent, weighted_avg_price, first_trade_price;
    rf_decimal last_price, last_quantity;
    rf_decimal best_bid_price, best_bid_quantity, best_ask_price, best_ask_quantity;
    rf_decimal open_price, high_price, low_price, volume, quote_volume;
    int64_t open_time, close_time;      /* "O" "C" (statistics window) */
    int64_t first_trade_id, last_trade_id, trade_count; /* "F" "L" "n" */
    rf_str window;                      /* rolling ticker: "1h", "4h" or "1d" (from "e"); else empty */
    uint32_t present;                   /* RF_BN_TK_* bits of the decimals present */
} rf_bn_ticker;

typedef struct rf_bn_avg_price {  /* spot avgPrice */
    rf_str interval;              /* "i", e.g. "5m" */
    rf_decimal price;             /* "w" */
    int64_t last_trade_time;      /* "T" */
} rf_bn_avg_price;

/* The answer to a control message (SUBSCRIBE, UNSUBSCRIBE,
 * LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY). Recognised only at the
 * top level of a raw message, never inside "data". A response requires its
 * "id"; an error may lack one (Binance sends none for a request it could not
 * parse): then id is RF_BN_ABSENT and id_text empty. An "id" that is neither
 * an integer, a string nor null is RF_ETYPE (RF_EOVERFLOW past int64). */
typedef struct rf_bn_response {
    int64_t id;                   /* "id" when it is an integer, else RF_BN_ABSENT */
    rf_str id_text;               /* "id" as raw JSON text (a number, "quoted string" or null) */
    rf_str result;                /* RF_BN_RESPONSE: "result" as raw JSON text (null, true, [...]) */
    int64_t error_code;           /* RF_BN_ERROR: "code" */
    rf_str error_msg;             /* RF_BN_ERROR: "msg", raw bytes between the quotes */
} rf_bn_response;

/* RF_BN_ARRAY: the raw array text, '[' to ']' inclusive, validated. A raw
 * all-market stream is a top-level array; a combined one is "data":[...]. */
typedef struct rf_bn_array {
    rf_str items;
    size_t count;                 /* number of elements */
} rf_bn_array;

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
        rf_bn_ticker ticker;          /* MINI_TICKER, TICKER, ROLLING_TICKER */
        rf_bn_avg_price avg_price;
        rf_bn_response response;      /* RESPONSE and ERROR */
        rf_bn_array array;
    } u;
} rf_bn_event;

/* Scans one message. Views (rf_str) point into msg and hold the raw bytes of
 * the JSON string, escapes included (exchange symbols and names have none).
 * Depth levels are written to levels[0..level_cap), bids first. Keys may come
 * in any order; for a duplicated key the first one counts. Returns 0,
 * RF_EJSON, RF_EDECIMAL, RF_EOVERFLOW, RF_EMISSING, RF_ETYPE, RF_ENOSPC when a
 * depth message has more levels than level_cap, or RF_EINVAL for a NULL msg
 * or levels with a non-zero length or capacity. Only the union member of
 * the event's type is defined afterwards. */
int rf_bn_scan(const uint8_t *msg, size_t len, rf_bn_level *levels, size_t level_cap,
               rf_bn_event *out);

/* Walks an RF_BN_ARRAY event: *pos starts at 0 and advances past each
 * element. Each element is scanned as a message of its own (its stream taken
 * from the array event; nesting counted from the element). Returns 1 with
 * *out filled, 0 after the last element, or a negative code for an element
 * that does not scan (RF_ETYPE for one that is not an object; *pos still
 * advances past it, so the walk can go on). RF_EINVAL for a NULL argument,
 * an event that is not an array, or a *pos this walk did not produce. */
int rf_bn_array_next(const rf_bn_event *array, size_t *pos, rf_bn_level *levels, size_t level_cap,
                     rf_bn_event *out);

/* The stream kind a stream name asks for ("btcusdt@depth5@100ms" ->
 * RF_BN_PARTIAL_DEPTH; "!miniTicker@arr" -> RF_BN_ARRAY), RF_BN_UNKNOWN for
 * a name this scanner does not know. */
int rf_bn_stream_kind(const char *name, size_t len);

#ifdef __cplusplus
}
#endif
#endif
