import Foundation
import RingFeed
import Testing

/// RingFeed against a real third-party peer: Python's `websockets`.
@Suite("Interop with Python websockets", .serialized)
struct InteropTests {
    @Test("RingFeed client against a websockets echo server")
    func clientEcho() async throws {
        try await withPeerServer { port, loop in
            let inbox = Inbox()
            let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/echo", on: loop) { _, m in
                inbox.add(m.message)
            }
            var sent: [WebSocketMessage] = []
            for size in [0, 1, 125, 126, 65535, 65536, 1 << 20] {
                let text = String(repeating: "é", count: size / 2) + (size % 2 == 1 ? "a" : "")
                ws.send(text: text)
                sent.append(WebSocketMessage(opcode: .text, data: Array(text.utf8)))
                let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
                ws.send(binary: bytes)
                sent.append(WebSocketMessage(opcode: .binary, data: bytes))
            }
            let got = await inbox.wait(for: sent.count)
            #expect(got == sent)
            let info = await ws.close(code: 1000)
            #expect(info == WebSocketCloseInfo(code: 1000, error: nil))
        }
    }

    @Test("RingFeed client receives a stream and the server's close")
    func clientStream() async throws {
        try await withPeerServer { port, loop in
            let (ws, messages) = try await WebSocket.connectWithStream(
                to: "ws://127.0.0.1:\(port)/stream?n=5000", on: loop)
            var n = 0
            for await m in messages {
                #expect(m.text.hasPrefix("{\"seq\":\(n),"))
                n += 1
            }
            #expect(n == 5000)
            #expect(await ws.closed() == WebSocketCloseInfo(code: 1000, error: nil, reason: "done"))
        }
    }

    @Test("RingFeed client reassembles a fragmented message and sees close code 4001 with its reason")
    func clientFragmentsAndCloseCode() async throws {
        try await withPeerServer { port, loop in
            let inbox = Inbox()
            let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/fragmented", on: loop) { _, m in
                inbox.add(m.message)
            }
            let got = await inbox.wait(for: 1)
            #expect(got.first?.text == "κόσμε fragmented message")
            _ = await ws.close()

            let closer = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/close4001", on: loop) { _, _ in }
            #expect(await closer.closed() == WebSocketCloseInfo(code: 4001, error: nil, reason: "bye"))
        }
    }

    @Test("websockets client against the RingFeed server")
    func serverEcho() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var cfg = WebSocketConfiguration()
        cfg.maxMessageSize = 8 << 20
        var handlers = WebSocketServer.Handlers()
        handlers.onMessage = { conn, m in conn.send(m.opcode, m.bytes) }
        let server = try await WebSocketServer.start(configuration: cfg, on: loop, handlers: handlers)
        defer { server.stop() }
        let (status, output) = try runPython("peer_client.py", ["ws://127.0.0.1:\(server.port)/echo"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("checks passed"))
    }
}
