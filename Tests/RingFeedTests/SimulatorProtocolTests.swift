import Foundation
import Testing
import RingFeed
@testable import RingFeedSimulator

/// The simulator's protocol logic without sockets: the control-message JSON
/// parser, SUBSCRIBE & co. with every Binance error code, URL routes, fault
/// syntax and REST parameter checks, against a real SyntheticMarket.
@Suite struct SimulatorProtocolTests {
    let market = SyntheticMarket(symbols: ["BTCUSDT", "ETHUSDT"], seed: 7)

    func json(_ s: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
    }

    func errorCode(_ answer: String) throws -> Int? {
        (try json(answer)["error"] as? [String: Any])?["code"] as? Int
    }

    @Test func parserAcceptsJSONAndRejectsTheRest() throws {
        #expect(try JSONParser.parse(Array(#" {"a":[1,-2.5e3,true,false,null,"x\u00e9\n\ud83d\ude00"]} "#.utf8))
            == .object([("a", .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null,
                                      .string("xé\n😀")]))]))
        #expect(JSONValue.number("9223372036854775807").int64 == Int64.max)
        #expect(JSONValue.number("9223372036854775808").int64 == nil)
        #expect(JSONValue.number("1.0").int64 == nil)
        let bad = ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"\u{01}\"", "tru", "[1] 2", "{a:1}",
                   "\"\\ud800\"", "\"\\x\"", String(repeating: "[", count: 100) + String(repeating: "]", count: 100)]
        for b in bad {
            #expect(throws: JSONSyntaxError.self, "\(b)") { try JSONParser.parse(Array(b.utf8)) }
        }
        do {
            _ = try JSONParser.parse(Array("{\n  \"a\": }".utf8))
            Issue.record("parsed")
        } catch {
            #expect(error.line == 2 && error.column == 8)
        }
    }

    func run(_ text: String, _ subs: inout StreamSubscriptions, max: Int = 1024) -> ControlOutcome {
        ControlProtocol.handle(Array(text.utf8), subscriptions: &subs, serves: { market.serves(stream: $0) }, maxStreams: max)
    }

    @Test func controlRoundTrips() throws {
        var subs = StreamSubscriptions(combined: false)
        var o = run(#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}"#, &subs)
        #expect(o.answer == #"{"result":null,"id":1}"#)
        #expect(o.subscribed == ["btcusdt@aggTrade", "btcusdt@depth"])
        o = run(#"{"method":"SUBSCRIBE","params":["btcusdt@depth","ethusdt@trade"],"id":"abc123"}"#, &subs)
        #expect(o.answer == #"{"result":null,"id":"abc123"}"#)
        #expect(o.subscribed == ["ethusdt@trade"])
        o = run(#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#, &subs)
        #expect(o.answer == #"{"result":["btcusdt@aggTrade","btcusdt@depth","ethusdt@trade"],"id":3}"#)
        o = run(#"{"method":"UNSUBSCRIBE","params":["btcusdt@depth","ethusdt@bookTicker"],"id":312}"#, &subs)
        #expect(o.answer == #"{"result":null,"id":312}"#)
        #expect(o.unsubscribed == ["btcusdt@depth"])
        o = run(#"{"method":"GET_PROPERTY","params":["combined"],"id":2}"#, &subs)
        #expect(o.answer == #"{"result":false,"id":2}"#)
        o = run(#"{"method":"SET_PROPERTY","params":["combined",true],"id":5}"#, &subs)
        #expect(o.answer == #"{"result":null,"id":5}"#)
        #expect(subs.combined)
        o = run(#"{"method":"GET_PROPERTY","params":["combined"],"id":null}"#, &subs)
        #expect(o.answer == #"{"result":true,"id":null}"#)
        o = run(#"{"method":"LIST_SUBSCRIPTIONS","id":-9223372036854775808}"#, &subs)
        #expect(o.answer == #"{"result":["btcusdt@aggTrade","ethusdt@trade"],"id":-9223372036854775808}"#)
    }

    @Test func controlErrorCodes() throws {
        var subs = StreamSubscriptions(combined: false)
        let cases: [(String, Int)] = [
            (#"{"method":"GET_PROPERTY","params":["colour"],"id":1}"#, 0),
            (#"{"method":"SET_PROPERTY","params":["verbose",true],"id":1}"#, 0),
            (#"{"method":"SET_PROPERTY","params":["combined","yes"],"id":1}"#, 1),
            (#"{"method":"SET_PROPERTY","params":["combined",1],"id":1}"#, 1),
            (#"{"method":"SET_PROPERTY","params":["combined"],"id":1}"#, 1),
            (#"{"method":"SET_PROPERTY","params":["combined",true,false],"id":1}"#, 2),
            (#"{"method":"SET_PROPERTY","params":[1,true],"id":1}"#, 2),
            (#"{"method":"GET_PROPERTY","params":[],"id":1}"#, 2),
            (#"{"method":"GET_PROPERTY","params":["combined","x"],"id":1}"#, 2),
            (#"{"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":1}"#, 2),
            (#"{"method":"SUBSCRIBED","params":[],"id":1}"#, 2),
            (#"{"method":7,"params":[],"id":1}"#, 2),
            (#"{"params":[],"id":1}"#, 2),
            (#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"]}"#, 2),
            (#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1.5}"#, 2),
            (#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":true}"#, 2),
            (#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":"has space"}"#, 2),
            (#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":"\#(String(repeating: "a", count: 37))"}"#, 2),
            (#"{"method":"SUBSCRIBE","params":["btcusdt@nonsense"],"id":1}"#, 2),
            (#"{"method":"SUBSCRIBE","params":["BTCUSDT@aggTrade"],"id":1}"#, 2),
            (#"{"method":"SUBSCRIBE","params":[42],"id":1}"#, 2),
            (#"{"method":"SUBSCRIBE","params":"btcusdt@trade","id":1}"#, 2),
            (#"{"method":"SUBSCRIBE","method":"SUBSCRIBE","params":[],"id":1}"#, 2),
            (#"["SUBSCRIBE"]"#, 2),
            (#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1"#, 3),
            ("not json", 3),
        ]
        for (text, code) in cases {
            let o = run(text, &subs)
            #expect(try errorCode(o.answer) == code, "\(text) -> \(o.answer)")
            #expect(o.subscribed.isEmpty)
        }
        #expect(subs.count == 0)
        // The id is echoed in errors when it was valid.
        #expect(run(#"{"method":"GET_PROPERTY","params":["x"],"id":"q1"}"#, &subs).answer
            == #"{"error":{"code":0,"msg":"Unknown property"},"id":"q1"}"#)
        #expect(run("{", &subs).answer.hasPrefix(#"{"error":{"code":3,"msg":"Invalid JSON: expected "#))
    }

    @Test func streamLimitIsAllOrNothing() throws {
        var subs = StreamSubscriptions(combined: false)
        let four = #"{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@aggTrade","btcusdt@depth","btcusdt@bookTicker"],"id":1}"#
        #expect(run(four, &subs, max: 4).answer == #"{"result":null,"id":1}"#)
        // Already subscribed names do not count again.
        #expect(run(#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":2}"#, &subs, max: 4).answer == #"{"result":null,"id":2}"#)
        let o = run(#"{"method":"SUBSCRIBE","params":["btcusdt@trade","ethusdt@trade"],"id":3}"#, &subs, max: 4)
        #expect(try errorCode(o.answer) == 2)
        #expect(subs.count == 4 && !subs.contains("ethusdt@trade"))
    }

    @Test func routes() {
        let serves = { (s: String) in market.serves(stream: s) }
        func parse(_ t: String, venue: Venue = .spot, max: Int = 1024) -> Result<StreamRoute, StreamRoute.Failure> {
            StreamRoute.parse(target: t, venue: venue, serves: serves, maxStreams: max)
        }
        #expect(parse("/ws") == .success(StreamRoute(combined: false, streams: [], timeUnit: .millisecond)))
        #expect(parse("/ws/btcusdt@trade/ethusdt@trade?timeUnit=MICROSECOND")
            == .success(StreamRoute(combined: false, streams: ["btcusdt@trade", "ethusdt@trade"], timeUnit: .microsecond)))
        #expect(parse("/stream?streams=btcusdt@trade/btcusdt@depth@100ms&timeUnit=microsecond")
            == .success(StreamRoute(combined: true, streams: ["btcusdt@trade", "btcusdt@depth@100ms"], timeUnit: .microsecond)))
        #expect(parse("/stream") == .success(StreamRoute(combined: true, streams: [], timeUnit: .millisecond)))
        #expect(parse("/ws/btcusdt@nothing") == .failure(.badRequest("Invalid request: invalid stream btcusdt@nothing")))
        #expect(parse("/stream?streams=btcusdt@trade&timeUnit=SECOND") == .failure(.badRequest("Invalid request: invalid timeUnit SECOND")))
        #expect(parse("/ws/btcusdt@trade/ethusdt@trade", max: 1) != .success(StreamRoute(combined: false, streams: [], timeUnit: .millisecond)))
        #expect(parse("/api/v3/depth") == .failure(.notFound))
        #expect(parse("/public/ws/btcusdt@trade") == .failure(.notFound)) // spot has no /public
        let futures = SyntheticMarket(symbols: ["BTCUSDT"], seed: 1, venue: .usdmFutures)
        let fserves = { (s: String) in futures.serves(stream: s) }
        for t in ["/public/ws/btcusdt@aggTrade", "/market/ws/btcusdt@aggTrade", "/ws/btcusdt@aggTrade"] {
            #expect(StreamRoute.parse(target: t, venue: .usdmFutures, serves: fserves, maxStreams: 10)
                == .success(StreamRoute(combined: false, streams: ["btcusdt@aggTrade"], timeUnit: .millisecond)))
        }
        #expect(StreamRoute.parse(target: "/market/stream?streams=btcusdt@depth@500ms", venue: .usdmFutures, serves: fserves, maxStreams: 10)
            == .success(StreamRoute(combined: true, streams: ["btcusdt@depth@500ms"], timeUnit: .millisecond)))
    }

    @Test func faultSyntax() {
        #expect(SimulatorFault("drop:100") == .dropAfter(messages: 100))
        #expect(SimulatorFault("drop") == .dropAfter(messages: 0))
        #expect(SimulatorFault("stall") == .stall)
        #expect(SimulatorFault("gap:btcusdt:5") == .skipUpdateIds(symbol: "BTCUSDT", count: 5))
        #expect(SimulatorFault("gap:3") == .skipUpdateIds(symbol: nil, count: 3))
        #expect(SimulatorFault("malformed") == .malformedFrame)
        #expect(SimulatorFault("oversized") == .oversizedFrame(bytes: nil))
        #expect(SimulatorFault("oversized:5000000") == .oversizedFrame(bytes: 5_000_000))
        #expect(SimulatorFault("utf8") == .invalidUTF8)
        #expect(SimulatorFault("shutdown") == .serverShutdown(closeAfter: nil))
        #expect(SimulatorFault("shutdown:2.5") == .serverShutdown(closeAfter: .milliseconds(2500)))
        for bad in ["", "explode", "drop:x", "drop:-1", "gap:0", "oversized:0", "shutdown:soon", "gap:a:b:c"] {
            #expect(SimulatorFault(bad) == nil, "\(bad)")
        }
        #expect(SimulatorFault(kind: "drop", parameters: ["after": "7"]) == .dropAfter(messages: 7))
    }

    @Test func depthLimits() {
        func limit(_ s: String?, _ v: Venue) -> Int? { try? RESTRoutes.depthLimit(s, venue: v).get() }
        #expect(limit(nil, .spot) == 100)
        #expect(limit("5000", .spot) == 5000)
        #expect(limit("9999", .spot) == 5000)
        #expect(limit("0", .spot) == nil)
        #expect(limit("-5", .spot) == nil)
        #expect(limit("abc", .spot) == nil)
        #expect(limit(nil, .usdmFutures) == 500)
        #expect(limit("1000", .usdmFutures) == 1000)
        #expect(limit("7", .usdmFutures) == nil)
        #expect(limit("5000", .usdmFutures) == nil)
    }

    @Test func combinedWrapping() throws {
        let w = ExchangeSimulator.wrap(stream: "btcusdt@trade", Array(#"{"e":"trade"}"#.utf8))
        #expect(String(decoding: w, as: UTF8.self) == #"{"stream":"btcusdt@trade","data":{"e":"trade"}}"#)
    }
}
