/// One connection of a `FeedPool` as it stands: its number in the pool, the
/// reconnecting feed behind it, and what it carries.
public struct PoolConnection: Sendable {
    /// The connection's number in the pool: 0 for the first one the pool
    /// decided to open, one more for each after (in placement order, not in
    /// the order their handshakes finish), never reused, so a closed
    /// connection's number stays unique in `lifecycle`.
    public var id: Int
    public var feed: ResilientFeed
    /// Streams placed on it, in the order they were added (books' depth
    /// streams only if they were also subscribed as streams).
    public var streams: [String]
    /// Upper-case symbols of its books; their depth streams are on it too.
    public var books: [String]
    /// Streams it carries, books' included: never more than the pool's
    /// `maxStreamsPerConnection`.
    public var load: Int
}

/// A connection event of one of a `FeedPool`'s connections.
public struct PoolLifecycleEvent: Sendable, Equatable, CustomStringConvertible {
    /// `PoolConnection.id` of the connection.
    public var connection: Int
    public var time: ContinuousClock.Instant
    public var event: ConnectionEvent

    public init(connection: Int, time: ContinuousClock.Instant, event: ConnectionEvent) {
        self.connection = connection
        self.time = time
        self.event = event
    }

    public var description: String { "connection \(connection): \(event)" }
}

/// Why a `FeedPool` refused an operation.
public enum FeedPoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `stop()` was called.
    case stopped
    /// `maxStreamsPerConnection`, `maxStreamsInURL` or `maxURLBytes` below 1.
    case invalidLimit(Int)

    public var description: String {
        switch self {
        case .stopped: "the feed pool is stopped"
        case let .invalidLimit(n): "a stream limit must be at least 1 (got \(n))"
        }
    }
}
