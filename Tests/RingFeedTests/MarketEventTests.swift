import CRingFeed
import Foundation
@testable import RingFeed
import Testing

/// Scans one message and hands the view to `body` (the view lives only inside).
private func withScanned<T>(_ text: String, _ body: (MarketEventView) throws -> T) throws -> T {
    let levels = UnsafeMutablePointer<rf_bn_level>.allocate(capacity: 64)
    defer { levels.deallocate() }
    var bytes = Array(text.utf8)
    var ev = rf_bn_event()
    let rc = bytes.withUnsafeMutableBufferPointer { rf_bn_scan($0.baseAddress, $0.count, levels, 64, &ev) }
    try #require(rc == 0, "scan failed: \(rc)")
    return try withUnsafePointer(to: &ev) { try body(MarketEventView($0)) }
}

private func jsonl(_ text: String, format: EventFormat = .jsonl) throws -> String {
    try withScanned(text) { view in
        var f = EventFormatter(format: format)
        var w = ByteWriter()
        f.write(view, to: &w)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

@Suite("Typed events and formats")
struct MarketEventTests {
    static let aggTrade = #"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"0.00100000","q":"100.00000000","f":100,"l":105,"T":1672515782134,"m":true,"M":true}}"#
    static let spotDepth = #"{"stream":"ethusdt@depth5","data":{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"],["0.0027","0.00000000"]]}}"#
    static let futuresDepth = #"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"T":2,"s":"BTCUSDT","U":10,"u":12,"pu":9,"b":[["64000.10","0.500"]],"a":[]}}"#
    static let spotBookTicker = #"{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#

    @Test("an aggTrade becomes an owned event with exact values")
    func ownedAggTrade() throws {
        let event = try withScanned(Self.aggTrade) { $0.event }
        guard case let .aggTrade(t) = event else { Issue.record("not an aggTrade: \(event)"); return }
        #expect(t.symbol == "BTCUSDT")
        #expect(t.aggTradeId == 12345 && t.firstTradeId == 100 && t.lastTradeId == 105)
        #expect(t.price.description == "0.00100000" && t.quantity.description == "100.00000000")
        #expect(t.price == Price("0.001"))
        #expect(t.buyerIsMaker && t.tradeTime == 1672515782134 && t.eventTime == 1672515782136)
    }

    @Test("spot partial depth takes its symbol from the stream name; levels read in place")
    func partialDepth() throws {
        try withScanned(Self.spotDepth) { view in
            #expect(view.symbol == "ETHUSDT")
            #expect(view.eventTime == nil)
            #expect(view.bids.map(\.description) == ["10@0.0024"])
            #expect(view.asks.count == 2 && view.asks[1].quantity == Quantity("0"))
            guard case let .partialDepth(d) = view.event else { Issue.record("kind"); return }
            #expect(d.lastUpdateId == 160 && d.symbol == "ETHUSDT" && d.asks.count == 2)
        }
    }

    @Test("jsonl: exactly the documented keys, decimals as the exchange wrote them")
    func jsonLines() throws {
        #expect(try jsonl(Self.aggTrade) == #"{"type":"aggTrade","stream":"btcusdt@aggTrade","symbol":"BTCUSDT","eventTime":1672515782136,"aggTradeId":12345,"price":"0.00100000","quantity":"100.00000000","firstTradeId":100,"lastTradeId":105,"tradeTime":1672515782134,"buyerIsMaker":true}"# + "\n")
        #expect(try jsonl(Self.spotDepth) == #"{"type":"partialDepth","stream":"ethusdt@depth5","symbol":"ETHUSDT","lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"],["0.0027","0.00000000"]]}"# + "\n")
        #expect(try jsonl(Self.futuresDepth) == #"{"type":"depthUpdate","stream":"btcusdt@depth@100ms","symbol":"BTCUSDT","eventTime":1,"firstUpdateId":10,"finalUpdateId":12,"prevFinalUpdateId":9,"bids":[["64000.10","0.500"]],"asks":[]}"# + "\n")
        // Spot bookTicker has no event time: the key is left out.
        #expect(try jsonl(Self.spotBookTicker) == #"{"type":"bookTicker","stream":"bnbusdt@bookTicker","symbol":"BNBUSDT","updateId":400900217,"bidPrice":"25.35190000","bidQuantity":"31.21000000","askPrice":"25.36520000","askQuantity":"40.66000000"}"# + "\n")
    }

    @Test("csv: a header before the first row of each type; table: one aligned line")
    func csvAndTable() throws {
        let csv = try jsonl(Self.aggTrade, format: .csv).split(separator: "\n")
        #expect(csv.count == 2)
        #expect(csv[0] == "type,stream,symbol,eventTime,aggTradeId,price,quantity,firstTradeId,lastTradeId,tradeTime,buyerIsMaker")
        #expect(csv[1] == "aggTrade,btcusdt@aggTrade,BTCUSDT,1672515782136,12345,0.00100000,100.00000000,100,105,1672515782134,true")
        let table = try jsonl(Self.aggTrade, format: .table)
        #expect(table.hasPrefix("19:43:02.136 btcusdt@aggTrade"))
        #expect(table.contains("SELL 100.00000000 @ 0.00100000"))
    }

    @Test("ByteWriter writes integers at the edges")
    func integers() {
        var w = ByteWriter()
        for v: Int64 in [0, 7, -7, 1_000_000, .max, .min] {
            w.int(v)
            w.byte(32)
        }
        #expect(String(decoding: w.bytes, as: UTF8.self) == "0 7 -7 1000000 9223372036854775807 -9223372036854775808 ")
    }
}

@Suite("Control messages")
struct ControlMessageTests {
    @Test("requests encode as Binance documents them, all streams in one request")
    func encoding() {
        #expect(ControlRequest.subscribe(["btcusdt@aggTrade", "btcusdt@depth"], id: 1).json
                == #"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}"#)
        #expect(ControlRequest.unsubscribe(["btcusdt@depth"], id: 312).json
                == #"{"method":"UNSUBSCRIBE","params":["btcusdt@depth"],"id":312}"#)
        #expect(ControlRequest.listSubscriptions(id: 3).json == #"{"method":"LIST_SUBSCRIPTIONS","id":3}"#)
        #expect(ControlRequest.setProperty("combined", true, id: 5).json
                == #"{"method":"SET_PROPERTY","params":["combined",true],"id":5}"#)
        #expect(ControlRequest.getProperty("combined", id: 2).json
                == #"{"method":"GET_PROPERTY","params":["combined"],"id":2}"#)
    }

    @Test("LIST_SUBSCRIPTIONS results parse; anything else is refused")
    func listResult() {
        #expect(parseJSONStringArray(Array(#"["btcusdt@aggTrade", "a\"b\u00e9"]"#.utf8)) == ["btcusdt@aggTrade", "a\"bé"])
        #expect(parseJSONStringArray(Array("[]".utf8)) == [])
        #expect(parseJSONStringArray(Array(" [ ] ".utf8)) == [])
        for bad in ["", "null", "[1]", "[\"a\"", "[\"a\",]", "[\"a\"] x", "{\"a\":1}", "[\"\\x\"]"] {
            #expect(parseJSONStringArray(Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test("stream URLs: combined, empty, microseconds; futures routing")
    func urls() {
        #expect(MarketFeed.combinedURL(base: "wss://stream.binance.com:9443", streams: ["a@trade", "b@depth"])
                == "wss://stream.binance.com:9443/stream?streams=a@trade/b@depth")
        #expect(MarketFeed.combinedURL(base: "ws://127.0.0.1:9/", streams: []) == "ws://127.0.0.1:9/stream")
        #expect(MarketFeed.combinedURL(base: "ws://h:1", streams: ["a@trade"], microsecondTimes: true)
                == "ws://h:1/stream?streams=a@trade&timeUnit=MICROSECOND")
        #expect(MarketStreams.futuresRoute("btcusdt@depth@100ms") == "/public")
        #expect(MarketStreams.futuresRoute("btcusdt@depth5") == "/public")
        #expect(MarketStreams.futuresRoute("btcusdt@bookTicker") == "/public")
        #expect(MarketStreams.futuresRoute("btcusdt@aggTrade") == "/market")
        #expect(MarketStreams.futuresRoute("btcusdt@kline_1m") == "/market")
    }
}
