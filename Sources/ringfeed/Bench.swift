import ArgumentParser
import CRingFeed
import Foundation
import RingFeed
import RingFeedSimulator
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `ringfeed bench`: the end-to-end ingest benchmark (issue 5) through the
/// Swift shell. The simulator sends its pre-encoded tape as fast as the
/// socket takes it; a `MarketFeed` keeps the four order books and hands
/// every event to a consumer; at the end every book is compared with the
/// tape's own final book.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "End-to-end ingest benchmark against the simulator: messages/s, CPU per message, peak memory.",
        discussion: """
            Starts `ringfeed simulate --tape N` as a child process (its CPU is not counted)
            unless --url names a running one started with the same --tape and --seed. Each
            run opens a fresh connection with the tape's 12 streams (depth@100ms, aggTrade
            and bookTicker of BTCUSDT, ETHUSDT, SOLUSDT, BNBUSDT) and keeps the four order
            books in the shell (MarketFeed.connect(streams:orderBooks:), REST snapshots
            from the simulator). The tape (70% depth diffs of 1-20 levels, 25% aggTrade,
            5% bookTicker, about 268 bytes a message) arrives as fast as the socket
            takes it.

            --consumer handler: a synchronous handler on the I/O thread sees every event
            in place (counts kinds, sums trade quantities). --consumer stream: a task
            consumes the `events` AsyncSequence (owned values; depth diffs of kept books
            stay with the books, so it sees the trades and tickers).

            --layer core: the connection alone (MarketFeed). --layer resilient: the same
            inside the reconnecting layer (ResilientFeed: trade ids checked exactly once,
            idle watch, rotation ready), handler consumer only; the difference between
            the two is what resilience costs a message.

            A run passes when it received exactly N messages, no message failed to
            scan, no event was dropped, every book synced once with no gap, resync or
            crossed update, applied every diff of its symbol, and ends level by level
            equal to the tape generator's own book (computed here, independently of
            the client). Anything else exits with status 1.

            Reported per run and as the median: messages/s from the first message to
            the last, CPU ns per message (this process's user + sys time over the same
            span, getrusage), peak RSS (ru_maxrss); and the simulator child's CPU per
            message sent.

            Examples:
              ringfeed bench
              ringfeed bench --messages 200000 --runs 3 --consumer stream
              ringfeed bench --layer resilient
              ringfeed bench --format json
              ringfeed simulate --port 9443 --tape 1000000 --seed 1 &
              ringfeed bench --url ws://127.0.0.1:9443
            """)

    @Option(help: "Messages in the tape (each run receives all of them).")
    var messages = 1_000_000

    @Option(help: "Runs, each on a fresh connection.")
    var runs = 5

    @Option(help: "Seed of the tape (the same for --url's simulator).")
    var seed: UInt64 = 1

    @Option(help: "handler (synchronous, on the I/O thread) or stream (the events AsyncSequence, consumed by a task).")
    var consumer: BenchConsumer = .handler

    @Option(help: "core (MarketFeed) or resilient (ResilientFeed around it; handler consumer only).")
    var layer: BenchLayer = .core

    @Option(help: "text (a line per run and a median line) or json (one object).")
    var format: BenchFormat = .text

    @Option(help: "A running simulator (ws://HOST:PORT) serving --tape N --seed S, instead of starting one.")
    var url: String?

    @Option(name: .customLong("rest-url"), help: "Its REST endpoint (default: http://HOST:PORT of --url).")
    var restURL: String?

    @Option(help: "Seconds one run may take before the benchmark fails.")
    var timeout: Double = 60

    func validate() throws {
        if messages < 1 { throw ValidationError("--messages must be positive") }
        if runs < 1 || runs > 1000 { throw ValidationError("--runs must be 1 to 1000") }
        if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
        if let url, Endpoint(url)?.scheme != "ws" { throw ValidationError("--url '\(url)' is not a ws:// URL") }
        if let restURL, Endpoint(restURL)?.scheme != "http" {
            throw ValidationError("--rest-url '\(restURL)' is not an http:// URL")
        }
        if restURL != nil && url == nil { throw ValidationError("--rest-url goes with --url") }
        if layer == .resilient && consumer != .handler { throw ValidationError("--layer resilient goes with --consumer handler") }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        var child: SimulatorChild?
        defer { child?.stop() }
        let wsURL: String, httpURL: String
        // The expectation is worked out while the child encodes its tape (two cores).
        let (messages, seed) = (self.messages, self.seed)
        let expecting = Task.detached { BlastTapeExpectation(messages: messages, seed: seed) }
        if let url {
            wsURL = trimSlash(url)
            httpURL = restURL.map(trimSlash) ?? "http://" + Endpoint(url)!.authority
        } else {
            do {
                // Bounded even if this process dies: the child stops by itself.
                let life = Int(Double(runs) * timeout + 300)
                child = try SimulatorChild.start(messages: messages, seed: seed, lifetime: life, timeout: timeout)
            } catch {
                throw fail("the simulator did not start: \(error)")
            }
            wsURL = child!.wsURL
            httpURL = child!.httpURL
        }
        let expected = await expecting.value

        let loop: EventLoop
        do { loop = try EventLoop() } catch { throw fail("cannot create an io_uring event loop: \(error)") }
        defer { loop.shutdown() }

        if format == .text {
            let source = child.map { "simulator child pid \($0.pid)" } ?? "simulator at \(wsURL)"
            print("ringfeed bench: \(messages) messages (seed \(seed): \(expected.diffs) diffs, \(expected.trades) aggTrade, "
                  + "\(expected.tickers) bookTicker), \(runs) run\(runs == 1 ? "" : "s"), consumer \(consumer.rawValue), layer \(layer.rawValue), \(source)")
            fflush(nil)
        }
        var results: [BenchRun] = []
        for i in 1...runs {
            let simBefore = child?.cpuNs()
            let r: BenchRun
            do {
                r = try await BenchRunner(loop: loop, wsURL: wsURL, httpURL: httpURL, expected: expected,
                                          consumer: consumer, layer: layer, timeout: timeout).run()
            } catch {
                throw fail("run \(i): \(error.message)")
            }
            var run = r
            if let simBefore, let simAfter = child?.cpuNs() {
                run.simulatorNsPerMessage = Double(simAfter - simBefore) / Double(messages)
            }
            results.append(run)
            if format == .text {
                print("run \(i): \(run.text)")
                fflush(nil)
            }
        }
        let summary = BenchSummary(results)
        switch format {
        case .text:
            print("median: \(summary.text)")
        case .json:
            print(summary.json(messages: messages, seed: seed, consumer: consumer, expected: expected, runs: results))
        }
    }
}

enum BenchConsumer: String, CaseIterable, ExpressibleByArgument, Sendable {
    case handler, stream
}

enum BenchLayer: String, CaseIterable, ExpressibleByArgument, Sendable {
    case core, resilient
}

enum BenchFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json
}

/// Why a run failed, in one line.
struct BenchFailure: Error {
    var message: String
    init(_ m: String) { message = m }
}

private func trimSlash(_ s: String) -> String {
    var s = s
    while s.hasSuffix("/") { s.removeLast() }
    return s
}

// MARK: - measurement

/// A point in time and this process's CPU time so far (every thread's user +
/// sys; the simulator child is another process).
struct UsageStamp: Sendable {
    var wallNs: UInt64
    var cpuNs: Int64
    var maxRSSKiB: Int

    static func now() -> UsageStamp {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        let cpu = (Int64(u.ru_utime.tv_sec) + Int64(u.ru_stime.tv_sec)) * 1_000_000_000
            + (Int64(u.ru_utime.tv_usec) + Int64(u.ru_stime.tv_usec)) * 1000
        return UsageStamp(wallNs: rf_now_ns(), cpuNs: cpu, maxRSSKiB: Int(u.ru_maxrss))
    }
}

/// One run's numbers.
struct BenchRun: Sendable {
    var seconds: Double
    var messages: Int
    var cpuNs: Int64
    var peakRSSKiB: Int
    var diffs: Int
    var simulatorNsPerMessage: Double?

    var messagesPerSecond: Double { Double(messages) / max(seconds, 1e-9) }
    var cpuNsPerMessage: Double { Double(cpuNs) / Double(messages) }

    var text: String {
        let sim = simulatorNsPerMessage.map { ", simulator \(fixed($0, 0)) ns/msg" } ?? ""
        return "\(grouped(messagesPerSecond)) msg/s, \(fixed(cpuNsPerMessage, 1)) ns CPU/msg, "
            + "peak RSS \(fixed(Double(peakRSSKiB) / 1024, 1)) MB, \(messages) messages in \(fixed(seconds, 3)) s, "
            + "4/4 books exact\(sim)"
    }
}

struct BenchSummary {
    var messagesPerSecond: Double
    var cpuNsPerMessage: Double
    var peakRSSKiB: Int
    var simulatorNsPerMessage: Double?

    init(_ runs: [BenchRun]) {
        messagesPerSecond = median(runs.map(\.messagesPerSecond))
        cpuNsPerMessage = median(runs.map(\.cpuNsPerMessage))
        peakRSSKiB = runs.map(\.peakRSSKiB).max() ?? 0
        let sim = runs.compactMap(\.simulatorNsPerMessage)
        simulatorNsPerMessage = sim.isEmpty ? nil : median(sim)
    }

    var text: String {
        let sim = simulatorNsPerMessage.map { ", simulator \(fixed($0, 0)) ns/msg" } ?? ""
        return "\(grouped(messagesPerSecond)) msg/s, \(fixed(cpuNsPerMessage, 1)) ns CPU/msg, "
            + "peak RSS \(fixed(Double(peakRSSKiB) / 1024, 1)) MB, books exact in every run\(sim)"
    }

    func json(messages: Int, seed: UInt64, consumer: BenchConsumer, expected: BlastTapeExpectation, runs: [BenchRun]) -> String {
        func num(_ v: Double, _ d: Int) -> String { fixed(v, d) }
        let list = runs.map { r in
            "{\"messagesPerSecond\":\(num(r.messagesPerSecond, 0)),\"cpuNsPerMessage\":\(num(r.cpuNsPerMessage, 1)),"
                + "\"seconds\":\(num(r.seconds, 6)),\"peakRSSKiB\":\(r.peakRSSKiB),\"messages\":\(r.messages),"
                + "\"diffs\":\(r.diffs),\"booksExact\":true"
                + (r.simulatorNsPerMessage.map { ",\"simulatorCpuNsPerMessage\":\(num($0, 1))" } ?? "") + "}"
        }.joined(separator: ",")
        return "{\"messages\":\(messages),\"seed\":\(seed),\"consumer\":\"\(consumer.rawValue)\","
            + "\"diffs\":\(expected.diffs),\"aggTrades\":\(expected.trades),\"bookTickers\":\(expected.tickers),"
            + "\"runs\":[\(list)],\"median\":{\"messagesPerSecond\":\(num(messagesPerSecond, 0)),"
            + "\"cpuNsPerMessage\":\(num(cpuNsPerMessage, 1))"
            + (simulatorNsPerMessage.map { ",\"simulatorCpuNsPerMessage\":\(num($0, 1))" } ?? "")
            + "},\"peakRSSKiB\":\(peakRSSKiB),\"booksExact\":true}"
    }
}

private func median(_ v: [Double]) -> Double {
    let s = v.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// 1234567.8 -> "1,234,568".
private func grouped(_ v: Double) -> String {
    let digits = String(Int64(v.rounded()))
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return out
}

// MARK: - one run

/// How a run ended: the last message consumed, the connection gone, or the
/// deadline (the first of them wins).
enum RunOutcome: Sendable {
    case consumed
    case closed(String)
    case timedOut
}

typealias RunEnd = FirstOutcome<RunOutcome>

/// What the consumer saw. In handler mode written on the loop thread only;
/// in stream mode by the consuming task only; read after `RunEnd` fired,
/// whose lock orders those writes before the reads.
final class ConsumerTally: @unchecked Sendable {
    // @unchecked: one writer thread at a time (see above), read after the run ends.
    let target: Int
    let end: RunEnd
    var events = 0, diffs = 0, trades = 0, tickers = 0, others = 0
    /// Sum of trade quantity mantissas (the handler reads every trade).
    var tradeQuantity: Int64 = 0
    var first: UsageStamp?
    var last: UsageStamp?

    init(target: Int, end: RunEnd) {
        self.target = target
        self.end = end
    }

    /// The synchronous handler: the event in place, on the I/O thread.
    @inline(__always)
    func handle(_ v: MarketEventView) {
        events += 1
        if events == 1 { first = .now() }
        switch rf_bn_type(rawValue: UInt32(v.raw.pointee.type)) {
        case RF_BN_DEPTH_UPDATE: diffs += 1
        case RF_BN_AGG_TRADE:
            trades += 1
            tradeQuantity &+= v.raw.pointee.u.trade.quantity.mantissa
        case RF_BN_BOOK_TICKER: tickers += 1
        default: others += 1
        }
        if events == target {
            last = .now()
            end.send(.consumed)
        }
    }

    /// The stream consumer: an owned event.
    func take(_ e: StreamEvent) {
        events += 1
        if events == 1 { first = .now() }
        switch e.event {
        case .depthUpdate: diffs += 1
        case let .aggTrade(t):
            trades += 1
            tradeQuantity &+= t.quantity.mantissa
        case .bookTicker: tickers += 1
        default: others += 1
        }
    }
}

/// One run: connect with the four books, take the whole tape, check.
struct BenchRunner {
    let loop: EventLoop
    let wsURL: String
    let httpURL: String
    let expected: BlastTapeExpectation
    let consumer: BenchConsumer
    var layer: BenchLayer = .core
    let timeout: Double

    func run() async throws(BenchFailure) -> BenchRun {
        let n = expected.messages
        let symbols = expected.books.map(\.symbol)
        let streams = symbols.flatMap { s in
            ["@depth@100ms", "@aggTrade", "@bookTicker"].map { s.lowercased() + $0 }
        }
        var feedOptions = MarketFeed.Options()
        feedOptions.url = wsURL
        // Owned events wait here for the consumer; it must not lose any.
        feedOptions.eventBufferSize = max(feedOptions.eventBufferSize, n)
        var bookOptions = BookOptions()
        bookOptions.venue = .spot
        bookOptions.snapshotURL = httpURL + "/api/v3/depth"
        // The tape starts from books of 1000 levels a side: the whole book.
        bookOptions.snapshotLimit = 1000
        // The tape's snapshot never moves: a diff dropped while it is fetched
        // could never be bridged again, so the buffer holds the whole tape.
        bookOptions.bufferLimit = max(bookOptions.bufferLimit, n)
        // A budget of its own: the simulator is not Binance's shared limit.
        bookOptions.budget = WeightBudget(limit: 6000, window: .seconds(60))

        let end = RunEnd()
        let handlerTarget = consumer == .handler ? n : expected.trades + expected.tickers
        let tally = ConsumerTally(target: handlerTarget, end: end)
        loop.schedule(after: .milliseconds(Int64(timeout * 1000))) { end.send(.timedOut) }

        let feed: MarketFeed, books: [OrderBook]
        var resilient: ResilientFeed?
        do {
            switch layer {
            case .core:
                (feed, books) = try await MarketFeed.connect(
                    streams: streams, orderBooks: symbols, bookOptions: bookOptions, options: feedOptions, on: loop,
                    handler: consumer == .handler ? { tally.handle($0) } : nil)
            case .resilient:
                var options = ResilientFeed.Options()
                options.feed = feedOptions
                options.book = bookOptions
                options.budget = ConnectionBudget(limit: 300, window: .seconds(300)) // not Binance's shared one
                let r = try await ResilientFeed.connect(streams: streams, orderBooks: symbols, options: options, on: loop,
                                                        handler: { tally.handle($0) })
                guard let current = r.connection else { throw BenchFailure("the resilient feed has no connection") }
                resilient = r
                feed = current
                books = symbols.map { r.books[$0]! }
            }
        } catch {
            throw BenchFailure("cannot connect to \(wsURL): \(error)")
        }
        func close() async {
            if let resilient { await resilient.stop() } else { _ = await feed.close() }
        }
        let watcher = Task {
            let info = await feed.closed()
            end.send(.closed("the connection ended after \(feed.stats.messages) of \(n) messages: \(info)"))
        }
        var streamTask: Task<Void, Never>?
        if consumer == .stream {
            streamTask = Task {
                for await e in feed.events {
                    tally.take(e)
                    if tally.events == tally.target {
                        // The I/O thread may still be applying diffs that came after the last owned event.
                        let deadline = ContinuousClock.now + .seconds(timeout)
                        while feed.stats.messages < n && ContinuousClock.now < deadline {
                            try? await Task.sleep(for: .microseconds(50))
                        }
                        tally.last = .now()
                        end.send(.consumed)
                    }
                }
            }
        }
        let outcome = await end.first()
        defer {
            watcher.cancel()
            streamTask?.cancel()
        }
        switch outcome {
        case .consumed: break
        case let .closed(why):
            await close()
            throw BenchFailure(why)
        case .timedOut:
            await close()
            throw BenchFailure("timed out after \(fixed(timeout, 0)) s: \(feed.stats.messages) of \(n) messages, "
                               + "\(tally.events) events consumed; books: "
                               + books.map { "\($0.symbol) \($0.state)" }.joined(separator: ", "))
        }
        guard let first = tally.first, var last = tally.last else { throw BenchFailure("no message was timed") }

        // A book whose snapshot comes after the last message (tiny tapes)
        // applies its buffered diffs when it arrives, in one pass on the
        // loop thread: the run ends when that is done. Asked on the loop, so
        // never in the middle of that pass.
        let deadline = ContinuousClock.now + .seconds(timeout)
        var waited = false
        while await onLoop(loop, { books.contains { $0.state == .syncing } }) && ContinuousClock.now < deadline {
            waited = true
            try? await Task.sleep(for: .microseconds(200))
        }
        if waited { last = .now() }

        // Checked on the loop thread (the books hold still) and before
        // closing (a closed connection leaves its books stale).
        let checked = await onLoop(loop) { [self] in
            Result { () throws(BenchFailure) in try check(stats: feed.stats, tally: tally, books: books) }
        }
        await close()
        try checked.get()
        return BenchRun(seconds: Double(last.wallNs - first.wallNs) / 1e9, messages: n, cpuNs: last.cpuNs - first.cpuNs,
                        peakRSSKiB: UsageStamp.now().maxRSSKiB, diffs: expected.diffs)
    }

    /// Everything a correct run must show; the first thing that is off.
    func check(stats: MarketFeed.Stats, tally: ConsumerTally, books: [OrderBook]) throws(BenchFailure) {
        let n = expected.messages
        if stats.messages != n { throw BenchFailure("received \(stats.messages) messages, the tape has \(n)") }
        if stats.errors != 0 { throw BenchFailure("\(stats.errors) messages did not scan") }
        if stats.dropped != 0 { throw BenchFailure("the event stream dropped \(stats.dropped) events") }
        let wantDiffs = consumer == .handler ? expected.diffs : 0
        if tally.diffs != wantDiffs || tally.trades != expected.trades || tally.tickers != expected.tickers || tally.others != 0 {
            throw BenchFailure("the consumer saw \(tally.diffs) diffs, \(tally.trades) aggTrade, \(tally.tickers) bookTicker, "
                               + "\(tally.others) others; expected \(wantDiffs), \(expected.trades), \(expected.tickers), 0")
        }
        for (i, book) in books.enumerated() {
            let want = expected.books[i]
            let s = book.stats
            if s.gaps != 0 || s.resyncs != 0 || s.crossed != 0 || s.syncs != 1 || s.snapshotsTooOld != 0
                || s.bufferOverflows != 0 || s.updatesSkipped != 0 {
                throw BenchFailure("\(want.symbol): \(s.syncs) syncs, \(s.resyncs) resyncs, \(s.gaps) gaps, \(s.crossed) crossed, "
                                   + "\(s.snapshotsTooOld) snapshots too old, \(s.bufferOverflows) buffer overflows, "
                                   + "\(s.updatesSkipped) skipped (expected one sync and nothing else)")
            }
            if s.updatesApplied != want.diffs {
                throw BenchFailure("\(want.symbol): \(s.updatesApplied) diffs applied, the tape has \(want.diffs)")
            }
            if let d = book.read({ expected.difference(symbol: i, in: $0) }) {
                throw BenchFailure("book not exact: \(d)")
            }
        }
    }
}

// MARK: - the simulator child

/// `ringfeed simulate --port 0 --tape N` as a child process of this
/// executable, its first line parsed for the URLs.
struct SimulatorChild {
    let process: Process
    let wsURL: String
    let httpURL: String
    let output: URL
    var pid: Int32 { process.processIdentifier }

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    /// `arguments`: more `simulate` options (`--cert`, `--key` ...).
    static func start(messages: Int, seed: UInt64, lifetime: Int, timeout: Double,
                      arguments: [String] = []) throws -> SimulatorChild {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ringfeed-bench-\(getpid())-\(UUID().uuidString.prefix(8)).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let p = Process()
        p.executableURL = me
        p.arguments = ["simulate", "--port", "0", "--tape", String(messages), "--seed", String(seed),
                       "--status-interval", "3600", "--duration", String(lifetime)] + arguments
        let handle = try FileHandle(forWritingTo: out)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        try? handle.close()
        // Encoding a million messages takes about a second; a slow machine, several.
        let deadline = Date().addingTimeInterval(max(60, timeout))
        while Date() < deadline {
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.hasPrefix("simulate: listening on ") {
                let words = line.split(separator: " ")
                if words.count > 3, let andAt = words.firstIndex(of: "and"), andAt + 1 < words.count {
                    return SimulatorChild(process: p, wsURL: String(words[3]), httpURL: String(words[andAt + 1]), output: out)
                }
            }
            if !p.isRunning {
                try? FileManager.default.removeItem(at: out)
                let last = text.split(separator: "\n").last.map(String.init) ?? "no output"
                throw StartError(description: "it exited with status \(p.terminationStatus): \(last)")
            }
            usleep(20_000)
        }
        p.terminate()
        p.waitUntilExit()
        try? FileManager.default.removeItem(at: out)
        throw StartError(description: "no \"listening on\" line within \(Int(max(60, timeout))) s")
    }

    /// The child's CPU time so far (user + sys, from /proc).
    func cpuNs() -> Int64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let f = stat[stat.index(after: close)...].split(separator: " ")
        guard f.count > 12, let u = Int64(f[11]), let s = Int64(f[12]) else { return nil }
        return (u + s) * 1_000_000_000 / Int64(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: output)
    }
}
