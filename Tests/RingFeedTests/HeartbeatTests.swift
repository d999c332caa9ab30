import Foundation
@testable import RingFeed
import RingFeedSimulator
import Synchronization
import Testing

// The idle watch hears the server's pings as well as data (issue 6: "no data
// and no ping for a configurable time"), and the counters a command's
// summary line is made of add up across reconnects.

private func quietSimulator(pingEvery ping: Duration, faults: [SimulatorFault] = [],
                            eventsPerSecond: Double = 0.001) async throws -> ExchangeSimulator {
    var market = SyntheticMarket.Configuration()
    market.eventsPerSecond = eventsPerSecond
    market.bookLevels = 50
    var config = SimulatorConfiguration()
    config.limits.pingInterval = ping
    config.faultsOnConnect = faults
    return try await ExchangeSimulator.start(source: SyntheticMarket(symbols: ["BTCUSDT"], seed: 5, configuration: market),
                                             configuration: config)
}

private func feedOptions(_ url: String, idle: Duration?) -> ResilientFeed.Options {
    var o = ResilientFeed.Options()
    o.feed.url = url
    o.feed.handshakeTimeout = .seconds(2)
    o.reconnect = ReconnectPolicy(base: .milliseconds(20), cap: .milliseconds(100))
    o.budget = ConnectionBudget(limit: 1000, window: .seconds(60))
    o.idleTimeout = idle
    return o
}

private final class Lifecycle: Sendable {
    let events = Synchronization.Mutex<[ConnectionEvent]>([])
    func follow(_ feed: ResilientFeed) {
        Task { for await e in feed.lifecycle { self.events.withLock { $0.append(e.event) } } }
    }
    var disconnects: [DisconnectReason] {
        events.withLock { $0.compactMap { if case let .disconnected(r) = $0 { r } else { nil } } }
    }
}

@Suite("Heartbeat: pings count as life; counters across reconnects")
struct HeartbeatTests {
    @Test("a quiet stream the server pings every 300 ms outlives a 1 s idle timeout; unpinged, it is dropped")
    func pingsKeepAQuietConnection() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let idle = Duration.seconds(1)

        let pinged = try await quietSimulator(pingEvery: .milliseconds(300))
        let kept = try await ResilientFeed.connect(streams: ["btcusdt@depth@100ms"],
                                                   options: feedOptions(pinged.webSocketURL, idle: idle), on: loop)
        let keptLife = Lifecycle()
        keptLife.follow(kept)
        // Pings at 300 ms keep under the simulator's 5 incoming messages a
        // second (each is answered by a pong), as Binance's 20 s do.
        try await Task.sleep(for: .seconds(3))
        let keptMessages = kept.stats.messages
        let pings = kept.connection?.pacingStats.pongs ?? 0
        #expect(keptLife.disconnects.isEmpty, "dropped: \(keptLife.disconnects)")
        #expect(kept.connections == 1)
        #expect(pings >= 7, "pings answered in 3 s at 300 ms: \(pings)")
        await kept.stop()
        await pinged.stop()

        // The control: the same silence without pings is a dead connection.
        let silent = try await quietSimulator(pingEvery: .seconds(20))
        let dropped = try await ResilientFeed.connect(streams: ["btcusdt@depth@100ms"],
                                                      options: feedOptions(silent.webSocketURL, idle: idle), on: loop)
        let droppedLife = Lifecycle()
        droppedLife.follow(dropped)
        #expect(await waitUntil(.seconds(5)) { droppedLife.disconnects.contains(.idleTimeout(idle)) })
        await dropped.stop()
        await silent.stop()
        print("heartbeat: \(pings) pings and \(keptMessages) messages kept a quiet connection alive for 3 s; "
              + "without pings: \(droppedLife.disconnects.first.map { "\($0)" } ?? "-")")
    }

    @Test("the tap sees every message of every connection once; messages, disconnects and errors add up across drops")
    func countersAcrossDrops() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let sim = try await quietSimulator(pingEvery: .seconds(20), faults: [.dropAfter(messages: 40)], eventsPerSecond: 300)
        let tapped = Atomic<Int>(0)
        let feed = try await ResilientFeed.connect(
            streams: ["btcusdt@trade", "btcusdt@depth@100ms"], options: feedOptions(sim.webSocketURL, idle: .seconds(5)),
            on: loop, handler: { _ in }, tap: { _ in tapped.add(1, ordering: .relaxed) })
        let life = Lifecycle()
        life.follow(feed)
        #expect(await waitUntil(.seconds(10)) { feed.stats.disconnects >= 3 })
        await feed.stop()
        let s = feed.stats
        let lost = life.disconnects.filter { $0 != .closedByUs }.count
        #expect(s.disconnects == lost, "stats \(s.disconnects), lifecycle \(lost)")
        #expect(s.messages == tapped.load(ordering: .relaxed), "stats \(s.messages), tapped \(tapped.load(ordering: .relaxed))")
        // Each connection is cut after the simulator sent 40 (the last few
        // may be lost with the reset): counted once each, never twice.
        #expect(s.messages > 20 * s.disconnects && s.messages <= 40 * (s.disconnects + 1),
                "\(s.messages) messages for \(s.disconnects) drops after 40 each")
        #expect(s.errors == 0)
        await sim.stop()
    }

    @Test("durations read as people write them")
    func durationText() {
        #expect(Duration.milliseconds(350).readable == "350 ms")
        #expect(Duration.microseconds(260).readable == "0.26 ms")
        #expect(Duration.milliseconds(1840).readable == "1.84 s")
        #expect(Duration.seconds(30).readable == "30 s")
        #expect(Duration.seconds(150).readable == "2 min 30 s")
        #expect(Duration.seconds(23 * 3600 + 30 * 60).readable == "23 h 30 min")
        #expect(Duration.seconds(-2).readable == "-2 s")
    }
}
