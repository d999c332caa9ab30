/// Order books of many symbols kept on one connection that comes back by
/// itself: when the connection drops, or goes silent for `idleTimeout` (a
/// stalled peer), it is replaced after a backoff with jitter, and every
/// book resyncs on the new one. In between the books stay readable and
/// stale. A `ResilientFeed` with books and no other stream does the work.
///
///     let feed = try await BookFeed.start(symbols: ["BTCUSDT", "ETHUSDT"], on: loop)
///     let btc = feed.orderBook(symbol: "BTCUSDT")!
///     ...
///     await feed.stop()
public final class BookFeed: Sendable {
    public struct Options: Sendable {
        /// The connection (URL, TLS, ...); `combined` is forced on.
        public var feed = MarketFeed.Options()
        public var book = BookOptions()
        /// No message at all for this long: the connection is dropped and
        /// replaced (depth@100ms streams of busy symbols are never silent
        /// for long; raise it for quiet ones).
        public var idleTimeout: Duration? = .seconds(30)
        /// Replace a working connection without a gap (and without a
        /// resync) once it is this old (nil: never); Binance ends
        /// connections at 24 hours.
        public var rotateAfter: Duration? = .seconds(23 * 3600 + 30 * 60)
        /// Backoff between attempts (base 250 ms, cap 30 s, never gives up).
        public var reconnect = ReconnectPolicy(base: .milliseconds(250), cap: .seconds(30))
        /// Where connection attempts are counted (shared by the process's feeds).
        public var budget: ConnectionBudget = .binance
        /// The ceiling of the first pause before reconnecting (`reconnect.base`);
        /// each failure doubles it up to `maxReconnectDelay`, and the pause is
        /// drawn at random below the ceiling.
        public var reconnectDelay: Duration {
            get { reconnect.base }
            set { reconnect.base = newValue }
        }
        /// The largest ceiling (`reconnect.cap`).
        public var maxReconnectDelay: Duration {
            get { reconnect.cap }
            set { reconnect.cap = newValue }
        }
        public init() {}
    }

    public let loop: EventLoop
    public let options: Options
    /// Upper-case symbol -> book.
    public var books: [String: OrderBook] { feed.books }
    /// The reconnecting connection underneath (lifecycle events, counters).
    public let feed: ResilientFeed

    private init(loop: EventLoop, options: Options, feed: ResilientFeed) {
        self.loop = loop
        self.options = options
        self.feed = feed
    }

    /// Connects and starts keeping a book of each symbol. Fails if the first
    /// connection fails; later ones are retried.
    public static func start(symbols: [String], options: Options = Options(), on loop: EventLoop) async throws -> BookFeed {
        var o = ResilientFeed.Options()
        o.feed = options.feed
        o.book = options.book
        o.idleTimeout = options.idleTimeout
        o.rotateAfter = options.rotateAfter
        o.reconnect = options.reconnect
        o.budget = options.budget
        if symbols.isEmpty { try options.book.validate(venue: options.book.resolvedVenue(feedURL: options.feed.url)) }
        let feed = try await ResilientFeed.connect(streams: [], orderBooks: symbols, options: o, on: loop)
        return BookFeed(loop: loop, options: options, feed: feed)
    }

    /// The book of `symbol`, if this feed keeps it.
    public func orderBook(symbol: String) -> OrderBook? { feed.orderBook(symbol: symbol) }

    /// Connections made so far (1 until the first reconnect).
    public var connections: Int { feed.connections }

    /// The current connection (nil between two).
    public var connection: MarketFeed? { feed.connection }

    /// What the connection does, with times (see `ResilientFeed.lifecycle`).
    public var lifecycle: AsyncStream<LifecycleEvent> { feed.lifecycle }

    /// Closes the connection and stops every book (they stay readable, stale).
    /// Returns how the connection open at the time ended (nil if none).
    @discardableResult
    public func stop() async -> WebSocketCloseInfo? { await feed.stop() }
}
