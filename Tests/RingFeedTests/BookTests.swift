import Foundation
import RingFeed
import Testing

/// A plain reference book: a dictionary per side, sorted on demand.
private struct ReferenceBook {
    var bids: [Int64: Int64] = [:]
    var asks: [Int64: Int64] = [:]

    func sorted(_ side: BookSide) -> [(Int64, Int64)] {
        side == .bid ? bids.sorted { $0.key > $1.key }.map { ($0.key, $0.value) }
                     : asks.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// zlib's CRC-32, bit by bit.
private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
    }
    return ~c
}

/// A small deterministic generator (SplitMix64).
private struct Mix {
    var s: UInt64
    mutating func next() -> UInt64 {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

private func text(_ m: Int64, _ scale: Int) -> String {
    let neg = m < 0
    var digits = String(abs(m))
    while digits.count <= scale { digits = "0" + digits }
    let cut = digits.index(digits.endIndex, offsetBy: -scale)
    return (neg ? "-" : "") + (scale == 0 ? digits : digits[..<cut] + "." + digits[cut...])
}

@Suite("OrderBook")
struct BookTests {
    static let ps: UInt8 = 2, qs: UInt8 = 3

    static func price(_ t: Int64) -> Price { Price(mantissa: t, scale: ps) }
    static func qty(_ l: Int64) -> Quantity { Quantity(mantissa: l, scale: qs) }

    /// A random book of your own and its reference, built by many updates.
    fileprivate static func randomBook(seed: UInt64) throws -> (OrderBook, ReferenceBook) {
        let book = try OrderBook(symbol: "TEST", priceScale: ps, quantityScale: qs, maxLevels: 5000)
        var ref = ReferenceBook()
        var rng = Mix(s: seed)
        for _ in 0..<400 {
            var bids: [Level] = [], asks: [Level] = []
            for _ in 0..<(1 + rng.below(6)) {
                let isBid = rng.below(2) == 0
                // Bids 9000-9999, asks 10001-11000: never crossed.
                let p = isBid ? Int64(9000 + rng.below(1000)) : Int64(10_001 + rng.below(1000))
                let q = rng.below(4) == 0 ? 0 : Int64(1 + rng.below(50_000))
                if isBid { bids.append(Level(price: price(p), quantity: qty(q))) } else { asks.append(Level(price: price(p), quantity: qty(q))) }
                if isBid { ref.bids[p] = q == 0 ? nil : q } else { ref.asks[p] = q == 0 ? nil : q }
            }
            try book.apply(bids: bids, asks: asks)
        }
        return (book, ref)
    }

    @Test("queries agree with a plain reference book", arguments: [UInt64(1), 2, 3])
    func queries(seed: UInt64) throws {
        let (book, ref) = try Self.randomBook(seed: seed)
        let bids = ref.sorted(.bid), asks = ref.sorted(.ask)
        #expect(book.state == .live)
        #expect(book.depth(.bid) == bids.count && book.depth(.ask) == asks.count)
        #expect(book.bestBid == Level(price: Self.price(bids[0].0), quantity: Self.qty(bids[0].1)))
        #expect(book.bestAsk == Level(price: Self.price(asks[0].0), quantity: Self.qty(asks[0].1)))
        #expect(book.levels(.bid).map { $0.price.mantissa } == bids.map(\.0))
        #expect(book.levels(.ask).map { $0.quantity.mantissa } == asks.map(\.1))
        #expect(book.levels(.ask, count: 7).count == 7)
        #expect(book.level(.bid, at: 5)?.price.mantissa == bids[5].0)
        #expect(book.spread == Self.price(asks[0].0 - bids[0].0))
        // The mid has one decimal more: (bid + ask) * 5 at scale + 1.
        #expect(book.mid == Price(mantissa: (bids[0].0 + asks[0].0) * 5, scale: Self.ps + 1))
        let micro = (Double(bids[0].0) * Double(asks[0].1) + Double(asks[0].0) * Double(bids[0].1))
            / Double(bids[0].1 + asks[0].1) / 100
        #expect(abs(book.microprice! - micro) < 1e-9 * micro)
        for n in [1, 5, 20] {
            let bv = bids.prefix(n).reduce(0) { $0 + $1.1 }, av = asks.prefix(n).reduce(0) { $0 + $1.1 }
            #expect(book.volume(.bid, levels: n) == Self.qty(bv))
            #expect(book.volume(.ask, levels: n) == Self.qty(av))
            #expect(abs(book.imbalance(levels: n)! - Double(bv - av) / Double(bv + av)) < 1e-12)
        }
        // Volume within a distance of the mid (in price units, compared in ticks * 10 to stay exact).
        let mid10 = (bids[0].0 + asks[0].0) * 5
        let within = bids.filter { $0.0 * 10 >= mid10 - 250 * 10 }.reduce(0) { $0 + $1.1 }
        #expect(book.volume(.bid, within: Price(mantissa: 250, scale: Self.ps)) == Self.qty(within))
        // A buy walks the asks.
        let order: Int64 = asks.prefix(3).reduce(0) { $0 + $1.1 } + 1
        var left = order, notional = 0.0, reached = 0
        for (p, q) in asks where left > 0 {
            let take = min(left, q)
            notional += Double(p) / 100 * Double(take) / 1000
            left -= take
            reached += 1
        }
        let fill = try #require(book.marketOrder(.buy, quantity: Self.qty(order)))
        #expect(fill.filled == Self.qty(order) && !fill.exhausted && fill.levels == reached && reached == 4)
        #expect(abs(fill.notional - notional) < 1e-6 * notional)
        #expect(abs(fill.averagePrice - notional / (Double(order) / 1000)) < 1e-9 * fill.averagePrice)
        #expect(fill.bestPrice == Self.price(asks[0].0) && fill.worstPrice == Self.price(asks[3].0))
        let all = bids.reduce(0) { $0 + $1.1 } + 5
        let sell = try #require(book.marketOrder(.sell, quantity: Self.qty(all)))
        #expect(sell.exhausted && sell.filled == Self.qty(all - 5) && sell.levels == bids.count)
        #expect(book.marketOrder(.buy, quantity: Quantity(mantissa: 1, scale: 6)) == nil) // off the grid
        // Checksum: "price:qty" of bid i then ask i, comma-joined, CRC-32.
        var entries: [String] = []
        for i in 0..<10 {
            if i < bids.count { entries.append("\(text(bids[i].0, 2)):\(text(bids[i].1, 3))") }
            if i < asks.count { entries.append("\(text(asks[i].0, 2)):\(text(asks[i].1, 3))") }
        }
        #expect(book.checksum(levels: 10) == crc32(Array(entries.joined(separator: ",").utf8)))
        // One consistent read.
        let (b, a, s) = book.read { ($0.bestBid, $0.bestAsk, $0.snapshot(levels: 3)) }
        #expect(s.bids.first == b && s.asks.first == a && s.bids.count == 3)
    }

    @Test("an empty book answers nil, a crossed update leaves it stale")
    func emptyAndCrossed() throws {
        let book = try OrderBook(priceScale: 2, quantityScale: 0)
        #expect(book.state == .empty && book.bestBid == nil && book.spread == nil && book.mid == nil)
        #expect(book.imbalance(levels: 5) == nil && book.marketOrder(.buy, quantity: Quantity(mantissa: 1, scale: 0)) == nil)
        try book.apply(bids: [Level(price: Self.price(100), quantity: Quantity(mantissa: 1, scale: 0))],
                       asks: [Level(price: Self.price(101), quantity: Quantity(mantissa: 2, scale: 0))])
        #expect(book.state == .live)
        #expect(throws: BookError.self) {
            try book.apply(bids: [Level(price: Self.price(102), quantity: Quantity(mantissa: 1, scale: 0))])
        }
        #expect(book.state == .stale)
        // Off the grid: refused, nothing changed.
        #expect(throws: BookError.self) {
            try book.apply(asks: [Level(price: Price(mantissa: 1001, scale: 3), quantity: Quantity(mantissa: 1, scale: 0))])
        }
        #expect(book.depth(.ask) == 1)
    }

    @Test("comparison with a snapshot: differences, levels beyond its depth unknown, whole sides complete")
    func compare() throws {
        let book = try OrderBook(priceScale: 2, quantityScale: 3)
        let q = { (l: Int64) in Quantity(mantissa: l, scale: 3) }
        let p = { (t: Int64) in Price(mantissa: t, scale: 2) }
        try book.load(DepthSnapshot(lastUpdateId: 7,
                                    bids: (0..<10).map { Level(price: p(1000 - $0), quantity: q(10 + $0)) },
                                    asks: (0..<4).map { Level(price: p(1001 + $0), quantity: q(20 + $0)) }))
        // Same book, snapshot of 5 bid levels (full: the rest unknown) and all 4 asks (complete at limit 5).
        var snap = DepthSnapshot(lastUpdateId: 7, bids: (0..<5).map { Level(price: p(1000 - $0), quantity: q(10 + $0)) },
                                 asks: (0..<4).map { Level(price: p(1001 + $0), quantity: q(20 + $0)) })
        var v = book.compare(with: snap, limit: 5)
        #expect(v.matches && v.compared == 9 && v.unknown == 5 && v.differenceCount == 0)
        // Different quantity, a level missing locally, a level only local within the snapshot's depth.
        snap.bids[1] = Level(price: p(999), quantity: q(99))
        snap.asks.append(Level(price: p(1010), quantity: q(1))) // asks now 5 = limit: full
        snap.asks.remove(at: 2) // 1003 missing from the exchange
        v = book.compare(with: snap, limit: 5)
        #expect(!v.matches && v.differenceCount == 3)
        #expect(v.differences.contains(BookDifference(side: .bid, price: p(999), local: q(11), exchange: q(99))))
        #expect(v.differences.contains(BookDifference(side: .ask, price: p(1003), local: q(22), exchange: nil)))
        #expect(v.differences.contains(BookDifference(side: .ask, price: p(1010), local: nil, exchange: q(1))))
        // Text scales do not matter: "9.990" equals "9.99".
        snap.bids[1] = Level(price: Price(mantissa: 9990, scale: 3), quantity: q(11))
        #expect(book.compare(with: snap, limit: 5).differenceCount == 2)
    }

    @Test("bad maxLevels, snapshot limits and symbols are refused before anything connects")
    func refusals() async throws {
        #expect(throws: BookError.invalidMaxLevels(0)) { try OrderBook(priceScale: 2, quantityScale: 2, maxLevels: 0) }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        func start(_ limit: Int, futures: Bool, symbol: String = "BTCUSDT") async throws {
            var o = BookFeed.Options()
            o.book.snapshotLimit = limit
            o.book.venue = futures ? .usdmFutures : .spot
            o.feed.url = "ws://127.0.0.1:1" // never reached: validation comes first
            _ = try await BookFeed.start(symbols: [symbol], options: o, on: loop)
        }
        await #expect(throws: BookError.invalidLimit(5001)) { try await start(5001, futures: false) }
        await #expect(throws: BookError.invalidLimit(200)) { try await start(200, futures: true) }
        await #expect(throws: BookError.invalidSymbol("btc/usdt")) { try await start(100, futures: false, symbol: "btc/usdt") }
    }
}

@Suite("WeightBudget")
struct WeightBudgetTests {
    final class FakeClock: @unchecked Sendable {
        // @unchecked: tests move it from one thread at a time.
        var ns: UInt64 = 1_000_000_000
    }

    @Test("Binance's depth weights")
    func weights() {
        #expect([1, 100, 101, 500, 501, 1000, 1001, 5000].map { WeightBudget.depthWeight(limit: $0, futures: false) }
                == [5, 5, 25, 25, 50, 50, 250, 250])
        #expect([5, 10, 20, 50, 100, 500, 1000].map { WeightBudget.depthWeight(limit: $0, futures: true) }
                == [2, 2, 2, 2, 5, 10, 20])
    }

    @Test("the window never holds more than the limit; waits end when old grants expire")
    func window() {
        let clock = FakeClock()
        let budget = WeightBudget(limit: 100, window: .seconds(10)) { clock.ns }
        for _ in 0..<2 { #expect(budget.tryAcquire(25) == nil) }
        clock.ns += 2_000_000_000
        for _ in 0..<2 { #expect(budget.tryAcquire(25) == nil) }
        clock.ns += 1_000_000_000
        // Full: the first grants leave the window 7 s from now.
        #expect(budget.tryAcquire(25) == .seconds(7))
        clock.ns += 7_000_000_000
        #expect(budget.tryAcquire(50) == nil)
        #expect(budget.usage.inWindow == 100)
        // The next one waits for the grants made at +2 s.
        #expect(budget.tryAcquire(1) == .seconds(2))
        // Back-off stops everything, even with room in the window.
        clock.ns += 10_000_000_001
        budget.backOff(for: .seconds(3))
        #expect(budget.tryAcquire(1) == .seconds(3))
        clock.ns += 3_000_000_000
        #expect(budget.tryAcquire(1) == nil)
    }
}
