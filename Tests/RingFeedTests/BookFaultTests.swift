import Foundation
import RingFeed
@testable import RingFeedSimulator
import Testing

// Order books against the simulator's REST weight limit, injected 429 and
// 418 answers, and a diff stream that silently disagrees with the exchange's
// book (issue 5): the client never gets the IP refused, backs off as told,
// and periodic verification finds what the stream got wrong.


private func simulator(_ symbols: [String], eventsPerSecond: Double = 5, levels: Int = 40,
                       _ limits: (inout SimulatorLimits) -> Void = { _ in }) async throws -> ExchangeSimulator {
    var market = SyntheticMarket.Configuration()
    market.eventsPerSecond = eventsPerSecond
    market.bookLevels = levels
    var config = SimulatorConfiguration()
    limits(&config.limits)
    return try await ExchangeSimulator.start(source: SyntheticMarket(symbols: symbols, seed: 23, configuration: market),
                                             configuration: config)
}

private func bookOptions(_ sim: ExchangeSimulator, limit: Int, budget: WeightBudget) -> BookOptions {
    var o = BookOptions()
    o.venue = .spot
    o.snapshotURL = sim.httpURL + "/api/v3/depth"
    o.snapshotLimit = limit
    o.budget = budget
    return o
}

private func feedOptions(_ sim: ExchangeSimulator) -> MarketFeed.Options {
    var o = MarketFeed.Options()
    o.url = sim.webSocketURL
    return o
}

/// Whether the book equals the simulator's true book at the same update id,
/// read without a REST request (no weight spent from the limit the books
/// share).
private func equalsTrueBook(_ book: OrderBook, _ sim: ExchangeSimulator, tries: Int = 40) async throws -> Bool {
    try await bookEqualsExchange(book, tries: tries) {
        try DepthSnapshot(json: try #require(await sim.depthSnapshot(symbol: book.symbol, limit: 5000)))
    }
}

/// Every book compared at once (each waits for its own next diff event).
private func allEqualTrueBooks(_ books: [OrderBook], _ sim: ExchangeSimulator) async throws -> Bool {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        for b in books { group.addTask { try await equalsTrueBook(b, sim) } }
        var all = true
        for try await ok in group { all = all && ok }
        return all
    }
}

private func symbolOf(_ target: String) -> String? {
    guard let r = target.range(of: "symbol=") else { return nil }
    return String(target[r.upperBound...].prefix { $0 != "&" })
}

@Suite("Book faults: REST weight limits, 429 / 418 back-off, stream corruption", .serialized, .timeLimit(.minutes(2)))
struct BookFaultTests {
    // MARK: - without sockets

    @Test("fault syntax: corrupt, rest429 and rest418, as text and as control parameters")
    func faultSyntax() {
        #expect(SimulatorFault("corrupt") == .corruptDiff(symbol: nil))
        #expect(SimulatorFault("corrupt:btcusdt") == .corruptDiff(symbol: "BTCUSDT"))
        #expect(SimulatorFault("rest429") == .rest429(count: 1, retryAfter: nil))
        #expect(SimulatorFault("rest429:3") == .rest429(count: 3, retryAfter: nil))
        #expect(SimulatorFault("rest429:3:10") == .rest429(count: 3, retryAfter: 10))
        #expect(SimulatorFault("rest418:1:5") == .rest418(count: 1, retryAfter: 5))
        #expect(SimulatorFault("rest418") == .rest418(count: 1, retryAfter: nil))
        for bad in ["corrupt:", "corrupt:A:B", "rest429:0", "rest429:x", "rest429:2:0", "rest429:2:-1",
                    "rest418:1:soon", "rest418:1:2:3", "rest430"] {
            #expect(SimulatorFault(bad) == nil, "\(bad)")
        }
        #expect(SimulatorFault(kind: "corrupt", parameters: ["symbol": "ethusdt"]) == .corruptDiff(symbol: "ETHUSDT"))
        #expect(SimulatorFault(kind: "rest429", parameters: ["count": "4", "retry": "2"]) == .rest429(count: 4, retryAfter: 2))
        #expect(SimulatorFault(kind: "rest418", parameters: [:]) == .rest418(count: 1, retryAfter: nil))
        #expect(SimulatorFault(kind: "rest418", parameters: ["retry": "0"]) == nil)
    }

    @Test("the simulator charges the weights the client's budget assumes, for every depth limit")
    func weightTables() {
        func weight(_ target: String, _ venue: Venue) -> Int {
            RESTRoutes.weight(HTTPServerRequest(method: "GET", target: target), venue: venue)
        }
        for limit in 1...5000 {
            #expect(weight("/api/v3/depth?symbol=BTCUSDT&limit=\(limit)", .spot)
                    == WeightBudget.depthWeight(limit: limit, futures: false), "spot limit \(limit)")
        }
        for limit in [5, 10, 20, 50, 100, 500, 1000] {
            #expect(weight("/fapi/v1/depth?symbol=BTCUSDT&limit=\(limit)", .usdmFutures)
                    == WeightBudget.depthWeight(limit: limit, futures: true), "futures limit \(limit)")
        }
        #expect(weight("/api/v3/depth?symbol=BTCUSDT", .spot) == 5) // default 100
        #expect(weight("/fapi/v1/depth?symbol=BTCUSDT", .usdmFutures) == 10) // default 500
        #expect(weight("/api/v3/exchangeInfo", .spot) == 20)
        #expect(weight("/fapi/v1/exchangeInfo", .usdmFutures) == 1)
        #expect(weight("/sim/status", .spot) == 0)
    }

    @Test("budget: a grant counts from its answer, and the exchange's used weight tops the window up")
    func budgetFollowsTheExchange() async throws {
        final class Clock: @unchecked Sendable {
            // @unchecked: the test moves it from one thread at a time.
            var ns: UInt64 = 1_000_000_000
        }
        let clock = Clock()
        let budget = WeightBudget(limit: 100, window: .seconds(10)) { clock.ns }
        let a = try await budget.acquire(50)
        let b = try await budget.acquire(50)
        // The answers come 3 s later: the exchange counted them then, so the
        // window frees 10 s after the answer, not after the grant.
        clock.ns += 3_000_000_000
        budget.answered(a, usedWeight: 100)
        budget.answered(b, usedWeight: 100)
        clock.ns += 7_000_000_000
        #expect(budget.tryAcquire(1) == .seconds(3))
        clock.ns += 3_000_000_000
        #expect(budget.tryAcquire(1) == nil)
        // Another program on the IP used 80: the exchange says 81 in all.
        let c = try await budget.acquire(10)
        budget.answered(c, usedWeight: 91)
        #expect(budget.usage.inWindow == 91)
        #expect(budget.tryAcquire(10) == .seconds(10))
        #expect(budget.tryAcquire(9) == nil)
        #expect(budget.usage.total == 1 + 10 + 9 + 100) // only what it granted
    }

    // MARK: - the simulator's limit

    @Test("the simulator enforces the weight limit as Binance does: used weight, 429 + Retry-After, then 418")
    func simulatorEnforcesTheLimit() async throws {
        let sim = try await simulator(["BTCUSDT"]) {
            // A window far longer than twelve requests take even on a busy
            // machine (a 2 s one rolled over mid-test in a loaded CI run).
            $0.restWeightLimit = 60
            $0.restWeightWindow = .seconds(8)
            $0.restInFlightGrace = .milliseconds(300)
            $0.restBanDuration = .seconds(1)
        }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        func get(_ path: String) async throws -> HTTPResponse { try await HTTPClient.get(sim.httpURL + path, on: loop) }
        let depth = "/api/v3/depth?symbol=BTCUSDT&limit=100"
        let windowStart = ContinuousClock.now
        for i in 1...12 {
            let r = try await get(depth)
            #expect(r.status == 200)
            #expect(r.header("X-MBX-USED-WEIGHT-1M") == String(5 * i))
        }
        let tooMany = try await get(depth)
        #expect(tooMany.status == 429)
        #expect(tooMany.header("X-MBX-USED-WEIGHT-1M") == "60")
        let retry = try #require(tooMany.header("Retry-After").flatMap { Int($0) })
        #expect((1...8).contains(retry))
        #expect(tooMany.text == #"{"code":-1003,"msg":"Too many requests; current limit of IP(127.0.0.1) request weight per 8 SECOND is 60. Please use WebSocket Streams for live updates to avoid polling the API."}"#)
        // Still sending after the grace: banned for the ban duration.
        try await Task.sleep(for: .milliseconds(400))
        let banned = try await get(depth)
        #expect(banned.status == 418)
        #expect(banned.header("Retry-After") == "1")
        #expect(banned.text.hasPrefix(#"{"code":-1003,"msg":"Way too much request weight used; IP banned until "#))
        #expect(try await get("/api/v3/exchangeInfo").status == 418) // everything, while banned
        var s = await sim.statistics()
        #expect(s.restTooManyRequests == 1 && s.restBanned == 2)
        // After the ban and the window: served again; exchangeInfo weighs 20.
        try await Task.sleep(until: windowStart + .milliseconds(8200))
        let again = try await get(depth)
        #expect(again.status == 200)
        #expect(again.header("X-MBX-USED-WEIGHT-1M") == "5")
        #expect(try await get("/api/v3/exchangeInfo").header("X-MBX-USED-WEIGHT-1M") == "25")
        s = await sim.statistics()
        #expect(s.restTooManyRequests == 1 && s.restBanned == 2)
        let log = await sim.restLog()
        #expect(log.map(\.status) == Array(repeating: 200, count: 12) + [429, 418, 418, 200, 200])
        #expect(log.map(\.usedWeight).max() == 60)
        await sim.stop()
    }

    // MARK: - books under the limit

    @Test("80 books syncing, then resyncing at once, under the simulator's enforced limit: never a 429, all equal the true book")
    func manyBooksWithinTheLimit() async throws {
        let symbols = (0..<80).map { "S\($0)USDT" }
        // Scaled down: 200 weight per 2 s at the exchange and in the budget;
        // a 100-level snapshot weighs 5, so 40 per window: 80 books take two.
        let sim = try await simulator(symbols) {
            $0.restWeightLimit = 200
            $0.restWeightWindow = .seconds(2)
        }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let budget = WeightBudget(limit: 200, window: .seconds(2))
        let feed = try await MarketFeed.connect(streams: [], options: feedOptions(sim), on: loop)
        let books = try await feed.orderBooks(symbols: symbols, options: bookOptions(sim, limit: 100, budget: budget))
        #expect(await waitUntil(.seconds(20)) { books.allSatisfy { $0.state == .live } })
        await sim.inject(.skipUpdateIds(symbol: nil, count: 2))
        #expect(await waitUntil(.seconds(20)) { books.allSatisfy { $0.stats.resyncs >= 1 && $0.state == .live } })
        let s = await sim.statistics()
        #expect(s.restTooManyRequests == 0 && s.restBanned == 0, "\(s.restTooManyRequests) answered 429, \(s.restBanned) 418")
        let log = await sim.restLog()
        #expect(log.count >= 160)
        #expect(log.allSatisfy { $0.status == 200 })
        #expect(log.map(\.usedWeight).max() ?? 0 <= 200)
        #expect(books.allSatisfy { $0.stats.fetchFailures == 0 })
        #expect(try await allEqualTrueBooks(books, sim))
        await feed.close()
        await sim.stop()
    }

    @Test("an injected 429 or 418 while 20 books resync: no request until the Retry-After, then all equal the true book",
          arguments: [429, 418])
    func backOff(status: Int) async throws {
        let symbols = (0..<20).map { "R\($0)USDT" }
        // Binance's weight limit; requests more than 0.5 s after a 429 that
        // was asked to wait longer are held against the client (418).
        let sim = try await simulator(symbols) { $0.restInFlightGrace = .milliseconds(500) }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let budget = WeightBudget(limit: 6000, window: .seconds(60))
        let feed = try await MarketFeed.connect(streams: [], options: feedOptions(sim), on: loop)
        let books = try await feed.orderBooks(symbols: symbols, options: bookOptions(sim, limit: 100, budget: budget))
        #expect(await waitUntil { books.allSatisfy { $0.state == .live } })
        let before = await sim.restLog().count
        let retryAfter = 2
        await sim.inject(status == 429 ? .rest429(count: 1, retryAfter: retryAfter) : .rest418(count: 1, retryAfter: retryAfter))
        await sim.inject(.skipUpdateIds(symbol: nil, count: 2)) // every book resyncs at once
        #expect(await waitUntil { books.allSatisfy { $0.stats.resyncs >= 1 && $0.state == .live } })

        let log = Array(await sim.restLog().dropFirst(before))
        let first = try #require(log.firstIndex { $0.status == status })
        #expect(log[first].retryAfter == retryAfter)
        let t0 = log[first].atNanos
        let until = t0 + UInt64(retryAfter) * 1_000_000_000
        let during = log[first...].filter { $0.atNanos < until }
        // Only requests already on their way when the answer went out arrive
        // during the back-off, all refused within the in-flight grace; none
        // is served.
        #expect(during.allSatisfy { $0.status == status && $0.atNanos - t0 < 500_000_000 })
        let served = log[first...].filter { $0.status == 200 }
        #expect(served.allSatisfy { $0.atNanos >= until })
        // Per book: its first request served after the refusal.
        var firstServed: [String: UInt64] = [:]
        for r in served { if let s = symbolOf(r.target), firstServed[s] == nil { firstServed[s] = r.atNanos } }
        #expect(firstServed.count == symbols.count)
        let waits = firstServed.values.map { Double($0 - t0) / 1e9 }
        #expect(waits.allSatisfy { $0 >= Double(retryAfter) })
        print("back-off after an injected \(status) (Retry-After \(retryAfter) s): \(during.count) requests in flight refused, "
              + "books' first served request \(String(format: "%.3f", waits.min() ?? 0))-\(String(format: "%.3f", waits.max() ?? 0)) s after it")

        let s = await sim.statistics()
        if status == 429 {
            #expect(s.restBanned == 0) // nobody kept sending: never banned
            #expect(s.restTooManyRequests == during.count)
        } else {
            #expect(s.restTooManyRequests == 0)
            #expect(s.restBanned == during.count)
        }
        #expect(try await allEqualTrueBooks(books, sim))
        await feed.close()
        await sim.stop()
    }

    // MARK: - verification

    @Test("periodic verification finds a corrupted diff, only that book resyncs and equals the true book; none without it",
          arguments: [true, false])
    func verificationFindsCorruption(corrupt: Bool) async throws {
        let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
        let sim = try await simulator(symbols, eventsPerSecond: 10, levels: 200)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var o = bookOptions(sim, limit: 1000, budget: WeightBudget(limit: 6000, window: .seconds(60)))
        o.verification = .init(interval: .milliseconds(100), limit: 100)
        let feed = try await MarketFeed.connect(streams: [], options: feedOptions(sim), on: loop)
        let books = try await feed.orderBooks(symbols: symbols, options: o)
        let logs = books.map { b in BookEventLog().also { $0.watch(b) } }
        let (btc, btcLog) = (books[0], logs[0])
        // Verified right before the fault.
        #expect(await waitUntil { logs.allSatisfy { $0.verifications.filter(\.conclusive).count >= 2 } })
        #expect(books.allSatisfy { $0.stats.verificationsFailed == 0 && $0.stats.resyncs == 0 })
        let seen = btcLog.events.count
        if corrupt { #expect(await sim.inject(.corruptDiff(symbol: "BTCUSDT")) == 1) }
        // The same span either way: 1.5 s of verifications every 100 ms.
        try await Task.sleep(for: .milliseconds(1500))
        let after = Array(btcLog.events.dropFirst(seen))
        let conclusive = after.compactMap { if case let .verified(v) = $0, v.conclusive { v } else { nil } }
        if corrupt {
            let failedAt = try #require(after.firstIndex { if case let .verified(v) = $0 { v.differenceCount > 0 } else { false } })
            guard case let .verified(v) = after[failedAt] else { return }
            // Exactly the misreported level: one lot more locally than at the exchange.
            #expect(v.differenceCount == 1)
            let d = try #require(v.differences.first)
            let local = try #require(d.local), exchange = try #require(d.exchange)
            #expect(local > exchange)
            #expect(after[failedAt + 1] == .resyncing(.verification))
            #expect(after[(failedAt + 1)...].contains { if case .synced = $0 { true } else { false } })
            #expect(await waitUntil { btc.state == .live && btc.stats.resyncs == 1 })
            #expect(btc.stats.verificationsFailed == 1 && btc.stats.gaps == 0)
            #expect(try await equalsTrueBook(btc, sim))
        } else {
            #expect(conclusive.count >= 4)
            #expect(conclusive.allSatisfy { $0.matches })
            #expect(btc.stats.verificationsFailed == 0 && btc.stats.resyncs == 0)
        }
        for b in books.dropFirst() {
            #expect(b.stats.verificationsFailed == 0 && b.stats.resyncs == 0, "\(b.symbol)")
            #expect(try await equalsTrueBook(b, sim))
        }
        let s = await sim.statistics()
        #expect(s.restTooManyRequests == 0 && s.restBanned == 0)
        await feed.close()
        await sim.stop()
    }
}
