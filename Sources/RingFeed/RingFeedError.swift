import CRingFeed

/// An error from the C core, carrying its `RF_E*` code.
public struct RingFeedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The negative `RF_E*` code (see `include/ringfeed/error.h`).
    public let code: Int32

    public init(code: Int32) { self.code = code }

    /// The core's one-line description, e.g. "connection refused".
    public var description: String { String(cString: rf_strerror(code)) }

    public static let timedOut = RingFeedError(code: RF_ETIMEDOUT.rawValue)
    public static let closed = RingFeedError(code: RF_ECLOSED.rawValue)
    public static let connectionRefused = RingFeedError(code: RF_ECONNREFUSED.rawValue)
    public static let invalidUTF8 = RingFeedError(code: RF_EUTF8.rawValue)
    public static let messageTooBig = RingFeedError(code: RF_ETOOBIG.rawValue)
    public static let unsupported = RingFeedError(code: RF_EUNSUPPORTED.rawValue)
    public static let badURL = RingFeedError(code: RF_EURL.rawValue)

    /// Throws when a C call returned a negative code.
    @discardableResult
    static func check(_ rc: Int32) throws(RingFeedError) -> Int32 {
        if rc < 0 { throw RingFeedError(code: rc) }
        return rc
    }
}
