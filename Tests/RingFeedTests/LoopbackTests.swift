import Foundation
import RingFeed
import Testing

/// The Swift client and server on the same core, over loopback.
@Suite("Loopback client and server", .serialized)
struct LoopbackTests {
    func echoServer(_ loop: EventLoop, maxMessage: Int = 1 << 20,
                    onClose: @escaping (WebSocketCloseInfo) -> Void = { _ in }) async throws -> WebSocketServer {
        var cfg = WebSocketConfiguration()
        cfg.maxMessageSize = maxMessage
        var handlers = WebSocketServer.Handlers()
        handlers.onMessage = { conn, m in conn.send(m.opcode, m.bytes) }
        handlers.onClose = { _, info in onClose(info) }
        return try await WebSocketServer.start(configuration: cfg, on: loop, handlers: handlers)
    }

    @Test("messages echo in order, across two loops")
    func echoInOrder() async throws {
        let serverLoop = try EventLoop(), clientLoop = try EventLoop()
        defer { clientLoop.shutdown(); serverLoop.shutdown() }
        let server = try await echoServer(serverLoop)
        let inbox = Inbox()
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/", on: clientLoop) { _, m in
            inbox.add(m.message)
        }
        for i in 0..<2000 { ws.send(text: "message \(i)") }
        let got = await inbox.wait(for: 2000)
        #expect(got.map(\.text) == (0..<2000).map { "message \($0)" })
        #expect(await ws.close() == WebSocketCloseInfo(code: 1000, error: nil))
    }

    @Test("the client's close code reaches the server")
    func closeCodeReachesServer() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let seen = Inbox()
        let server = try await echoServer(loop) { info in
            seen.add(WebSocketMessage(opcode: .text, data: Array("\(info.code)".utf8)))
        }
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/", on: loop) { _, _ in }
        #expect(await ws.close(code: 4321, reason: "done") == WebSocketCloseInfo(code: 4321, error: nil))
        #expect(await seen.wait(for: 1).first?.text == "4321")
    }

    @Test("an oversized message fails the connection with 1009")
    func tooBig() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try await echoServer(loop, maxMessage: 1000)
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/", on: loop) { _, _ in }
        ws.send(binary: [UInt8](repeating: 7, count: 1001))
        let info = await ws.closed()
        #expect(info.code == 1009)
    }

    @Test("ping is answered with the same payload")
    func pingPong() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try await echoServer(loop)
        let pongs = Inbox()
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/", on: loop) { _, _ in }
        loop.execute { ws.onPong = { _, p in pongs.add(WebSocketMessage(opcode: .binary, data: Array(p))) } }
        ws.ping([1, 2, 3, 250])
        #expect(await pongs.wait(for: 1).first?.data == [1, 2, 3, 250])
        _ = await ws.close()
    }

    @Test("connection errors are typed")
    func errors() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        // A port nobody listens on: bind one, close it, connect to it.
        let server = try await echoServer(loop)
        let port = server.port
        server.stop()
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: RingFeedError.connectionRefused) {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/", on: loop) { _, _ in }
        }
        await #expect(throws: RingFeedError.badURL) {
            _ = try await WebSocket.connect(to: "http//nonsense", on: loop) { _, _ in }
        }
        await #expect(throws: RingFeedError.badURL) {
            _ = try await WebSocket.connect(to: "ftp://127.0.0.1:1/", on: loop) { _, _ in }
        }
    }
}
