import ArgumentParser
import RingFeed
import RingFeedSimulator
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Starts the exchange simulator in-process and shows, live, what RingFeed
/// reads from it: the top of a book, trades, and message rates.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch a simulated Binance market live: book, trades, rates (works offline).",
        discussion: """
            Starts the built-in Binance-compatible simulator on 127.0.0.1 with a seeded
            synthetic market, connects to it with RingFeed's own client over the io_uring
            core, and draws the top of the first symbol's book, the latest trades and the
            message rates until Ctrl-C. Nothing leaves the machine.

            With --cert and --key the simulator speaks TLS and the client connects with
            wss://, trusting --ca-file (by default the certificate itself).

            The client is the reconnecting one (ResilientFeed): give the simulator faults
            (--fault, as for `ringfeed simulate`) to watch it lose connections, come back
            and resubscribe, with trade ids never repeated and gaps counted; the screen
            and the summary line say what happened.

            Examples:
              ringfeed demo
              ringfeed demo --symbols SOLUSDT,BTCUSDT --rate 500
              ringfeed demo --duration 5 --quiet      one summary line after five seconds
              ringfeed demo --cert server.pem --key server.key --ca-file ca.pem
              ringfeed demo --fault drop:3000 --fault shutdown:10    lost and replaced connections
            """)

    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    @Option(help: "Comma-separated symbols; the first one's book is drawn.")
    var symbols = "BTCUSDT,ETHUSDT,BNBUSDT"

    @Option(help: "Book events per second per symbol in the synthetic market.")
    var rate: Double = 200

    @Option(help: "Seed of the synthetic market (same seed, same market).")
    var seed: UInt64 = 1

    @Flag(help: "No live view: print one summary line at the end.")
    var quiet = false

    @Option(help: "Serve over TLS with this PEM certificate chain (needs --key).")
    var cert: String?

    @Option(help: "The PEM private key for --cert.")
    var key: String?

    @Option(help: "PEM CA bundle the client trusts in TLS mode (default: the --cert file).")
    var caFile: String?

    @Option(help: "A simulator fault applied to every new connection (drop:N, stall, shutdown[:S], ... see `ringfeed simulate --help`); repeatable.")
    var fault: [String] = []

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    var symbolList: [String] {
        symbols.split(separator: ",").map { String($0.filter { !$0.isWhitespace }).uppercased() }.filter { !$0.isEmpty }
    }

    func validate() throws {
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        if !(rate > 0) { throw ValidationError("--rate must be positive") }
        if symbolList.isEmpty { throw ValidationError("--symbols needs at least one symbol") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if caFile != nil && cert == nil { throw ValidationError("--ca-file needs --cert and --key") }
        if let f = fault.first(where: { SimulatorFault($0) == nil }) {
            throw ValidationError("--fault '\(f)' is not a simulator fault (see ringfeed simulate --help)")
        }
    }

    func run() async throws {
        let symbols = symbolList
        var simConfig = SimulatorConfiguration()
        simConfig.faultsOnConnect = fault.compactMap { SimulatorFault($0) }
        var feedOptions = MarketFeed.Options()
        if let cert, let key {
            do {
                simConfig.tls = try TLSContext.server(certificateFile: cert, keyFile: key)
                feedOptions.tls = try TLSContext.client(caFile: caFile ?? cert)
            } catch {
                throw fail("TLS: \(error) (certificate \(cert), key \(key))")
            }
            // Certificates name "localhost", not the address.
            simConfig.host = "127.0.0.1"
        }
        var market = SyntheticMarket.Configuration()
        market.eventsPerSecond = rate
        let simulator: ExchangeSimulator
        do {
            simulator = try await ExchangeSimulator.start(
                source: SyntheticMarket(symbols: symbols, seed: seed, configuration: market), configuration: simConfig)
        } catch {
            throw fail("cannot start the simulator: \(error)")
        }
        let loop: EventLoop
        do { loop = try EventLoop() } catch {
            await simulator.stop()
            throw fail("cannot create an io_uring event loop: \(error)")
        }
        defer { loop.shutdown() }

        let focus = symbols[0]
        var streams = ["\(focus.lowercased())@depth20@100ms"]
        for s in symbols {
            streams.append("\(s.lowercased())@aggTrade")
            streams.append("\(s.lowercased())@miniTicker")
        }
        feedOptions.url = cert == nil ? simulator.webSocketURL : "wss://localhost:\(simulator.port)"
        let board = DemoBoard(focus: focus)
        var options = ResilientFeed.Options()
        options.feed = feedOptions
        connection.apply(to: &options)
        // A local simulator: come back quickly after a fault.
        options.reconnect.base = .milliseconds(100)
        options.reconnect.cap = .seconds(2)
        let delivered = Atomic<Int>(0)
        let feed: ResilientFeed
        do {
            feed = try await ResilientFeed.connect(streams: streams, options: options, on: loop,
                                                   handler: { delivered.add(1, ordering: .relaxed); board.take($0) },
                                                   onGap: { _ in }) // counted in stats, shown in the summary
        } catch {
            await simulator.stop()
            throw fail("cannot connect to the simulator at \(feedOptions.url): \(error)")
        }

        let interactive = isatty(STDOUT_FILENO) != 0 && !quiet
        var stderr = StandardError()
        if !interactive {
            print("demo: simulated Binance at \(feedOptions.url) (seed \(seed)), streams: "
                  + streams.joined(separator: " "), to: &stderr)
        }
        let stops = StopSignal()
        stops.onInterruptOrAfter(seconds: duration)
        let report = ConnectionReport()
        report.follow(feed.lifecycle, echo: interactive ? nil : "demo: ") { stops.send(.gaveUp($0)) }

        let start = ContinuousClock.now
        let header = "RingFeed demo · simulated Binance spot at \(feedOptions.url) · seed \(seed) · "
            + "receive: \(loop.receiveMode) · Ctrl-C to stop"
        if interactive { writeOut("\u{1B}[?1049h\u{1B}[?25l") } // alternate screen, no cursor
        let drawer = Task {
            var last = (ContinuousClock.now, 0)
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                let now = ContinuousClock.now
                let events = delivered.load(ordering: .relaxed)
                let rate = Double(events - last.1) / max(seconds(now - last.0), 1e-9)
                last = (now, events)
                if interactive {
                    let elapsed = seconds(now - start)
                    let errors = feed.stats.errors
                    let frame: String = await withCheckedContinuation { c in
                        let link = ConnectionReport.status(report.snapshot)
                        loop.execute { c.resume(returning: board.render(header: header, rate: rate, elapsed: elapsed,
                                                                        errors: errors, connection: link)) }
                    }
                    writeOut(frame)
                }
            }
        }
        let reason = await stops.first()
        drawer.cancel()
        let info = await feed.stop()
        let served = await simulator.statistics()
        await simulator.stop()
        if interactive { writeOut("\u{1B}[?25h\u{1B}[?1049l") }
        let elapsed = seconds(ContinuousClock.now - start)
        let s = feed.stats
        let events = delivered.load(ordering: .relaxed)
        let gaps = s.gaps == 0 ? "no trade gaps" : "\(s.gaps) trade gap\(s.gaps == 1 ? "" : "s") (\(s.missedTrades) ids missed)"
        print("demo: \(events) events (\(s.messages) messages) in \(fmt(elapsed)) s: "
              + "\(fmt(Double(s.messages) / max(elapsed, 1e-9))) msg/s, \(s.errors) errors; "
              + "\(ConnectionReport.summary(report.snapshot)), \(gaps), \(s.duplicates) repeats dropped; "
              + "simulator sent \(served.messagesSent); \(info.map { "\($0)" } ?? "not connected at the end")", to: &stderr)
        if case let .gaveUp(why) = reason { throw fail("gave up reconnecting to the simulator: \(why)") }
        if events == 0 { throw fail("no events received") }
        if s.errors > 0 { throw fail("\(s.errors) messages did not scan") }
    }
}

private func writeOut(_ s: String) {
    var s = s
    s.withUTF8 { p in
        var off = 0
        while off < p.count {
            let n = write(STDOUT_FILENO, p.baseAddress! + off, p.count - off)
            if n <= 0 { break }
            off += n
        }
    }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func fmt(_ v: Double) -> String {
    if v >= 100 { return String(Int(v.rounded())) }
    let r = (v * 100).rounded() / 100
    return String(r)
}
