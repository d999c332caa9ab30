import CRingFeed
import RingFeed

/// What the demo shows, kept up to date by the feed's handler on the loop
/// thread and drawn from there too (so it needs no lock).
/// @unchecked Sendable: created on the main task, then used only on the
/// client loop thread (its handler and the frames drawn through `execute`).
final class DemoBoard: @unchecked Sendable {
    struct TradeLine {
        var symbol: String
        var time: Int64
        var buyerIsMaker: Bool
        var price: Price
        var quantity: Quantity
    }

    let focus: String
    private(set) var bids: [Level] = []
    private(set) var asks: [Level] = []
    private(set) var lastUpdateId: Int64 = 0
    private(set) var trades: [TradeLine] = []
    private(set) var lastPrice: [String: Price] = [:]
    private(set) var openPrice: [String: Price] = [:]
    private(set) var counts: [String: Int] = [:]
    private(set) var total = 0
    let maxTrades = 12

    init(focus: String) { self.focus = focus }

    /// Takes one event (loop thread).
    func take(_ v: MarketEventView) {
        total += 1
        let ev = v.raw.pointee
        switch v.kind {
        case RF_BN_AGG_TRADE, RF_BN_TRADE:
            counts["trades", default: 0] += 1
            let t = ev.u.trade
            let line = TradeLine(symbol: v.symbol, time: t.trade_time, buyerIsMaker: t.buyer_is_maker != 0,
                                 price: Price(mantissa: t.price.mantissa, scale: t.price.scale),
                                 quantity: Quantity(mantissa: t.quantity.mantissa, scale: t.quantity.scale))
            trades.append(line)
            if trades.count > maxTrades { trades.removeFirst(trades.count - maxTrades) }
            lastPrice[line.symbol] = line.price
        case RF_BN_PARTIAL_DEPTH, RF_BN_DEPTH_UPDATE:
            counts["depth", default: 0] += 1
            if v.kind == RF_BN_PARTIAL_DEPTH, v.symbol == focus {
                bids = Array(v.bids)
                asks = Array(v.asks)
                lastUpdateId = ev.u.depth.final_update_id
            }
        case RF_BN_MINI_TICKER:
            counts["tickers", default: 0] += 1
            let t = ev.u.ticker
            openPrice[v.symbol] = Price(mantissa: t.open_price.mantissa, scale: t.open_price.scale)
        default:
            counts["other", default: 0] += 1
        }
    }

    /// One frame of the live view, `width` columns wide.
    func render(header: String, rate: Double, elapsed: Double, errors: Int, connection: String, width: Int = 80) -> String {
        var lines: [String] = [header, ""]
        let last = lastPrice[focus].map { $0.description } ?? "-"
        var change = ""
        if let o = openPrice[focus], let l = lastPrice[focus], o.doubleValue > 0 {
            let pct = (l.doubleValue - o.doubleValue) / o.doubleValue * 100
            change = "   24h " + (pct >= 0 ? "+" : "") + fixed(pct, 2) + "%"
        }
        lines.append("\(focus)   last \(last)\(change)   book update id \(lastUpdateId)")
        lines.append(pad("", 6) + pad("price", 18) + pad("quantity", 16))
        let shown = 8
        let top = (asks.prefix(shown) + bids.prefix(shown)).map(\.quantity.doubleValue).max() ?? 1
        for a in asks.prefix(shown).reversed() {
            lines.append("\u{1B}[31m" + pad("ask", 6) + pad(a.price.description, 18) + pad(a.quantity.description, 16)
                         + bar(a.quantity.doubleValue, top) + "\u{1B}[0m")
        }
        if let b = bids.first, let a = asks.first {
            let spread = a.price.doubleValue - b.price.doubleValue
            let mid = (a.price.doubleValue + b.price.doubleValue) / 2
            lines.append(pad("", 6) + "spread " + fixed(spread, 8) + "   mid " + fixed(mid, 8))
        } else {
            lines.append(pad("", 6) + "(waiting for the book)")
        }
        for b in bids.prefix(shown) {
            lines.append("\u{1B}[32m" + pad("bid", 6) + pad(b.price.description, 18) + pad(b.quantity.description, 16)
                         + bar(b.quantity.doubleValue, top) + "\u{1B}[0m")
        }
        lines.append("")
        lines.append("recent trades")
        for t in trades.reversed() {
            let side = t.buyerIsMaker ? "\u{1B}[31mSELL\u{1B}[0m" : "\u{1B}[32mBUY \u{1B}[0m"
            lines.append("  " + clock(t.time) + "  " + pad(t.symbol, 10) + side + "  "
                         + pad(t.quantity.description, 16) + "@ " + t.price.description)
        }
        for _ in trades.count..<maxTrades { lines.append("") }
        lines.append("")
        let kinds = counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "  ")
        lines.append("events \(total)   rate \(Int(rate.rounded())) msg/s   \(kinds)   errors \(errors)   "
                     + "elapsed \(fixed(elapsed, 1)) s")
        lines.append("connection: " + connection)
        // Home, then each line cleared to its end, then the rest of the screen.
        return "\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\n\u{1B}[J"
    }

    private func bar(_ q: Double, _ top: Double) -> String {
        let n = top > 0 ? Int((q / top * 24).rounded(.up)) : 0
        return String(repeating: "█", count: max(0, min(24, n)))
    }
}

private func pad(_ s: String, _ n: Int) -> String {
    s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
}

private func clock(_ ms: Int64) -> String {
    var w = ByteWriter(capacity: 12)
    w.timeOfDay(millis: ms)
    return String(decoding: w.bytes, as: UTF8.self)
}
