import Foundation
@testable import RingFeed
import RingFeedSimulator
import Testing

/// A MarketFeed on `sim` with the given pacing and request timeout.
private func feedOptions(_ sim: ExchangeSimulator, paced: Bool = true,
                         requestTimeout: Duration = .seconds(5)) -> MarketFeed.Options {
    var o = MarketFeed.Options()
    o.url = sim.webSocketURL
    o.pacing.enabled = paced
    o.requestTimeout = requestTimeout
    return o
}

/// `n` pings at once; their round trips, and the errors, in no order.
private func pingBurst(_ feed: MarketFeed, _ n: Int) async -> (rtts: [Duration], errors: [String]) {
    await withTaskGroup(of: Result<Duration, any Error>.self) { group in
        for _ in 0..<n {
            group.addTask {
                do { return .success(try await feed.ping()) } catch { return .failure(error) }
            }
        }
        var rtts: [Duration] = []
        var errors: [String] = []
        for await r in group {
            switch r {
            case let .success(d): rtts.append(d)
            case let .failure(e): errors.append("\(e)")
            }
        }
        return (rtts, errors)
    }
}

@Suite("MarketFeed.ping: WebSocket pings through the pacer", .serialized, .timeLimit(.minutes(1)))
struct MarketFeedPingTests {
    @Test("a ping's pong comes back: a round trip, a ping frame at the server, no control message")
    func roundTrip() async throws {
        let sim = try await startPingCloseSimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let feed = try await MarketFeed.connect(streams: ["btcusdt@aggTrade"], options: feedOptions(sim), on: loop)
        var rtts: [Duration] = []
        for _ in 0..<3 { rtts.append(try await feed.ping()) }
        #expect(rtts.allSatisfy { $0 > .zero && $0 < .seconds(1) }, "\(rtts)")
        let st = await sim.statistics()
        #expect(st.pingsReceived == 3)
        #expect(st.controlMessages == 0)
        #expect(feed.pacingStats.pings == 3 && feed.pacingStats.pingAnswers == 3)
        #expect(feed.pacingStats.framesSent == 3) // pings are frames of the pacer's
        print("ping round trips on loopback: \(rtts)")
        await feed.close()
        await #expect(throws: ControlError.connectionClosed) { try await feed.ping() }
        await sim.stop()
    }

    @Test("14 pings at once at 5 a second: held by the pacer, all answered, never closed for rate")
    func burstIsPaced() async throws {
        let sim = try await startPingCloseSimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let feed = try await MarketFeed.connect(streams: ["btcusdt@aggTrade"], options: feedOptions(sim), on: loop)
        let window = Double(feed.options.pacing.plannedWindowNs) / 1e9 // 1.1 s
        let start = ContinuousClock.now
        let (rtts, errors) = await pingBurst(feed, 14)
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        #expect(errors.isEmpty, "\(errors)")
        #expect(rtts.count == 14)
        // 4 a window (5 less the pong slot): 4 + 4 + 4 + 2, three waits.
        #expect(elapsed >= 3 * window && elapsed < 3 * window + 2, "\(elapsed) s")
        // The round trip counts from sending, not from the call.
        #expect(feed.pacingStats.longestWait > .milliseconds(3000))
        #expect(rtts.allSatisfy { $0 < .seconds(1) }, "\(rtts)")
        let st = await sim.statistics()
        #expect(st.closedForRate == 0 && st.pingsReceived == 14)
        // Still open and working.
        _ = try await feed.ping()
        print("14 pings paced in \(elapsed) s, longest wait \(feed.pacingStats.longestWait)")
        #expect(await feed.close().code == 1000)
        await sim.stop()
    }

    @Test("the same burst unpaced: the simulator counts pings like Binance and closes with 1008")
    func unpacedBurstIsClosed() async throws {
        let sim = try await startPingCloseSimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let feed = try await MarketFeed.connect(streams: ["btcusdt@aggTrade"],
                                                options: feedOptions(sim, paced: false), on: loop)
        let (_, errors) = await pingBurst(feed, 14)
        #expect(!errors.isEmpty)
        #expect(errors.allSatisfy { $0 == "\(ControlError.connectionClosed)" }, "\(errors)")
        let info = await feed.closed()
        #expect(info.code == 1008 && info.reason == "Too many requests", "\(info)")
        #expect(await sim.statistics().closedForRate == 1)
        await sim.stop()
    }

    @Test("a stalled server never answers: the ping times out after requestTimeout")
    func stalledTimesOut() async throws {
        let sim = try await startPingCloseSimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let feed = try await MarketFeed.connect(streams: ["btcusdt@aggTrade"],
                                                options: feedOptions(sim, requestTimeout: .milliseconds(400)), on: loop)
        _ = try await feed.ping()
        #expect(await sim.inject(.stall) == 1)
        let start = ContinuousClock.now
        await #expect(throws: ControlError.timedOut) { try await feed.ping() }
        let took = ContinuousClock.now - start
        #expect(took >= .milliseconds(400) && took < .seconds(3), "\(took)")
        #expect(feed.pacingStats.pings == 2 && feed.pacingStats.pingAnswers == 1)
        feed.webSocket?.abort()
        _ = await feed.closed()
        await sim.stop()
    }
}

@Suite("ResilientFeed pings: a quiet connection kept, a silent one replaced", .serialized, .timeLimit(.minutes(1)))
struct ResilientPingTests {
    @Test("pongs count as life for idleTimeout on a quiet connection; a stall is found by pingTimeout and replaced")
    func quietThenStalled() async throws {
        let sim = try await startPingCloseSimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = pingCloseOptions(sim)
        o.idleTimeout = .milliseconds(1500)
        o.pingInterval = .milliseconds(200)
        o.pingTimeout = .milliseconds(500)
        // No streams: only pongs are heard.
        let feed = try await ResilientFeed.connect(streams: [], options: o, on: loop)
        let log = LifecycleLog(feed)
        try await Task.sleep(for: .milliseconds(2500))
        #expect(log.disconnects.isEmpty, "\(log.events)")
        let live = try #require(feed.connection)
        #expect(live.stats.messages == 0, "quiet: \(live.stats)")
        #expect(live.pacingStats.pingAnswers >= 4, "\(live.pacingStats)") // 12 due; generous for a loaded host
        #expect(await sim.statistics().closedForRate == 0)
        let rtt = try #require(feed.stats.lastPingRTT)
        #expect(rtt > .zero && rtt < .milliseconds(500))

        #expect(await sim.inject(.stall) == 1)
        let stalledAt = ContinuousClock.now
        #expect(await waitUntil(.seconds(5)) { !log.disconnects.isEmpty && log.connects >= 2 }, "\(log.events)")
        #expect(log.disconnects.first == .noPingAnswer(.milliseconds(500)), "\(log.events)")
        let found = ContinuousClock.now - stalledAt
        #expect(found < .seconds(5))
        // The new connection is pinged and answers.
        let answered = feed.connection?.pacingStats.pingAnswers ?? 0
        #expect(await waitUntil(.seconds(3)) { (feed.connection?.pacingStats.pingAnswers ?? 0) > answered })
        print("quiet connection kept by pongs for 2.5 s; stall replaced within \(found)")
        await feed.stop()
        await sim.stop()
    }
}
