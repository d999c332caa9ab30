import CRingFeed

/// Compares a book with an exchange snapshot that describes the same update
/// id, level by level, both sides walked best first together.
///
/// A snapshot of `limit` levels per side says nothing about prices beyond
/// its last level when it is full (the side goes on at the exchange): local
/// levels there are counted as unknown, never as differences. A side with
/// fewer levels than asked is the whole side, so a local level beyond it is
/// a difference.
enum BookVerifier {
    /// - Parameters:
    ///   - limit: the levels per side the snapshot was asked for.
    ///   - excludedBids, excludedAsks: prices (ticks) whose value at the
    ///     snapshot's id is not known locally; neither compared nor counted as different.
    static func compare(_ book: OpaquePointer, _ snap: RawSnapshot, limit: Int,
                        excludedBids: Set<Int64> = [], excludedAsks: Set<Int64> = []) -> BookVerification {
        var info = rf_book_info()
        rf_book_get_info(book, &info)
        var v = BookVerification(updateId: snap.lastUpdateId, compared: 0, differences: [], differenceCount: 0,
                                 unknown: 0, excluded: 0, conclusive: true)
        side(.bid, book, info, snap.bids, limit, excludedBids, &v)
        side(.ask, book, info, snap.asks, limit, excludedAsks, &v)
        return v
    }

    private static func side(_ side: BookSide, _ book: OpaquePointer, _ info: rf_book_info, _ levels: [rf_bn_level],
                             _ limit: Int, _ excluded: Set<Int64>, _ v: inout BookVerification) {
        let ps = info.price_scale, qs = info.qty_scale
        let isBid = side == .bid
        func price(_ t: Int64) -> Price { Price(mantissa: t, scale: ps) }
        func qty(_ l: Int64) -> Quantity { Quantity(mantissa: l, scale: qs) }
        func differ(_ p: Price, _ local: Quantity?, _ exchange: Quantity?) {
            v.differenceCount += 1
            if v.differences.count < BookVerification.listed {
                v.differences.append(BookDifference(side: side, price: p, local: local, exchange: exchange))
            }
        }
        // The snapshot on the book's grid, best first, zero quantities left out.
        var exchange: [(price: Int64, qty: Int64)] = []
        exchange.reserveCapacity(levels.count)
        for l in levels {
            var p = rf_decimal(), q = rf_decimal()
            guard rf_decimal_rescale(l.price, UInt32(ps), &p) == 0, rf_decimal_rescale(l.quantity, UInt32(qs), &q) == 0 else {
                // Off the local grid: the book cannot hold it, so it differs.
                differ(Price(l.price), nil, Quantity(l.quantity))
                continue
            }
            if q.mantissa != 0 { exchange.append((p.mantissa, q.mantissa)) }
        }
        exchange.sort { isBid ? $0.price > $1.price : $0.price < $1.price }
        let full = levels.count >= limit
        let boundary = full ? exchange.last?.price : nil
        func better(_ a: Int64, _ b: Int64) -> Bool { isBid ? a > b : a < b }

        var it = rf_book_iter()
        rf_book_iter_init(&it, book, side.raw)
        var local = rf_book_level()
        var haveLocal = rf_book_iter_next(&it, &local) == 1
        var i = 0
        while haveLocal || i < exchange.count {
            if haveLocal, let b = boundary, better(b, local.price) {
                v.unknown += 1 // beyond the snapshot's depth
                haveLocal = rf_book_iter_next(&it, &local) == 1
                continue
            }
            let takeLocal: Bool, takeExchange: Bool
            if haveLocal && i < exchange.count {
                takeLocal = !better(exchange[i].price, local.price)
                takeExchange = !better(local.price, exchange[i].price)
            } else {
                takeLocal = haveLocal
                takeExchange = !haveLocal
            }
            let p = takeLocal ? local.price : exchange[i].price
            if excluded.contains(p) {
                v.excluded += 1
            } else {
                v.compared += 1
                let lq = takeLocal ? local.qty : 0, eq = takeExchange ? exchange[i].qty : 0
                if lq != eq { differ(price(p), takeLocal ? qty(lq) : nil, takeExchange ? qty(eq) : nil) }
            }
            if takeLocal { haveLocal = rf_book_iter_next(&it, &local) == 1 }
            if takeExchange { i += 1 }
        }
    }
}
