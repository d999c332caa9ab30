import Foundation
import RingFeed
import Testing

/// wss:// against a real third-party peer (Python websockets with ssl), against
/// RingFeed's own server in TLS mode, and every failure a user can meet.
@Suite("TLS (wss://)", .serialized)
struct TLSTests {
    func clientConfig(ca: String = cert("ca.pem"), timeout: Duration = .seconds(10)) throws -> WebSocketConfiguration {
        var cfg = WebSocketConfiguration()
        cfg.tls = try TLSContext.client(caFile: ca)
        cfg.handshakeTimeout = timeout
        return cfg
    }

    @Test("RingFeed client against a websockets wss echo server")
    func clientEcho() async throws {
        try await withPeerServer(["--tls", cert("server.pem"), cert("server.key")]) { port, loop in
            let inbox = Inbox()
            let ws = try await WebSocket.connect(
                to: "wss://localhost:\(port)/echo", configuration: try clientConfig(), on: loop
            ) { _, m in inbox.add(m.message) }
            var sent: [WebSocketMessage] = []
            for size in [0, 1, 125, 126, 16383, 16384, 16385, 65536, 1 << 20] {
                let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
                ws.send(binary: bytes)
                sent.append(WebSocketMessage(opcode: .binary, data: bytes))
                ws.send(text: "text \(size)")
                sent.append(WebSocketMessage(opcode: .text, data: Array("text \(size)".utf8)))
            }
            #expect(await inbox.wait(for: sent.count) == sent)
            let info = await withCheckedContinuation { (c: CheckedContinuation<TLSInfo?, Never>) in
                loop.execute { c.resume(returning: ws.tlsInfo) }
            }
            #expect(info?.version == "TLSv1.3")
            #expect(info?.path == "userspace")
            #expect(await ws.close() == WebSocketCloseInfo(code: 1000, error: nil))
        }
    }

    @Test("RingFeed client receives a wss stream by IP address")
    func clientStreamByIP() async throws {
        try await withPeerServer(["--tls", cert("server.pem"), cert("server.key")]) { port, loop in
            let (ws, messages) = try await WebSocket.connectWithStream(
                to: "wss://127.0.0.1:\(port)/stream?n=3000", configuration: try clientConfig(), on: loop)
            var n = 0
            for await m in messages {
                #expect(m.text.hasPrefix("{\"seq\":\(n),"))
                n += 1
            }
            #expect(n == 3000)
            #expect(await ws.closed() == WebSocketCloseInfo(code: 1000, error: nil, reason: "done"))
        }
    }

    func tlsEchoServer(_ loop: EventLoop) async throws -> WebSocketServer {
        var cfg = WebSocketConfiguration()
        cfg.maxMessageSize = 8 << 20
        cfg.tls = try TLSContext.server(certificateFile: cert("server.pem"), keyFile: cert("server.key"))
        var handlers = WebSocketServer.Handlers()
        handlers.onMessage = { conn, m in conn.send(m.opcode, m.bytes) }
        return try await WebSocketServer.start(configuration: cfg, on: loop, handlers: handlers)
    }

    @Test("websockets wss client against the RingFeed server in TLS mode")
    func serverEcho() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try await tlsEchoServer(loop)
        defer { server.stop() }
        let (status, output) = try runPython(
            "peer_client.py", ["wss://localhost:\(server.port)/echo", cert("ca.pem")])
        #expect(status == 0, "\(output)")
        #expect(output.contains("checks passed"))
    }

    @Test("a second connection with the same context resumes the session")
    func resumption() async throws {
        let serverLoop = try EventLoop(), clientLoop = try EventLoop()
        defer { clientLoop.shutdown(); serverLoop.shutdown() }
        let server = try await tlsEchoServer(serverLoop)
        defer { server.stop() }
        let cfg = try clientConfig()
        var resumed: [Bool] = []
        for _ in 0..<3 {
            let inbox = Inbox()
            let ws = try await WebSocket.connect(
                to: "wss://localhost:\(server.port)/", configuration: cfg, on: clientLoop
            ) { _, m in inbox.add(m.message) }
            ws.send(text: "hello")
            #expect(await inbox.wait(for: 1).first?.text == "hello")  // the ticket has arrived by now
            let info = await withCheckedContinuation { (c: CheckedContinuation<TLSInfo?, Never>) in
                clientLoop.execute { c.resume(returning: ws.tlsInfo) }
            }
            resumed.append(info?.resumed ?? false)
            #expect(await ws.close() == WebSocketCloseInfo(code: 1000, error: nil))
        }
        #expect(resumed == [false, true, true])
    }

    func expectFailure(_ error: RingFeedError, url: (String) -> String, peer: [String],
                       config: WebSocketConfiguration) async throws {
        try await withPeerServer(peer) { port, loop in
            let start = ContinuousClock.now
            await #expect(throws: error) {
                _ = try await WebSocket.connect(to: url(port), configuration: config, on: loop) { _, _ in }
            }
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }

    @Test("TLS failures explain themselves in one line")
    func errorDetail() async throws {
        try await withPeerServer(["--tls", cert("other.pem"), cert("other.key")]) { port, loop in
            do {
                _ = try await WebSocket.connect(
                    to: "wss://localhost:\(port)/", configuration: try clientConfig(), on: loop) { _, _ in }
                Issue.record("connected despite a certificate for another name")
            } catch let error as RingFeedError {
                #expect(error == .tlsHostname)
                #expect(error.description.hasPrefix("TLS certificate does not match the host name: "))
                #expect(error.description.contains("hostname mismatch"))
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test("an unknown CA fails with tlsUntrusted")
    func wrongCA() async throws {
        try await expectFailure(.tlsUntrusted, url: { "wss://localhost:\($0)/" },
                                peer: ["--tls", cert("server.pem"), cert("server.key")],
                                config: try clientConfig(ca: cert("wrong-ca.pem")))
    }

    @Test("a certificate for another name fails with tlsHostname")
    func wrongHostname() async throws {
        try await expectFailure(.tlsHostname, url: { "wss://localhost:\($0)/" },
                                peer: ["--tls", cert("other.pem"), cert("other.key")],
                                config: try clientConfig())
    }

    @Test("an expired certificate fails with tlsExpired")
    func expired() async throws {
        try await expectFailure(.tlsExpired, url: { "wss://localhost:\($0)/" },
                                peer: ["--tls", cert("expired.pem"), cert("expired.key")],
                                config: try clientConfig())
    }

    @Test("a plain ws:// server on a wss:// URL: it hangs up on the ClientHello")
    func plainWebSocketServer() async throws {
        // websockets closes without a byte when a request does not parse.
        try await expectFailure(.tlsClosed, url: { "wss://localhost:\($0)/" }, peer: [],
                                config: try clientConfig())
    }

    @Test("a plain HTTP server on a wss:// URL: its 400 answer is not TLS")
    func plainHTTPServer() async throws {
        let peer = try PythonPeer(script: "http_server.py")
        defer { peer.stop() }
        let port = peer.readLine()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        await #expect(throws: RingFeedError.tlsNotTLS) {
            _ = try await WebSocket.connect(
                to: "wss://localhost:\(port)/", configuration: try clientConfig(), on: loop) { _, _ in }
        }
    }

    @Test("a server that stalls mid-handshake times out")
    func stall() async throws {
        try await expectFailure(.timedOut, url: { "wss://localhost:\($0)/" }, peer: ["--stall"],
                                config: try clientConfig(timeout: .seconds(1)))
    }

    @Test("unusable certificate files are a configuration error")
    func badFiles() throws {
        #expect(throws: RingFeedError.tlsConfig) {
            _ = try TLSContext.server(certificateFile: "/nonexistent.pem", keyFile: cert("server.key"))
        }
        #expect(throws: RingFeedError.tlsConfig) {
            _ = try TLSContext.server(certificateFile: cert("server.pem"), keyFile: cert("other.key"))
        }
        #expect(throws: RingFeedError.tlsConfig) {
            _ = try TLSContext.client(caFile: "/nonexistent-ca.pem")
        }
    }
}
