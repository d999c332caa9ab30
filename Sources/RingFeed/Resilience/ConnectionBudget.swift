import CRingFeed

/// A limit on connection attempts over a rolling window, shared by every
/// connection given the same instance. Binance allows 300 connection
/// attempts per 5 minutes per IP
/// (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#websocket-limits);
/// a process whose feeds keep reconnecting must not spend more than that
/// however many feeds it has, so every feed takes its attempts from
/// `ConnectionBudget.binance` unless told otherwise.
///
/// An attempt calls `acquire`, which returns at once when fewer than
/// `limit` attempts were made in the last `window`, and otherwise waits
/// until the oldest of them leaves the window. A rolling window is at least
/// as strict as the exchange's count.
public final class ConnectionBudget: @unchecked Sendable {
    // @unchecked: every mutable field is read and written with `lock` held.

    /// The budget every Binance feed of the process shares by default.
    public static let binance = ConnectionBudget(limit: 300, window: .seconds(300))

    public let limit: Int
    public let window: Duration
    private let clock: @Sendable () -> UInt64
    private let lock = Mutex()
    /// Attempts in the window, one unit each.
    private var grants: RollingWindow
    private var total = 0
    private var waits = 0

    /// - Parameters:
    ///   - limit: attempts allowed per `window` (> 0).
    ///   - clock: monotonic nanoseconds; tests pass their own.
    public init(limit: Int, window: Duration, clock: @escaping @Sendable () -> UInt64 = { rf_now_ns() }) {
        precondition(limit > 0, "a connection budget needs a positive limit")
        self.limit = limit
        self.window = window
        grants = RollingWindow(windowNs: window.nanoseconds)
        self.clock = clock
    }

    /// Takes one attempt now if the window has room: nil when granted, else
    /// how long until it will.
    public func tryAcquire() -> Duration? {
        switch take() {
        case .granted: nil
        case let .wait(d): d
        }
    }

    private enum Outcome {
        case granted(at: ContinuousClock.Instant)
        case wait(Duration)
    }

    private func take() -> Outcome {
        lock.withLock { () -> Outcome in
            let now = clock()
            grants.expire(now)
            if grants.count < limit {
                grants.add(at: now, weight: 1)
                total += 1
                return .granted(at: .now)
            }
            return .wait(.nanoseconds(Int64(max(1, grants.fitTime(1, limit: limit) &- now))))
        }
    }

    /// Waits until the window has room, then takes one attempt. Returns
    /// when it was granted, read under the lock: grants `limit` apart are
    /// a hair over `window` apart, so a time taken later (by a task that
    /// was not scheduled at once) could show more than `limit` in a window.
    /// - Throws: `CancellationError` if the task is cancelled while waiting.
    @discardableResult
    public func acquire() async throws -> ContinuousClock.Instant {
        while true {
            try Task.checkCancellation()
            switch take() {
            case let .granted(at): return at
            case let .wait(wait):
                lock.withLock { waits += 1 }
                try await Task.sleep(for: wait)
            }
        }
    }

    /// Attempts granted in the current window and since creation, and how
    /// many times an attempt had to wait.
    public var usage: (inWindow: Int, total: Int, waits: Int) {
        lock.withLock {
            grants.expire(clock())
            return (grants.count, total, waits)
        }
    }
}
