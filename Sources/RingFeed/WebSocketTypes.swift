import CRingFeed

/// The kind of a WebSocket data message.
public enum WebSocketOpcode: UInt32, Sendable {
    case text = 1
    case binary = 2
}

/// A received message, seen in place: `bytes` points into the receive buffer
/// and is valid only until the handler returns. Copy what you keep.
public struct WebSocketMessageView {
    public let opcode: WebSocketOpcode
    public let bytes: UnsafeRawBufferPointer

    /// The message as a String (text messages are already valid UTF-8).
    public var text: String { String(decoding: bytes, as: UTF8.self) }
    /// A copy of the bytes.
    public var message: WebSocketMessage { WebSocketMessage(opcode: opcode, data: Array(bytes)) }
}

/// A received message, owned.
public struct WebSocketMessage: Sendable, Equatable {
    public var opcode: WebSocketOpcode
    public var data: [UInt8]

    public init(opcode: WebSocketOpcode, data: [UInt8]) {
        self.opcode = opcode
        self.data = data
    }

    public var text: String { String(decoding: data, as: UTF8.self) }
}

/// How a connection ended.
public struct WebSocketCloseInfo: Sendable, Equatable, CustomStringConvertible {
    /// The close code received (or sent, when we failed the connection);
    /// 1006 when no close handshake took place.
    public var code: Int
    /// nil after a clean close handshake; otherwise why the connection ended.
    public var error: RingFeedError?
    /// The reason text of the peer's close frame ("Too many requests" with
    /// 1008); "" when it gave none or sent no close frame.
    public var reason: String

    public init(code: Int, error: RingFeedError? = nil, reason: String = "") {
        self.code = code
        self.error = error
        self.reason = reason
    }

    public var description: String {
        let said = reason.isEmpty ? "" : " \"\(reason)\""
        if let error { return "closed with \(code)\(said): \(error)" }
        return "closed cleanly with \(code)\(said)"
    }
}

/// Limits and timeouts of one connection.
public struct WebSocketConfiguration: Sendable {
    /// Largest message accepted, in bytes; a bigger one fails the connection with 1009.
    public var maxMessageSize: Int = Int(RF_WS_DEFAULT_MAX_MESSAGE)
    /// Deadline for connecting plus the opening handshake.
    public var handshakeTimeout: Duration = .seconds(10)
    /// How long to wait for the peer's close frame and TCP close.
    public var closeTimeout: Duration = .seconds(5)
    /// Subprotocols to offer (client), comma-separated.
    public var protocols: String?
    /// TLS. Client: the context for wss:// (nil = `TLSContext.defaultClient`,
    /// the system trust store). Server: set it to serve wss://.
    public var tls: TLSContext?

    public init() {}

    func withCConfig<T>(_ body: (UnsafePointer<rf_ws_conn_config>) -> T) -> T {
        var c = rf_ws_conn_config()
        c.max_message = maxMessageSize
        c.handshake_timeout_ns = handshakeTimeout.nanoseconds
        c.close_timeout_ns = closeTimeout.nanoseconds
        c.tls = tls?.ctx
        if let protocols {
            return protocols.withCString { p in
                c.protocols = p
                return body(&c)
            }
        }
        return body(&c)
    }
}

extension Duration {
    var nanoseconds: UInt64 {
        let (s, atto) = components
        return UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, atto) / 1_000_000_000)
    }
}

/// What TLS negotiated on a connection.
public struct TLSInfo: Sendable, Equatable {
    public var version: String
    public var cipher: String
    public var alpn: String
    public var resumed: Bool
    /// "kernel" (kTLS both ways), "kernel-tx" (sending offloaded, receiving
    /// in OpenSSL) or "userspace" (OpenSSL over memory buffers). A connection
    /// starts in userspace and moves to the kernel shortly after its
    /// handshake where the kernel offers kTLS.
    public var path: String
}

extension TLSInfo {
    /// Reads a live TLS state (loop thread).
    init(_ tls: OpaquePointer) {
        self.init(
            version: String(cString: rf_tls_version(tls)),
            cipher: String(cString: rf_tls_cipher(tls)),
            alpn: String(cString: rf_tls_alpn(tls)),
            resumed: rf_tls_resumed(tls) != 0,
            path: String(cString: rf_tls_path(tls)))
    }
}
