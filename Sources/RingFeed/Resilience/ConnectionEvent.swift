/// What a reconnecting feed's connection is doing. Every `connecting` is
/// followed by `connected` or `disconnected` (a failed attempt), every
/// `connected` by `disconnected`; `reconnecting` announces the pause before
/// the next attempt, `gaveUp` ends the sequence.
public enum ConnectionEvent: Sendable, Equatable, CustomStringConvertible {
    /// Attempt `attempt` (1 after a start or a healthy connection) begins:
    /// the connection budget granted it.
    case connecting(attempt: Int)
    /// The connection is open and subscribed to every desired stream.
    case connected(attempt: Int)
    /// The connection ended, or the attempt failed, for `reason`.
    case disconnected(reason: DisconnectReason)
    /// Attempt `attempt` will start after `delay` (the policy's jittered
    /// backoff; the connection budget may add to it).
    case reconnecting(attempt: Int, delay: Duration)
    /// `maxAttempts` attempts failed in a row; the last one for `reason`.
    case gaveUp(reason: DisconnectReason)
    /// A working connection was replaced without a gap. The replacement's
    /// `connecting` came while the old one was still connected (if it
    /// fails, its `disconnected` follows and the old one goes on); this,
    /// the old one's `disconnected` and the replacement's `connected`
    /// follow the switch, in that order.
    case rotated(Rotation)

    public var description: String {
        switch self {
        case let .connecting(n): "connecting (attempt \(n))"
        case let .connected(n): "connected (attempt \(n))"
        case let .disconnected(r): "disconnected: \(r)"
        case let .reconnecting(n, d): "reconnecting in \(d.readable) (attempt \(n))"
        case let .gaveUp(r): "gave up: \(r)"
        case let .rotated(r): "\(r)"
        }
    }
}

/// A `ConnectionEvent` and when it happened. A `disconnected` for a
/// connection that was open carries the moment the core reported its end
/// (on the I/O thread), not the later moment the event was emitted: from it
/// to the next connection's first message is the whole reconnect. A
/// `connecting` carries the moment the connection budget granted it, so
/// the times of `connecting` events obey the budget exactly.
public struct LifecycleEvent: Sendable, Equatable, CustomStringConvertible {
    public var time: ContinuousClock.Instant
    public var event: ConnectionEvent

    public init(time: ContinuousClock.Instant, event: ConnectionEvent) {
        self.time = time
        self.event = event
    }

    public var description: String { event.description }
}
