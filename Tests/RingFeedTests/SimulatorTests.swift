import Foundation
import RingFeed
import RingFeedSimulator
import Testing

/// The exchange simulator end to end on loopback, against the real
/// SyntheticMarket: streams, control messages, limits (scaled down), faults
/// as a client sees them, REST through HTTPClient and urllib, TLS.
/// Every wait is bounded.
@Suite(.serialized) struct SimulatorTests {
    static let symbols = ["BTCUSDT", "ETHUSDT"]

    func withSimulator(
        venue: Venue = .spot,
        eventsPerSecond: Double = 400,
        _ configure: (inout SimulatorConfiguration) -> Void = { _ in },
        _ body: (ExchangeSimulator, EventLoop) async throws -> Void
    ) async throws {
        var config = SimulatorConfiguration()
        config.limits.maxIncomingMessages = 1000 // tests about the rate limit lower it again
        configure(&config)
        let market = SyntheticMarket(symbols: Self.symbols, seed: 42, venue: venue,
                                     configuration: .init(eventsPerSecond: eventsPerSecond))
        let sim = try await ExchangeSimulator.start(source: market, configuration: config)
        let loop = try EventLoop()
        do {
            try await body(sim, loop)
        } catch {
            loop.shutdown()
            await sim.stop()
            throw error
        }
        loop.shutdown()
        await sim.stop()
    }

    /// A client whose messages land in an inbox and whose end is recorded.
    final class Client: @unchecked Sendable {
        // @unchecked: the lock guards the mutable state.
        let ws: WebSocket
        let inbox: Inbox
        private let lock = NSLock()
        private var info: WebSocketCloseInfo?
        private var pingCount = 0
        private var pongCount = 0

        init(_ url: String, configuration: WebSocketConfiguration = WebSocketConfiguration(), loop: EventLoop) async throws {
            let inbox = Inbox()
            self.inbox = inbox
            ws = try await WebSocket.connect(to: url, configuration: configuration, on: loop) { _, m in inbox.add(m.message) }
            let me = self
            loop.execute {
                me.ws.onPing = { _, _ in me.lock.withLock { me.pingCount += 1 } }
                me.ws.onPong = { _, _ in me.lock.withLock { me.pongCount += 1 } }
            }
            Task { let i = await me.ws.closed(); me.lock.withLock { me.info = i } }
        }

        var closeInfo: WebSocketCloseInfo? { lock.withLock { info } }
        var pings: Int { lock.withLock { pingCount } }
        var pongs: Int { lock.withLock { pongCount } }

        func waitClosed(_ timeout: Duration = .seconds(5)) async -> WebSocketCloseInfo? {
            let deadline = ContinuousClock.now + timeout
            while closeInfo == nil && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
            return closeInfo
        }

        /// JSON objects received so far.
        var objects: [[String: Any]] { inbox.all.compactMap { jsonObject($0.data) } }

        /// Waits (bounded) for an answer to the control request with this id.
        func answer(id: Int, timeout: Duration = .seconds(5)) async -> [String: Any]? {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let a = objects.first(where: { ($0["id"] as? Int) == id }) { return a }
                try? await Task.sleep(for: .milliseconds(2))
            }
            return nil
        }

        func send(_ text: String) { ws.send(text: text) }
    }

    @Test func rawAndCombinedConnectionsGetWellFormedEvents() async throws {
        try await withSimulator { sim, loop in
            let raw = try await Client("\(sim.webSocketURL)/ws/btcusdt@aggTrade", loop: loop)
            let got = await raw.inbox.wait(for: 10)
            #expect(got.count >= 10)
            for o in raw.objects {
                #expect(o["e"] as? String == "aggTrade")
                #expect(o["s"] as? String == "BTCUSDT")
                #expect(String((o["E"] as? Int) ?? 0).count == 13) // milliseconds
                #expect(Double(o["p"] as? String ?? "") != nil && Double(o["q"] as? String ?? "") != nil)
            }
            let url = "\(sim.webSocketURL)/stream?streams=btcusdt@trade/ethusdt@depth@100ms&timeUnit=MICROSECOND"
            let combined = try await Client(url, loop: loop)
            _ = await combined.inbox.wait(for: 20)
            var seen = Set<String>()
            for o in combined.objects {
                let stream = o["stream"] as? String ?? ""
                let data = o["data"] as? [String: Any] ?? [:]
                seen.insert(stream)
                #expect(stream == "btcusdt@trade" || stream == "ethusdt@depth@100ms")
                #expect(data["e"] as? String == (stream == "btcusdt@trade" ? "trade" : "depthUpdate"))
                #expect(String((data["E"] as? Int) ?? 0).count == 16) // microseconds
            }
            #expect(seen == ["btcusdt@trade", "ethusdt@depth@100ms"])
            #expect(await sim.statistics().openConnections == 2)
        }
    }

    @Test func controlMessagesRoundTripOverTheSocket() async throws {
        try await withSimulator { sim, loop in
            let c = try await Client("\(sim.webSocketURL)/ws", loop: loop)
            c.send(#"{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","ethusdt@aggTrade"],"id":1}"#)
            #expect(await c.answer(id: 1).map { $0.keys.sorted() } == ["id", "result"])
            let deadline = ContinuousClock.now + .seconds(5)
            while !c.objects.contains(where: { $0["b"] != nil && $0["s"] as? String == "BTCUSDT" }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(c.objects.contains { $0["b"] != nil && $0["a"] != nil && $0["s"] as? String == "BTCUSDT" })
            c.send(#"{"method":"LIST_SUBSCRIPTIONS","id":2}"#)
            #expect(await c.answer(id: 2)?["result"] as? [String] == ["btcusdt@bookTicker", "ethusdt@aggTrade"])
            c.send(#"{"method":"UNSUBSCRIBE","params":["btcusdt@bookTicker"],"id":3}"#)
            #expect(await c.answer(id: 3) != nil)
            c.send(#"{"method":"SET_PROPERTY","params":["combined",true],"id":4}"#)
            #expect(await c.answer(id: 4) != nil)
            c.send(#"{"method":"GET_PROPERTY","params":["combined"],"id":5}"#)
            #expect(await c.answer(id: 5)?["result"] as? Bool == true)
            // From now on: wrapped aggTrades of ETHUSDT only.
            let mark = c.inbox.all.count
            _ = await c.inbox.wait(for: mark + 10)
            let later = c.inbox.all.dropFirst(mark).compactMap { jsonObject($0.data) }.filter { $0["id"] == nil }
            #expect(!later.isEmpty)
            for o in later {
                #expect(o["stream"] as? String == "ethusdt@aggTrade")
                #expect((o["data"] as? [String: Any])?["s"] as? String == "ETHUSDT")
            }
            // Each error code, over the wire.
            let bad: [(String, Int)] = [
                (#"{"method":"GET_PROPERTY","params":["nope"],"id":10}"#, 0),
                (#"{"method":"SET_PROPERTY","params":["combined","yes"],"id":11}"#, 1),
                (#"{"method":"SUBSCRIBE","params":["btcusdt@bogus"],"id":12}"#, 2),
                (#"{"method":"FROBNICATE","id":13}"#, 2),
                (#"{"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":14}"#, 2),
            ]
            for (text, code) in bad {
                c.send(text)
                let id = Int(text.split(separator: ":").last!.dropLast())!
                #expect((await c.answer(id: id)?["error"] as? [String: Any])?["code"] as? Int == code, "\(text)")
            }
            c.send("{not json")
            let deadline2 = ContinuousClock.now + .seconds(5)
            while !c.objects.contains(where: { ($0["error"] as? [String: Any])?["code"] as? Int == 3 }) && ContinuousClock.now < deadline2 {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(c.objects.contains { ($0["error"] as? [String: Any])?["code"] as? Int == 3 })
            #expect(c.closeInfo == nil)
        }
    }

    @Test func rateLimitClosesAnAbusiveClientAndSparesAPacedOne() async throws {
        try await withSimulator(eventsPerSecond: 20, { $0.limits.maxIncomingMessages = 5 }) { sim, loop in
            let paced = try await Client("\(sim.webSocketURL)/ws", loop: loop)
            let abusive = try await Client("\(sim.webSocketURL)/ws", loop: loop)
            for i in 1...8 { abusive.send(#"{"method":"LIST_SUBSCRIPTIONS","id":\#(i)}"#) }
            let info = await abusive.waitClosed()
            #expect(info?.code == 1008)
            #expect(abusive.objects.filter { $0["result"] != nil }.count == 5)
            for i in 1...7 {
                paced.send(#"{"method":"LIST_SUBSCRIPTIONS","id":\#(i)}"#)
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(await paced.answer(id: 7) != nil)
            #expect(paced.closeInfo == nil)
            // Pings count too.
            let pinger = try await Client("\(sim.webSocketURL)/ws", loop: loop)
            for _ in 0..<8 { pinger.ws.ping() }
            #expect(await pinger.waitClosed()?.code == 1008)
            #expect(await sim.statistics().closedForRate == 2)
        }
    }

    @Test func streamLimitRefusesOneStreamTooMany() async throws {
        try await withSimulator({ $0.limits.maxStreamsPerConnection = 3 }) { sim, loop in
            let c = try await Client("\(sim.webSocketURL)/ws", loop: loop)
            c.send(#"{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@aggTrade","btcusdt@depth"],"id":1}"#)
            #expect(await c.answer(id: 1)?["error"] == nil)
            c.send(#"{"method":"SUBSCRIBE","params":["ethusdt@trade"],"id":2}"#)
            #expect((await c.answer(id: 2)?["error"] as? [String: Any])?["code"] as? Int == 2)
            c.send(#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#)
            #expect((await c.answer(id: 3)?["result"] as? [String])?.count == 3)
            // In the URL: the upgrade is refused.
            await #expect(throws: RingFeedError.self) {
                _ = try await Client("\(sim.webSocketURL)/stream?streams=btcusdt@trade/btcusdt@aggTrade/btcusdt@depth/ethusdt@trade", loop: loop)
            }
        }
    }

    @Test func unknownStreamInTheURLIsRefusedWith400AndJSON() async throws {
        try await withSimulator { sim, _ in
            let (status, out) = try runPython("sim_peer.py", ["upgrade", String(sim.port), "/ws/btcusdt@bogus"], timeout: 20)
            #expect(status == 0, "\(out)")
            let o = jsonObject(Data(out.utf8)) ?? [:]
            #expect(o["status"] as? Int == 400)
            #expect(((o["json"] as? [String: Any])?["error"] as? [String: Any])?["code"] as? Int == 2)
            let (_, out2) = try runPython("sim_peer.py", ["upgrade", String(sim.port), "/nowhere"], timeout: 20)
            #expect(jsonObject(Data(out2.utf8))?["status"] as? Int == 404)
            #expect(await sim.statistics().refusedUpgrades == 2)
        }
    }

    @Test func pongTimeoutDropsAClientThatDoesNotAnswerPings() async throws {
        try await withSimulator({
            $0.limits.pingInterval = .milliseconds(200)
            $0.limits.pongTimeout = .milliseconds(700)
        }) { sim, loop in
            // The core answers pings by itself: this one survives.
            let polite = try await Client("\(sim.webSocketURL)/ws/btcusdt@aggTrade", loop: loop)
            let (status, out) = try runPython("sim_peer.py", ["silent", String(sim.port), "/ws/btcusdt@aggTrade", "4"], timeout: 20)
            #expect(status == 0, "\(out)")
            let o = jsonObject(Data(out.utf8)) ?? [:]
            #expect((o["pings"] as? Int ?? 0) >= 2)
            #expect((o["data"] as? Int ?? 0) > 0)
            let eof = o["eof_after"] as? Double
            #expect(eof != nil && eof! > 0.6 && eof! < 2.5, "\(out)")
            #expect(o["close_code"] is NSNull) // dropped, no close frame
            #expect(polite.closeInfo == nil)
            #expect(polite.pings >= 5)
            #expect(await sim.statistics().closedForPongTimeout == 1)
        }
    }

    @Test func maximumAgeClosesAfterAServerShutdownNotice() async throws {
        try await withSimulator({
            $0.limits.maxConnectionAge = .milliseconds(800)
            $0.limits.shutdownNotice = .milliseconds(400)
        }) { sim, loop in
            let start = ContinuousClock.now
            let c = try await Client("\(sim.webSocketURL)/ws/btcusdt@aggTrade", loop: loop)
            let info = await c.waitClosed()
            let elapsed = ContinuousClock.now - start
            #expect(info?.code == 1001)
            #expect(elapsed > .milliseconds(700) && elapsed < .seconds(3))
            let notice = c.objects.first { $0["e"] as? String == "serverShutdown" }
            #expect(notice?["E"] is Int)
            #expect(await sim.statistics().closedForAge == 1)
        }
    }

    @Test func faultsAsClientsSeeThem() async throws {
        try await withSimulator { sim, loop in
            let url = "\(sim.webSocketURL)/ws/btcusdt@aggTrade/ethusdt@aggTrade"
            // Drop after N messages: TCP ends without a close frame.
            let d = try await Client(url, loop: loop)
            _ = await d.inbox.wait(for: 1)
            #expect(await sim.inject(.dropAfter(messages: 20)) == 1)
            // Messages sent before the fault took effect may still be on
            // their way (one taker order makes several aggTrades at once):
            // after a pause every one of them has arrived, so at most 20
            // more can follow.
            try await Task.sleep(for: .milliseconds(50))
            let beforeDrop = d.inbox.all.count
            let dInfo = await d.waitClosed()
            #expect(dInfo?.code == 1006)
            #expect(d.inbox.all.count <= beforeDrop + 20)

            // Malformed, oversized and invalid UTF-8 frames: the client fails the connection.
            var small = WebSocketConfiguration()
            small.maxMessageSize = 1 << 20
            let cases: [(SimulatorFault, Int)] = [(.malformedFrame, 1002), (.oversizedFrame(bytes: nil), 1009), (.invalidUTF8, 1007)]
            for (fault, code) in cases {
                let c = try await Client(url, configuration: small, loop: loop)
                _ = await c.inbox.wait(for: 1)
                let ids = await sim.connectionIDs()
                #expect(await sim.inject(fault, to: .connection(ids.last!)) == 1)
                #expect(await c.waitClosed()?.code == code, "\(fault)")
            }

            // serverShutdown on command, then close.
            let s = try await Client(url, loop: loop)
            #expect(await sim.inject(.serverShutdown(closeAfter: .milliseconds(200))) == 1)
            #expect(await s.waitClosed()?.code == 1001)
            #expect(s.objects.contains { $0["e"] as? String == "serverShutdown" })
        }
    }

    @Test func stallKeepsTheSocketOpenButSilent() async throws {
        try await withSimulator { sim, loop in
            let c = try await Client("\(sim.webSocketURL)/ws/btcusdt@aggTrade/ethusdt@aggTrade", loop: loop)
            _ = await c.inbox.wait(for: 5)
            #expect(await sim.inject(.stall) == 1)
            try await Task.sleep(for: .milliseconds(100))
            let count = c.inbox.all.count
            c.ws.ping(Array("are you there".utf8))
            c.send(#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#)
            try await Task.sleep(for: .milliseconds(700))
            #expect(c.inbox.all.count == count)
            #expect(c.pongs == 0)
            #expect(c.closeInfo == nil)
            #expect(await sim.statistics().openConnections == 1)
        }
    }

    @Test func skippedUpdateIdsShowAsAGap() async throws {
        try await withSimulator(eventsPerSecond: 300) { sim, loop in
            let c = try await Client("\(sim.webSocketURL)/ws/btcusdt@depth@100ms", loop: loop)
            _ = await c.inbox.wait(for: 3)
            func ranges() -> [(Int, Int)] { c.objects.compactMap { o in (o["U"] as? Int).flatMap { u in (o["u"] as? Int).map { (u, $0) } } } }
            let before = ranges()
            #expect(before.count >= 3)
            for (a, b) in zip(before, before.dropFirst()) { #expect(b.0 == a.1 + 1) }
            #expect(await sim.inject(.skipUpdateIds(symbol: "BTCUSDT", count: 5)) == 1)
            _ = await c.inbox.wait(for: before.count + 4)
            let after = ranges()
            let gaps = zip(after, after.dropFirst()).filter { $1.0 != $0.1 + 1 }
            #expect(gaps.count == 1)
            if let g = gaps.first { #expect(g.1.0 > g.0.1 + 1) }
        }
    }

    @Test func faultEndpointAndStatusOverHTTP() async throws {
        try await withSimulator({ $0.faultsOnConnect = [] }) { sim, loop in
            let c = try await Client("\(sim.webSocketURL)/ws/btcusdt@aggTrade", loop: loop)
            _ = await c.inbox.wait(for: 1)
            let status = try await HTTPClient.get("\(sim.httpURL)/sim/status", on: loop)
            #expect(status.status == 200)
            #expect(jsonObject(Data(status.body))?["openConnections"] as? Int == 1)
            let bad = try await HTTPClient.get("\(sim.httpURL)/sim/fault?kind=explode", on: loop)
            #expect(bad.status == 400)
            let r = try await HTTPClient.get("\(sim.httpURL)/sim/fault?kind=drop&after=0", on: loop)
            #expect(r.status == 200 && r.text == #"{"applied":1}"#)
            #expect(await c.waitClosed()?.code == 1006)
        }
    }

    @Test func faultsOnConnectApplyToEveryNewConnection() async throws {
        try await withSimulator({ $0.faultsOnConnect = [.dropAfter(messages: 5)] }) { sim, loop in
            for _ in 0..<2 {
                let c = try await Client("\(sim.webSocketURL)/ws/btcusdt@aggTrade", loop: loop)
                #expect(await c.waitClosed()?.code == 1006)
                #expect(c.inbox.all.count <= 5)
            }
        }
    }

    @Test func restDepthAndExchangeInfo() async throws {
        try await withSimulator { sim, loop in
            let base = sim.httpURL
            let depth = try await HTTPClient.get("\(base)/api/v3/depth?symbol=BTCUSDT&limit=5", on: loop)
            #expect(depth.status == 200)
            #expect(depth.header("Content-Type")?.hasPrefix("application/json") == true)
            let d = jsonObject(Data(depth.body)) ?? [:]
            #expect(d["lastUpdateId"] is Int)
            #expect((d["bids"] as? [[String]])?.count == 5 && (d["asks"] as? [[String]])?.count == 5)
            let deflt = try await HTTPClient.get("\(base)/api/v3/depth?symbol=ETHUSDT", on: loop)
            #expect((jsonObject(Data(deflt.body))?["bids"] as? [Any])?.count == 100)
            let errors: [(String, Int)] = [("symbol=NOPE", -1121), ("symbol=BTCUSDT&limit=abc", -1100), ("limit=5", -1102)]
            for (q, code) in errors {
                let r = try await HTTPClient.get("\(base)/api/v3/depth?\(q)", on: loop)
                #expect(r.status == 400)
                #expect(jsonObject(Data(r.body))?["code"] as? Int == code, "\(q): \(r.text)")
            }
            let info = try await HTTPClient.get("\(base)/api/v3/exchangeInfo", on: loop)
            #expect((jsonObject(Data(info.body))?["symbols"] as? [Any])?.count == 2)
            let one = try await HTTPClient.get("\(base)/api/v3/exchangeInfo?symbol=ETHUSDT", on: loop)
            #expect((jsonObject(Data(one.body))?["symbols"] as? [[String: Any]])?.first?["symbol"] as? String == "ETHUSDT")
            let list = try await HTTPClient.get("\(base)/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22,%22ETHUSDT%22%5D", on: loop)
            #expect((jsonObject(Data(list.body))?["symbols"] as? [Any])?.count == 2)
            let unknown = try await HTTPClient.get("\(base)/api/v3/exchangeInfo?symbol=NOPE", on: loop)
            #expect(unknown.status == 400 && jsonObject(Data(unknown.body))?["code"] as? Int == -1121)
            #expect(try await HTTPClient.get("\(base)/api/v3/klines", on: loop).status == 404)
            #expect(try await HTTPClient.get("\(base)/fapi/v1/depth?symbol=BTCUSDT", on: loop).status == 404)

            // Python's urllib, a client the project did not write.
            let (status, out) = try runPython("sim_peer.py", ["rest", "\(base)/api/v3/depth?symbol=BTCUSDT&limit=20"], timeout: 20)
            #expect(status == 0, "\(out)")
            let o = jsonObject(Data(out.utf8)) ?? [:]
            #expect(o["status"] as? Int == 200)
            #expect(((o["json"] as? [String: Any])?["bids"] as? [Any])?.count == 20)
            let (_, bad) = try runPython("sim_peer.py", ["rest", "\(base)/api/v3/depth?symbol=XYZ"], timeout: 20)
            let b = jsonObject(Data(bad.utf8)) ?? [:]
            #expect(b["status"] as? Int == 400)
            #expect((b["json"] as? [String: Any])?["msg"] as? String == "Invalid symbol.")
        }
    }

    @Test func futuresPathsAndREST() async throws {
        try await withSimulator(venue: .usdmFutures) { sim, loop in
            let a = try await Client("\(sim.webSocketURL)/public/ws/btcusdt@aggTrade", loop: loop)
            _ = await a.inbox.wait(for: 3)
            #expect(a.objects.first?["e"] as? String == "aggTrade")
            let b = try await Client("\(sim.webSocketURL)/market/stream?streams=btcusdt@depth@500ms", loop: loop)
            _ = await b.inbox.wait(for: 2)
            #expect(b.objects.first?["stream"] as? String == "btcusdt@depth@500ms")
            let ok = try await HTTPClient.get("\(sim.httpURL)/fapi/v1/depth?symbol=BTCUSDT&limit=10", on: loop)
            #expect(ok.status == 200)
            #expect((jsonObject(Data(ok.body))?["bids"] as? [Any])?.count == 10)
            #expect(try await HTTPClient.get("\(sim.httpURL)/fapi/v1/depth?symbol=BTCUSDT&limit=7", on: loop).status == 400)
            #expect(try await HTTPClient.get("\(sim.httpURL)/fapi/v1/exchangeInfo", on: loop).status == 200)
            #expect(try await HTTPClient.get("\(sim.httpURL)/api/v3/depth?symbol=BTCUSDT", on: loop).status == 404)
        }
    }

    @Test func tlsEndToEnd() async throws {
        let server = try TLSContext.server(certificateFile: cert("server.pem"), keyFile: cert("server.key"))
        let client = try TLSContext.client(caFile: cert("ca.pem"))
        try await withSimulator({ $0.tls = server }) { sim, loop in
            #expect(sim.webSocketURL.hasPrefix("wss://") && sim.httpURL.hasPrefix("https://"))
            var cfg = WebSocketConfiguration()
            cfg.tls = client
            let c = try await Client("\(sim.webSocketURL)/stream?streams=btcusdt@aggTrade", configuration: cfg, loop: loop)
            _ = await c.inbox.wait(for: 5)
            #expect(c.objects.count >= 5)
            #expect(c.objects.allSatisfy { $0["stream"] as? String == "btcusdt@aggTrade" })
            c.send(#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#)
            #expect(await c.answer(id: 1)?["result"] as? [String] == ["btcusdt@aggTrade"])
            let depth = try await HTTPClient.get("\(sim.httpURL)/api/v3/depth?symbol=BTCUSDT&limit=5", on: loop, tls: client)
            #expect(depth.status == 200)
            let (status, out) = try runPython("sim_peer.py", ["rest", "\(sim.httpURL)/api/v3/exchangeInfo", cert("ca.pem")], timeout: 20)
            #expect(status == 0, "\(out)")
            #expect(jsonObject(Data(out.utf8))?["status"] as? Int == 200)
            #expect(await c.inject(sim, .malformedFrame) == 1002) // faults go through TLS too
        }
    }

    @Test func recordedSessionThroughTheSameServer() async throws {
        let data = repoRoot.appendingPathComponent("../shared/data/binance").standardized.path
        let market = try RecordedMarket(streamFile: "\(data)/BINANCE.ws.1.0", snapshotFile: "\(data)/BINANCE.http.0.0")
        var config = SimulatorConfiguration()
        config.speed = 20 // the recording's pace, twenty times faster
        let sim = try await ExchangeSimulator.start(source: market, configuration: config)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let c = try await Client("\(sim.webSocketURL)/stream?streams=nknusdt@depth@100ms/nknusdt@aggTrade", loop: loop)
        _ = await c.inbox.wait(for: 5)
        #expect(c.objects.count >= 5)
        for o in c.objects {
            let stream = o["stream"] as? String
            #expect(stream == "nknusdt@depth@100ms" || stream == "nknusdt@aggTrade")
            #expect((o["data"] as? [String: Any])?["s"] as? String == "NKNUSDT")
        }
        let depth = try await HTTPClient.get("\(sim.httpURL)/api/v3/depth?symbol=NKNUSDT&limit=5", on: loop)
        #expect(depth.status == 200)
        #expect(jsonObject(Data(depth.body))?["lastUpdateId"] is Int)
        await #expect(throws: RingFeedError.self) { _ = try await Client("\(sim.webSocketURL)/ws/nknusdt@trade", loop: loop) }
        await sim.stop()
    }

    @Test func slowConsumerIsDisconnected() async throws {
        try await withSimulator(eventsPerSecond: 5000, {
            $0.blast = true
            $0.limits.maxQueuedBytes = 256 << 10
        }) { sim, _ in
            let streams = (["btcusdt", "ethusdt"].flatMap { s in ["@depth@100ms", "@depth20@100ms", "@aggTrade", "@trade", "@bookTicker"].map { s + $0 } })
                .joined(separator: "/")
            let peer = try PythonPeer(script: "sim_peer.py", arguments: ["noread", String(sim.port), "/stream?streams=\(streams)", "20"])
            defer { peer.stop() }
            #expect(peer.readLine() == "open")
            let deadline = ContinuousClock.now + .seconds(15)
            while await sim.statistics().closedSlowConsumers == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(await sim.statistics().closedSlowConsumers == 1)
        }
    }
}

extension SimulatorTests.Client {
    /// Injects a fault into this (the newest) connection and returns the close code seen.
    func inject(_ sim: ExchangeSimulator, _ fault: SimulatorFault) async -> Int? {
        let ids = await sim.connectionIDs()
        await sim.inject(fault, to: .connection(ids.last!))
        return await waitClosed()?.code
    }
}

func jsonObject(_ data: some Collection<UInt8>) -> [String: Any]? {
    try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any]
}

func jsonObject(_ data: Data) -> [String: Any]? {
    try? JSONSerialization.jsonObject(with: data) as? [String: Any]
}
