/// Rolling-window trade statistics of one symbol for the ticker streams:
/// 5 minutes (avgPrice), 1 hour, 4 hours and 1 day (24hr ticker and
/// ticker_1d). Trades are summed into one-second buckets; each window keeps
/// running sums and monotonic queues for its high and low, so a ticker costs
/// O(1) per second whatever the trade rate, and memory is bounded by the
/// number of seconds in a day.
///
/// Tickers are computed on whole-second boundaries T and cover exactly the
/// trades with times in [T - window, T).
struct SyntheticRollingStats {
    static let windowSeconds: [Int64] = [300, 3600, 14_400, 86_400]
    static let fiveMinutes = 0, oneHour = 1, fourHours = 2, oneDay = 3

    struct Bucket {
        var second: Int64
        var open: Int64, high: Int64, low: Int64, close: Int64
        var volume: Int64, quote: Int64, count: Int64
        var firstId: Int64, lastId: Int64
    }

    struct Window {
        var seconds: Int64
        var start = 0               // absolute index of the first bucket inside
        var volume: Int64 = 0, quote: Int64 = 0, count: Int64 = 0
        // (absolute bucket index, its high or low): highs decreasing, lows increasing.
        var maxQueue: [(Int, Int64)] = [], maxHead = 0
        var minQueue: [(Int, Int64)] = [], minHead = 0
        /// Close of the last bucket that left the window: the price before it.
        var priceBefore: Int64?

        /// Drops the expired heads of the queues once they are most of them.
        mutating func compactQueues() {
            if maxHead > 1024 && maxHead * 2 > maxQueue.count {
                maxQueue.removeFirst(maxHead)
                maxHead = 0
            }
            if minHead > 1024 && minHead * 2 > minQueue.count {
                minQueue.removeFirst(minHead)
                minHead = 0
            }
        }
    }

    private var buckets: [Bucket] = []
    private var base = 0            // absolute index of buckets[0]
    private var windows = SyntheticRollingStats.windowSeconds.map { Window(seconds: $0) }

    @inline(__always) private func bucket(_ abs: Int) -> Bucket { buckets[abs - base] }

    mutating func add(_ t: SyntheticTrade) {
        let second = MarketJSON.floorDiv(t.micros, 1_000_000)
        let quote = t.lots * t.priceTicks
        if let last = buckets.last, last.second == second {
            let i = buckets.count - 1
            buckets[i].high = max(last.high, t.priceTicks)
            buckets[i].low = min(last.low, t.priceTicks)
            buckets[i].close = t.priceTicks
            buckets[i].volume += t.lots
            buckets[i].quote += quote
            buckets[i].count += 1
            buckets[i].lastId = t.id
        } else {
            buckets.append(Bucket(second: second, open: t.priceTicks, high: t.priceTicks, low: t.priceTicks,
                                  close: t.priceTicks, volume: t.lots, quote: quote, count: 1,
                                  firstId: t.id, lastId: t.id))
        }
        let idx = base + buckets.count - 1
        let b = buckets[buckets.count - 1]
        for w in windows.indices {
            windows[w].volume += t.lots
            windows[w].quote += quote
            windows[w].count += 1
            SyntheticRollingStats.push(&windows[w].maxQueue, windows[w].maxHead, (idx, b.high)) { $0 <= b.high }
            SyntheticRollingStats.push(&windows[w].minQueue, windows[w].minHead, (idx, b.low)) { $0 >= b.low }
        }
    }

    /// Appends `idx` after dropping the tail entries it dominates (and
    /// itself, if its bucket was already queued and has just changed).
    private static func push(_ q: inout [(Int, Int64)], _ head: Int, _ entry: (Int, Int64), dominated: (Int64) -> Bool) {
        while q.count > head, let last = q.last, last.0 == entry.0 || dominated(last.1) { q.removeLast() }
        q.append(entry)
    }

    /// Moves every window to end at the whole second `endSecond` (exclusive).
    mutating func roll(toSecond endSecond: Int64) {
        let end = base + buckets.count
        for w in windows.indices {
            let from = endSecond - windows[w].seconds
            while windows[w].start < end && bucket(windows[w].start).second < from {
                let b = bucket(windows[w].start)
                windows[w].volume -= b.volume
                windows[w].quote -= b.quote
                windows[w].count -= b.count
                windows[w].priceBefore = b.close
                windows[w].start += 1
            }
            let s = windows[w].start
            while windows[w].maxHead < windows[w].maxQueue.count && windows[w].maxQueue[windows[w].maxHead].0 < s { windows[w].maxHead += 1 }
            while windows[w].minHead < windows[w].minQueue.count && windows[w].minQueue[windows[w].minHead].0 < s { windows[w].minHead += 1 }
            windows[w].compactQueues()
        }
        // Buckets older than the longest window are no longer needed.
        let keep = windows.map(\.start).min() ?? end
        let drop = keep - base
        if drop > 1024 && drop * 2 > buckets.count {
            buckets.removeFirst(drop)
            base = keep
        }
    }



    /// The statistics of window `w` (after `roll`); `fallback` is the price
    /// used when no trade was ever seen.
    func summary(_ w: Int, fallback: Int64) -> SyntheticWindowSummary {
        let win = windows[w]
        let end = base + buckets.count
        guard win.count > 0, win.start < end else {
            let p = win.priceBefore ?? fallback
            return SyntheticWindowSummary(open: p, high: p, low: p, close: p, priceBefore: p, volume: 0, quote: 0,
                                          count: 0, firstId: -1, lastId: -1)
        }
        let first = bucket(win.start)
        let last = bucket(end - 1)
        return SyntheticWindowSummary(open: first.open, high: win.maxQueue[win.maxHead].1,
                                      low: win.minQueue[win.minHead].1, close: last.close,
                                      priceBefore: win.priceBefore ?? first.open,
                                      volume: win.volume, quote: win.quote, count: win.count,
                                      firstId: first.firstId, lastId: last.lastId)
    }
}

/// A window's statistics (prices in ticks, volume in lots, quote in ticks·lots).
struct SyntheticWindowSummary {
    var open: Int64, high: Int64, low: Int64, close: Int64
    /// Binance's "x": the last price before the window (its open if none).
    var priceBefore: Int64
    var volume: Int64, quote: Int64, count: Int64
    var firstId: Int64, lastId: Int64
}

/// Everything one ticker message is rendered from.
struct SyntheticTicker {
    var eventMicros: Int64
    var windowMicros: Int64
    var stats: SyntheticWindowSummary
    var lastLots: Int64
    var lastTradeMicros: Int64
    var bidTicks: Int64, bidLots: Int64, askTicks: Int64, askLots: Int64
}

extension SyntheticInstrument {
    /// Weighted average price quote/volume as a mantissa at `priceDigits`,
    /// rounded half up, exact (128-bit intermediate).
    func weightedAverageMantissa(quote: Int64, volume: Int64) -> Int64 {
        guard volume > 0, quote > 0 else { return 0 }
        // quote (ticks·lots) / volume (lots) = ticks; ticks · tickMantissa at tickScale.
        let up = UInt64(tickMantissa) * MarketJSON.pow10[priceDigits - tickScale]
        let wide = UInt64(quote).multipliedFullWidth(by: up)
        let (q, r) = UInt64(volume).dividingFullWidth(wide)
        return Int64(q + (r * 2 >= UInt64(volume) ? 1 : 0))
    }

    /// Price change percent with 3 decimals, rounded half away from zero.
    func percentMantissa(open: Int64, close: Int64) -> Int64 {
        guard open > 0 else { return 0 }
        let num = (close - open) * 100_000
        let q = num / open, r = num % open
        return q + (abs(r) * 2 >= open ? (num < 0 ? -1 : 1) : 0)
    }

    private func head(_ j: inout MarketJSON, _ e: StaticString, _ t: SyntheticTicker, _ unit: TimeUnit) {
        j.raw("{\"e\":\"")
        j.raw(e)
        j.raw("\",\"E\":")
        j.time(t.eventMicros, unit)
        j.raw(",\"s\":")
        j.string(symbolBytes)
    }

    private func ohlcvTail(_ j: inout MarketJSON, _ t: SyntheticTicker, _ unit: TimeUnit) {
        j.raw(",\"O\":")
        j.time(t.eventMicros - t.windowMicros, unit)
        j.raw(",\"C\":")
        j.int(unit == .microsecond ? t.eventMicros - 1 : t.eventMicros / 1000 - 1)
        j.raw(",\"F\":")
        j.int(t.stats.firstId)
        j.raw(",\"L\":")
        j.int(t.stats.lastId)
        j.raw(",\"n\":")
        j.int(t.stats.count)
        j.byte(UInt8(ascii: "}"))
    }

    private func change(_ j: inout MarketJSON, _ t: SyntheticTicker) {
        j.raw(",\"p\":")
        price(&j, t.stats.close - t.stats.open)
        j.raw(",\"P\":")
        j.decimal(percentMantissa(open: t.stats.open, close: t.stats.close), scale: 3, digits: 3)
    }

    private func weighted(_ j: inout MarketJSON, _ t: SyntheticTicker) {
        j.raw(",\"w\":")
        j.decimal(weightedAverageMantissa(quote: t.stats.quote, volume: t.stats.volume), scale: priceDigits, digits: priceDigits)
    }

    /// `<s>@miniTicker`: e E s c o h l v q.
    func renderMiniTicker(_ t: SyntheticTicker, _ unit: TimeUnit) -> [UInt8] {
        return MarketJSON.render(capacity: 360 + symbolBytes.count) { j in
            head(&j, "24hrMiniTicker", t, unit)
            j.raw(",\"c\":"); price(&j, t.stats.close)
            j.raw(",\"o\":"); price(&j, t.stats.open)
            j.raw(",\"h\":"); price(&j, t.stats.high)
            j.raw(",\"l\":"); price(&j, t.stats.low)
            j.raw(",\"v\":"); quantity(&j, t.stats.volume)
            j.raw(",\"q\":"); quote(&j, t.stats.quote)
            j.byte(UInt8(ascii: "}"))
        }
    }

    /// `<s>@ticker`. Spot: e E s p P w x c Q b B a A o h l v q O C F L n;
    /// futures: e E s p P w c Q o h l v q O C F L n.
    func renderTicker(_ t: SyntheticTicker, _ unit: TimeUnit) -> [UInt8] {
        return MarketJSON.render(capacity: 960 + symbolBytes.count) { j in
            head(&j, "24hrTicker", t, unit)
            change(&j, t)
            weighted(&j, t)
            if venue == .spot { j.raw(",\"x\":"); price(&j, t.stats.priceBefore) }
            j.raw(",\"c\":"); price(&j, t.stats.close)
            j.raw(",\"Q\":"); quantity(&j, t.lastLots)
            if venue == .spot {
                j.raw(",\"b\":"); price(&j, t.bidTicks)
                j.raw(",\"B\":"); quantity(&j, t.bidLots)
                j.raw(",\"a\":"); price(&j, t.askTicks)
                j.raw(",\"A\":"); quantity(&j, t.askLots)
            }
            j.raw(",\"o\":"); price(&j, t.stats.open)
            j.raw(",\"h\":"); price(&j, t.stats.high)
            j.raw(",\"l\":"); price(&j, t.stats.low)
            j.raw(",\"v\":"); quantity(&j, t.stats.volume)
            j.raw(",\"q\":"); quote(&j, t.stats.quote)
            ohlcvTail(&j, t, unit)
        }
    }

    /// Spot `<s>@ticker_<1h|4h|1d>`: e("1hTicker"...) E s p P o h l c w v q O C F L n.
    func renderRollingTicker(_ t: SyntheticTicker, window: Int, _ unit: TimeUnit) -> [UInt8] {
        return MarketJSON.render(capacity: 720 + symbolBytes.count) { j in
            switch window {
            case 0: head(&j, "1hTicker", t, unit)
            case 1: head(&j, "4hTicker", t, unit)
            default: head(&j, "1dTicker", t, unit)
            }
            change(&j, t)
            j.raw(",\"o\":"); price(&j, t.stats.open)
            j.raw(",\"h\":"); price(&j, t.stats.high)
            j.raw(",\"l\":"); price(&j, t.stats.low)
            j.raw(",\"c\":"); price(&j, t.stats.close)
            weighted(&j, t)
            j.raw(",\"v\":"); quantity(&j, t.stats.volume)
            j.raw(",\"q\":"); quote(&j, t.stats.quote)
            ohlcvTail(&j, t, unit)
        }
    }

    /// Spot `<s>@avgPrice`: e E s i w T (w: the 5-minute weighted average;
    /// the last price when the window has no trade).
    func renderAvgPrice(_ t: SyntheticTicker, _ unit: TimeUnit) -> [UInt8] {
        return MarketJSON.render(capacity: 200 + symbolBytes.count) { j in
            head(&j, "avgPrice", t, unit)
            j.raw(",\"i\":\"5m\",\"w\":")
            if t.stats.volume > 0 {
                j.decimal(weightedAverageMantissa(quote: t.stats.quote, volume: t.stats.volume), scale: priceDigits, digits: priceDigits)
            } else {
                price(&j, t.stats.close)
            }
            j.raw(",\"T\":")
            j.time(t.lastTradeMicros, unit)
            j.byte(UInt8(ascii: "}"))
        }
    }
}
