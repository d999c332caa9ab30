/// Where the simulator's data comes from: a seeded synthetic market
/// (`SyntheticMarket`) or a recorded session (`RecordedMarket`). The server
/// (`ExchangeSimulator`) owns the connections, the control protocol, the
/// limits and the faults; a source owns the prices, the books and the JSON.
///
/// A source is used on the simulator's loop thread only.
public protocol MarketSource: AnyObject {
    /// The symbols served, upper case ("BTCUSDT").
    var symbols: [String] { get }

    /// Spot or USD-M futures message shapes.
    var venue: Venue { get }

    /// Advances the market to `now` (µs since the Unix epoch on the
    /// simulator's clock) and emits every message due up to then on the
    /// streams `wants` accepts (lowercase stream names, as clients subscribe:
    /// "btcusdt@depth@100ms", "!miniTicker@arr"). Streams nobody wants cost
    /// nothing to render; the market state advances regardless.
    func advance(to nowMicros: Int64, wants: (String) -> Bool, emit: (MarketMessage) -> Void)

    /// Whether `name` is a stream this source can serve (used to validate
    /// SUBSCRIBE parameters and raw/combined URLs).
    func serves(stream name: String) -> Bool

    /// The body of REST `GET /api/v3/depth?symbol=&limit=` (futures:
    /// `/fapi/v1/depth`) for the symbol's current book, consistent with the
    /// diff-depth events already emitted; nil for an unknown symbol.
    func depthSnapshot(symbol: String, limit: Int) -> [UInt8]?

    /// The body of REST `GET /api/v3/exchangeInfo` (nil: every symbol).
    func exchangeInfo(symbols: [String]?) -> [UInt8]

    /// Fault injection: the next diff-depth event of `symbol` skips `count`
    /// update ids (a gap the client must detect).
    func skipUpdateIds(symbol: String, count: Int)

    /// Fault injection: the next diff-depth event of `symbol` carries one
    /// level whose quantity differs from the source's book (ids unchanged);
    /// REST snapshots stay right. Returns whether the source does this.
    func corruptNextDiff(symbol: String) -> Bool
}

extension MarketSource {
    /// Recorded and replayed sources send what was recorded: no corruption.
    public func corruptNextDiff(symbol: String) -> Bool { false }
}

public enum Venue: String, Sendable {
    case spot
    case usdmFutures
}

/// How times are written: Binance's default, or `timeUnit=MICROSECOND`.
public enum TimeUnit: Sendable {
    case millisecond
    case microsecond
}

/// One message of one stream, rendered on demand for a connection's time
/// unit and then wrapped by the server (raw or combined).
public struct MarketMessage {
    /// Lowercase stream name, e.g. "btcusdt@aggTrade".
    public let stream: String
    /// The raw event JSON (not wrapped in {"stream","data"}).
    public let render: (TimeUnit) -> [UInt8]

    public init(stream: String, render: @escaping (TimeUnit) -> [UInt8]) {
        self.stream = stream
        self.render = render
    }
}
