import ArgumentParser
import RingFeed
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Streams from the built-in loopback server to a client, both on the
/// io_uring core, and shows live counts until interrupted.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream from the built-in loopback server and show live counts.",
        discussion: """
            Starts a streaming WebSocket server on 127.0.0.1 and a client on a second
            event loop, and shows messages, rate and throughput until Ctrl-C.

            With --cert and --key the server speaks TLS and the client connects with
            wss://, trusting --ca-file (by default the certificate itself, which works
            for a self-signed one).

            Examples:
              ringfeed demo
              ringfeed demo --duration 5 --rate 10000
              ringfeed demo --cert server.pem --key server.key --ca-file ca.pem
            """)

    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    @Option(help: "Messages per second from the server (default: as fast as the client reads).")
    var rate: Int?

    @Flag(help: "Print one summary line at the end instead of a live status line.")
    var quiet = false

    @Option(help: "Serve over TLS with this PEM certificate chain (needs --key).")
    var cert: String?

    @Option(help: "The PEM private key for --cert.")
    var key: String?

    @Option(help: "PEM CA bundle the client trusts in TLS mode (default: the --cert file).")
    var caFile: String?

    func validate() throws {
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if caFile != nil && cert == nil { throw ValidationError("--ca-file needs --cert and --key") }
    }

    func run() async throws {
        let serverLoop: EventLoop, clientLoop: EventLoop
        do {
            serverLoop = try EventLoop()
            clientLoop = try EventLoop()
        } catch {
            throw fail("cannot create an io_uring event loop: \(error)")
        }
        defer {
            clientLoop.shutdown()
            serverLoop.shutdown()
        }
        var serverConfig = WebSocketConfiguration()
        var clientConfig = WebSocketConfiguration()
        if let cert, let key {
            do {
                serverConfig.tls = try TLSContext.server(certificateFile: cert, keyFile: key)
                clientConfig.tls = try TLSContext.client(caFile: caFile ?? cert)
            } catch {
                throw fail("TLS: \(error) (certificate \(cert), key \(key))")
            }
        }
        let streamer = Streamer(loop: serverLoop, rate: rate)
        let server: WebSocketServer
        do {
            server = try await WebSocketServer.start(
                configuration: serverConfig, on: serverLoop, handlers: streamer.handlers)
        } catch {
            throw fail("cannot start the loopback server: \(error)")
        }
        let stats = Stats()
        let ws: WebSocket
        // Certificates usually name "localhost"; plain ws avoids the ::1 attempt.
        let url = cert == nil ? "ws://127.0.0.1:\(server.port)/stream" : "wss://localhost:\(server.port)/stream"
        do {
            ws = try await WebSocket.connect(to: url, configuration: clientConfig, on: clientLoop) { _, msg in
                stats.add(bytes: msg.bytes.count)
            }
        } catch {
            throw fail("cannot connect to the loopback server at \(url): \(error)")
        }

        var stderr = StandardError()
        let interactive = isatty(STDERR_FILENO) != 0 && !quiet
        print("demo: streaming from \(url) (receive: \(clientLoop.receiveMode))"
              + (duration == nil ? ", Ctrl-C to stop" : ""), to: &stderr)
        let start = ContinuousClock.now
        let finished = StopFlag()
        let stopper = Task {
            if let duration {
                try? await Task.sleep(for: .milliseconds(Int(duration * 1000)))
            } else {
                await waitForInterrupt()
            }
            finished.set()
        }
        var last = (start, 0, 0)
        while true {
            try? await Task.sleep(for: .milliseconds(250))
            let done = finished.isSet
            let now = ContinuousClock.now
            let (msgs, bytes) = stats.read()
            let dt = seconds(now - last.0)
            if interactive {
                let line = String(format4: msgs, Double(msgs - last.1) / dt, Double(bytes - last.2) / dt / 1e6,
                                  seconds(now - start))
                print("\r\u{1B}[K" + line, terminator: "", to: &stderr)
            }
            last = (now, msgs, bytes)
            if done { break }
        }
        stopper.cancel()
        let total = seconds(ContinuousClock.now - start)
        let (msgs, bytes) = stats.read()
        let info = await ws.close()
        server.stop()
        if interactive { print("", to: &stderr) }
        print("demo: \(msgs) messages, \(bytes) bytes in \(fmt(total)) s: "
              + "\(fmt(Double(msgs) / total)) msg/s, \(fmt(Double(bytes) / total / 1e6)) MB/s; \(info)",
              to: &stderr)
        if msgs == 0 { throw fail("no messages received") }
    }
}

private func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func fmt(_ v: Double) -> String {
    if v >= 100 { return String(Int(v.rounded())) }
    let r = (v * 100).rounded() / 100
    return String(r)
}

extension String {
    init(format4 msgs: Int, _ rate: Double, _ mbps: Double, _ elapsed: Double) {
        self = "messages \(msgs)   rate \(fmt(rate)) msg/s   \(fmt(mbps)) MB/s   elapsed \(fmt(elapsed)) s"
    }
}

/// Set once, read by another thread.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// Counters written by the client's loop thread, read by the display.
final class Stats: Sendable {
    private let messages = Atomic<Int>(0)
    private let bytes = Atomic<Int>(0)
    func add(bytes n: Int) {
        messages.add(1, ordering: .relaxed)
        bytes.add(n, ordering: .relaxed)
    }
    func read() -> (Int, Int) {
        (messages.load(ordering: .relaxed), bytes.load(ordering: .relaxed))
    }
}

/// The server side of the demo: sends synthetic aggTrade messages to every
/// client, as fast as the socket takes them (or at a set rate), never
/// queueing more than a few MiB per connection.
final class Streamer: @unchecked Sendable {
    // @unchecked: all state is used on the server loop's thread only.
    let loop: EventLoop
    let rate: Int?
    private let messages: [[UInt8]]
    private var next = 0
    private static let maxQueued = 4 << 20

    init(loop: EventLoop, rate: Int?) {
        self.loop = loop
        self.rate = rate
        var price = 6_512_345  // cents
        var out: [[UInt8]] = []
        var rng = SplitMix(seed: 42)
        for i in 0..<1024 {
            price += Int(rng.next() % 21) - 10
            let qty = 1 + Int(rng.next() % 500_000)
            let s = "{\"e\":\"aggTrade\",\"E\":\(1_700_000_000_000 + i),\"s\":\"BTCUSDT\",\"a\":\(26_000_000 + i),"
                + "\"p\":\"\(price / 100).\(String(price % 100).leftPad(2))000000\","
                + "\"q\":\"0.\(String(qty).leftPad(8))\",\"f\":\(100_000 + i),\"l\":\(100_000 + i),"
                + "\"T\":\(1_700_000_000_000 + i),\"m\":\(i % 3 == 0),\"M\":true}"
            out.append(Array(s.utf8))
        }
        messages = out
    }

    var handlers: WebSocketServer.Handlers {
        var h = WebSocketServer.Handlers()
        h.onOpen = { [self] conn in pump(conn) }
        return h
    }

    private func pump(_ conn: WebSocketServerConnection) {
        guard conn.isOpen else { return }
        let budget = rate.map { max(1, $0 / 1000) } ?? 4096
        var sent = 0
        while sent < budget && conn.pendingBytes < Streamer.maxQueued {
            let m = messages[next & 1023]
            next &+= 1
            let rc = m.withUnsafeBytes { conn.send(.text, $0) }
            if rc != 0 { return }
            sent += 1
        }
        loop.schedule(after: rate == nil && sent == budget ? .zero : .milliseconds(1)) { [self] in pump(conn) }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
