/// Order books of many symbols kept on one connection that comes back by
/// itself: when the connection drops, or goes silent for `idleTimeout` (a
/// stalled peer), it is replaced after a pause with exponential backoff,
/// and every book resyncs on the new one. In between the books stay
/// readable and stale.
///
///     let feed = try await BookFeed.start(symbols: ["BTCUSDT", "ETHUSDT"], on: loop)
///     let btc = feed.orderBook(symbol: "BTCUSDT")!
///     ...
///     await feed.stop()
public final class BookFeed: @unchecked Sendable {
    // @unchecked: `current`, `stopped` and `connects` are guarded by `lock`;
    // the books and syncs are immutable after start (their own state lives
    // on the loop thread).

    public struct Options: Sendable {
        /// The connection (URL, TLS, ...); `combined` is forced on.
        public var feed = MarketFeed.Options()
        public var book = BookOptions()
        /// No message at all for this long: the connection is dropped and
        /// replaced (depth@100ms streams of busy symbols are never silent
        /// for long; raise it for quiet ones).
        public var idleTimeout: Duration = .seconds(30)
        /// Pause before reconnecting, doubling up to `maxReconnectDelay`
        /// while connections keep failing.
        public var reconnectDelay: Duration = .milliseconds(250)
        public var maxReconnectDelay: Duration = .seconds(30)
        public init() {}
    }

    public let loop: EventLoop
    public let options: Options
    /// Upper-case symbol -> book.
    public let books: [String: OrderBook]
    private let syncs: [BookSync]
    private let streams: [String]
    private let lock = Mutex()
    private var current: MarketFeed?
    private var stopped = false
    private var connects = 0
    private var supervisor: Task<Void, Never>?

    private init(loop: EventLoop, options: Options, syncs: [BookSync]) {
        self.loop = loop
        self.options = options
        self.syncs = syncs
        streams = syncs.map(\.streamName)
        books = Dictionary(uniqueKeysWithValues: syncs.map { ($0.symbol, $0.book) })
    }

    /// Connects and starts keeping a book of each symbol. Fails if the first
    /// connection fails; later ones are retried.
    public static func start(symbols: [String], options: Options = Options(), on loop: EventLoop) async throws -> BookFeed {
        let venue = options.book.resolvedVenue(feedURL: options.feed.url)
        try options.book.validate(venue: venue)
        var syncs: [BookSync] = []
        var seen = Set<String>()
        for s in symbols {
            let name = s.uppercased()
            guard !name.isEmpty, name.utf8.count <= 32,
                  name.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) }) else {
                throw BookError.invalidSymbol(s)
            }
            guard seen.insert(name).inserted else { continue }
            syncs.append(try BookSync(symbol: name, streamName: name.lowercased() + options.book.streamSuffix,
                                      loop: loop, options: options.book, futures: venue == .usdmFutures))
        }
        let feed = BookFeed(loop: loop, options: options, syncs: syncs)
        let first = try await feed.connect()
        feed.supervisor = Task { await feed.supervise(first) }
        return feed
    }

    /// The book of `symbol`, if this feed keeps it.
    public func orderBook(symbol: String) -> OrderBook? { books[symbol.uppercased()] }

    /// Connections made so far (1 until the first reconnect).
    public var connections: Int { lock.withLock { connects } }

    /// The current connection (nil between two).
    public var connection: MarketFeed? { lock.withLock { current } }

    /// Closes the connection and stops every book (they stay readable, stale).
    public func stop() async {
        let feed = lock.withLock { () -> MarketFeed? in
            stopped = true
            return current
        }
        supervisor?.cancel()
        if let feed { await feed.close() }
        await supervisor?.value
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            loop.execute {
                for s in self.syncs { s.stop() }
                c.resume()
            }
        }
    }

    private func connect() async throws -> MarketFeed {
        var o = options.feed
        o.combined = true
        let feed = try await MarketFeed.connect(streams: streams, options: o, on: loop)
        let syncs = self.syncs
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            loop.execute {
                for s in syncs { feed.books.add(s) }
                c.resume()
            }
        }
        lock.withLock {
            current = feed
            connects += 1
        }
        return feed
    }

    private func supervise(_ first: MarketFeed) async {
        var feed: MarketFeed? = first
        var failures = 0
        while !Task.isCancelled {
            if let f = feed {
                await watch(f)
                lock.withLock { current = nil }
                await f.close() // the books learn of the end before the next connection takes them
                feed = nil
            }
            if lock.withLock({ stopped }) || Task.isCancelled { return }
            let delay = min(options.maxReconnectDelay, options.reconnectDelay * (1 << min(failures, 16)))
            try? await Task.sleep(for: delay)
            if lock.withLock({ stopped }) || Task.isCancelled { return }
            do {
                feed = try await connect()
                failures = 0
            } catch {
                failures += 1
            }
        }
    }

    /// Returns when the connection ends, aborting it if it goes silent.
    private func watch(_ feed: MarketFeed) async {
        let idle = options.idleTimeout
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await feed.closed() }
            group.addTask {
                var last = feed.stats.messages
                var quietSince = ContinuousClock.now
                while !Task.isCancelled {
                    try? await Task.sleep(for: min(idle / 4, .seconds(1)))
                    let n = feed.stats.messages
                    if n != last {
                        last = n
                        quietSince = .now
                    } else if ContinuousClock.now - quietSince >= idle {
                        feed.webSocket?.abort()
                        return
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
