import CRingFeed

/// An exact limit order book over the C core's `rf_book`, readable from any
/// thread.
///
/// Two kinds: a book a feed keeps in sync (`MarketFeed.orderBook(symbol:)`,
/// `BookFeed`), and a book of your own that you fill with `load` and
/// `apply` (tests, replays, analytics on other data).
///
///     let book = try await feed.orderBook(symbol: "BTCUSDT")
///     for await e in book.events { if case .synced = e { break } }
///     print(book.state, book.bestBid, book.bestAsk, book.spread)
///     let (bid, ask) = book.read { ($0.bestBid, $0.bestAsk) } // one instant
///
/// Threads: a kept book is changed on the feed's I/O thread, one diff event
/// at a time, with a lock held for that event; every query takes the same
/// lock, so it sees the book between events, never inside one. `read` holds
/// it for a whole closure, for several answers from one instant. The lock is
/// held for the apply of one event (tens of ns) or one query: readers never
/// wait long, and the I/O thread waits only for a reader inside `read`, so
/// keep those closures short. Applying an event allocates nothing.
///
/// A kept book is really two `rf_book`s: the visible one, and one that
/// loads the next snapshot when a resync is needed, so the old contents stay
/// readable (and `stale`) until the new ones are live; then they swap.
public final class OrderBook: @unchecked Sendable {
    // @unchecked: `front`, `counters` and `callback` are read and written
    // only with `lock` held; the rest is immutable after init.

    /// Upper case ("BTCUSDT").
    public let symbol: String
    /// Owned events of a kept book, in order (a book of your own has none).
    /// Holds the newest 1000 for a slow consumer.
    public let events: AsyncStream<BookEvent>

    let lock = Mutex()
    /// The visible book. Replaced (under `lock`) only by `swapFront`.
    private(set) var front: OpaquePointer
    var counters = BookStats()
    let kept: Bool
    private let continuation: AsyncStream<BookEvent>.Continuation
    private var callback: (@Sendable (BookEvent) -> Void)?

    /// A book of your own, empty.
    /// - Parameters:
    ///   - priceScale, quantityScale: decimals of the grid ("0.35130000": 8).
    ///   - maxLevels: levels one side keeps (the best ones).
    public convenience init(symbol: String = "", priceScale: UInt8, quantityScale: UInt8,
                            maxLevels: Int = Int(RF_BOOK_DEFAULT_MAX_LEVELS)) throws(BookError) {
        let b = try OrderBook.makeBook(priceScale: priceScale, quantityScale: quantityScale, maxLevels: maxLevels)
        self.init(symbol: symbol.uppercased(), front: b, kept: false)
    }

    init(symbol: String, front: OpaquePointer, kept: Bool) {
        self.symbol = symbol
        self.front = front
        self.kept = kept
        (events, continuation) = AsyncStream.makeStream(of: BookEvent.self, bufferingPolicy: .bufferingNewest(1000))
        if !kept { continuation.finish() }
    }

    deinit {
        rf_book_destroy(front)
        continuation.finish()
    }

    static func makeBook(priceScale: UInt8, quantityScale: UInt8, maxLevels: Int) throws(BookError) -> OpaquePointer {
        guard maxLevels >= 1 && maxLevels <= Int(RF_BOOK_MAX_MAX_LEVELS) else { throw .invalidMaxLevels(maxLevels) }
        var cfg = rf_book_config(price_scale: priceScale, qty_scale: quantityScale, max_levels: UInt32(maxLevels))
        var b: OpaquePointer?
        let rc = rf_book_create(&b, &cfg)
        guard rc == 0, let b else { throw .rejected(RingFeedError(code: rc)) }
        return b
    }

    // MARK: reading

    /// Runs `body` with the book held still: every answer inside describes
    /// the same instant. Keep it short: a kept book's updates wait for it.
    public func read<T>(_ body: (BookView) throws -> T) rethrows -> T {
        try lock.withLock { try body(BookView(front, kept: kept)) }
    }

    public var state: BookState { read { $0.state } }
    public var lastUpdateId: Int64 { read { $0.lastUpdateId } }
    /// The counters (for a kept book), with the current update id.
    public var stats: BookStats {
        lock.withLock {
            var s = counters
            s.lastUpdateId = rf_book_last_update_id(front)
            return s
        }
    }
    /// Syncs after the first one.
    public var resyncCount: Int { lock.withLock { counters.resyncs } }

    public var bestBid: Level? { read { $0.bestBid } }
    public var bestAsk: Level? { read { $0.bestAsk } }
    public func best(_ side: BookSide) -> Level? { read { $0.best(side) } }
    public func depth(_ side: BookSide) -> Int { read { $0.depth(side) } }
    public func level(_ side: BookSide, at index: Int) -> Level? { read { $0.level(side, at: index) } }
    public func levels(_ side: BookSide, count: Int = .max) -> [Level] { read { $0.levels(side, count: count) } }
    public var spread: Price? { read { $0.spread } }
    public var mid: Price? { read { $0.mid } }
    public var microprice: Double? { read { $0.microprice } }
    public func volume(_ side: BookSide, levels: Int) -> Quantity { read { $0.volume(side, levels: levels) } }
    public func volume(_ side: BookSide, within distance: Price) -> Quantity? {
        read { $0.volume(side, within: distance) }
    }
    public func imbalance(levels: Int) -> Double? { read { $0.imbalance(levels: levels) } }
    public func marketOrder(_ taker: TakerSide, quantity: Quantity) -> MarketOrderFill? {
        read { $0.marketOrder(taker, quantity: quantity) }
    }
    public func checksum(levels: Int) -> UInt32 { read { $0.checksum(levels: levels) } }
    public func snapshot(levels: Int = .max) -> BookSnapshot { read { $0.snapshot(levels: levels) } }

    /// Compares the book, as it is now, with a snapshot of `limit` levels
    /// per side taken at the same update id (see `BookOptions.Verification`):
    /// local levels beyond a full snapshot side are unknown, not different.
    public func compare(with snapshot: DepthSnapshot, limit: Int) -> BookVerification {
        let raw = RawSnapshot(snapshot)
        return read { BookVerifier.compare($0.book, raw, limit: limit) }
    }

    // MARK: events

    /// Calls `body` on the feed's I/O thread for every later event (besides
    /// `events`). Keep it short; reading this book inside it is fine.
    public func onEvent(_ body: @escaping @Sendable (BookEvent) -> Void) {
        lock.withLock { callback = body }
    }

    /// Delivers an event; never called with `lock` held.
    func emit(_ e: BookEvent) {
        continuation.yield(e)
        if let cb = lock.withLock({ callback }) { cb(e) }
    }

    /// Ends `events` (the feed let the book go).
    func finishEvents() { continuation.finish() }

    /// Makes `book` the visible one and returns the old one (under the lock).
    func swapFront(_ book: OpaquePointer, _ update: (inout BookStats) -> Void) -> OpaquePointer {
        lock.withLock {
            let old = front
            front = book
            update(&counters)
            return old
        }
    }

    // MARK: editing a book of your own

    /// Replaces the contents with a snapshot (state syncing, as a book that
    /// waits for the stream; `apply(bids:asks:)` keeps that state).
    public func load(_ snapshot: DepthSnapshot) throws(BookError) {
        guard !kept else { throw .keptByFeed }
        let bids = snapshot.bids.map(\.raw), asks = snapshot.asks.map(\.raw)
        let rc = lock.withLock {
            rf_book_load_snapshot(front, snapshot.lastUpdateId, bids, bids.count, asks, asks.count)
        }
        if rc < 0 { throw .rejected(RingFeedError(code: rc)) }
    }

    /// Sets levels as one update (quantity 0 removes a level), then checks
    /// for a crossed book once.
    public func apply(bids: [Level] = [], asks: [Level] = []) throws(BookError) {
        guard !kept else { throw .keptByFeed }
        let b = bids.map(\.raw), a = asks.map(\.raw)
        let rc = lock.withLock { rf_book_apply(front, b, b.count, a, a.count) }
        if rc < 0 { throw .rejected(RingFeedError(code: rc)) }
    }

    /// Removes every level.
    public func clear() throws(BookError) {
        guard !kept else { throw .keptByFeed }
        lock.withLock { rf_book_clear(front) }
    }
}

extension Level {
    var raw: rf_bn_level { rf_bn_level(price: price.raw, quantity: quantity.raw) }
}
