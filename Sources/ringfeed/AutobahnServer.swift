import ArgumentParser
import Dispatch
import RingFeed

/// The Autobahn|Testsuite testee, server side: an echo endpoint.
struct AutobahnServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autobahn-server",
        abstract: "Run an echo WebSocket server for the Autobahn|Testsuite fuzzing client.",
        discussion: """
            Echoes every text and binary message until interrupted.

            Example:
              ringfeed autobahn-server --port 9002 &
              wstest -m fuzzingclient ...   (with ws://127.0.0.1:9002 as the server URL)
            """)

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port: UInt16 = 9002

    @Option(help: "Largest message accepted, in MiB (cases 9.* send 16 MiB).")
    var maxMessageMiB: Int = 64

    func run() async throws {
        let loop: EventLoop
        do { loop = try EventLoop() } catch { throw fail("cannot create the event loop: \(error)") }
        var cfg = WebSocketConfiguration()
        cfg.maxMessageSize = maxMessageMiB << 20
        var handlers = WebSocketServer.Handlers()
        handlers.onMessage = { conn, msg in conn.send(msg.opcode, msg.bytes) }
        let server: WebSocketServer
        do {
            server = try await WebSocketServer.start(
                host: host, port: port, configuration: cfg, on: loop, handlers: handlers)
        } catch {
            throw fail("cannot listen on \(host):\(port): \(error)")
        }
        var stderr = StandardError()
        print("autobahn-server: echoing on ws://\(host):\(server.port) (receive: \(loop.receiveMode))",
              to: &stderr)
        await waitForInterrupt()
        server.stop()
        loop.shutdown()
    }
}

/// Returns when SIGINT or SIGTERM arrives.
func waitForInterrupt() async {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
        let once = OnceFlag()
        let queue = DispatchQueue(label: "ringfeed.signals")
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            src.setEventHandler {
                if once.take() { cont.resume() }
            }
            src.resume()
            sources.append(src)
        }
        SignalSources.keep(sources)
    }
}

/// Keeps signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) private static var all: [DispatchSourceSignal] = []
    static func keep(_ s: [DispatchSourceSignal]) { all += s }
}

final class OnceFlag: @unchecked Sendable {
    // @unchecked: only touched from the one serial signal queue.
    private var done = false
    func take() -> Bool {
        if done { return false }
        done = true
        return true
    }
}

#if canImport(Glibc)
import Glibc
#endif
