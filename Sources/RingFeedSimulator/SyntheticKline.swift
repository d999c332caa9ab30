/// A Binance kline interval: its stream name and how an open time is found
/// (fixed lengths aligned to the epoch, weeks starting on Monday, calendar
/// months in UTC).
struct SyntheticKlineInterval: Sendable {
    let name: String
    let nameBytes: [UInt8]
    /// Length in ms; 0 for the calendar month.
    let millis: Int64

    init(_ name: String, _ millis: Int64) {
        self.name = name
        self.nameBytes = Array(name.utf8)
        self.millis = millis
    }

    static let all: [SyntheticKlineInterval] = {
        let s: Int64 = 1000, m = 60 * s, h = 60 * m, d = 24 * h
        return [("1s", s), ("1m", m), ("3m", 3 * m), ("5m", 5 * m), ("15m", 15 * m), ("30m", 30 * m),
                ("1h", h), ("2h", 2 * h), ("4h", 4 * h), ("6h", 6 * h), ("8h", 8 * h), ("12h", 12 * h),
                ("1d", d), ("3d", 3 * d), ("1w", 7 * d), ("1M", 0)].map { SyntheticKlineInterval($0.0, $0.1) }
    }()

    /// The open time (ms) of the kline containing `ms`, and the next one's.
    func bounds(_ ms: Int64) -> (open: Int64, next: Int64) {
        let day: Int64 = 86_400_000
        if millis == 0 {
            let (y, mo) = SyntheticKlineInterval.yearMonth(days: MarketJSON.floorDiv(ms, day))
            let open = SyntheticKlineInterval.daysFromCivil(y, mo, 1) * day
            let next = mo == 12 ? SyntheticKlineInterval.daysFromCivil(y + 1, 1, 1) : SyntheticKlineInterval.daysFromCivil(y, mo + 1, 1)
            return (open, next * day)
        }
        // 1970-01-01 was a Thursday; Binance's weeks open on Monday (day 4).
        let offset: Int64 = millis == 7 * day ? 4 * day : 0
        let open = MarketJSON.floorDiv(ms - offset, millis) * millis + offset
        return (open, open + millis)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = MarketJSON.floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func yearMonth(days z0: Int64) -> (Int64, Int64) {
        let z = z0 + 719_468
        let era = MarketJSON.floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m)
    }
}

/// One open kline of one symbol, built from the trades in it. With no trade
/// yet, open = high = low = close = the previous close and the trade ids
/// are -1, as Binance sends them.
struct SyntheticKline {
    var openMicros: Int64
    var nextOpenMicros: Int64
    var open: Int64, high: Int64, low: Int64, close: Int64   // ticks
    var volume: Int64 = 0          // lots
    var quoteVolume: Int64 = 0     // ticks·lots
    var takerBuyVolume: Int64 = 0
    var takerBuyQuoteVolume: Int64 = 0
    var trades: Int64 = 0
    var firstTradeId: Int64 = -1
    var lastTradeId: Int64 = -1
    var closed = false

    init(interval: SyntheticKlineInterval, micros: Int64, price: Int64) {
        let b = interval.bounds(MarketJSON.floorDiv(micros, 1000))
        openMicros = b.open * 1000
        nextOpenMicros = b.next * 1000
        open = price
        high = price
        low = price
        close = price
    }

    mutating func add(_ t: SyntheticTrade) {
        if trades == 0 {
            open = t.priceTicks
            high = t.priceTicks
            low = t.priceTicks
            firstTradeId = t.id
        }
        high = max(high, t.priceTicks)
        low = min(low, t.priceTicks)
        close = t.priceTicks
        // Wrapping sums: a month-long kline at an extreme event rate must not
        // trap the simulator (ticks·lots stays far below 2^63 in practice).
        volume &+= t.lots
        quoteVolume &+= t.lots &* t.priceTicks
        if !t.buyerIsMaker {
            takerBuyVolume &+= t.lots
            takerBuyQuoteVolume &+= t.lots &* t.priceTicks
        }
        trades += 1
        lastTradeId = t.id
    }
}

extension SyntheticInstrument {
    /// `<s>@kline_<i>`: {"e":"kline","E":..,"s":..,"k":{"t","T","s","i","f",
    /// "L","o","c","h","l","v","n","x","q","V","Q","B"}} (as recorded).
    func renderKline(_ k: SyntheticKline, _ interval: SyntheticKlineInterval, eventMicros: Int64,
                     _ unit: TimeUnit) -> [UInt8] {
        return MarketJSON.render(capacity: 720 + 2 * symbolBytes.count + interval.nameBytes.count) { j in
            j.raw("{\"e\":\"kline\",\"E\":")
            j.time(eventMicros, unit)
            j.raw(",\"s\":")
            j.string(symbolBytes)
            j.raw(",\"k\":{\"t\":")
            j.time(k.openMicros, unit)
            j.raw(",\"T\":")
            j.int(unit == .microsecond ? k.nextOpenMicros - 1 : k.nextOpenMicros / 1000 - 1)
            j.raw(",\"s\":")
            j.string(symbolBytes)
            j.raw(",\"i\":")
            j.string(interval.nameBytes)
            j.raw(",\"f\":")
            j.int(k.firstTradeId)
            j.raw(",\"L\":")
            j.int(k.lastTradeId)
            j.raw(",\"o\":")
            price(&j, k.open)
            j.raw(",\"c\":")
            price(&j, k.close)
            j.raw(",\"h\":")
            price(&j, k.high)
            j.raw(",\"l\":")
            price(&j, k.low)
            j.raw(",\"v\":")
            quantity(&j, k.volume)
            j.raw(",\"n\":")
            j.int(k.trades)
            j.raw(",\"x\":")
            j.bool(k.closed)
            j.raw(",\"q\":")
            quote(&j, k.quoteVolume)
            j.raw(",\"V\":")
            quantity(&j, k.takerBuyVolume)
            j.raw(",\"Q\":")
            quote(&j, k.takerBuyQuoteVolume)
            j.raw(",\"B\":\"0\"}}")
        }
    }
}
