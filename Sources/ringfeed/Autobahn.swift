import ArgumentParser
import RingFeed

/// The Autobahn|Testsuite testee, client side: run every case the fuzzing
/// server offers, echoing each message, then ask it to write its reports.
struct Autobahn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Autobahn|Testsuite fuzzing server's cases as an echo client.",
        discussion: """
            Connects to <url>/getCaseCount, then runs each case (echoing every text and
            binary message), then calls <url>/updateReports.

            Example:
              ringfeed autobahn --url ws://127.0.0.1:9001 --agent RingFeed
            """)

    @Option(help: "The fuzzing server's URL.")
    var url: String = "ws://127.0.0.1:9001"

    @Option(help: "The agent name the reports are filed under.")
    var agent: String = "RingFeed"

    @Option(help: "Largest message accepted, in MiB (cases 9.* send 16 MiB).")
    var maxMessageMiB: Int = 64

    func run() async throws {
        let loop: EventLoop
        do { loop = try EventLoop() } catch { throw fail("cannot create the event loop: \(error)") }
        defer { loop.shutdown() }
        var cfg = WebSocketConfiguration()
        cfg.maxMessageSize = maxMessageMiB << 20
        cfg.closeTimeout = .seconds(3)

        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let agentQuery = agent.addingQueryEscapes()
        let count: Int
        do {
            let text = try await fetchText("\(base)/getCaseCount", cfg: cfg, loop: loop)
            guard let n = Int(text) else { throw fail("unexpected case count \"\(text)\"") }
            count = n
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail("cannot reach the fuzzing server at \(base): \(error)")
        }

        var stderr = StandardError()
        var failures = 0
        for i in 1...max(count, 1) where count > 0 {
            do {
                let ws = try await WebSocket.connect(
                    to: "\(base)/runCase?case=\(i)&agent=\(agentQuery)", configuration: cfg, on: loop
                ) { ws, msg in
                    ws.sendOnLoop(msg.opcode, msg.bytes)
                }
                _ = await ws.closed()
            } catch {
                failures += 1
                print("case \(i): \(error)", to: &stderr)
            }
            if i % 25 == 0 || i == count {
                print("autobahn: \(i)/\(count) cases run", to: &stderr)
            }
        }
        do {
            let ws = try await WebSocket.connect(
                to: "\(base)/updateReports?agent=\(agentQuery)", configuration: cfg, on: loop) { _, _ in }
            _ = await ws.closed()
        } catch {
            throw fail("updateReports failed: \(error)")
        }
        if failures > 0 { throw fail("\(failures) cases could not connect") }
    }

    private func fetchText(_ url: String, cfg: WebSocketConfiguration, loop: EventLoop) async throws -> String {
        let (ws, messages) = try await WebSocket.connectWithStream(to: url, configuration: cfg, on: loop)
        var text = ""
        for await m in messages { text = m.text }
        _ = await ws.closed()
        return text
    }
}

extension String {
    /// Percent-encodes everything but unreserved characters (RFC 3986).
    func addingQueryEscapes() -> String {
        var out = ""
        for b in utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%\(hex[Int(b >> 4)])\(hex[Int(b & 15)])"
            }
        }
        return out
    }
}
