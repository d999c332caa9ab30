import Foundation
@testable import RingFeed
import RingFeedSimulator
import Synchronization
import Testing

// MARK: - the pacer alone, on an injected clock

/// A clock the test moves, and the wake-ups the pacer asked for.
private final class ManualClock {
    var now: UInt64 = 1_000_000
    var wakeups: [UInt64] = []

    /// Moves to the earliest wake-up and returns true, or false if none.
    func advanceToNextWakeup() -> Bool {
        guard let t = wakeups.min() else { return false }
        wakeups.removeAll { $0 == t }
        now = max(now, t)
        return true
    }
}

/// A pacer of `Frame` on `clock`, recording what it sends and when.
private func makePacer<Frame>(budget: Int?, windowNs: UInt64, clock: ManualClock,
                              sent: @escaping (Frame, UInt64) -> Void) -> OutgoingPacer<Frame> {
    OutgoingPacer<Frame>(budget: budget, windowNs: windowNs, clock: { clock.now },
                         schedule: { clock.wakeups.append(clock.now + $0) },
                         transmit: { sent($0, clock.now) })
}

/// Runs the pacer's wake-ups until nothing waits (bounded).
private func runWakeups<F>(_ pacer: OutgoingPacer<F>, _ clock: ManualClock) {
    var rounds = 0
    while pacer.waiting > 0, rounds < 10_000, clock.advanceToNextWakeup() {
        pacer.fire()
        rounds += 1
    }
}

/// The most times of `times` (sorted) inside any half-open window of `windowNs`.
private func busiestWindow(_ times: [UInt64], windowNs: UInt64) -> Int {
    var best = 0
    var lo = 0
    for hi in times.indices {
        while times[hi] - times[lo] >= windowNs { lo += 1 }
        best = max(best, hi - lo + 1)
    }
    return best
}

@Suite("Pacing: the sliding window on an injected clock")
struct PacerWindowTests {
    @Test("a burst leaves in FIFO order, never more than N in any window, each group one window after the last")
    func burst() {
        let clock = ManualClock()
        var sent: [(Int, UInt64)] = []
        let pacer = makePacer(budget: 4, windowNs: 1_000, clock: clock) { (f: Int, t) in sent.append((f, t)) }
        for i in 0..<22 { pacer.submit(i) }
        #expect(sent.count == 4, "room for four at once")
        #expect(pacer.waiting == 18)
        runWakeups(pacer, clock)
        #expect(sent.map(\.0) == Array(0..<22))
        let times = sent.map(\.1)
        #expect(busiestWindow(times, windowNs: 1_000) == 4)
        // Sliding, not bucketed: message i + 4 leaves exactly one window after message i.
        for i in 0..<(times.count - 4) { #expect(times[i + 4] - times[i] == 1_000) }
        #expect(times.last! - times.first! == 5 * 1_000)
        #expect(pacer.counters.stats.framesSent == 22)
        #expect(pacer.counters.stats.longestWait == .nanoseconds(5 * 1_000))
    }

    @Test("frames at random times, with pongs: at each send the window holds at most N, order kept")
    func randomArrivalsAndPongs() {
        let clock = ManualClock()
        var sent: [(Int, UInt64)] = []
        let window: UInt64 = 1_000_000
        let pacer = makePacer(budget: 4, windowNs: window, clock: clock) { (f: Int, t) in sent.append((f, t)) }
        var rng = SystemRandomNumberGenerator()
        var pongs: [UInt64] = []
        var next = 0
        for _ in 0..<400 {
            // Either time passes (maybe to a wake-up), a frame comes, or a ping.
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                pacer.submit(next)
                next += 1
            case 5:
                pongs.append(clock.now)
                pacer.pongSent()
            default:
                clock.now += UInt64.random(in: 1...(window / 3), using: &rng)
                while let t = clock.wakeups.min(), t <= clock.now {
                    clock.wakeups.removeAll { $0 == t }
                    pacer.fire()
                }
            }
        }
        runWakeups(pacer, clock)
        #expect(sent.map(\.0) == Array(0..<next))
        #expect(busiestWindow(sent.map(\.1), windowNs: window) <= 4)
        // When each frame left, the window (its own sends and the pongs) held at most 4 with it.
        for (_, t) in sent {
            let inWindow = sent.filter { $0.1 <= t && t - $0.1 < window }.count
                + pongs.filter { $0 <= t && t - $0 < window }.count
            #expect(inWindow <= 4 || pongs.contains { $0 == t }, "at \(t): \(inWindow) in the window")
        }
        #expect(pacer.counters.stats.pongs == pongs.count)
    }

    @Test("frames that arrive while one waits merge into the last waiting frame only")
    func mergesIntoTail() {
        let clock = ManualClock()
        var sent: [[String]] = []
        let pacer = makePacer(budget: 2, windowNs: 1_000, clock: clock) { (f: [String], _) in sent.append(f) }
        // A frame merges into a waiting "s" frame while it holds under 3 names.
        func submit(_ f: [String]) {
            pacer.submit(f) { tail in
                guard tail.first?.hasPrefix("s") == true, f.first?.hasPrefix("s") == true,
                      tail.count + f.count <= 3 else { return false }
                tail += f
                return true
            }
        }
        for f in [["s1"], ["s2"], ["s3"], ["s4"], ["u5"], ["s6"], ["s7"], ["s8"], ["s9"], ["s10"]] { submit(f) }
        runWakeups(pacer, clock)
        // s1, s2 at once; s3+s4 waited together; u5 alone; s6 did not jump
        // back over u5; caps at three names.
        #expect(sent == [["s1"], ["s2"], ["s3", "s4"], ["u5"], ["s6", "s7", "s8"], ["s9", "s10"]])
        #expect(pacer.counters.stats.requestsMerged == 4)
        #expect(pacer.counters.stats.framesSent == 6)
    }

    @Test("unpaced: everything at once, nothing merged")
    func unpaced() {
        let clock = ManualClock()
        var sent: [Int] = []
        let pacer = makePacer(budget: nil, windowNs: 1_000, clock: clock) { (f: Int, _) in sent.append(f) }
        for i in 0..<10 { pacer.submit(i) { _ in true } }
        #expect(sent == Array(0..<10) && clock.wakeups.isEmpty)
    }

    @Test("the limit by venue, the reserve and the guard")
    func configuration() {
        #expect(OutgoingPacing.binanceLimit(forURL: MarketFeed.binanceSpotURL) == 5)
        #expect(OutgoingPacing.binanceLimit(forURL: "wss://fstream.binance.com/market") == 10)
        #expect(OutgoingPacing.binanceLimit(forURL: "ws://127.0.0.1:9000/public") == 10)
        var p = OutgoingPacing()
        #expect(p.budget(url: MarketFeed.binanceSpotURL) == 4)
        #expect(p.budget(url: MarketFeed.binanceFuturesURL) == 9)
        #expect(p.plannedWindowNs == 1_100_000_000)
        p.limit = 1
        #expect(p.budget(url: "") == 1, "never zero")
    }
}

// MARK: - against the simulator's rate limit

private func withSimulator<T>(
    venue: Venue = .spot,
    configure: (inout SimulatorLimits) -> Void = { _ in },
    _ body: (ExchangeSimulator, EventLoop) async throws -> T
) async throws -> T {
    var config = SimulatorConfiguration()
    configure(&config.limits)
    let sim = try await ExchangeSimulator.start(
        source: SyntheticMarket(symbols: ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"], seed: 11, venue: venue),
        configuration: config)
    let loop = try EventLoop()
    defer { loop.shutdown() }
    do {
        let r = try await body(sim, loop)
        await sim.stop()
        return r
    } catch {
        await sim.stop()
        throw error
    }
}

/// Kline streams: 15 intervals per symbol, quiet enough to subscribe by the dozen.
private func klineStreams(_ n: Int) -> [String] {
    let intervals = ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"]
    let symbols = ["btcusdt", "ethusdt", "bnbusdt", "solusdt"]
    return Array(symbols.flatMap { s in intervals.map { "\(s)@kline_\($0)" } }.prefix(n))
}

/// Subscribes to each stream in its own call, all at once, plus `lists`
/// LIST_SUBSCRIPTIONS calls among them; the errors, in no order.
private func burst(_ feed: MarketFeed, _ streams: [String], lists: Int = 0) async -> [String] {
    await withTaskGroup(of: String?.self) { group in
        for (i, s) in streams.enumerated() {
            group.addTask {
                do { try await feed.subscribe([s]) } catch { return "\(s): \(error)" }
                return nil
            }
            if lists > 0, i % (streams.count / lists) == streams.count / lists / 2 {
                group.addTask {
                    do { _ = try await feed.listSubscriptions() } catch { return "list: \(error)" }
                    return nil
                }
            }
        }
        var errors: [String] = []
        for await e in group { if let e { errors.append(e) } }
        return errors
    }
}

private func options(_ sim: ExchangeSimulator, path: String = "") -> MarketFeed.Options {
    var o = MarketFeed.Options()
    o.url = sim.webSocketURL + path
    o.requestTimeout = .seconds(8)
    return o
}

@Suite("Pacing against the simulator's rate limit", .serialized, .timeLimit(.minutes(1)))
struct PacingSimulatorTests {
    @Test("60 concurrent one-stream subscribes and some lists at 5 per second: all succeed, batched, never closed")
    func spotBurst() async throws {
        try await withSimulator { sim, loop in
            let feed = try await MarketFeed.connect(streams: [], options: options(sim), on: loop)
            let streams = klineStreams(60)
            let start = ContinuousClock.now
            let errors = await burst(feed, streams, lists: 3)
            let elapsed = ContinuousClock.now - start
            #expect(errors.isEmpty, "\(errors)")
            #expect(Set(try await feed.listSubscriptions()) == Set(streams))
            #expect(Set(await feed.streams) == Set(streams))
            let st = await sim.statistics()
            let pacing = feed.pacingStats
            #expect(st.closedForRate == 0)
            // 60 subscribes and 4 lists in far fewer frames than calls.
            #expect(st.controlMessages <= 16, "\(st.controlMessages) control messages")
            #expect(pacing.framesSent == st.controlMessages)
            #expect(pacing.requestsMerged == 64 - st.controlMessages)
            #expect(pacing.longestWait > .milliseconds(900) && pacing.waiting == 0)
            print("pacing spot burst: \(st.controlMessages) frames for 64 calls in \(elapsed), \(pacing)")
            let info = await feed.close()
            #expect(info.code == 1000)
        }
    }

    @Test("the same burst unpaced is closed for rate (1008)")
    func unpacedBurstIsClosed() async throws {
        try await withSimulator { sim, loop in
            var o = options(sim)
            o.pacing.enabled = false
            let feed = try await MarketFeed.connect(streams: [], options: o, on: loop)
            let errors = await burst(feed, klineStreams(60), lists: 3)
            let info = await withTaskGroup(of: WebSocketCloseInfo?.self) { group in
                group.addTask { await feed.closed() }
                group.addTask { try? await Task.sleep(for: .seconds(5)); return nil }
                let first = await group.next()!
                group.cancelAll()
                return first
            }
            #expect(info?.code == 1008)
            #expect(!errors.isEmpty)
            #expect(await sim.statistics().closedForRate == 1)
        }
    }

    @Test("futures at 10 per second (from the /market URL): 25 subscribes in turn take two planned windows, at once one")
    func futuresTen() async throws {
        try await withSimulator(venue: .usdmFutures, configure: { $0.maxIncomingMessages = 10 }) { sim, loop in
            let o = options(sim, path: "/market")
            let window = Double(o.pacing.plannedWindowNs) / 1e9 // 1.1 s
            // One after another: 9 frames (10 less the pong slot) per planned
            // window, so frames 10 and 19 wait one window each.
            let feed = try await MarketFeed.connect(streams: [], options: o, on: loop)
            let streams = klineStreams(25)
            var start = ContinuousClock.now
            for s in streams { try await feed.subscribe([s]) }
            var elapsed = (ContinuousClock.now - start) / .seconds(1)
            #expect(elapsed >= 2 * window && elapsed < 2 * window + 1.0, "\(elapsed) s")
            #expect(feed.pacingStats.framesSent == 25 && feed.pacingStats.requestsMerged == 0)
            let inTurn = elapsed
            await feed.close()
            // All at once: 9 frames at once, the other 16 merged into the
            // tenth, sent one window later.
            let feed2 = try await MarketFeed.connect(streams: [], options: o, on: loop)
            start = ContinuousClock.now
            let errors = await burst(feed2, streams)
            elapsed = (ContinuousClock.now - start) / .seconds(1)
            #expect(errors.isEmpty, "\(errors)")
            #expect(elapsed >= window && elapsed < window + 1.0, "\(elapsed) s")
            #expect(feed2.pacingStats.framesSent == 10 && feed2.pacingStats.requestsMerged == 15)
            #expect(Set(try await feed2.listSubscriptions()) == Set(streams))
            let st = await sim.statistics()
            #expect(st.closedForRate == 0 && st.controlMessages == 25 + 10 + 1)
            print("pacing futures: 25 in turn \(inTurn) s (\(2 * window) planned), at once \(elapsed) s (\(window) planned), \(feed2.pacingStats)")
            await feed2.close()
        }
    }

    @Test("a server that pings often: its pongs take room in the window, the connection stays open")
    func pongsCount() async throws {
        try await withSimulator(configure: {
            $0.pingInterval = .milliseconds(300)
            $0.incomingWindow = .milliseconds(500)
        }) { sim, loop in
            var o = options(sim)
            o.pacing.window = .milliseconds(500)
            let feed = try await MarketFeed.connect(streams: [], options: o, on: loop)
            // Four of our own per 600 ms would be allowed without the pongs;
            // with two pongs in most windows, 4 + 2 > 5 if they were not counted.
            for s in klineStreams(10) { try await feed.subscribe([s]) }
            let st = await sim.statistics()
            #expect(st.closedForRate == 0 && st.closedForPongTimeout == 0)
            #expect(feed.pacingStats.pongs >= 3, "\(feed.pacingStats)")
            #expect(feed.pacingStats.framesSent == 10)
            #expect(Set(try await feed.listSubscriptions()) == Set(klineStreams(10)))
            await feed.close()
        }
    }

    @Test("a refused merged frame: each call's part is sent alone, only the bad stream's call fails")
    func refusedMergeSplits() async throws {
        try await withSimulator { sim, loop in
            let feed = try await MarketFeed.connect(streams: [], options: options(sim), on: loop)
            // Four in turn fill the window; the next five wait and merge, one
            // naming a symbol the exchange does not list (a valid name the
            // server refuses, which refuses the whole frame).
            let good = klineStreams(8)
            for s in good.prefix(4) { try await feed.subscribe([s]) }
            var rest = Array(good.suffix(4))
            rest.insert("xrpusdt@kline_1m", at: 2)
            let errors = await burst(feed, rest)
            #expect(errors.count == 1 && errors[0].hasPrefix("xrpusdt@kline_1m: "), "\(errors)")
            #expect(errors.first?.contains("invalid stream") == true)
            #expect(Set(try await feed.listSubscriptions()) == Set(good))
            let st = await sim.statistics()
            // 4 alone, 1 merged of 5 (refused), its 5 parts again, 1 list.
            #expect(st.closedForRate == 0 && st.controlMessages == 11)
            #expect(feed.pacingStats.requestsMerged == 4 && feed.pacingStats.framesSent == 11)
            await feed.close()
        }
    }
}
