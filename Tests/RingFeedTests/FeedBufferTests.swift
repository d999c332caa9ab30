import Foundation
import RingFeed
import RingFeedSimulator
import Testing

/// A busy simulator: enough events a second to overflow small buffers fast.
private func busySimulator() async throws -> ExchangeSimulator {
    var market = SyntheticMarket.Configuration()
    market.eventsPerSecond = 1500
    market.bookLevels = 100
    return try await ExchangeSimulator.start(
        source: SyntheticMarket(symbols: ["BTCUSDT", "ETHUSDT"], seed: 23, configuration: market))
}

private let streams = ["btcusdt@bookTicker", "ethusdt@bookTicker", "btcusdt@depth@100ms", "ethusdt@depth@100ms"]

/// Reads `seq` to its end (bounded by `timeout`).
private func drain(_ seq: BufferedFeedEvents, timeout: Duration = .seconds(10)) async -> [FeedEvent] {
    await withTaskGroup(of: [FeedEvent].self) { group in
        group.addTask {
            var out: [FeedEvent] = []
            for await e in seq { out.append(e) }
            return out
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            seq.cancel()
            return []
        }
        var got = await group.next()!
        group.cancelAll()
        if let other = await group.next(), got.isEmpty { got = other }
        return got
    }
}

/// Every event offered is exactly one of delivered, dropped, replaced, buffered.
private func addsUp(_ s: ConsumerStats) -> Bool {
    s.received == s.delivered + s.dropped + s.replaced + s.buffered
}

@Suite("Bounded FeedEvent buffers: ResilientFeed.events and FeedPool.events", .serialized, .timeLimit(.minutes(1)))
struct FeedBufferTests {
    @Test("stalled consumers of a ResilientFeed: dropOldest keeps the newest, keepLatest one per stream, disconnect cuts off; counters add up")
    func resilientFeedPolicies() async throws {
        let sim = try await busySimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = pingCloseOptions(sim)
        o.feed.eventBufferSize = 64
        o.feed.backpressure = .dropOldest
        // Every consumer exists before the first event: they all see the same ones.
        let feed = try await ResilientFeed.connect(streams: [], options: o, on: loop)
        let latest = feed.events(policy: .keepLatest(per: .stream), capacity: 64)
        let cut = feed.events(policy: .disconnect, capacity: 64)
        let everything = feed.events(policy: .dropOldest, capacity: 1_000_000)
        #expect(feed.events.policy == .dropOldest && latest.policy == .keepLatest(per: .stream))
        let reader = Task { await drain(everything, timeout: .seconds(20)) }
        try await feed.subscribe(streams)

        // Nobody reads the first three for a while.
        #expect(await waitUntil(.seconds(5)) { feed.events.stats.dropped > 500 }, "\(feed.events.stats)")
        #expect(cut.end == .tooSlow(capacity: 64))
        await feed.stop()
        let all = await reader.value
        let oldest = await drain(feed.events)
        let kept = await drain(latest)
        let none = await drain(cut)

        let so = feed.events.stats, sl = latest.stats, sc = cut.stats, se = everything.stats
        for s in [so, sl, sc, se] { #expect(addsUp(s), "\(s)") }
        // The reader kept up and saw everything once.
        #expect(se.dropped == 0 && se.replaced == 0 && se.delivered == all.count && se.received == all.count)
        #expect(so.dropped > 500, "\(all.count) events")
        // dropOldest: the newest 64, in order.
        #expect(so.received == all.count && oldest.count == 64 && so.dropped == all.count - 64)
        #expect(oldest == Array(all.suffix(64)))
        // keepLatest per stream: the last event of each stream, nothing else.
        let lastOfEach = streams.compactMap { name in all.last { $0.market?.stream == name } }
        #expect(Set(kept) == Set(lastOfEach) && kept.count == streams.count, "\(kept.count) kept")
        #expect(sl.received == all.count && sl.replaced > 0 && sl.highWater <= streams.count)
        // disconnect: cut off when the 65th arrived; what it held is dropped.
        #expect(none.isEmpty && sc.received == 65 && sc.dropped == 65 && sc.delivered == 0)
        // The feed's count is every consumer's losses together.
        let lost = [so, sl, sc, se].reduce(0) { $0 + $1.dropped + $1.replaced }
        #expect(feed.stats.dropped == lost, "\(feed.stats.dropped) vs \(lost)")
        print("ResilientFeed buffers: \(all.count) events; dropOldest \(so); keepLatest \(sl); disconnect \(sc)")
        await sim.stop()
    }

    @Test("FeedPool.events: a stalled consumer drops per its policy, counted in the pool's stats")
    func poolPolicies() async throws {
        let sim = try await busySimulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = FeedPool.Options()
        o.connection = pingCloseOptions(sim)
        o.connection.feed.eventBufferSize = 32
        o.connection.feed.backpressure = .disconnect
        o.maxStreamsPerConnection = 2 // two connections, each forwarded into the pool's buffers
        let pool = try await FeedPool.connect(streams: streams, options: o, on: loop)
        #expect(pool.connections.count == 2)
        let latest = pool.events(policy: .keepLatest(per: .streamAndSymbol), capacity: 32)
        let everything = pool.events(policy: .dropOldest, capacity: 1_000_000)
        let reader = Task { await drain(everything, timeout: .seconds(20)) }
        #expect(await waitUntil(.seconds(5)) { pool.events.end != nil && latest.stats.replaced > 200 })
        // The pool's own `events` was cut off; the connections and the other consumers go on.
        #expect(pool.events.end == .tooSlow(capacity: 32))
        let before = everything.stats.received
        #expect(await waitUntil(.seconds(3)) { everything.stats.received > before + 100 })
        await pool.stop()
        let all = await reader.value
        let kept = await drain(latest)
        let sp = pool.events.stats, sl = latest.stats, se = everything.stats
        for s in [sp, sl, se] { #expect(addsUp(s), "\(s)") }
        #expect(se.dropped == 0 && se.received == all.count)
        #expect(sp.received == 33 && sp.dropped == 33)
        #expect(kept.count == streams.count && sl.received >= all.count)
        // The pool's consumers' losses are in its count (with whatever the
        // connections' own hand-off buffers dropped, if a forwarder lagged).
        #expect(pool.stats.dropped >= sp.dropped + sl.dropped + sl.replaced, "\(pool.stats)")
        print("FeedPool buffers: \(all.count) events; disconnect \(sp); keepLatest \(sl)")
        await sim.stop()
    }
}
