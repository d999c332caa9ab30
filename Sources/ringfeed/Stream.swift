import ArgumentParser
import CRingFeed
import Dispatch
import RingFeed
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct Stream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Subscribe to Binance market streams and print normalised events.",
        discussion: """
            Connects to <url>/stream?streams=a/b/... and prints one event per line until
            Ctrl-C, --count or --duration, then closes cleanly and prints a summary on
            stderr (messages, rate, errors, connections lost and why, rotations, trade
            gaps). Decimal values are printed exactly as the exchange sent them.

            A lost, refused or silent connection (no message and no ping for --idle-timeout)
            is replaced after a backoff with jitter, with every stream; each step is a line
            on stderr. Trade and aggTrade ids are printed once each: repeats after a
            reconnect are dropped, and trades missed while away are reported on stderr as a
            gap. A connection is replaced without a gap before Binance's 24-hour limit
            (--rotate-after) and when the server announces a shutdown.

            Output is written by a thread of its own, so a slow reader (a terminal, a pipe,
            a disk) never holds up the connection: up to --output-buffer MiB wait, then the
            oldest output is dropped and counted in the summary (--slow-output drop-oldest),
            or the run ends (--slow-output stop). --record never drops: a disk that falls that
            far behind ends the run.

            Streams: <symbol>@trade, @aggTrade, @kline_<1s|1m|...|1M>, @miniTicker, @ticker,
            @ticker_<1h|4h|1d>, @bookTicker, @depth<5|10|20>[@100ms], @depth[@100ms],
            @avgPrice, !miniTicker@arr, !ticker_<1h|4h|1d>@arr (symbols in lower case).

            Examples:
              ringfeed stream btcusdt@aggTrade
              ringfeed stream --format table btcusdt@bookTicker ethusdt@trade
              ringfeed stream --futures btcusdt@depth@100ms btcusdt@aggTrade
              ringfeed stream --url ws://127.0.0.1:9443 --count 1000 btcusdt@depth@100ms
            """)

    @Option(help: "Endpoint (default wss://stream.binance.com:9443, or wss://fstream.binance.com with --futures).")
    var url: String?

    @Option(help: "Output format: jsonl, table, csv, or raw (each message exactly as received).")
    var format: StreamFormat = .jsonl

    @Option(help: "Stop after this many events.")
    var count: Int?

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Flag(help: "USD-M futures: route depth and bookTicker streams to /public, the others to /market.")
    var futures = false

    @Flag(help: "Ask for times in microseconds (timeUnit=MICROSECOND).")
    var microseconds = false

    @Option(name: .customLong("ca-file"), help: "PEM CA bundle to trust for wss:// (default: the system store).")
    var caFile: String?

    @Option(help: "Also write every message as received to this file (first line the URL, then '<unix time>: <message>').")
    var record: String?

    @Option(name: .customLong("output-buffer"),
            help: "MiB of output that may wait for a slow stdout (or --record disk) before --slow-output applies.")
    var outputBuffer: Double = 64

    @Option(name: .customLong("slow-output"),
            help: "When stdout falls that far behind: drop-oldest (counted in the summary) or stop (exit 1). The connection is never held up.")
    var slowOutput: OutputPipe.WhenFull = .dropOldest

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    @Argument(help: "Stream names, e.g. btcusdt@aggTrade.")
    var streams: [String] = []

    func validate() throws {
        if streams.isEmpty { throw ValidationError("name at least one stream, e.g. btcusdt@aggTrade") }
        for s in streams where !MarketStreams.isValid(s) {
            throw ValidationError("unknown stream name '\(s)' (e.g. btcusdt@aggTrade, btcusdt@depth@100ms, btcusdt@kline_1m)")
        }
        if let count, count <= 0 { throw ValidationError("--count must be positive") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        if !(outputBuffer >= 0.0625) || !outputBuffer.isFinite { throw ValidationError("--output-buffer must be at least 0.0625 MiB") }
    }

    func run() async throws {
        let loop: EventLoop
        do { loop = try EventLoop() } catch { throw fail("cannot create an io_uring event loop: \(error)") }
        defer { loop.shutdown() }

        var options = MarketFeed.Options()
        options.microsecondTimes = microseconds
        if let caFile {
            do { options.tls = try TLSContext.client(caFile: caFile) } catch { throw fail("TLS: \(error)") }
        }
        let base = url ?? (futures ? MarketFeed.binanceFuturesURL : MarketFeed.binanceSpotURL)
        // One connection per route: spot has one, futures split /public and /market.
        var groups: [(String, [String])] = []
        if futures {
            for route in ["/public", "/market"] {
                let names = streams.filter { MarketStreams.futuresRoute($0) == route }
                if !names.isEmpty { groups.append((trimSlash(base) + route, names)) }
            }
        } else {
            groups = [(base, streams)]
        }

        let stops = StopSignal()
        let buffer = Int(outputBuffer * 1024 * 1024)
        // A closed pipe (`| head`) ends the run with a clean close, not SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let stdout = OutputPipe(fd: STDOUT_FILENO, capacity: buffer, whenFull: slowOutput,
                                onClosed: { stops.send(.outputClosed) },
                                onFull: { stops.send(.outputTooSlow("stdout")) })
        let printer = Printer(format: format, microseconds: microseconds, limit: count, output: stdout)
        let recorder = try record.map { path in
            guard let r = Recorder(path: path, capacity: buffer, onFailure: { stops.send(.outputTooSlow(path)) }) else {
                throw fail("cannot write \(path)")
            }
            return r
        }
        let report = ConnectionReport()
        var feeds: [FeedPool] = []
        for (groupURL, names) in groups {
            // A pool: more streams than one connection takes (1024) spread
            // over several, each reconnecting on its own.
            var o = FeedPool.Options()
            o.connection.feed = options
            o.connection.feed.url = groupURL
            connection.apply(to: &o.connection)
            do {
                let url = MarketFeed.combinedURL(base: groupURL, streams: names, microsecondTimes: microseconds)
                recorder?.header(url)
                let tap: ((UnsafeRawBufferPointer) -> Void)?
                switch (recorder, format) {
                case let (r?, .raw): tap = { r.message($0); printer.raw($0) }
                case let (r?, _): tap = { r.message($0) }
                case (nil, .raw): tap = { printer.raw($0) }
                case (nil, _): tap = nil
                }
                let feed = try await FeedPool.connect(
                    streams: names, options: o, on: loop,
                    handler: { view in if printer.print(view) { stops.send(.count) } },
                    onGap: { gap in
                        var stderr = StandardError()
                        print("ringfeed stream: \(gap)", to: &stderr) // counted in the pool's stats
                    }, tap: tap)
                feeds.append(feed)
                report.follow(pool: feed.lifecycle, label: groups.count > 1 ? String(groupURL.split(separator: "/").last ?? "") : "",
                              echo: "ringfeed stream: ") { stops.send(.gaveUp($0)) }
            } catch {
                for f in feeds { await f.stop() }
                throw fail("cannot connect to \(MarketFeed.combinedURL(base: groupURL, streams: names)): \(error)")
            }
        }

        let start = ContinuousClock.now
        stops.onInterruptOrAfter(seconds: duration)
        // Output leaves in batches; a slow trickle is flushed every 100 ms.
        let flusher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                loop.execute {
                    printer.flush()
                    recorder?.flush()
                }
            }
        }

        let reason = await stops.first()
        flusher.cancel()
        var infos: [WebSocketCloseInfo?] = []
        for f in feeds {
            let closes = await f.stop()
            infos += closes.isEmpty ? [nil] : closes.keys.sorted().map { closes[$0] }
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            loop.execute {
                printer.flush()
                recorder?.flush()
                c.resume()
            }
        }
        // Sinks flushed: what waits is written before the summary.
        let unwritten = !stdout.finish()
        recorder?.close()
        let output = stdout.stats
        let elapsed = seconds(ContinuousClock.now - start)
        var messages = 0, errors = 0, duplicates = 0, gapCount = 0, missed = 0
        for f in feeds {
            let s = f.stats
            messages += s.messages
            errors += s.errors
            duplicates += s.duplicates
            gapCount += s.gaps
            missed += s.missedTrades
        }
        let events = await onLoop(loop) { printer.printed }
        var stderr = StandardError()
        let ended: String
        switch reason {
        case .count: ended = "stopped after \(count ?? 0) events"
        case .duration: ended = "stopped after \(fmt(duration ?? 0)) s"
        case .interrupted: ended = "interrupted"
        case .outputClosed: ended = "the output was closed"
        case let .gaveUp(why): ended = "gave up reconnecting: \(why)"
        case let .outputTooSlow(what):
            ended = "\(what) could not keep up (more than \(fmt(outputBuffer)) MiB waiting)"
        }
        if let recorder, recorder.failed {
            throw fail("writing \(record ?? "") failed\(reason.isOutputTooSlow ? " (the disk did not keep up)" : "")")
        }
        var outputText = ""
        if output.droppedEvents > 0 {
            outputText = "; \(output.droppedEvents) lines dropped, stdout was slower than the stream "
                + "(at most \(fmt(outputBuffer)) MiB wait, --slow-output \(slowOutput.rawValue))"
        }
        if unwritten { outputText += "; stdout did not take the last output within 5 s" }
        let closeText = infos.map { i in
            guard let i else { return "not connected" }
            return i.error == nil ? "closed cleanly (\(i.code))" : i.description
        }.joined(separator: ", ")
        let gapText = gapCount == 0 ? "no trade gaps" : "\(gapCount) trade gap\(gapCount == 1 ? "" : "s") (\(missed) ids missed)"
        print("ringfeed stream: \(events) events in \(messages) messages, \(fmt(elapsed)) s, "
              + "\(fmt(Double(messages) / max(elapsed, 1e-9))) msg/s, \(errors) errors; "
              + "\(ConnectionReport.summary(report.snapshot)), \(gapText), \(duplicates) repeats dropped; "
              + "\(ended); \(closeText)\(outputText)",
              to: &stderr)
        switch reason {
        case .gaveUp, .outputTooSlow: throw ExitCode.failure
        default: break
        }
    }
}

private func trimSlash(_ s: String) -> String {
    var s = s
    while s.hasSuffix("/") { s.removeLast() }
    return s
}

/// `--format`: the event formats, or the messages untouched.
enum StreamFormat: String, CaseIterable, ExpressibleByArgument {
    case jsonl, table, csv, raw

    var eventFormat: EventFormat? { EventFormat(rawValue: rawValue) }
}

/// Formats events on the loop thread into one buffer and hands it to the
/// output's writer thread in large chunks (the loop never waits for stdout).
final class Printer: @unchecked Sendable {
    // @unchecked: used on the one loop thread that runs every feed's handler.
    private var formatter: EventFormatter?
    private var out = ByteWriter(capacity: 1 << 17)
    private let output: OutputPipe
    private let limit: Int?
    /// Events printed (or counted, in raw format).
    private(set) var printed = 0
    /// Raw format: messages written (the other formats write a line per
    /// event printed).
    private var rawLines = 0
    /// Lines handed to the output so far (a chunk's count: what dropping
    /// it loses).
    private var linesSent = 0

    init(format: StreamFormat, microseconds: Bool, limit: Int?, output: OutputPipe) {
        formatter = format.eventFormat.map { EventFormatter(format: $0, microsecondTimes: microseconds) }
        self.limit = limit
        self.output = output
    }

    private func write() {
        let lines = formatter == nil ? rawLines : printed
        output.send(out.bytes, events: lines - linesSent)
        linesSent = lines
        out.removeAll()
    }

    /// Raw format: one received message per line, as it came.
    func raw(_ bytes: UnsafeRawBufferPointer) {
        if let limit, printed >= limit { return }
        out.raw(bytes)
        out.byte(10)
        rawLines += 1
        if out.count >= 1 << 16 { write() }
    }

    /// Prints one event (counts it, in raw format); true once the limit has
    /// been reached.
    func print(_ view: MarketEventView) -> Bool {
        if let limit, printed >= limit { return true }
        formatter?.write(view, to: &out)
        printed += 1
        if out.count >= 1 << 16 { write() }
        if let limit, printed >= limit {
            write()
            return true
        }
        return false
    }

    func flush() {
        if out.count > 0 { write() }
    }
}

/// Writes messages as received, in the recorded-session format of
/// ../shared/data/binance: the URL line, then "<unix time>: <message>".
/// Written by a thread of its own (OutputPipe): a disk slower than the
/// stream ends the run (`.stop`) rather than losing messages or stalling
/// the connection.
final class Recorder: @unchecked Sendable {
    // @unchecked: after `header`, used on the loop thread only; `failed`
    // is atomic.
    private let fd: Int32
    private var out = ByteWriter(capacity: 1 << 17)
    private let output: OutputPipe
    private final class Flag: Sendable { let raised = Atomic<Bool>(false) }
    private let failure = Flag()
    var failed: Bool { failure.raised.load(ordering: .relaxed) }

    init?(path: String, capacity: Int, onFailure: @escaping @Sendable () -> Void) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { return nil }
        let failure = self.failure
        let failed: @Sendable () -> Void = {
            failure.raised.store(true, ordering: .relaxed)
            onFailure()
        }
        output = OutputPipe(fd: fd, capacity: capacity, whenFull: .stop, onClosed: failed, onFull: failed)
    }

    func header(_ url: String) {
        out.string(url)
        out.ascii(" <-> ")
        stamp()
        out.byte(10)
    }

    func message(_ bytes: UnsafeRawBufferPointer) {
        stamp()
        out.ascii(": ")
        out.raw(bytes)
        out.byte(10)
        if out.count >= 1 << 16 { handOver() }
    }

    private func handOver() {
        output.send(out.bytes, events: 0)
        out.removeAll()
    }

    /// Hands over what is left (loop thread).
    func flush() { if out.count > 0 { handOver() } }

    /// Waits for the writer (not on the loop thread), closes the file.
    func close() {
        if !output.finish() { failure.raised.store(true, ordering: .relaxed) }
        Glibc.close(fd)
    }

    private func stamp() {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        out.int(Int64(ts.tv_sec))
        out.byte(UInt8(ascii: "."))
        out.padded(Int64(ts.tv_nsec / 1000), width: 6)
    }
}

/// The first reason to stop wins.
final class StopSignal: Sendable {
    enum Reason: Sendable {
        case count, duration, interrupted, outputClosed
        /// The connection could not be brought back (`--max-reconnects`).
        case gaveUp(String)
        /// Output could not keep up and its policy is to stop.
        case outputTooSlow(String)

        var isOutputTooSlow: Bool { if case .outputTooSlow = self { true } else { false } }
    }

    private let outcome = FirstOutcome<Reason>()

    func send(_ r: Reason) { outcome.send(r) }

    func first() async -> Reason { await outcome.first() }

    /// Stops at Ctrl-C (or SIGTERM), and after `seconds` if given.
    func onInterruptOrAfter(seconds: Double?) {
        Task {
            await waitForInterrupt()
            self.send(.interrupted)
        }
        if let seconds {
            Task {
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                self.send(.duration)
            }
        }
    }
}
