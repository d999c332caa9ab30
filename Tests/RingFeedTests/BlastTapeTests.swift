import CRingFeed
import Foundation
import RingFeed
import RingFeedSimulator
import Testing

/// The pre-encoded tape of `ringfeed simulate --tape N` (issue 5's
/// end-to-end benchmark): the same bytes as the C generator in
/// bench/depth_tape.h, books a client can keep exactly, and the simulator
/// serving it on loopback. Every wait is bounded.
@Suite(.serialized) struct BlastTapeTests {
    /// CRC-32 (zlib's) of bytes, continuing from `crc`.
    static func crc32(_ bytes: UnsafeRawBufferPointer, _ crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    static func payloadCRC(seed: UInt64, messages: Int) -> (crc: UInt32, bytes: Int, snapshots: UInt32) {
        let gen = BlastTapeGenerator(seed: seed)
        var snap: UInt32 = 0
        for i in 0..<4 { snap = gen.snapshot(symbol: i, limit: 5000).withUnsafeBytes { crc32($0, snap) } }
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: BlastTapeGenerator.maxMessage)
        defer { buf.deallocate() }
        var crc: UInt32 = 0
        for _ in 0..<messages {
            let n = gen.next(into: buf)
            crc = crc32(UnsafeRawBufferPointer(start: buf, count: n), crc)
        }
        return (crc, gen.bytes, snap)
    }

    /// Golden values from the C generator: `build/bench/bench_e2e --tape-crc
    /// --messages 10000 [--seed 7]` prints them.
    @Test func sameBytesAsTheCGenerator() {
        let one = Self.payloadCRC(seed: 1, messages: 10000)
        #expect(one.bytes == 2_692_314)
        #expect(one.crc == 0x12DE_43B0)
        #expect(one.snapshots == 0xE17B_E774)
        let seven = Self.payloadCRC(seed: 7, messages: 10000)
        #expect(seven.bytes == 2_674_273)
        #expect(seven.crc == 0x2925_3639)
        #expect(seven.snapshots == 0x51A4_6F66)
    }

    /// The mix the issue asks for, over a longer tape.
    @Test func mixAndSize() {
        let tape = BlastTape(messages: 50000, seed: 1)
        var depth = 0, trades = 0, tickers = 0, levels = 0
        tape.frames.withUnsafeBytes { all in
            var at = 0
            var levelBuf = [rf_bn_level](repeating: rf_bn_level(), count: 64)
            while at < all.count {
                // Unmasked server text frames: 126 announces a 16-bit length.
                #expect(all[at] == 0x81)
                var len = Int(all[at + 1])
                var head = 2
                if len == 126 {
                    len = Int(all[at + 2]) << 8 | Int(all[at + 3])
                    head = 4
                }
                var ev = rf_bn_event()
                let rc = levelBuf.withUnsafeMutableBufferPointer {
                    rf_bn_scan(all.baseAddress!.advanced(by: at + head).assumingMemoryBound(to: UInt8.self), len,
                               $0.baseAddress, 64, &ev)
                }
                #expect(rc == 0)
                switch Int(ev.type) {
                case Int(RF_BN_DEPTH_UPDATE.rawValue):
                    depth += 1
                    let n = ev.u.depth.bid_count + ev.u.depth.ask_count
                    #expect(n >= 1 && n <= 20)
                    levels += n
                case Int(RF_BN_AGG_TRADE.rawValue): trades += 1
                case Int(RF_BN_BOOK_TICKER.rawValue): tickers += 1
                default: Issue.record("unexpected event type \(ev.type)")
                }
                at += head + len
            }
        }
        #expect(depth + trades + tickers == 50000)
        #expect(abs(Double(depth) / 500 - 70) < 1)
        #expect(abs(Double(trades) / 500 - 25) < 1)
        #expect(abs(Double(tickers) / 500 - 5) < 0.5)
        let average = Double(tape.payloadBytes) / 50000
        #expect(average > 255 && average < 280)
        #expect(tape.sliceStarts.last == tape.frames.count)
        #expect(tape.sliceMessages.reduce(0, +) == 50000)
    }

    /// Starting from the snapshots, every diff applies to an rf_book, every
    /// bookTicker matches the book, and the final books are the generator's.
    @Test func booksStayExact() throws {
        let messages = 30000
        let gen = BlastTapeGenerator(seed: 5)
        var books: [OpaquePointer] = []
        defer { books.forEach { rf_book_destroy($0) } }
        var levels = [rf_bn_level](repeating: rf_bn_level(), count: 10000)
        for i in 0..<4 {
            var cfg = rf_book_config(price_scale: 8, qty_scale: 8, max_levels: 0)
            var book: OpaquePointer?
            #expect(rf_book_create(&book, &cfg) == 0)
            books.append(book!)
            let snap = gen.snapshot(symbol: i, limit: 5000)
            var ev = rf_bn_event()
            let rc = snap.withUnsafeBufferPointer { s in
                levels.withUnsafeMutableBufferPointer { rf_bn_scan(s.baseAddress, s.count, $0.baseAddress, 10000, &ev) }
            }
            #expect(rc == 0 && Int(ev.type) == Int(RF_BN_PARTIAL_DEPTH.rawValue))
            #expect(rf_book_load_snapshot(book, ev.u.depth.final_update_id, ev.u.depth.bids, ev.u.depth.bid_count,
                                          ev.u.depth.asks, ev.u.depth.ask_count) == 0)
        }
        let names = BlastTapeGenerator.symbols.map(\.name)
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: BlastTapeGenerator.maxMessage)
        defer { buf.deallocate() }
        var applied = 0, checkedTickers = 0
        for _ in 0..<messages {
            let n = gen.next(into: buf)
            var ev = rf_bn_event()
            let rc = levels.withUnsafeMutableBufferPointer { rf_bn_scan(buf, n, $0.baseAddress, 64, &ev) }
            try #require(rc == 0)
            let symbol = String(decoding: UnsafeRawBufferPointer(start: ev.symbol.ptr, count: ev.symbol.len), as: UTF8.self)
            let book = books[try #require(names.firstIndex(of: symbol))]
            if Int(ev.type) == Int(RF_BN_DEPTH_UPDATE.rawValue) {
                #expect(ev.u.depth.first_update_id == rf_book_last_update_id(book) + 1)
                try #require(rf_book_apply_diff(book, &ev.u.depth, 0) == 0)
                applied += 1
            } else if Int(ev.type) == Int(RF_BN_BOOK_TICKER.rawValue) {
                var bid = rf_book_level(), ask = rf_book_level()
                #expect(rf_book_best(book, Int32(RF_BOOK_BID.rawValue), &bid) >= 0)
                #expect(rf_book_best(book, Int32(RF_BOOK_ASK.rawValue), &ask) >= 0)
                let t = ev.u.book_ticker
                #expect(t.update_id == rf_book_last_update_id(book))
                #expect(t.bid_price.scale == 8 && t.bid_price.mantissa == bid.price && t.bid_quantity.mantissa == bid.qty)
                #expect(t.ask_price.scale == 8 && t.ask_price.mantissa == ask.price && t.ask_quantity.mantissa == ask.qty)
                checkedTickers += 1
            }
        }
        #expect(applied > 20000 && checkedTickers > 1000)
        for i in 0..<4 {
            let want = gen.book(symbol: i)
            #expect(rf_book_state(books[i]) == Int32(RF_BOOK_LIVE.rawValue))
            #expect(rf_book_last_update_id(books[i]) == want.lastUpdateId)
            for (side, levels) in [(RF_BOOK_BID, want.bids), (RF_BOOK_ASK, want.asks)] {
                #expect(rf_book_depth(books[i], Int32(side.rawValue)) == Int32(levels.count))
                var out = [rf_book_level](repeating: rf_book_level(), count: levels.count)
                let n = rf_book_levels(books[i], Int32(side.rawValue), levels.count, &out)
                #expect(Int(n) == levels.count)
                #expect(out.map { [$0.price, $0.qty] } == levels.map { [$0.0, $0.1] })
            }
        }
    }

    /// `ringfeed simulate --tape`: each connection gets the whole tape, in
    /// order and byte for byte, and REST depth answers the starting snapshot.
    @Test func simulatorServesTheTape() async throws {
        let messages = 20000
        let tape = BlastTape(messages: messages, seed: 9)
        let sim = try await ExchangeSimulator.start(source: TapeMarket(tape: tape))
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let depth = try await HTTPClient.get("\(sim.httpURL)/api/v3/depth?symbol=SOLUSDT&limit=5000", on: loop)
        #expect(depth.status == 200)
        #expect(depth.body == BlastTapeGenerator(seed: 9).snapshot(symbol: 2, limit: 5000))
        let expected = Self.payloadCRC(seed: 9, messages: messages)
        for _ in 0..<2 {
            let received = Received()
            let ws = try await WebSocket.connect(
                to: "\(sim.webSocketURL)/stream?streams=btcusdt@depth@100ms/btcusdt@aggTrade", on: loop
            ) { _, m in received.add(m.bytes) }
            let deadline = ContinuousClock.now + .seconds(20)
            while received.state.count < messages && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            let s = received.state
            #expect(s.count == messages)
            #expect(s.bytes == expected.bytes)
            #expect(s.crc == expected.crc)
            _ = await ws.close()
        }
        let stats = await sim.statistics()
        #expect(stats.messagesSent == 2 * messages)
        await sim.stop()
    }

    final class Received: @unchecked Sendable {
        // @unchecked: the lock guards the counters (written on the loop thread, read by the test).
        private let lock = NSLock()
        private var count = 0, bytes = 0
        private var crc: UInt32 = 0
        func add(_ b: UnsafeRawBufferPointer) {
            let c = BlastTapeTests.crc32(b, lock.withLock { crc })
            lock.withLock {
                count += 1
                bytes += b.count
                crc = c
            }
        }
        var state: (count: Int, bytes: Int, crc: UInt32) { lock.withLock { (count, bytes, crc) } }
    }
}
