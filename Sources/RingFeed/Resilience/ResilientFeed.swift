import CRingFeed
import Synchronization

/// Binance market streams (and order books) on a connection that comes back
/// by itself. When the connection drops, goes silent for `idleTimeout` (a
/// stalled server or a half-open socket raise no error by themselves), or
/// the server announces a shutdown, a new one is made after a backoff with
/// full jitter (`ReconnectPolicy`), each attempt taken from a connection
/// budget shared with the process's other feeds (`ConnectionBudget`). Every
/// new connection has every desired stream; every book resyncs on it and is
/// readable and stale in between, never silently wrong. Trade and aggTrade
/// ids are delivered once each: duplicates after a reconnect are dropped and
/// a hole is reported as a `TradeGap` before the trade that follows it.
///
///     let feed = try ResilientFeed.start(streams: ["btcusdt@aggTrade"], on: loop)
///     Task { for await e in feed.lifecycle { print(e) } }
///     for await e in feed.events {
///         switch e {
///         case let .market(m): print(m.stream, m.event)
///         case let .gap(g): print("missed", g)
///         }
///     }
///     await feed.stop()
///
/// `events` and `lifecycle` continue across reconnects and end on `stop()`
/// or when the policy gives up. With a synchronous `handler` (loop thread,
/// events seen in place) `events` yields nothing; gaps then go to `onGap`,
/// called on the loop thread right before the trade after the hole.
///
/// The feed keeps itself running (and alive) until `stop()` or until the
/// policy gives up; the loop must outlive it.
public final class ResilientFeed: @unchecked Sendable {
    // @unchecked: `desired`, `current`, `stopped`, `connects`, `connectedAt`,
    // `dropReason` and `supervisor` are guarded by `lock`; `sequencer` and
    // `depthOnlyForBooks` are touched on the loop thread only; the rest is
    // immutable after init, counters are atomics.

    public struct Options: Sendable {
        /// The connection (URL, TLS, timeouts, event buffer); `combined` is
        /// forced on (every payload names its stream).
        public var feed = MarketFeed.Options()
        /// Options of the order books, if any.
        public var book = BookOptions()
        public var reconnect = ReconnectPolicy()
        /// Where connection attempts are counted; shared by every feed given
        /// the same instance.
        public var budget: ConnectionBudget = .binance
        /// No message at all for this long: the connection is dropped and
        /// replaced (nil: never). Busy streams are never silent for long;
        /// raise it for quiet ones.
        public var idleTimeout: Duration? = .seconds(30)
        /// Lifecycle events kept for a slow `lifecycle` reader (the oldest go).
        public var lifecycleBufferSize = 1024
        public init() {}
    }

    /// Counters, safe to read from any thread.
    public struct Stats: Sendable, Equatable {
        /// Trade and aggTrade events dropped as already delivered.
        public var duplicates: Int
        /// Gaps reported, and the trade ids they cover.
        public var gaps: Int
        public var missedTrades: Int
        /// Events `events` dropped because its consumer was behind.
        public var dropped: Int
    }

    public let loop: EventLoop
    public let options: Options
    /// Market events and trade gaps, across connections.
    public let events: AsyncStream<FeedEvent>
    /// What the connection does, with times.
    public let lifecycle: AsyncStream<LifecycleEvent>
    /// Upper-case symbol -> book.
    public let books: [String: OrderBook]

    private let eventsOut: AsyncStream<FeedEvent>.Continuation
    private let lifecycleOut: AsyncStream<LifecycleEvent>.Continuation
    private let handler: ((MarketEventView) -> Void)?
    private let onGap: ((TradeGap) -> Void)?
    private let syncs: [BookSync]
    private let bookStreams: [String]

    private let lock = Mutex()
    private var desired: [String]
    private var current: MarketFeed?
    private var stopped = false
    private var connects = 0
    private var connectedAt = ContinuousClock.now
    /// Why the feed itself is ending the current connection (idle, notice).
    private var dropReason: DisconnectReason?
    private var supervisor: Task<Void, Never>?

    private let sequencer = TradeSequencer()
    private let bookKeys: [SymbolKey]
    /// Every desired depth-diff stream is a book's: a depth update needs no
    /// lookup to know it is kept (the common case).
    private var depthOnlyForBooks = true

    private let duplicateCount = Atomic<Int>(0)
    private let gapCount = Atomic<Int>(0)
    private let missedCount = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)

    private init(loop: EventLoop, options: Options, streams: [String], syncs: [BookSync],
                 handler: ((MarketEventView) -> Void)?, onGap: ((TradeGap) -> Void)?) {
        self.loop = loop
        self.options = options
        self.handler = handler
        self.onGap = onGap
        self.syncs = syncs
        bookStreams = syncs.map(\.streamName)
        books = Dictionary(uniqueKeysWithValues: syncs.map { ($0.symbol, $0.book) })
        bookKeys = syncs.compactMap { SymbolKey($0.symbol) }
        var unique: [String] = []
        for s in streams where !unique.contains(s) { unique.append(s) }
        desired = unique
        (events, eventsOut) = AsyncStream.makeStream(
            of: FeedEvent.self, bufferingPolicy: .bufferingNewest(max(1, options.feed.eventBufferSize)))
        (lifecycle, lifecycleOut) = AsyncStream.makeStream(
            of: LifecycleEvent.self, bufferingPolicy: .bufferingNewest(max(1, options.lifecycleBufferSize)))
        depthOnlyForBooks = Self.depthOnlyForBooks(unique, bookKeys)
    }

    /// Starts at once and returns: the first attempt and every later one
    /// follow `options.reconnect` (watch `lifecycle`). `handler`, if given,
    /// runs on the loop thread for every event; `onGap` too, for gaps.
    /// - Throws: `MarketFeedError.unknownStream`, `BookError` for a bad
    ///   symbol or book options (nothing is connected then).
    public static func start(
        streams: [String],
        orderBooks symbols: [String] = [],
        options: Options = Options(),
        on loop: EventLoop,
        handler: ((MarketEventView) -> Void)? = nil,
        onGap: ((TradeGap) -> Void)? = nil
    ) throws -> ResilientFeed {
        let feed = try make(streams: streams, symbols: symbols, options: options, loop: loop, handler: handler, onGap: onGap)
        feed.launch(ReconnectState(policy: options.reconnect), first: nil)
        return feed
    }

    /// `start`, but returns once the first connection is open, and throws
    /// (without retrying) when it cannot be made: for a program that should
    /// fail fast on a wrong URL. Later connections are retried.
    public static func connect(
        streams: [String],
        orderBooks symbols: [String] = [],
        options: Options = Options(),
        on loop: EventLoop,
        handler: ((MarketEventView) -> Void)? = nil,
        onGap: ((TradeGap) -> Void)? = nil
    ) async throws -> ResilientFeed {
        let feed = try make(streams: streams, symbols: symbols, options: options, loop: loop, handler: handler, onGap: onGap)
        var state = ReconnectState(policy: options.reconnect)
        var random = SystemRandomNumberGenerator()
        guard let (n, _) = state.next(using: &random) else {
            await feed.finish()
            throw CancellationError()
        }
        switch await feed.attempt(n) {
        case let .success(first):
            feed.launch(state, first: first)
            return feed
        case let .failure(error):
            await feed.finish()
            throw error
        }
    }

    private static func make(streams: [String], symbols: [String], options: Options, loop: EventLoop,
                             handler: ((MarketEventView) -> Void)?, onGap: ((TradeGap) -> Void)?) throws -> ResilientFeed {
        for s in streams where !MarketStreams.isValid(s) { throw MarketFeedError.unknownStream(s) }
        let venue = options.book.resolvedVenue(feedURL: options.feed.url)
        if !symbols.isEmpty { try options.book.validate(venue: venue) }
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
        return ResilientFeed(loop: loop, options: options, streams: streams, syncs: syncs, handler: handler, onGap: onGap)
    }

    private func launch(_ state: ReconnectState, first: MarketFeed?) {
        lock.withLock {
            supervisor = Task { await self.supervise(state, first: first) }
        }
    }

    // MARK: reading

    /// The book of `symbol`, if this feed keeps it.
    public func orderBook(symbol: String) -> OrderBook? { books[symbol.uppercased()] }

    /// Connections opened so far.
    public var connections: Int { lock.withLock { connects } }

    /// The current connection (nil between two).
    public var connection: MarketFeed? { lock.withLock { current } }

    /// The streams every connection gets (books' streams not included).
    public var streams: [String] { lock.withLock { desired } }

    public var stats: Stats {
        Stats(duplicates: duplicateCount.load(ordering: .relaxed), gaps: gapCount.load(ordering: .relaxed),
              missedTrades: missedCount.load(ordering: .relaxed), dropped: droppedCount.load(ordering: .relaxed))
    }

    // MARK: subscriptions

    /// Adds `streams` to the desired set, and to the live connection in one
    /// request. If the connection ends before answering, the next one has
    /// them; if the exchange refuses them, they are not kept and it throws.
    public func subscribe(_ streams: [String]) async throws {
        for s in streams where !MarketStreams.isValid(s) { throw MarketFeedError.unknownStream(s) }
        let (feed, added) = lock.withLock { () -> (MarketFeed?, [String]) in
            var added: [String] = []
            for s in streams where !desired.contains(s) && !added.contains(s) { added.append(s) }
            desired += added
            return (current, added)
        }
        await refreshDepthRule()
        guard let feed, !added.isEmpty else { return }
        do {
            try await feed.subscribe(added)
        } catch ControlError.connectionClosed {
            // The next connection is made with the desired set.
        } catch {
            if case ControlError.rejected = error {
                lock.withLock { desired.removeAll { added.contains($0) } }
                await refreshDepthRule()
            }
            throw error
        }
    }

    /// Removes `streams` from the desired set and the live connection. A
    /// trade stream's last id is forgotten: subscribing again later starts
    /// afresh rather than reporting the time between as a gap.
    public func unsubscribe(_ streams: [String]) async throws {
        let (feed, removed) = lock.withLock { () -> (MarketFeed?, [String]) in
            let removed = desired.filter { streams.contains($0) }
            desired.removeAll { streams.contains($0) }
            return (current, removed)
        }
        await onLoop {
            for s in removed { self.sequencer.forget(stream: s) }
        }
        await refreshDepthRule()
        let leave = removed.filter { !bookStreams.contains($0) }
        guard let feed, !leave.isEmpty else { return }
        do {
            try await feed.unsubscribe(leave)
        } catch ControlError.connectionClosed {}
    }

    private static func depthOnlyForBooks(_ streams: [String], _ keys: [SymbolKey]) -> Bool {
        streams.allSatisfy { s in
            guard s.contains("@depth@") || s.hasSuffix("@depth"), let at = s.firstIndex(of: "@") else { return true }
            return SymbolKey(String(s[..<at])).map(keys.contains) ?? true
        }
    }

    private func refreshDepthRule() async {
        let rule = Self.depthOnlyForBooks(streams, bookKeys)
        await onLoop { self.depthOnlyForBooks = rule }
    }

    // MARK: lifecycle

    /// Closes the connection (1000), ends `events` and `lifecycle`, and stops
    /// every book (they stay readable, stale).
    public func stop() async {
        let (feed, task) = lock.withLock { () -> (MarketFeed?, Task<Void, Never>?) in
            stopped = true
            return (current, supervisor)
        }
        task?.cancel()
        if let feed { await feed.close() }
        await task?.value
    }

    private func emit(_ e: ConnectionEvent) {
        lifecycleOut.yield(LifecycleEvent(time: .now, event: e))
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// One connection attempt: the budget's grant, the connection with every
    /// desired stream and book, and the lifecycle events that tell it.
    private func attempt(_ n: Int) async -> Result<MarketFeed, any Error> {
        do {
            try await options.budget.acquire()
        } catch {
            return .failure(error)
        }
        if isStopped { return .failure(CancellationError()) }
        emit(.connecting(attempt: n))
        let streams = lock.withLock { () -> [String] in
            dropReason = nil
            return desired + bookStreams.filter { !desired.contains($0) }
        }
        var o = options.feed
        o.combined = true
        let syncs = self.syncs
        do {
            // Books are registered before the connection opens, so they see
            // its first message. The handler holds the feed strongly: the
            // connection holds the handler only until it ends.
            let handler: (MarketEventView) -> Void = { view in self.receive(view) }
            var register: (@Sendable (MarketFeed) -> Void)?
            if !syncs.isEmpty {
                register = { f in for s in syncs { f.books.add(s) } }
            }
            let feed = try await MarketFeed.connect(streams: streams, options: o, on: loop, handler: handler, tap: nil,
                                                    beforeOpening: register)
            let kept = lock.withLock { () -> Bool in
                guard !stopped else { return false }
                current = feed
                connects += 1
                connectedAt = .now
                return true
            }
            guard kept else {
                await feed.close()
                emit(.disconnected(reason: .closedByUs))
                return .failure(CancellationError())
            }
            await reconcile(feed, opened: streams)
            emit(.connected(attempt: n))
            return .success(feed)
        } catch {
            emit(.disconnected(reason: DisconnectReason(connectError: error)))
            return .failure(error)
        }
    }

    /// Streams (un)subscribed while the connection was being made: the new
    /// connection gets the desired set as it is now.
    private func reconcile(_ feed: MarketFeed, opened: [String]) async {
        let (missing, extra) = lock.withLock { () -> ([String], [String]) in
            let all = desired + bookStreams
            return (desired.filter { !opened.contains($0) }, opened.filter { !all.contains($0) })
        }
        if !missing.isEmpty { try? await feed.subscribe(missing) }
        if !extra.isEmpty { try? await feed.unsubscribe(extra) }
    }

    private func supervise(_ start: ReconnectState, first: MarketFeed?) async {
        var state = start
        var random = SystemRandomNumberGenerator()
        var feed = first
        var lastReason: DisconnectReason?
        supervising: while true {
            if let f = feed {
                let info = await watch(f)
                let (reason, uptime) = lock.withLock { () -> (DisconnectReason, Duration) in
                    current = nil
                    let r: DisconnectReason = stopped ? .closedByUs : dropReason ?? DisconnectReason(closeInfo: info)
                    return (r, ContinuousClock.now - connectedAt)
                }
                await f.close() // the books learn of the end before the next connection takes them
                emit(.disconnected(reason: reason))
                state.ended(after: uptime)
                lastReason = reason
                feed = nil
            }
            if isStopped { break }
            guard let (n, delay) = state.next(using: &random) else {
                emit(.gaveUp(reason: lastReason ?? .closedByUs))
                break
            }
            if lastReason != nil {
                emit(.reconnecting(attempt: n, delay: delay))
                try? await Task.sleep(for: delay)
                if isStopped { break }
            }
            switch await attempt(n) {
            case let .success(f):
                feed = f
            case let .failure(error):
                if isStopped || error is CancellationError { break supervising }
                state.ended(after: .zero)
                lastReason = DisconnectReason(connectError: error)
            }
        }
        await finish()
    }

    /// Ends the sequences and stops the books.
    private func finish() async {
        let syncs = self.syncs
        await onLoop { for s in syncs { s.stop() } }
        eventsOut.finish()
        lifecycleOut.finish()
    }

    /// Returns how the connection ended, aborting it if it goes silent for
    /// `idleTimeout`, closing it on a shutdown notice.
    private func watch(_ feed: MarketFeed) async -> WebSocketCloseInfo {
        let idle = options.idleTimeout
        let tick = min((idle ?? .seconds(1)) / 4, .milliseconds(100))
        return await withTaskGroup(of: WebSocketCloseInfo?.self) { group in
            group.addTask { await feed.closed() }
            group.addTask {
                var last = feed.stats.messages
                var quietSince = ContinuousClock.now
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    if case .serverShutdown = self.lock.withLock({ self.dropReason }) {
                        await feed.close()
                        return nil
                    }
                    let n = feed.stats.messages
                    if n != last {
                        last = n
                        quietSince = .now
                    } else if let idle, ContinuousClock.now - quietSince >= idle {
                        self.lock.withLock { self.dropReason = .idleTimeout(idle) }
                        feed.webSocket?.abort()
                        return nil
                    }
                }
                return nil
            }
            var info: WebSocketCloseInfo?
            while let r = await group.next() {
                if let r {
                    info = r
                    break
                }
                // The watcher returned (idle, notice, or cancelled by
                // stop()): the close comes from the other child.
            }
            group.cancelAll()
            return info ?? WebSocketCloseInfo(code: 1006, error: .closed)
        }
    }

    // MARK: receive path (loop thread)

    private func receive(_ view: MarketEventView) {
        let type = view.raw.pointee.type
        if type == Int32(RF_BN_TRADE.rawValue) || type == Int32(RF_BN_AGG_TRADE.rawValue) {
            switch sequencer.check(kind: type, symbol: view.symbolBytes, id: view.raw.pointee.u.trade.id) {
            case .next:
                break
            case .duplicate:
                duplicateCount.add(1, ordering: .relaxed)
                return
            case let .gap(first, last):
                gapCount.add(1, ordering: .relaxed)
                missedCount.add(Int(last - first + 1), ordering: .relaxed)
                let gap = TradeGap(stream: String(decoding: view.streamBytes, as: UTF8.self),
                                   firstMissing: first, lastMissing: last)
                if let onGap { onGap(gap) }
                if handler == nil, case .dropped = eventsOut.yield(.gap(gap)) { droppedCount.add(1, ordering: .relaxed) }
            }
        } else if type == Int32(RF_BN_SERVER_SHUTDOWN.rawValue) {
            // Acted on by the watcher (a clean close, then a new connection);
            // the event still goes out.
            lock.withLock { dropReason = .serverShutdown }
        } else if type == Int32(RF_BN_DEPTH_UPDATE.rawValue), handler == nil, !bookKeys.isEmpty {
            // A kept book's diff is the book's, as on a MarketFeed.
            if depthOnlyForBooks { return }
            if let key = SymbolKey(view.symbolBytes), bookKeys.contains(key) { return }
        }
        if let handler { return handler(view) }
        let e = StreamEvent(stream: String(decoding: view.streamBytes, as: UTF8.self), event: view.event)
        if case .dropped = eventsOut.yield(.market(e)) { droppedCount.add(1, ordering: .relaxed) }
    }

    private func onLoop<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { cont in loop.execute { cont.resume(returning: body()) } }
    }
}
