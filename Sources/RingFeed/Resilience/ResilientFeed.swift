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
/// A connection that still works is replaced without a gap before
/// Binance's 24-hour limit (`rotateAfter`) and at once on a serverShutdown
/// notice: the replacement is opened and subscribed while the old one goes
/// on feeding consumers and books, its events are held back (bounded) until
/// it has delivered every trade stream and book it takes over, contiguous
/// with what was delivered (or `switchTimeout` passes), then consumers
/// continue from it with what they saw already dropped by id (trade ids,
/// update ids, event times), books move over without a resync, and the old
/// connection is closed (1000). `lifecycle` tells it with `.rotated`.
/// Optional watches find a dead connection that raises no error: a stream
/// whose event times stop advancing (`staleStreamTimeout`), a ping with no
/// answer (`pingInterval`).
///
/// `events` and `lifecycle` continue across reconnects and end on `stop()`
/// or when the policy gives up. With a synchronous `handler` (loop thread,
/// events seen in place) `events` yields nothing; gaps then go to `onGap`,
/// called on the loop thread right before the trade after the hole.
///
/// The feed keeps itself running (and alive) until `stop()` or until the
/// policy gives up; the loop must outlive it.
public final class ResilientFeed: @unchecked Sendable {
    // @unchecked: `desired`, `current`, `replacement`, `stopped`,
    // `connects`, `connectedAt`, `dropReason` and `supervisor` are guarded by
    // `lock`; `sequencer`, `depthOnlyForBooks` and the legs' state are
    // touched on the loop thread only; the rest is immutable after init,
    // counters are atomics. Members without `private` are shared with the
    // rotation (ResilientFeed+Rotation.swift) and the watches
    // (ResilientFeed+Watch.swift), not meant for the module.

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
        /// No message and no ping from the server for this long: the
        /// connection is dropped and replaced (nil: never). Binance pings
        /// every 20 s (spot; futures every 3 minutes): raise it above that
        /// for quiet streams, or set `pingInterval`.
        public var idleTimeout: Duration? = .seconds(30)
        /// Replace a working connection by a new one, without a gap, once
        /// it is this old (nil: never). Binance ends connections at 24 hours.
        public var rotateAfter: Duration? = .seconds(23 * 3600 + 30 * 60)
        /// How long a replacement's events are held back waiting for it to
        /// deliver every trade stream and book it takes over, contiguous
        /// with what was delivered, before the switch is made anyway.
        public var switchTimeout: Duration = .seconds(3)
        /// A stream whose event time ("E") has not advanced for this long
        /// while messages keep arriving: the connection is dropped and
        /// replaced, the reason names the stream (nil: not watched). Only
        /// for streams that are never quiet that long (a trade stream of a
        /// thin symbol may rightly say nothing for minutes); streams
        /// without "E" (spot bookTicker, partial depth) are not watched.
        public var staleStreamTimeout: Duration?
        /// Send a WebSocket ping this often (`MarketFeed.ping()`) and expect
        /// its pong within `pingTimeout`, else the connection is dropped as
        /// dead (nil: never). Pings go through the connection's outgoing
        /// pacer with the control messages, so they never push it over the
        /// exchange's message rate; a pong also counts as life for
        /// `idleTimeout`, and its round trip is `stats.lastPingRTT`.
        public var pingInterval: Duration?
        /// How long an answer to a ping may take (pacing wait included).
        public var pingTimeout: Duration = .seconds(10)
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
        /// Events the consumers' buffers lost because their consumers were
        /// behind (dropped, replaced by `.keepLatest`, or cut off by
        /// `.disconnect`), `events` and the other consumers together; each
        /// one's own counters are its sequence's `stats`.
        public var dropped: Int
        /// Working connections replaced (`Options.rotateAfter`, server notices).
        public var rotations: Int = 0
        /// WebSocket messages received and messages (or array elements)
        /// that did not scan, every connection's, ended ones' included.
        public var messages: Int = 0
        public var errors: Int = 0
        /// Connections that ended other than by `stop()` or a rotation
        /// (each is followed by a reconnect, or by giving up).
        public var disconnects: Int = 0
        /// The round trip of the last client ping answered (`pingInterval`;
        /// nil before the first).
        public var lastPingRTT: Duration? = nil
    }

    public let loop: EventLoop
    public let options: Options
    /// Market events and trade gaps, across connections. Bounded:
    /// `options.feed.eventBufferSize` events, `options.feed.backpressure`
    /// when full (dropOldest, keepLatest per stream or symbol, disconnect),
    /// with its counters in `events.stats`. More consumers, each with its
    /// own buffer and policy: `events(policy:capacity:)`.
    public let events: BufferedFeedEvents
    /// What the connection does, with times.
    public let lifecycle: AsyncStream<LifecycleEvent>
    /// Upper-case symbol -> book.
    public let books: [String: OrderBook]

    /// The buffers of `events` and the other consumers.
    private let consumers: FeedEventConsumers
    /// One String per stream name for owned events (loop thread).
    private var streamNames = StreamNames()
    private let lifecycleOut: AsyncStream<LifecycleEvent>.Continuation
    private let handler: ((MarketEventView) -> Void)?
    private let onGap: ((TradeGap) -> Void)?
    /// Sees every message of the connection that feeds consumers, raw (not
    /// deduplicated), on the loop thread.
    let tap: ((UnsafeRawBufferPointer) -> Void)?
    let syncs: [BookSync]
    let bookStreams: [String]

    let lock = Mutex()
    var desired: [String]
    var current: MarketFeed?
    /// A replacement being opened or held back (rotation).
    var replacement: MarketFeed?
    var stopped = false
    var connects = 0
    var connectedAt = ContinuousClock.now
    /// Why the feed itself is ending the current connection (idle, notice).
    var dropReason: DisconnectReason?
    private var supervisor: Task<Void, Never>?

    let sequencer = TradeSequencer()
    private let bookKeys: [SymbolKey]
    /// Every desired depth-diff stream is a book's: a depth update needs no
    /// lookup to know it is kept (the common case).
    private var depthOnlyForBooks = true

    private let duplicateCount = Atomic<Int>(0)
    private let gapCount = Atomic<Int>(0)
    private let missedCount = Atomic<Int>(0)
    let rotationCount = Atomic<Int>(0)
    private let disconnectCount = Atomic<Int>(0)
    /// Nanoseconds, -1 until a ping is answered.
    let lastPingRTTNs = Atomic<Int>(-1)
    /// Messages and scan errors of the connections that ended.
    private let pastMessages = Atomic<Int>(0)
    private let pastErrors = Atomic<Int>(0)

    private init(loop: EventLoop, options: Options, streams: [String], syncs: [BookSync],
                 handler: ((MarketEventView) -> Void)?, onGap: ((TradeGap) -> Void)?,
                 tap: ((UnsafeRawBufferPointer) -> Void)?) {
        self.loop = loop
        self.tap = tap
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
        consumers = FeedEventConsumers(policy: options.feed.backpressure, capacity: options.feed.eventBufferSize)
        events = consumers.first
        (lifecycle, lifecycleOut) = AsyncStream.makeStream(
            of: LifecycleEvent.self, bufferingPolicy: .bufferingNewest(max(1, options.lifecycleBufferSize)))
        depthOnlyForBooks = Self.depthOnlyForBooks(unique, bookKeys)
    }

    /// Starts at once and returns: the first attempt and every later one
    /// follow `options.reconnect` (watch `lifecycle`). `handler`, if given,
    /// runs on the loop thread for every event; `onGap` too, for gaps.
    /// `tap`, if given, sees every message of the connection that feeds
    /// consumers as received, before its events (repeats across a
    /// reconnect included: it is the wire, not the deduplicated events).
    /// - Throws: `MarketFeedError.unknownStream`, `BookError` for a bad
    ///   symbol or book options (nothing is connected then).
    public static func start(
        streams: [String],
        orderBooks symbols: [String] = [],
        options: Options = Options(),
        on loop: EventLoop,
        handler: ((MarketEventView) -> Void)? = nil,
        onGap: ((TradeGap) -> Void)? = nil,
        tap: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) throws -> ResilientFeed {
        let feed = try make(streams: streams, symbols: symbols, options: options, loop: loop,
                            handler: handler, onGap: onGap, tap: tap)
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
        onGap: ((TradeGap) -> Void)? = nil,
        tap: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) async throws -> ResilientFeed {
        let feed = try make(streams: streams, symbols: symbols, options: options, loop: loop,
                            handler: handler, onGap: onGap, tap: tap)
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
                             handler: ((MarketEventView) -> Void)?, onGap: ((TradeGap) -> Void)?,
                             tap: ((UnsafeRawBufferPointer) -> Void)?) throws -> ResilientFeed {
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
        return ResilientFeed(loop: loop, options: options, streams: streams, syncs: syncs,
                             handler: handler, onGap: onGap, tap: tap)
    }

    private func launch(_ state: ReconnectState, first: Link?) {
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
        let live = lock.withLock { current }?.stats
        return Stats(duplicates: duplicateCount.load(ordering: .relaxed), gaps: gapCount.load(ordering: .relaxed),
                     missedTrades: missedCount.load(ordering: .relaxed), dropped: consumers.dropped.load(ordering: .relaxed),
                     rotations: rotationCount.load(ordering: .relaxed),
                     messages: pastMessages.load(ordering: .relaxed) + (live?.messages ?? 0),
                     errors: pastErrors.load(ordering: .relaxed) + (live?.errors ?? 0),
                     disconnects: disconnectCount.load(ordering: .relaxed),
                     lastPingRTT: { $0 < 0 ? nil : .nanoseconds($0) }(lastPingRTTNs.load(ordering: .relaxed)))
    }

    /// Keeps the counters of a connection that has ended (after its close).
    func retire(_ feed: MarketFeed) {
        let s = feed.stats
        pastMessages.add(s.messages, ordering: .relaxed)
        pastErrors.add(s.errors, ordering: .relaxed)
    }

    // MARK: subscriptions

    /// Adds `streams` to the desired set, and to the live connection in one
    /// request. If the connection ends before answering, the next one has
    /// them; if the exchange refuses them, they are not kept and it throws.
    public func subscribe(_ streams: [String]) async throws {
        for s in streams where !MarketStreams.isValid(s) { throw MarketFeedError.unknownStream(s) }
        if isStopped { throw ResilientFeedError.stopped }
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
            // The next connection is made with the desired set; there is
            // none after stop().
            if isStopped { throw ResilientFeedError.stopped }
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
        } catch ControlError.connectionClosed {
            if isStopped { throw ResilientFeedError.stopped }
        }
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

    /// Closes the connection (1000) and waits for the close handshake
    /// (bounded by the core's close timeout), fails control requests still
    /// waiting for an answer with `ResilientFeedError.stopped`, ends `events`
    /// (after what it holds is read) and `lifecycle`, and stops every book
    /// (they stay readable, stale). Returns how the connection open at the
    /// time ended (nil if there was none).
    @discardableResult
    public func stop() async -> WebSocketCloseInfo? {
        let (feed, spare, task) = lock.withLock { () -> (MarketFeed?, MarketFeed?, Task<Void, Never>?) in
            stopped = true
            return (current, replacement, supervisor)
        }
        task?.cancel()
        if let spare { await spare.close() }
        var info: WebSocketCloseInfo?
        if let feed { info = await feed.close() }
        await task?.value
        return info
    }

    func emit(_ e: ConnectionEvent, at time: ContinuousClock.Instant? = nil) {
        lifecycleOut.yield(LifecycleEvent(time: time ?? .now, event: e))
    }

    var isStopped: Bool { lock.withLock { stopped } }

    /// A connection and what the receive path knows of it.
    struct Link: Sendable {
        let feed: MarketFeed
        let leg: Leg
    }

    /// One connection attempt: the budget's grant, the connection with every
    /// desired stream and book, and the lifecycle events that tell it.
    private func attempt(_ n: Int) async -> Result<Link, any Error> {
        let granted: ContinuousClock.Instant
        do {
            granted = try await options.budget.acquire()
        } catch {
            return .failure(error)
        }
        if isStopped { return .failure(CancellationError()) }
        emit(.connecting(attempt: n), at: granted)
        // Books' streams first: in the URL, they see the first message.
        let streams = URLStreams.split(lock.withLock { () -> [String] in
            dropReason = nil
            return bookStreams + desired.filter { !bookStreams.contains($0) }
        }).url
        var o = options.feed
        o.combined = true
        let syncs = self.syncs
        let leg = Leg(state: .live)
        if options.staleStreamTimeout != nil { leg.times = EventTimeWatch() }
        do {
            // Books are registered before the connection opens, so they see
            // its first message. The handler holds the feed strongly: the
            // connection holds the handler only until it ends.
            let handler: (MarketEventView) -> Void = { view in self.receive(view, on: leg) }
            var register: (@Sendable (MarketFeed) -> Void)?
            if !syncs.isEmpty {
                register = { f in for s in syncs { f.books.add(s) } }
            }
            let feed = try await MarketFeed.connect(streams: streams, options: o, on: loop, handler: handler,
                                                    tap: tap.map { t in { bytes in if leg.state == .live { t(bytes) } } },
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
            return .success(Link(feed: feed, leg: leg))
        } catch {
            emit(.disconnected(reason: DisconnectReason(connectError: error)))
            return .failure(error)
        }
    }

    /// The streams that did not fit the URL, and those (un)subscribed while
    /// the connection was being made: the new connection gets the desired
    /// set as it is now. Requests of at most `pacing.maxStreamsPerRequest`
    /// names, queued at once (the pacer sends them as its window allows).
    func reconcile(_ feed: MarketFeed, opened: [String]) async {
        let (missing, extra) = lock.withLock { () -> ([String], [String]) in
            let all = bookStreams + desired.filter { !bookStreams.contains($0) }
            let have = Set(opened)
            let wanted = Set(all)
            return (all.filter { !have.contains($0) }, opened.filter { !wanted.contains($0) })
        }
        let size = options.feed.pacing.maxStreamsPerRequest
        await withTaskGroup(of: Void.self) { group in
            for chunk in URLStreams.requests(missing, size: size) {
                group.addTask { try? await feed.subscribe(chunk) }
            }
        }
        if !extra.isEmpty { try? await feed.unsubscribe(extra) }
    }

    private func supervise(_ start: ReconnectState, first: Link?) async {
        var state = start
        var random = SystemRandomNumberGenerator()
        var link = first
        var lastReason: DisconnectReason?
        supervising: while true {
            if let l = link {
                switch await watch(l) {
                case let .rotated(next):
                    link = next
                    continue supervising
                case let .ended(info):
                    let (reason, uptime) = lock.withLock { () -> (DisconnectReason, Duration) in
                        current = nil
                        let r: DisconnectReason = stopped ? .closedByUs
                            : dropReason ?? (l.leg.noticed.load(ordering: .relaxed) ? .serverShutdown
                                                                                       : DisconnectReason(closeInfo: info))
                        return (r, ContinuousClock.now - connectedAt)
                    }
                    await l.feed.close() // the books learn of the end before the next connection takes them
                    retire(l.feed)
                    if reason != .closedByUs { disconnectCount.add(1, ordering: .relaxed) }
                    // Timed when the core reported it, not now: the hops since count as reconnect time.
                    emit(.disconnected(reason: reason), at: l.feed.webSocket?.endedAt)
                    state.ended(after: uptime)
                    lastReason = reason
                    link = nil
                }
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
            case let .success(l):
                link = l
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
        consumers.finish()
        lifecycleOut.finish()
    }

    // MARK: receive path (loop thread)

    /// Every event of a connection: delivered if it is the live one, noted
    /// if it is a replacement held back, dropped if it was replaced.
    @inline(__always)
    func receive(_ view: MarketEventView, on leg: Leg) {
        switch leg.state {
        case .live:
            if let f = leg.filter, f.isRepeat(view) { return }
            if let r = leg.recording { r.note(view) }
            if let t = leg.times { t.note(view) }
            if view.raw.pointee.type == Int32(RF_BN_SERVER_SHUTDOWN.rawValue) {
                // Acted on by the supervisor (a rotation); the event still goes out.
                leg.noticed.store(true, ordering: .relaxed)
            }
            receive(view)
        case .pending:
            held(view, on: leg)
        case .retired:
            return
        }
    }

    /// A held-back replacement's event: the first trade id and diff per
    /// stream are what the switch waits for.
    private func held(_ view: MarketEventView, on leg: Leg) {
        let e = view.raw.pointee
        if e.type == Int32(RF_BN_TRADE.rawValue) || e.type == Int32(RF_BN_AGG_TRADE.rawValue) {
            if let s = SymbolKey(view.symbolBytes) {
                let key = TradeSequencer.Key(kind: e.type, symbol: s)
                if leg.firstTrade[key] == nil { leg.firstTrade[key] = e.u.trade.id }
            }
        } else if e.type == Int32(RF_BN_DEPTH_UPDATE.rawValue), let s = SymbolKey(view.symbolBytes),
                  leg.firstDiff[s] == nil {
            leg.firstDiff[s] = (e.u.depth.first_update_id, e.u.depth.prev_final_update_id)
        }
        checkCaughtUp(leg)
    }

    func receive(_ view: MarketEventView) {
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
                if handler == nil { deliver(.gap(gap), streamID: nil, symbol: "") }
            }
        } else if type == Int32(RF_BN_DEPTH_UPDATE.rawValue), handler == nil, !bookKeys.isEmpty {
            // A kept book's diff is the book's, as on a MarketFeed.
            if depthOnlyForBooks { return }
            if let key = SymbolKey(view.symbolBytes), bookKeys.contains(key) { return }
        }
        if let handler { return handler(view) }
        let name = streamNames.intern(view.streamBytes)
        deliver(.market(StreamEvent(stream: name.string, event: view.event)), streamID: name.id, symbol: view.symbol)
    }

    /// One owned event for every consumer's buffer. The I/O thread never
    /// waits here: a full buffer applies its policy, and a parked consumer
    /// is woken once the loop has handled its current batch.
    @inline(__always)
    private func deliver(_ e: FeedEvent, streamID: Int?, symbol: @autoclosure () -> String) {
        for w in consumers.offer(e, streamID: streamID, symbol: symbol()) { loop.wakeAfterBatch(w) }
    }

    /// Another consumer of `events`' sequence, independent of `events` and
    /// of every other: its own buffer of `capacity` events, its own `policy`
    /// and counters (its losses count in `stats.dropped` too). It sees the
    /// events that arrive from now on and ends with the feed.
    public func events(policy: BackpressurePolicy, capacity: Int) -> BufferedFeedEvents {
        consumers.add(policy: policy, capacity: capacity)
    }

    func onLoop<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { cont in loop.execute { cont.resume(returning: body()) } }
    }
}

/// Errors of `ResilientFeed` itself.
public enum ResilientFeedError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `stop()` was called: the request was not answered and no later
    /// connection will carry it.
    case stopped

    public var description: String {
        switch self {
        case .stopped: "the feed was stopped before the request was answered"
        }
    }
}
