import Synchronization

/// More streams than one connection may carry, spread over a pool of
/// reconnecting connections (`ResilientFeed`). Binance allows 1024 streams a
/// connection; the pool opens connections as streams need them, puts each
/// new stream on the first connection with room before it opens another,
/// takes a stream off whichever connection has it, and closes a connection
/// left with nothing to carry. Callers see one feed:
///
///     let pool = try await FeedPool.connect(streams: names, on: loop) // 2,000 names: 2 connections
///     Task { for await e in pool.lifecycle { print(e) } }             // "connection 1: connected ..."
///     try await pool.subscribe(["solusdt@aggTrade"])
///     try await pool.unsubscribe(["btcusdt@trade"])
///     for await e in pool.events { ... }                             // every connection's, gaps included
///     await pool.stop()
///
/// How it keeps within the exchange's limits:
/// - a connection never carries more than `maxStreamsPerConnection`
///   streams, books' depth streams included, not even for a moment: room is
///   counted when a stream is placed, before its SUBSCRIBE goes out, and
///   comes free only once the UNSUBSCRIBE is answered. Subscribe and
///   unsubscribe calls therefore run one at a time, in call order;
/// - a new connection has at most `maxStreamsInURL` streams in its URL and
///   and at most `maxURLBytes` of names, and subscribes the rest once
///   open (Binance and most HTTP servers refuse long request lines; this
///   library's URL parser takes a path of 4 KiB);
/// - SUBSCRIBE requests carry at most `pacing.maxStreamsPerRequest` names,
///   and each connection paces its own control messages (5 a second, 10 on
///   futures), so filling two connections takes as long as filling one;
/// - every connection attempt, first or reconnect, is taken from
///   `connection.budget`, shared by every connection of the pool (and any
///   other feed given the same budget).
///
/// Order books are given when the pool is made: each one lives on the
/// connection that carries its depth stream. Subscribing a book's depth
/// stream puts it there; unsubscribing it leaves the book running.
///
/// A connection whose reconnect policy gives up leaves the pool with its
/// streams (its `gaveUp` event in `lifecycle` names it). The pool keeps
/// itself running until `stop()`; the loop must outlive it.
public final class FeedPool: @unchecked Sendable {
    // @unchecked: `members`, `nextID`, `stopped` and `retired` are guarded by
    // `lock`, and so is every `Member.streams`; changes of placement run one
    // at a time through `gate`; the rest is immutable after init, and the
    // merge counter is an atomic.

    public struct Options: Sendable {
        /// Options of every connection (URL, books, reconnect policy,
        /// connection budget, idle timeout, event buffer size, pacing).
        public var connection = ResilientFeed.Options()
        /// Most streams one connection carries, books' depth streams
        /// included: Binance's limit is 1024; lower it to spread streams
        /// thinner (fewer messages a connection, more connections).
        public var maxStreamsPerConnection = 1024
        /// Most streams in a new connection's URL (books' depth streams are
        /// always in it); the others are subscribed once it is open.
        public var maxStreamsInURL = 200
        /// Most bytes of stream names (with their separators, books'
        /// included) in a new connection's URL: this library's URL parser
        /// takes a path of up to 4 KiB, and 200 long names
        /// ("1000shibusdt@depth@100ms") would pass it.
        public var maxURLBytes = 3000
        public init() {}
    }

    /// One connection of the pool (see `PoolConnection`).
    private final class Member: @unchecked Sendable {
        // @unchecked: `streams` is read and written with the pool's lock
        // held; the rest is immutable after init.
        let id: Int
        let feed: ResilientFeed
        let books: [String]
        let bookStreams: Set<String>
        var streams: [String]
        var forwarders: [Task<Void, Never>] = []

        init(id: Int, feed: ResilientFeed, books: [String], bookStreams: [String], streams: [String]) {
            self.id = id
            self.feed = feed
            self.books = books
            self.bookStreams = Set(bookStreams)
            self.streams = streams
        }

        var load: Int { bookStreams.count + streams.count { !bookStreams.contains($0) } }
        var isEmpty: Bool { streams.isEmpty && bookStreams.isEmpty }
        var snapshot: PoolConnection {
            PoolConnection(id: id, feed: feed, streams: streams, books: books, load: load)
        }
    }

    public let loop: EventLoop
    public let options: Options
    /// Market events and trade gaps of every connection (each connection's
    /// in its order; no order between connections). Bounded like a
    /// `ResilientFeed`'s: `connection.feed.eventBufferSize` events,
    /// `connection.feed.backpressure` when full, counters in `events.stats`.
    /// More consumers: `events(policy:capacity:)`.
    public let events: BufferedFeedEvents
    /// Every connection's lifecycle, tagged with its number.
    public let lifecycle: AsyncStream<PoolLifecycleEvent>

    /// The buffers of `events` and the other consumers, fed by one
    /// forwarding task per connection.
    private let consumers: FeedEventConsumers
    private let lifecycleOut: AsyncStream<PoolLifecycleEvent>.Continuation
    private let handler: ((MarketEventView) -> Void)?
    private let onGap: ((TradeGap) -> Void)?
    private let tap: ((UnsafeRawBufferPointer) -> Void)?
    private let gate = SerialGate()

    private let lock = Mutex()
    private var members: [Member] = []
    private var nextID = 0
    private var stopped = false
    /// Counters of connections no longer in the pool.
    private var retired = ResilientFeed.Stats(duplicates: 0, gaps: 0, missedTrades: 0, dropped: 0)

    private init(loop: EventLoop, options: Options, handler: ((MarketEventView) -> Void)?,
                 onGap: ((TradeGap) -> Void)?, tap: ((UnsafeRawBufferPointer) -> Void)?) {
        self.tap = tap
        self.loop = loop
        self.options = options
        self.handler = handler
        self.onGap = onGap
        let feed = options.connection.feed
        consumers = FeedEventConsumers(policy: feed.backpressure, capacity: feed.eventBufferSize)
        events = consumers.first
        (lifecycle, lifecycleOut) = AsyncStream.makeStream(
            of: PoolLifecycleEvent.self,
            bufferingPolicy: .bufferingNewest(max(1, options.connection.lifecycleBufferSize)))
    }

    /// Opens as many connections as `streams` and `orderBooks` need and
    /// returns once every one is open and subscribed. `handler` and `onGap`,
    /// if given, are every connection's (all on `loop`'s thread, so never two
    /// at once); with a handler `events` yields nothing. `tap` too: it sees
    /// each connection's messages as `ResilientFeed.start` says.
    /// - Throws: `MarketFeedError.unknownStream`, `BookError`,
    ///   `FeedPoolError.invalidLimit`, or why a connection could not be made
    ///   or a stream was refused (nothing is left running then).
    public static func connect(
        streams: [String],
        orderBooks symbols: [String] = [],
        options: Options = Options(),
        on loop: EventLoop,
        handler: ((MarketEventView) -> Void)? = nil,
        onGap: ((TradeGap) -> Void)? = nil,
        tap: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) async throws -> FeedPool {
        for n in [options.maxStreamsPerConnection, options.maxStreamsInURL, options.maxURLBytes] where n < 1 {
            throw FeedPoolError.invalidLimit(n)
        }
        for s in streams where !MarketStreams.isValid(s) { throw MarketFeedError.unknownStream(s) }
        var books: [(symbol: String, stream: String)] = []
        for s in symbols {
            let name = s.uppercased()
            if !books.contains(where: { $0.symbol == name }) {
                books.append((name, name.lowercased() + options.connection.book.streamSuffix))
            }
        }
        let pool = FeedPool(loop: loop, options: options, handler: handler, onGap: onGap, tap: tap)
        do {
            try await pool.gate.run { try await pool.place(unique(streams), books: books) }
        } catch {
            await pool.stop()
            throw error
        }
        return pool
    }

    /// Another consumer of every connection's events, independent of
    /// `events` and of every other: its own buffer of `capacity` events, its
    /// own `policy` and counters (its losses count in `stats.dropped` too).
    /// It sees the events that arrive from now on and ends with the pool.
    public func events(policy: BackpressurePolicy, capacity: Int) -> BufferedFeedEvents {
        consumers.add(policy: policy, capacity: capacity)
    }

    /// A connection's options: the pool's, but a connection's own buffer
    /// (which only the pool's forwarder reads, and quickly) never cuts its
    /// reader off: under `.disconnect` that would end one connection's
    /// events silently while the pool goes on. The pool's buffers apply the
    /// chosen policy.
    private var memberOptions: ResilientFeed.Options {
        var o = options.connection
        if case .disconnect = o.feed.backpressure { o.feed.backpressure = .dropOldest }
        return o
    }

    // MARK: reading

    /// The connections, in the order they were opened.
    public var connections: [PoolConnection] { lock.withLock { members.map(\.snapshot) } }

    /// Every stream placed on a connection (books' depth streams only if
    /// they were also subscribed).
    public var streams: [String] { lock.withLock { members.flatMap(\.streams) } }

    /// The connection carrying `stream` (a book's depth stream included).
    public func connection(carrying stream: String) -> PoolConnection? {
        lock.withLock {
            members.first { $0.bookStreams.contains(stream) || $0.streams.contains(stream) }?.snapshot
        }
    }

    /// The book of `symbol`, if the pool keeps it.
    public func orderBook(symbol: String) -> OrderBook? {
        let feeds = lock.withLock { members.map(\.feed) }
        return feeds.lazy.compactMap { $0.orderBook(symbol: symbol) }.first
    }

    /// Every connection's counters summed, closed ones' included; `dropped`
    /// also counts events the pool's consumers (`events` and the others)
    /// lost because they were behind.
    public var stats: ResilientFeed.Stats {
        let (feeds, past) = lock.withLock { (members.map(\.feed), retired) }
        var s = feeds.map(\.stats).reduce(past, Self.sum)
        s.dropped += consumers.dropped.load(ordering: .relaxed)
        return s
    }

    private static func sum(_ a: ResilientFeed.Stats, _ b: ResilientFeed.Stats) -> ResilientFeed.Stats {
        ResilientFeed.Stats(duplicates: a.duplicates + b.duplicates, gaps: a.gaps + b.gaps,
                            missedTrades: a.missedTrades + b.missedTrades, dropped: a.dropped + b.dropped,
                            rotations: a.rotations + b.rotations, messages: a.messages + b.messages,
                            errors: a.errors + b.errors, disconnects: a.disconnects + b.disconnects)
    }

    // MARK: subscriptions

    /// Adds `streams` not in the pool yet: onto connections with room, then
    /// onto new connections (opened with them in the URL, up to
    /// `maxStreamsInURL`). Returns once every one is subscribed.
    /// - Throws: `MarketFeedError.unknownStream` (nothing is done); the
    ///   exchange's refusal (`ControlError.rejected`: the refused streams are
    ///   not kept); why a needed connection could not be made (its streams
    ///   are not kept; the others are). Other errors (`timedOut`) leave the
    ///   streams in place: the connection's next reconnect has them.
    public func subscribe(_ streams: [String]) async throws {
        for s in streams where !MarketStreams.isValid(s) { throw MarketFeedError.unknownStream(s) }
        try await gate.run { try await place(Self.unique(streams), books: []) }
    }

    /// Takes `streams` off the connections that carry them, and closes each
    /// connection left with no stream and no book. Names not in the pool are
    /// ignored. Room comes free once the exchange has answered. Requests
    /// carry at most `pacing.maxStreamsPerRequest` names each.
    /// - Throws: the first error of an UNSUBSCRIBE (`timedOut`); the streams
    ///   are taken out of the pool all the same (no later connection has them).
    public func unsubscribe(_ streams: [String]) async throws {
        try await gate.run {
            let names = Set(streams)
            let work = lock.withLock { () -> [(Member, [String])] in
                members.compactMap { m in
                    let leaving = m.streams.filter(names.contains)
                    return leaving.isEmpty ? nil : (m, leaving)
                }
            }
            let failure = await withTaskGroup(of: (any Error)?.self) { group in
                for (m, leaving) in work {
                    for chunk in requests(leaving) {
                        group.addTask {
                            do {
                                try await m.feed.unsubscribe(chunk)
                                return nil
                            } catch {
                                return error
                            }
                        }
                    }
                }
                var first: (any Error)?
                for await e in group where first == nil { first = e }
                return first
            }
            let emptied = lock.withLock { () -> [Member] in
                for (m, _) in work { m.streams.removeAll(where: names.contains) }
                let gone = members.filter(\.isEmpty)
                members.removeAll(where: \.isEmpty)
                return gone
            }
            for m in emptied { await retire(m) }
            if let failure { throw failure }
        }
    }

    /// Places `streams` (each once) and `books`: subscribes on the
    /// connections with room, opens the new ones, all at once. Called
    /// through `gate`.
    private func place(_ streams: [String], books: [(symbol: String, stream: String)]) async throws {
        let limit = options.maxStreamsPerConnection
        let (additions, fresh) = try lock.withLock { () throws -> ([(Member, [String])], [(Int, PoolPlacement.Group)]) in
            guard !stopped else { throw FeedPoolError.stopped }
            let placed = Set(members.flatMap(\.streams))
            let new = streams.filter { !placed.contains($0) }
            let plan = PoolPlacement.plan(
                streams: new, books: books,
                existing: members.map { .init(id: $0.id, load: $0.load, bookStreams: $0.bookStreams) }, limit: limit)
            // Room is taken now, before anything is sent.
            var additions: [(Member, [String])] = []
            for m in members {
                guard let names = plan.onExisting[m.id] else { continue }
                m.streams += names
                additions.append((m, names))
            }
            // Numbered in plan order, whichever opens first.
            let fresh = plan.fresh.map { g in
                defer { nextID += 1 }
                return (nextID, g)
            }
            return (additions, fresh)
        }
        let failure = await withTaskGroup(of: (any Error)?.self) { group in
            for (m, names) in additions {
                group.addTask { await self.subscribe(names, on: m) }
            }
            for (id, g) in fresh {
                group.addTask { await self.open(g, id: id) }
            }
            var first: (any Error)?
            for await e in group where first == nil { first = e }
            return first
        }
        if let failure { throw failure }
    }

    /// Opens a connection for `group`: its books and the first streams in
    /// the URL, the rest subscribed once it is open.
    private func open(_ group: PoolPlacement.Group, id: Int) async -> (any Error)? {
        var inURL: [String] = []
        var bytes = group.bookStreams.reduce(0) { $0 + $1.utf8.count + 1 }
        for s in group.streams.prefix(options.maxStreamsInURL) {
            bytes += s.utf8.count + 1
            if bytes > options.maxURLBytes { break }
            inURL.append(s)
        }
        let feed: ResilientFeed
        do {
            feed = try await ResilientFeed.connect(streams: inURL, orderBooks: group.books, options: memberOptions,
                                                   on: loop, handler: handler, onGap: onGap, tap: tap)
        } catch {
            return error
        }
        let member = lock.withLock { () -> Member? in
            guard !stopped else { return nil }
            let m = Member(id: id, feed: feed, books: group.books, bookStreams: group.bookStreams,
                           streams: group.streams)
            members.append(m)
            members.sort { $0.id < $1.id }
            m.forwarders = follow(m)
            return m
        }
        guard let member else {
            await feed.stop()
            return FeedPoolError.stopped
        }
        let rest = Array(group.streams.dropFirst(inURL.count))
        return rest.isEmpty ? nil : await subscribe(rest, on: member)
    }

    /// Subscribes `names` (already counted on `m`) in requests of at most
    /// `pacing.maxStreamsPerRequest` names, all queued at once: the
    /// connection's pacer sends them as fast as its window allows. Names the
    /// exchange refuses leave `m`. Returns the first error.
    private func subscribe(_ names: [String], on m: Member) async -> (any Error)? {
        let results = await withTaskGroup(of: ([String], (any Error)?).self) { group in
            for chunk in requests(names) {
                group.addTask {
                    do {
                        try await m.feed.subscribe(chunk)
                        return (chunk, nil)
                    } catch {
                        return (chunk, error)
                    }
                }
            }
            var all: [([String], (any Error)?)] = []
            for await r in group { all.append(r) }
            return all
        }
        var first: (any Error)?
        for (chunk, error) in results {
            guard let error else { continue }
            first = first ?? error
            if case ControlError.rejected = error {
                // Not kept by the connection either (ResilientFeed drops refused streams).
                let refused = Set(chunk)
                lock.withLock { m.streams.removeAll(where: refused.contains) }
            }
        }
        return first
    }

    /// `names` in runs of at most `pacing.maxStreamsPerRequest`: one
    /// request each (a single call is never split further down).
    private func requests(_ names: [String]) -> [[String]] {
        let size = max(1, options.connection.feed.pacing.maxStreamsPerRequest)
        return stride(from: 0, to: names.count, by: size).map { Array(names[$0..<min($0 + size, names.count)]) }
    }

    private static func unique(_ streams: [String]) -> [String] {
        var seen = Set<String>()
        return streams.filter { seen.insert($0).inserted }
    }

    // MARK: lifecycle

    /// Forwards `m`'s events and lifecycle into the pool's; when its
    /// lifecycle ends without the pool having closed it (the policy gave
    /// up), it leaves the pool. Called with the lock held.
    private func follow(_ m: Member) -> [Task<Void, Never>] {
        let feed = m.feed, id = m.id
        let events = Task {
            // The pool's buffers apply the policy; a consumer woken at once
            // (a forwarder has no loop turn to batch by).
            for await e in feed.events {
                for w in self.consumers.offer(e, symbol: e.market?.event.keySymbol ?? "") { w.wakeConsumer() }
            }
        }
        let lifecycle = Task {
            for await e in feed.lifecycle {
                self.lifecycleOut.yield(PoolLifecycleEvent(connection: id, time: e.time, event: e.event))
            }
            self.lock.withLock {
                guard let i = self.members.firstIndex(where: { $0 === m }) else { return }
                self.members.remove(at: i)
                self.retired = Self.sum(self.retired, feed.stats)
            }
        }
        return [events, lifecycle]
    }

    /// Stops a connection taken out of `members` and waits until its events
    /// and lifecycle are all forwarded.
    @discardableResult
    private func retire(_ m: Member) async -> WebSocketCloseInfo? {
        let info = await m.feed.stop()
        for t in m.forwarders { await t.value }
        lock.withLock { retired = Self.sum(retired, m.feed.stats) }
        return info
    }

    /// Closes every connection (1000), ends `events` and `lifecycle`, and
    /// stops every book (they stay readable, stale). Later calls to
    /// `subscribe` throw `FeedPoolError.stopped`. Returns how each
    /// connection open at the time ended, by connection number.
    @discardableResult
    public func stop() async -> [Int: WebSocketCloseInfo] {
        let all = lock.withLock { () -> [Member] in
            stopped = true
            let all = members
            members.removeAll()
            return all
        }
        let closes = await withTaskGroup(of: (Int, WebSocketCloseInfo?).self) { group in
            for m in all { group.addTask { (m.id, await self.retire(m)) } }
            var closes: [Int: WebSocketCloseInfo] = [:]
            for await (id, info) in group { closes[id] = info }
            return closes
        }
        // A subscribe in progress may still be opening a connection: it
        // sees `stopped` and closes it, and its forwarders never start.
        consumers.finish()
        lifecycleOut.finish()
        return closes
    }
}

/// Runs async operations one at a time, in the order they arrive (an actor
/// would interleave them at every suspension point).
final class SerialGate: @unchecked Sendable {
    // @unchecked: `busy` and `waiters` are guarded by `lock`.
    private let lock = Mutex()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T>(_ body: () async throws -> T) async rethrows -> T {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = lock.withLock { () -> Bool in
                if !busy {
                    busy = true
                    return true
                }
                waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    private func leave() {
        let next = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if waiters.isEmpty {
                busy = false
                return nil
            }
            return waiters.removeFirst()
        }
        next?.resume()
    }
}
