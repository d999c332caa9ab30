import CRingFeed

/// A scanned event seen in place: it reads the C scanner's struct and the
/// received bytes without copying or allocating, and is valid only until the
/// synchronous handler it was passed to returns. `event` makes an owned copy.
public struct MarketEventView {
    /// The scanner's result; views inside point into the received message.
    public let raw: UnsafePointer<rf_bn_event>

    @usableFromInline
    init(_ raw: UnsafePointer<rf_bn_event>) { self.raw = raw }

    /// The kind, as the scanner classified it (`RF_BN_*`).
    public var kind: rf_bn_type { rf_bn_type(rawValue: UInt32(raw.pointee.type)) }

    /// The stream name bytes ("btcusdt@aggTrade"); empty on raw connections.
    public var streamBytes: UnsafeRawBufferPointer { raw.pointee.stream.bytes }
    /// The "s" field bytes ("BTCUSDT"); empty for spot partial depth.
    public var symbolBytes: UnsafeRawBufferPointer { raw.pointee.symbol.bytes }

    /// The symbol, upper case: "s", or for spot partial depth the part of
    /// the stream name before '@'.
    public var symbol: String {
        let s = raw.pointee.symbol
        if s.len > 0 { return String(decoding: s.bytes, as: UTF8.self) }
        let stream = streamBytes
        let end = stream.firstIndex(of: UInt8(ascii: "@")) ?? stream.count
        return String(decoding: stream[..<end].map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
    }

    /// "E", nil where the exchange sends none (spot bookTicker, partial depth).
    public var eventTime: Int64? { optional(raw.pointee.event_time) }

    /// The bid levels of a depth event, in place.
    public var bids: LevelsView {
        let d = raw.pointee.u.depth
        return LevelsView(base: d.bids, count: d.bid_count)
    }
    /// The ask levels of a depth event, in place.
    public var asks: LevelsView {
        let d = raw.pointee.u.depth
        return LevelsView(base: d.asks, count: d.ask_count)
    }

    /// An owned copy of the event.
    public var event: MarketEvent {
        let e = raw.pointee
        switch kind {
        case RF_BN_TRADE:
            let t = e.u.trade
            return .trade(Trade(
                symbol: symbol, eventTime: e.event_time, tradeId: t.id, price: Price(t.price),
                quantity: Quantity(t.quantity), tradeTime: t.trade_time, buyerIsMaker: t.buyer_is_maker != 0))
        case RF_BN_AGG_TRADE:
            let t = e.u.trade
            return .aggTrade(AggTrade(
                symbol: symbol, eventTime: e.event_time, aggTradeId: t.id, price: Price(t.price),
                quantity: Quantity(t.quantity), firstTradeId: t.first_trade_id, lastTradeId: t.last_trade_id,
                tradeTime: t.trade_time, buyerIsMaker: t.buyer_is_maker != 0))
        case RF_BN_DEPTH_UPDATE:
            let d = e.u.depth
            return .depthUpdate(DepthUpdate(
                symbol: symbol, eventTime: e.event_time, transactionTime: optional(d.transaction_time),
                firstUpdateId: d.first_update_id, finalUpdateId: d.final_update_id,
                prevFinalUpdateId: optional(d.prev_final_update_id), bids: Array(bids), asks: Array(asks)))
        case RF_BN_PARTIAL_DEPTH:
            let d = e.u.depth
            return .partialDepth(PartialDepth(
                symbol: symbol, eventTime: eventTime, lastUpdateId: d.final_update_id,
                bids: Array(bids), asks: Array(asks)))
        case RF_BN_BOOK_TICKER:
            let b = e.u.book_ticker
            return .bookTicker(BookTicker(
                symbol: symbol, eventTime: eventTime, transactionTime: optional(b.transaction_time),
                updateId: b.update_id, bidPrice: Price(b.bid_price), bidQuantity: Quantity(b.bid_quantity),
                askPrice: Price(b.ask_price), askQuantity: Quantity(b.ask_quantity)))
        case RF_BN_KLINE:
            let k = e.u.kline
            return .kline(Kline(
                symbol: symbol, eventTime: e.event_time, interval: String(decoding: k.interval.bytes, as: UTF8.self),
                openTime: k.open_time, closeTime: k.close_time, open: Price(k.open), high: Price(k.high),
                low: Price(k.low), close: Price(k.close), volume: Quantity(k.volume),
                quoteVolume: Quantity(k.quote_volume), trades: k.trades, isClosed: k.is_closed != 0,
                takerBuyVolume: Quantity(k.taker_buy_volume), takerBuyQuoteVolume: Quantity(k.taker_buy_quote_volume),
                firstTradeId: k.first_trade_id, lastTradeId: k.last_trade_id))
        case RF_BN_MINI_TICKER:
            let t = e.u.ticker
            return .miniTicker(MiniTicker(
                symbol: symbol, eventTime: e.event_time, closePrice: Price(t.last_price),
                openPrice: Price(t.open_price), highPrice: Price(t.high_price), lowPrice: Price(t.low_price),
                volume: Quantity(t.volume), quoteVolume: Quantity(t.quote_volume)))
        case RF_BN_TICKER, RF_BN_ROLLING_TICKER:
            let ticker = makeTicker(e)
            return kind == RF_BN_TICKER ? .ticker(ticker) : .rollingTicker(ticker)
        case RF_BN_AVG_PRICE:
            let a = e.u.avg_price
            return .avgPrice(AvgPrice(
                symbol: symbol, eventTime: e.event_time, interval: String(decoding: a.interval.bytes, as: UTF8.self),
                price: Price(a.price), lastTradeTime: a.last_trade_time))
        case RF_BN_SERVER_SHUTDOWN:
            return .serverShutdown(eventTime: eventTime)
        default:
            return .unknown(eventType: String(decoding: e.event_name.bytes, as: UTF8.self))
        }
    }

    private func makeTicker(_ e: rf_bn_event) -> Ticker {
        let t = e.u.ticker
        func p(_ bit: rf_bn_ticker_field, _ d: rf_decimal) -> Price? {
            t.present & bit.rawValue != 0 ? Price(d) : nil
        }
        func q(_ bit: rf_bn_ticker_field, _ d: rf_decimal) -> Quantity? {
            t.present & bit.rawValue != 0 ? Quantity(d) : nil
        }
        return Ticker(
            symbol: symbol, eventTime: e.event_time,
            window: t.window.len > 0 ? String(decoding: t.window.bytes, as: UTF8.self) : nil,
            priceChange: Price(t.price_change), priceChangePercent: Price(t.price_change_percent),
            weightedAveragePrice: Price(t.weighted_avg_price),
            firstTradePrice: p(RF_BN_TK_FIRST_TRADE_PRICE, t.first_trade_price),
            lastPrice: Price(t.last_price), lastQuantity: q(RF_BN_TK_LAST_QUANTITY, t.last_quantity),
            bestBidPrice: p(RF_BN_TK_BEST_BID_PRICE, t.best_bid_price),
            bestBidQuantity: q(RF_BN_TK_BEST_BID_QUANTITY, t.best_bid_quantity),
            bestAskPrice: p(RF_BN_TK_BEST_ASK_PRICE, t.best_ask_price),
            bestAskQuantity: q(RF_BN_TK_BEST_ASK_QUANTITY, t.best_ask_quantity),
            openPrice: Price(t.open_price), highPrice: Price(t.high_price), lowPrice: Price(t.low_price),
            volume: Quantity(t.volume), quoteVolume: Quantity(t.quote_volume),
            openTime: t.open_time, closeTime: t.close_time, firstTradeId: t.first_trade_id,
            lastTradeId: t.last_trade_id, tradeCount: t.trade_count)
    }
}

/// Depth levels in the scanner's buffer, read in place.
public struct LevelsView: RandomAccessCollection {
    let base: UnsafePointer<rf_bn_level>?
    public let count: Int
    init(base: UnsafePointer<rf_bn_level>?, count: Int) {
        self.base = base
        self.count = base == nil ? 0 : count
    }
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(i: Int) -> Level {
        precondition(i >= 0 && i < count, "level index out of range")
        let l = base![i]
        return Level(price: Price(l.price), quantity: Quantity(l.quantity))
    }
}

@inline(__always)
func optional(_ v: Int64) -> Int64? { v == Int64.min ? nil : v }

extension rf_str {
    /// The bytes the view covers (valid as long as the message is).
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: ptr, count: ptr == nil ? 0 : len) }
}

extension FixedPointDecimal {
    init(_ d: rf_decimal) { self.init(mantissa: d.mantissa, scale: d.scale) }
}
