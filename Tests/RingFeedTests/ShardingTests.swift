import Foundation
@testable import RingFeed
import RingFeedSimulator
import Testing

// Sharding (issue 6 item 5): more streams than one connection may carry,
// spread over a pool of connections, against a simulator that enforces
// Binance's limits (5 incoming messages a second, a stream limit a
// connection) the way Binance does: a SUBSCRIBE past the limit is refused,
// a URL with too many streams is refused, a sixth message in a second
// closes the connection.

/// What a pool's two sequences delivered: events per stream, and lifecycle.
private final class PoolRecorder: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    private var life: [PoolLifecycleEvent] = []
    private var tasks: [Task<Void, Never>] = []

    func follow(_ pool: FeedPool) {
        tasks.append(Task {
            for await e in pool.events {
                guard let m = e.market else { continue }
                self.lock.withLock { self.counts[m.stream, default: 0] += 1 }
            }
        })
        tasks.append(Task {
            for await e in pool.lifecycle { self.lock.withLock { self.life.append(e) } }
        })
    }

    var perStream: [String: Int] { lock.withLock { counts } }
    var lifecycle: [PoolLifecycleEvent] { lock.withLock { life } }
    /// How many of `names` delivered at least one event.
    func delivered(_ names: [String]) -> Int {
        let c = perStream
        return names.count { c[$0, default: 0] > 0 }
    }
}

/// `count` synthetic symbols "S000USDT"... .
private func symbols(_ count: Int) -> [String] {
    (0..<count).map { "S" + String(1000 + $0).dropFirst() + "USDT" }
}

/// Stream kinds every symbol sends once a second whatever the market does,
/// so every stream shows up within a bounded time.
private let secondly = ["@miniTicker", "@ticker", "@depth5", "@avgPrice"]

private func names(_ symbols: [String], _ kinds: [String] = secondly) -> [String] {
    symbols.flatMap { s in kinds.map { s.lowercased() + $0 } }
}

/// A simulator over `symbols` with few book events (the periodic streams
/// carry the load) and Binance's limits, the stream limit as given.
private func simulator(_ symbols: [String], maxStreams: Int = 1024, eventsPerSecond: Double = 2,
                       bookLevels: Int = 20) async throws -> ExchangeSimulator {
    var market = SyntheticMarket.Configuration()
    market.eventsPerSecond = eventsPerSecond
    market.bookLevels = bookLevels
    var config = SimulatorConfiguration()
    config.limits.maxStreamsPerConnection = maxStreams
    #expect(config.limits.maxIncomingMessages == 5 && config.limits.incomingWindow == .seconds(1))
    return try await ExchangeSimulator.start(source: SyntheticMarket(symbols: symbols, seed: 6, configuration: market),
                                             configuration: config)
}

private func poolOptions(_ sim: ExchangeSimulator, maxStreams: Int, inURL: Int = 200) -> FeedPool.Options {
    var o = FeedPool.Options()
    o.connection.feed.url = sim.webSocketURL
    o.connection.feed.handshakeTimeout = .seconds(5)
    o.connection.budget = ConnectionBudget(limit: 1000, window: .seconds(60))
    o.connection.reconnect = ReconnectPolicy(base: .milliseconds(50), cap: .seconds(1))
    o.connection.idleTimeout = .seconds(10)
    o.maxStreamsPerConnection = maxStreams
    o.maxStreamsInURL = inURL
    return o
}

/// Checks that every pool connection's exchange-side subscriptions are
/// exactly what the pool placed on it (books' depth streams included), and
/// within `limit`.
private func expectPartition(_ pool: FeedPool, limit: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    var union = Set<String>()
    for c in pool.connections {
        guard let live = c.feed.connection else {
            Issue.record("connection \(c.id) is not connected", sourceLocation: sourceLocation)
            continue
        }
        let listed = try await live.listSubscriptions()
        let books = c.books.map { $0.lowercased() + "@depth@100ms" }
        #expect(Set(listed) == Set(c.streams).union(books), "connection \(c.id)", sourceLocation: sourceLocation)
        #expect(listed.count == c.load && c.load <= limit, "connection \(c.id): \(listed.count) streams",
                sourceLocation: sourceLocation)
        #expect(union.isDisjoint(with: listed), "a stream on two connections", sourceLocation: sourceLocation)
        union.formUnion(listed)
    }
}

@Suite("Sharding: where streams go")
struct PoolPlacementTests {
    @Test("fill the connections with room in order, then open new ones; a book's depth stream goes with the book")
    func placement() {
        let existing: [PoolPlacement.Connection] = [
            .init(id: 0, load: 3, bookStreams: []),
            .init(id: 2, load: 4, bookStreams: ["btcusdt@depth@100ms"]),
            .init(id: 5, load: 1, bookStreams: []),
        ]
        let p = PoolPlacement.plan(streams: ["a@trade", "btcusdt@depth@100ms", "b@trade", "c@trade", "d@trade",
                                             "e@trade", "f@trade", "g@trade", "h@trade", "i@trade", "j@trade"],
                                   existing: existing, limit: 4)
        #expect(p.onExisting[0] == ["a@trade"])
        #expect(p.onExisting[2] == ["btcusdt@depth@100ms"], "already there: no room needed")
        #expect(p.onExisting[5] == ["b@trade", "c@trade", "d@trade"])
        #expect(p.fresh.map(\.streams) == [["e@trade", "f@trade", "g@trade", "h@trade"], ["i@trade", "j@trade"]])

        let books = PoolPlacement.plan(
            streams: ["x@trade", "ethusdt@depth@100ms", "y@trade"],
            books: [("BTCUSDT", "btcusdt@depth@100ms"), ("ETHUSDT", "ethusdt@depth@100ms"), ("SOLUSDT", "solusdt@depth@100ms")],
            existing: [], limit: 2)
        #expect(books.fresh.map(\.books) == [["BTCUSDT", "ETHUSDT"], ["SOLUSDT"], []])
        #expect(books.fresh.map(\.streams) == [["ethusdt@depth@100ms"], ["x@trade"], ["y@trade"]])
        #expect(books.fresh.map(\.load) == [2, 2, 1])
    }
}

@Suite("Sharding: a pool of connections against the simulator's limits", .serialized)
struct ShardingTests {
    @Test("2,000 streams at Binance's limits: two connections, none over 1024, nothing refused or closed, every stream delivers")
    func twoThousandStreams() async throws {
        let syms = symbols(500)
        let all = names(syms)
        #expect(all.count == 2000)
        let started = ContinuousClock.now
        let sim = try await simulator(syms)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        print("sharding: simulator with 500 symbols up in \(ContinuousClock.now - started)")

        let recorder = PoolRecorder()
        let t0 = ContinuousClock.now
        let pool = try await FeedPool.connect(streams: Array(all.prefix(100)), options: poolOptions(sim, maxStreams: 1024), on: loop)
        recorder.follow(pool)
        try await pool.subscribe(Array(all.dropFirst(100)))
        let took = ContinuousClock.now - t0
        print("sharding: 2,000 streams subscribed over \(pool.connections.count) connections in \(took)")

        let conns = pool.connections
        #expect(conns.map(\.id) == [0, 1])
        #expect(conns.map(\.load) == [1024, 976], "the first filled before the second opened")
        #expect(Set(pool.streams) == Set(all) && pool.streams.count == 2000)
        try await expectPartition(pool, limit: 1024)

        let everyStream = await waitUntil(.seconds(15)) { recorder.delivered(all) == all.count }
        #expect(everyStream, "\(recorder.delivered(all)) of 2000 streams delivered")

        for c in conns {
            let url = c.feed.connection?.url ?? ""
            #expect(url.utf8.count <= sim.webSocketURL.utf8.count + "/stream?streams=".utf8.count + 3000,
                    "connection \(c.id): a URL of \(url.utf8.count) bytes")
            let pacing = c.feed.connection?.pacingStats
            #expect(pacing.map { $0.framesSent >= 4 } ?? false, "connection \(c.id): SUBSCRIBEs paced: \(String(describing: pacing))")
        }
        let stats = await sim.statistics()
        #expect(stats.closedForRate == 0)
        #expect(stats.refusedUpgrades == 0)
        #expect(stats.acceptedConnections == 2 && stats.openConnections == 2)
        #expect(pool.stats.dropped == 0)
        #expect(recorder.lifecycle.filter { if case .disconnected = $0.event { true } else { false } }.isEmpty)

        await pool.stop()
        #expect(await waitUntil(.seconds(5)) { await sim.statistics().openConnections == 0 })
        await sim.stop()
    }

    @Test("limit 100: 350 streams on 4 connections; 200 leave and emptied connections close; 150 more fill the free room first")
    func moveBetweenConnections() async throws {
        let syms = symbols(125)
        let all = names(syms)
        let sim = try await simulator(syms, maxStreams: 100)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let recorder = PoolRecorder()
        // 30 in each URL: the other 70 of a connection go by SUBSCRIBE.
        let pool = try await FeedPool.connect(streams: Array(all.prefix(350)),
                                              options: poolOptions(sim, maxStreams: 100, inURL: 30), on: loop)
        recorder.follow(pool)
        var conns = pool.connections
        #expect(conns.map(\.id) == [0, 1, 2, 3])
        #expect(conns.map(\.load) == [100, 100, 100, 50])
        #expect(conns.map { $0.feed.connection?.url.split(separator: "=").last?.split(separator: "/").count } == [30, 30, 30, 30],
                "30 streams in each URL")
        try await expectPartition(pool, limit: 100)

        // 200 leave: half of the first, all of the second and the fourth.
        let leaving = Array(conns[0].streams.prefix(50)) + conns[1].streams + conns[3].streams
        #expect(leaving.count == 200)
        try await pool.unsubscribe(leaving)
        conns = pool.connections
        #expect(conns.map(\.id) == [0, 2], "the emptied connections 1 and 3 closed")
        #expect(conns.map(\.load) == [50, 100])
        #expect(Set(pool.streams).isDisjoint(with: leaving))
        try await expectPartition(pool, limit: 100)
        #expect(await waitUntil(.seconds(5)) { await sim.statistics().openConnections == 2 })
        let closed = await waitUntil(.seconds(5)) {
            Set(recorder.lifecycle.compactMap { e in
                if case .disconnected(reason: .closedByUs) = e.event { e.connection } else { nil }
            }) == [1, 3]
        }
        #expect(closed, "lifecycle: \(recorder.lifecycle.map(\.description))")

        // What left stops arriving (a margin for what was on the way).
        try await Task.sleep(for: .milliseconds(500))
        let before = recorder.perStream
        try await Task.sleep(for: .milliseconds(2200))
        let after = recorder.perStream
        #expect(leaving.filter { after[$0, default: 0] != before[$0, default: 0] }.isEmpty)
        let staying = pool.streams
        #expect(staying.allSatisfy { after[$0, default: 0] > before[$0, default: 0] }, "the others keep coming")

        // 150 more: 50 into the first connection's free room, 100 on a new one.
        let added = Array(all.dropFirst(350).prefix(150))
        try await pool.subscribe(added)
        conns = pool.connections
        #expect(conns.map(\.id) == [0, 2, 4])
        #expect(conns.map(\.load) == [100, 100, 100])
        #expect(Array(conns[0].streams.suffix(50)) == Array(added.prefix(50)), "the free room first")
        #expect(conns[2].streams == Array(added.dropFirst(50)))
        try await expectPartition(pool, limit: 100)
        #expect(await waitUntil(.seconds(10)) { recorder.delivered(added) == added.count },
                "\(recorder.delivered(added)) of \(added.count) new streams delivered")

        // Subscribing what is there already changes nothing.
        try await pool.subscribe(Array(added.prefix(10)))
        #expect(pool.connections.map(\.load) == [100, 100, 100])

        let stats = await sim.statistics()
        #expect(stats.closedForRate == 0)
        #expect(stats.refusedUpgrades == 0)
        #expect(stats.acceptedConnections == 5 && stats.openConnections == 3)

        await pool.stop()
        await #expect(throws: FeedPoolError.stopped) { try await pool.subscribe(["s000usdt@trade"]) }
        await sim.stop()
    }

    @Test("a pool configured past the exchange's limit: the refused SUBSCRIBE throws, its streams are not kept, the rest stays")
    func refusedPastTheLimit() async throws {
        let syms = symbols(20)
        let all = names(syms)
        let sim = try await simulator(syms, maxStreams: 50)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let pool = try await FeedPool.connect(streams: Array(all.prefix(40)),
                                              options: poolOptions(sim, maxStreams: 80, inURL: 20), on: loop)
        #expect(pool.connections.map(\.load) == [40])
        let extra = Array(all.dropFirst(40).prefix(30))
        await #expect(throws: ControlError.self) { try await pool.subscribe(extra) }
        #expect(pool.connections.map(\.load) == [40])
        #expect(Set(pool.streams) == Set(all.prefix(40)))
        try await expectPartition(pool, limit: 50)
        let stats = await sim.statistics()
        #expect(stats.closedForRate == 0 && stats.openConnections == 1)
        await pool.stop()
        await sim.stop()
    }

    @Test("connections whose policy gives up leave the pool with their streams; a later subscribe that cannot connect throws")
    func gaveUp() async throws {
        let syms = symbols(5)
        let sim = try await simulator(syms, maxStreams: 10)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = poolOptions(sim, maxStreams: 10)
        o.connection.reconnect = ReconnectPolicy(base: .milliseconds(20), cap: .milliseconds(50), maxAttempts: 2)
        let pool = try await FeedPool.connect(streams: names(syms), options: o, on: loop)
        let recorder = PoolRecorder()
        recorder.follow(pool)
        #expect(pool.connections.map(\.load) == [10, 10])
        await sim.stop()
        let gone = await waitUntil(.seconds(10)) { pool.connections.isEmpty }
        #expect(gone)
        #expect(pool.streams.isEmpty)
        let gaveUp = await waitUntil(.seconds(5)) {
            Set(recorder.lifecycle.compactMap { e in if case .gaveUp = e.event { e.connection } else { nil } }) == [0, 1]
        }
        #expect(gaveUp, "lifecycle: \(recorder.lifecycle.map(\.description))")
        await #expect(throws: (any Error).self) { try await pool.subscribe(["s000usdt@ticker"]) }
        #expect(pool.connections.isEmpty && pool.streams.isEmpty, "a connection that could not be made keeps nothing")
        await pool.stop()
    }

    @Test("books: each lives on the connection carrying its depth stream and equals the exchange's, across reconnects")
    func books() async throws {
        let syms = ["BTCUSDT", "ETHUSDT"] + symbols(10)
        let sim = try await simulator(syms, maxStreams: 10, eventsPerSecond: 40, bookLevels: 100)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = poolOptions(sim, maxStreams: 10, inURL: 4)
        o.connection.book.venue = .spot
        o.connection.book.snapshotURL = sim.httpURL + "/api/v3/depth"
        o.connection.book.snapshotLimit = 1000
        o.connection.book.budget = WeightBudget(limit: 6000, window: .seconds(60))
        let streams = names(Array(syms.dropFirst(2)), ["@miniTicker", "@ticker"]) + ["ethusdt@depth@100ms", "btcusdt@trade"]
        let pool = try await FeedPool.connect(streams: streams, orderBooks: ["btcusdt", "ETHUSDT"], options: o, on: loop)
        let recorder = PoolRecorder()
        recorder.follow(pool)
        let conns = pool.connections
        #expect(conns.map(\.load) == [10, 10, 3])
        #expect(conns[0].books == ["BTCUSDT", "ETHUSDT"])
        #expect(conns[0].streams.contains("ethusdt@depth@100ms"), "a book's depth stream goes with its book")
        try await expectPartition(pool, limit: 10)

        func equalsExchange(_ symbol: String) async throws -> Bool {
            guard let book = pool.orderBook(symbol: symbol) else { return false }
            #expect(pool.connection(carrying: symbol.lowercased() + "@depth@100ms")?.feed.orderBook(symbol: symbol) === book)
            return try await bookEqualsExchange(book) {
                try DepthSnapshot(json: try await HTTPClient.get(
                    "\(sim.httpURL)/api/v3/depth?symbol=\(symbol)&limit=1000", on: loop).body)
            }
        }
        #expect(try await equalsExchange("BTCUSDT"))
        #expect(try await equalsExchange("ETHUSDT"))

        // Unsubscribing a book's depth stream leaves the book where it is.
        try await pool.unsubscribe(["ethusdt@depth@100ms"])
        #expect(pool.connections.map(\.load) == [10, 10, 3])
        try await expectPartition(pool, limit: 10)

        // Every connection drops: each comes back with its own streams (the
        // simulator numbers connections in accept order, not the pool's),
        // and the books resync.
        #expect(await sim.inject(.dropAfter(messages: 0)) == 3)
        let back = await waitUntil(.seconds(10)) {
            let connected = recorder.lifecycle.compactMap { e in
                if case .connected = e.event { e.connection } else { nil }
            }
            return (0..<3).allSatisfy { id in connected.count { $0 == id } == 2 }
                && pool.connections.allSatisfy { $0.feed.connection != nil }
        }
        #expect(back, "lifecycle: \(recorder.lifecycle.map(\.description))")
        try await expectPartition(pool, limit: 10)
        #expect(try await equalsExchange("BTCUSDT"))
        #expect(try await equalsExchange("ETHUSDT"))

        let stats = await sim.statistics()
        #expect(stats.closedForRate == 0 && stats.refusedUpgrades == 0)
        await pool.stop()
        await sim.stop()
    }
}
