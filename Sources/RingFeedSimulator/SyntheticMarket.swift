/// A deterministic, seeded synthetic market for the exchange simulator:
/// per symbol a book of resting levels that random order arrivals, cancels
/// and market orders change, with every Binance market stream derived from
/// it (trades, aggTrades, diff and partial depth, bookTicker, klines,
/// tickers, avgPrice, the all-market arrays), a REST depth snapshot that is
/// consistent with the diff streams, and exchangeInfo.
///
/// The same seed and the same sequence of `advance` times give
/// byte-identical output. Market events happen at random times drawn from
/// the seed (a Poisson process per symbol at `eventsPerSecond`); periodic
/// streams fire on whole multiples of their period in simulated time. At
/// equal times a periodic emission comes before a market event, so how the
/// caller splits time into `advance` calls does not change the output.
public final class SyntheticMarket: MarketSource {
    public struct Configuration: Sendable {
        /// Book events (limit orders, cancels, market orders) per second per symbol.
        public var eventsPerSecond: Double
        /// Resting levels per side at the start; the book stays near this size.
        public var bookLevels: Int
        /// Share of events that are market orders (each makes trades).
        public var marketOrderShare: Double
        /// Share of events that are cancels; the rest are limit orders.
        public var cancelShare: Double
        /// Volatility of the hidden fair price the book follows: the standard
        /// deviation of its relative change over one second (2e-5: about
        /// 0.04 % in five minutes, a calm BTCUSDT).
        public var volatility: Double

        public init(eventsPerSecond: Double = 50, bookLevels: Int = 500, marketOrderShare: Double = 0.12,
                    cancelShare: Double = 0.38, volatility: Double = 2e-5) {
            self.eventsPerSecond = eventsPerSecond
            self.bookLevels = bookLevels
            self.marketOrderShare = marketOrderShare
            self.cancelShare = cancelShare
            self.volatility = volatility
        }
    }

    public let symbols: [String]
    public let venue: Venue
    public let configuration: Configuration
    let instruments: [SyntheticInstrument]
    let states: [SyntheticSymbol]
    private let bySymbol: [String: Int]
    private let served: Set<String>
    private let arrayNames: [String]
    /// Simulated time: nil until the first `advance`.
    private(set) var nowMicros: Int64?
    private var nextBoundaryMicros: Int64 = 0
    private let boundaryStepMicros: Int64

    public init(symbols: [String], seed: UInt64, venue: Venue = .spot, configuration: Configuration = .init()) {
        var seen = Set<String>()
        let names = symbols.map { $0.uppercased() }.filter { seen.insert($0).inserted }
        self.symbols = names
        self.venue = venue
        var config = configuration
        config.bookLevels = max(20, config.bookLevels)
        config.eventsPerSecond = max(0, config.eventsPerSecond)
        self.configuration = config
        instruments = names.map { SyntheticInstrument(symbol: $0, venue: venue) }
        states = instruments.enumerated().map { SyntheticSymbol(instrument: $1, index: $0, seed: seed, config: config) }
        bySymbol = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        arrayNames = SyntheticStreams.arrayNames(venue)
        var all = Set(arrayNames)
        for s in states { all.formUnion(s.names.filter { !$0.isEmpty }) }
        served = all
        // Every period (50 ms futures depth steps, 100 ms, 1 s) is a multiple of this.
        boundaryStepMicros = venue == .spot ? 100_000 : 50_000
    }

    public func serves(stream name: String) -> Bool {
        served.contains(name)
    }

    // MARK: - time

    public func advance(to nowMicros: Int64, wants: (String) -> Bool, emit: (MarketMessage) -> Void) {
        withoutActuallyEscaping(wants) { wants in
            withoutActuallyEscaping(emit) { emit in
                run(to: nowMicros, SyntheticOutput(wants: wants, emit: emit, streams: states.count * SyntheticStreams.perSymbol))
            }
        }
    }

    private func start(at micros: Int64) {
        nowMicros = micros
        nextBoundaryMicros = (MarketJSON.floorDiv(micros, boundaryStepMicros) + 1) * boundaryStepMicros
        let firstPrice = { (s: SyntheticSymbol) in s.midTicks.rounded(.down) }
        for s in states {
            s.klines = SyntheticKlineInterval.all.map { SyntheticKline(interval: $0, micros: micros, price: Int64(firstPrice(s))) }
            s.lastTradeTicks = Int64(firstPrice(s))
            s.lastTradeMicros = micros
            s.stats.roll(toSecond: MarketJSON.floorDiv(micros, 1_000_000))
            scheduleNext(s, after: micros)
        }
    }

    private func scheduleNext(_ s: SyntheticSymbol, after micros: Int64) {
        guard configuration.eventsPerSecond > 0 else {
            s.nextEventMicros = .max
            return
        }
        let gap = s.rng.exponential(mean: 1_000_000 / configuration.eventsPerSecond)
        s.nextEventMicros = micros + max(1, Int64(gap))
    }

    private func run(to now: Int64, _ out: SyntheticOutput) {
        guard let current = nowMicros else {
            start(at: now)
            return
        }
        guard now > current else { return }
        while true {
            var next: SyntheticSymbol?
            for s in states where s.nextEventMicros < (next?.nextEventMicros ?? .max) { next = s }
            if nextBoundaryMicros <= (next?.nextEventMicros ?? .max) {
                if nextBoundaryMicros > now { break }
                boundary(at: nextBoundaryMicros, out)
                nextBoundaryMicros += boundaryStepMicros
            } else if let s = next, s.nextEventMicros <= now {
                let t = s.nextEventMicros
                event(s, at: t, out)
                scheduleNext(s, after: t)
            } else {
                break
            }
        }
        nowMicros = now
    }

    // MARK: - market events

    private func event(_ s: SyntheticSymbol, at t: Int64, _ out: SyntheticOutput) {
        let fills = s.step(at: t)
        let inst = s.inst
        for fill in fills {
            for trade in fill.trades {
                if out.wanted(s, SyntheticStreams.trade) {
                    out.send(s.names[SyntheticStreams.trade]) { inst.renderTrade(trade, $0) }
                }
                s.stats.add(trade)
                s.lastTradeTicks = trade.priceTicks
                s.lastTradeLots = trade.lots
                s.lastTradeMicros = trade.micros
                for (i, interval) in SyntheticKlineInterval.all.enumerated() {
                    s.klines[i].add(trade)
                    let kind = SyntheticStreams.kline + i
                    if out.wanted(s, kind) {
                        let k = s.klines[i]
                        out.send(s.names[kind]) { inst.renderKline(k, interval, eventMicros: t, $0) }
                    }
                }
            }
            if out.wanted(s, SyntheticStreams.aggTrade) {
                let agg = fill.aggTrade
                out.send(s.names[SyntheticStreams.aggTrade]) { inst.renderAggTrade(agg, $0) }
            }
        }
        reportTop(s, at: t, out)
    }

    /// bookTicker on every change of the best bid or ask (price or quantity).
    private func reportTop(_ s: SyntheticSymbol, at t: Int64, _ out: SyntheticOutput) {
        let top = s.top
        guard top != s.reportedTop else { return }
        s.reportedTop = top
        if out.wanted(s, SyntheticStreams.bookTicker) {
            let bt = SyntheticBookTicker(updateId: s.lastUpdateId, micros: t, bidTicks: top.0, bidLots: top.1,
                                         askTicks: top.2, askLots: top.3)
            let inst = s.inst
            out.send(s.names[SyntheticStreams.bookTicker]) { inst.renderBookTicker(bt, $0) }
        }
    }

    // MARK: - periodic streams

    private func boundary(at t: Int64, _ out: SyntheticOutput) {
        let wholeSecond = t % 1_000_000 == 0
        if wholeSecond {
            for s in states { closeKlines(s, at: t, out) }
        }
        for s in states {
            for c in s.cadences.indices where t % s.cadences[c].periodMicros == 0 {
                depth(s, cadence: c, at: t, out)
            }
        }
        if wholeSecond { tickers(at: t, out) }
    }

    /// Klines whose interval ends at `t` are sent once more with x = true,
    /// then the next interval opens at the previous close.
    private func closeKlines(_ s: SyntheticSymbol, at t: Int64, _ out: SyntheticOutput) {
        let inst = s.inst
        for (i, interval) in SyntheticKlineInterval.all.enumerated() where s.klines[i].nextOpenMicros <= t {
            var k = s.klines[i]
            k.closed = true
            let kind = SyntheticStreams.kline + i
            if out.wanted(s, kind) {
                let closed = k
                out.send(s.names[kind]) { inst.renderKline(closed, interval, eventMicros: t, $0) }
            }
            s.klines[i] = SyntheticKline(interval: interval, micros: t, price: k.close)
        }
    }

    private func depth(_ s: SyntheticSymbol, cadence c: Int, at t: Int64, _ out: SyntheticOutput) {
        let inst = s.inst
        let previousU = s.cadences[c].lastU
        let diffKind = SyntheticStreams.diffDepth + c
        if !out.wanted(s, diffKind) {
            s.skipDiff(cadence: c)
        } else if let diff = s.takeDiff(cadence: c, at: t) {
            out.send(s.names[diffKind]) { inst.renderDepthUpdate(diff, $0) }
        }
        for (l, n) in SyntheticStreams.partialLevels.enumerated() {
            let kind = SyntheticStreams.partialDepth + c * 3 + l
            guard out.wanted(s, kind) else { continue }
            let changed = s.lastUpdateId > previousU
            let d = SyntheticDepth(eventMicros: t, transactionMicros: s.lastChangeMicros,
                                   firstUpdateId: changed ? previousU + 1 : s.lastUpdateId,
                                   finalUpdateId: s.lastUpdateId, previousFinalUpdateId: previousU,
                                   bids: s.topLevels(isBid: true, n), asks: s.topLevels(isBid: false, n))
            out.send(s.names[kind]) { inst.renderPartialDepth(d, $0) }
        }
    }

    /// The 1000 ms streams: tickers, avgPrice and the all-market arrays
    /// (which list every symbol each second; Binance lists the changed ones).
    private func tickers(at t: Int64, _ out: SyntheticOutput) {
        let second = t / 1_000_000
        var mini: [SyntheticTicker] = [], full: [SyntheticTicker] = []
        var rolling: [[SyntheticTicker]] = Array(repeating: [], count: SyntheticStreams.rollingWindows.count)
        let wantMiniArr = out.wantsName(arrayNames[0])
        let wantFullArr = out.wantsName(arrayNames[1])
        let wantRollingArr = venue == .spot ? (0..<3).map { out.wantsName(arrayNames[2 + $0]) } : [false, false, false]
        for s in states {
            s.stats.roll(toSecond: second)
            let inst = s.inst
            let top = s.top
            func ticker(_ w: Int, _ seconds: Int64) -> SyntheticTicker {
                SyntheticTicker(eventMicros: t, windowMicros: seconds * 1_000_000,
                                stats: s.stats.summary(w, fallback: s.lastTradeTicks), lastLots: s.lastTradeLots,
                                lastTradeMicros: s.lastTradeMicros,
                                bidTicks: top.0, bidLots: top.1, askTicks: top.2, askLots: top.3)
            }
            let wantMini = out.wanted(s, SyntheticStreams.miniTicker)
            let wantFull = out.wanted(s, SyntheticStreams.ticker)
            if wantMini || wantFull || wantMiniArr || wantFullArr {
                let day = ticker(SyntheticRollingStats.oneDay, 86_400)
                if wantMini { out.send(s.names[SyntheticStreams.miniTicker]) { inst.renderMiniTicker(day, $0) } }
                if wantFull { out.send(s.names[SyntheticStreams.ticker]) { inst.renderTicker(day, $0) } }
                if wantMiniArr { mini.append(day) }
                if wantFullArr { full.append(day) }
            }
            guard venue == .spot else { continue }
            for (w, window) in SyntheticStreams.rollingWindows.enumerated() {
                let kind = SyntheticStreams.rollingTicker + w
                let want = out.wanted(s, kind)
                guard want || wantRollingArr[w] else { continue }
                let tk = ticker(w + 1, window.seconds)
                if want { out.send(s.names[kind]) { inst.renderRollingTicker(tk, window: w, $0) } }
                if wantRollingArr[w] { rolling[w].append(tk) }
            }
            if out.wanted(s, SyntheticStreams.avgPrice) {
                let avg = ticker(SyntheticRollingStats.fiveMinutes, 300)
                out.send(s.names[SyntheticStreams.avgPrice]) { inst.renderAvgPrice(avg, $0) }
            }
        }
        let instruments = self.instruments
        if wantMiniArr {
            out.send(arrayNames[0]) { unit in SyntheticMarket.array(mini, instruments) { $0.renderMiniTicker($1, unit) } }
        }
        if wantFullArr {
            out.send(arrayNames[1]) { unit in SyntheticMarket.array(full, instruments) { $0.renderTicker($1, unit) } }
        }
        for w in 0..<rolling.count where wantRollingArr[w] {
            let items = rolling[w]
            out.send(arrayNames[2 + w]) { unit in
                SyntheticMarket.array(items, instruments) { $0.renderRollingTicker($1, window: w, unit) }
            }
        }
    }

    /// A JSON array of one ticker per symbol (tickers are in symbol order).
    private static func array(_ items: [SyntheticTicker], _ instruments: [SyntheticInstrument],
                              _ render: (SyntheticInstrument, SyntheticTicker) -> [UInt8]) -> [UInt8] {
        let parts = items.enumerated().map { render(instruments[$0.offset], $0.element) }
        return MarketJSON.render(capacity: 2 + parts.reduce(parts.count) { $0 + $1.count }) { j in
                j.byte(UInt8(ascii: "["))
                for (i, p) in parts.enumerated() {
                    if i > 0 { j.byte(UInt8(ascii: ",")) }
                    j.append(p)
                }
                j.byte(UInt8(ascii: "]"))
        }
    }

    // MARK: - REST

    public func depthSnapshot(symbol: String, limit: Int) -> [UInt8]? {
        guard let i = bySymbol[symbol.uppercased()] else { return nil }
        let s = states[i]
        let n = limit <= 0 ? 100 : min(limit, 5000)
        let now = nowMicros ?? 0
        return s.inst.renderSnapshot(lastUpdateId: s.snapshotUpdateId(), micros: now,
                                     transactionMicros: s.lastChangeMicros == 0 ? now : s.lastChangeMicros,
                                     bids: s.topLevels(isBid: true, n), asks: s.topLevels(isBid: false, n))
    }

    public func exchangeInfo(symbols wanted: [String]?) -> [UInt8] {
        let list: [SyntheticInstrument]
        if let wanted {
            let set = Set(wanted.map { $0.uppercased() })
            list = instruments.filter { set.contains($0.symbol) }
        } else {
            list = instruments
        }
        return SyntheticExchangeInfo.render(venue: venue, serverMicros: nowMicros ?? 0, instruments: list)
    }

    public func skipUpdateIds(symbol: String, count: Int) {
        guard let i = bySymbol[symbol.uppercased()] else { return }
        states[i].skipUpdateIds(count, at: nowMicros ?? 0)
    }

    public func corruptNextDiff(symbol: String) -> Bool {
        guard let i = bySymbol[symbol.uppercased()] else { return false }
        states[i].corruptNextDiff()
        return true
    }
}

/// The caller's `wants` and `emit` for one `advance`, with the answers of
/// `wants` cached per (symbol, stream) so each stream name is asked about
/// at most once per call.
final class SyntheticOutput {
    private let wants: (String) -> Bool
    private let emit: (MarketMessage) -> Void
    private var cache: [Int8]

    init(wants: @escaping (String) -> Bool, emit: @escaping (MarketMessage) -> Void, streams: Int) {
        self.wants = wants
        self.emit = emit
        cache = Array(repeating: -1, count: streams)
    }

    @inline(__always)
    func wanted(_ s: SyntheticSymbol, _ kind: Int) -> Bool {
        let i = s.index * SyntheticStreams.perSymbol + kind
        let c = cache[i]
        if c >= 0 { return c == 1 }
        let name = s.names[kind]
        let yes = !name.isEmpty && wants(name)
        cache[i] = yes ? 1 : 0
        return yes
    }

    func wantsName(_ name: String) -> Bool { wants(name) }

    @inline(__always)
    func send(_ stream: String, _ render: @escaping (TimeUnit) -> [UInt8]) {
        emit(MarketMessage(stream: stream, render: render))
    }
}
