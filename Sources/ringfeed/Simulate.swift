import ArgumentParser
import Foundation
import RingFeed
import RingFeedSimulator

/// `ringfeed simulate`: a Binance-compatible exchange on loopback.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a Binance-compatible exchange (streams + REST) with limits and fault injection.",
        discussion: """
            Serves Binance's market streams from a seeded synthetic market: raw /ws/<stream>, \
            combined /stream?streams=a/b, live SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, \
            SET_PROPERTY and GET_PROPERTY, timeUnit=MICROSECOND; REST GET /api/v3/depth and \
            /api/v3/exchangeInfo (with --futures: /fapi/v1/..., and the /public and /market \
            stream paths) on the same port. Binance's limits apply: a ping every 20 s, 60 s to \
            answer, 5 incoming messages per second, 1024 streams per connection, 24 h connection \
            age, slow consumers are disconnected, and REST requests may use 6000 weight a minute \
            (futures 2400; 429 with Retry-After beyond, 418 for a client that keeps sending; \
            X-MBX-USED-WEIGHT-1M on every answer). With --cert and --key everything is TLS.

            Faults (--fault, repeatable, applied to every connection as it opens):
              drop:N             drop the TCP connection (no close frame) after N messages
              stall              stop sending and reading (no pongs), keep the socket
              gap:[SYMBOL:]N     the next diff-depth event skips N update ids
              malformed          a frame with RSV1 set (clients fail with 1002)
              oversized[:BYTES]  a text frame of BYTES, default 2 MiB + 1 (1009)
              utf8               a text frame that is not UTF-8 (1007)
              shutdown[:S]       a serverShutdown event, then close after S seconds
              corrupt[:SYMBOL]   the next diff-depth event misreports one level's
                                 quantity, ids intact (only verification sees it)
              rest429[:N[:S]]    the next N REST requests get 429, Retry-After S
                                 (default: the weight window); sending during it bans
              rest418[:N[:S]]    the next N REST requests get 418: banned for S seconds
                                 (default: two weight windows)

            At runtime, on the same port:
              GET /sim/fault?kind=drop&after=100[&conn=ID]
                  kinds as above; parameters after, symbol, count, bytes, close, retry;
                  conn defaults to all connections
              GET /sim/status
                  counters and connection ids

            Examples:
              ringfeed simulate
              ringfeed simulate --port 9443 --symbols BTCUSDT,ETHUSDT,SOLUSDT --seed 7
              ringfeed simulate --futures --rate 500
              ringfeed simulate --replay BINANCE.ws.1.0 --snapshots BINANCE.http.0.0
              ringfeed simulate --cert server.pem --key server.key
              ringfeed simulate --fault drop:1000 --ping-interval 5 --pong-timeout 10
              curl 'http://127.0.0.1:9443/api/v3/depth?symbol=BTCUSDT&limit=5'
              curl 'http://127.0.0.1:9443/sim/fault?kind=gap&symbol=BTCUSDT&count=3'
            """)

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port: UInt16 = 9443

    @Option(help: "Comma-separated symbols to serve.")
    var symbols = "BTCUSDT,ETHUSDT"

    @Option(help: "Seed of the synthetic market (same seed, same market).")
    var seed: UInt64 = 1

    @Flag(help: "Serve USD-M futures shapes and paths instead of spot.")
    var futures = false

    @Option(help: "Replay this recorded session (e.g. ../shared/data/binance/BINANCE.ws.1.0) instead of a synthetic market; its venue and symbols apply. The replay starts when a client first subscribes to one of its streams.")
    var replay: String?

    @Option(help: "The recorded REST snapshots that go with --replay (e.g. BINANCE.http.0.0).")
    var snapshots: String?

    @Option(help: "Book events per second per symbol in the synthetic market.")
    var rate: Double = 50

    @Option(help: "Simulated time runs this many times faster than real time.")
    var speed: Double = 1

    @Flag(help: "Free-running: advance simulated time as fast as the loop goes (throughput tests).")
    var blast = false

    @Option(help: "Serve a pre-encoded tape of this many messages instead (seeded by --seed; BTCUSDT, ETHUSDT, SOLUSDT, BNBUSDT; 70% depth diffs, 25% aggTrade, 5% bookTicker): every connection gets all of it as fast as the socket takes it, and /api/v3/depth answers with the snapshots it starts from (what bench_e2e --url measures).")
    var tape: Int?

    @Option(help: "Serve TLS with this PEM certificate chain (needs --key).")
    var cert: String?

    @Option(help: "The PEM private key for --cert.")
    var key: String?

    @Option(help: "Streams per connection.")
    var maxStreams = 1024

    @Option(help: "Incoming messages (pings, pongs, control) per second per connection.")
    var maxIncoming = 5

    @Option(help: "Seconds between the server's pings.")
    var pingInterval: Double = 20

    @Option(help: "Seconds a connection may leave a ping unanswered.")
    var pongTimeout: Double = 60

    @Option(help: "Maximum connection age in seconds.")
    var maxAge: Double = 86400

    @Option(help: "Send serverShutdown this many seconds before a connection's maximum age.")
    var shutdownNotice: Double?

    @Option(help: "Disconnect a client with more than this many bytes queued unsent.")
    var maxQueued = 16 << 20

    @Option(help: "A fault applied to every new connection (see above); repeatable.")
    var fault: [String] = []

    @Option(help: "Seconds between status lines.")
    var statusInterval: Double = 5

    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    func validate() throws {
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if symbolList.isEmpty { throw ValidationError("--symbols needs at least one symbol") }
        if let bad = symbolList.first(where: { !$0.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) }) {
            throw ValidationError("--symbols: '\(bad)' is not a symbol like BTCUSDT")
        }
        if rate < 0 || speed <= 0 { throw ValidationError("--rate must be >= 0 and --speed > 0") }
        for (name, v) in [("--ping-interval", pingInterval), ("--pong-timeout", pongTimeout), ("--max-age", maxAge),
                          ("--status-interval", statusInterval)] where v <= 0 {
            throw ValidationError("\(name) must be positive")
        }
        if maxStreams < 1 || maxIncoming < 1 || maxQueued < 1 {
            throw ValidationError("--max-streams, --max-incoming and --max-queued must be positive")
        }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if snapshots != nil && replay == nil { throw ValidationError("--snapshots goes with --replay") }
        if let tape, tape < 1 || replay != nil || futures { throw ValidationError("--tape takes a positive count, and not --replay or --futures") }
        if let f = fault.first(where: { SimulatorFault($0) == nil }) {
            throw ValidationError("--fault '\(f)': expected drop:N, stall, gap:[SYMBOL:]N, malformed, oversized[:BYTES], utf8, shutdown[:S], corrupt[:SYMBOL], rest429[:N[:S]] or rest418[:N[:S]]")
        }
    }

    private var symbolList: [String] {
        symbols.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
    }

    func run() async throws {
        var config = SimulatorConfiguration()
        config.host = host
        config.port = port
        config.speed = speed
        config.blast = blast
        config.limits.maxStreamsPerConnection = maxStreams
        config.limits.maxIncomingMessages = maxIncoming
        config.limits.pingInterval = .milliseconds(Int64(pingInterval * 1000))
        config.limits.pongTimeout = .milliseconds(Int64(pongTimeout * 1000))
        config.limits.maxConnectionAge = .milliseconds(Int64(maxAge * 1000))
        config.limits.shutdownNotice = shutdownNotice.map { .milliseconds(Int64($0 * 1000)) }
        config.limits.maxQueuedBytes = maxQueued
        config.faultsOnConnect = fault.compactMap { SimulatorFault($0) }
        if let cert, let key {
            do {
                config.tls = try TLSContext.server(certificateFile: cert, keyFile: key)
            } catch {
                throw fail("TLS: \(error) (certificate \(cert), key \(key))")
            }
        }
        let market: any MarketSource
        var origin = replay.map { "replay of \($0)" } ?? "seed \(seed)"
        if let tape {
            let started = ContinuousClock.now
            let t = BlastTape(messages: tape, seed: seed)
            let took = ContinuousClock.now - started
            origin = "tape of \(tape) messages (seed \(seed)), \(t.frames.count) bytes of frames, "
                + String(format: "%.1f bytes a message, encoded in %.2f s", Double(t.payloadBytes) / Double(tape),
                         Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
            market = TapeMarket(tape: t)
        } else if let replay {
            do {
                // Recorded pace; --speed and --blast scale the simulator's clock instead.
                // The replay starts when a client first watches one of its streams.
                market = try RecordedMarket(streamFile: replay, snapshotFile: snapshots, startsWhenWatched: true)
            } catch {
                throw fail("--replay: \(error)")
            }
        } else {
            market = SyntheticMarket(symbols: symbolList, seed: seed, venue: futures ? .usdmFutures : .spot,
                                     configuration: .init(eventsPerSecond: rate))
        }
        let futures = market.venue == .usdmFutures
        let served = market.symbols.joined(separator: ",")
        let sim: ExchangeSimulator
        do {
            sim = try await ExchangeSimulator.start(source: market, configuration: config)
        } catch {
            throw fail("cannot listen on \(host):\(port): \(error)")
        }
        let paths = futures ? "/ws/<stream>, /stream?streams=..., /public/..., /market/..." : "/ws/<stream>, /stream?streams=..."
        let rest = futures ? "/fapi/v1/depth, /fapi/v1/exchangeInfo" : "/api/v3/depth, /api/v3/exchangeInfo"
        print("simulate: listening on \(sim.webSocketURL) (\(paths)) and \(sim.httpURL) (\(rest), /sim/fault, /sim/status); "
              + "\(served) \(futures ? "USD-M futures" : "spot"), \(origin)")
        fflush(nil)

        let status = Task {
            var last = await sim.statistics()
            var lastTime = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int64(statusInterval * 1000)))
                if Task.isCancelled { break }
                let s = await sim.statistics()
                let now = ContinuousClock.now
                let secs = max(1e-9, Double((now - lastTime).components.attoseconds) / 1e18 + Double((now - lastTime).components.seconds))
                print(Self.statusLine(s, rate: Double(s.messagesSent - last.messagesSent) / secs))
                fflush(nil)
                last = s
                lastTime = now
            }
        }
        if let duration {
            try? await Task.sleep(for: .milliseconds(Int64(duration * 1000)))
        } else {
            await waitForInterrupt()
        }
        status.cancel()
        let s = await sim.statistics()
        await sim.stop()
        print(Self.statusLine(s, rate: nil).replacingOccurrences(of: "simulate:", with: "simulate: stopped;"))
    }

    static func statusLine(_ s: SimulatorStatistics, rate: Double?) -> String {
        let mb = String(format: "%.1f", Double(s.bytesSent) / 1e6)
        let r = rate.map { String(format: " (%.0f/s)", $0) } ?? ""
        return "simulate: \(s.openConnections) open, \(s.acceptedConnections) accepted, \(s.messagesSent) messages\(r), "
            + "\(mb) MB, \(s.controlMessages) control, \(s.restRequests) REST; closed: rate \(s.closedForRate), "
            + "pong \(s.closedForPongTimeout), age \(s.closedForAge), slow \(s.closedSlowConsumers); faults \(s.faultsInjected)"
    }
}
