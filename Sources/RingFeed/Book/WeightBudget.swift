import CRingFeed

/// A request-weight budget over a rolling window, shared by every book of a
/// process so that a hundred books resyncing at once never push the IP past
/// the exchange's limit (Binance bans an IP that keeps ignoring 429s: 418).
///
/// A request asks for its weight with `acquire` and waits until the weight
/// granted in the last `window` plus its own fits in `limit`: the budget is
/// never exceeded, it is waited for. A 429 or 418 answer stops every request
/// of the budget for the Retry-After the exchange named (`backOff`).
///
/// Binance counts weight per IP per minute: spot 6000
/// (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits),
/// USD-M futures 2400 (https://developers.binance.com/docs/derivatives/usds-margined-futures/general-info).
/// A rolling window is at least as strict as the exchange's fixed minute.
///
/// The exchange counts a request when it arrives, not when it was granted
/// here, so a grant is moved to the time its answer came (`answered`):
/// otherwise a request that took a while to get there would still count
/// at the exchange when the budget has already let the next window's
/// requests go, and a burst of them would pass the limit. The weight the
/// exchange reports (X-MBX-USED-WEIGHT-1M) tops up the window when it is
/// more than the budget granted (other programs on the same IP).
public final class WeightBudget: @unchecked Sendable {
    // @unchecked: every mutable field is read and written with `lock` held.

    /// The budget every spot book of the process shares by default: 6000 per minute.
    public static let spot = WeightBudget(limit: 6000, window: .seconds(60))
    /// The budget every USD-M futures book shares by default: 2400 per minute.
    public static let futures = WeightBudget(limit: 2400, window: .seconds(60))

    public let limit: Int
    public let window: Duration
    private let clock: @Sendable () -> UInt64
    private let lock = Mutex()
    /// Grants in the window (id 0: weight only the exchange reported).
    private var grants: RollingWindow
    private var nextID: UInt64 = 1
    private var pausedUntil: UInt64 = 0
    private var granted = 0
    private var waits = 0

    /// - Parameters:
    ///   - limit: weight allowed per `window` (> 0).
    ///   - clock: monotonic nanoseconds; tests pass their own.
    public init(limit: Int, window: Duration, clock: @escaping @Sendable () -> UInt64 = { rf_now_ns() }) {
        precondition(limit > 0, "a weight budget needs a positive limit")
        self.limit = limit
        self.window = window
        grants = RollingWindow(windowNs: window.nanoseconds)
        self.clock = clock
    }

    /// The weight of a depth snapshot request of `limit` levels.
    /// Spot `GET /api/v3/depth`: 1-100: 5, 101-500: 25, 501-1000: 50,
    /// 1001-5000: 250 (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints#order-book).
    /// USD-M futures `GET /fapi/v1/depth`: 5, 10, 20, 50: 2; 100: 5; 500: 10;
    /// 1000: 20 (https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Order-Book).
    public static func depthWeight(limit: Int, futures: Bool) -> Int {
        if futures {
            switch limit {
            case ...50: return 2
            case ...100: return 5
            case ...500: return 10
            default: return 20
            }
        }
        switch limit {
        case ...100: return 5
        case ...500: return 25
        case ...1000: return 50
        default: return 250
        }
    }

    /// Weight taken for one request; hand it back to `answered` when the
    /// request's answer (or failure) arrives.
    public struct Grant: Sendable, Equatable {
        let id: UInt64
        public let weight: Int
    }

    /// Takes `weight` now if it fits: nil when granted, else how long to wait
    /// before asking again (the time until enough of the window has expired,
    /// or the back-off ends). A weight over `limit` is granted once the
    /// window is empty.
    public func tryAcquire(_ weight: Int) -> Duration? {
        if case let .wait(d) = take(weight) { return d }
        return nil
    }

    private enum Taken {
        case granted(Grant)
        case wait(Duration)
    }

    private func take(_ weight: Int) -> Taken {
        let w = max(0, weight)
        return lock.withLock { () -> Taken in
            let now = clock()
            if now < pausedUntil { return .wait(.nanoseconds(Int64(pausedUntil - now))) }
            grants.expire(now)
            if grants.used + w <= limit || grants.used == 0 {
                let id = nextID
                nextID += 1
                grants.add(at: now, weight: w, id: id)
                granted += w
                return .granted(Grant(id: id, weight: w))
            }
            // The earliest time enough old grants leave the window.
            let until = grants.fitTime(w, limit: limit)
            return .wait(.nanoseconds(Int64(max(1, until &- now))))
        }
    }

    /// Waits until `weight` fits, then takes it.
    /// - Throws: `CancellationError` if the task is cancelled while waiting.
    @discardableResult
    public func acquire(_ weight: Int) async throws -> Grant {
        while true {
            switch take(weight) {
            case let .granted(g): return g
            case let .wait(d):
                lock.withLock { waits += 1 }
                try await Task.sleep(for: d)
            }
        }
    }

    /// The answer to `grant`'s request arrived now (or it failed): the
    /// exchange counted its weight at some moment before now, so it stays
    /// in the window until now + window. `usedWeight` is the exchange's
    /// count (X-MBX-USED-WEIGHT-1M) when it answered; weight it counts
    /// beyond what the window holds is added as of now.
    public func answered(_ grant: Grant, usedWeight: Int? = nil) {
        lock.withLock {
            let now = clock()
            grants.expire(now)
            _ = grants.remove(id: grant.id)
            // Also when it had already left the window: the exchange may
            // still count it.
            grants.add(at: now, weight: grant.weight, id: grant.id)
            if let u = usedWeight, u > grants.used {
                grants.add(at: now, weight: u - grants.used)
            }
        }
    }

    /// Stops every request for `duration` (a 429 or 418 with Retry-After).
    public func backOff(for duration: Duration) {
        lock.withLock {
            let until = clock() + duration.nanoseconds
            pausedUntil = max(pausedUntil, until)
        }
    }

    /// Weight granted in the current window, and in total since creation;
    /// how many times a request had to wait.
    public var usage: (inWindow: Int, total: Int, waits: Int) {
        lock.withLock {
            grants.expire(clock())
            return (grants.used, granted, waits)
        }
    }
}
