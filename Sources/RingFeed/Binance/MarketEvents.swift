/// Typed Binance market events, owned values: what the `AsyncSequence` of a
/// `MarketFeed` yields. The synchronous handler gets a `MarketEventView`
/// instead, which reads the same fields in place without allocating.
///
/// Prices and quantities are exact (`Price`, `Quantity`); times are integers
/// in the connection's unit (milliseconds, or microseconds with
/// `timeUnit=MICROSECOND`); ids are Binance's.

/// One price level: `quantity` 0 removes the level in a diff.
public struct Level: Sendable, Hashable, CustomStringConvertible {
    public var price: Price
    public var quantity: Quantity
    public init(price: Price, quantity: Quantity) {
        self.price = price
        self.quantity = quantity
    }
    public var description: String { "\(quantity)@\(price)" }
}

/// `<symbol>@trade`
public struct Trade: Sendable, Hashable {
    public var symbol: String
    public var eventTime: Int64
    public var tradeId: Int64
    public var price: Price
    public var quantity: Quantity
    public var tradeTime: Int64
    public var buyerIsMaker: Bool
}

/// `<symbol>@aggTrade`
public struct AggTrade: Sendable, Hashable {
    public var symbol: String
    public var eventTime: Int64
    public var aggTradeId: Int64
    public var price: Price
    public var quantity: Quantity
    public var firstTradeId: Int64
    public var lastTradeId: Int64
    public var tradeTime: Int64
    public var buyerIsMaker: Bool
}

/// `<symbol>@depth[@100ms]`: the levels that changed, with their new
/// quantities. Futures add `transactionTime` and `prevFinalUpdateId`.
public struct DepthUpdate: Sendable, Hashable {
    public var symbol: String
    public var eventTime: Int64
    public var transactionTime: Int64?
    public var firstUpdateId: Int64
    public var finalUpdateId: Int64
    public var prevFinalUpdateId: Int64?
    public var bids: [Level]
    public var asks: [Level]
}

/// `<symbol>@depth<5|10|20>[@100ms]`: the top of the book. Spot sends no
/// symbol or time; the symbol is recovered from the stream name.
public struct PartialDepth: Sendable, Hashable {
    public var symbol: String
    public var eventTime: Int64?
    public var lastUpdateId: Int64
    public var bids: [Level]
    public var asks: [Level]
}

/// `<symbol>@bookTicker`: best bid and ask. Spot sends no event time.
public struct BookTicker: Sendable, Hashable {
    public var symbol: String
    public var eventTime: Int64?
    public var transactionTime: Int64?
    public var updateId: Int64
    public var bidPrice: Price
    public var bidQuantity: Quantity
    public var askPrice: Price
    public var askQuantity: Quantity
}

/// `<symbol>@kline_<interval>`: the current candle (final when `isClosed`).
public struct Kline: Sendable, Hashable {
    public var symbol: String
    public var eventTime: Int64
    public var interval: String
    public var openTime: Int64
    public var closeTime: Int64
    public var open: Price
    public var high: Price
    public var low: Price
    public var close: Price
    public var volume: Quantity
    public var quoteVolume: Quantity
    public var trades: Int64
    public var isClosed: Bool
    public var takerBuyVolume: Quantity
    public var takerBuyQuoteVolume: Quantity
    public var firstTradeId: Int64
    public var lastTradeId: Int64
}

/// `<symbol>@miniTicker`: 24-hour rolling statistics, short form.
public struct MiniTicker: Sendable, Hashable {
    public var symbol: String
    public var eventTime: Int64
    public var closePrice: Price
    public var openPrice: Price
    public var highPrice: Price
    public var lowPrice: Price
    public var volume: Quantity
    public var quoteVolume: Quantity
}

/// `<symbol>@ticker` (24 hours) and `<symbol>@ticker_<1h|4h|1d>` (rolling
/// window, `window` set). Fields the venue or the kind does not send are nil
/// (futures send no best bid/ask; rolling tickers no last quantity).
public struct Ticker: Sendable, Hashable {
    public var symbol: String
    public var eventTime: Int64
    /// "1h", "4h" or "1d" for a rolling-window ticker; nil for the 24-hour one.
    public var window: String?
    public var priceChange: Price
    public var priceChangePercent: Price
    public var weightedAveragePrice: Price
    public var firstTradePrice: Price?
    public var lastPrice: Price
    public var lastQuantity: Quantity?
    public var bestBidPrice: Price?
    public var bestBidQuantity: Quantity?
    public var bestAskPrice: Price?
    public var bestAskQuantity: Quantity?
    public var openPrice: Price
    public var highPrice: Price
    public var lowPrice: Price
    public var volume: Quantity
    public var quoteVolume: Quantity
    public var openTime: Int64
    public var closeTime: Int64
    public var firstTradeId: Int64
    public var lastTradeId: Int64
    public var tradeCount: Int64
}

/// `<symbol>@avgPrice` (spot): the average price over `interval`.
public struct AvgPrice: Sendable, Hashable {
    public var symbol: String
    public var eventTime: Int64
    public var interval: String
    public var price: Price
    public var lastTradeTime: Int64
}

/// One event of a stream.
public enum MarketEvent: Sendable, Hashable {
    case trade(Trade)
    case aggTrade(AggTrade)
    case depthUpdate(DepthUpdate)
    case partialDepth(PartialDepth)
    case bookTicker(BookTicker)
    case kline(Kline)
    case miniTicker(MiniTicker)
    case ticker(Ticker)
    case rollingTicker(Ticker)
    case avgPrice(AvgPrice)
    /// The server will close soon: open a new connection.
    case serverShutdown(eventTime: Int64?)
    /// An event this version does not know: its "e" value, tolerated.
    case unknown(eventType: String)

    /// The `type` name used by `ringfeed stream`'s output.
    public var typeName: String {
        switch self {
        case .trade: "trade"
        case .aggTrade: "aggTrade"
        case .depthUpdate: "depthUpdate"
        case .partialDepth: "partialDepth"
        case .bookTicker: "bookTicker"
        case .kline: "kline"
        case .miniTicker: "miniTicker"
        case .ticker: "ticker"
        case .rollingTicker: "rollingTicker"
        case .avgPrice: "avgPrice"
        case .serverShutdown: "serverShutdown"
        case .unknown: "unknown"
        }
    }
}

/// An event with the stream it arrived on.
public struct StreamEvent: Sendable, Hashable {
    /// The stream name, e.g. "btcusdt@aggTrade".
    public var stream: String
    public var event: MarketEvent
    public init(stream: String, event: MarketEvent) {
        self.stream = stream
        self.event = event
    }
}
