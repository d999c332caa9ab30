import Foundation
@testable import RingFeed
import RingFeedSimulator
import Synchronization
import Testing

/// An element for the buffer tests: the key it is pushed under and its
/// place in the order pushed.
private struct Item: Sendable, Equatable {
    var key: Int
    var n: Int
}

private func key(_ k: Int) -> EventKey { EventKey(stream: k, symbol: "") }

/// Everything still in the buffer, the producer having finished it.
private func drain<E: Sendable>(_ b: EventBuffer<E>) async -> [E] {
    var out: [E] = []
    while let e = await b.nextEvent() { out.append(e) }
    return out
}

/// The same through the public sequence.
private func drain(_ events: BufferedEvents) async -> [StreamEvent] {
    var out: [StreamEvent] = []
    for await e in events { out.append(e) }
    return out
}

/// The process's resident set in bytes (/proc/self/statm, second field).
private func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

@Suite("Backpressure: bounded consumer buffers and their policies", .serialized, .timeLimit(.minutes(2)))
struct BackpressureTests {
    // MARK: - the buffer alone

    @Test("dropOldest: the newest `capacity` events stay, in order; exact counts")
    func dropOldest() async {
        let b = EventBuffer<Item>(policy: .dropOldest, capacity: 4)
        var lost = 0
        for n in 0..<10 { lost += b.push(Item(key: 0, n: n), key: nil).lost }
        #expect(lost == 6)
        let s = b.stats
        #expect(s.received == 10 && s.dropped == 6 && s.buffered == 4 && s.highWater == 4 && s.delivered == 0 && s.replaced == 0)
        b.finish()
        let got = await drain(b)
        #expect(got.map(\.n) == [6, 7, 8, 9])
        #expect(b.stats.delivered == 4 && b.stats.buffered == 0)
        #expect(b.end == .finished)
        #expect(b.push(Item(key: 0, n: 10), key: nil).closed)
    }

    @Test("dropOldest: nothing lost while the consumer keeps up, across ring wrap-around and segments")
    func noLossWhenKeepingUp() async {
        // 3000 slots: three segments, the last one short.
        let b = EventBuffer<Item>(policy: .dropOldest, capacity: 3000)
        var got: [Int] = []
        for round in 0..<5 {
            for n in 0..<2500 { #expect(b.push(Item(key: 0, n: round * 2500 + n), key: nil).lost == 0) }
            for _ in 0..<2500 { if let e = await b.nextEvent() { got.append(e.n) } }
        }
        #expect(got == Array(0..<12500))
        let s = b.stats
        #expect(s.received == 12500 && s.delivered == 12500 && s.dropped == 0 && s.highWater == 2500)
    }

    @Test("keepLatest: one pending event a key, the newest, in its key's place; overflow drops the oldest key")
    func keepLatest() async {
        let b = EventBuffer<Item>(policy: .keepLatest(per: .stream), capacity: 8)
        let pushes = [(0, 1), (1, 2), (0, 3), (2, 4), (1, 5), (0, 6)]
        var lost = 0
        for (k, n) in pushes { lost += b.push(Item(key: k, n: n), key: key(k)).lost }
        #expect(lost == 3)
        var s = b.stats
        #expect(s.received == 6 && s.replaced == 3 && s.dropped == 0 && s.buffered == 3 && s.highWater == 3)
        var got: [Item] = []
        for _ in 0..<3 { if let e = await b.nextEvent() { got.append(e) } }
        // Key 0 first (its first event came first), with its newest value.
        #expect(got == [Item(key: 0, n: 6), Item(key: 1, n: 5), Item(key: 2, n: 4)])
        // Taken events are no longer pending: the same key queues again.
        _ = b.push(Item(key: 0, n: 7), key: key(0))
        _ = b.push(Item(key: 0, n: 8), key: key(0))
        #expect(b.stats.buffered == 1 && b.stats.replaced == 4)

        // More keys than room: the oldest pending key goes, counted dropped.
        let small = EventBuffer<Item>(policy: .keepLatest(per: .stream), capacity: 2)
        _ = small.push(Item(key: 0, n: 0), key: key(0))
        _ = small.push(Item(key: 1, n: 1), key: key(1))
        #expect(small.push(Item(key: 2, n: 2), key: key(2)).lost == 1)
        // Key 0 left with its event: a new one is queued, not a replacement.
        _ = small.push(Item(key: 0, n: 3), key: key(0))
        _ = small.push(Item(key: 2, n: 4), key: key(2))
        s = small.stats
        #expect(s.received == 5 && s.dropped == 2 && s.replaced == 1 && s.buffered == 2)
        small.finish()
        #expect(await drain(small) == [Item(key: 2, n: 4), Item(key: 0, n: 3)])
        #expect(small.stats.received == small.stats.delivered + small.stats.dropped + small.stats.replaced)
    }

    @Test("disconnect: a full buffer ends the sequence with the reason, drops what it held, and takes no more")
    func disconnect() async {
        let b = EventBuffer<Item>(policy: .disconnect, capacity: 3)
        for n in 0..<3 { #expect(!b.push(Item(key: 0, n: n), key: nil).closed) }
        #expect(b.end == nil)
        let r = b.push(Item(key: 0, n: 3), key: nil)
        #expect(r.closed && r.lost == 4)
        #expect(b.end == .tooSlow(capacity: 3))
        #expect(b.end?.description.contains("too slow") == true)
        let after = b.push(Item(key: 0, n: 4), key: nil)
        #expect(after.closed && after.lost == 0)
        #expect(await drain(b).isEmpty)
        let s = b.stats
        #expect(s.received == 4 && s.dropped == 4 && s.delivered == 0 && s.buffered == 0)
    }

    @Test("a parked consumer is woken once for a batch of events, then gets them all in order")
    func batchedWake() async throws {
        let b = EventBuffer<Item>(policy: .dropOldest, capacity: 1000)
        let consumer = Task { () -> [Int] in
            var got: [Int] = []
            while got.count < 300, let e = await b.nextEvent() { got.append(e.n) }
            return got
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while !b.consumerWaiting && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        #expect(b.consumerWaiting)
        var wakes = 0
        for n in 0..<100 where b.push(Item(key: 0, n: n), key: nil).wake { wakes += 1 }
        #expect(wakes == 1, "one wake-up asked for the batch")
        // Not woken by the pushes themselves.
        try await Task.sleep(for: .milliseconds(50))
        #expect(b.consumerWaiting && b.stats.buffered == 100)
        b.wakeConsumer()
        while b.stats.buffered > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        #expect(b.stats.delivered == 100)
        for n in 100..<300 where b.push(Item(key: 0, n: n), key: nil).wake { b.wakeConsumer() }
        let got = await consumer.value
        #expect(got == Array(0..<300))
    }

    @Test("a consumer that stops and resumes gets the retained events in order; a cancelled one ends")
    func resumeAndCancel() async throws {
        let b = EventBuffer<Item>(policy: .dropOldest, capacity: 100)
        for n in 0..<50 { _ = b.push(Item(key: 0, n: n), key: nil) }
        var firstPart: [Int] = []
        while firstPart.count < 10, let e = await b.nextEvent() { firstPart.append(e.n) }
        // The loop broke: what it had not read yet is not lost.
        for n in 50..<250 { _ = b.push(Item(key: 0, n: n), key: nil) }
        var rest: [Int] = []
        while rest.last != 249, let e = await b.nextEvent() { rest.append(e.n) }
        #expect(firstPart == Array(0..<10))
        // The iterator had taken the first 50 in one batch (delivered); of
        // the 200 after, the newest 100 stayed.
        #expect(rest == Array(10..<50) + Array(150..<250))
        #expect(b.stats.dropped == 100 && b.stats.delivered == 150)

        let waiting = Task { await drain(b).count }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        #expect(await waiting.value == 0)
        #expect(b.end == .cancelled)
        #expect(b.push(Item(key: 0, n: 0), key: nil).closed)
    }

    @Test("stream names are interned: one String a name, numbered densely")
    func interning() {
        var names = StreamNames()
        func intern(_ s: String) -> StreamNames.Name {
            var s = s
            return s.withUTF8 { names.intern(UnsafeRawBufferPointer($0)) }
        }
        let all = (0..<200).map { "sym\($0)usdt@aggTrade" } + ["btcusdt@depth@100ms", "a", ""]
        let first = all.map(intern)
        #expect(first.map(\.id) == Array(0..<all.count))
        let again = all.map(intern)
        #expect(again.map(\.id) == first.map(\.id))
        #expect(again.map(\.string) == all)
    }

    // MARK: - a MarketFeed

    @Test("several consumers of one feed: each its own buffer, policy and counters")
    func severalConsumers() async throws {
        var market = SyntheticMarket.Configuration()
        market.eventsPerSecond = 200
        let sim = try await ExchangeSimulator.start(source: SyntheticMarket(symbols: ["BTCUSDT", "ETHUSDT"], seed: 5,
                                                                           configuration: market))
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = MarketFeed.Options()
        o.url = sim.webSocketURL
        let streams = ["btcusdt@aggTrade", "ethusdt@aggTrade", "btcusdt@bookTicker", "ethusdt@bookTicker"]
        let feed = try await MarketFeed.connect(streams: streams, options: o, on: loop)
        let latest = feed.events(policy: .keepLatest(per: .stream), capacity: 16)
        let cut = feed.events(policy: .disconnect, capacity: 5)
        // Read `events` (it must see every event, in order) while the others wait.
        var trades: [String: Int64] = [:]
        var seen = 0
        var inOrder = true
        for await e in feed.events {
            seen += 1
            if case let .aggTrade(t) = e.event {
                if let last = trades[e.stream], t.aggTradeId != last + 1 { inOrder = false }
                trades[e.stream] = t.aggTradeId
            }
            if seen == 400 { break }
        }
        #expect(inOrder, "aggTrade ids of a stream follow each other")
        #expect(cut.end == .tooSlow(capacity: 5))
        var cutCount = 0
        for await _ in cut { cutCount += 1 }
        #expect(cutCount == 0)
        // keepLatest: at most one event a stream, each its stream's newest so far.
        let s = latest.stats
        #expect(s.buffered <= streams.count && s.replaced > 0 && s.dropped == 0)
        await feed.close()
        let pending = await drain(latest)
        #expect(Set(pending.map(\.stream)).count == pending.count)
        let ls = latest.stats
        #expect(ls.received == ls.delivered + ls.replaced && ls.buffered == 0)
        let main = feed.events.stats
        #expect(main.dropped == 0)
        #expect(feed.stats.dropped == ls.replaced + cut.stats.dropped)
        #expect(feed.events.end == .finished)
        await sim.stop()
    }

    @Test("keepLatest per stream and symbol: an all-market array stream keeps the newest event of each symbol")
    func keepLatestPerSymbol() async throws {
        var config = SimulatorConfiguration()
        config.speed = 50 // an array a second of simulated time: one every 20 ms
        let sim = try await ExchangeSimulator.start(
            source: SyntheticMarket(symbols: ["BTCUSDT", "ETHUSDT", "SOLUSDT"], seed: 9), configuration: config)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = MarketFeed.Options()
        o.url = sim.webSocketURL
        o.backpressure = .keepLatest(per: .stream)
        let feed = try await MarketFeed.connect(streams: ["!miniTicker@arr"], options: o, on: loop)
        let perSymbol = feed.events(policy: .keepLatest(per: .streamAndSymbol), capacity: 16)
        let deadline = ContinuousClock.now + .seconds(10)
        while perSymbol.stats.received < 30 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        await feed.close()
        await sim.stop()
        // Per stream: one event waits for the whole array stream.
        let one = await drain(feed.events)
        #expect(one.count == 1)
        // Per stream and symbol: one for each symbol, each its newest.
        let each = await drain(perSymbol)
        let symbols = each.compactMap { if case let .miniTicker(m) = $0.event { m.symbol } else { nil } }
        #expect(Set(symbols) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"] && symbols.count == 3)
        if case let .miniTicker(last) = one.first?.event {
            let same = each.first { if case let .miniTicker(m) = $0.event { m.symbol == last.symbol } else { false } }
            #expect(same == one.first, "the newest event of the stream is its symbol's newest")
        }
        let s = perSymbol.stats
        #expect(s.received >= 30 && s.replaced == s.received - 3 && s.dropped == 0 && s.delivered == 3)
        #expect(feed.stats.dropped == feed.events.stats.replaced + s.replaced + s.dropped)
    }

    // MARK: - the issue's test

    /// What the test sees of every message on the I/O thread, before the
    /// feed scans it: the market events offered to consumers (all but the
    /// book's diffs) and each aggTrade stream's last id.
    private final class Tape: @unchecked Sendable {
        // @unchecked: written on the loop thread only, read after the
        // connection closed (the close's hand-off orders the reads).
        var offered = 0
        var lastAggTrade: [String: Int64] = [:]

        func see(_ b: UnsafeRawBufferPointer) {
            let prefix = Array("{\"stream\":\"".utf8)
            guard b.count > prefix.count + 8, b.prefix(prefix.count).elementsEqual(prefix) else { return }
            let nameEnd = b[prefix.count...].firstIndex(of: UInt8(ascii: "\"")) ?? b.count
            let name = String(decoding: b[prefix.count..<nameEnd], as: UTF8.self)
            if name == "btcusdt@depth@100ms" { return }
            offered += 1
            guard name.hasSuffix("@aggTrade") else { return }
            let field = Array("\"a\":".utf8)
            var i = nameEnd
            while i + field.count < b.count {
                if b[i..<(i + field.count)].elementsEqual(field) {
                    var v: Int64 = 0
                    var j = i + field.count
                    while j < b.count, b[j] >= 48, b[j] <= 57 { v = v * 10 + Int64(b[j] - 48); j += 1 }
                    lastAggTrade[name] = v
                    return
                }
                i += 1
            }
        }
    }

    /// The book's state at the update id the test asks for, caught on the
    /// I/O thread as the diff ending there is applied.
    private final class Catcher: @unchecked Sendable {
        // @unchecked: guarded by the lock.
        private let lock = NSLock()
        private var target: Int64 = 0
        private var caught: BookSnapshot?
        private var passed = false

        func arm(_ id: Int64) { lock.withLock { target = id; caught = nil; passed = false } }
        func onUpdate(_ book: OrderBook) {
            lock.withLock {
                guard target != 0, caught == nil, !passed else { return }
                let id = book.lastUpdateId
                if id > target { passed = true }
                guard id == target else { return }
                // The loop thread applies diffs: the book holds still here.
                caught = book.snapshot()
            }
        }
        var result: (BookSnapshot?, Bool) { lock.withLock { (caught, passed) } }
    }

    @Test("a consumer that stops reading for 30 s against a blasting simulator: memory bounded, drops counted, book exact, newest events kept in order",
          .timeLimit(.minutes(2)))
    func stalledConsumer() async throws {
        let symbols = ["BTCUSDT"] + (0..<23).map { "S\($0)USDT" }
        var market = SyntheticMarket.Configuration()
        // Sparse enough in simulated time that a true snapshot often falls
        // between two diffs (the book can be compared at its id); blast mode
        // runs simulated time as fast as the loop goes, and 24 symbols make
        // the message rate.
        market.eventsPerSecond = 100
        market.bookLevels = 200
        var config = SimulatorConfiguration()
        config.blast = true
        // 50 ms of simulated time a pass: many events a pass, so the rate is
        // set by how fast the two ends can go, not by the passes.
        config.blastStep = .milliseconds(50)
        // What is under test is the consumer's stall, not whether a debug
        // client on two shared cores keeps up with a server blasting in the
        // same process: a moment's scheduling lag let 16 MiB queue up once
        // and the server cut the client off as a slow consumer (Binance's
        // rule, tested on its own). 48 MiB rides out such moments and stays
        // inside the memory allowance below.
        config.limits.maxQueuedBytes = 48 << 20
        let sim = try await ExchangeSimulator.start(
            source: SyntheticMarket(symbols: symbols, seed: 17, configuration: market), configuration: config)
        let loop = try EventLoop()
        defer { loop.shutdown() }

        var o = MarketFeed.Options()
        o.url = sim.webSocketURL
        #expect(o.backpressure == .dropOldest)
        // Smaller than the default (100 000) so the bound below is tight: a
        // buffer that grows with the events breaks it within seconds.
        let capacity = 25_000
        o.eventBufferSize = capacity
        let streams = symbols.flatMap { s in ["@aggTrade", "@trade", "@bookTicker"].map { s.lowercased() + $0 } }
        let tape = Tape()
        let feed = try await MarketFeed.connect(streams: streams, options: o, on: loop, tap: { tape.see($0) })
        let catcher = Catcher()
        var bo = BookOptions()
        bo.venue = .spot
        bo.snapshotURL = sim.httpURL + "/api/v3/depth"
        bo.snapshotLimit = 1000
        bo.budget = WeightBudget(limit: 6000, window: .seconds(60))
        bo.onUpdate = { catcher.onUpdate($0) }
        let book = try await feed.orderBook(symbol: "BTCUSDT", options: bo)

        // The consumer does not read for 30 s; the process's RSS each second.
        let stride = MemoryLayout<StreamEvent>.stride
        // Bound on growth after the first 2 s: the whole ring filling up
        // after that (capacity × stride, 8 MB; these events own no heap
        // memory: symbols fit inline, stream names are shared), plus 96 MB
        // for the simulator's send queue (48 MiB at most here, see above),
        // allocator slack, and the other suites running in this process at
        // the same time (up to ~40 MB seen). Without a bound the events
        // alone grow by rate × stride (~7 MB/s here), past this in ~20 s.
        let allowance = capacity * stride + (96 << 20)
        var samples: [Int] = []
        let start = ContinuousClock.now
        for second in 1...30 {
            try await Task.sleep(until: start + .seconds(second))
            samples.append(residentBytes())
            if second > 2, samples.last! - samples[1] > allowance {
                Issue.record("RSS grew \((samples.last! - samples[1]) >> 20) MB after the first 2 s (allowed \(allowance >> 20) MB)")
                break
            }
        }
        let mb = samples.map { $0 >> 20 }
        let stalled = feed.events.stats
        print("stalled consumer: StreamEvent stride \(stride) B, capacity \(capacity); RSS MB each second: \(mb); "
              + "events offered \(stalled.received) (\(stalled.received / 30)/s), dropped \(stalled.dropped), "
              + "buffered \(stalled.buffered), high-water \(stalled.highWater)")
        #expect(samples.count == 30)
        #expect(samples.max()! - samples[1] <= allowance)
        #expect(stalled.dropped > 0, "the simulator outran the buffer")
        #expect(stalled.buffered == capacity && stalled.highWater == capacity && stalled.delivered == 0)

        // The book kept up all along: equal to the simulator's true book at
        // the same update id.
        let kept = book.state == .live && book.stats.syncs == 1 && book.stats.gaps == 0 && book.stats.resyncs == 0
        let served = await sim.statistics()
        #expect(kept, "book \(book.state), stats \(book.stats); simulator: \(served)")
        var exact = false
        for _ in 0..<100 where !exact && kept {
            let body = try #require(await sim.depthSnapshot(symbol: "BTCUSDT", limit: 5000))
            let truth = try DepthSnapshot(json: body)
            catcher.arm(truth.lastUpdateId)
            let now = book.snapshot()
            var mine: BookSnapshot? = now.lastUpdateId == truth.lastUpdateId ? now : nil
            let deadline = ContinuousClock.now + .seconds(2)
            while mine == nil && ContinuousClock.now < deadline {
                let (caught, passed) = catcher.result
                if let caught { mine = caught } else if passed || now.lastUpdateId > truth.lastUpdateId { break }
                try await Task.sleep(for: .milliseconds(1))
            }
            guard let mine else { continue }
            #expect(mine.bids == truth.bids && mine.asks == truth.asks, "BTCUSDT at \(truth.lastUpdateId)")
            exact = mine.bids == truth.bids && mine.asks == truth.asks && mine.state == .live
        }
        #expect(exact, "the book matched the simulator's at one of its update ids")

        // Counters against what arrived: every offered event is delivered,
        // dropped or still buffered.
        await feed.close()
        await sim.stop()
        let s = feed.events.stats
        #expect(s.received == tape.offered)
        #expect(s.delivered + s.dropped + s.buffered == tape.offered && s.replaced == 0)
        #expect(feed.stats.dropped == s.dropped)

        // The consumer reads again: the newest `capacity` events, in order
        // (each aggTrade stream's ids consecutive up to the last one sent).
        var retained = 0
        var lastId: [String: Int64] = [:]
        var consecutive = true
        for await e in feed.events {
            retained += 1
            if case let .aggTrade(t) = e.event {
                if let last = lastId[e.stream], t.aggTradeId != last + 1 { consecutive = false }
                lastId[e.stream] = t.aggTradeId
            }
        }
        #expect(retained == s.buffered)
        #expect(consecutive)
        #expect(!lastId.isEmpty && lastId.allSatisfy { tape.lastAggTrade[$0.key] == $0.value })
        let f = feed.events.stats
        #expect(f.delivered + f.dropped == f.received && f.buffered == 0)
        #expect(feed.events.end == .finished)
    }
}
