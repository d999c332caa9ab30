import ArgumentParser
import Foundation
import RingFeed
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `ringfeed bench-reconnect`: how long a `ResilientFeed` is without data
/// when its connection fails, on loopback: plain ws://, wss:// with a full
/// TLS handshake every time, and wss:// resuming the cached session.
struct BenchReconnect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-reconnect",
        abstract: "Reconnect time on loopback, failure detected to first message: ws://, wss:// full handshake, wss:// resumed.",
        discussion: """
            Starts two `ringfeed simulate --tape N` children, one plain and one serving TLS
            with a certificate made for the run (ECDSA P-256, signed by a CA made alongside;
            needs `openssl`). Each connection of a ResilientFeed (reconnect policy without
            backoff, so the number is the reconnect itself) is sent the tape at once. Once it
            has all of it, the client aborts the connection (a failure the feed detects); the
            time measured runs from the moment the core reports that end (the `disconnected`
            lifecycle event's time) to the first market event the handler sees from the new
            connection: new TCP connection, TLS handshake, WebSocket upgrade, first frame.

            Modes: ws (plain), full (wss://, TLSContext.client(sessionResumption: false):
            every handshake is a full one), resumed (wss://, the default context settings:
            each reconnect offers the last session). A run fails if a full-mode reconnect
            resumed or a resumed-mode reconnect did not.

            Reported per mode and run: median, p90, p99 and max of --reconnects samples
            (after --warmup unmeasured ones), then per mode the median of each over the runs.

            Examples:
              ringfeed bench-reconnect
              ringfeed bench-reconnect --reconnects 500 --runs 5 --modes full,resumed
            """)

    @Option(help: "Measured reconnects per mode and run.")
    var reconnects = 200

    @Option(help: "Unmeasured reconnects before them (per mode and run).")
    var warmup = 10

    @Option(help: "Runs; the modes take turns within each.")
    var runs = 3

    @Option(help: "Comma-separated modes: ws, full, resumed.")
    var modes = "ws,full,resumed"

    @Option(help: "Messages in the tape each new connection is sent.")
    var tape = 20

    @Option(help: "Seconds one reconnect may take before the benchmark fails.")
    var timeout: Double = 10

    func validate() throws {
        if reconnects < 1 || reconnects > 100_000 { throw ValidationError("--reconnects must be 1 to 100000") }
        if warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if runs < 1 || runs > 100 { throw ValidationError("--runs must be 1 to 100") }
        if tape < 1 || tape > 100_000 { throw ValidationError("--tape must be 1 to 100000") }
        if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
        _ = try parsedModes()
    }

    private func parsedModes() throws -> [ReconnectMode] {
        var out: [ReconnectMode] = []
        for word in modes.split(separator: ",") {
            guard let m = ReconnectMode(rawValue: String(word)) else {
                throw ValidationError("--modes: '\(word)' is not one of ws, full, resumed")
            }
            if !out.contains(m) { out.append(m) }
        }
        if out.isEmpty { throw ValidationError("--modes names no mode") }
        return out
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let modes = try parsedModes()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ringfeed-reconnect-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        var plain: SimulatorChild?, secure: SimulatorChild?
        defer {
            plain?.stop()
            secure?.stop()
        }
        let perMode = Double(reconnects + warmup) * timeout
        let life = Int(Double(runs * modes.count) * perMode + 300) // the children stop by themselves
        var ca: String?
        do {
            if modes.contains(.ws) {
                plain = try SimulatorChild.start(messages: tape, seed: 1, lifetime: life, timeout: timeout)
            }
            if modes.contains(where: \.tls) {
                let files = try BenchCertificates.make(in: dir)
                ca = files.ca
                secure = try SimulatorChild.start(messages: tape, seed: 1, lifetime: life, timeout: timeout,
                                                  arguments: ["--cert", files.chain, "--key", files.key])
            }
        } catch {
            throw fail("the simulator did not start: \(error)")
        }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { throw fail("cannot create an io_uring event loop: \(error)") }
        defer { loop.shutdown() }

        let pids = [plain.map { "\($0.pid) (ws)" }, secure.map { "\($0.pid) (wss)" }].compactMap { $0 }
        print("ringfeed bench-reconnect: \(reconnects) reconnects per mode and run (+\(warmup) warm-up), \(runs) run\(runs == 1 ? "" : "s"), "
              + "tape of \(tape) messages, simulator children \(pids.joined(separator: ", ")); "
              + "kernel TLS \(TLSContext.kernelOffload.available ? "available" : "unavailable")")
        fflush(nil)
        var results: [ReconnectMode: [ReconnectStats]] = [:]
        for r in 1...runs {
            for mode in modes {
                let url = mode.tls ? secure!.wsURL : plain!.wsURL
                let stats: ReconnectStats
                do {
                    let tls = try mode.context(ca: ca)
                    stats = try await ReconnectRun(loop: loop, url: url, tls: tls, mode: mode, tape: tape,
                                                   reconnects: reconnects, warmup: warmup, timeout: timeout).run()
                } catch let e as BenchFailure {
                    throw fail("run \(r), \(mode.label): \(e.message)")
                } catch {
                    throw fail("run \(r), \(mode.label): \(error)")
                }
                results[mode, default: []].append(stats)
                print("run \(r) \(mode.label.padding(toLength: 16, withPad: " ", startingAt: 0)) \(stats.text)")
                fflush(nil)
            }
        }
        if runs > 1 {
            for mode in modes {
                let s = results[mode]!
                func mid(_ k: KeyPath<ReconnectStats, Double>) -> String { micros(median(s.map { $0[keyPath: k] })) }
                print("median \(mode.label.padding(toLength: 16, withPad: " ", startingAt: 0)) median \(mid(\.median)), "
                      + "p90 \(mid(\.p90)), p99 \(mid(\.p99)), max \(mid(\.max)) (medians of \(runs) runs)")
            }
        }
    }
}

enum ReconnectMode: String, CaseIterable, Sendable {
    case ws, full, resumed

    var tls: Bool { self != .ws }

    var label: String {
        switch self {
        case .ws: "ws://"
        case .full: "wss:// full"
        case .resumed: "wss:// resumed"
        }
    }

    /// A new context per run: a run starts without a cached session.
    func context(ca: String?) throws -> TLSContext? {
        switch self {
        case .ws: nil
        case .full: try TLSContext.client(caFile: ca, sessionResumption: false)
        case .resumed: try TLSContext.client(caFile: ca)
        }
    }
}

/// One mode's samples, in nanoseconds.
struct ReconnectStats: Sendable {
    var median: Double, p90: Double, p99: Double, max: Double
    var count: Int
    var resumed: Int
    var tls: TLSInfo?

    init(samples: [Double], resumed: Int, tls: TLSInfo?) {
        let s = samples.sorted()
        // Nearest rank: the smallest sample with at least p of them at or below it.
        func rank(_ p: Double) -> Double { s[Swift.max(0, Int((p * Double(s.count)).rounded(.up)) - 1)] }
        median = medianOfSorted(s)
        p90 = rank(0.90)
        p99 = rank(0.99)
        max = s.last ?? 0
        count = s.count
        self.resumed = resumed
        self.tls = tls
    }

    var text: String {
        var line = "median \(micros(median)), p90 \(micros(p90)), p99 \(micros(p99)), max \(micros(max))"
        if let tls {
            line += " (\(resumed)/\(count) resumed, \(tls.version) \(tls.cipher), \(tls.path))"
        }
        return line
    }
}

private func medianOfSorted(_ sorted: [Double]) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let n = sorted.count
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
}

private func median(_ v: [Double]) -> Double { medianOfSorted(v.sorted()) }

private func micros(_ ns: Double) -> String { "\(fixed(ns / 1000, 0)) µs" }

/// What the handler saw, on the loop thread only (written there, read
/// through `onLoop`).
private final class FirstEventProbe: @unchecked Sendable {
    // @unchecked: touched on the loop thread only (the handler, and
    // closures the bench runs there with `onLoop`).
    var armed = false
    var first: ContinuousClock.Instant?
    var events = 0

    func handle() {
        events += 1
        if armed {
            armed = false
            first = .now
        }
    }
}

/// The `disconnected` events' times, in order.
private final class DisconnectTimes: Sendable {
    private let times = Mutex<[ContinuousClock.Instant]>([])
    func add(_ t: ContinuousClock.Instant) { times.withLock { $0.append(t) } }
    var all: [ContinuousClock.Instant] { times.withLock { $0 } }
}

/// One feed, `warmup + reconnects` aborted connections, one sample each.
struct ReconnectRun {
    let loop: EventLoop
    let url: String
    let tls: TLSContext?
    let mode: ReconnectMode
    let tape: Int
    let reconnects: Int
    let warmup: Int
    let timeout: Double

    func run() async throws -> ReconnectStats {
        var options = ResilientFeed.Options()
        options.feed.url = url
        options.feed.tls = tls
        // No backoff: the next attempt starts as soon as the end is known.
        options.reconnect = ReconnectPolicy(base: .zero, cap: .zero)
        options.budget = ConnectionBudget(limit: reconnects + warmup + 10, window: .seconds(3600))
        options.idleTimeout = nil // the tape ends; a quiet connection is not a failure here
        options.rotateAfter = nil
        let probe = FirstEventProbe()
        let feed = try await ResilientFeed.connect(streams: ["btcusdt@bookTicker"], options: options, on: loop,
                                                   handler: { _ in probe.handle() })
        let disconnects = DisconnectTimes()
        let follower = Task {
            for await e in feed.lifecycle {
                if case .disconnected = e.event { disconnects.add(e.time) }
            }
        }
        defer { follower.cancel() }
        var samples: [Double] = []
        var resumed = 0
        var info: TLSInfo?
        do {
            for i in 0..<(warmup + reconnects) {
                let connection = try await whole(feed)
                if i > 0, let t = await onLoop(loop, { connection.webSocket?.tlsInfo }) {
                    info = t
                    if i > warmup && t.resumed { resumed += 1 }
                    if mode == .full && t.resumed { throw BenchFailure("reconnect \(i) resumed without a session cache") }
                    if mode == .resumed && !t.resumed { throw BenchFailure("reconnect \(i) ran a full handshake") }
                }
                await onLoop(loop) {
                    probe.armed = true
                    probe.first = nil
                }
                connection.webSocket?.abort()
                let (ended, first) = try await reconnected(probe, disconnects, count: i + 1)
                guard first > ended else { throw BenchFailure("the first event came before the end was reported") }
                if i >= warmup {
                    let (s, atto) = (first - ended).components
                    samples.append(Double(s) * 1e9 + Double(atto) / 1e9)
                }
            }
            // The last reconnect's handshake, checked like the others.
            let last = try await whole(feed)
            if let t = await onLoop(loop, { last.webSocket?.tlsInfo }) {
                if t.resumed { resumed += 1 }
                if mode == .full && t.resumed { throw BenchFailure("the last reconnect resumed without a session cache") }
                if mode == .resumed && !t.resumed { throw BenchFailure("the last reconnect ran a full handshake") }
            }
        } catch {
            await feed.stop()
            throw error
        }
        await feed.stop()
        if mode.tls && info == nil { throw BenchFailure("no TLS state on a wss:// connection") }
        return ReconnectStats(samples: samples, resumed: resumed, tls: info)
    }

    /// The current connection once it has delivered the whole tape (and
    /// so sends nothing more: what the probe sees next is the next one's).
    private func whole(_ feed: ResilientFeed) async throws -> MarketFeed {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            if let c = feed.connection, c.stats.messages >= tape { return c }
            try? await Task.sleep(for: .microseconds(200))
        }
        throw BenchFailure("no connection delivered the tape within \(fixed(timeout, 0)) s "
                           + "(\(feed.connection?.stats.messages ?? 0) of \(tape) messages)")
    }

    /// The `count`th end's time and the first event after it.
    private func reconnected(_ probe: FirstEventProbe, _ ends: DisconnectTimes, count: Int) async throws
        -> (ContinuousClock.Instant, ContinuousClock.Instant) {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            let all = ends.all
            if all.count > count { throw BenchFailure("\(all.count) disconnects for \(count) aborts") }
            if all.count == count, let first = await onLoop(loop, { probe.first }) { return (all[count - 1], first) }
            try? await Task.sleep(for: .microseconds(200))
        }
        throw BenchFailure("no event from a new connection within \(fixed(timeout, 0)) s of abort \(count)")
    }
}

/// A CA and a server certificate for 127.0.0.1 and localhost signed by it
/// (ECDSA P-256, valid two days), made with the `openssl` command.
enum BenchCertificates {
    struct Files {
        var ca: String, chain: String, key: String
    }

    static func make(in dir: URL) throws -> Files {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = dir.path
        let ext = "\(p)/san.ext"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: ext, atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try openssl(["req", "-x509"] + ec + ["-keyout", "\(p)/ca.key", "-out", "\(p)/ca.pem",
                                            "-subj", "/CN=ringfeed bench CA", "-days", "2"])
        try openssl(["req"] + ec + ["-keyout", "\(p)/server.key", "-out", "\(p)/server.csr", "-subj", "/CN=localhost"])
        try openssl(["x509", "-req", "-in", "\(p)/server.csr", "-CA", "\(p)/ca.pem", "-CAkey", "\(p)/ca.key",
                     "-CAcreateserial", "-out", "\(p)/server.pem", "-days", "2", "-extfile", ext])
        return Files(ca: "\(p)/ca.pem", chain: "\(p)/server.pem", key: "\(p)/server.key")
    }

    private static func openssl(_ arguments: [String]) throws {
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proc.arguments = ["openssl"] + arguments
        proc.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        proc.standardError = err
        try proc.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        proc.waitUntilExit()
        if proc.terminationStatus != 0 {
            let last = text.split(separator: "\n").last.map(String.init) ?? "status \(proc.terminationStatus)"
            throw BenchFailure("openssl \(arguments[0]) failed: \(last)")
        }
    }
}
