import CRingFeed

/// The queries of a book, read in place. A view is handed to the closure of
/// `OrderBook.read` and is valid only inside it: every answer it gives
/// within one closure describes the same instant of the book.
public struct BookView {
    let book: OpaquePointer
    let kept: Bool

    init(_ book: OpaquePointer, kept: Bool) {
        self.book = book
        self.kept = kept
    }

    private var info: rf_book_info {
        var i = rf_book_info()
        rf_book_get_info(book, &i)
        return i
    }

    public var state: BookState {
        switch rf_book_state(book) {
        case Int32(RF_BOOK_LIVE.rawValue): .live
        case Int32(RF_BOOK_SYNCING.rawValue): .syncing
        case Int32(RF_BOOK_STALE.rawValue): .stale
        default: kept ? .syncing : .empty
        }
    }

    /// The snapshot's lastUpdateId, then the u of the last applied event.
    public var lastUpdateId: Int64 { rf_book_last_update_id(book) }
    public var priceScale: UInt8 { info.price_scale }
    public var quantityScale: UInt8 { info.qty_scale }
    /// Levels a side holds.
    public func depth(_ side: BookSide) -> Int { Int(max(0, rf_book_depth(book, side.raw))) }

    func level(_ l: rf_book_level) -> Level {
        let i = info
        return Level(price: Price(mantissa: l.price, scale: i.price_scale),
                     quantity: Quantity(mantissa: l.qty, scale: i.qty_scale))
    }

    public func best(_ side: BookSide) -> Level? {
        var l = rf_book_level()
        return rf_book_best(book, side.raw, &l) >= 0 ? level(l) : nil
    }
    public var bestBid: Level? { best(.bid) }
    public var bestAsk: Level? { best(.ask) }

    /// The level `index` places from the best (0 is the best).
    public func level(_ side: BookSide, at index: Int) -> Level? {
        guard index >= 0 else { return nil }
        var l = rf_book_level()
        return rf_book_level_at(book, side.raw, index, &l) >= 0 ? level(l) : nil
    }

    /// The best `count` levels of a side, best first (all with `.max`).
    public func levels(_ side: BookSide, count: Int = .max) -> [Level] {
        var out: [Level] = []
        out.reserveCapacity(min(max(0, count), depth(side)))
        forEach(side) { l in
            guard out.count < count else { return false }
            out.append(l)
            return true
        }
        return out
    }

    /// Walks a side best first without copying it; `body` returns false to stop.
    public func forEach(_ side: BookSide, _ body: (Level) throws -> Bool) rethrows {
        let i = info
        var it = rf_book_iter()
        rf_book_iter_init(&it, book, side.raw)
        var l = rf_book_level()
        while rf_book_iter_next(&it, &l) == 1 {
            let lv = Level(price: Price(mantissa: l.price, scale: i.price_scale),
                           quantity: Quantity(mantissa: l.qty, scale: i.qty_scale))
            if try !body(lv) { return }
        }
    }

    /// Best ask - best bid (nil when a side is empty).
    public var spread: Price? {
        var ticks: Int64 = 0
        return rf_book_spread(book, &ticks) >= 0 ? Price(mantissa: ticks, scale: info.price_scale) : nil
    }

    /// (best bid + best ask) / 2, exactly (one decimal more than the book's prices).
    public var mid: Price? {
        var d = rf_decimal()
        return rf_book_mid(book, &d) >= 0 ? Price(d) : nil
    }

    /// The size-weighted mid (an analytics value).
    public var microprice: Double? {
        var v = 0.0
        return rf_book_microprice(book, &v) >= 0 ? v : nil
    }

    /// Total quantity of the best `levels` levels of a side.
    public func volume(_ side: BookSide, levels: Int) -> Quantity {
        var lots: Int64 = 0
        _ = rf_book_volume_levels(book, side.raw, max(0, levels), &lots)
        return Quantity(mantissa: lots, scale: info.qty_scale)
    }

    /// Total quantity of a side's levels no further than `distance` from the
    /// mid (nil when a side is empty or `distance` is off the price grid).
    public func volume(_ side: BookSide, within distance: Price) -> Quantity? {
        let i = info
        guard let d = distance.rescaled(to: i.price_scale), d.mantissa >= 0 else { return nil }
        var lots: Int64 = 0
        return rf_book_volume_within(book, side.raw, d.mantissa, &lots) >= 0
            ? Quantity(mantissa: lots, scale: i.qty_scale) : nil
    }

    /// (bid volume - ask volume) / (bid volume + ask volume) over the best
    /// `levels` levels of each side, in [-1, 1]; nil when both are empty.
    public func imbalance(levels: Int) -> Double? {
        var v = 0.0
        return rf_book_imbalance(book, max(0, levels), &v) >= 0 ? v : nil
    }

    /// A market order of `quantity` walked through the book (nothing is
    /// changed). nil when the quantity is not positive or off the book's
    /// quantity grid, or the side it takes is empty.
    public func marketOrder(_ taker: TakerSide, quantity: Quantity) -> MarketOrderFill? {
        let i = info
        guard let q = quantity.rescaled(to: i.qty_scale), q.mantissa > 0 else { return nil }
        var f = rf_book_fill()
        guard rf_book_market_order(book, taker.sideTaken.raw, q.mantissa, &f) >= 0 else { return nil }
        return MarketOrderFill(
            filled: Quantity(mantissa: f.filled, scale: i.qty_scale), notional: f.notional,
            averagePrice: f.avg_price, bestPrice: Price(mantissa: f.best_price, scale: i.price_scale),
            worstPrice: Price(mantissa: f.worst_price, scale: i.price_scale), slippageTicks: f.slippage_ticks,
            slippageBps: f.slippage_bps, levels: Int(f.levels), exhausted: f.exhausted != 0)
    }

    /// CRC-32 of the best `levels` levels of both sides, interleaved
    /// ("price:quantity" entries joined by ","; see rf_book_checksum).
    public func checksum(levels: Int) -> UInt32 {
        var c: UInt32 = 0
        _ = rf_book_checksum(book, max(0, levels), &c)
        return c
    }

    /// A copy of the best `levels` levels of each side with the state and id.
    public func snapshot(levels: Int = .max) -> BookSnapshot {
        BookSnapshot(state: state, lastUpdateId: lastUpdateId, bids: self.levels(.bid, count: levels),
                     asks: self.levels(.ask, count: levels))
    }
}
