/// How a feed waits between connection attempts: exponential backoff with
/// full jitter. Attempt `n` (1, 2, ...) after a failure waits a uniform
/// random time in [0, min(cap, base · factor^(n-1))], so a thousand clients
/// dropped by the same server outage come back spread over the window
/// instead of all at the same instants (the reconnect storm that gets an IP
/// banned). A connection that stayed up `healthyAfter` resets the count.
///
///     var policy = ReconnectPolicy()
///     policy.base = .milliseconds(100)
///     policy.maxAttempts = 20  // then give up
public struct ReconnectPolicy: Sendable, Equatable {
    /// The ceiling of the first retry's delay.
    public var base: Duration = .milliseconds(250)
    /// How much the ceiling grows per attempt (>= 1).
    public var factor: Double = 2
    /// The largest ceiling.
    public var cap: Duration = .seconds(60)
    /// Consecutive attempts (the first connection included) without a
    /// healthy connection before giving up; nil: never give up.
    public var maxAttempts: Int?
    /// A connection up this long was healthy: the next failure starts again
    /// at attempt 1.
    public var healthyAfter: Duration = .seconds(30)

    public init() {}

    public init(base: Duration, factor: Double = 2, cap: Duration = .seconds(60), maxAttempts: Int? = nil,
                healthyAfter: Duration = .seconds(30)) {
        self.base = base
        self.factor = factor
        self.cap = cap
        self.maxAttempts = maxAttempts
        self.healthyAfter = healthyAfter
    }

    /// The largest delay attempt `attempt` may wait: min(cap, base · factor^(attempt-1)).
    public func ceiling(forAttempt attempt: Int) -> Duration {
        let capNs = Double(cap.nanoseconds)
        var ns = Double(base.nanoseconds)
        // Multiplied step by step and stopped at the cap: factor^attempt
        // overflows to infinity long before attempt reaches Int.max.
        var n = 1
        while n < attempt && ns < capNs {
            ns *= max(1, factor)
            n += 1
        }
        return .nanoseconds(Int64(min(ns, capNs)))
    }

    /// A delay for `attempt`, uniform in [0, ceiling(forAttempt:)], drawn
    /// from `random` (tests pass a seeded generator to bound it).
    public func delay(forAttempt attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let top = ceiling(forAttempt: attempt).nanoseconds
        guard top > 0 else { return .zero }
        return .nanoseconds(Int64(UInt64.random(in: 0...top, using: &random)))
    }

    /// Whether attempt `attempt` may still be made.
    public func allows(attempt: Int) -> Bool {
        maxAttempts.map { attempt <= $0 } ?? true
    }
}

/// The attempt count of one feed under a `ReconnectPolicy`: what the
/// supervisor asks before each attempt and tells after each connection.
public struct ReconnectState: Sendable, Equatable {
    public let policy: ReconnectPolicy
    /// Attempts made since the last healthy connection (or the start).
    public private(set) var attempts = 0

    public init(policy: ReconnectPolicy) { self.policy = policy }

    /// The next attempt's number and the delay before it, or nil when the
    /// policy's `maxAttempts` is used up. The first attempt since the start
    /// has no delay; every later one waits a jittered delay.
    public mutating func next(using random: inout some RandomNumberGenerator) -> (attempt: Int, delay: Duration)? {
        let n = attempts + 1
        guard policy.allows(attempt: n) else { return nil }
        attempts = n
        return (n, n == 1 && !afterFailure ? .zero : policy.delay(forAttempt: n, using: &random))
    }

    /// Set once anything has failed: from then on attempt 1 also waits
    /// (right after a healthy connection drops, not only after failures).
    private var afterFailure = false

    /// A connection that lasted `uptime` ended (or an attempt failed:
    /// uptime zero). Healthy ones reset the count.
    public mutating func ended(after uptime: Duration) {
        afterFailure = true
        if uptime >= policy.healthyAfter { attempts = 0 }
    }
}
