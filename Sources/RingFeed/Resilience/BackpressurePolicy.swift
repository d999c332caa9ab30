/// What a consumer's bounded buffer does when it is full: the I/O thread
/// never waits for a consumer, so a consumer that falls behind loses events
/// in a way it chose, and its counters say how many.
///
/// Order books are fed before any consumer buffer, so they stay current
/// whatever the consumers do.
public enum BackpressurePolicy: Sendable, Hashable {
    /// The oldest buffered event goes to make room for the new one (counted
    /// in `ConsumerStats.dropped`): a consumer that resumes reads the newest
    /// `capacity` events, in order.
    case dropOldest
    /// At most one pending event per key: a new event whose key already has
    /// one waiting takes its place (counted in `ConsumerStats.replaced`), so
    /// a slow consumer of tickers still sees the newest ticker of every
    /// symbol. The newer event keeps the older one's place in the queue (a
    /// coalescing buffer); events of one key are never reordered. When more
    /// keys than `capacity` wait, the oldest goes (`dropped`).
    case keepLatest(per: LatestKey)
    /// A full buffer ends the consumer's sequence: what it held is dropped
    /// (counted), `BufferedEvents.end` says `.tooSlow`, and the connection,
    /// its books and the other consumers go on.
    case disconnect

    /// What "the same" means for `.keepLatest`.
    public enum LatestKey: Sendable, Hashable {
        /// The stream name ("btcusdt@bookTicker"): one pending event a stream.
        case stream
        /// The stream and the event's symbol: one a symbol even on a stream
        /// that carries many ("!ticker@arr", "!bookTicker").
        case streamAndSymbol
    }
}

/// A consumer's counters. Every event offered to the buffer is, at any
/// moment, exactly one of: delivered, dropped, replaced, or still buffered
/// (`received == delivered + dropped + replaced + buffered`).
public struct ConsumerStats: Sendable, Hashable {
    /// Events offered to this consumer's buffer.
    public var received: Int
    /// Events handed to the consumer (taken by its iterator, a batch at a time).
    public var delivered: Int
    /// Events lost because the buffer was full (or, with `.disconnect`, held
    /// when the consumer was cut off).
    public var dropped: Int
    /// Events superseded by a newer one of the same key (`.keepLatest`).
    public var replaced: Int
    /// Events waiting now.
    public var buffered: Int
    /// The most events ever waiting at once.
    public var highWater: Int
    /// The bound on waiting events.
    public var capacity: Int
}

/// Why a consumer's sequence ended.
public enum ConsumerEnd: Sendable, Hashable, CustomStringConvertible {
    /// The connection ended; every retained event was delivered first.
    case finished
    /// `.disconnect`: the buffer filled up (`capacity` events waiting).
    case tooSlow(capacity: Int)
    /// The consuming task was cancelled, or `cancel()` was called.
    case cancelled

    public var description: String {
        switch self {
        case .finished: "finished"
        case let .tooSlow(capacity): "disconnected: the consumer was too slow (\(capacity) events waiting)"
        case .cancelled: "cancelled"
        }
    }
}

/// The key a buffered event is coalesced by under `.keepLatest`: the
/// feed's interned stream number, and the symbol when the policy asks.
struct EventKey: Hashable, Sendable {
    var stream: Int
    var symbol: String
}
