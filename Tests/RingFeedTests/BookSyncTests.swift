import Foundation
import RingFeed
import RingFeedSimulator
import Testing


private func isSynced(_ e: BookEvent) -> Bool { if case .synced = e { return true } else { return false } }

private func synthetic(_ symbols: [String], venue: Venue = .spot, eventsPerSecond: Double = 20,
                       levels: Int = 200) async throws -> ExchangeSimulator {
    var market = SyntheticMarket.Configuration()
    market.eventsPerSecond = eventsPerSecond
    market.bookLevels = levels
    return try await ExchangeSimulator.start(source: SyntheticMarket(symbols: symbols, seed: 11, venue: venue,
                                                                     configuration: market))
}

private func bookOptions(_ sim: ExchangeSimulator, futures: Bool) -> BookOptions {
    var o = BookOptions()
    o.venue = futures ? .usdmFutures : .spot
    o.snapshotURL = sim.httpURL + (futures ? "/fapi/v1/depth" : "/api/v3/depth")
    o.snapshotLimit = 1000
    o.budget = WeightBudget(limit: 6000, window: .seconds(60))
    return o
}

private func feedOptions(_ sim: ExchangeSimulator) -> MarketFeed.Options {
    var o = MarketFeed.Options()
    o.url = sim.webSocketURL
    return o
}

/// Whether the book equals the simulator's REST book at the same update id.
private func equalsExchange(_ book: OrderBook, _ sim: ExchangeSimulator, futures: Bool, loop: EventLoop,
                            tries: Int = 40) async throws -> Bool {
    let path = futures ? "/fapi/v1/depth" : "/api/v3/depth"
    return try await bookEqualsExchange(book, tries: tries) {
        try DepthSnapshot(json: try await HTTPClient.get("\(sim.httpURL)\(path)?symbol=\(book.symbol)&limit=1000", on: loop).body)
    }
}

@Suite("Book sync against the simulator", .serialized, .timeLimit(.minutes(3)))
struct BookSyncTests {
    static let dataDir = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/binance").path

    /// The independent reference: the recorded snapshot and diffs of each
    /// symbol, read with JSONSerialization, applied with Binance's rules to a
    /// dictionary. Returns symbol -> (final u, bids, asks, events applied).
    static func reference(_ prefix: String, futures: Bool) throws -> [String: (Int64, [Price: Quantity], [Price: Quantity], Int)] {
        var books: [String: (Int64, [Price: Quantity], [Price: Quantity], Int)] = [:]
        let snaps = try String(contentsOfFile: dataDir + "/\(prefix).http.0.0", encoding: .utf8)
        for line in snaps.split(separator: "\n") {
            let url = line.prefix { $0 != " " }
            let symbol = String(url.split(separator: "symbol=")[1].prefix { $0 != "&" })
            let body = line[line.range(of: ": ")!.upperBound...]
            let o = try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
            func side(_ key: String) -> [Price: Quantity] {
                var out: [Price: Quantity] = [:]
                for l in o[key] as! [[String]] where Quantity(l[1])! != Quantity(mantissa: 0, scale: 0) {
                    out[Price(l[0])!] = Quantity(l[1])!
                }
                return out
            }
            books[symbol] = ((o["lastUpdateId"] as! NSNumber).int64Value, side("bids"), side("asks"), 0)
        }
        var bridged = Set<String>()
        let stream = try String(contentsOfFile: dataDir + "/\(prefix).ws.1.0", encoding: .utf8)
        for line in stream.split(separator: "\n").dropFirst() {
            let body = line[line.range(of: ": ")!.upperBound...]
            let o = try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
            guard let d = o["data"] as? [String: Any], d["e"] as? String == "depthUpdate" else { continue }
            let symbol = d["s"] as! String
            guard var book = books[symbol] else { continue }
            let U = (d["U"] as! NSNumber).int64Value, u = (d["u"] as! NSNumber).int64Value
            if !bridged.contains(symbol) {
                if futures ? u < book.0 : u <= book.0 { continue }
                #expect(futures ? U <= book.0 : U <= book.0 + 1, "\(symbol): the recording bridges its snapshot")
                bridged.insert(symbol)
            } else if futures {
                #expect((d["pu"] as! NSNumber).int64Value == book.0, "\(symbol): the recording has no gap")
            } else {
                #expect(U == book.0 + 1, "\(symbol): the recording has no gap")
            }
            for l in d["b"] as! [[String]] { book.1[Price(l[0])!] = Quantity(l[1])! == Quantity(mantissa: 0, scale: 0) ? nil : Quantity(l[1])! }
            for l in d["a"] as! [[String]] { book.2[Price(l[0])!] = Quantity(l[1])! == Quantity(mantissa: 0, scale: 0) ? nil : Quantity(l[1])! }
            book.0 = u
            book.3 += 1
            books[symbol] = book
        }
        return books
    }

    @Test("recorded sessions replayed: every book syncs without a false gap and ends equal to the reference",
          arguments: [false, true])
    func recorded(futures: Bool) async throws {
        let prefix = futures ? "BINANCE_FUTURES" : "BINANCE"
        let reference = try Self.reference(prefix, futures: futures)
        let market = try RecordedMarket(streamFile: Self.dataDir + "/\(prefix).ws.1.0",
                                        snapshotFile: Self.dataDir + "/\(prefix).http.0.0",
                                        pace: .speed(10), startsWhenWatched: true)
        let symbols = market.symbols
        let sim = try await ExchangeSimulator.start(source: market)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let feed = try await MarketFeed.connect(streams: [], options: feedOptions(sim), on: loop)
        let books = try await feed.orderBooks(symbols: symbols, options: bookOptions(sim, futures: futures))
        let logs = books.map { b in BookEventLog().also { $0.watch(b) } }
        for (book, log) in zip(books, logs) {
            let ref = try #require(reference[book.symbol])
            let reached = await waitUntil(.seconds(30)) { book.lastUpdateId == ref.0 }
            #expect(reached, "\(book.symbol) at \(book.lastUpdateId), the recording ends at \(ref.0)")
            let s = book.snapshot()
            #expect(s.state == .live)
            #expect(s.bids.count == ref.1.count && s.asks.count == ref.2.count)
            #expect(s.bids == ref.1.sorted { $0.key > $1.key }.map { Level(price: $0.key, quantity: $0.value) })
            #expect(s.asks == ref.2.sorted { $0.key < $1.key }.map { Level(price: $0.key, quantity: $0.value) })
            let stats = book.stats
            #expect(stats.gaps == 0 && stats.resyncs == 0 && stats.syncs == 1 && stats.snapshotsTooOld == 0)
            #expect(stats.updatesApplied == ref.3 && ref.3 > 0)
            #expect(log.count { if case .gap = $0 { true } else { false } } == 0)
        }
        await feed.close()
        await sim.stop()
    }

    @Test("an injected gap: the book goes stale, only that symbol resyncs, and it equals the exchange's book",
          arguments: [false, true])
    func gap(futures: Bool) async throws {
        let sim = try await synthetic(["BTCUSDT", "ETHUSDT"], venue: futures ? .usdmFutures : .spot)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let feed = try await MarketFeed.connect(streams: [], options: feedOptions(sim), on: loop)
        let books = try await feed.orderBooks(symbols: ["BTCUSDT", "ETHUSDT"], options: bookOptions(sim, futures: futures))
        let (btc, eth) = (books[0], books[1])
        let log = BookEventLog()
        log.watch(btc)
        #expect(await waitUntil { btc.state == .live && eth.state == .live })
        #expect(try await equalsExchange(btc, sim, futures: futures, loop: loop))
        await sim.inject(.skipUpdateIds(symbol: "BTCUSDT", count: 3))
        #expect(await waitUntil { btc.stats.gaps == 1 && btc.stats.resyncs == 1 && btc.state == .live })
        let events = log.all
        let gapAt = try #require(events.firstIndex { if case .gap = $0.0 { true } else { false } })
        #expect(events[gapAt].1 == .stale) // readable, marked stale
        #expect(events[gapAt + 1].0 == .resyncing(.gap))
        #expect(events[(gapAt + 1)...].contains { isSynced($0.0) })
        #expect(try await equalsExchange(btc, sim, futures: futures, loop: loop))
        #expect(eth.stats.gaps == 0 && eth.stats.resyncs == 0) // the other symbol never stopped
        #expect(try await equalsExchange(eth, sim, futures: futures, loop: loop))
        await feed.close()
        #expect(btc.state == .stale && eth.state == .stale) // no connection: not current
        await sim.stop()
    }

    @Test("a dropped connection and a stalled one: the books go stale, reconnect, resync and equal the exchange's")
    func dropAndStall() async throws {
        let sim = try await synthetic(["BTCUSDT", "ETHUSDT"])
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = BookFeed.Options()
        o.feed = feedOptions(sim)
        o.book = bookOptions(sim, futures: false)
        o.idleTimeout = .seconds(1)
        o.reconnectDelay = .milliseconds(50)
        let feed = try await BookFeed.start(symbols: ["BTCUSDT", "ETHUSDT"], options: o, on: loop)
        let btc = try #require(feed.orderBook(symbol: "btcusdt"))
        let log = BookEventLog()
        log.watch(btc)
        #expect(await waitUntil { btc.state == .live })
        #expect(try await equalsExchange(btc, sim, futures: false, loop: loop))

        await sim.inject(.dropAfter(messages: 0))
        #expect(await waitUntil { log.events.contains(.disconnected) })
        #expect(await waitUntil { feed.connections == 2 && btc.state == .live && btc.stats.resyncs == 1 })
        #expect(log.all.first { $0.0 == .disconnected }?.1 == .stale)
        #expect(try await equalsExchange(btc, sim, futures: false, loop: loop))

        await sim.inject(.stall)
        #expect(await waitUntil { log.count { $0 == .disconnected } == 2 })
        #expect(await waitUntil { feed.connections == 3 && btc.state == .live && btc.stats.resyncs == 2 })
        #expect(try await equalsExchange(btc, sim, futures: false, loop: loop))
        let eth = try #require(feed.orderBook(symbol: "ETHUSDT"))
        #expect(try await equalsExchange(eth, sim, futures: false, loop: loop))
        #expect(btc.stats.gaps == 0)
        await feed.stop()
        #expect(btc.state == .stale)
        await sim.stop()
    }

    @Test("periodic verification compares with fresh snapshots at the same update id and finds the book right")
    func verification() async throws {
        let sim = try await synthetic(["BTCUSDT"], eventsPerSecond: 40)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = bookOptions(sim, futures: false)
        o.verification = .init(interval: .milliseconds(150), limit: 50)
        let feed = try await MarketFeed.connect(streams: [], options: feedOptions(sim), on: loop)
        let book = try await feed.orderBook(symbol: "BTCUSDT", options: o)
        let log = BookEventLog()
        log.watch(book)
        let conclusive = { log.events.filter { if case let .verified(v) = $0 { v.conclusive } else { false } } }
        #expect(await waitUntil(.seconds(30)) { conclusive().count >= 5 })
        for case let .verified(v) in conclusive() {
            #expect(v.matches, "\(v.differences)")
            // 50 levels asked of a book of about 200: the rest is unknown, not different.
            #expect(v.compared + v.excluded >= 100 && v.unknown > 100)
        }
        #expect(book.stats.verificationsFailed == 0 && book.stats.resyncs == 0)
        await feed.close()
        await sim.stop()
    }

    @Test("120 books syncing and then resyncing at once stay within the weight budget the exchange sees")
    func weightBudget() async throws {
        let symbols = (0..<120).map { "S\($0)USDT" }
        let sim = try await synthetic(symbols, eventsPerSecond: 10, levels: 40)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        // Scaled down: 200 weight per 2 s; a 100-level snapshot weighs 5, so
        // at most 40 snapshots per window and 120 books need three windows.
        let budget = WeightBudget(limit: 200, window: .seconds(2))
        var o = bookOptions(sim, futures: false)
        o.snapshotLimit = 100
        o.budget = budget
        // The REST requests the simulator counted, sampled every 10 ms.
        let samples = SampleLog()
        let sampler = Task {
            while !Task.isCancelled {
                let n = await sim.statistics().restRequests
                samples.add(ContinuousClock.now, n)
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        let start = ContinuousClock.now
        let feed = try await MarketFeed.connect(streams: [], options: feedOptions(sim), on: loop)
        let books = try await feed.orderBooks(symbols: symbols, options: o)
        #expect(await waitUntil(.seconds(40)) { books.allSatisfy { $0.state == .live } })
        let firstSync = ContinuousClock.now - start
        #expect(firstSync >= .seconds(3.5)) // three windows: the budget made them wait
        // Every book resyncs at once.
        await sim.inject(.skipUpdateIds(symbol: nil, count: 2))
        #expect(await waitUntil(.seconds(40)) { books.allSatisfy { $0.stats.resyncs >= 1 && $0.state == .live } })
        sampler.cancel()
        _ = await sampler.value
        #expect(books.allSatisfy { $0.stats.gaps >= 1 })
        // The exchange never saw more than 200 weight (40 requests) in any
        // window: between two samples at most 1.8 s apart (each sample is
        // within 10 ms of the truth; the margin also covers network delay).
        let s = samples.all
        var worst = 0
        var j = 0
        for i in s.indices {
            while j < s.count && s[j].0 - s[i].0 <= .seconds(1.8) { j += 1 }
            worst = max(worst, s[j - 1].1 - s[i].1)
        }
        #expect(worst <= 40, "\(worst) snapshot requests within 1.8 s")
        #expect(s.last!.1 >= 240)
        #expect(budget.usage.total == 5 * s.last!.1)
        await feed.close()
        await sim.stop()
    }
}

private final class SampleLog: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private let lock = NSLock()
    private var items: [(ContinuousClock.Instant, Int)] = []
    func add(_ t: ContinuousClock.Instant, _ n: Int) { lock.withLock { items.append((t, n)) } }
    var all: [(ContinuousClock.Instant, Int)] { lock.withLock { items } }
}
