/// One side of a synthetic order book: price levels in ticks with their
/// quantities in lots, kept sorted with the best level at the END of the
/// arrays, because nearly all activity is near the top and inserting or
/// removing there moves almost nothing.
struct SyntheticBookSide {
    let isBid: Bool
    /// Bids ascending, asks descending: best last.
    private(set) var prices: [Int64] = []
    private(set) var quantities: [Int64] = []

    init(isBid: Bool) {
        self.isBid = isBid
    }

    var count: Int { prices.count }
    var isEmpty: Bool { prices.isEmpty }

    /// The best price, or nil for an empty side.
    var best: Int64? { prices.last }
    var bestQuantity: Int64 { quantities.last ?? 0 }

    /// Price and quantity of the level `k` places from the top (0 = best).
    @inline(__always)
    func level(fromTop k: Int) -> (price: Int64, quantity: Int64) {
        let i = prices.count - 1 - k
        return (prices[i], quantities[i])
    }

    /// Whether `a` sorts before `b` in storage order (worse before better).
    @inline(__always)
    private func before(_ a: Int64, _ b: Int64) -> Bool { isBid ? a < b : a > b }

    /// Index of `price` if present, else where it would be inserted.
    private func search(_ price: Int64) -> (found: Bool, index: Int) {
        var lo = 0
        var hi = prices.count
        // Most lookups are near the top: check the best level first.
        if hi > 0 {
            let top = prices[hi - 1]
            if top == price { return (true, hi - 1) }
            if before(top, price) { return (false, hi) }
        }
        while lo < hi {
            let mid = (lo + hi) >> 1
            let p = prices[mid]
            if p == price { return (true, mid) }
            if before(p, price) { lo = mid + 1 } else { hi = mid }
        }
        return (false, lo)
    }

    func quantity(at price: Int64) -> Int64 {
        let (found, i) = search(price)
        return found ? quantities[i] : 0
    }

    /// Sets the absolute quantity at `price`; 0 removes the level.
    mutating func set(_ price: Int64, _ quantity: Int64) {
        let (found, i) = search(price)
        if found {
            if quantity == 0 {
                prices.remove(at: i)
                quantities.remove(at: i)
            } else {
                quantities[i] = quantity
            }
        } else if quantity != 0 {
            prices.insert(price, at: i)
            quantities.insert(quantity, at: i)
        }
    }
}

/// A two-sided book of one symbol.
struct SyntheticBook {
    var bids = SyntheticBookSide(isBid: true)
    var asks = SyntheticBookSide(isBid: false)

    // Per-side reads that never copy a side out of the book: a copy held
    // across a change would make that change copy the whole side's arrays.

    @inline(__always)
    func count(_ isBid: Bool) -> Int { isBid ? bids.count : asks.count }

    @inline(__always)
    func best(_ isBid: Bool) -> Int64? { isBid ? bids.best : asks.best }

    @inline(__always)
    func level(_ isBid: Bool, fromTop k: Int) -> (price: Int64, quantity: Int64) {
        isBid ? bids.level(fromTop: k) : asks.level(fromTop: k)
    }

    /// The deepest level of a side.
    @inline(__always)
    func worst(_ isBid: Bool) -> (price: Int64, quantity: Int64) {
        level(isBid, fromTop: count(isBid) - 1)
    }

    @inline(__always)
    func quantity(_ isBid: Bool, at price: Int64) -> Int64 {
        isBid ? bids.quantity(at: price) : asks.quantity(at: price)
    }

    @inline(__always)
    mutating func set(_ isBid: Bool, _ price: Int64, _ lots: Int64) {
        if isBid { bids.set(price, lots) } else { asks.set(price, lots) }
    }
}
