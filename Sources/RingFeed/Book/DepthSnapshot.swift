import CRingFeed

/// A REST depth snapshot (`GET /api/v3/depth`, `/fapi/v1/depth`) as owned
/// exact levels: what a book loads, and what a test compares a book with.
public struct DepthSnapshot: Sendable, Hashable {
    public var lastUpdateId: Int64
    /// As the exchange lists them (best first).
    public var bids: [Level]
    public var asks: [Level]

    public init(lastUpdateId: Int64, bids: [Level], asks: [Level]) {
        self.lastUpdateId = lastUpdateId
        self.bids = bids
        self.asks = asks
    }

    /// Parses a snapshot body: {"lastUpdateId":...,"bids":[[p,q],...],"asks":[...]}.
    /// - Throws: `RingFeedError` (RF_EJSON, RF_EMISSING, ...) for anything else.
    public init(json body: [UInt8]) throws(RingFeedError) {
        let raw = try RawSnapshot(json: body)
        self.init(lastUpdateId: raw.lastUpdateId,
                  bids: raw.bids.map { Level(price: Price($0.price), quantity: Quantity($0.quantity)) },
                  asks: raw.asks.map { Level(price: Price($0.price), quantity: Quantity($0.quantity)) })
    }
}

/// A snapshot as the C book loads it, with the scales its texts use.
struct RawSnapshot: @unchecked Sendable {
    // @unchecked: rf_bn_level holds two plain integers per decimal, no pointers.
    var lastUpdateId: Int64
    var bids: [rf_bn_level]
    var asks: [rf_bn_level]
    /// The most decimals any price / quantity text of the snapshot has.
    var priceScale: UInt8
    var qtyScale: UInt8

    init(_ s: DepthSnapshot) {
        lastUpdateId = s.lastUpdateId
        bids = s.bids.map(\.raw)
        asks = s.asks.map(\.raw)
        priceScale = max(s.bids.map(\.price.scale).max() ?? 0, s.asks.map(\.price.scale).max() ?? 0)
        qtyScale = max(s.bids.map(\.quantity.scale).max() ?? 0, s.asks.map(\.quantity.scale).max() ?? 0)
    }

    init(json body: [UInt8]) throws(RingFeedError) {
        // Levels come out in the scanner's array; a 5000-level snapshot has 10,000.
        guard !body.isEmpty else { throw RingFeedError(code: RF_EJSON.rawValue, detail: "empty body") }
        var capacity = 1024
        while true {
            var ev = rf_bn_event()
            let levels = UnsafeMutablePointer<rf_bn_level>.allocate(capacity: capacity)
            defer { levels.deallocate() }
            let rc = body.withUnsafeBufferPointer { b in
                rf_bn_scan(b.baseAddress!, b.count, levels, capacity, &ev)
            }
            if rc == RF_ENOSPC.rawValue && capacity < 1 << 20 {
                capacity *= 8
                continue
            }
            try RingFeedError.check(rc)
            guard ev.type == Int32(RF_BN_PARTIAL_DEPTH.rawValue), ev.u.depth.final_update_id != Int64.min else {
                throw RingFeedError(code: RF_EMISSING.rawValue, detail: "not a depth snapshot")
            }
            let d = ev.u.depth
            lastUpdateId = d.final_update_id
            bids = d.bid_count > 0 ? Array(UnsafeBufferPointer(start: d.bids, count: d.bid_count)) : []
            asks = d.ask_count > 0 ? Array(UnsafeBufferPointer(start: d.asks, count: d.ask_count)) : []
            var ps: UInt8 = 0, qs: UInt8 = 0
            for l in bids { ps = max(ps, l.price.scale); qs = max(qs, l.quantity.scale) }
            for l in asks { ps = max(ps, l.price.scale); qs = max(qs, l.quantity.scale) }
            priceScale = ps
            qtyScale = qs
            return
        }
    }
}
