import Foundation
import RingFeed
import RingFeedSimulator
import Synchronization
import Testing

/// Lifecycle events of a ResilientFeed, collected as they come (bounded by
/// the feed: the sequence ends on stop or give-up).
final class LifecycleLog: Sendable {
    private let items = Mutex<[ConnectionEvent]>([])
    private let done = Atomic<Bool>(false)

    init(_ feed: ResilientFeed) {
        Task {
            for await e in feed.lifecycle { self.items.withLock { $0.append(e.event) } }
            self.done.store(true, ordering: .relaxed)
        }
    }

    var events: [ConnectionEvent] { items.withLock { $0 } }
    var finished: Bool { done.load(ordering: .relaxed) }

    var disconnects: [DisconnectReason] {
        events.compactMap { if case let .disconnected(r) = $0 { r } else { nil } }
    }
    var connects: Int { events.filter { if case .connected = $0 { true } else { false } }.count }
}

/// A simulator with a synthetic market of two symbols on loopback.
func startPingCloseSimulator(_ configure: (inout SimulatorLimits) -> Void = { _ in }) async throws -> ExchangeSimulator {
    var config = SimulatorConfiguration()
    configure(&config.limits)
    var market = SyntheticMarket.Configuration()
    market.eventsPerSecond = 40
    return try await ExchangeSimulator.start(
        source: SyntheticMarket(symbols: ["BTCUSDT", "ETHUSDT"], seed: 7, configuration: market), configuration: config)
}

/// Options of a ResilientFeed on `sim` with quick retries and no idle watch.
func pingCloseOptions(_ sim: ExchangeSimulator) -> ResilientFeed.Options {
    var o = ResilientFeed.Options()
    o.feed.url = sim.webSocketURL
    o.feed.handshakeTimeout = .seconds(2)
    o.feed.requestTimeout = .seconds(5)
    o.reconnect = ReconnectPolicy(base: .milliseconds(50), factor: 2, cap: .milliseconds(400),
                                  healthyAfter: .milliseconds(300))
    o.budget = ConnectionBudget(limit: 1000, window: .seconds(60))
    o.idleTimeout = nil
    return o
}

@Suite("Close reasons: the text of the server's close frame reaches the user", .serialized, .timeLimit(.minutes(1)))
struct CloseReasonTests {
    @Test("an unpaced burst is closed with 1008 and Binance's words for it, on a MarketFeed")
    func marketFeedSeesReason() async throws {
        let sim = try await startPingCloseSimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = MarketFeed.Options()
        o.url = sim.webSocketURL
        o.pacing.enabled = false
        o.requestTimeout = .seconds(3)
        let feed = try await MarketFeed.connect(streams: ["btcusdt@aggTrade"], options: o, on: loop)
        // Ten requests at once: twice the simulator's 5 a second.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10 { group.addTask { _ = try? await feed.property("combined") } }
        }
        let info = await feed.closed()
        #expect(info.code == 1008)
        #expect(info.error == nil)
        #expect(info.reason == "Too many requests")
        #expect("\(info)".contains("Too many requests"), "\(info)")
        #expect(await sim.statistics().closedForRate == 1)
        await sim.stop()
    }

    @Test("a ResilientFeed's lifecycle tells the reason of a 1008, then it reconnects")
    func resilientFeedLifecycleSaysWhy() async throws {
        let sim = try await startPingCloseSimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = pingCloseOptions(sim)
        o.feed.pacing.enabled = false
        let feed = try await ResilientFeed.connect(streams: ["btcusdt@aggTrade"], options: o, on: loop)
        let log = LifecycleLog(feed)
        let first = try #require(feed.connection)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10 { group.addTask { _ = try? await first.property("combined") } }
        }
        #expect(await waitUntil(.seconds(10)) { !log.disconnects.isEmpty && log.connects >= 1 })
        let reason = try #require(log.disconnects.first)
        #expect(reason == .closedByServer(code: 1008, reason: "Too many requests"))
        #expect("\(reason)".contains("1008 policy violation): Too many requests"), "\(reason)")
        await feed.stop()
        #expect(await waitUntil(.seconds(5)) { log.finished })
        await sim.stop()
    }

    @Test("the simulator stopping says so in its close frame (1001)")
    func simulatorStopReason() async throws {
        let sim = try await startPingCloseSimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let feed = try await MarketFeed.connect(streams: ["btcusdt@aggTrade"],
                                                options: { var o = MarketFeed.Options(); o.url = sim.webSocketURL; return o }(),
                                                on: loop)
        await sim.stop()
        let info = await feed.closed()
        #expect(info == WebSocketCloseInfo(code: 1001, reason: "simulator stopping"))
        #expect(DisconnectReason(closeInfo: info).description.hasSuffix("(1001 going away): simulator stopping"))
    }
}
