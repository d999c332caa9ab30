import CRingFeed

/// Why a connection ended or an attempt failed, in words a user
/// understands (`description`), classified from what the connection
/// reported (`WebSocketCloseInfo`, or the error `connect` threw).
public enum DisconnectReason: Sendable, Equatable, CustomStringConvertible {
    /// The server closed with a close handshake: its code (1001 going away,
    /// 1008 policy violation ...) and the reason text of its close frame
    /// ("Too many requests"; "" when it gave none).
    case closedByServer(code: Int, reason: String = "")
    /// The server announced it was going down (Binance's serverShutdown
    /// event); the feed replaced the connection (a rotation, see
    /// `ConnectionEvent.rotated`), or it ended before that could be done.
    case serverShutdown
    /// The connection ended without a close handshake: the peer or something
    /// between closed TCP (a TLS peer that did not send close_notify, which
    /// OpenSSL 3 reports as an "unexpected EOF", is this too).
    case connectionLost
    /// The peer reset the connection.
    case connectionReset
    /// Nothing listened on the port.
    case connectionRefused
    /// The host name did not resolve.
    case hostNotFound
    /// Connecting plus the opening handshake took longer than allowed.
    case handshakeTimeout
    /// The server answered the upgrade with another HTTP status
    /// (`status`, nil if unreadable; `detail` as it answered, e.g.
    /// "429 Too Many Requests: ...").
    case handshakeRefused(status: Int?, detail: String)
    /// TLS failed (certificate, handshake, or a corrupt record or alert later).
    case tls(RingFeedError)
    /// The server broke the WebSocket protocol (the close code we sent:
    /// 1002, 1007 invalid UTF-8, 1009 message too big).
    case protocolError(code: Int, RingFeedError)
    /// No message for `idleTimeout`: a stalled server or a half-open socket,
    /// which do not raise errors by themselves. The feed dropped it.
    case idleTimeout(Duration)
    /// The event time of `stream` did not advance for `after` while
    /// messages kept arriving (`staleStreamTimeout`). The feed dropped it.
    case staleStream(String, after: Duration)
    /// A client ping (`pingInterval`) had no answer within this long: a
    /// half-open connection or a stalled server. The feed dropped it.
    case noPingAnswer(Duration)
    /// `stop()` closed it.
    case closedByUs
    /// It reached `rotateAfter` and was replaced (closed by us, 1000).
    case rotated(after: Duration)
    /// Anything else the core reported.
    case error(RingFeedError)

    public var description: String {
        switch self {
        case let .closedByServer(code, reason):
            reason.isEmpty ? "the server closed the connection (\(code) \(Self.name(ofCloseCode: code)))"
                           : "the server closed the connection (\(code) \(Self.name(ofCloseCode: code))): \(reason)"
        case .serverShutdown: "the server announced a shutdown"
        case .connectionLost: "the connection was lost (closed without a close handshake)"
        case .connectionReset: "the connection was reset by the peer"
        case .connectionRefused: "connection refused (nothing listening)"
        case .hostNotFound: "the host name did not resolve"
        case .handshakeTimeout: "timed out connecting (TCP, TLS or the WebSocket handshake)"
        case let .handshakeRefused(status, detail):
            detail.isEmpty ? "the server refused the WebSocket upgrade (HTTP \(status.map(String.init) ?? "?"))"
                           : "the server refused the WebSocket upgrade: \(detail)"
        case let .tls(e): "TLS error: \(e)"
        case let .protocolError(code, e): "protocol error (\(code)): \(e)"
        case let .idleTimeout(d): "no data for \(d.readable) (stalled or half-open connection)"
        case let .staleStream(s, d): "the event time of \(s) did not advance for \(d.readable) while data arrived"
        case let .noPingAnswer(d): "no answer to a ping within \(d.readable) (stalled or half-open connection)"
        case .closedByUs: "closed by us"
        case let .rotated(d): "replaced after \(d.readable) (rotation)"
        case let .error(e): "\(e)"
        }
    }

    /// RFC 6455's names of the common close codes.
    public static func name(ofCloseCode code: Int) -> String {
        switch code {
        case 1000: "normal closure"
        case 1001: "going away"
        case 1002: "protocol error"
        case 1003: "unsupported data"
        case 1006: "abnormal closure"
        case 1007: "invalid payload data"
        case 1008: "policy violation"
        case 1009: "message too big"
        case 1011: "internal server error"
        case 1012: "service restart"
        case 1013: "try again later"
        default: "close code"
        }
    }

    /// An attempt that failed before the connection opened.
    public init(connectError error: any Error) {
        if let e = error as? RingFeedError {
            self = Self.classify(e, code: 1006)
        } else {
            self = .error(RingFeedError(code: RF_EINVAL.rawValue, detail: "\(error)"))
        }
    }

    /// A connection that ended as `info` says.
    public init(closeInfo info: WebSocketCloseInfo) {
        guard let e = info.error else {
            self = .closedByServer(code: info.code, reason: info.reason)
            return
        }
        self = Self.classify(e, code: info.code)
    }

    private static func classify(_ e: RingFeedError, code: Int) -> DisconnectReason {
        switch e.code {
        case RF_ECLOSED.rawValue: return .connectionLost
        case RF_ECONNRESET.rawValue: return .connectionReset
        case RF_ECONNREFUSED.rawValue: return .connectionRefused
        case RF_ERESOLVE.rawValue: return .hostNotFound
        case RF_ETIMEDOUT.rawValue: return .handshakeTimeout
        case RF_EHS_STATUS.rawValue:
            let detail = e.detail ?? ""
            return .handshakeRefused(status: Int(detail.prefix { $0 != " " }), detail: detail)
        case RF_ETLS_PROTOCOL.rawValue where isUnexpectedEOF(e.detail):
            // The peer closed TCP without TLS close_notify (OpenSSL 3 makes
            // that an error): the connection is gone, nothing is wrong with TLS.
            return .connectionLost
        case RF_ETLS_PROTOCOL.rawValue ... RF_ETLS_CONFIG.rawValue:
            return .tls(e)
        case RF_ETOOBIG.rawValue ... RF_EPROTO_RSV.rawValue:
            return .protocolError(code: code, e)
        case RF_EHS_KEY.rawValue ... RF_EHS_MALFORMED.rawValue:
            return .handshakeRefused(status: nil, detail: e.description)
        default:
            return .error(e)
        }
    }

    private static func isUnexpectedEOF(_ detail: String?) -> Bool {
        guard let d = detail?.lowercased() else { return false }
        return d.contains("unexpected eof") || d.contains("unexpected end of input")
    }
}
