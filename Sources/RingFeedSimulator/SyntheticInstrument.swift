/// One simulated symbol's static description: its grid (tick and lot
/// sizes as decimal mantissa + scale), its assets, a starting price and the
/// precomputed bytes rendering needs (symbol text, stream names).
///
/// Immutable once built: message render closures capture it and may run
/// later, on any connection.
final class SyntheticInstrument: Sendable {
    let symbol: String          // "BTCUSDT"
    let symbolBytes: [UInt8]
    let lower: String           // "btcusdt"
    let baseAsset: String
    let quoteAsset: String
    let venue: Venue
    /// tick = tickMantissa · 10^-tickScale; prices are kept as Int64 ticks.
    let tickMantissa: Int64
    let tickScale: Int
    /// lot (step) = lotMantissa · 10^-lotScale; quantities are Int64 lots.
    let lotMantissa: Int64
    let lotScale: Int
    /// Starting mid price in ticks.
    let startTicks: Int64
    /// Fractional digits written for prices and quantities: spot always 8,
    /// futures the symbol's precision.
    let priceDigits: Int
    let quantityDigits: Int
    /// Digits of a quote amount (price · quantity): the exact scale for
    /// futures, 8 for spot.
    let quoteDigits: Int

    init(symbol: String, venue: Venue) {
        self.symbol = symbol
        self.symbolBytes = Array(symbol.utf8)
        self.lower = symbol.lowercased()
        self.venue = venue
        let (base, quote) = SyntheticInstrument.splitAssets(symbol)
        baseAsset = base
        quoteAsset = quote
        let spec = SyntheticInstrument.spec(symbol: symbol, quote: quote, venue: venue)
        tickMantissa = spec.tick.mantissa
        tickScale = spec.tick.scale
        lotMantissa = spec.lot.mantissa
        lotScale = spec.lot.scale
        startTicks = max(100, spec.priceMantissa / spec.tick.mantissa)
        if venue == .spot {
            priceDigits = 8
            quantityDigits = 8
            quoteDigits = 8
        } else {
            priceDigits = tickScale
            quantityDigits = lotScale
            quoteDigits = tickScale + lotScale
        }
    }

    /// Price mantissa at `tickScale` for a price in ticks.
    @inline(__always) func priceMantissa(_ ticks: Int64) -> Int64 { ticks * tickMantissa }
    /// Quantity mantissa at `lotScale` for a quantity in lots.
    @inline(__always) func quantityMantissa(_ lots: Int64) -> Int64 { lots * lotMantissa }
    /// Quote mantissa at `tickScale + lotScale` for ticks·lots.
    @inline(__always) func quoteMantissa(_ tickLots: Int64) -> Int64 { tickLots * tickMantissa * lotMantissa }
    var quoteScale: Int { tickScale + lotScale }

    struct Grid {
        var mantissa: Int64
        var scale: Int
    }

    struct Spec {
        var tick: Grid
        var lot: Grid
        /// Starting price at `tick.scale`.
        var priceMantissa: Int64
    }

    /// Known symbols get their Binance grids; any other symbol gets a grid
    /// derived from a hash of its name (a price magnitude, five significant
    /// tick digits, a lot worth a few cents of quote), so every symbol is
    /// served and a given name always gets the same grid. Spot grids keep
    /// tick and lot scales summing to at most 8, so quote amounts are exact
    /// in Binance's 8 fractional digits.
    static func spec(symbol: String, quote: String, venue: Venue) -> Spec {
        switch (symbol, venue) {
        case ("BTCUSDT", .spot): return Spec(tick: Grid(mantissa: 1, scale: 2), lot: Grid(mantissa: 1, scale: 5), priceMantissa: 6_000_000)
        case ("BTCUSDT", .usdmFutures): return Spec(tick: Grid(mantissa: 1, scale: 1), lot: Grid(mantissa: 1, scale: 3), priceMantissa: 600_000)
        case ("ETHUSDT", .spot): return Spec(tick: Grid(mantissa: 1, scale: 2), lot: Grid(mantissa: 1, scale: 4), priceMantissa: 300_000)
        case ("ETHUSDT", .usdmFutures): return Spec(tick: Grid(mantissa: 1, scale: 2), lot: Grid(mantissa: 1, scale: 3), priceMantissa: 300_000)
        case ("BNBUSDT", _): return Spec(tick: Grid(mantissa: 1, scale: 2), lot: Grid(mantissa: 1, scale: 3), priceMantissa: 60_000)
        case ("SOLUSDT", _): return Spec(tick: Grid(mantissa: 1, scale: 2), lot: Grid(mantissa: 1, scale: 3), priceMantissa: 15_000)
        case ("XRPUSDT", _): return Spec(tick: Grid(mantissa: 1, scale: 4), lot: Grid(mantissa: 1, scale: 1), priceMantissa: 6_000)
        case ("DOGEUSDT", _): return Spec(tick: Grid(mantissa: 1, scale: 5), lot: Grid(mantissa: 1, scale: 0), priceMantissa: 15_000)
        default: break
        }
        // FNV-1a of the name: stable across runs and platforms.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in symbol.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        // Price magnitude 10^e with e in -3...3 for USD quotes, smaller for
        // coin quotes; a leading figure 1.0 ... 9.9.
        let coinQuoted = ["BTC", "ETH", "BNB"].contains(quote)
        let e = coinQuoted ? Int(h % 4) - 6 : Int(h % 7) - 3   // price ≈ lead · 10^e
        let lead = Int64(10 + (h >> 8) % 90)                     // two significant digits, 1.0 ... 9.9
        // Five significant digits of price: tick = 10^(e - 4).
        // (at most 8 fractional digits: tiny coin-quoted prices get fewer).
        let tickScale = min(8, max(0, 4 - e))
        let tickExp = e - 4 // tick = 10^tickExp when tickExp > 0
        let tick = Grid(mantissa: tickExp > 0 ? Int64(MarketJSON.pow10[tickExp]) : 1, scale: tickScale)
        // Price mantissa at tickScale: lead·10^(e-1) / 10^-tickScale.
        let shift = e - 1 + tickScale
        let priceMantissa = shift >= 0 ? lead * Int64(MarketJSON.pow10[shift]) : max(1, lead / Int64(MarketJSON.pow10[-shift]))
        // A lot worth about 10^-2 quote: lot = 10^(-2 - e), clamped to the grid limits.
        var lotScale = max(0, 2 + e)
        if venue == .spot { lotScale = min(lotScale, 8 - tickScale) }
        lotScale = max(0, lotScale)
        return Spec(tick: tick, lot: Grid(mantissa: 1, scale: lotScale), priceMantissa: priceMantissa)
    }

    /// Splits "BTCUSDT" into ("BTC", "USDT") by the known quote assets.
    static func splitAssets(_ symbol: String) -> (String, String) {
        let quotes = ["USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL", "GBP", "JPY", "USD"]
        for q in quotes where symbol.hasSuffix(q) && symbol.count > q.count {
            return (String(symbol.dropLast(q.count)), q)
        }
        let cut = max(1, symbol.count - 3)
        return (String(symbol.prefix(cut)), String(symbol.suffix(symbol.count - cut)))
    }
}
