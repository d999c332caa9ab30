import CRingFeed

/// Diff events held while a snapshot is on its way: ids and levels copied
/// out of the received message (which is gone once its handler returns).
/// Only a syncing book buffers, so the copies are off the steady-state path;
/// the arrays keep their capacity between syncs.
///
/// Bounded: past `limit` events the oldest half is dropped, and the sync
/// notices when the snapshot is then older than the first kept event.
struct DiffBuffer {
    struct Entry {
        var first: Int64
        var final: Int64
        var previous: Int64
        var transactionTime: Int64
        var levelStart: Int
        var bidCount: Int
        var askCount: Int
    }

    private(set) var entries: [Entry] = []
    private var levels: [rf_bn_level] = []
    let limit: Int
    /// The most decimals a buffered price / quantity has (a grid for the next book).
    private(set) var priceScale: UInt8 = 0
    private(set) var qtyScale: UInt8 = 0

    init(limit: Int) { self.limit = max(1, limit) }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var first: Entry? { entries.first }

    /// Copies an event in; returns how many old events were dropped to make room.
    mutating func append(_ d: UnsafePointer<rf_bn_depth>) -> Int {
        var dropped = 0
        if entries.count >= limit {
            dropped = max(1, entries.count / 2)
            let cut = entries[dropped].levelStart
            entries.removeFirst(dropped)
            levels.removeFirst(cut)
            for i in entries.indices { entries[i].levelStart -= cut }
        }
        let e = d.pointee
        let start = levels.count
        copy(e.bids, e.bid_count)
        copy(e.asks, e.ask_count)
        entries.append(Entry(first: e.first_update_id, final: e.final_update_id, previous: e.prev_final_update_id,
                             transactionTime: e.transaction_time, levelStart: start, bidCount: e.bid_count,
                             askCount: e.ask_count))
        return dropped
    }

    private mutating func copy(_ base: UnsafePointer<rf_bn_level>?, _ n: Int) {
        guard let base, n > 0 else { return }
        for l in UnsafeBufferPointer(start: base, count: n) {
            levels.append(l)
            priceScale = max(priceScale, l.price.scale)
            qtyScale = max(qtyScale, l.quantity.scale)
        }
    }

    /// Calls `body` with each event as the scanner would give it, in order.
    func forEach(_ body: (UnsafePointer<rf_bn_depth>) -> Void) {
        levels.withUnsafeBufferPointer { all in
            for e in entries {
                let bids = all.baseAddress.map { $0 + e.levelStart }
                var d = rf_bn_depth(first_update_id: e.first, final_update_id: e.final,
                                    prev_final_update_id: e.previous, transaction_time: e.transactionTime,
                                    bids: bids, bid_count: e.bidCount,
                                    asks: bids.map { $0 + e.bidCount }, ask_count: e.askCount)
                withUnsafePointer(to: &d) { body($0) }
            }
        }
    }

    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        levels.removeAll(keepingCapacity: true)
        priceScale = 0
        qtyScale = 0
    }
}
