import CRingFeed

/// How `ringfeed stream` (and any sink) prints events.
public enum EventFormat: String, CaseIterable, Sendable {
    /// One JSON object per line: decimals as JSON strings exactly as the
    /// exchange wrote them, times and ids as integers.
    case jsonl
    /// Aligned columns for people.
    case table
    /// Comma-separated; a header row precedes the first row of each event type.
    case csv
}

/// Formats events seen in place (`MarketEventView`) into a `ByteWriter`,
/// without building Strings per field.
public struct EventFormatter {
    public let format: EventFormat
    /// Times are microseconds (the connection asked for `timeUnit=MICROSECOND`).
    public var microsecondTimes: Bool
    private var csvHeadersWritten: Set<UInt32> = []

    public init(format: EventFormat, microsecondTimes: Bool = false) {
        self.format = format
        self.microsecondTimes = microsecondTimes
    }

    public mutating func write(_ e: MarketEventView, to w: inout ByteWriter) {
        switch format {
        case .jsonl: writeJSON(e, to: &w)
        case .table: writeTable(e, to: &w)
        case .csv: writeCSV(e, to: &w)
        }
    }

    /// The `type` value of an event kind.
    public static func typeName(_ kind: rf_bn_type) -> StaticString {
        switch kind {
        case RF_BN_TRADE: "trade"
        case RF_BN_AGG_TRADE: "aggTrade"
        case RF_BN_DEPTH_UPDATE: "depthUpdate"
        case RF_BN_PARTIAL_DEPTH: "partialDepth"
        case RF_BN_BOOK_TICKER: "bookTicker"
        case RF_BN_KLINE: "kline"
        case RF_BN_MINI_TICKER: "miniTicker"
        case RF_BN_TICKER: "ticker"
        case RF_BN_ROLLING_TICKER: "rollingTicker"
        case RF_BN_AVG_PRICE: "avgPrice"
        case RF_BN_SERVER_SHUTDOWN: "serverShutdown"
        default: "unknown"
        }
    }
}

// MARK: fields, shared by the formats

/// One field of an event, in output order.
enum FieldValue {
    case int(Int64)
    case bool(Bool)
    case decimal(rf_decimal)
    case text(UnsafeRawBufferPointer)
    case levels(LevelsView)
}

extension EventFormatter {
    /// The type-specific fields of `e`, in the documented order; absent
    /// optional fields are left out.
    static func fields(_ e: MarketEventView, _ body: (StaticString, FieldValue) -> Void) {
        let ev = e.raw.pointee
        switch e.kind {
        case RF_BN_TRADE:
            let t = ev.u.trade
            body("tradeId", .int(t.id))
            body("price", .decimal(t.price))
            body("quantity", .decimal(t.quantity))
            body("tradeTime", .int(t.trade_time))
            body("buyerIsMaker", .bool(t.buyer_is_maker != 0))
        case RF_BN_AGG_TRADE:
            let t = ev.u.trade
            body("aggTradeId", .int(t.id))
            body("price", .decimal(t.price))
            body("quantity", .decimal(t.quantity))
            body("firstTradeId", .int(t.first_trade_id))
            body("lastTradeId", .int(t.last_trade_id))
            body("tradeTime", .int(t.trade_time))
            body("buyerIsMaker", .bool(t.buyer_is_maker != 0))
        case RF_BN_DEPTH_UPDATE:
            let d = ev.u.depth
            body("firstUpdateId", .int(d.first_update_id))
            body("finalUpdateId", .int(d.final_update_id))
            if d.prev_final_update_id != Int64.min { body("prevFinalUpdateId", .int(d.prev_final_update_id)) }
            body("bids", .levels(e.bids))
            body("asks", .levels(e.asks))
        case RF_BN_PARTIAL_DEPTH:
            body("lastUpdateId", .int(ev.u.depth.final_update_id))
            body("bids", .levels(e.bids))
            body("asks", .levels(e.asks))
        case RF_BN_BOOK_TICKER:
            let b = ev.u.book_ticker
            body("updateId", .int(b.update_id))
            body("bidPrice", .decimal(b.bid_price))
            body("bidQuantity", .decimal(b.bid_quantity))
            body("askPrice", .decimal(b.ask_price))
            body("askQuantity", .decimal(b.ask_quantity))
        case RF_BN_KLINE:
            let k = ev.u.kline
            body("interval", .text(k.interval.bytes))
            body("openTime", .int(k.open_time))
            body("closeTime", .int(k.close_time))
            body("open", .decimal(k.open))
            body("high", .decimal(k.high))
            body("low", .decimal(k.low))
            body("close", .decimal(k.close))
            body("volume", .decimal(k.volume))
            body("quoteVolume", .decimal(k.quote_volume))
            body("trades", .int(k.trades))
            body("isClosed", .bool(k.is_closed != 0))
            body("takerBuyVolume", .decimal(k.taker_buy_volume))
            body("takerBuyQuoteVolume", .decimal(k.taker_buy_quote_volume))
            body("firstTradeId", .int(k.first_trade_id))
            body("lastTradeId", .int(k.last_trade_id))
        case RF_BN_MINI_TICKER:
            let t = ev.u.ticker
            body("closePrice", .decimal(t.last_price))
            body("openPrice", .decimal(t.open_price))
            body("highPrice", .decimal(t.high_price))
            body("lowPrice", .decimal(t.low_price))
            body("volume", .decimal(t.volume))
            body("quoteVolume", .decimal(t.quote_volume))
        case RF_BN_TICKER, RF_BN_ROLLING_TICKER:
            let t = ev.u.ticker
            if t.window.len > 0 { body("window", .text(t.window.bytes)) }
            func dec(_ name: StaticString, _ bit: rf_bn_ticker_field, _ d: rf_decimal) {
                if t.present & bit.rawValue != 0 { body(name, .decimal(d)) }
            }
            func int(_ name: StaticString, _ v: Int64) {
                if v != Int64.min { body(name, .int(v)) }
            }
            dec("priceChange", RF_BN_TK_PRICE_CHANGE, t.price_change)
            dec("priceChangePercent", RF_BN_TK_PRICE_CHANGE_PERCENT, t.price_change_percent)
            dec("weightedAveragePrice", RF_BN_TK_WEIGHTED_AVG_PRICE, t.weighted_avg_price)
            dec("firstTradePrice", RF_BN_TK_FIRST_TRADE_PRICE, t.first_trade_price)
            dec("lastPrice", RF_BN_TK_LAST_PRICE, t.last_price)
            dec("lastQuantity", RF_BN_TK_LAST_QUANTITY, t.last_quantity)
            dec("bestBidPrice", RF_BN_TK_BEST_BID_PRICE, t.best_bid_price)
            dec("bestBidQuantity", RF_BN_TK_BEST_BID_QUANTITY, t.best_bid_quantity)
            dec("bestAskPrice", RF_BN_TK_BEST_ASK_PRICE, t.best_ask_price)
            dec("bestAskQuantity", RF_BN_TK_BEST_ASK_QUANTITY, t.best_ask_quantity)
            dec("openPrice", RF_BN_TK_OPEN_PRICE, t.open_price)
            dec("highPrice", RF_BN_TK_HIGH_PRICE, t.high_price)
            dec("lowPrice", RF_BN_TK_LOW_PRICE, t.low_price)
            dec("volume", RF_BN_TK_VOLUME, t.volume)
            dec("quoteVolume", RF_BN_TK_QUOTE_VOLUME, t.quote_volume)
            int("openTime", t.open_time)
            int("closeTime", t.close_time)
            int("firstTradeId", t.first_trade_id)
            int("lastTradeId", t.last_trade_id)
            int("tradeCount", t.trade_count)
        case RF_BN_AVG_PRICE:
            let a = ev.u.avg_price
            body("interval", .text(a.interval.bytes))
            body("price", .decimal(a.price))
            body("lastTradeTime", .int(a.last_trade_time))
        case RF_BN_SERVER_SHUTDOWN:
            break
        default:
            body("eventType", .text(ev.event_name.bytes))
        }
    }
}

extension EventFormatter {
    /// "s", or for spot partial depth the stream name's symbol upper-cased,
    /// written without building a String.
    static func writeSymbol(_ e: MarketEventView, to w: inout ByteWriter) {
        if e.raw.pointee.symbol.len > 0 { return w.raw(e.symbolBytes) }
        for c in e.streamBytes {
            if c == UInt8(ascii: "@") { break }
            w.byte(c >= 97 && c <= 122 ? c - 32 : c)
        }
    }
}

// MARK: JSON lines

extension EventFormatter {
    func writeJSON(_ e: MarketEventView, to w: inout ByteWriter) {
        let ev = e.raw.pointee
        w.ascii("{\"type\":\"")
        w.ascii(Self.typeName(e.kind))
        w.ascii("\",\"stream\":")
        w.jsonRaw(e.streamBytes)
        if e.kind != RF_BN_SERVER_SHUTDOWN {
            w.ascii(",\"symbol\":")
            w.byte(34)
            Self.writeSymbol(e, to: &w)
            w.byte(34)
        }
        if ev.event_time != Int64.min {
            w.ascii(",\"eventTime\":")
            w.int(ev.event_time)
        }
        Self.fields(e) { name, value in
            w.ascii(",\"")
            w.ascii(name)
            w.ascii("\":")
            switch value {
            case let .int(v): w.int(v)
            case let .bool(b): if b { w.ascii("true") } else { w.ascii("false") }
            case let .decimal(d):
                w.byte(34)
                w.decimal(d)
                w.byte(34)
            case let .text(t): w.jsonRaw(t)
            case let .levels(levels):
                w.byte(UInt8(ascii: "["))
                var first = true
                for i in 0..<levels.count {
                    let l = levels.base![i]
                    if !first { w.byte(UInt8(ascii: ",")) }
                    first = false
                    w.ascii("[\"")
                    w.decimal(l.price)
                    w.ascii("\",\"")
                    w.decimal(l.quantity)
                    w.ascii("\"]")
                }
                w.byte(UInt8(ascii: "]"))
            }
        }
        w.ascii("}\n")
    }
}

// MARK: CSV

extension EventFormatter {
    mutating func writeCSV(_ e: MarketEventView, to w: inout ByteWriter) {
        let ev = e.raw.pointee
        if !csvHeadersWritten.contains(e.kind.rawValue) {
            csvHeadersWritten.insert(e.kind.rawValue)
            w.ascii("type,stream,symbol,eventTime")
            Self.fields(e) { name, _ in
                w.byte(UInt8(ascii: ","))
                w.ascii(name)
            }
            w.byte(10)
        }
        w.ascii(Self.typeName(e.kind))
        w.byte(UInt8(ascii: ","))
        w.raw(e.streamBytes)
        w.byte(UInt8(ascii: ","))
        Self.writeSymbol(e, to: &w)
        w.byte(UInt8(ascii: ","))
        if ev.event_time != Int64.min { w.int(ev.event_time) }
        Self.fields(e) { _, value in
            w.byte(UInt8(ascii: ","))
            switch value {
            case let .int(v): w.int(v)
            case let .bool(b): if b { w.ascii("true") } else { w.ascii("false") }
            case let .decimal(d): w.decimal(d)
            case let .text(t): w.raw(t)
            case let .levels(levels):
                // price:quantity pairs separated by ';' (no comma, no quoting needed).
                for i in 0..<levels.count {
                    let l = levels.base![i]
                    if i > 0 { w.byte(UInt8(ascii: ";")) }
                    w.decimal(l.price)
                    w.byte(UInt8(ascii: ":"))
                    w.decimal(l.quantity)
                }
            }
        }
        w.byte(10)
    }
}

// MARK: table

extension EventFormatter {
    func writeTable(_ e: MarketEventView, to w: inout ByteWriter) {
        let ev = e.raw.pointee
        let start = w.count
        clock(ev.event_time, &w)
        pad(&w, from: start, to: 13)
        let streamStart = w.count
        w.raw(e.streamBytes)
        pad(&w, from: streamStart, to: 26)
        let typeStart = w.count
        w.ascii(Self.typeName(e.kind))
        pad(&w, from: typeStart, to: 15)
        switch e.kind {
        case RF_BN_TRADE, RF_BN_AGG_TRADE:
            let t = ev.u.trade
            // The taker's side: a maker buyer means the aggressor sold.
            if t.buyer_is_maker != 0 { w.ascii("SELL ") } else { w.ascii("BUY  ") }
            w.decimal(t.quantity)
            w.ascii(" @ ")
            w.decimal(t.price)
            w.ascii("  id ")
            w.int(t.id)
        case RF_BN_DEPTH_UPDATE, RF_BN_PARTIAL_DEPTH:
            let d = ev.u.depth
            w.ascii("u ")
            w.int(d.final_update_id)
            w.ascii("  bids ")
            w.int(Int64(d.bid_count))
            w.ascii(" asks ")
            w.int(Int64(d.ask_count))
            if d.bid_count > 0, let b = d.bids {
                w.ascii("  best bid ")
                w.decimal(b[0].price)
            }
            if d.ask_count > 0, let a = d.asks {
                w.ascii("  best ask ")
                w.decimal(a[0].price)
            }
        case RF_BN_BOOK_TICKER:
            let b = ev.u.book_ticker
            w.decimal(b.bid_quantity)
            w.ascii(" @ ")
            w.decimal(b.bid_price)
            w.ascii("  |  ")
            w.decimal(b.ask_price)
            w.ascii(" x ")
            w.decimal(b.ask_quantity)
        case RF_BN_KLINE:
            let k = ev.u.kline
            w.raw(k.interval.bytes)
            w.ascii("  O ")
            w.decimal(k.open)
            w.ascii(" H ")
            w.decimal(k.high)
            w.ascii(" L ")
            w.decimal(k.low)
            w.ascii(" C ")
            w.decimal(k.close)
            w.ascii("  V ")
            w.decimal(k.volume)
            if k.is_closed != 0 { w.ascii("  closed") }
        case RF_BN_MINI_TICKER, RF_BN_TICKER, RF_BN_ROLLING_TICKER:
            let t = ev.u.ticker
            if t.window.len > 0 {
                w.raw(t.window.bytes)
                w.byte(32)
            }
            w.ascii("last ")
            w.decimal(t.last_price)
            w.ascii("  O ")
            w.decimal(t.open_price)
            w.ascii(" H ")
            w.decimal(t.high_price)
            w.ascii(" L ")
            w.decimal(t.low_price)
            w.ascii("  V ")
            w.decimal(t.volume)
        case RF_BN_AVG_PRICE:
            w.raw(ev.u.avg_price.interval.bytes)
            w.ascii(" avg ")
            w.decimal(ev.u.avg_price.price)
        case RF_BN_SERVER_SHUTDOWN:
            w.ascii("the server will close this connection soon")
        default:
            w.raw(ev.event_name.bytes)
        }
        w.byte(10)
    }

    private func clock(_ t: Int64, _ w: inout ByteWriter) {
        guard t != Int64.min else {
            w.ascii("            ")
            return
        }
        w.timeOfDay(millis: microsecondTimes ? t / 1000 : t)
    }

    private func pad(_ w: inout ByteWriter, from start: Int, to width: Int) {
        var n = w.count - start
        repeat {
            w.byte(32)
            n += 1
        } while n < width
    }
}
