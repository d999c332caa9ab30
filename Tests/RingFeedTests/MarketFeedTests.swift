import CRingFeed
import Foundation
import RingFeed
import RingFeedSimulator
import Synchronization
import Testing

/// A simulator with a fast synthetic market, for the client's tests.
private func withSimulator<T>(
    symbols: [String] = ["BTCUSDT", "ETHUSDT"],
    configure: (inout SimulatorConfiguration) -> Void = { _ in },
    _ body: (ExchangeSimulator, EventLoop) async throws -> T
) async throws -> T {
    var config = SimulatorConfiguration()
    configure(&config)
    var market = SyntheticMarket.Configuration()
    market.eventsPerSecond = 2000
    let sim = try await ExchangeSimulator.start(
        source: SyntheticMarket(symbols: symbols, seed: 7, configuration: market), configuration: config)
    let loop = try EventLoop()
    do {
        let r = try await body(sim, loop)
        await sim.stop()
        loop.shutdown()
        return r
    } catch {
        await sim.stop()
        loop.shutdown()
        throw error
    }
}

private func options(_ sim: ExchangeSimulator) -> MarketFeed.Options {
    var o = MarketFeed.Options()
    o.url = sim.webSocketURL
    o.requestTimeout = .seconds(5)
    return o
}

/// The first `n` events of the feed, or fewer if `timeout` passes.
private func first(_ n: Int, of feed: MarketFeed, timeout: Duration = .seconds(10),
                   where keep: @escaping @Sendable (StreamEvent) -> Bool = { _ in true }) async -> [StreamEvent] {
    await withTaskGroup(of: [StreamEvent].self) { group in
        group.addTask {
            var out: [StreamEvent] = []
            for await e in feed.events where keep(e) {
                out.append(e)
                if out.count >= n { break }
            }
            return out
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return []
        }
        var result: [StreamEvent] = []
        for await r in group {
            if !r.isEmpty || result.isEmpty { result = r }
            break
        }
        group.cancelAll()
        return result
    }
}

@Suite("MarketFeed against the simulator", .serialized, .timeLimit(.minutes(2)))
struct MarketFeedTests {
    @Test("combined streams arrive as typed events on their streams")
    func typedEvents() async throws {
        try await withSimulator { sim, loop in
            let feed = try await MarketFeed.connect(
                streams: ["btcusdt@aggTrade", "ethusdt@depth@100ms", "btcusdt@bookTicker"], options: options(sim), on: loop)
            let events = await first(200, of: feed)
            #expect(events.count == 200)
            var kinds = Set<String>()
            for e in events {
                kinds.insert(e.event.typeName)
                switch e.event {
                case let .aggTrade(t):
                    #expect(e.stream == "btcusdt@aggTrade" && t.symbol == "BTCUSDT")
                    #expect(t.firstTradeId <= t.lastTradeId)
                case let .depthUpdate(d):
                    #expect(e.stream == "ethusdt@depth@100ms" && d.symbol == "ETHUSDT")
                    #expect(d.firstUpdateId <= d.finalUpdateId)
                case let .bookTicker(b):
                    #expect(e.stream == "btcusdt@bookTicker" && b.bidPrice < b.askPrice)
                default:
                    Issue.record("unexpected \(e)")
                }
            }
            #expect(kinds == ["aggTrade", "depthUpdate", "bookTicker"])
            #expect(feed.stats.errors == 0)
            let info = await feed.close()
            #expect(info.code == 1000 && info.error == nil)
        }
    }

    @Test("SUBSCRIBE, LIST_SUBSCRIPTIONS, UNSUBSCRIBE round trips, batched")
    func subscriptions() async throws {
        try await withSimulator { sim, loop in
            let feed = try await MarketFeed.connect(streams: ["btcusdt@aggTrade"], options: options(sim), on: loop)
            try await feed.subscribe(["ethusdt@trade", "ethusdt@kline_1m", "btcusdt@miniTicker"])
            #expect(Set(try await feed.listSubscriptions())
                    == ["btcusdt@aggTrade", "ethusdt@trade", "ethusdt@kline_1m", "btcusdt@miniTicker"])
            let trades = await first(5, of: feed) { $0.stream == "ethusdt@trade" }
            #expect(trades.count == 5)
            try await feed.unsubscribe(["btcusdt@aggTrade", "ethusdt@kline_1m"])
            #expect(Set(try await feed.listSubscriptions()) == ["ethusdt@trade", "btcusdt@miniTicker"])
            #expect(Set(await feed.streams) == ["ethusdt@trade", "btcusdt@miniTicker"])
            // One request per call, whatever the number of streams.
            #expect(await sim.statistics().controlMessages == 4)
            await feed.close()
        }
    }

    @Test("properties, and the exchange's error objects reach the caller")
    func propertiesAndErrors() async throws {
        try await withSimulator { sim, loop in
            let feed = try await MarketFeed.connect(streams: ["btcusdt@aggTrade"], options: options(sim), on: loop)
            #expect(try await feed.property("combined") == "true")
            await #expect(throws: ControlError.rejected(code: 0, message: "Unknown property")) {
                try await feed.property("nonsense")
            }
            await #expect(throws: MarketFeedError.unknownStream("btcusdt@nonsense")) {
                try await feed.subscribe(["btcusdt@nonsense"])
            }
            // Raw payloads after combined=false: still typed; with one stream
            // on the connection they are named after it, with two they are not.
            try await feed.setProperty("combined", to: false)
            #expect(try await feed.property("combined") == "false")
            try await feed.subscribe(["ethusdt@trade"])
            let raw = await first(3, of: feed) { if case .trade = $0.event { true } else { false } }
            #expect(raw.count == 3 && raw.allSatisfy { $0.stream.isEmpty })
            await feed.close()
        }
    }

    @Test("a request with no answer times out; pending requests fail when the connection ends")
    func timeoutsAndClose() async throws {
        try await withSimulator { sim, loop in
            var o = options(sim)
            o.requestTimeout = .milliseconds(300)
            let feed = try await MarketFeed.connect(streams: ["btcusdt@aggTrade"], options: o, on: loop)
            _ = await sim.inject(.stall)
            await #expect(throws: ControlError.timedOut) { try await feed.listSubscriptions() }
            feed.webSocket?.abort()
            _ = await feed.closed()
            await #expect(throws: ControlError.connectionClosed) { try await feed.listSubscriptions() }
        }
    }

    @Test("the synchronous handler sees every event in place; the sequence stays empty")
    func synchronousHandler() async throws {
        try await withSimulator { sim, loop in
            let seen = Atomic<Int>(0)
            let levels = Atomic<Int>(0)
            let feed = try await MarketFeed.connect(
                streams: ["btcusdt@depth@100ms", "btcusdt@aggTrade"], options: options(sim), on: loop
            ) { view in
                seen.add(1, ordering: .relaxed)
                if view.kind == RF_BN_DEPTH_UPDATE { levels.add(view.bids.count + view.asks.count, ordering: .relaxed) }
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while seen.load(ordering: .relaxed) < 300 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(seen.load(ordering: .relaxed) >= 300)
            #expect(levels.load(ordering: .relaxed) > 0)
            await feed.close()
            var yielded = 0
            for await _ in feed.events { yielded += 1 }
            #expect(yielded == 0)
            #expect(feed.stats.events >= 300 && feed.stats.errors == 0)
        }
    }

    @Test("microsecond times, all-market arrays and serverShutdown")
    func unitsArraysShutdown() async throws {
        try await withSimulator { sim, loop in
            var o = options(sim)
            o.microsecondTimes = true
            let feed = try await MarketFeed.connect(
                streams: ["btcusdt@aggTrade", "!miniTicker@arr"], options: o, on: loop)
            let trades = await first(3, of: feed) { if case .aggTrade = $0.event { true } else { false } }
            for e in trades {
                guard case let .aggTrade(t) = e.event else { continue }
                #expect(t.eventTime > 1_000_000_000_000_000, "µs: \(t.eventTime)")
            }
            let minis = await first(2, of: feed) { $0.stream == "!miniTicker@arr" }
            #expect(Set(minis.compactMap { if case let .miniTicker(m) = $0.event { m.symbol } else { nil } })
                    .isSubset(of: ["BTCUSDT", "ETHUSDT"]))
            #expect(minis.count == 2)
            _ = await sim.inject(.serverShutdown(closeAfter: nil))
            let notice = await first(1, of: feed) { if case .serverShutdown = $0.event { true } else { false } }
            #expect(notice.count == 1)
            await feed.close()
        }
    }
}

@Suite("MarketFeed raw connections", .serialized, .timeLimit(.minutes(1)))
struct MarketFeedRawTests {
    @Test("raw /ws/<name>: bare payloads, named after the connection's only stream")
    func rawSingle() async throws {
        try await withSimulator { sim, loop in
            var o = options(sim)
            o.combined = false
            let feed = try await MarketFeed.connect(streams: ["ethusdt@aggTrade"], options: o, on: loop)
            #expect(feed.url.hasSuffix("/ws/ethusdt@aggTrade"))
            let events = await first(20, of: feed)
            #expect(events.count == 20)
            #expect(events.allSatisfy { $0.stream == "ethusdt@aggTrade" })
            #expect(events.allSatisfy { if case let .aggTrade(t) = $0.event { t.symbol == "ETHUSDT" } else { false } })
            // A second stream makes payloads ambiguous: no name is guessed.
            try await feed.subscribe(["btcusdt@bookTicker"])
            let later = await first(20, of: feed) { if case .bookTicker = $0.event { true } else { false } }
            #expect(later.count == 20 && later.allSatisfy { $0.stream.isEmpty })
            await feed.close()
        }
    }
}

@Suite("MarketFeed refusals", .timeLimit(.minutes(1)))
struct MarketFeedRefusalTests {
    @Test("a stream the server does not serve: the error carries the server's own explanation")
    func refusedUpgrade() async throws {
        try await withSimulator(symbols: ["BTCUSDT"]) { sim, loop in
            do {
                // A valid name, but not a symbol this exchange lists.
                _ = try await MarketFeed.connect(streams: ["dogeusdt@aggTrade"], options: options(sim), on: loop)
                Issue.record("the upgrade should have been refused")
            } catch let e as RingFeedError {
                #expect(e.code == RF_EHS_STATUS.rawValue)
                #expect(e.description.contains("400 Bad Request"), "\(e)")
                #expect(e.description.contains("dogeusdt@aggTrade"), "\(e)")
            }
        }
    }
}
