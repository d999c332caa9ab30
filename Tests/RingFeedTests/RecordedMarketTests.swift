import Foundation
import RingFeed
import RingFeedSimulator
import Testing

/// RecordedMarket against the recorded sessions in ../shared/data/binance.
@Suite("Recorded market")
struct RecordedMarketTests {
    static let dir = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/binance").path
    static func file(_ name: String) -> String { dir + "/" + name }

    /// The recorded lines after the URL line: (µs, message text).
    static func recordedLines(_ name: String) throws -> [(Int64, String)] {
        let text = try String(contentsOfFile: file(name), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let colon = line.firstIndex(of: ":")!
            let time = line[..<colon].split(separator: ".")
            let frac = String((String(time.count > 1 ? time[1] : "") + "000000").prefix(6))
            return (Int64(time[0])! * 1_000_000 + Int64(frac)!, String(line[line.index(colon, offsetBy: 2)...]))
        }
    }

    static func market(_ venue: Venue, pace: RecordedMarket.Pace = .asFastAsPossible) throws -> RecordedMarket {
        let prefix = venue == .spot ? "BINANCE" : "BINANCE_FUTURES"
        return try RecordedMarket(streamFile: file(prefix + ".ws.1.0"), snapshotFile: file(prefix + ".http.0.0"),
                                  exchangeInfoFile: file(prefix + ".0"), pace: pace)
    }

    @Test("every recorded message is replayed byte-identically, in order, under its stream name", arguments: [Venue.spot, .usdmFutures])
    func replay(venue: Venue) throws {
        let market = try Self.market(venue)
        let lines = try Self.recordedLines(venue == .spot ? "BINANCE.ws.1.0" : "BINANCE_FUTURES.ws.1.0")
        #expect(market.venue == venue)
        #expect(market.symbols == (venue == .spot ? ["NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"]
                                                  : ["SUSHIUSDT", "AKROUSDT", "KEEPUSDT", "CTKUSDT"]))
        var out: [MarketMessage] = []
        market.advance(to: 1_000_000, wants: { _ in true }) { out.append($0) }
        #expect(market.finished && market.messageCount == lines.count)
        #expect(out.count == lines.count && lines.count > 200)
        for (m, line) in zip(out, lines) {
            // The server's combined wrapper around the served bytes is the recorded line.
            let wrapped = #"{"stream":""# + m.stream + #"","data":"# + String(decoding: m.render(.millisecond), as: UTF8.self) + "}"
            #expect(wrapped == line.1)
            #expect(market.serves(stream: m.stream))
        }
        // A later advance has nothing left.
        var more = 0
        market.advance(to: 9_000_000, wants: { _ in true }) { _ in more += 1 }
        #expect(more == 0)
    }

    @Test("recorded pace: each message comes out once its recorded offset has elapsed since the first advance")
    func pace() throws {
        let market = try Self.market(.usdmFutures, pace: .recorded)
        let lines = try Self.recordedLines("BINANCE_FUTURES.ws.1.0")
        let t0: Int64 = 5_000_000_000
        var seen = 0
        var now = t0
        var wanted: Set<String> = []
        // 3 ms steps through the first 4 recorded seconds, one stream filtered out.
        while now <= t0 + 4_000_000 {
            market.advance(to: now, wants: { $0 != "sushiusdt@bookTicker" }) { m in
                wanted.insert(m.stream)
                while lines[seen].1.contains(#""stream":"sushiusdt@bookTicker""#) { seen += 1 }
                let offset = lines[seen].0 - lines[0].0
                #expect(offset <= now - t0 && offset > now - t0 - 3000, "message \(seen)")
                #expect(m.render(.millisecond).count > 0)
                seen += 1
            }
            now += 3000
        }
        #expect(seen > 50 && seen < lines.count)
        #expect(!wanted.contains("sushiusdt@bookTicker"))
        let twice = try Self.market(.usdmFutures, pace: .speed(2))
        var n = 0
        twice.advance(to: t0, wants: { _ in true }) { _ in n += 1 }
        twice.advance(to: t0 + 2_000_000, wants: { _ in true }) { _ in n += 1 }
        #expect(n == lines.filter { $0.0 - lines[0].0 <= 4_000_000 }.count)
    }

    @Test("startsWhenWatched: the clock waits for the first advance that wants a session stream")
    func startsWhenWatched() throws {
        let lines = try Self.recordedLines("BINANCE.ws.1.0")
        let market = try RecordedMarket(streamFile: Self.file("BINANCE.ws.1.0"), pace: .recorded, startsWhenWatched: true)
        var n = 0
        // Ten recorded minutes pass with nobody watching: nothing starts.
        for t in stride(from: Int64(0), through: 600_000_000, by: 1_000_000) {
            market.advance(to: 1_000_000_000 + t, wants: { _ in false }) { _ in n += 1 }
        }
        #expect(n == 0 && market.position == 0)
        // A watcher arrives: the session starts from its first message.
        let t0: Int64 = 2_000_000_000
        var first: [UInt8]?
        market.advance(to: t0, wants: { _ in true }) { m in
            n += 1
            if first == nil { first = m.render(.millisecond) }
        }
        market.advance(to: t0 + 60_000_000, wants: { _ in true }) { _ in n += 1 }
        #expect(n == lines.count)
        #expect(first.map { String(decoding: $0, as: UTF8.self) }.map { lines[0].1.contains($0) } == true)
    }

    @Test("µs times: the digits of E, T (and kline t) gain three zeros, nothing else changes", arguments: [Venue.spot, .usdmFutures])
    func microseconds(venue: Venue) throws {
        let market = try Self.market(venue)
        var checked = 0
        market.advance(to: 1, wants: { _ in true }) { m in
            let ms = try! JSONSerialization.jsonObject(with: Data(m.render(.millisecond))) as! [String: Any]
            let us = try! JSONSerialization.jsonObject(with: Data(m.render(.microsecond))) as! [String: Any]
            #expect(Set(ms.keys) == Set(us.keys))
            for (key, value) in ms {
                if key == "E" || key == "T" {
                    #expect(int(us[key]) == int(value) * 1000, "\(m.stream) \(key)")
                    checked += 1
                } else if key == "k" {
                    let k = value as! [String: Any], ku = us["k"] as! [String: Any]
                    #expect(int(ku["t"]) == int(k["t"]) * 1000 && int(ku["T"]) == int(k["T"]) * 1000)
                    #expect(int(ku["f"]) == int(k["f"]) && ku["o"] as? String == k["o"] as? String)
                } else {
                    #expect(String(describing: us[key]!) == String(describing: value), "\(m.stream) \(key)")
                }
            }
            // Only digits were added.
            #expect(m.render(.microsecond).count == m.render(.millisecond).count + 3 * ((ms["E"] != nil ? 1 : 0) + (ms["T"] != nil ? 1 : 0) + (ms["k"] != nil ? 2 : 0)))
        }
        #expect(checked > 150)
    }

    @Test("a snapshot request gets the recorded snapshot at the replay position (the first one before any)")
    func snapshotChoice() throws {
        // Two recorded snapshot lines of NKNUSDT (from BINANCE.http.0.0), the
        // second re-timed 2 s later with its lastUpdateId changed, so which
        // one is served shows.
        let line = try String(contentsOfFile: Self.file("BINANCE.http.0.0"), encoding: .utf8)
            .split(separator: "\n").first { $0.contains("symbol=NKNUSDT") }!
        let later = line.replacingOccurrences(of: "-> 1633998512.320639:", with: "-> 1633998514.320639:")
            .replacingOccurrences(of: #"{"lastUpdateId":499869752,"#, with: #"{"lastUpdateId":499869999,"#)
        #expect(later != line)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("recorded-snapshots-\(getpid()).txt")
        try (line + "\n" + later + "\n").write(to: tmp, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let market = try RecordedMarket(streamFile: Self.file("BINANCE.ws.1.0"), snapshotFile: tmp.path, pace: .recorded)
        func lastUpdateId() -> Int64 {
            let body = market.depthSnapshot(symbol: "nknusdt", limit: 1000)!
            return int((try! JSONSerialization.jsonObject(with: Data(body)) as! [String: Any])["lastUpdateId"])
        }
        #expect(lastUpdateId() == 499_869_752)               // before the replay starts
        let t0: Int64 = 10_000_000
        market.advance(to: t0, wants: { _ in false }) { _ in }
        #expect(lastUpdateId() == 499_869_752)               // 1633998512.063: none yet, the first
        market.advance(to: t0 + 1_000_000, wants: { _ in false }) { _ in }
        #expect(lastUpdateId() == 499_869_752)               // 513.06: the first
        market.advance(to: t0 + 2_300_000, wants: { _ in false }) { _ in }
        #expect(lastUpdateId() == 499_869_999)               // 514.36: the second
        #expect(market.depthSnapshot(symbol: "BLZETH", limit: 100) == nil)
        // limit cuts both sides.
        let five = try JSONSerialization.jsonObject(with: Data(market.depthSnapshot(symbol: "NKNUSDT", limit: 5)!)) as! [String: Any]
        let full = try JSONSerialization.jsonObject(with: Data(market.depthSnapshot(symbol: "NKNUSDT", limit: 5000)!)) as! [String: Any]
        #expect((five["bids"] as! [[String]]) == Array((full["bids"] as! [[String]]).prefix(5)))
        #expect((five["asks"] as! [[String]]) == Array((full["asks"] as! [[String]]).prefix(5)))
        #expect((full["bids"] as! [[String]]).count > 100)
    }

    @Test("a client that buffers, fetches the served snapshot and applies diffs per Binance's rules syncs without a gap",
          arguments: [Venue.spot, .usdmFutures])
    func clientSync(venue: Venue) throws {
        let market = try Self.market(venue, pace: .recorded)
        var clients: [String: ClientBook] = [:]
        var buffers: [String: [[String: Any]]] = [:]
        var applied = 0
        var now: Int64 = 1_000_000
        while !market.finished && now < 1_000_000 + 120_000_000 {
            market.advance(to: now, wants: { $0.contains("@depth") }) { m in
                let e = try! JSONSerialization.jsonObject(with: Data(m.render(.millisecond))) as! [String: Any]
                buffers[e["s"] as! String, default: []].append(e)
            }
            for (symbol, events) in buffers where !events.isEmpty {
                if clients[symbol] == nil {
                    var c = ClientBook(futures: venue == .usdmFutures)
                    c.load(snapshot: market.depthSnapshot(symbol: symbol, limit: 1000)!)
                    clients[symbol] = c
                }
                for e in events {
                    let before = clients[symbol]!.previousU
                    let ok = clients[symbol]!.apply(e)
                    #expect(ok, "\(symbol) U=\(int(e["U"])) u=\(int(e["u"]))")
                    if clients[symbol]!.previousU != before { applied += 1 }
                }
                buffers[symbol] = []
            }
            now += 50_000
        }
        #expect(market.finished)
        #expect(clients.count == 4 && clients.values.allSatisfy { $0.gaps == 0 && $0.previousU != nil })
        #expect(applied > 100)
        // The books are sane: best bid below best ask.
        for c in clients.values {
            let bid = c.bids.keys.map { Price($0)! }.max()!, ask = c.asks.keys.map { Price($0)! }.min()!
            #expect(bid < ask)
        }
    }

    @Test("exchangeInfo is the recorded response; a symbol list keeps only those entries", arguments: [Venue.spot, .usdmFutures])
    func exchangeInfo(venue: Venue) throws {
        let market = try Self.market(venue)
        let file = try String(contentsOfFile: Self.file(venue == .spot ? "BINANCE.0" : "BINANCE_FUTURES.0"), encoding: .utf8)
        let recorded = String(file.split(separator: "\n")[0].split(separator: ": ", maxSplits: 1)[1])
        #expect(String(decoding: market.exchangeInfo(symbols: nil), as: UTF8.self) == recorded)
        let wanted = venue == .spot ? ["NKNUSDT", "LRCBTC"] : ["SUSHIUSDT", "BTCUSDT"]
        let some = try JSONSerialization.jsonObject(with: Data(market.exchangeInfo(symbols: wanted))) as! [String: Any]
        let all = try JSONSerialization.jsonObject(with: Data(recorded.utf8)) as! [String: Any]
        #expect((some["symbols"] as! [[String: Any]]).map { $0["symbol"] as! String }.sorted() == wanted.sorted())
        #expect(some["serverTime"] as? Int == all["serverTime"] as? Int)
        #expect((all["symbols"] as! [Any]).count > 100)
        // Without the file: the session's symbols.
        let bare = try RecordedMarket(streamFile: Self.file(venue == .spot ? "BINANCE.ws.1.0" : "BINANCE_FUTURES.ws.1.0"))
        let list = try JSONSerialization.jsonObject(with: Data(bare.exchangeInfo(symbols: nil))) as! [String: Any]
        #expect((list["symbols"] as! [[String: Any]]).map { $0["symbol"] as! String } == bare.symbols)
        #expect(bare.depthSnapshot(symbol: bare.symbols[0], limit: 100) == nil)
        #expect(throws: RecordedMarket.Error.self) { try RecordedMarket(streamFile: "/nonexistent/stream") }
    }
}
