import Foundation
import Synchronization
import RingFeed
import RingFeedSimulator
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// TLS session resumption across a ResilientFeed's reconnects, against the
/// simulator serving wss:// with the test certificates.
@Suite("TLS session resumption across reconnects")
struct ResumptionTests {
    private static func simulator() async throws -> ExchangeSimulator {
        var config = SimulatorConfiguration()
        config.tls = try TLSContext.server(certificateFile: cert("server.pem"), keyFile: cert("server.key"))
        var market = SyntheticMarket.Configuration()
        market.eventsPerSecond = 40
        return try await ExchangeSimulator.start(source: SyntheticMarket(symbols: ["BTCUSDT"], seed: 7, configuration: market),
                                                 configuration: config)
    }

    private static func options(_ url: String, tls: TLSContext?) -> ResilientFeed.Options {
        var o = ResilientFeed.Options()
        o.feed.url = url
        o.feed.tls = tls
        o.feed.handshakeTimeout = .seconds(5)
        o.reconnect = ReconnectPolicy(base: .milliseconds(5), cap: .milliseconds(20))
        o.budget = ConnectionBudget(limit: 100, window: .seconds(60))
        o.idleTimeout = nil
        return o
    }

    /// Drops every connection `times` times from the server side (a TCP
    /// reset, no close_notify) and returns each connection's TLS state, the
    /// first one's included, and the first drop's old connection with the
    /// feed's `disconnected` time for it.
    private static func reconnects(_ feed: ResilientFeed, _ sim: ExchangeSimulator, on loop: EventLoop,
                                   times: Int) async throws -> (infos: [TLSInfo], ended: WebSocket?, reported: ContinuousClock.Instant?) {
        let ends = Mutex<[ContinuousClock.Instant]>([])
        let follower = Task {
            for await e in feed.lifecycle {
                if case .disconnected = e.event { ends.withLock { $0.append(e.time) } }
            }
        }
        defer { follower.cancel() }
        var infos: [TLSInfo] = []
        var firstEnded: WebSocket?
        for n in 1...(times + 1) {
            // A message has come: the TLS 1.3 tickets, sent before it, are in the cache.
            let open = await waitUntil(.seconds(20)) { feed.connections == n && (feed.connection?.stats.messages ?? 0) > 0 }
            try #require(open, "connection \(n) did not open and deliver")
            let c = try #require(feed.connection)
            let ws = try #require(c.webSocket)
            let info = await withCheckedContinuation { k in loop.execute { k.resume(returning: ws.tlsInfo) } }
            infos.append(try #require(info, "no TLS state on a wss:// connection"))
            if n <= times {
                #expect(await sim.inject(.dropAfter(messages: 0)) == 1)
                if n == 1 { firstEnded = ws }
            }
        }
        let reported = await waitUntil(.seconds(5)) { !ends.withLock { $0 }.isEmpty } ? ends.withLock { $0.first } : nil
        return (infos, firstEnded, reported)
    }

    @Test("the context's session cache: every reconnect resumes; without it none does")
    func resumesAcrossReconnects() async throws {
        let sim = try await Self.simulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        for resumption in [true, false] {
            let tls = try TLSContext.client(caFile: cert("ca.pem"), sessionResumption: resumption)
            let feed = try await ResilientFeed.connect(streams: ["btcusdt@aggTrade"],
                                                       options: Self.options(sim.webSocketURL, tls: tls), on: loop)
            let (infos, ended, reported) = try await Self.reconnects(feed, sim, on: loop, times: 3)
            await feed.stop()
            #expect(infos.map(\.resumed) == [false] + Array(repeating: resumption, count: 3),
                    "session resumption \(resumption): \(infos)")
            #expect(infos.allSatisfy { $0.version == "TLSv1.3" })
            // The disconnected event is timed when the core reported the end.
            let endedAt = try #require(ended?.endedAt)
            #expect(reported == endedAt)
        }
        await sim.stop()
    }

    /// REST snapshots (HTTPClient) open a connection per request; with one
    /// context, or with none (the shared default, in the child below), the
    /// second request resumes the first one's session.
    private static func restResumes(_ sim: ExchangeSimulator, tls: TLSContext?, on loop: EventLoop) async throws -> [Bool] {
        var resumed: [Bool] = []
        for _ in 0..<3 {
            let r = try await HTTPClient.get(sim.httpURL + "/api/v3/depth?symbol=BTCUSDT&limit=5", on: loop, tls: tls)
            #expect(r.status == 200)
            resumed.append(try #require(r.tls, "no TLS state on an https:// request").resumed)
        }
        return resumed
    }

    @Test("REST snapshot requests: a connection each, the second on resumes")
    func restRequestsResume() async throws {
        let sim = try await Self.simulator()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let tls = try TLSContext.client(caFile: cert("ca.pem"))
        #expect(try await Self.restResumes(sim, tls: tls, on: loop) == [false, true, true])
        let off = try TLSContext.client(caFile: cert("ca.pem"), sessionResumption: false)
        #expect(try await Self.restResumes(sim, tls: off, on: loop) == [false, false, false])
        await sim.stop()
    }

    /// `ringfeed bench-reconnect` on a few reconnects: every mode reports,
    /// and the resumption counts are checked by the command itself.
    @Test("ringfeed bench-reconnect: three modes, resumed counted")
    func benchCommand() throws {
        let ringfeed = BenchCommandTests.ringfeed
        try #require(FileManager.default.isExecutableFile(atPath: ringfeed.path), "ringfeed not built at \(ringfeed.path)")
        let p = Process()
        p.executableURL = ringfeed
        p.arguments = ["bench-reconnect", "--reconnects", "5", "--warmup", "1", "--runs", "1", "--timeout", "10"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0, "stderr: \(errors)")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("run 1 ws://") && $0.contains("median") && !$0.contains("resumed") }, "\(text)")
        #expect(lines.contains { $0.hasPrefix("run 1 wss:// full") && $0.contains("(0/5 resumed") }, "\(text)")
        #expect(lines.contains { $0.hasPrefix("run 1 wss:// resumed") && $0.contains("(5/5 resumed") }, "\(text)")
    }

    /// A feed given no context uses the process's shared default one
    /// (system trust store), and its reconnects resume too. Run in a child
    /// process: the trust store is pointed at the test CA (SSL_CERT_FILE)
    /// before that context is first made, which no other test may see.
    @Test("no context given: the shared default context resumes across reconnects")
    func defaultContextResumes() async throws {
        _ = cert("ca.pem") // made here, not raced by the child
        await #expect(processExitsWith: .success) {
            setenv("SSL_CERT_FILE", cert("ca.pem"), 1)
            let sim = try await ResumptionTests.simulator()
            let loop = try EventLoop()
            let feed = try await ResilientFeed.connect(streams: ["btcusdt@aggTrade"],
                                                       options: ResumptionTests.options(sim.webSocketURL, tls: nil), on: loop)
            let (infos, _, _) = try await ResumptionTests.reconnects(feed, sim, on: loop, times: 2)
            await feed.stop()
            // The same shared context: the feed's session serves REST too.
            let rest = try await ResumptionTests.restResumes(sim, tls: nil, on: loop)
            await sim.stop()
            loop.shutdown()
            if infos.map(\.resumed) != [false, true, true] || rest != [true, true, true] {
                print("default context: \(infos), REST resumed \(rest)")
                exit(1)
            }
        }
    }
}
