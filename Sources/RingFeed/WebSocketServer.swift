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
        /// A ping arrived (the pong is already queued) / a pong arrived.
        public var onPing: ((WebSocketServerConnection, UnsafeRawBufferPointer) -> Void)?
        public var onPong: ((WebSocketServerConnection, UnsafeRawBufferPointer) -> Void)?
        /// Every HTTP request before an upgrade: plain ones (REST next to the
        /// streams) and WebSocket upgrades (`request.isUpgrade`). Return a
        /// response to answer it; nil lets an upgrade go ahead and answers a
        /// plain request with 404. Answering an upgrade refuses it. Plain
        /// requests on a kept-alive connection follow one another.
        public var onHTTPRequest: ((HTTPServerRequest) -> HTTPServerResponse?)?
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
                h.on_ping = { _, ctx, data, len in
                    let c = Unmanaged<WebSocketServerConnection>.fromOpaque(ctx!).takeUnretainedValue()
                    c.handlers.onPing?(c, UnsafeRawBufferPointer(start: data, count: len))
                }
                h.on_pong = { _, ctx, data, len in
                    let c = Unmanaged<WebSocketServerConnection>.fromOpaque(ctx!).takeUnretainedValue()
                    c.handlers.onPong?(c, UnsafeRawBufferPointer(start: data, count: len))
                }
                if handlers.onHTTPRequest != nil {
                    // Before on_open the context is still the HandlersBox.
                    h.on_http_request = { conn, ctx, req in
                        let box = Unmanaged<HandlersBox>.fromOpaque(ctx!).takeUnretainedValue()
                        guard let conn, let req,
                              let response = box.handlers.onHTTPRequest?(HTTPServerRequest(req.pointee))
                        else { return }
                        response.write(to: conn)
                    }
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
    public func close(code: Int = 1000, reason: String = "") {
        guard let conn else { return }
        var r = reason
        _ = r.withUTF8 { rf_ws_conn_close(conn, Int32(code), $0.baseAddress, $0.count) }
    }

    /// Sends a ping (payload at most 125 bytes; loop thread).
    @discardableResult
    public func ping(_ payload: [UInt8] = []) -> Int32 {
        guard let conn else { return RF_ECLOSED.rawValue }
        return payload.withUnsafeBytes { rf_ws_conn_ping(conn, $0.baseAddress, $0.count) }
    }

    /// Drops the TCP connection now, without a close frame (loop thread);
    /// the peer sees 1006.
    public func abort() {
        if let conn { rf_ws_conn_abort(conn) }
    }

    /// Fault injection only: queues bytes as they are, without framing
    /// (e.g. a frame with a reserved opcode). Loop thread.
    @discardableResult
    public func sendRawForFaultInjection(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let conn else { return RF_ECLOSED.rawValue }
        return rf_ws_conn_send_raw(conn, bytes.baseAddress, bytes.count)
    }

    /// Fault injection only: goes silent (input discarded unread, so pings
    /// go unanswered; sends refused) while the socket stays open. Loop thread.
    public func stallForFaultInjection() {
        if let conn { rf_ws_conn_stall(conn) }
    }
}

/// A plain HTTP request seen by `WebSocketServer.Handlers.onHTTPRequest`.
public struct HTTPServerRequest: Sendable {
    public var method: String
    /// The request-target as sent: path and query.
    public var target: String
    /// Header lines in order, names as sent.
    public var headers: [(name: String, value: String)]
    /// Whether this is a WebSocket upgrade request.
    public var isUpgrade: Bool

    /// The path part of the target (before "?").
    public var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] }

    /// The query parameters, percent-decoded, in order ("+" is a space).
    public var query: [(name: String, value: String)] {
        guard let q = target.firstIndex(of: "?") else { return [] }
        return target[target.index(after: q)...].split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (percentDecoded(kv[0]), kv.count > 1 ? percentDecoded(kv[1]) : "")
        }
    }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public init(method: String, target: String, headers: [(name: String, value: String)] = [], isUpgrade: Bool = false) {
        self.method = method
        self.target = target
        self.headers = headers
        self.isUpgrade = isUpgrade
    }

    init(_ r: rf_http_server_request) {
        method = r.method.string
        target = r.target.string
        isUpgrade = r.upgrade != 0
        headers = r.head.string.split(separator: "\r\n").compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]),
                    String(line[line.index(after: colon)...]).trimmingASCIISpaces())
        }
    }
}

/// The answer to an `HTTPServerRequest`. Content-Length and Connection are
/// added by the core.
public struct HTTPServerResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON body with its Content-Type.
    public static func json(_ status: Int, _ body: [UInt8]) -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: [("Content-Type", "application/json;charset=UTF-8")], body: body)
    }

    public static func json(_ status: Int, _ text: String) -> HTTPServerResponse {
        json(status, Array(text.utf8))
    }

    fileprivate func write(to conn: OpaquePointer) {
        // Header names and values with CR or LF would be refused by the core
        // (RF_EINVAL); drop such lines rather than lose the whole answer.
        let lines = headers.filter { !($0.name + $0.value).contains(where: { $0 == "\r" || $0 == "\n" }) }
            .map { "\($0.name): \($0.value)\r\n" }.joined()
        _ = body.withUnsafeBytes { b in
            rf_ws_conn_http_respond(conn, Int32(status), lines, b.baseAddress, b.count)
        }
    }
}

private func percentDecoded(_ s: Substring) -> String {
    var out: [UInt8] = []
    var it = Array(s.utf8)[...]
    while let c = it.popFirst() {
        if c == UInt8(ascii: "+") {
            out.append(UInt8(ascii: " "))
        } else if c == UInt8(ascii: "%"), it.count >= 2,
                  let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
            out.append(v)
            it = it.dropFirst(2)
        } else {
            out.append(c)
        }
    }
    return String(decoding: out, as: UTF8.self)
}

extension String {
    fileprivate func trimmingASCIISpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
