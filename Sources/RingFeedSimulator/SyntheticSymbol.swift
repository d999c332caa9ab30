/// One symbol of a synthetic market: its book, its random walk, its ids and
/// what has changed since each depth cadence last reported.
///
/// The dynamics: a hidden fair price random-walks; limit orders arrive
/// around it (most within a few ticks, some far out), cancels thin levels
/// (mostly near the top), and market orders (their side leaning toward the
/// fair price) sweep levels from the top, so the mid follows the fair price
/// through real trades. Every level change takes the next update id.
final class SyntheticSymbol {
    let inst: SyntheticInstrument
    let index: Int
    let names: [String]
    let config: SyntheticMarket.Configuration
    var rng: SyntheticRandom
    var book = SyntheticBook()
    /// Hidden fair price in ticks.
    var fair: Double
    /// A typical order in lots (about 500 quote units).
    let orderLots: Double
    var lastUpdateId: Int64
    var lastChangeMicros: Int64 = 0
    var nextEventMicros: Int64 = .max
    var cadences: [Cadence]
    var nextTradeId: Int64
    var nextAggTradeId: Int64
    /// Top of book as last reported on bookTicker.
    var reportedTop: (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
    var klines: [SyntheticKline] = []
    var stats = SyntheticRollingStats()
    var lastTradeTicks: Int64 = 0
    var lastTradeLots: Int64 = 0
    var lastTradeMicros: Int64 = 0

    /// Levels changed since one diff cadence last reported, and the u it
    /// reported last (or the u of a lost event after `skipUpdateIds`).
    struct Cadence {
        var periodMicros: Int64
        var bids = Set<Int64>()
        var asks = Set<Int64>()
        var lastU: Int64
        /// Futures: the next event's U is lastU, not lastU + 1 (see `snapshotUpdateId`).
        var overlapNext = false
    }

    init(instrument: SyntheticInstrument, index: Int, seed: UInt64, config: SyntheticMarket.Configuration) {
        inst = instrument
        self.index = index
        self.config = config
        names = SyntheticStreams.names(lower: instrument.lower, venue: instrument.venue)
        // One independent stream per symbol: the market seed mixed with the name.
        var h = seed ^ 0x5851_F42D_4C95_7F2D
        for b in instrument.symbol.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        rng = SyntheticRandom(seed: h)
        fair = Double(instrument.startTicks)
        let priceValue = Double(instrument.priceMantissa(instrument.startTicks)) / Double(MarketJSON.pow10[instrument.tickScale])
        let lotValue = Double(instrument.lotMantissa) / Double(MarketJSON.pow10[instrument.lotScale])
        orderLots = max(1, 500 / (priceValue * lotValue))
        lastUpdateId = Int64(1_000_000 + rng.below(900_000_000))
        nextTradeId = Int64(1_000_000 + rng.below(900_000_000))
        nextAggTradeId = Int64(1_000_000 + rng.below(900_000_000))
        cadences = SyntheticStreams.cadences(instrument.venue).map { [lastUpdateId] c in
            Cadence(periodMicros: c.millis * 1000, lastU: lastUpdateId)
        }
        buildInitialBook()
        reportedTop = top
    }

    var top: (Int64, Int64, Int64, Int64) {
        (book.bids.best ?? 0, book.bids.bestQuantity, book.asks.best ?? 0, book.asks.bestQuantity)
    }

    /// Resting levels on both sides, dense near the mid and sparser further
    /// out, with larger quantities deeper in the book.
    private func buildInitialBook() {
        let mid = inst.startTicks
        for isBid in [true, false] {
            var price = isBid ? mid - 1 : mid + 1
            for i in 0..<config.bookLevels {
                let lots = randomLots(depth: i)
                if isBid { book.bids.set(price, lots) } else { book.asks.set(price, lots) }
                let gap = 1 + Int64(rng.geometric(1 / (1 + Double(i) / 80)))
                price += isBid ? -gap : gap
                if price <= 0 { break }
            }
        }
    }

    /// A quantity on the lot grid: log-normal around the typical order,
    /// growing with distance from the top.
    func randomLots(depth: Int) -> Int64 {
        let scale = orderLots * (1 + Double(depth) / 60)
        let x = scale * exponent(0.8 * rng.normal())
        return max(1, Int64(x))
    }

    /// Sets a level and records the change for every diff cadence.
    func change(isBid: Bool, price: Int64, lots: Int64, micros: Int64) {
        lastUpdateId += 1
        lastChangeMicros = micros
        if isBid { book.bids.set(price, lots) } else { book.asks.set(price, lots) }
        for c in cadences.indices {
            if isBid { cadences[c].bids.insert(price) } else { cadences[c].asks.insert(price) }
        }
    }

    var midTicks: Double {
        let b = Double(book.bids.best ?? inst.startTicks - 1)
        let a = Double(book.asks.best ?? inst.startTicks + 1)
        return (a + b) / 2
    }

    // MARK: - one market event

    /// What one event did: the fills of a market order, if it was one.
    struct Fill {
        var aggTrade: SyntheticAggTrade
        var trades: [SyntheticTrade]
    }

    /// Advances the fair price and performs one random book event at
    /// `micros`. Returns the fills (empty unless a market order traded).
    func step(at micros: Int64) -> [Fill] {
        fair += rng.normal() * config.volatilityTicks
        if fair < 10 { fair = 10 }
        let r = rng.unit()
        if r < config.marketOrderShare {
            return marketOrder(at: micros)
        }
        if r < config.marketOrderShare + config.cancelShare {
            cancel(at: micros)
        } else {
            limitOrder(at: micros)
        }
        return []
    }

    private func limitOrder(at micros: Int64) {
        let isBid = rng.unit() < 0.5
        let side = book.side(isBid)
        // Most orders land within a few ticks of the fair price, some far out.
        let d = Int64(rng.unit() < 0.85 ? rng.geometric(0.25) : rng.geometric(0.01))
        var price: Int64
        if isBid {
            price = Int64(fair.rounded(.down)) - d
            if let ask = book.asks.best, price >= ask { price = ask - 1 }
        } else {
            price = Int64(fair.rounded(.up)) + d
            if let bid = book.bids.best, price <= bid { price = bid + 1 }
        }
        guard price > 0 else { return }
        let depth = side.best.map { Int(abs($0 - price)) } ?? 0
        let lots = side.quantity(at: price) + randomLots(depth: depth)
        change(isBid: isBid, price: price, lots: lots, micros: micros)
        // Keep the book near its configured size: the deepest level goes.
        if side.count + 1 > config.bookLevels + config.bookLevels / 2 {
            let worst = book.side(isBid).level(fromTop: book.side(isBid).count - 1)
            change(isBid: isBid, price: worst.price, lots: 0, micros: micros)
        }
    }

    private func cancel(at micros: Int64) {
        let isBid = rng.unit() < 0.5
        let side = book.side(isBid)
        // A thin side is refilled instead, deep in the book.
        guard side.count > max(10, config.bookLevels / 2) else {
            refill(isBid: isBid, at: micros)
            return
        }
        let k = min(side.count - 1, rng.geometric(0.08))
        let level = side.level(fromTop: k)
        let lots = rng.unit() < 0.4 ? 0 : Int64(Double(level.quantity) * rng.unit())
        change(isBid: isBid, price: level.price, lots: lots, micros: micros)
    }

    private func refill(isBid: Bool, at micros: Int64) {
        let side = book.side(isBid)
        let worst = side.isEmpty ? (isBid ? Int64(fair) - 1 : Int64(fair) + 1) : side.level(fromTop: side.count - 1).price
        let gap = 1 + Int64(rng.geometric(0.2))
        let price = isBid ? worst - gap : worst + gap
        guard price > 0 else { return }
        change(isBid: isBid, price: price, lots: randomLots(depth: side.count), micros: micros)
    }

    /// A taker order that sweeps levels from the top. Each level it touches
    /// fills against one to three resting orders (one trade each) and makes
    /// one aggTrade.
    private func marketOrder(at micros: Int64) -> [Fill] {
        // The side leans toward the fair price, which drags the mid along.
        let lean = max(-0.45, min(0.45, (fair - midTicks) / 8))
        let takerBuys = rng.unit() < 0.5 + lean
        let makerIsBid = !takerBuys
        var remaining = max(1, Int64(orderLots * rng.exponential(mean: 1.5)))
        var fills: [Fill] = []
        while remaining > 0 && fills.count < 20 {
            let side = book.side(makerIsBid)
            guard side.count > 5 else { break }
            let level = side.level(fromTop: 0)
            let filled = min(remaining, level.quantity)
            remaining -= filled
            var parts = min(Int64(1 + rng.below(3)), filled)
            var trades: [SyntheticTrade] = []
            var left = filled
            while parts > 0 {
                let q = parts == 1 ? left : max(1, left / parts - Int64(rng.below(Int(max(1, left / (parts * 2))))))
                trades.append(SyntheticTrade(id: nextTradeId, priceTicks: level.price, lots: q, micros: micros,
                                             buyerIsMaker: !takerBuys))
                nextTradeId += 1
                left -= q
                parts -= 1
            }
            let agg = SyntheticAggTrade(id: nextAggTradeId, priceTicks: level.price, lots: filled,
                                        firstTradeId: trades[0].id, lastTradeId: trades[trades.count - 1].id,
                                        micros: micros, buyerIsMaker: !takerBuys)
            nextAggTradeId += 1
            fills.append(Fill(aggTrade: agg, trades: trades))
            change(isBid: makerIsBid, price: level.price, lots: level.quantity - filled, micros: micros)
        }
        return fills
    }

    // MARK: - depth events

    /// The diff event of cadence `c` covering every change since it last
    /// reported, or nil if nothing changed. Marks it reported.
    func takeDiff(cadence c: Int, at micros: Int64) -> SyntheticDepth? {
        let cad = cadences[c]
        guard lastUpdateId > cad.lastU else { return nil }
        let d = SyntheticDepth(eventMicros: micros, transactionMicros: lastChangeMicros,
                               firstUpdateId: cad.overlapNext ? cad.lastU : cad.lastU + 1, finalUpdateId: lastUpdateId,
                               previousFinalUpdateId: cad.lastU,
                               bids: changed(cad.bids, isBid: true), asks: changed(cad.asks, isBid: false))
        cadences[c].bids.removeAll(keepingCapacity: true)
        cadences[c].asks.removeAll(keepingCapacity: true)
        cadences[c].lastU = lastUpdateId
        cadences[c].overlapNext = false
        return d
    }

    private func changed(_ prices: Set<Int64>, isBid: Bool) -> [SyntheticLevel] {
        let side = book.side(isBid)
        let sorted = isBid ? prices.sorted(by: >) : prices.sorted()
        return sorted.map { SyntheticLevel(priceTicks: $0, lots: side.quantity(at: $0)) }
    }

    /// The best `n` levels of a side, best first.
    func topLevels(isBid: Bool, _ n: Int) -> [SyntheticLevel] {
        let side = book.side(isBid)
        let count = min(n, side.count)
        var out: [SyntheticLevel] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            let l = side.level(fromTop: k)
            out.append(SyntheticLevel(priceTicks: l.price, lots: l.quantity))
        }
        return out
    }

    /// The update id a REST snapshot reports. A futures client needs the
    /// first event it applies to straddle it (U <= lastUpdateId <= u); a
    /// cadence that has already reported every change would next send
    /// U = lastUpdateId + 1, so its next event starts one id earlier instead
    /// (U = pu, overlapping the previous event by the id it ended on). The
    /// id sequence and pu chain are untouched.
    func snapshotUpdateId() -> Int64 {
        if inst.venue == .usdmFutures {
            for c in cadences.indices where cadences[c].lastU == lastUpdateId { cadences[c].overlapNext = true }
        }
        return lastUpdateId
    }

    /// Fault injection: `count` update ids are consumed by an event that no
    /// client receives. It carries every change each cadence had not yet
    /// reported plus one more level change made now, so a client that
    /// ignores the gap really ends with a wrong book.
    func skipUpdateIds(_ count: Int, at micros: Int64) {
        guard count > 0 else { return }
        let isBid = rng.unit() < 0.5
        let side = book.side(isBid)
        let before = lastUpdateId
        if side.count > 1 {
            let level = side.level(fromTop: min(side.count - 1, rng.below(5)))
            change(isBid: isBid, price: level.price, lots: level.quantity + 1, micros: micros)
        }
        lastUpdateId = before + Int64(count)
        for c in cadences.indices {
            cadences[c].bids.removeAll(keepingCapacity: true)
            cadences[c].asks.removeAll(keepingCapacity: true)
            cadences[c].lastU = lastUpdateId
            cadences[c].overlapNext = false
        }
    }
}

/// e^x without libm, for the same bits on every platform: x = k·ln2 + r,
/// a Taylor series for e^r.
func exponent(_ x: Double) -> Double {
    if x > 700 { return .infinity }
    if x < -700 { return 0 }
    let ln2 = 0.6931471805599453
    let k = (x / ln2).rounded()
    let r = x - k * ln2
    var term = 1.0
    var sum = 1.0
    var n = 1.0
    while n < 30 {
        term *= r / n
        sum += term
        n += 1
    }
    return sum * Double(sign: .plus, exponent: Int(k), significand: 1)
}
