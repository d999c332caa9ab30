/// One symbol of a synthetic market: its book, its random walk, its ids and
/// what has changed since each depth cadence last reported.
///
/// The dynamics: a hidden fair price random-walks; limit orders arrive
/// around it (most within a few ticks, some far out), cancels thin levels
/// (mostly near the top), and market orders sweep levels from the top:
/// when the book lags the fair price they take every level on the wrong
/// side of it, so the mid follows the fair price through real trades.
/// Every level change takes the next update id.
final class SyntheticSymbol {
    let inst: SyntheticInstrument
    let index: Int
    let names: [String]
    let config: SyntheticMarket.Configuration
    // The hot mutable state opts out of dynamic exclusivity checks (about a
    // tenth of the event cost): a symbol is used on the simulator's loop
    // thread only and no method holds an access to one of these across a
    // call that touches it again.
    @exclusivity(unchecked) var rng: SyntheticRandom
    @exclusivity(unchecked) var book = SyntheticBook()
    /// Hidden fair price in ticks.
    var fair: Double
    /// A typical order in lots (about 500 quote units).
    let orderLots: Double
    /// Relative standard deviation of the fair price per event.
    let fairStep: Double
    /// Mean distance in ticks of a limit order placed away from the top.
    let farTicks: Double
    var lastUpdateId: Int64
    var lastChangeMicros: Int64 = 0
    var nextEventMicros: Int64 = .max
    var cadences: [Cadence]
    /// Every level change since the slowest cadence last reported, in
    /// order: a bid's price, or minus an ask's price. One append per change
    /// serves every cadence; a cadence dedupes its slice when it reports.
    @exclusivity(unchecked) var changeLog: [Int64] = []
    /// Absolute index of changeLog[0].
    var changeLogBase = 0
    var nextTradeId: Int64
    var nextAggTradeId: Int64
    /// Top of book as last reported on bookTicker.
    var reportedTop: (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
    @exclusivity(unchecked) var klines: [SyntheticKline] = []
    @exclusivity(unchecked) var stats = SyntheticRollingStats()
    var lastTradeTicks: Int64 = 0
    var lastTradeLots: Int64 = 0
    var lastTradeMicros: Int64 = 0

    /// Where one diff cadence is in the change log, and the u it reported
    /// last (or the u of a lost event after `skipUpdateIds`).
    struct Cadence {
        var periodMicros: Int64
        /// Absolute change-log index of its first unreported change.
        var logIndex = 0
        var lastU: Int64
        /// Futures: the next event's U is lastU, not lastU + 1 (see `snapshotUpdateId`).
        var overlapNext = false
        /// Fault injection: the next event misreports one level (`corruptNextDiff`).
        var corruptNext = false
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
        fairStep = config.volatility / max(1, config.eventsPerSecond).squareRoot()
        farTicks = max(60, Double(instrument.startTicks) * config.volatility * 35)
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
        book.set(isBid, price, lots)
        changeLog.append(isBid ? price : -price)
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
        fair += rng.normal() * fairStep * fair
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
        // Most orders land within a few ticks of the fair price; the others
        // anywhere out to about the price's move in twenty minutes, which
        // keeps the book dense behind a moving price.
        let d = Int64(rng.unit() < 0.75 ? Double(rng.geometric(0.25)) : rng.exponential(mean: farTicks))
        var price: Int64
        if isBid {
            price = Int64(fair.rounded(.down)) - d
            if let ask = book.asks.best, price >= ask { price = ask - 1 }
        } else {
            price = Int64(fair.rounded(.up)) + d
            if let bid = book.bids.best, price <= bid { price = bid + 1 }
        }
        guard price > 0 else { return }
        let depth = book.best(isBid).map { Int(abs($0 - price)) } ?? 0
        let lots = book.quantity(isBid, at: price) + randomLots(depth: depth)
        change(isBid: isBid, price: price, lots: lots, micros: micros)
        // Keep the book near its configured size: the deepest level goes.
        if book.count(isBid) > config.bookLevels + config.bookLevels / 2 {
            change(isBid: isBid, price: book.worst(isBid).price, lots: 0, micros: micros)
        }
    }

    private func cancel(at micros: Int64) {
        let isBid = rng.unit() < 0.5
        let count = book.count(isBid)
        // A thin side is refilled instead, deep in the book.
        guard count > max(10, config.bookLevels * 9 / 10) else {
            refill(isBid: isBid, at: micros)
            return
        }
        // Mostly near the top; the rest anywhere in the side.
        let k = rng.unit() < 0.6 ? min(count - 1, rng.geometric(0.08)) : rng.below(count)
        let level = book.level(isBid, fromTop: k)
        let lots = rng.unit() < 0.4 ? 0 : Int64(Double(level.quantity) * rng.unit())
        change(isBid: isBid, price: level.price, lots: lots, micros: micros)
    }

    private func refill(isBid: Bool, at micros: Int64) {
        let count = book.count(isBid)
        let worst = count == 0 ? (isBid ? Int64(fair) - 1 : Int64(fair) + 1) : book.worst(isBid).price
        let gap = 1 + Int64(rng.geometric(0.2))
        let price = isBid ? worst - gap : worst + gap
        guard price > 0 else { return }
        change(isBid: isBid, price: price, lots: randomLots(depth: count), micros: micros)
    }

    /// A taker order that sweeps levels from the top. Each level it touches
    /// fills against one or two resting orders (one trade each) and makes
    /// one aggTrade.
    private func marketOrder(at micros: Int64) -> [Fill] {
        // Levels on the wrong side of the fair price are taken first (a few
        // per order, so the book catches up over several trades); otherwise
        // a random side and size.
        let takerBuys: Bool
        var upTo: Int64?
        if let ask = book.asks.best, Double(ask) < fair - 0.5 {
            takerBuys = true
            upTo = Int64(fair.rounded(.down))
        } else if let bid = book.bids.best, Double(bid) > fair + 0.5 {
            takerBuys = false
            upTo = Int64(fair.rounded(.up))
        } else {
            takerBuys = rng.unit() < 0.5
        }
        let makerIsBid = !takerBuys
        var remaining = upTo == nil ? max(1, Int64(orderLots * rng.exponential(mean: 1.5))) : Int64.max
        let maxLevels = upTo == nil ? 20 : 1 + rng.geometric(0.4)
        var fills: [Fill] = []
        while remaining > 0 && fills.count < maxLevels {
            guard book.count(makerIsBid) > 5 else { break }
            let level = book.level(makerIsBid, fromTop: 0)
            if let limit = upTo, takerBuys ? level.price > limit : level.price < limit { break }
            let filled = min(remaining, level.quantity)
            remaining -= filled
            var parts = min(Int64(1 + rng.below(2)), filled)
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

    /// Cadence `c` reports nothing to anyone this time: its position and u
    /// move on exactly as if it had (nobody can tell the difference).
    func skipDiff(cadence c: Int) {
        guard lastUpdateId > cadences[c].lastU else { return }
        markReported(c)
        cadences[c].lastU = lastUpdateId
        cadences[c].overlapNext = false
        cadences[c].corruptNext = false // the event nobody got was the corrupt one
    }

    /// The diff event of cadence `c` covering every change since it last
    /// reported, or nil if nothing changed. Marks it reported.
    func takeDiff(cadence c: Int, at micros: Int64) -> SyntheticDepth? {
        let cad = cadences[c]
        guard lastUpdateId > cad.lastU else { return nil }
        // The prices this cadence has not reported, each once, best first.
        var bids: [Int64] = [], asks: [Int64] = []
        for entry in changeLog[(cad.logIndex - changeLogBase)...] {
            if entry > 0 { bids.append(entry) } else { asks.append(-entry) }
        }
        var d = SyntheticDepth(eventMicros: micros, transactionMicros: lastChangeMicros,
                               firstUpdateId: cad.overlapNext ? cad.lastU : cad.lastU + 1, finalUpdateId: lastUpdateId,
                               previousFinalUpdateId: cad.lastU,
                               bids: changed(&bids, isBid: true), asks: changed(&asks, isBid: false))
        if cad.corruptNext {
            misreportOneLevel(&d)
            cadences[c].corruptNext = false
        }
        markReported(c)
        cadences[c].lastU = lastUpdateId
        cadences[c].overlapNext = false
        return d
    }

    /// Fault injection: the next diff event of every cadence misreports one
    /// level; the book itself (and so every REST snapshot) stays right.
    func corruptNextDiff() {
        for c in cadences.indices { cadences[c].corruptNext = true }
    }

    /// Adds to (or changes in) `d` one resting level, the 11th to 20th from
    /// the top, with one lot more than the book holds. That deep, the market
    /// seldom touches the level again soon, so the client's book stays wrong
    /// until a verification compares it (any snapshot of 20 levels or more
    /// covers it). The ids are untouched: the client sees no gap.
    private func misreportOneLevel(_ d: inout SyntheticDepth) {
        var isBid = lastUpdateId & 1 == 0
        if book.count(isBid) == 0 { isBid.toggle() }
        let n = book.count(isBid)
        guard n > 0 else { return }
        let level = book.level(isBid, fromTop: min(n - 1, 10 + Int(lastUpdateId % 10)))
        let wrong = SyntheticLevel(priceTicks: level.price, lots: level.quantity + 1)
        func put(_ levels: inout [SyntheticLevel]) {
            // Best first: bids descending, asks ascending.
            let at = levels.firstIndex { isBid ? $0.priceTicks <= wrong.priceTicks : $0.priceTicks >= wrong.priceTicks }
            if let at, levels[at].priceTicks == wrong.priceTicks {
                levels[at] = wrong
            } else {
                levels.insert(wrong, at: at ?? levels.count)
            }
        }
        if isBid { put(&d.bids) } else { put(&d.asks) }
    }

    /// The current quantity of each distinct price, best first.
    private func changed(_ prices: inout [Int64], isBid: Bool) -> [SyntheticLevel] {
        if isBid { prices.sort(by: >) } else { prices.sort() }
        var out: [SyntheticLevel] = []
        out.reserveCapacity(prices.count)
        var previous: Int64 = -1
        for p in prices where p != previous {
            previous = p
            out.append(SyntheticLevel(priceTicks: p, lots: isBid ? book.bids.quantity(at: p) : book.asks.quantity(at: p)))
        }
        return out
    }

    /// Cadence `c` has reported every change so far; the log keeps only
    /// what some cadence still has to report.
    private func markReported(_ c: Int) {
        cadences[c].logIndex = changeLogBase + changeLog.count
        let keep = cadences.reduce(Int.max) { min($0, $1.logIndex) }
        let drop = keep - changeLogBase
        if drop >= 1024 && drop * 2 >= changeLog.count {
            changeLog.removeFirst(drop)
            changeLogBase = keep
        }
    }

    /// The best `n` levels of a side, best first.
    func topLevels(isBid: Bool, _ n: Int) -> [SyntheticLevel] {
        let count = min(n, book.count(isBid))
        var out: [SyntheticLevel] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            let l = book.level(isBid, fromTop: k)
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
        let before = lastUpdateId
        if book.count(isBid) > 1 {
            let level = book.level(isBid, fromTop: min(book.count(isBid) - 1, rng.below(5)))
            change(isBid: isBid, price: level.price, lots: level.quantity + 1, micros: micros)
        }
        lastUpdateId = before + Int64(count)
        for c in cadences.indices {
            markReported(c)
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
