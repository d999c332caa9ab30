import CRingFeed

/// An error from the C core, carrying its `RF_E*` code.
public struct RingFeedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The negative `RF_E*` code (see `include/ringfeed/error.h`).
    public let code: Int32
    /// More about this occurrence when the core knows it (e.g. which file
    /// did not load). Not part of equality: errors compare by code.
    public let detail: String?

    public init(code: Int32, detail: String? = nil) {
        self.code = code
        self.detail = detail
    }

    public static func == (a: RingFeedError, b: RingFeedError) -> Bool { a.code == b.code }

    /// One line for a user, e.g. "connection refused".
    public var description: String {
        let base = String(cString: rf_strerror(code))
        guard let detail, !detail.isEmpty else { return base }
        return "\(base): \(detail)"
    }

    public static let timedOut = RingFeedError(code: RF_ETIMEDOUT.rawValue)
    public static let closed = RingFeedError(code: RF_ECLOSED.rawValue)
    public static let connectionRefused = RingFeedError(code: RF_ECONNREFUSED.rawValue)
    public static let invalidUTF8 = RingFeedError(code: RF_EUTF8.rawValue)
    public static let messageTooBig = RingFeedError(code: RF_ETOOBIG.rawValue)
    public static let unsupported = RingFeedError(code: RF_EUNSUPPORTED.rawValue)
    public static let badURL = RingFeedError(code: RF_EURL.rawValue)
    public static let tlsUntrusted = RingFeedError(code: RF_ETLS_UNTRUSTED.rawValue)
    public static let tlsHostname = RingFeedError(code: RF_ETLS_HOSTNAME.rawValue)
    public static let tlsExpired = RingFeedError(code: RF_ETLS_EXPIRED.rawValue)
    public static let tlsHandshake = RingFeedError(code: RF_ETLS_HANDSHAKE.rawValue)
    public static let tlsNotTLS = RingFeedError(code: RF_ETLS_NOT_TLS.rawValue)
    public static let tlsClosed = RingFeedError(code: RF_ETLS_CLOSED.rawValue)
    public static let tlsConfig = RingFeedError(code: RF_ETLS_CONFIG.rawValue)

    /// Throws when a C call returned a negative code.
    @discardableResult
    static func check(_ rc: Int32) throws(RingFeedError) -> Int32 {
        if rc < 0 { throw RingFeedError(code: rc) }
        return rc
    }
}
