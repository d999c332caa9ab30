import CRingFeed
import RingFeed

/// The end-to-end benchmark's tape (issue 5): a seeded stream of Binance
/// spot combined-stream messages over four symbols, 70% depthUpdate diffs of
/// 1-20 levels, 25% aggTrade, 5% bookTicker, about 268 bytes a message.
///
/// A port of `bench/depth_tape.h`, byte for byte: the same seed gives the
/// same messages, so `bench_e2e --url` can check a client's final books
/// against its own copy of the generator. Change both together.
///
/// The diffs come from a real book per symbol kept here: a client that
/// loads the starting snapshot and applies every diff ends with exactly
/// `book(symbol:)`'s levels. Update ids chain (U == previous u + 1),
/// deletes hit existing levels, no price repeats within one side of a diff,
/// every diff leaves the book uncrossed, and bookTicker carries the book's
/// best levels and last update id at that moment.
public final class BlastTapeGenerator {
    public struct Symbol: Sendable {
        public let name: String
        let stream: [UInt8]
        let nameBytes: [UInt8]
        /// Starting mid in ticks of 0.01.
        let startTicks: Int64
        /// Lot size 10^-qtyDecimals; texts are written with 8 decimals.
        let qtyDecimals: Int
        /// Share of the messages, percent.
        let weight: UInt64

        init(_ name: String, _ startTicks: Int64, _ qtyDecimals: Int, _ weight: UInt64) {
            self.name = name
            nameBytes = Array(name.utf8)
            stream = Array(name.lowercased().utf8)
            self.startTicks = startTicks
            self.qtyDecimals = qtyDecimals
            self.weight = weight
        }
    }

    public static let symbols: [Symbol] = [
        Symbol("BTCUSDT", 6_500_000, 5, 40),
        Symbol("ETHUSDT", 350_000, 4, 30),
        Symbol("SOLUSDT", 15_000, 3, 20),
        Symbol("BNBUSDT", 60_000, 3, 10),
    ]
    static let ticks = 16384
    static let startDepth = 1000
    static let minDepth = 900
    static let maxDepth = 4000
    static let edge = 64
    static let maxLevels: UInt64 = 20
    static let priceDecimals = 2
    /// The longest message (20 levels of two 8-decimal strings and the head).
    public static let maxMessage = 1024

    /// One symbol's book: a quantity per tick of a window around the
    /// starting price, bids below the spread, asks above it.
    final class Book {
        let qty: UnsafeMutablePointer<Int64>
        let base: Int64
        var bestBid = BlastTapeGenerator.ticks / 2 - 1
        var bestAsk = BlastTapeGenerator.ticks / 2 + 1
        var bidDepth = 0
        var askDepth = 0
        var lastUpdateId: Int64
        var aggId: Int64
        var tradeId: Int64

        init(base: Int64, index: Int64) {
            qty = .allocate(capacity: BlastTapeGenerator.ticks)
            qty.initialize(repeating: 0, count: BlastTapeGenerator.ticks)
            self.base = base
            lastUpdateId = 71_234_567_890 + index * 1_000_000_007
            aggId = 3_300_000_000 + index * 100_000_007
            tradeId = 5_100_000_000 + index * 200_000_011
        }

        deinit { qty.deallocate() }

        /// The index of the k-th level from the best of a side (0 = the best).
        func nth(ask: Bool, _ k: Int) -> Int {
            var k = k
            var i = ask ? bestAsk : bestBid
            while true {
                if qty[i] != 0 {
                    if k == 0 { return i }
                    k -= 1
                }
                i += ask ? 1 : -1
            }
        }
    }

    private var rng: UInt64
    private let books: [Book]
    public private(set) var messages = 0
    /// Payload bytes generated so far.
    public private(set) var bytes = 0

    public init(seed: UInt64) {
        rng = seed
        var made: [Book] = []
        for (s, spec) in Self.symbols.enumerated() {
            made.append(Book(base: spec.startTicks - Int64(Self.ticks / 2), index: Int64(s)))
        }
        books = made
        for (s, b) in books.enumerated() {
            let qdp = Self.symbols[s].qtyDecimals
            // About three ticks in four hold a level; the best ones always do.
            var i = b.bestBid
            while b.bidDepth < Self.startDepth {
                if i == b.bestBid || below(4) != 0 {
                    b.qty[i] = quantity(qdp)
                    b.bidDepth += 1
                }
                i -= 1
            }
            i = b.bestAsk
            while b.askDepth < Self.startDepth {
                if i == b.bestAsk || below(4) != 0 {
                    b.qty[i] = quantity(qdp)
                    b.askDepth += 1
                }
                i += 1
            }
        }
    }

    // MARK: - randomness (splitmix64, as in C)

    @inline(__always) private func random() -> UInt64 {
        rng = rng &+ 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always) private func below(_ n: UInt64) -> UInt64 { random() % n }

    /// Skewed towards 0: the minimum of two uniform draws.
    @inline(__always) private func skew(_ n: Int) -> Int {
        let a = below(UInt64(n)), b = below(UInt64(n))
        return Int(min(a, b))
    }

    private static let pow10: [Int64] = (0...18).map { p in (0..<p).reduce(Int64(1)) { acc, _ in acc * 10 } }

    private func quantity(_ qtyDecimals: Int) -> Int64 {
        let unit = Self.pow10[qtyDecimals]
        var q = 1 + Int64(below(UInt64(2 * unit)))
        if below(4) == 0 && q > 100 { q -= q % 100 }
        return q
    }

    // MARK: - the books

    /// Chooses one level change of a side, applies it here and returns its
    /// index and quantity, or nil when it would repeat a price already in
    /// this diff (then nothing changes).
    private func levelOp(_ b: Book, symbol: Int, ask: Bool, used: ArraySlice<Int>) -> (Int, Int64)? {
        let qdp = Self.symbols[symbol].qtyDecimals
        let depth = ask ? b.askDepth : b.bidDepth
        let window = min(depth, 100)
        let r = below(100)
        var idx: Int
        var q: Int64
        if r >= 78 && depth > Self.minDepth { // delete
            idx = b.nth(ask: ask, skew(window))
            q = 0
        } else if r >= 55 && depth < Self.maxDepth { // a price, maybe new
            let inside = b.bestAsk - b.bestBid > 1 && below(4) == 0
            if inside {
                idx = ask ? b.bestAsk - 1 : b.bestBid + 1
            } else {
                idx = ask ? b.bestAsk + 1 + skew(60) : b.bestBid - 1 - skew(60)
            }
            if idx < Self.edge || idx >= Self.ticks - Self.edge {
                idx = b.nth(ask: ask, 0) // at the window's edge: change the best instead
            }
            q = quantity(qdp)
        } else { // a new quantity for a level
            idx = b.nth(ask: ask, skew(window))
            q = quantity(qdp)
        }
        if used.contains(idx) { return nil }
        let old = b.qty[idx]
        if q != 0 && q == old { q += 1 }
        if old == 0 && q != 0 { if ask { b.askDepth += 1 } else { b.bidDepth += 1 } }
        if old != 0 && q == 0 { if ask { b.askDepth -= 1 } else { b.bidDepth -= 1 } }
        b.qty[idx] = q
        if ask {
            if q != 0 && idx < b.bestAsk { b.bestAsk = idx }
            while b.qty[b.bestAsk] == 0 { b.bestAsk += 1 }
        } else {
            if q != 0 && idx > b.bestBid { b.bestBid = idx }
            while b.qty[b.bestBid] == 0 { b.bestBid -= 1 }
        }
        return (idx, q)
    }

    /// The symbol's levels now, best first: (price, quantity) as mantissas
    /// at 8 decimals, and the last update id.
    public func book(symbol: Int) -> (bids: [(Int64, Int64)], asks: [(Int64, Int64)], lastUpdateId: Int64) {
        let b = books[symbol]
        let priceUnit = Self.pow10[8 - Self.priceDecimals]
        let qtyUnit = Self.pow10[8 - Self.symbols[symbol].qtyDecimals]
        var bids: [(Int64, Int64)] = [], asks: [(Int64, Int64)] = []
        var i = b.bestBid
        while bids.count < b.bidDepth {
            if b.qty[i] != 0 { bids.append(((b.base + Int64(i)) * priceUnit, b.qty[i] * qtyUnit)) }
            i -= 1
        }
        i = b.bestAsk
        while asks.count < b.askDepth {
            if b.qty[i] != 0 { asks.append(((b.base + Int64(i)) * priceUnit, b.qty[i] * qtyUnit)) }
            i += 1
        }
        return (bids, asks, b.lastUpdateId)
    }

    /// The REST snapshot of a symbol's book now (`/api/v3/depth`):
    /// {"lastUpdateId":N,"bids":[[p,q],...],"asks":[...]}, best first, at
    /// most `limit` levels a side.
    public func snapshot(symbol: Int, limit: Int) -> [UInt8] {
        let b = books[symbol]
        let cap = 64 + 2 * 40 * min(limit, max(b.bidDepth, b.askDepth))
        return [UInt8](unsafeUninitializedCapacity: cap) { buf, count in
            var w = TapeWriter(buf.baseAddress!)
            w.put("{\"lastUpdateId\":")
            w.int(b.lastUpdateId)
            for ask in [false, true] {
                w.put(ask ? "],\"asks\":[" : ",\"bids\":[")
                let n = min(ask ? b.askDepth : b.bidDepth, limit)
                var i = ask ? b.bestAsk : b.bestBid
                var k = 0
                while k < n {
                    if b.qty[i] != 0 {
                        if k > 0 { w.byte(UInt8(ascii: ",")) }
                        level(&w, b, symbol, i, b.qty[i])
                        k += 1
                    }
                    i += ask ? 1 : -1
                }
            }
            w.put("]}")
            count = w.count
        }
    }

    private func level(_ w: inout TapeWriter, _ b: Book, _ symbol: Int, _ idx: Int, _ qty: Int64) {
        w.put("[\"")
        w.fixed(b.base + Int64(idx), Self.priceDecimals)
        w.put("\",\"")
        w.fixed(qty, Self.symbols[symbol].qtyDecimals)
        w.put("\"]")
    }

    // MARK: - messages

    /// Writes the next message (a complete combined-stream payload) at
    /// `out` (`maxMessage` bytes) and returns its length.
    public func next(into out: UnsafeMutablePointer<UInt8>) -> Int {
        let w0 = below(100)
        var sym = 0
        var acc = Self.symbols[0].weight
        while w0 >= acc {
            sym += 1
            acc += Self.symbols[sym].weight
        }
        let b = books[sym]
        let spec = Self.symbols[sym]
        // Simulated exchange time: 50,000 messages a second.
        let eventMs = 1_700_000_000_000 + Int64(messages / 50)
        let kind = below(100)
        var w = TapeWriter(out)
        w.put("{\"stream\":\"")
        w.bytes(spec.stream)
        if kind < 70 {
            // 1-20 levels, mostly a few (the minimum of three draws).
            let a = below(Self.maxLevels), c = below(Self.maxLevels), d = below(Self.maxLevels)
            let n = 1 + Int(min(a, min(c, d)))
            let nBids = Int(below(UInt64(n) + 1))
            var idx: [Int] = []
            var qty: [Int64] = []
            idx.reserveCapacity(n)
            qty.reserveCapacity(n)
            for _ in 0..<nBids {
                if let (i, q) = levelOp(b, symbol: sym, ask: false, used: idx[...]) {
                    idx.append(i)
                    qty.append(q)
                }
            }
            let nb = idx.count
            for _ in nBids..<n {
                if let (i, q) = levelOp(b, symbol: sym, ask: true, used: idx[nb...]) {
                    idx.append(i)
                    qty.append(q)
                }
            }
            let first = b.lastUpdateId + 1
            // u - U + 1 counts the book's internal updates: at least one per level.
            let last = first + Int64(idx.isEmpty ? 0 : idx.count - 1) + Int64(below(3))
            b.lastUpdateId = last
            w.put("@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":")
            w.int(eventMs)
            w.put(",\"s\":\"")
            w.bytes(spec.nameBytes)
            w.put("\",\"U\":")
            w.int(first)
            w.put(",\"u\":")
            w.int(last)
            w.put(",\"b\":[")
            for k in 0..<idx.count {
                if k == nb {
                    w.put("],\"a\":[")
                } else if k > 0 {
                    w.byte(UInt8(ascii: ","))
                }
                level(&w, b, sym, idx[k], qty[k])
            }
            if idx.count == nb { w.put("],\"a\":[") }
            w.put("]}}")
        } else if kind < 95 {
            let maker = below(2) == 1 // buyer is maker: a sell hit the bid
            let price = b.base + Int64(maker ? b.bestBid : b.bestAsk)
            let q = quantity(spec.qtyDecimals)
            let firstTrade = b.tradeId + 1
            b.tradeId = firstTrade + Int64(below(3))
            let tradeMs = eventMs - Int64(below(2))
            b.aggId += 1
            w.put("@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":")
            w.int(eventMs)
            w.put(",\"s\":\"")
            w.bytes(spec.nameBytes)
            w.put("\",\"a\":")
            w.int(b.aggId)
            w.put(",\"p\":\"")
            w.fixed(price, Self.priceDecimals)
            w.put("\",\"q\":\"")
            w.fixed(q, spec.qtyDecimals)
            w.put("\",\"f\":")
            w.int(firstTrade)
            w.put(",\"l\":")
            w.int(b.tradeId)
            w.put(",\"T\":")
            w.int(tradeMs)
            w.put(maker ? ",\"m\":true,\"M\":true}}" : ",\"m\":false,\"M\":true}}")
        } else {
            w.put("@bookTicker\",\"data\":{\"u\":")
            w.int(b.lastUpdateId)
            w.put(",\"s\":\"")
            w.bytes(spec.nameBytes)
            w.put("\",\"b\":\"")
            w.fixed(b.base + Int64(b.bestBid), Self.priceDecimals)
            w.put("\",\"B\":\"")
            w.fixed(b.qty[b.bestBid], spec.qtyDecimals)
            w.put("\",\"a\":\"")
            w.fixed(b.base + Int64(b.bestAsk), Self.priceDecimals)
            w.put("\",\"A\":\"")
            w.fixed(b.qty[b.bestAsk], spec.qtyDecimals)
            w.put("\"}}")
        }
        messages += 1
        bytes += w.count
        return w.count
    }
}

/// Writes tape text at a pointer (the caller sized the space).
struct TapeWriter {
    let base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0

    init(_ base: UnsafeMutablePointer<UInt8>) { self.base = base }

    @inline(__always) mutating func byte(_ b: UInt8) {
        base[count] = b
        count += 1
    }

    mutating func put(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        (base + count).update(from: s.utf8Start, count: n)
        count += n
    }

    mutating func bytes(_ b: [UInt8]) {
        b.withUnsafeBufferPointer { (base + count).update(from: $0.baseAddress!, count: $0.count) }
        count += b.count
    }

    mutating func int(_ v: Int64) {
        var u = v.magnitude
        if v < 0 { byte(UInt8(ascii: "-")) }
        var digits = 0
        var t = u
        repeat { digits += 1; t /= 10 } while t != 0
        for i in stride(from: digits - 1, through: 0, by: -1) {
            base[count + i] = UInt8(ascii: "0") + UInt8(u % 10)
            u /= 10
        }
        count += digits
    }

    /// v / 10^decimals written with 8 decimals, as Binance writes spot
    /// prices and quantities ("65000.01000000").
    mutating func fixed(_ v: Int64, _ decimals: Int) {
        var unit: Int64 = 1
        for _ in 0..<decimals { unit *= 10 }
        int(v / unit)
        byte(UInt8(ascii: "."))
        var frac = v % unit
        for i in stride(from: decimals - 1, through: 0, by: -1) {
            base[count + i] = UInt8(ascii: "0") + UInt8(frac % 10)
            frac /= 10
        }
        count += decimals
        for _ in decimals..<8 { byte(UInt8(ascii: "0")) }
    }
}

/// The tape encoded in advance: every message a complete unmasked server
/// text frame, all of them in one buffer. What `ringfeed simulate --tape N` serves.
public struct BlastTape: Sendable {
    /// The frames, back to back.
    public let frames: [UInt8]
    /// Offsets where a frame starts, every ~256 KiB, and the end: the tape
    /// is sent in these slices, so nothing else (a ping) can land inside a frame.
    public let sliceStarts: [Int]
    /// Frames in each slice.
    public let sliceMessages: [Int]
    public let messages: Int
    public let payloadBytes: Int
    public let seed: UInt64
    public var symbols: [String] { BlastTapeGenerator.symbols.map(\.name) }

    /// The snapshots the stream starts from are `BlastTapeGenerator(seed:)`'s
    /// before any message.
    public init(messages: Int, seed: UInt64) {
        let gen = BlastTapeGenerator(seed: seed)
        var frames: [UInt8] = []
        frames.reserveCapacity(messages * 276 + 4096)
        var starts = [0], counts: [Int] = []
        var inSlice = 0
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: BlastTapeGenerator.maxMessage)
        let header = UnsafeMutablePointer<UInt8>.allocate(capacity: 14)
        defer {
            scratch.deallocate()
            header.deallocate()
        }
        for _ in 0..<messages {
            let n = gen.next(into: scratch)
            let h = rf_frame_header_write(header, 1, WebSocketOpcode.text.rawValue, UInt64(n), nil)
            frames.append(contentsOf: UnsafeBufferPointer(start: header, count: h))
            frames.append(contentsOf: UnsafeBufferPointer(start: scratch, count: n))
            inSlice += 1
            if frames.count - starts[starts.count - 1] >= 256 << 10 {
                starts.append(frames.count)
                counts.append(inSlice)
                inSlice = 0
            }
        }
        if inSlice > 0 {
            starts.append(frames.count)
            counts.append(inSlice)
        }
        self.frames = frames
        sliceStarts = starts
        sliceMessages = counts
        self.messages = messages
        payloadBytes = gen.bytes
        self.seed = seed
    }
}

/// What a client that keeps the tape's four books must hold after its first
/// `messages` messages, worked out by running the generator itself (never
/// from a client's books): each symbol's final levels and last update id,
/// and how many messages of each kind the symbol had.
public struct BlastTapeExpectation: Sendable {
    /// A level at 8 decimals (the texts' scale): mantissas.
    public struct Level: Sendable, Equatable {
        public var price: Int64
        public var quantity: Int64
    }

    public struct Book: Sendable {
        public let symbol: String
        public let lastUpdateId: Int64
        /// Best first.
        public let bids: [Level]
        public let asks: [Level]
        public let diffs: Int
        public let trades: Int
        public let tickers: Int
    }

    public let messages: Int
    public let seed: UInt64
    /// In `BlastTapeGenerator.symbols`' order.
    public let books: [Book]
    public var diffs: Int { books.reduce(0) { $0 + $1.diffs } }
    public var trades: Int { books.reduce(0) { $0 + $1.trades } }
    public var tickers: Int { books.reduce(0) { $0 + $1.tickers } }

    public init(messages: Int, seed: UInt64) {
        let gen = BlastTapeGenerator(seed: seed)
        let symbols = BlastTapeGenerator.symbols
        var counts = [(diffs: Int, trades: Int, tickers: Int)](repeating: (0, 0, 0), count: symbols.count)
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: BlastTapeGenerator.maxMessage)
        defer { buf.deallocate() }
        let head = 11 // {"stream":"
        for _ in 0..<messages {
            let n = gen.next(into: buf)
            // The stream name says the symbol and the kind: "<symbol>@depth@100ms", "@aggTrade", "@bookTicker".
            var at = head
            while at < n && buf[at] != UInt8(ascii: "@") { at += 1 }
            let name = UnsafeBufferPointer(start: buf + head, count: at - head)
            guard let s = symbols.firstIndex(where: { $0.stream.elementsEqual(name) }), at + 1 < n else {
                preconditionFailure("BlastTapeExpectation: a tape message names no tape stream")
            }
            switch buf[at + 1] {
            case UInt8(ascii: "d"): counts[s].diffs += 1
            case UInt8(ascii: "a"): counts[s].trades += 1
            default: counts[s].tickers += 1
            }
        }
        books = symbols.indices.map { s in
            let b = gen.book(symbol: s)
            return Book(symbol: symbols[s].name, lastUpdateId: b.lastUpdateId,
                        bids: b.bids.map { Level(price: $0.0, quantity: $0.1) },
                        asks: b.asks.map { Level(price: $0.0, quantity: $0.1) },
                        diffs: counts[s].diffs, trades: counts[s].trades, tickers: counts[s].tickers)
        }
        self.messages = messages
        self.seed = seed
    }

    /// Given books (tests: an expectation made wrong on purpose).
    init(messages: Int, seed: UInt64, books: [Book]) {
        self.messages = messages
        self.seed = seed
        self.books = books
    }

    /// The first way `view` (a book read in place) differs from symbol
    /// `index`'s expected book, or nil when it is exactly the same: live,
    /// the same last update id, the same number of levels a side, every
    /// price and quantity equal.
    public func difference(symbol index: Int, in view: BookView) -> String? {
        let want = books[index]
        if view.state != .live { return "\(want.symbol): the book is \(view.state), not live" }
        if view.lastUpdateId != want.lastUpdateId {
            return "\(want.symbol): last update id \(view.lastUpdateId), the tape's is \(want.lastUpdateId)"
        }
        for (side, levels) in [(BookSide.bid, want.bids), (BookSide.ask, want.asks)] {
            let name = side == .bid ? "bids" : "asks"
            if view.depth(side) != levels.count {
                return "\(want.symbol): \(view.depth(side)) \(name), the tape's book has \(levels.count)"
            }
            var i = 0
            var found: String?
            view.forEach(side) { l in
                let w = levels[i]
                let p = l.price.rescaled(to: 8)?.mantissa, q = l.quantity.rescaled(to: 8)?.mantissa
                if p != w.price || q != w.quantity {
                    let expected = "\(Price(mantissa: w.price, scale: 8)) x \(Quantity(mantissa: w.quantity, scale: 8))"
                    found = "\(want.symbol): \(name) level \(i) is \(l.price) x \(l.quantity), the tape's is \(expected)"
                    return false
                }
                i += 1
                return i < levels.count
            }
            if let found { return found }
        }
        return nil
    }
}
