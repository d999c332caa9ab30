import CRingFeed
import Foundation
import RingFeed
import RingFeedSimulator
import Testing

/// One rendered message, in both time units.
struct RenderedMessage {
    let stream: String
    let ms: [UInt8]
    let us: [UInt8]
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(ms))) as? [String: Any] ?? [:] }
    var text: String { String(decoding: ms, as: UTF8.self) }
}

/// Advances `market` through `times`, rendering everything `wants` accepts.
func collect(_ market: MarketSource, _ times: [Int64], wants: @escaping (String) -> Bool = { _ in true },
             between: ((Int, Int64) -> Void)? = nil) -> [RenderedMessage] {
    var out: [RenderedMessage] = []
    for (i, t) in times.enumerated() {
        market.advance(to: t, wants: wants) { m in
            out.append(RenderedMessage(stream: m.stream, ms: m.render(.millisecond), us: m.render(.microsecond)))
        }
        between?(i, t)
    }
    return out
}

/// Keys of the top-level JSON object in the order written.
func keyOrder(_ bytes: [UInt8]) -> [String] {
    var keys: [String] = []
    var depth = 0
    var i = 0
    var inString = false
    var start = 0
    while i < bytes.count {
        let c = bytes[i]
        if inString {
            if c == UInt8(ascii: "\\") { i += 1 } else if c == UInt8(ascii: "\"") {
                inString = false
                if depth == 1, i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ":") {
                    keys.append(String(decoding: bytes[start..<i], as: UTF8.self))
                }
            }
        } else if c == UInt8(ascii: "\"") {
            inString = true
            start = i + 1
        } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
            depth += 1
        } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
            depth -= 1
        }
        i += 1
    }
    return keys
}

/// The raw bytes of each object in a top-level JSON array.
func arrayElements(_ bytes: [UInt8]) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var depth = 0, start = 0
    var inString = false
    var i = 0
    while i < bytes.count {
        let c = bytes[i]
        if inString {
            if c == UInt8(ascii: "\\") { i += 1 } else if c == UInt8(ascii: "\"") { inString = false }
        } else if c == UInt8(ascii: "\"") {
            inString = true
        } else if c == UInt8(ascii: "{") {
            if depth == 1 { start = i }
            depth += 1
        } else if c == UInt8(ascii: "[") {
            depth += 1
        } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
            depth -= 1
            if depth == 1 && c == UInt8(ascii: "}") { out.append(Array(bytes[start...i])) }
        }
        i += 1
    }
    return out
}

/// An exact decimal from a JSON string value, as (mantissa, scale).
func dec(_ any: Any?) -> (Int64, Int) {
    guard let s = any as? String, let p = Price(s) else { return (Int64.min, 0) }
    return (p.mantissa, Int(p.scale))
}

/// `value` at `scale` fractional digits (callers keep it exact and in range).
func at(_ d: (Int64, Int), _ scale: Int) -> Int64 {
    var m = d.0
    for _ in d.1..<max(d.1, scale) { m *= 10 }
    for _ in scale..<max(scale, d.1) { m /= 10 }
    return m
}

func int(_ any: Any?) -> Int64 { (any as? NSNumber)?.int64Value ?? Int64.min }

/// The tick and step of each symbol, read from the market's exchangeInfo.
func grids(_ market: MarketSource) -> [String: (tick: (Int64, Int), step: (Int64, Int))] {
    let info = try! JSONSerialization.jsonObject(with: Data(market.exchangeInfo(symbols: nil))) as! [String: Any]
    var out: [String: (tick: (Int64, Int), step: (Int64, Int))] = [:]
    for s in info["symbols"] as! [[String: Any]] {
        let filters = s["filters"] as! [[String: Any]]
        let price = filters.first { $0["filterType"] as? String == "PRICE_FILTER" }!
        let lot = filters.first { $0["filterType"] as? String == "LOT_SIZE" }!
        out[s["symbol"] as! String] = (normalized(dec(price["tickSize"])), normalized(dec(lot["stepSize"])))
    }
    return out
}

/// The same decimal without trailing fractional zeros ("0.01000000" -> (1, 2)).
func normalized(_ d: (Int64, Int)) -> (Int64, Int) {
    var (m, s) = d
    while s > 0 && m % 10 == 0 {
        m /= 10
        s -= 1
    }
    return (m, s)
}

func onGrid(_ v: (Int64, Int), _ grid: (Int64, Int)) -> Bool {
    let scale = max(v.1, grid.1)
    return at(v, scale) % at(grid, scale) == 0
}

/// A client-side book kept per Binance's documented rules for a local book
/// from a REST snapshot and a diff-depth stream.
struct ClientBook {
    let futures: Bool
    var bids: [String: String] = [:]
    var asks: [String: String] = [:]
    var lastUpdateId: Int64 = 0
    var previousU: Int64?
    var synced = false
    var gaps = 0

    init(futures: Bool) { self.futures = futures }

    mutating func load(snapshot: [UInt8]) {
        let o = try! JSONSerialization.jsonObject(with: Data(snapshot)) as! [String: Any]
        lastUpdateId = int(o["lastUpdateId"])
        bids = [:]
        asks = [:]
        for l in o["bids"] as! [[String]] { bids[l[0]] = l[1] }
        for l in o["asks"] as! [[String]] { asks[l[0]] = l[1] }
        previousU = nil
        synced = true
    }

    /// Applies one event; false when it reveals a gap (the client must
    /// reload a snapshot and replay its buffer from there).
    mutating func apply(_ e: [String: Any]) -> Bool {
        let U = int(e["U"]), u = int(e["u"])
        if let prev = previousU {
            let ok = futures ? int(e["pu"]) == prev : U == prev + 1
            if !ok {
                gaps += 1
                synced = false
                return false
            }
        } else {
            if futures {
                if u < lastUpdateId { return true }
                guard U <= lastUpdateId && u >= lastUpdateId else { synced = false; return false }
            } else {
                if u <= lastUpdateId { return true }
                guard U <= lastUpdateId + 1 && u >= lastUpdateId + 1 else { synced = false; return false }
            }
        }
        for l in e["b"] as! [[String]] { set(&bids, l) }
        for l in e["a"] as! [[String]] { set(&asks, l) }
        previousU = u
        return true
    }

    private func set(_ side: inout [String: String], _ l: [String]) {
        if Price(l[1])!.mantissa == 0 { side[l[0]] = nil } else { side[l[0]] = l[1] }
    }

    func matches(snapshot: [UInt8]) -> Bool {
        let o = try! JSONSerialization.jsonObject(with: Data(snapshot)) as! [String: Any]
        var b: [String: String] = [:], a: [String: String] = [:]
        for l in o["bids"] as! [[String]] { b[l[0]] = l[1] }
        for l in o["asks"] as! [[String]] { a[l[0]] = l[1] }
        return b == bids && a == asks
    }
}

@Suite("Synthetic market")
struct SyntheticMarketTests {
    static let t0: Int64 = 1_700_000_000_000_000 // 2023-11-14T22:13:20Z, µs
    static let symbols = ["BTCUSDT", "ETHUSDT", "NKNUSDT", "LRCBTC"]

    /// Uneven steps: 1 ms to 90 ms, 20 s in all.
    static func times(seconds: Int64 = 20, seed: UInt64 = 7) -> [Int64] {
        var t = t0
        var out = [t]
        var x = seed
        while t < t0 + seconds * 1_000_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            t += 1000 + Int64((x >> 33) % 89_000)
            out.append(t)
        }
        return out
    }

    @Test("one seed, one sequence of times: byte-identical output; another seed differs", arguments: [Venue.spot, .usdmFutures])
    func determinism(venue: Venue) {
        let times = Self.times(seconds: 5)
        let a = collect(SyntheticMarket(symbols: Self.symbols, seed: 42, venue: venue), times)
        let b = collect(SyntheticMarket(symbols: Self.symbols, seed: 42, venue: venue), times)
        let c = collect(SyntheticMarket(symbols: Self.symbols, seed: 43, venue: venue), times)
        #expect(a.count > 1000)
        #expect(a.count == b.count)
        #expect(zip(a, b).allSatisfy { $0.stream == $1.stream && $0.ms == $1.ms && $0.us == $1.us })
        #expect(a.count != c.count || !zip(a, c).allSatisfy { $0.ms == $1.ms })
        // How time is cut into advance calls does not matter either.
        let coarse = stride(from: Self.t0, through: times.last!, by: 250_000).map { $0 } + [times.last!]
        let d = collect(SyntheticMarket(symbols: Self.symbols, seed: 42, venue: venue), coarse)
        #expect(d.count == a.count)
        #expect(zip(a, d).allSatisfy { $0.stream == $1.stream && $0.ms == $1.ms })
        // What is rendered does not change the market: one stream alone is
        // that stream's part of everything.
        let some = { (s: String) in s.hasSuffix("@aggTrade") || s == "ethusdt@depth@100ms" || s == "!ticker@arr" }
        let e = collect(SyntheticMarket(symbols: Self.symbols, seed: 42, venue: venue), times, wants: some)
        let part = a.filter { some($0.stream) }
        #expect(e.count == part.count && e.count > 100)
        #expect(zip(part, e).allSatisfy { $0.stream == $1.stream && $0.ms == $1.ms })
    }

    /// Expected key order per stream kind, from Binance's documentation and
    /// the recorded sessions.
    static func expectedKeys(_ stream: String, _ venue: Venue) -> [String]? {
        let spot = venue == .spot
        let kind = stream.split(separator: "@", maxSplits: 1).last.map(String.init) ?? ""
        switch kind {
        case "trade": return ["e", "E", "s", "t", "p", "q", "T", "m", "M"]
        case "aggTrade": return spot ? ["e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"]
                                     : ["e", "E", "a", "s", "p", "q", "f", "l", "T", "m"]
        case "bookTicker": return spot ? ["u", "s", "b", "B", "a", "A"] : ["e", "u", "s", "b", "B", "a", "A", "T", "E"]
        case "miniTicker", "miniTicker@arr": return ["e", "E", "s", "c", "o", "h", "l", "v", "q"]
        case "ticker", "ticker@arr":
            return spot ? ["e", "E", "s", "p", "P", "w", "x", "c", "Q", "b", "B", "a", "A", "o", "h", "l", "v", "q", "O", "C", "F", "L", "n"]
                        : ["e", "E", "s", "p", "P", "w", "c", "Q", "o", "h", "l", "v", "q", "O", "C", "F", "L", "n"]
        case "avgPrice": return ["e", "E", "s", "i", "w", "T"]
        default: break
        }
        if kind.hasPrefix("ticker_") {
            return ["e", "E", "s", "p", "P", "o", "h", "l", "c", "w", "v", "q", "O", "C", "F", "L", "n"]
        }
        if kind.hasPrefix("kline_") { return ["e", "E", "s", "k"] }
        if kind.hasPrefix("depth") {
            let diff = kind == "depth" || kind.hasPrefix("depth@")
            if diff || !spot {
                return spot ? ["e", "E", "s", "U", "u", "b", "a"] : ["e", "E", "T", "s", "U", "u", "pu", "b", "a"]
            }
            return ["lastUpdateId", "bids", "asks"]
        }
        return nil
    }

    static func everyStream(_ m: SyntheticMarket) -> [String] {
        var names: [String] = []
        for s in m.symbols.map({ $0.lowercased() }) {
            names += ["trade", "aggTrade", "bookTicker", "miniTicker", "ticker", "ticker_1h", "ticker_4h", "ticker_1d", "avgPrice",
                      "depth", "depth@100ms", "depth@500ms", "depth5", "depth10@100ms", "depth20@500ms"].map { "\(s)@\($0)" }
            names += ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"].map { "\(s)@kline_\($0)" }
        }
        return names + ["!miniTicker@arr", "!ticker@arr", "!ticker_1h@arr", "!ticker_4h@arr", "!ticker_1d@arr"]
    }

    @Test("every message parses (Foundation and rf_bn_scan) with Binance's fields in Binance's order", arguments: [Venue.spot, .usdmFutures])
    func shapes(venue: Venue) throws {
        let market = SyntheticMarket(symbols: Self.symbols, seed: 1, venue: venue)
        let served = Self.everyStream(market).filter { market.serves(stream: $0) }
        // What each venue serves.
        #expect(market.serves(stream: "btcusdt@trade") == (venue == .spot))
        #expect(market.serves(stream: "btcusdt@avgPrice") == (venue == .spot))
        #expect(market.serves(stream: "btcusdt@ticker_4h") == (venue == .spot))
        #expect(market.serves(stream: "btcusdt@depth@500ms") == (venue == .usdmFutures))
        #expect(market.serves(stream: "btcusdt@kline_1M") && market.serves(stream: "lrcbtc@depth20@100ms"))
        #expect(!market.serves(stream: "xyzusdt@trade") && !market.serves(stream: "btcusdt@kline_2m"))
        let msgs = collect(market, Self.times(seconds: 3), wants: { served.contains($0) })
        var kinds = Set<String>()
        var levels = [rf_bn_level](repeating: rf_bn_level(), count: 8192)
        for m in msgs {
            let kind = m.stream.hasPrefix("!") ? m.stream : String(m.stream.split(separator: "@", maxSplits: 1)[1])
            kinds.insert(kind.hasPrefix("kline_") ? "kline" : kind)
            let any = try JSONSerialization.jsonObject(with: Data(m.ms))
            let objects: [([String: Any], [UInt8])]
            if m.stream.hasPrefix("!") {
                let array = try #require(any as? [[String: Any]], "\(m.stream)")
                #expect(array.count == Self.symbols.count)
                let raw = arrayElements(m.ms)
                #expect(raw.count == array.count)
                objects = Array(zip(array, raw))
                #expect(m.ms.first == UInt8(ascii: "["))
                let inner = String(m.stream.dropFirst().prefix { $0 != "@" })
                for (o, bytes) in objects {
                    #expect(keyOrder(bytes) == Self.expectedKeys("x@" + inner, venue)!, "\(m.stream)")
                    #expect(["24hrMiniTicker", "24hrTicker", "1hTicker", "4hTicker", "1dTicker"].contains(o["e"] as! String))
                }
            } else {
                objects = [(try #require(any as? [String: Any]), m.ms)]
                let expected = try #require(Self.expectedKeys(m.stream, venue), "\(m.stream)")
                #expect(keyOrder(m.ms) == expected, "\(m.text)")
            }
            if kind.hasPrefix("kline_") {
                let k = try #require(objects[0].0["k"] as? [String: Any])
                #expect(Set(k.keys) == ["t", "T", "s", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q", "B"])
                #expect(k["i"] as? String == String(kind.dropFirst(6)))
            }
            // The C scanner reads the same values.
            var ev = rf_bn_event()
            let rc = m.ms.withUnsafeBufferPointer { b in
                levels.withUnsafeMutableBufferPointer { rf_bn_scan(b.baseAddress, b.count, $0.baseAddress, $0.count, &ev) }
            }
            let expectedType: Int32? = {
                if m.stream.hasPrefix("!") { return Int32(RF_BN_ARRAY.rawValue) }
                if kind == "trade" { return Int32(RF_BN_TRADE.rawValue) }
                if kind == "aggTrade" { return Int32(RF_BN_AGG_TRADE.rawValue) }
                if kind == "bookTicker" { return Int32(RF_BN_BOOK_TICKER.rawValue) }
                if kind.hasPrefix("kline_") { return Int32(RF_BN_KLINE.rawValue) }
                if kind == "miniTicker" { return Int32(RF_BN_MINI_TICKER.rawValue) }
                if kind == "ticker" { return Int32(RF_BN_TICKER.rawValue) }
                if kind.hasPrefix("ticker_") { return Int32(RF_BN_ROLLING_TICKER.rawValue) }
                if kind == "avgPrice" { return Int32(RF_BN_AVG_PRICE.rawValue) }
                if kind == "depth" || kind.hasPrefix("depth@") { return Int32(RF_BN_DEPTH_UPDATE.rawValue) }
                if kind.hasPrefix("depth") { return venue == .spot ? Int32(RF_BN_PARTIAL_DEPTH.rawValue) : Int32(RF_BN_DEPTH_UPDATE.rawValue) }
                return nil
            }()
            #expect(rc == 0, "rf_bn_scan \(rc) on \(m.text)")
            #expect(Int32(ev.type) == expectedType, "\(m.text)")
            let o = objects[0].0
            if let E = o["E"], !m.stream.hasPrefix("!") {
                #expect(ev.event_time == int(E))
            }
            switch Int32(ev.type) {
            case Int32(RF_BN_AGG_TRADE.rawValue), Int32(RF_BN_TRADE.rawValue):
                #expect(ev.u.trade.price.mantissa == dec(o["p"]).0 && Int(ev.u.trade.price.scale) == dec(o["p"]).1)
                #expect(ev.u.trade.quantity.mantissa == dec(o["q"]).0)
                #expect(ev.u.trade.trade_time == int(o["T"]))
            case Int32(RF_BN_DEPTH_UPDATE.rawValue):
                #expect(ev.u.depth.final_update_id == int(o["u"]))
                #expect(ev.u.depth.bid_count == (o["b"] as! [Any]).count && ev.u.depth.ask_count == (o["a"] as! [Any]).count)
            case Int32(RF_BN_PARTIAL_DEPTH.rawValue):
                #expect(ev.u.depth.final_update_id == int(o["lastUpdateId"]))
                #expect(ev.u.depth.bid_count == (o["bids"] as! [Any]).count)
            case Int32(RF_BN_KLINE.rawValue):
                let k = o["k"] as! [String: Any]
                #expect(ev.u.kline.trades == int(k["n"]) && ev.u.kline.open_time == int(k["t"]))
                #expect(ev.u.kline.close.mantissa == dec(k["c"]).0)
            case Int32(RF_BN_TICKER.rawValue), Int32(RF_BN_MINI_TICKER.rawValue), Int32(RF_BN_ROLLING_TICKER.rawValue):
                #expect(ev.u.ticker.last_price.mantissa == dec(o["c"]).0)
                #expect(ev.u.ticker.volume.mantissa == dec(o["v"]).0)
            case Int32(RF_BN_ARRAY.rawValue):
                #expect(ev.u.array.count == Self.symbols.count)
                // Each element scans as the ticker it is, with the values Foundation reads.
                var pos = 0
                var item = rf_bn_event()
                var n = 0
                while true {
                    let r = m.ms.withUnsafeBufferPointer { _ in
                        levels.withUnsafeMutableBufferPointer { rf_bn_array_next(&ev, &pos, $0.baseAddress, $0.count, &item) }
                    }
                    if r == 0 { break }
                    #expect(r == 1, "element \(n) of \(m.stream)")
                    guard r == 1, n < objects.count else { break }
                    let o = objects[n].0
                    #expect(Int32(item.type) == (o["e"] as? String == "24hrMiniTicker" ? Int32(RF_BN_MINI_TICKER.rawValue)
                        : o["e"] as? String == "24hrTicker" ? Int32(RF_BN_TICKER.rawValue) : Int32(RF_BN_ROLLING_TICKER.rawValue)))
                    #expect(item.event_time == int(o["E"]) && item.u.ticker.last_price.mantissa == dec(o["c"]).0)
                    n += 1
                }
                #expect(n == Self.symbols.count)
            default: break
            }
        }
        let expectedKinds: Set<String> = venue == .spot
            ? ["trade", "aggTrade", "bookTicker", "miniTicker", "ticker", "ticker_1h", "ticker_4h", "ticker_1d", "avgPrice",
               "depth", "depth@100ms", "depth5", "depth10@100ms", "kline",
               "!miniTicker@arr", "!ticker@arr", "!ticker_1h@arr", "!ticker_4h@arr", "!ticker_1d@arr"]
            : ["aggTrade", "bookTicker", "miniTicker", "ticker", "depth", "depth@100ms", "depth@500ms", "depth5",
               "depth10@100ms", "depth20@500ms", "kline", "!miniTicker@arr", "!ticker@arr"]
        #expect(kinds == expectedKinds)
    }

    @Test("prices on the tick grid, quantities on the lot grid, decimals written Binance's way", arguments: [Venue.spot, .usdmFutures])
    func grid(venue: Venue) throws {
        let market = SyntheticMarket(symbols: Self.symbols + ["DOGEUSDT", "PEPEUSDT"], seed: 3, venue: venue)
        let g = grids(market)
        #expect(g["BTCUSDT"]!.tick == (venue == .spot ? (1, 2) : (1, 1)))
        #expect(g["BTCUSDT"]!.step == (venue == .spot ? (1, 5) : (1, 3)))
        #expect(g["ETHUSDT"]!.tick == (1, 2) && g["ETHUSDT"]!.step == (venue == .spot ? (1, 4) : (1, 3)))
        let msgs = collect(market, Self.times(seconds: 4), wants: { $0.hasSuffix("@aggTrade") || $0.hasSuffix("@depth@100ms") || $0.hasSuffix("@bookTicker") })
        var checked = 0
        for m in msgs {
            let o = m.json
            let symbol = o["s"] as! String
            let (tick, step) = g[symbol]!
            func check(_ p: Any?, _ q: Any?) {
                let pd = dec(p), qd = dec(q)
                #expect(onGrid(pd, tick), "\(m.text)")
                #expect(qd.0 == 0 || onGrid(qd, step), "\(m.text)")
                // Spot writes 8 fractional digits; futures the symbol's precision.
                #expect(pd.1 == (venue == .spot ? 8 : tick.1) && qd.1 == (venue == .spot ? 8 : step.1), "\(m.text)")
                checked += 1
            }
            if let p = o["p"] { check(p, o["q"]) }
            if let b = o["b"] as? [[String]] { for l in b + (o["a"] as! [[String]]) { check(l[0], l[1]) } }
            if let b = o["b"] as? String { check(b, o["B"]); check(o["a"], o["A"]) }
        }
        #expect(checked > 1000)
    }

    @Test("trades and aggTrades: consecutive ids, f..l covering the trades, one taker side", arguments: [true])
    func tradeIds(_: Bool) throws {
        let market = SyntheticMarket(symbols: ["BTCUSDT", "ETHUSDT"], seed: 9)
        let msgs = collect(market, Self.times(seconds: 10), wants: { $0.hasSuffix("@trade") || $0.hasSuffix("@aggTrade") })
        var trades: [Int64: [String: Any]] = [:]
        var lastTrade: [String: Int64] = [:], lastAgg: [String: Int64] = [:]
        var aggs: [[String: Any]] = []
        for m in msgs {
            let o = m.json
            let s = o["s"] as! String
            if o["e"] as? String == "trade" {
                let id = int(o["t"])
                if let prev = lastTrade[s] { #expect(id == prev + 1) }
                lastTrade[s] = id
                trades[id * 4 + (s == "BTCUSDT" ? 0 : 1)] = o
            } else {
                let id = int(o["a"])
                if let prev = lastAgg[s] { #expect(id == prev + 1) }
                lastAgg[s] = id
                aggs.append(o)
            }
        }
        #expect(aggs.count > 100)
        var multi = 0
        for a in aggs {
            let key = { (id: Int64) in id * 4 + (a["s"] as! String == "BTCUSDT" ? 0 : 1) }
            let f = int(a["f"]), l = int(a["l"])
            #expect(f <= l)
            if l > f { multi += 1 }
            var sum: Int64 = 0
            for id in f...l {
                let t = try #require(trades[key(id)])
                #expect(t["p"] as? String == a["p"] as? String)
                #expect(t["m"] as? Bool == a["m"] as? Bool)
                #expect(int(t["T"]) == int(a["T"]))
                sum += dec(t["q"]).0
            }
            #expect(sum == dec(a["q"]).0)
        }
        #expect(multi > 10, "some aggTrades aggregate several trades")
        // A buyer-is-maker taker order walks bids downward; a taker buy walks asks upward.
        var byTime: [Int64: [[String: Any]]] = [:]
        for a in aggs where a["s"] as? String == "BTCUSDT" { byTime[int(a["T"]), default: []].append(a) }
        for (_, group) in byTime where group.count > 1 {
            let prices = group.map { dec($0["p"]).0 }
            let sellerTaker = group[0]["m"] as! Bool
            #expect(prices == (sellerTaker ? prices.sorted(by: >) : prices.sorted()))
        }
    }

    /// Runs a client per Binance's rules against `stream`, loading a fresh
    /// snapshot at the start, after every gap, and checking against the
    /// market's snapshot at checkpoints.
    /// Partial depth of the same cadence (`<s>@depth10...`) is checked
    /// against the client's top levels whenever both are at the same id.
    func followBook(venue: Venue, stream: String, skipAt: Set<Int>) throws -> (checks: Int, gaps: Int, partials: Int) {
        let market = SyntheticMarket(symbols: ["BTCUSDT", "NKNUSDT"], seed: 11, venue: venue)
        let symbol = String(stream.prefix { $0 != "@" }).uppercased()
        let partial = stream.replacingOccurrences(of: "@depth", with: "@depth10")
        var client = ClientBook(futures: venue == .usdmFutures)
        var buffer: [(partial: Bool, event: [String: Any])] = []
        var checks = 0, partials = 0
        var needSnapshot = true
        // Uneven steps, plus every whole second: right after a boundary the
        // client has every change (a market event exactly on it is unlikely).
        let seconds = (1...30).map { Self.t0 + Int64($0) * 1_000_000 }
        let times = Array(Set(Self.times(seconds: 30, seed: 5) + seconds)).sorted()
        for (i, t) in times.enumerated() {
            market.advance(to: t, wants: { $0 == stream || $0 == partial }) { m in
                buffer.append((m.stream == partial, try! JSONSerialization.jsonObject(with: Data(m.render(.millisecond))) as! [String: Any]))
            }
            if skipAt.contains(i) { market.skipUpdateIds(symbol: symbol, count: 5 + i % 7) }
            if needSnapshot {
                client.load(snapshot: market.depthSnapshot(symbol: symbol, limit: 5000)!)
                needSnapshot = false
                // Events buffered before the snapshot: the rules drop the stale ones.
                buffer = buffer.filter { $0.partial || int($0.event["u"]) >= client.lastUpdateId }
            }
            for (isPartial, e) in buffer {
                if isPartial {
                    let id = venue == .spot ? int(e["lastUpdateId"]) : int(e["u"])
                    if !needSnapshot && client.previousU == id {
                        let bids = client.bids.sorted { Price($0.key)! > Price($1.key)! }.prefix(10).map { [$0.key, $0.value] }
                        let asks = client.asks.sorted { Price($0.key)! < Price($1.key)! }.prefix(10).map { [$0.key, $0.value] }
                        #expect(e[venue == .spot ? "bids" : "b"] as? [[String]] == bids)
                        #expect(e[venue == .spot ? "asks" : "a"] as? [[String]] == asks)
                        partials += 1
                    }
                    continue
                }
                if !client.apply(e) {
                    needSnapshot = true
                    break
                }
            }
            buffer.removeAll()
            // Right after an event the client's book is the market's book.
            if !needSnapshot && client.previousU != nil && seconds.contains(t) {
                let probe = market.depthSnapshot(symbol: symbol, limit: 5000)!
                let o = try JSONSerialization.jsonObject(with: Data(probe)) as! [String: Any]
                if int(o["lastUpdateId"]) == client.previousU! {
                    #expect(client.matches(snapshot: probe))
                    checks += 1
                }
            }
        }
        return (checks, client.gaps, partials)
    }

    @Test("snapshot + diff events per Binance's rules give exactly the market's book; skipUpdateIds makes a visible gap",
          arguments: [(Venue.spot, "btcusdt@depth@100ms"), (.spot, "nknusdt@depth"), (.usdmFutures, "btcusdt@depth@100ms"),
                      (.usdmFutures, "btcusdt@depth"), (.usdmFutures, "nknusdt@depth@500ms")])
    func bookSync(venue: Venue, stream: String) throws {
        let clean = try followBook(venue: venue, stream: stream, skipAt: [])
        #expect(clean.gaps == 0)
        #expect(clean.checks > 3)
        #expect(clean.partials > 10)
        let gapped = try followBook(venue: venue, stream: stream, skipAt: [40, 160])
        #expect(gapped.gaps == 2)
        #expect(gapped.checks > 3)
    }

    @Test("a skipped range shows as U != previous u + 1 (spot) or pu != previous u (futures)", arguments: [Venue.spot, .usdmFutures])
    func gapVisible(venue: Venue) throws {
        let market = SyntheticMarket(symbols: ["ETHUSDT"], seed: 2, venue: venue)
        var events: [[String: Any]] = []
        let wants = { (s: String) in s == "ethusdt@depth@100ms" }
        let sink = { (m: MarketMessage) in events.append(try! JSONSerialization.jsonObject(with: Data(m.render(.millisecond))) as! [String: Any]) }
        market.advance(to: Self.t0, wants: wants, emit: sink)
        market.advance(to: Self.t0 + 2_000_000, wants: wants, emit: sink)
        let before = events.count
        market.skipUpdateIds(symbol: "ETHUSDT", count: 1000)
        market.advance(to: Self.t0 + 4_000_000, wants: wants, emit: sink)
        #expect(before > 5 && events.count > before)
        for i in 1..<events.count {
            let prev = int(events[i - 1]["u"])
            let continuous = venue == .spot ? int(events[i]["U"]) == prev + 1 : int(events[i]["pu"]) == prev
            #expect(continuous == (i != before), "event \(i)")
            if i == before { #expect(int(events[i]["U"]) > prev + 1000) }
        }
    }

    @Test("klines agree with the trades they were derived from", arguments: [Venue.spot, .usdmFutures])
    func klines(venue: Venue) throws {
        let config = SyntheticMarket.Configuration(eventsPerSecond: 60)
        let market = SyntheticMarket(symbols: ["BTCUSDT", "LRCBTC"], seed: 21, venue: venue, configuration: config)
        let g = grids(market)
        let intervals = ["1s", "1m", "1w", "1M"]
        let msgs = collect(market, Self.times(seconds: 65),
                           wants: { s in s.hasSuffix("@aggTrade") || s.hasSuffix("@trade") || intervals.contains { s.hasSuffix("@kline_" + $0) } })
        // Every trade: spot from @trade; futures from @aggTrade (one price, side
        // and time per aggregate; only klines ending on an aggregate's last
        // trade can be recomputed from it).
        typealias Fill = (p: (Int64, Int), q: (Int64, Int), t: Int64, buyerMaker: Bool, first: Int64, last: Int64)
        var fills: [String: [Fill]] = [:]
        var lastIds: [String: Set<Int64>] = [:]
        for m in msgs {
            let o = m.json
            let e = o["e"] as! String
            let s = o["s"] as! String
            if e == "trade" {
                fills[s, default: []].append((dec(o["p"]), dec(o["q"]), int(o["T"]), o["m"] as! Bool, int(o["t"]), int(o["t"])))
                lastIds[s, default: []].insert(int(o["t"]))
            } else if e == "aggTrade" && venue == .usdmFutures {
                fills[s, default: []].append((dec(o["p"]), dec(o["q"]), int(o["T"]), o["m"] as! Bool, int(o["f"]), int(o["l"])))
                lastIds[s, default: []].insert(int(o["l"]))
            }
        }
        var closed = 0, checked = 0, emptyClosed = 0
        // Every closing kline and a sample of the others (checking all is
        // quadratic in debug builds).
        for (n, m) in msgs.enumerated() where m.stream.contains("@kline_") {
            let o = m.json
            let s = o["s"] as! String
            let k = o["k"] as! [String: Any]
            let open = int(k["t"]), close = int(k["T"])
            if k["x"] as! Bool { closed += 1 } else if n % 7 != 0 { continue }
            let L = int(k["L"])
            if L == -1 {
                #expect(int(k["f"]) == -1 && int(k["n"]) == 0 && k["x"] as! Bool)
                #expect(k["o"] as? String == k["c"] as? String && dec(k["v"]).0 == 0)
                emptyClosed += 1
                continue
            }
            guard lastIds[s]!.contains(L) else { continue }
            let inside = fills[s]!.filter { $0.t >= open && $0.t <= close && $0.last <= L }
            #expect(int(k["n"]) == inside.reduce(0) { $0 + $1.last - $1.first + 1 }, "\(m.text)")
            guard let first = inside.first, let last = inside.last else {
                Issue.record("no trade behind \(m.text)")
                continue
            }
            let scale = 8
            let tick = g[s]!.tick
            let qs = venue == .spot ? 8 : g[s]!.step.1
            #expect(int(k["f"]) == first.first && L == last.last)
            #expect(at(dec(k["o"]), scale) == at(first.p, scale) && at(dec(k["c"]), scale) == at(last.p, scale))
            #expect(at(dec(k["h"]), scale) == inside.map { at($0.p, scale) }.max())
            #expect(at(dec(k["l"]), scale) == inside.map { at($0.p, scale) }.min())
            #expect(at(dec(k["v"]), qs) == inside.reduce(0) { $0 + at($1.q, qs) })
            #expect(at(dec(k["V"]), qs) == inside.filter { !$0.buyerMaker }.reduce(0) { $0 + at($1.q, qs) })
            // Quote volume: Σ price·qty, exact at the scale written.
            let qScale = dec(k["q"]).1
            let quote = inside.reduce(Int64(0)) { $0 + at($1.p, tick.1) * at($1.q, qScale - tick.1) }
            #expect(dec(k["q"]).0 == quote, "\(m.text)")
            let buyQuote = inside.filter { !$0.buyerMaker }.reduce(Int64(0)) { $0 + at($1.p, tick.1) * at($1.q, qScale - tick.1) }
            #expect(dec(k["Q"]).0 == buyQuote)
            // Open and close times on the interval grid.
            let i = k["i"] as! String
            if i == "1m" { #expect(open % 60_000 == 0 && close == open + 59_999) }
            if i == "1w" { #expect((open / 86_400_000 + 4) % 7 == 1, "weeks open on Monday") }
            if i == "1M" { #expect(close == 1_701_388_799_999, "November 2023 ends 2023-11-30T23:59:59.999Z") }
            checked += 1
        }
        #expect(checked > 300)
        // 65 s from t0 (hh:mm:20): 65 closed 1s klines and one closed 1m kline per symbol.
        #expect(closed == 2 * (65 + 1))
        #expect(emptyClosed < closed)
    }

    @Test("tickers agree with the trades in their window", arguments: [Venue.spot, .usdmFutures])
    func tickers(venue: Venue) throws {
        let market = SyntheticMarket(symbols: ["BTCUSDT", "NKNUSDT"], seed: 5, venue: venue)
        let g = grids(market)
        let msgs = collect(market, Self.times(seconds: 90),
                           wants: { $0.hasSuffix("@aggTrade") || ($0.contains("icker") && !$0.hasSuffix("@bookTicker")) || $0.hasSuffix("@avgPrice") })
        var trades: [String: [(p: (Int64, Int), q: (Int64, Int), t: Int64, first: Int64, last: Int64)]] = [:]
        var checked = 0
        for m in msgs {
            let any = try JSONSerialization.jsonObject(with: Data(m.ms))
            let objects = (any as? [[String: Any]]) ?? [any as! [String: Any]]
            for o in objects {
                let s = o["s"] as! String
                let e = o["e"] as! String
                if e == "aggTrade" {
                    trades[s, default: []].append((dec(o["p"]), dec(o["q"]), int(o["T"]), int(o["f"]), int(o["l"])))
                    continue
                }
                let E = int(o["E"])
                let window: Int64 = ["1hTicker": 3_600_000, "4hTicker": 14_400_000, "avgPrice": 300_000][e] ?? 86_400_000
                let inside = (trades[s] ?? []).filter { $0.t >= E - window && $0.t < E }
                let tick = g[s]!.tick
                let ps = venue == .spot ? 8 : tick.1
                let qs = venue == .spot ? 8 : g[s]!.step.1
                let volume = inside.reduce(Int64(0)) { $0 + at($1.q, qs) }
                let step = g[s]!.step
                let quoteUnits = inside.reduce(Int64(0)) { $0 + at($1.p, tick.1) * at($1.q, step.1) } // at scale tick.1 + step.1
                if e == "avgPrice" {
                    #expect(o["i"] as? String == "5m")
                    if volume > 0 {
                        // w = Σpq / Σq, rounded half up at 8 digits.
                        let exact = Double(quoteUnits) / pow(10, Double(tick.1 + step.1)) / (Double(volume) / pow(10, Double(qs)))
                        let w = Double(dec(o["w"]).0) / 1e8
                        #expect(abs(w - exact) <= 0.5000001e-8 + exact * 1e-15, "\(o)")
                    }
                    checked += 1
                    continue
                }
                #expect(at(dec(o["v"]), qs) == volume, "\(e) \(o)")
                guard let first = inside.first, let last = inside.last else { continue }
                #expect(at(dec(o["o"]), ps) == at(first.p, ps) && at(dec(o["c"]), ps) == at(last.p, ps))
                #expect(at(dec(o["h"]), ps) == inside.map { at($0.p, ps) }.max())
                #expect(at(dec(o["l"]), ps) == inside.map { at($0.p, ps) }.min())
                #expect(at(dec(o["q"]), tick.1 + step.1) == quoteUnits)
                if e != "24hrMiniTicker" {
                    #expect(int(o["F"]) == first.first && int(o["L"]) == last.last)
                    #expect(int(o["n"]) == inside.reduce(0) { $0 + $1.last - $1.first + 1 })
                    #expect(int(o["O"]) == E - window && int(o["C"]) == E - 1)
                    #expect(at(dec(o["p"]), ps) == at(last.p, ps) - at(first.p, ps))
                    let percent = Double(at(last.p, ps) - at(first.p, ps)) * 100 / Double(at(first.p, ps))
                    #expect(abs(Double(dec(o["P"]).0) / 1000 - percent) <= 0.0005000001)
                    let w = Double(dec(o["w"]).0) / pow(10, Double(dec(o["w"]).1))
                    let exact = Double(quoteUnits) / pow(10, Double(tick.1 + step.1)) / (Double(volume) / pow(10, Double(qs)))
                    #expect(abs(w - exact) <= pow(10, -Double(dec(o["w"]).1)) * 0.5000001 + exact * 1e-15)
                }
                checked += 1
            }
        }
        #expect(checked > 300)
    }

    @Test("times in µs are the ms times with their µs digits", arguments: [Venue.spot, .usdmFutures])
    func microseconds(venue: Venue) throws {
        let market = SyntheticMarket(symbols: ["BTCUSDT"], seed: 8, venue: venue)
        let msgs = collect(market, Self.times(seconds: 3))
        var checked = 0
        for m in msgs where !m.stream.hasPrefix("!") {
            let ms = m.json
            let us = try JSONSerialization.jsonObject(with: Data(m.us)) as! [String: Any]
            for key in ["E", "T"] where ms[key] != nil {
                #expect(int(us[key]) / 1000 == int(ms[key]) && int(us[key]) > int(ms[key]) * 999)
                checked += 1
            }
            if let k = ms["k"] as? [String: Any], let ku = us["k"] as? [String: Any] {
                #expect(int(ku["t"]) == int(k["t"]) * 1000 && int(ku["T"]) == int(k["T"]) * 1000 + 999)
            }
        }
        #expect(checked > 100)
    }

    @Test("exchangeInfo lists the symbols with their grids, in the venue's shape", arguments: [Venue.spot, .usdmFutures])
    func exchangeInfo(venue: Venue) throws {
        let market = SyntheticMarket(symbols: ["btcusdt", "ETHUSDT", "LRCBTC"], seed: 1, venue: venue)
        #expect(market.symbols == ["BTCUSDT", "ETHUSDT", "LRCBTC"])
        let all = try JSONSerialization.jsonObject(with: Data(market.exchangeInfo(symbols: nil))) as! [String: Any]
        #expect(all["timezone"] as? String == "UTC")
        #expect((all["rateLimits"] as? [[String: Any]])?.isEmpty == false)
        let symbols = all["symbols"] as! [[String: Any]]
        #expect(symbols.map { $0["symbol"] as! String } == ["BTCUSDT", "ETHUSDT", "LRCBTC"])
        #expect(symbols[2]["baseAsset"] as? String == "LRC" && symbols[2]["quoteAsset"] as? String == "BTC")
        if venue == .usdmFutures {
            #expect(all["futuresType"] as? String == "U_MARGINED")
            #expect(symbols[0]["pricePrecision"] as? Int == 1 && symbols[0]["contractType"] as? String == "PERPETUAL")
        } else {
            #expect(symbols[0]["baseAssetPrecision"] as? Int == 8)
        }
        let one = try JSONSerialization.jsonObject(with: Data(market.exchangeInfo(symbols: ["ETHUSDT"]))) as! [String: Any]
        #expect((one["symbols"] as! [[String: Any]]).map { $0["symbol"] as! String } == ["ETHUSDT"])
        #expect(market.depthSnapshot(symbol: "NOPE", limit: 10) == nil)
        let snap = try JSONSerialization.jsonObject(with: Data(market.depthSnapshot(symbol: "ETHUSDT", limit: 10)!)) as! [String: Any]
        #expect((snap["bids"] as! [Any]).count == 10 && (snap["asks"] as! [Any]).count == 10)
        #expect(keyOrder(market.depthSnapshot(symbol: "ETHUSDT", limit: 5)!)
            == (venue == .spot ? ["lastUpdateId", "bids", "asks"] : ["lastUpdateId", "E", "T", "bids", "asks"]))
        // Hundreds of levels, best first, uncrossed.
        let full = try JSONSerialization.jsonObject(with: Data(market.depthSnapshot(symbol: "BTCUSDT", limit: 5000)!)) as! [String: Any]
        let bids = (full["bids"] as! [[String]]).map { dec($0[0]).0 }
        let asks = (full["asks"] as! [[String]]).map { dec($0[0]).0 }
        #expect(bids.count >= 300 && asks.count >= 300)
        #expect(bids == bids.sorted(by: >) && asks == asks.sorted() && bids[0] < asks[0])
    }
}
