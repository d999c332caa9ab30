import CRingFeed

/// A WebSocket client connection on an `EventLoop`.
///
/// Messages reach `onMessage` on the loop thread, in place and without a
/// copy: that is the fast path. Sending from inside the handler goes straight
/// to the connection; from any other thread it is handed to the loop.
///
///     let loop = try EventLoop()
///     let ws = try await WebSocket.connect(to: "ws://127.0.0.1:9001/", on: loop) { ws, msg in
///         print(msg.text)
///     }
///     ws.send(text: "hello")
///     let info = await ws.close()
public final class WebSocket: @unchecked Sendable {
    // @unchecked: every mutable field is touched only on the loop thread;
    // continuations are resumed there once.
    public let loop: EventLoop
    private var conn: OpaquePointer?
    private let onMessage: (WebSocket, WebSocketMessageView) -> Void
    private var openContinuation: CheckedContinuation<Void, any Error>?
    private var closeWaiters: [CheckedContinuation<WebSocketCloseInfo, Never>] = []
    private var closeInfo: WebSocketCloseInfo?
    /// When the core reported the end (read on the loop thread as it
    /// happened, before anyone waiting is woken): nil while it lives.
    /// Written before `closed()` returns, so readable after that from any thread.
    public private(set) var endedAt: ContinuousClock.Instant?
    /// Keeps the TLS context alive as long as the connection borrows it.
    private var tlsContext: TLSContext?

    /// Called on the loop thread for each ping received (the pong is already sent).
    public var onPing: ((WebSocket, UnsafeRawBufferPointer) -> Void)?
    /// Called on the loop thread for each pong received.
    public var onPong: ((WebSocket, UnsafeRawBufferPointer) -> Void)?

    private init(loop: EventLoop, onMessage: @escaping (WebSocket, WebSocketMessageView) -> Void) {
        self.loop = loop
        self.onMessage = onMessage
    }

    /// Connects and completes the opening handshake.
    /// - Throws: `RingFeedError` (bad URL, refused, handshake failure, timeout).
    public static func connect(
        to url: String,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        on loop: EventLoop,
        onMessage: @escaping (WebSocket, WebSocketMessageView) -> Void
    ) async throws -> WebSocket {
        let ws = WebSocket(loop: loop, onMessage: onMessage)
        var resolved = configuration
        if resolved.tls == nil && url.lowercased().hasPrefix("wss:") {
            resolved.tls = try TLSContext.defaultClient
        }
        let configuration = resolved
        ws.tlsContext = configuration.tls
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
            loop.execute {
                ws.openContinuation = cont
                let ctx = Unmanaged.passRetained(ws).toOpaque()
                var handlers = rf_ws_conn_handlers()
                handlers.on_open = { _, ctx in WebSocket.from(ctx).handleOpen() }
                handlers.on_message = { _, ctx, opcode, data, len in
                    WebSocket.from(ctx).handleMessage(opcode, data, len)
                }
                handlers.on_ping = { _, ctx, data, len in
                    let ws = WebSocket.from(ctx)
                    ws.onPing?(ws, UnsafeRawBufferPointer(start: data, count: len))
                }
                handlers.on_pong = { _, ctx, data, len in
                    let ws = WebSocket.from(ctx)
                    ws.onPong?(ws, UnsafeRawBufferPointer(start: data, count: len))
                }
                handlers.on_close = { conn, ctx, code, error in
                    // The connection is freed after this returns: read TLS's reason now.
                    var detail: String?
                    if error != 0, let conn, let tls = rf_ws_conn_tls(conn) {
                        let text = String(cString: rf_tls_error(tls))
                        detail = text.isEmpty ? nil : text
                    }
                    if error == RF_EHS_STATUS.rawValue, let conn {
                        let text = String(cString: rf_ws_conn_refusal(conn))
                        detail = text.isEmpty ? detail : text
                    }
                    let reason = conn.map { String(cString: rf_ws_conn_close_reason($0)) } ?? ""
                    Unmanaged<WebSocket>.fromOpaque(ctx!).takeRetainedValue().handleClose(code, error, detail, reason)
                }
                var conn: OpaquePointer?
                let rc = configuration.withCConfig { cfg in
                    rf_ws_connect(loop.loop, url, cfg, &handlers, ctx, &conn)
                }
                if rc != 0 {
                    Unmanaged<WebSocket>.fromOpaque(ctx).release()
                    ws.openContinuation = nil
                    cont.resume(throwing: RingFeedError(code: rc))
                    return
                }
                ws.conn = conn
            }
        }
        return ws
    }

    private static func from(_ ctx: UnsafeMutableRawPointer?) -> WebSocket {
        Unmanaged<WebSocket>.fromOpaque(ctx!).takeUnretainedValue()
    }

    private func handleOpen() {
        openContinuation?.resume()
        openContinuation = nil
    }

    private func handleMessage(_ opcode: UInt32, _ data: UnsafePointer<UInt8>?, _ len: Int) {
        let view = WebSocketMessageView(
            opcode: WebSocketOpcode(rawValue: opcode) ?? .binary,
            bytes: UnsafeRawBufferPointer(start: data, count: len))
        onMessage(self, view)
    }

    private func handleClose(_ code: Int32, _ error: Int32, _ detail: String?, _ reason: String) {
        let info = WebSocketCloseInfo(
            code: Int(code), error: error == 0 ? nil : RingFeedError(code: error, detail: detail), reason: reason)
        conn = nil
        endedAt = .now
        closeInfo = info
        if let cont = openContinuation {
            openContinuation = nil
            cont.resume(throwing: info.error ?? RingFeedError.closed)
        }
        let waiters = closeWaiters
        closeWaiters = []
        for w in waiters { w.resume(returning: info) }
    }

    // MARK: sending

    /// Sends a message from the loop thread without hopping: for handlers.
    /// Returns 0 or a negative `RF_E*` code.
    @discardableResult
    public func sendOnLoop(_ opcode: WebSocketOpcode, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        precondition(loop.inEventLoop, "sendOnLoop must run on the loop thread")
        guard let conn else { return RF_ECLOSED.rawValue }
        return rf_ws_conn_send(conn, opcode.rawValue, bytes.baseAddress, bytes.count)
    }

    /// Sends a text message (from any thread).
    public func send(text: String) {
        if loop.inEventLoop {
            var s = text
            s.withUTF8 { _ = sendOnLoop(.text, UnsafeRawBufferPointer($0)) }
        } else {
            loop.execute {
                var s = text
                s.withUTF8 { _ = self.sendOnLoop(.text, UnsafeRawBufferPointer($0)) }
            }
        }
    }

    /// Sends a binary message (from any thread).
    public func send(binary: [UInt8]) {
        if loop.inEventLoop {
            binary.withUnsafeBytes { _ = sendOnLoop(.binary, $0) }
        } else {
            loop.execute { binary.withUnsafeBytes { _ = self.sendOnLoop(.binary, $0) } }
        }
    }

    /// Sends a ping from the loop thread without hopping (payload at most
    /// 125 bytes). Returns 0 or a negative `RF_E*` code.
    @discardableResult
    public func pingOnLoop(_ payload: UnsafeRawBufferPointer) -> Int32 {
        precondition(loop.inEventLoop, "pingOnLoop must run on the loop thread")
        guard let conn else { return RF_ECLOSED.rawValue }
        return rf_ws_conn_ping(conn, payload.baseAddress, payload.count)
    }

    /// Sends a ping (payload at most 125 bytes).
    public func ping(_ payload: [UInt8] = []) {
        loop.execute {
            guard let conn = self.conn else { return }
            payload.withUnsafeBytes { _ = rf_ws_conn_ping(conn, $0.baseAddress, $0.count) }
        }
    }

    /// Starts the close handshake and waits for the end of the connection.
    @discardableResult
    public func close(code: Int = 1000, reason: String = "") async -> WebSocketCloseInfo {
        loop.execute {
            guard let conn = self.conn else { return }
            var r = reason
            r.withUTF8 { p in
                let rc = p.withMemoryRebound(to: CChar.self) {
                    rf_ws_conn_close(conn, Int32(code), $0.baseAddress, $0.count)
                }
                if rc != 0 { rf_ws_conn_abort(conn) }
            }
        }
        return await closed()
    }

    /// Drops the connection without a close handshake.
    public func abort() {
        loop.execute { if let conn = self.conn { rf_ws_conn_abort(conn) } }
    }

    /// TLS details once open: version, cipher, whether the session was
    /// resumed, and whether records go through the kernel or userspace.
    /// nil on a plain ws:// connection. Call on the loop thread (handlers) or
    /// through `loop.execute`.
    public var tlsInfo: TLSInfo? {
        guard let conn, let tls = rf_ws_conn_tls(conn) else { return nil }
        return TLSInfo(tls)
    }

    /// Waits until the connection has ended, however it ends.
    public func closed() async -> WebSocketCloseInfo {
        await withCheckedContinuation { (cont: CheckedContinuation<WebSocketCloseInfo, Never>) in
            loop.execute {
                if let info = self.closeInfo {
                    cont.resume(returning: info)
                } else {
                    self.closeWaiters.append(cont)
                }
            }
        }
    }

    /// Bytes queued for sending that the kernel has not taken yet (loop thread).
    public var pendingBytes: Int {
        guard let conn else { return 0 }
        return rf_ws_conn_pending(conn)
    }
}

extension WebSocket {
    /// Connects and returns the messages as an `AsyncSequence` of owned
    /// copies; the sequence ends when the connection does.
    public static func connectWithStream(
        to url: String,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        on loop: EventLoop
    ) async throws -> (WebSocket, AsyncStream<WebSocketMessage>) {
        let (stream, continuation) = AsyncStream<WebSocketMessage>.makeStream()
        let ws = try await connect(to: url, configuration: configuration, on: loop) { _, view in
            continuation.yield(view.message)
        }
        Task {
            _ = await ws.closed()
            continuation.finish()
        }
        return (ws, stream)
    }
}
