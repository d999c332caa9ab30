import CRingFeed

/// A WebSocket server on an `EventLoop`, built on the server role of the C
/// core. Handlers run on the loop thread.
public final class WebSocketServer: @unchecked Sendable {
    // @unchecked: `server` and the handlers are used on the loop thread only.
    public let loop: EventLoop
    public let port: UInt16
    private var server: OpaquePointer?
    let handlers: Handlers

    /// What the server does with its connections (all called on the loop thread).
    // @unchecked: the closures are only ever called on the server's loop thread.
    public struct Handlers: @unchecked Sendable {
        public var onOpen: (WebSocketServerConnection) -> Void = { _ in }
        public var onMessage: (WebSocketServerConnection, WebSocketMessageView) -> Void = { _, _ in }
        public var onClose: (WebSocketServerConnection, WebSocketCloseInfo) -> Void = { _, _ in }
        public init() {}
    }

    private init(loop: EventLoop, port: UInt16, server: OpaquePointer, handlers: Handlers) {
        self.loop = loop
        self.port = port
        self.server = server
        self.handlers = handlers
    }

    /// Listens on host:port (0 = a free port; `port` tells which).
    public static func start(
        host: String = "127.0.0.1",
        port: UInt16 = 0,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        on loop: EventLoop,
        handlers: Handlers
    ) async throws -> WebSocketServer {
        let box = HandlersBox(handlers, tls: configuration.tls)
        return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<WebSocketServer, any Error>) in
            loop.execute {
                var h = rf_ws_conn_handlers()
                // ctx is the HandlersBox until on_open swaps in the connection.
                h.on_open = { conn, ctx in
                    let box = Unmanaged<HandlersBox>.fromOpaque(ctx!).takeUnretainedValue()
                    let c = WebSocketServerConnection(conn: conn!, handlers: box.handlers)
                    rf_ws_conn_set_ctx(conn, Unmanaged.passRetained(c).toOpaque())
                    box.handlers.onOpen(c)
                }
                h.on_message = { _, ctx, opcode, data, len in
                    let c = Unmanaged<WebSocketServerConnection>.fromOpaque(ctx!).takeUnretainedValue()
                    let view = WebSocketMessageView(
                        opcode: WebSocketOpcode(rawValue: opcode) ?? .binary,
                        bytes: UnsafeRawBufferPointer(start: data, count: len))
                    c.handlers.onMessage(c, view)
                }
                h.on_close = { _, ctx, code, error in
                    let c = Unmanaged<WebSocketServerConnection>.fromOpaque(ctx!).takeRetainedValue()
                    c.conn = nil
                    c.handlers.onClose(c, WebSocketCloseInfo(
                        code: Int(code), error: error == 0 ? nil : RingFeedError(code: error)))
                }
                var server: OpaquePointer?
                let ctx = Unmanaged.passRetained(box).toOpaque()
                let rc = configuration.withCConfig { cfg in
                    rf_ws_listen(loop.loop, host, port, cfg, &h, ctx, &server)
                }
                if rc != 0 {
                    Unmanaged<HandlersBox>.fromOpaque(ctx).release()
                    cont.resume(throwing: RingFeedError(code: rc))
                    return
                }
                let s = WebSocketServer(loop: loop, port: rf_ws_server_port(server), server: server!,
                                        handlers: handlers)
                s.boxContext = ctx
                cont.resume(returning: s)
            }
        }
    }

    private var boxContext: UnsafeMutableRawPointer?

    /// Stops accepting new connections; open ones carry on.
    public func stop() {
        loop.execute {
            if let server = self.server {
                rf_ws_server_close(server)
                self.server = nil
            }
            // The box is still the context of connections mid-handshake;
            // it stays alive as long as the loop might call them (leaked on
            // purpose: one small object per server).
        }
    }
}

// @unchecked: immutable; its handlers run on the loop thread only.
final class HandlersBox: @unchecked Sendable {
    let handlers: WebSocketServer.Handlers
    /// Accepted connections borrow the C context; the box outlives them all.
    let tls: TLSContext?
    init(_ handlers: WebSocketServer.Handlers, tls: TLSContext?) {
        self.handlers = handlers
        self.tls = tls
    }
}

/// One accepted connection. Use it on the loop thread (inside handlers), or
/// through `send` from elsewhere.
public final class WebSocketServerConnection: @unchecked Sendable {
    // @unchecked: `conn` is read and cleared on the loop thread only.
    fileprivate(set) var conn: OpaquePointer?
    let handlers: WebSocketServer.Handlers
    /// The request path, e.g. "/stream?streams=a".
    public let path: String
    /// Free for the application's per-connection state (loop thread only).
    public var userInfo: AnyObject?

    init(conn: OpaquePointer, handlers: WebSocketServer.Handlers) {
        self.conn = conn
        self.handlers = handlers
        self.path = String(cString: rf_ws_conn_path(conn))
    }

    /// Whether the connection is still open (loop thread).
    public var isOpen: Bool { conn != nil }

    /// Sends on the loop thread. Returns 0 or a negative `RF_E*` code.
    @discardableResult
    public func send(_ opcode: WebSocketOpcode, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let conn else { return RF_ECLOSED.rawValue }
        return rf_ws_conn_send(conn, opcode.rawValue, bytes.baseAddress, bytes.count)
    }

    @discardableResult
    public func send(text: String) -> Int32 {
        var s = text
        return s.withUTF8 { send(.text, UnsafeRawBufferPointer($0)) }
    }

    /// Bytes queued and not yet taken by the kernel: the backpressure signal.
    public var pendingBytes: Int { conn.map { rf_ws_conn_pending($0) } ?? 0 }

    /// Starts the close handshake (loop thread).
    public func close(code: Int = 1000) {
        if let conn { _ = rf_ws_conn_close(conn, Int32(code), nil, 0) }
    }
}
