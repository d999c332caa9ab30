/// The per-symbol streams a synthetic market serves, numbered so a
/// connection's interest can be cached per (symbol, stream) in a flat array
/// instead of asking the server about a stream name on every message.
enum SyntheticStreams {
    static let trade = 0
    static let aggTrade = 1
    static let bookTicker = 2
    static let miniTicker = 3
    static let ticker = 4
    /// ticker_1h, ticker_4h, ticker_1d (spot only): `rollingTicker + window`.
    static let rollingTicker = 5
    static let avgPrice = 8
    /// kline_<interval>: `kline + SyntheticKlineInterval index`.
    static let kline = 9
    /// Diff depth per cadence: `diffDepth + cadence index`.
    static let diffDepth = kline + SyntheticKlineInterval.all.count
    /// Partial depth: `partialDepth + cadence * 3 + level-count index`.
    static let partialDepth = diffDepth + 3
    static let perSymbol = partialDepth + 9

    /// Partial depth sizes Binance offers.
    static let partialLevels = [5, 10, 20]

    /// The rolling ticker windows (spot): name and length in seconds.
    static let rollingWindows: [(name: String, seconds: Int64)] = [("1h", 3600), ("4h", 14400), ("1d", 86400)]

    /// Diff/partial depth cadences: the stream-name suffix and period in ms.
    /// Spot: 1000 ms by default and @100ms; USD-M futures: 250 ms by default,
    /// @500ms and @100ms, as Binance serves them.
    static func cadences(_ venue: Venue) -> [(suffix: String, millis: Int64)] {
        venue == .spot ? [("", 1000), ("@100ms", 100)] : [("", 250), ("@500ms", 500), ("@100ms", 100)]
    }

    /// The all-market array streams: "!miniTicker@arr", "!ticker@arr" and
    /// (spot) "!ticker_<w>@arr".
    static func arrayNames(_ venue: Venue) -> [String] {
        var names = ["!miniTicker@arr", "!ticker@arr"]
        if venue == .spot { names += rollingWindows.map { "!ticker_\($0.name)@arr" } }
        return names
    }

    /// Stream names of one symbol by number; "" where the venue has none.
    static func names(lower s: String, venue: Venue) -> [String] {
        var n = [String](repeating: "", count: perSymbol)
        if venue == .spot { n[trade] = s + "@trade" }
        n[aggTrade] = s + "@aggTrade"
        n[bookTicker] = s + "@bookTicker"
        n[miniTicker] = s + "@miniTicker"
        n[ticker] = s + "@ticker"
        if venue == .spot {
            for (i, w) in rollingWindows.enumerated() { n[rollingTicker + i] = s + "@ticker_" + w.name }
            n[avgPrice] = s + "@avgPrice"
        }
        for (i, k) in SyntheticKlineInterval.all.enumerated() { n[kline + i] = s + "@kline_" + k.name }
        for (c, cad) in cadences(venue).enumerated() {
            n[diffDepth + c] = s + "@depth" + cad.suffix
            for (l, levels) in partialLevels.enumerated() {
                n[partialDepth + c * 3 + l] = s + "@depth" + String(levels) + cad.suffix
            }
        }
        return n
    }
}
