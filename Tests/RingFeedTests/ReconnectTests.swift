import CRingFeed
import Foundation
@testable import RingFeed
import RingFeedSimulator
import Testing

// Reconnects (issue 6): backoff with full jitter, a connection budget shared
// by every connection, lifecycle events with reasons, books that go stale
// and resync, and trade ids delivered once each across reconnects, against
// the simulator's faults.

/// A seeded generator (SplitMix64) so the policy's draws are repeatable.
private struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}


/// What a feed's two sequences delivered: lifecycle events, and per trade
/// stream its ids and gaps in order.
private final class Recorder: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    enum Item: Equatable {
        case id(Int64)
        case gap(Int64, Int64)
    }
    private let lock = NSLock()
    private var life: [LifecycleEvent] = []
    private var trades: [String: [Item]] = [:]
    private var ends = (lifecycle: false, events: false)
    private var tasks: [Task<Void, Never>] = []

    func follow(_ feed: ResilientFeed) {
        tasks.append(Task {
            for await e in feed.lifecycle { self.lock.withLock { self.life.append(e) } }
            self.lock.withLock { self.ends.lifecycle = true }
        })
        tasks.append(Task {
            for await e in feed.events {
                self.lock.withLock {
                    switch e {
                    case let .gap(g): self.trades[g.stream, default: []].append(.gap(g.firstMissing, g.lastMissing))
                    case let .market(m):
                        switch m.event {
                        case let .trade(t): self.trades[m.stream, default: []].append(.id(t.tradeId))
                        case let .aggTrade(a): self.trades[m.stream, default: []].append(.id(a.aggTradeId))
                        default: break
                        }
                    }
                }
            }
            self.lock.withLock { self.ends.events = true }
        })
    }

    var lifecycle: [LifecycleEvent] { lock.withLock { life } }
    var events: [ConnectionEvent] { lifecycle.map(\.event) }
    var ended: (lifecycle: Bool, events: Bool) { lock.withLock { ends } }
    func items(_ stream: String) -> [Item] { lock.withLock { trades[stream] ?? [] } }
    func count(_ match: (ConnectionEvent) -> Bool) -> Int { events.filter(match).count }

    /// Waits (bounded) for both sequences' tasks to end.
    func finished(within timeout: Duration = .seconds(5)) async -> Bool {
        await waitUntil(timeout) { ended.lifecycle && ended.events }
    }

    /// Checks one stream: every id is the previous + 1 or comes right after
    /// a gap that starts at the previous + 1. Returns (ids, gaps).
    func checkExactlyOnce(_ stream: String) -> (ids: Int, gaps: Int) {
        var previous: Int64?
        var ids = 0, gaps = 0
        for item in items(stream) {
            switch item {
            case let .id(x):
                if let p = previous { #expect(x == p + 1, "\(stream): \(x) after \(p) with no gap event") }
                previous = x
                ids += 1
            case let .gap(first, last):
                #expect(previous.map { first == $0 + 1 } ?? false, "\(stream): gap \(first)...\(last) after \(String(describing: previous))")
                #expect(last >= first)
                previous = last
                gaps += 1
            }
        }
        return (ids, gaps)
    }
}

private func isConnected(_ e: ConnectionEvent) -> Bool { if case .connected = e { true } else { false } }
private func isConnecting(_ e: ConnectionEvent) -> Bool { if case .connecting = e { true } else { false } }
private func isDisconnected(_ e: ConnectionEvent) -> Bool { if case .disconnected = e { true } else { false } }

private func synthetic(_ symbols: [String], eventsPerSecond: Double = 40,
                       _ configure: (inout SimulatorConfiguration) -> Void = { _ in }) async throws -> ExchangeSimulator {
    var market = SyntheticMarket.Configuration()
    market.eventsPerSecond = eventsPerSecond
    market.bookLevels = 100
    var config = SimulatorConfiguration()
    configure(&config)
    return try await ExchangeSimulator.start(source: SyntheticMarket(symbols: symbols, seed: 31, configuration: market),
                                             configuration: config)
}

private func options(_ url: String, _ policy: ReconnectPolicy, budget: ConnectionBudget? = nil,
                     idle: Duration? = .seconds(5)) -> ResilientFeed.Options {
    var o = ResilientFeed.Options()
    o.feed.url = url
    o.feed.handshakeTimeout = .seconds(2)
    o.reconnect = policy
    o.budget = budget ?? ConnectionBudget(limit: 1000, window: .seconds(60))
    o.idleTimeout = idle
    return o
}

private func bookOptions(_ sim: ExchangeSimulator) -> BookOptions {
    var o = BookOptions()
    o.venue = .spot
    o.snapshotURL = sim.httpURL + "/api/v3/depth"
    o.snapshotLimit = 1000
    o.budget = WeightBudget(limit: 6000, window: .seconds(60))
    return o
}

/// Whether the book equals the simulator's REST book at the same update id.
private func equalsExchange(_ book: OrderBook, _ sim: ExchangeSimulator, loop: EventLoop, tries: Int = 40) async throws -> Bool {
    try await bookEqualsExchange(book, tries: tries) {
        try DepthSnapshot(json: try await HTTPClient.get("\(sim.httpURL)/api/v3/depth?symbol=\(book.symbol)&limit=1000", on: loop).body)
    }
}

/// Largest number of `times` inside any window of length `window`.
private func busiestWindow(_ times: [ContinuousClock.Instant], _ window: Duration) -> Int {
    let t = times.sorted()
    var best = 0
    var j = 0
    for i in t.indices {
        while j < t.count && t[j] - t[i] < window { j += 1 }
        best = max(best, j - i)
    }
    return best
}

@Suite("Reconnect: policy and budget")
struct ReconnectPolicyTests {
    @Test("full jitter: every delay in [0, min(cap, base * factor^(n-1))], spread over the range, capped")
    func delaysWithinBounds() {
        let p = ReconnectPolicy(base: .milliseconds(100), factor: 2, cap: .seconds(5))
        var random = SeededRandom(state: 7)
        for n in 1...12 {
            let ceiling = p.ceiling(forAttempt: n)
            #expect(ceiling == min(.seconds(5), .milliseconds(100) * (1 << (n - 1))))
            var top = Duration.zero
            var sum = 0.0
            for _ in 0..<2000 {
                let d = p.delay(forAttempt: n, using: &random)
                #expect(d >= .zero && d <= ceiling)
                top = max(top, d)
                sum += Double(d.nanoseconds)
            }
            let mean = sum / 2000 / Double(ceiling.nanoseconds)
            #expect(top > ceiling * 0.95, "attempt \(n): draws reach the ceiling")
            #expect(abs(mean - 0.5) < 0.05, "attempt \(n): uniform, mean \(mean) of the ceiling")
        }
        #expect(p.ceiling(forAttempt: 1000) == .seconds(5))
        #expect(p.ceiling(forAttempt: .max) == .seconds(5))
        #expect(ReconnectPolicy().cap == .seconds(60))
    }

    @Test("attempts: the first has no delay, a healthy connection resets the count, maxAttempts gives up")
    func attemptsAndReset() {
        var p = ReconnectPolicy(base: .milliseconds(100), cap: .seconds(10), maxAttempts: 4, healthyAfter: .seconds(5))
        var random = SeededRandom(state: 1)
        var s = ReconnectState(policy: p)
        let first = s.next(using: &random)
        #expect(first?.attempt == 1 && first?.delay == .zero)
        s.ended(after: .seconds(1)) // not healthy
        let second = s.next(using: &random)
        #expect(second?.attempt == 2 && second!.delay <= .milliseconds(200))
        s.ended(after: .zero)
        #expect(s.next(using: &random)?.attempt == 3)
        s.ended(after: .seconds(6)) // healthy: back to 1, and it waits
        let reset = s.next(using: &random)
        #expect(reset?.attempt == 1 && reset!.delay <= .milliseconds(100))
        for n in 2...4 {
            s.ended(after: .zero)
            #expect(s.next(using: &random)?.attempt == n)
        }
        s.ended(after: .zero)
        #expect(s.next(using: &random) == nil, "a fifth attempt with maxAttempts 4")
        p.maxAttempts = nil
        var unlimited = ReconnectState(policy: p)
        for _ in 0..<10_000 {
            #expect(unlimited.next(using: &random) != nil)
            unlimited.ended(after: .zero)
        }
    }

    final class FakeClock: @unchecked Sendable {
        // @unchecked: the test moves it from one thread at a time.
        var ns: UInt64 = 1_000_000_000
    }

    @Test("budget: never more than the limit in any window, waits for the oldest grant to leave it")
    func budgetWindow() {
        let clock = FakeClock()
        let budget = ConnectionBudget(limit: 5, window: .seconds(1), clock: { clock.ns })
        var granted: [UInt64] = []
        var random = SeededRandom(state: 3)
        while granted.count < 200 {
            if let wait = budget.tryAcquire() {
                #expect(budget.usage.inWindow == 5)
                // Half the time come back exactly when told, else a bit earlier.
                let step = UInt64.random(in: 0...1, using: &random) == 0 ? wait.nanoseconds : wait.nanoseconds / 2 + 1
                clock.ns += step
            } else {
                granted.append(clock.ns)
                clock.ns += UInt64.random(in: 0...50_000_000, using: &random)
            }
        }
        for i in granted.indices {
            let inWindow = granted[i...].prefix { $0 < granted[i] + 1_000_000_000 }.count
            #expect(inWindow <= 5)
        }
        #expect(budget.usage.total == 200)
        #expect(ConnectionBudget.binance.limit == 300 && ConnectionBudget.binance.window == .seconds(300))
    }

    @Test("budget: acquire waits and is cancellable")
    func budgetCancel() async throws {
        let budget = ConnectionBudget(limit: 1, window: .seconds(30))
        try await budget.acquire()
        let waiting = Task { try await budget.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(budget.usage.total == 1 && budget.usage.waits >= 1)
    }

    @Test("trade ids: duplicates dropped, holes reported, an unsubscribed stream forgotten")
    func sequencer() {
        let s = TradeSequencer()
        let trade = Int32(RF_BN_TRADE.rawValue), agg = Int32(RF_BN_AGG_TRADE.rawValue)
        func check(_ kind: Int32, _ symbol: String, _ id: Int64) -> TradeSequencer.Verdict {
            Array(symbol.utf8).withUnsafeBytes { s.check(kind: kind, symbol: $0, id: id) }
        }
        #expect(check(trade, "BTCUSDT", 100) == .next)
        #expect(check(trade, "BTCUSDT", 101) == .next)
        #expect(check(agg, "BTCUSDT", 101) == .next) // another stream
        #expect(check(trade, "BTCUSDT", 101) == .duplicate)
        #expect(check(trade, "BTCUSDT", 50) == .duplicate)
        #expect(check(trade, "BTCUSDT", 105) == .gap(102, 104))
        #expect(check(trade, "BTCUSDT", 106) == .next)
        #expect(s.lastId(stream: "btcusdt@trade") == 106)
        for i in 0..<20 { #expect(check(trade, "SYM\(i)", 1) == .next) } // past the linear limit
        #expect(check(trade, "BTCUSDT", 106) == .duplicate)
        #expect(check(trade, "SYM7", 3) == .gap(2, 2))
        s.forget(stream: "btcusdt@trade")
        #expect(s.lastId(stream: "btcusdt@trade") == nil)
        #expect(check(trade, "BTCUSDT", 500) == .next)
        #expect(check(trade, "SYM7", 4) == .next)
    }

    @Test("disconnect reasons in words: close codes, EOF without close_notify, TLS, refused upgrades")
    func reasons() {
        #expect(DisconnectReason(closeInfo: WebSocketCloseInfo(code: 1001)) == .closedByServer(code: 1001))
        #expect("\(DisconnectReason.closedByServer(code: 1008))".contains("policy violation"))
        let limited = DisconnectReason(closeInfo: WebSocketCloseInfo(code: 1008, reason: "Too many requests"))
        #expect(limited == .closedByServer(code: 1008, reason: "Too many requests"))
        #expect("\(limited)".contains("1008 policy violation): Too many requests"))
        #expect(DisconnectReason(closeInfo: WebSocketCloseInfo(code: 1006, error: .closed)) == .connectionLost)
        let eof = RingFeedError(code: RF_ETLS_PROTOCOL.rawValue, detail: "unexpected eof while reading")
        #expect(DisconnectReason(closeInfo: WebSocketCloseInfo(code: 1006, error: eof)) == .connectionLost)
        let alert = RingFeedError(code: RF_ETLS_PROTOCOL.rawValue, detail: "sslv3 alert bad record mac")
        #expect(DisconnectReason(closeInfo: WebSocketCloseInfo(code: 1006, error: alert)) == .tls(alert))
        #expect(DisconnectReason(connectError: RingFeedError.tlsUntrusted) == .tls(.tlsUntrusted))
        #expect(DisconnectReason(connectError: RingFeedError.connectionRefused) == .connectionRefused)
        #expect(DisconnectReason(connectError: RingFeedError.timedOut) == .handshakeTimeout)
        let refused = RingFeedError(code: RF_EHS_STATUS.rawValue, detail: "429 Too Many Requests: {}")
        #expect(DisconnectReason(connectError: refused) == .handshakeRefused(status: 429, detail: "429 Too Many Requests: {}"))
        #expect(DisconnectReason(closeInfo: WebSocketCloseInfo(code: 1007, error: .invalidUTF8)) == .protocolError(code: 1007, .invalidUTF8))
    }
}

@Suite("Reconnect against the simulator", .serialized, .timeLimit(.minutes(2)))
struct ReconnectTests {
    static let policy = ReconnectPolicy(base: .milliseconds(50), factor: 2, cap: .milliseconds(800), healthyAfter: .milliseconds(300))

    @Test("dropped mid-stream: disconnected -> reconnecting -> connected, every stream back, book resyncs, trades exactly once")
    func dropMidStream() async throws {
        let sim = try await synthetic(["BTCUSDT", "ETHUSDT"])
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var policy = Self.policy
        policy.healthyAfter = .milliseconds(300) // each drop comes after a healthy connection: attempt 1
        var o = options(sim.webSocketURL, policy)
        o.book = bookOptions(sim)
        let streams = ["btcusdt@trade", "btcusdt@aggTrade", "ethusdt@aggTrade", "ethusdt@bookTicker"]
        let feed = try await ResilientFeed.connect(streams: streams, orderBooks: ["BTCUSDT"], options: o, on: loop)
        let rec = Recorder()
        rec.follow(feed)
        let btc = try #require(feed.orderBook(symbol: "BTCUSDT"))
        let bookLog = BookEventLog()
        bookLog.watch(btc)
        #expect(await waitUntil { btc.state == .live && rec.items("btcusdt@trade").count >= 5 })
        try await Task.sleep(for: .milliseconds(300))

        for round in 1...2 {
            await sim.inject(.dropAfter(messages: 0))
            #expect(await waitUntil { rec.count(isConnected) == round + 1 }) // the first is connect's
            let events = rec.events
            let drop = try #require(events.lastIndex(where: isDisconnected))
            guard case let .disconnected(reason) = events[drop] else { continue }
            #expect(reason == .connectionLost || reason == .connectionReset, "reason: \(reason)")
            #expect(events.count > drop + 3)
            if events.count > drop + 3 {
                if case let .reconnecting(1, d) = events[drop + 1] {
                    #expect(d <= Self.policy.base)
                } else {
                    Issue.record("\(events[drop + 1]) after the drop")
                }
                #expect(events[drop + 2] == .connecting(attempt: 1))
                #expect(events[drop + 3] == .connected(attempt: 1))
            }
            #expect(bookLog.all.contains { $0.0 == .disconnected && $0.1 == .stale })
            // The new connection has every stream, the book's included (asked of the exchange).
            let listed = try await #require(feed.connection).listSubscriptions()
            #expect(Set(listed) == Set(streams + ["btcusdt@depth@100ms"]))
            #expect(await waitUntil { btc.state == .live && btc.stats.resyncs == round })
            #expect(try await equalsExchange(btc, sim, loop: loop))
            let before = rec.items("btcusdt@trade").count
            #expect(await waitUntil { rec.items("btcusdt@trade").count >= before + 3 })
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(feed.connections == 3)
        await feed.stop()
        #expect(await rec.finished())
        #expect(btc.state == .stale)
        var gaps = 0
        for s in ["btcusdt@trade", "btcusdt@aggTrade", "ethusdt@aggTrade"] {
            let (ids, g) = rec.checkExactlyOnce(s)
            #expect(ids > 5)
            gaps += g
        }
        #expect(feed.stats.gaps == gaps && feed.stats.duplicates == 0)
        print("drop mid-stream: \(gaps) trade gaps reported over 2 drops, \(feed.stats.missedTrades) ids missed")
        #expect(rec.events.last == .disconnected(reason: .closedByUs))
        await sim.stop()
    }

    @Test("stalled without a close: idle timeout within the limit, reconnect, the missed trades reported as a gap")
    func stall() async throws {
        let sim = try await synthetic(["BTCUSDT"], eventsPerSecond: 60)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let idle = Duration.milliseconds(800)
        let feed = try await ResilientFeed.connect(streams: ["btcusdt@trade", "btcusdt@depth@100ms"],
                                                   options: options(sim.webSocketURL, Self.policy, idle: idle), on: loop)
        let rec = Recorder()
        rec.follow(feed)
        #expect(await waitUntil { rec.items("btcusdt@trade").count >= 3 })
        let stalledAt = ContinuousClock.now
        await sim.inject(.stall)
        #expect(await waitUntil(.seconds(5)) { rec.count(isConnected) == 2 })
        let life = rec.lifecycle
        let drop = try #require(life.first { isDisconnected($0.event) })
        #expect(drop.event == .disconnected(reason: .idleTimeout(idle)))
        let detected = drop.time - stalledAt
        #expect(detected >= idle - .milliseconds(50) && detected <= idle + .milliseconds(400), "detected after \(detected)")
        let before = rec.items("btcusdt@trade").count
        #expect(await waitUntil { rec.items("btcusdt@trade").count >= before + 3 })
        await feed.stop()
        #expect(await rec.finished())
        let (_, gaps) = rec.checkExactlyOnce("btcusdt@trade")
        #expect(gaps >= 1, "trades made during \(idle) of stall are reported missing")
        print("stall: detected after \(detected) (idle timeout \(idle)); \(gaps) gap(s), \(feed.stats.missedTrades) ids missed")
        await sim.stop()
    }

    @Test("subscribe / unsubscribe reach the live connection and every later one; a handler and onGap on the loop thread")
    func subscriptionsAndHandler() async throws {
        let sim = try await synthetic(["BTCUSDT", "ETHUSDT"], eventsPerSecond: 60)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let log = HandlerLog()
        let feed = try await ResilientFeed.connect(
            streams: ["btcusdt@trade"], options: options(sim.webSocketURL, Self.policy, idle: .milliseconds(800)), on: loop,
            handler: { view in
                let isTrade = view.kind == RF_BN_TRADE && view.streamBytes.elementsEqual("btcusdt@trade".utf8)
                log.event(tradeId: isTrade ? view.raw.pointee.u.trade.id : nil, onLoop: loop.inEventLoop)
            },
            onGap: { gap in log.gap(gap, onLoop: loop.inEventLoop) })
        let rec = Recorder()
        rec.follow(feed)
        try await feed.subscribe(["ethusdt@aggTrade"])
        #expect(Set(try await #require(feed.connection).listSubscriptions()) == ["btcusdt@trade", "ethusdt@aggTrade"])
        try await feed.unsubscribe(["btcusdt@trade"])
        #expect(feed.streams == ["ethusdt@aggTrade"])
        #expect(try await #require(feed.connection).listSubscriptions() == ["ethusdt@aggTrade"])

        await sim.inject(.dropAfter(messages: 0))
        #expect(await waitUntil { rec.count(isConnected) == 2 })
        #expect(try await #require(feed.connection).listSubscriptions() == ["ethusdt@aggTrade"])
        log.reset()
        try await feed.subscribe(["btcusdt@trade"])
        #expect(await waitUntil { log.trades.count >= 3 })
        await sim.inject(.stall)
        #expect(await waitUntil(.seconds(5)) { rec.count(isConnected) == 3 })
        #expect(try await Set(#require(feed.connection).listSubscriptions()) == ["ethusdt@aggTrade", "btcusdt@trade"])
        let before = log.trades.count
        #expect(await waitUntil { log.trades.count >= before + 3 })
        await feed.stop()
        #expect(await rec.finished())

        #expect(rec.items("btcusdt@trade").isEmpty, "with a handler, events yields nothing")
        let counts = log.counts
        let tradeIds = log.trades.filter { if case .id = $0 { true } else { false } }.count
        #expect(tradeIds >= 6 && counts.events >= tradeIds, "handler calls: \(counts.events), btcusdt@trade ids: \(tradeIds)")
        #expect(counts.gaps >= 1 && counts.offLoop == 0)
        var previous: Int64?
        var gaps = 0
        for item in log.trades {
            switch item {
            case let .id(x):
                if let p = previous { #expect(x == p + 1) }
                previous = x
            case let .gap(first, last):
                #expect(previous.map { first == $0 + 1 } ?? false)
                previous = last
                gaps += 1
            }
        }
        #expect(gaps >= 1, "the stall's trades are reported missing")
        await sim.stop()
    }

    @Test("600 streams, more than a URL holds: the first in the URL, the rest subscribed, all of them back after a reconnect")
    func moreStreamsThanAURLHolds() async throws {
        let symbols = (0..<150).map { "S\($0)USDT" }
        let sim = try await synthetic(symbols, eventsPerSecond: 2)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let streams = symbols.flatMap { s in ["@aggTrade", "@trade", "@bookTicker", "@kline_1m"].map { s.lowercased() + $0 } }
        #expect(streams.joined(separator: "/").utf8.count > 8192) // far past what one URL takes
        let feed = try await ResilientFeed.connect(streams: streams, options: options(sim.webSocketURL, Self.policy),
                                                   on: loop, handler: { _ in })
        let rec = Recorder()
        rec.follow(feed)
        #expect(Set(try await #require(feed.connection).listSubscriptions()) == Set(streams))
        await sim.inject(.dropAfter(messages: 0))
        #expect(await waitUntil { rec.count(isConnected) == 2 })
        #expect(await waitUntil {
            guard let c = feed.connection, let listed = try? await c.listSubscriptions() else { return false }
            return Set(listed) == Set(streams)
        })
        #expect(await sim.statistics().closedForRate == 0)
        await feed.stop()
        await sim.stop()
    }

    @Test("over TLS: a peer gone without close_notify is a lost connection, an untrusted certificate a TLS error")
    func tls() async throws {
        let server = try TLSContext.server(certificateFile: cert("server.pem"), keyFile: cert("server.key"))
        let sim = try await synthetic(["BTCUSDT"]) { $0.tls = server }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = options(sim.webSocketURL, Self.policy)
        o.feed.tls = try TLSContext.client(caFile: cert("ca.pem"))
        let feed = try await ResilientFeed.connect(streams: ["btcusdt@aggTrade"], options: o, on: loop)
        let rec = Recorder()
        rec.follow(feed)
        await sim.inject(.dropAfter(messages: 0))
        #expect(await waitUntil { rec.count(isConnected) == 2 })
        let reason = rec.events.first(where: isDisconnected)
        #expect(reason == .disconnected(reason: .connectionLost) || reason == .disconnected(reason: .connectionReset),
                "\(String(describing: reason))")
        await feed.stop()
        #expect(await rec.finished())

        var wrong = options(sim.webSocketURL, Self.policy)
        wrong.feed.tls = try TLSContext.client(caFile: cert("wrong-ca.pem"))
        wrong.reconnect.maxAttempts = 1
        let untrusted = try ResilientFeed.start(streams: ["btcusdt@aggTrade"], options: wrong, on: loop)
        let rec2 = Recorder()
        rec2.follow(untrusted)
        #expect(await rec2.finished())
        #expect(rec2.events == [.connecting(attempt: 1), .disconnected(reason: .tls(.tlsUntrusted)), .gaveUp(reason: .tls(.tlsUntrusted))])
        print("TLS: \(String(describing: reason)); wrong CA: \(rec2.events.last.map(String.init(describing:)) ?? "-")")
        await untrusted.stop()
        await sim.stop()
    }

    @Test("a serverShutdown notice: the feed closes and moves to a new connection")
    func shutdownNotice() async throws {
        let sim = try await synthetic(["BTCUSDT"])
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let feed = try await ResilientFeed.connect(streams: ["btcusdt@aggTrade"],
                                                   options: options(sim.webSocketURL, Self.policy), on: loop)
        let rec = Recorder()
        rec.follow(feed)
        await sim.inject(.serverShutdown(closeAfter: nil))
        #expect(await waitUntil { rec.count(isConnected) == 2 })
        #expect(rec.events.first(where: isDisconnected) == .disconnected(reason: .serverShutdown))
        await feed.stop()
        #expect(await rec.finished())
        await sim.stop()
    }

    @Test("server down for 3 s: every pause within the backoff's bounds, then the feed recovers")
    func serverDown() async throws {
        let sim = try await synthetic(["BTCUSDT"])
        let port = sim.port
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let feed = try await ResilientFeed.connect(streams: ["btcusdt@aggTrade"],
                                                   options: options(sim.webSocketURL, Self.policy), on: loop)
        let rec = Recorder()
        rec.follow(feed)
        #expect(await waitUntil { rec.items("btcusdt@aggTrade").count >= 2 })
        try await Task.sleep(for: .milliseconds(400)) // healthy: the outage's attempts count from 1
        await sim.stop()
        try await Task.sleep(for: .seconds(3))
        let again = try await synthetic(["BTCUSDT"]) { $0.port = port }
        #expect(await waitUntil(.seconds(5)) { rec.count(isConnected) == 2 })
        let before = rec.items("btcusdt@aggTrade").count
        #expect(await waitUntil { rec.items("btcusdt@aggTrade").count > before })
        await feed.stop()
        #expect(await rec.finished())

        let life = rec.lifecycle
        #expect(life.first { isDisconnected($0.event) }?.event
                == .disconnected(reason: .closedByServer(code: 1001, reason: "simulator stopping")))
        var samples: [String] = []
        var attempts = 0
        var late = Duration.zero
        for (i, e) in life.enumerated() {
            guard case let .reconnecting(n, delay) = e.event else { continue }
            attempts += 1
            #expect(n == attempts, "attempts counted 1, 2, 3 ...")
            let ceiling = Self.policy.ceiling(forAttempt: n)
            #expect(delay >= .zero && delay <= ceiling)
            #expect(ceiling == min(.milliseconds(800), .milliseconds(50) * (1 << min(n - 1, 20))))
            guard i + 1 < life.count, life[i + 1].event == .connecting(attempt: n) else {
                Issue.record("reconnecting(\(n)) not followed by connecting(\(n))")
                continue
            }
            let waited = life[i + 1].time - e.time
            // Never sooner than drawn (no storm); later only by scheduling.
            #expect(waited >= delay && waited <= delay + .milliseconds(300), "attempt \(n): drew \(delay), waited \(waited)")
            late = max(late, waited - delay)
            samples.append("\(n): \(Int(delay.nanoseconds / 1_000_000))/\(Int(ceiling.nanoseconds / 1_000_000)) ms")
        }
        #expect(attempts >= 4, "3 s down with a 50 ms base and an 800 ms cap")
        #expect(life.filter { $0.event == .disconnected(reason: .connectionRefused) }.count == attempts - 1)
        print("server down 3 s: \(attempts) attempts, waits at most \(late) past the drawn delay; drawn/ceiling: \(samples.joined(separator: ", "))")
        await again.stop()
    }

    @Test("maxAttempts against a closed port: refused each time, gave up, both sequences end")
    func givesUp() async throws {
        let closed = try await synthetic(["BTCUSDT"])
        let url = closed.webSocketURL
        await closed.stop()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var policy = Self.policy
        policy.base = .milliseconds(20)
        policy.maxAttempts = 3
        let feed = try ResilientFeed.start(streams: ["btcusdt@trade"], options: options(url, policy), on: loop)
        let rec = Recorder()
        rec.follow(feed)
        #expect(await rec.finished())
        let refused = ConnectionEvent.disconnected(reason: .connectionRefused)
        let events = rec.events
        #expect(events.count == 9)
        if events.count == 9 {
            #expect(events[0] == .connecting(attempt: 1) && events[1] == refused)
            #expect(events[3] == .connecting(attempt: 2) && events[4] == refused)
            #expect(events[6] == .connecting(attempt: 3) && events[7] == refused)
            #expect(events[8] == .gaveUp(reason: .connectionRefused))
            if case let .reconnecting(2, d) = events[2] { #expect(d <= .milliseconds(40)) } else { Issue.record("\(events[2])") }
            if case let .reconnecting(3, d) = events[5] { #expect(d <= .milliseconds(80)) } else { Issue.record("\(events[5])") }
        }
        #expect(feed.connections == 0 && feed.connection == nil)
        await feed.stop()
        // And fail-fast: connect throws for the first attempt.
        await #expect(throws: RingFeedError.connectionRefused) {
            _ = try await ResilientFeed.connect(streams: ["btcusdt@trade"], options: options(url, policy), on: loop)
        }
    }

    @Test("many forced reconnects: attempts counted at the simulator never exceed the budget in any window")
    func budgetEndToEnd() async throws {
        let sim = try await synthetic(["BTCUSDT"], eventsPerSecond: 100) {
            $0.faultsOnConnect = [.dropAfter(messages: 3)]
        }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let window = Duration.seconds(1)
        let budget = ConnectionBudget(limit: 4, window: window)
        let policy = ReconnectPolicy(base: .milliseconds(2), factor: 2, cap: .milliseconds(5), healthyAfter: .seconds(10))
        let feed = try ResilientFeed.start(streams: ["btcusdt@bookTicker", "btcusdt@depth@100ms"],
                                           options: options(sim.webSocketURL, policy, budget: budget), on: loop)
        let rec = Recorder()
        rec.follow(feed)
        var samples: [(ContinuousClock.Instant, Int)] = []
        let end = ContinuousClock.now + .milliseconds(3500)
        while ContinuousClock.now < end {
            samples.append((.now, await sim.statistics().acceptedConnections))
            try await Task.sleep(for: .milliseconds(10))
        }
        await feed.stop()
        #expect(await rec.finished())
        let accepted = await sim.statistics().acceptedConnections
        // Seen by the exchange: any two samples closer than the window (less
        // the sampling step) enclose at most `limit` new connections.
        var worst = 0
        for i in samples.indices {
            for j in samples.indices[i...] where samples[j].0 - samples[i].0 <= window - .milliseconds(30) {
                worst = max(worst, samples[j].1 - samples[i].1)
            }
        }
        #expect(worst <= 4, "the simulator saw \(worst) connections in under a window")
        let attemptTimes = rec.lifecycle.filter { isConnecting($0.event) }.map(\.time)
        #expect(busiestWindow(attemptTimes, window) <= 4)
        #expect(attemptTimes.count == accepted && accepted >= 12, "\(accepted) connections in 3.5 s at 4 a second")
        #expect(budget.usage.waits > 0, "the budget held attempts back")
        print("budget 4/s: \(accepted) connections in 3.5 s, busiest window \(busiestWindow(attemptTimes, window)) (client) / \(worst) (simulator), \(budget.usage.waits) waits")
        await sim.stop()
    }
}

/// What a synchronous handler and `onGap` saw of one trade stream, and
/// whether they ran on the loop thread.
private final class HandlerLog: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private let lock = NSLock()
    private var items: [Recorder.Item] = []
    private var calls = (events: 0, gaps: 0, offLoop: 0)
    func event(tradeId: Int64?, onLoop: Bool) {
        lock.withLock {
            calls.events += 1
            if !onLoop { calls.offLoop += 1 }
            if let tradeId { items.append(.id(tradeId)) }
        }
    }
    func gap(_ g: TradeGap, onLoop: Bool) {
        lock.withLock {
            calls.gaps += 1
            if !onLoop { calls.offLoop += 1 }
            if g.stream == "btcusdt@trade" { items.append(.gap(g.firstMissing, g.lastMissing)) }
        }
    }
    func reset() { lock.withLock { items = [] } }
    var trades: [Recorder.Item] { lock.withLock { items } }
    var counts: (events: Int, gaps: Int, offLoop: Int) { lock.withLock { calls } }
}

