import CRingFeed
import Foundation
import Synchronization
@testable import RingFeed
import RingFeedSimulator
import Testing

// Rotation without a gap and clean shutdown (issue 6): a working connection
// is replaced before its age limit or on a serverShutdown notice, with
// every trade id delivered exactly once across the switch and the book
// moving over without a resync; stop() closes with 1000 and fails what is
// still waiting.

/// What a feed delivered: trade ids per stream (and gaps), book ticker
/// update ids, lifecycle events.
private final class Log: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private let lock = NSLock()
    private var trades: [String: [Int64]] = [:]
    private var gapEvents: [TradeGap] = []
    private var tickerIds: [Int64] = []
    private var life: [LifecycleEvent] = []
    private var ends = (lifecycle: false, events: false)

    func follow(_ feed: ResilientFeed) {
        Task {
            for await e in feed.lifecycle { self.lock.withLock { self.life.append(e) } }
            self.lock.withLock { self.ends.lifecycle = true }
        }
        Task {
            for await e in feed.events {
                self.lock.withLock {
                    switch e {
                    case let .gap(g): self.gapEvents.append(g)
                    case let .market(m):
                        switch m.event {
                        case let .trade(t): self.trades[m.stream, default: []].append(t.tradeId)
                        case let .aggTrade(a): self.trades[m.stream, default: []].append(a.aggTradeId)
                        case let .bookTicker(b): self.tickerIds.append(b.updateId)
                        default: break
                        }
                    }
                }
            }
            self.lock.withLock { self.ends.events = true }
        }
    }

    func ids(_ stream: String) -> [Int64] { lock.withLock { trades[stream] ?? [] } }
    var gaps: [TradeGap] { lock.withLock { gapEvents } }
    var bookTickerIds: [Int64] { lock.withLock { tickerIds } }
    var lifecycle: [LifecycleEvent] { lock.withLock { life } }
    var events: [ConnectionEvent] { lifecycle.map(\.event) }
    var rotations: [Rotation] { events.compactMap { if case let .rotated(r) = $0 { r } else { nil } } }
    var ended: (lifecycle: Bool, events: Bool) { lock.withLock { ends } }
}

/// Every id is the previous + 1: no duplicate, no hole.
private func expectConsecutive(_ ids: [Int64], _ stream: String) {
    #expect(ids.count > 10, "\(stream): only \(ids.count) trades")
    for (a, b) in zip(ids, ids.dropFirst()) where b != a + 1 {
        Issue.record("\(stream): \(b) after \(a)")
        return
    }
}

private func startSimulator(_ configure: (inout SimulatorConfiguration) -> Void = { _ in }) async throws -> ExchangeSimulator {
    var market = SyntheticMarket.Configuration()
    market.eventsPerSecond = 300
    market.marketOrderShare = 0.3
    market.bookLevels = 100
    var config = SimulatorConfiguration()
    configure(&config)
    return try await ExchangeSimulator.start(source: SyntheticMarket(symbols: ["BTCUSDT", "ETHUSDT"], seed: 61, configuration: market),
                                             configuration: config)
}

private func feedOptions(_ sim: ExchangeSimulator) -> ResilientFeed.Options {
    var o = ResilientFeed.Options()
    o.feed.url = sim.webSocketURL
    o.feed.handshakeTimeout = .seconds(2)
    o.reconnect = ReconnectPolicy(base: .milliseconds(20), cap: .milliseconds(200))
    o.budget = ConnectionBudget(limit: 1000, window: .seconds(60))
    o.idleTimeout = .seconds(5)
    o.rotateAfter = nil
    o.switchTimeout = .seconds(1)
    o.book.venue = .spot
    o.book.snapshotURL = sim.httpURL + "/api/v3/depth"
    o.book.snapshotLimit = 1000
    o.book.budget = WeightBudget(limit: 6000, window: .seconds(60))
    return o
}

private let tradeStreams = ["btcusdt@trade", "btcusdt@aggTrade"]

/// Runs a feed on BTCUSDT trades, aggTrades, book ticker and book until
/// `rotations` rotations happened, then checks the guarantees.
private func runRotations(_ sim: ExchangeSimulator, options o: ResilientFeed.Options, rotations: Int,
                          label: String, trigger: (() async -> Void)? = nil) async throws -> Log {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let feed = try await ResilientFeed.connect(streams: tradeStreams + ["btcusdt@bookTicker"], orderBooks: ["BTCUSDT"],
                                               options: o, on: loop)
    let log = Log()
    log.follow(feed)
    let book = try #require(feed.orderBook(symbol: "BTCUSDT"))
    #expect(await waitUntil(.seconds(5)) { book.state == .live })
    await trigger?()
    #expect(await waitUntil(.seconds(15)) { log.rotations.count >= rotations }, "\(label): \(log.events)")
    try await Task.sleep(for: .milliseconds(200)) // trades after the last switch
    for s in tradeStreams { expectConsecutive(log.ids(s), s) }
    #expect(log.gaps.isEmpty, "\(label): \(log.gaps)")
    #expect(feed.stats.gaps == 0)
    let tickers = log.bookTickerIds
    #expect(zip(tickers, tickers.dropFirst()).allSatisfy { $0 < $1 }, "\(label): book ticker ids repeat or go back")
    #expect(book.stats.resyncs == 0, "\(label): the book resynced")
    #expect(book.stats.syncs == 1)
    #expect(try await bookEqualsExchange(book) {
        try DepthSnapshot(json: try await HTTPClient.get("\(sim.httpURL)/api/v3/depth?symbol=BTCUSDT&limit=1000", on: loop).body)
    })
    #expect(feed.stats.rotations >= rotations)
    for r in log.rotations {
        #expect(r.caughtUp, "\(label): \(r)")
        print("\(label): \(r)")
    }
    print("\(label): \(log.ids("btcusdt@trade").count) trades, \(feed.stats.duplicates) repeats dropped, \(feed.connections) connections")
    await feed.stop()
    #expect(await waitUntil(.seconds(5)) { log.ended.lifecycle && log.ended.events })
    return log
}

@Suite("Rotation", .serialized)
struct RotationTests {
    @Test("maximum age 2 s with a shutdown notice: several rotations, trade ids consecutive, the book never resyncs")
    func maximumAgeWithNotice() async throws {
        let sim = try await startSimulator {
            $0.limits.maxConnectionAge = .seconds(2)
            $0.limits.shutdownNotice = .milliseconds(1200)
        }
        let log = try await runRotations(sim, options: feedOptions(sim), rotations: 3, label: "notice")
        #expect(log.rotations.allSatisfy { $0.reason == .serverShutdown })
        // The simulator never had to close a connection for its age: each was replaced first.
        #expect(await sim.statistics().closedForAge == 0)
        #expect(log.events.contains(.disconnected(reason: .serverShutdown)))
        await sim.stop()
    }

    @Test("rotateAfter 1.5 s, no notice: the same guarantees")
    func rotateAfterAge() async throws {
        let sim = try await startSimulator()
        var o = feedOptions(sim)
        o.rotateAfter = .milliseconds(1500)
        let log = try await runRotations(sim, options: o, rotations: 3, label: "age")
        #expect(log.rotations.allSatisfy { $0.reason == .age(.milliseconds(1500)) })
        #expect(log.events.contains { if case .disconnected(.rotated) = $0 { true } else { false } })
        await sim.stop()
    }

    @Test("an injected serverShutdown closing after 2 s: rotated before the close, no gap")
    func injectedShutdown() async throws {
        let sim = try await startSimulator()
        let injected = Mutex<ContinuousClock.Instant?>(nil)
        let log = try await runRotations(sim, options: feedOptions(sim), rotations: 1, label: "injected") {
            injected.withLock { $0 = .now }
            #expect(await sim.inject(.serverShutdown(closeAfter: .seconds(2))) == 1)
        }
        let at = try #require(injected.withLock { $0 })
        let rotated = try #require(log.lifecycle.first { if case .rotated = $0.event { true } else { false } })
        #expect(rotated.time - at < .seconds(2), "rotated \(rotated.time - at) after the notice")
        // The old connection ended by our close, not the server's 1001.
        #expect(!log.events.contains { if case .disconnected(.closedByServer(1001, _)) = $0 { true } else { false } })
        await sim.stop()
    }
}

@Suite("Clean shutdown")
struct CleanShutdownTests {
    /// A server that accepts the upgrade, never answers a control request,
    /// and records the close code it receives.
    private final class Silent: @unchecked Sendable {
        // @unchecked: guarded by the lock.
        private let lock = NSLock()
        private var codes: [Int] = []
        private var errors: [RingFeedError?] = []
        private var requests = 0
        private var opens = 0
        var closes: [(Int, RingFeedError?)] { lock.withLock { Array(zip(codes, errors)) } }
        var opened: Int { lock.withLock { opens } }
        func open() -> Int { lock.withLock { opens += 1; return opens } }
        var received: Int { lock.withLock { requests } }
        func closed(_ info: WebSocketCloseInfo) { lock.withLock { codes.append(info.code); errors.append(info.error) } }
        func message() { lock.withLock { requests += 1 } }
    }

    @Test("stop(): a 1000 close handshake, a waiting request fails with .stopped, both sequences end")
    func stopIsClean() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let silent = Silent()
        var handlers = WebSocketServer.Handlers()
        handlers.onMessage = { _, _ in silent.message() }
        handlers.onClose = { _, info in silent.closed(info) }
        let server = try await WebSocketServer.start(on: loop, handlers: handlers)
        var o = ResilientFeed.Options()
        o.feed.url = "ws://127.0.0.1:\(server.port)"
        o.feed.requestTimeout = .seconds(30)
        o.budget = ConnectionBudget(limit: 100, window: .seconds(60))
        o.idleTimeout = nil
        let feed = try await ResilientFeed.connect(streams: ["btcusdt@trade"], options: o, on: loop)
        let log = Log()
        log.follow(feed)
        let request = Task { () -> (any Error)? in
            do {
                try await feed.subscribe(["ethusdt@trade"])
                return nil
            } catch {
                return error
            }
        }
        #expect(await waitUntil(.seconds(5)) { silent.received == 1 })
        let started = ContinuousClock.now
        await feed.stop()
        let took = ContinuousClock.now - started
        let error = await request.value
        #expect(error as? ResilientFeedError == .stopped, "\(String(describing: error))")
        #expect(await waitUntil(.seconds(5)) { !silent.closes.isEmpty })
        let close = try #require(silent.closes.first)
        #expect(close.0 == 1000, "the server saw close code \(close.0)")
        #expect(close.1 == nil, "not a clean handshake: \(String(describing: close.1))")
        #expect(await waitUntil(.seconds(5)) { log.ended.lifecycle && log.ended.events })
        #expect(log.events.last == .disconnected(reason: .closedByUs))
        await #expect(throws: ResilientFeedError.stopped) { try await feed.subscribe(["bnbusdt@trade"]) }
        print("stop: closed with \(close.0) in \(took)")
        server.stop()
    }

    @Test("stop() while a replacement is held back: both connections closed with 1000, both sequences end")
    func stopDuringRotation() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let silent = Silent()
        var handlers = WebSocketServer.Handlers()
        // The first connection gets a shutdown notice; the replacement never
        // delivers a trade, so it stays held back.
        handlers.onOpen = { c in if silent.open() == 1 { _ = c.send(text: #"{"e":"serverShutdown","E":1}"#) } }
        handlers.onClose = { _, info in silent.closed(info) }
        let server = try await WebSocketServer.start(on: loop, handlers: handlers)
        var o = ResilientFeed.Options()
        o.feed.url = "ws://127.0.0.1:\(server.port)"
        o.budget = ConnectionBudget(limit: 100, window: .seconds(60))
        o.idleTimeout = nil
        o.switchTimeout = .seconds(30)
        let feed = try await ResilientFeed.connect(streams: ["btcusdt@trade"], options: o, on: loop)
        let log = Log()
        log.follow(feed)
        #expect(await waitUntil(.seconds(5)) { silent.opened == 2 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(log.rotations.isEmpty)
        let started = ContinuousClock.now
        await feed.stop()
        let took = ContinuousClock.now - started
        #expect(took < .seconds(5), "stop took \(took)")
        #expect(await waitUntil(.seconds(5)) { silent.closes.count == 2 })
        #expect(silent.closes.allSatisfy { $0.0 == 1000 && $0.1 == nil }, "\(silent.closes)")
        #expect(await waitUntil(.seconds(5)) { log.ended.lifecycle && log.ended.events })
        #expect(log.rotations.isEmpty)
        #expect(log.events.last == .disconnected(reason: .closedByUs), "\(log.events)")
        print("stop during a rotation: \(took)")
        server.stop()
    }
}

@Suite("Stale stream watch")
struct StaleStreamTests {
    /// A server that sends two trade streams every 10 ms; `frozen` keeps
    /// ethusdt's event time from advancing (its ids still do).
    private final class TwoStreams: @unchecked Sendable {
        // @unchecked: `conns`, `id` and `time` are touched on the loop thread only; `frozen` is guarded by the lock.
        private let lock = NSLock()
        private var isFrozen = false
        var frozen: Bool {
            get { lock.withLock { isFrozen } }
            set { lock.withLock { isFrozen = newValue } }
        }
        var conns: [WebSocketServerConnection] = []
        private var id: Int64 = 1
        private var time: Int64 = 1_700_000_000_000
        private var ethTime: Int64 = 1_700_000_000_000

        func send() {
            id += 1
            time += 10
            if !frozen { ethTime = time }
            for c in conns where c.isOpen {
                for (stream, symbol, e) in [("btcusdt@trade", "BTCUSDT", time), ("ethusdt@trade", "ETHUSDT", ethTime)] {
                    _ = c.send(text: #"{"stream":"\#(stream)","data":{"e":"trade","E":\#(e),"s":"\#(symbol)","t":\#(id),"p":"1.5","q":"2","T":\#(e),"m":true,"M":true}}"#)
                }
            }
        }
    }

    @Test("a stream whose event time stops while the other's advances: the connection is dropped, the reason names it")
    func staleStream() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let source = TwoStreams()
        var handlers = WebSocketServer.Handlers()
        handlers.onOpen = { c in source.conns.append(c) }
        let server = try await WebSocketServer.start(on: loop, handlers: handlers)
        let pump = Task {
            let end = ContinuousClock.now + .seconds(8)
            while !Task.isCancelled, ContinuousClock.now < end {
                loop.execute { source.send() }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        defer { pump.cancel() }
        var o = ResilientFeed.Options()
        o.feed.url = "ws://127.0.0.1:\(server.port)"
        o.budget = ConnectionBudget(limit: 100, window: .seconds(60))
        o.reconnect = ReconnectPolicy(base: .milliseconds(20), cap: .milliseconds(100))
        o.staleStreamTimeout = .milliseconds(400)
        let feed = try await ResilientFeed.connect(streams: ["btcusdt@trade", "ethusdt@trade"], options: o, on: loop)
        let log = Log()
        log.follow(feed)
        // Both advance: nothing happens.
        try await Task.sleep(for: .seconds(1))
        #expect(!log.events.contains { if case .disconnected = $0 { true } else { false } }, "\(log.events)")
        let frozenAt = ContinuousClock.now
        source.frozen = true
        let expected = ConnectionEvent.disconnected(reason: .staleStream("ethusdt@trade", after: .milliseconds(400)))
        #expect(await waitUntil(.seconds(3)) { log.events.contains(expected) }, "\(log.events)")
        let seen = log.lifecycle.first { $0.event == expected }.map { $0.time - frozenAt }
        print("stale stream: dropped \(String(describing: seen)) after ethusdt's time stopped")
        #expect(await waitUntil(.seconds(3)) { log.events.filter { if case .connected = $0 { true } else { false } }.count >= 2 })
        await feed.stop()
        server.stop()
    }
}

@Suite("Client pings")
struct ClientPingTests {
    @Test("pings answered while the server works; a stalled server leaves one unanswered and the connection is replaced")
    func pingTimeout() async throws {
        let sim = try await startSimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = feedOptions(sim)
        o.idleTimeout = nil // only the pings can tell
        o.pingInterval = .milliseconds(250)
        o.pingTimeout = .milliseconds(700)
        let feed = try await ResilientFeed.connect(streams: ["btcusdt@trade"], options: o, on: loop)
        let log = Log()
        log.follow(feed)
        let before = await sim.statistics()
        try await Task.sleep(for: .milliseconds(1300))
        let after = await sim.statistics()
        let asked = after.pingsReceived - before.pingsReceived
        #expect(asked >= 2, "\(asked) pings in 1.3 s") // 5 due; generous for a loaded host
        // WebSocket pings, not control requests; answered, with a round trip.
        #expect(after.controlMessages == before.controlMessages)
        #expect(feed.stats.lastPingRTT.map { $0 > .zero && $0 < .milliseconds(700) } == true, "\(feed.stats)")
        #expect(!log.events.contains { if case .disconnected = $0 { true } else { false } }, "\(log.events)")
        let stalledAt = ContinuousClock.now
        #expect(await sim.inject(.stall) == 1)
        let expected = ConnectionEvent.disconnected(reason: .noPingAnswer(.milliseconds(700)))
        #expect(await waitUntil(.seconds(4)) { log.events.contains(expected) }, "\(log.events)")
        #expect(await waitUntil(.seconds(4)) { log.events.filter { if case .connected = $0 { true } else { false } }.count >= 2 })
        let seen = log.lifecycle.first { $0.event == expected }.map { $0.time - stalledAt }
        print("pings: \(asked) answered in 1.3 s; stalled server dropped \(String(describing: seen)) after the stall")
        await feed.stop()
        await sim.stop()
    }
}
