import RingFeed

/// The exchange's REST request-weight limit, per IP (the simulator serves
/// one: loopback), the way Binance enforces it:
///
/// - every request costs its weight (`RESTRoutes.weight`); the weight used
///   in the last `window` is reported on every answer (X-MBX-USED-WEIGHT-1M);
/// - a request that would pass the limit is refused with 429 and a
///   Retry-After in whole seconds: until enough weight leaves the window;
/// - a client that keeps sending during that Retry-After is banned: 418
///   with a Retry-After, for `ban`, doubling with each ban after, up to
///   2160 times `ban` (Binance: 2 minutes up to 3 days). Requests arriving
///   within `grace` of the 429 were on their way when it went out and get
///   429 again instead;
/// - injected faults answer the next requests 429 or 418 whatever the weight.
///
/// Refused requests cost nothing. The window is rolling, at least as strict
/// as the exchange's fixed minute. Used on the simulator's loop thread only.
struct RESTLimiter {
    enum Decision: Equatable {
        case admitted
        /// Refused with this status (429 or 418) and Retry-After in seconds.
        case refused(status: Int, retryAfter: Int)
    }

    let limit: Int
    let windowNs: UInt64
    let banNs: UInt64
    let graceNs: UInt64
    /// Admitted requests in the window, by arrival.
    private var grants: RollingWindow
    var used: Int { grants.used }
    /// The current back-off: when its first 429 went out, and until when
    /// the client was told to wait.
    private var backOffSinceNs: UInt64 = 0
    private var backOffUntilNs: UInt64 = 0
    private var bannedUntilNs: UInt64 = 0
    /// Bans so far (each lasts twice the one before).
    private(set) var bans = 0
    /// Injected answers still to give, in order: status, Retry-After.
    private var forced: [(status: Int, retryAfter: Int?)] = []

    init(limits: SimulatorLimits, venue: Venue) {
        limit = max(1, limits.restWeightLimit ?? (venue == .spot ? 6000 : 2400))
        windowNs = max(1, limits.restWeightWindow.simulatorNanoseconds)
        grants = RollingWindow(windowNs: windowNs)
        banNs = max(1, limits.restBanDuration?.simulatorNanoseconds ?? 2 * windowNs)
        graceNs = limits.restInFlightGrace.simulatorNanoseconds
    }

    /// The next `count` requests are answered `status` (429 or 418).
    mutating func inject(status: Int, count: Int, retryAfter: Int?) {
        for _ in 0..<max(0, count) { forced.append((status, retryAfter)) }
    }

    /// Whether a request of `weight` arriving at `now` is served; an
    /// admitted one is counted.
    mutating func admit(weight: Int, nowNs now: UInt64) -> Decision {
        grants.expire(now)
        if now < bannedUntilNs { return .refused(status: 418, retryAfter: Self.seconds(bannedUntilNs - now)) }
        if !forced.isEmpty {
            let f = forced.removeFirst()
            if f.status == 429 {
                return backOff(now, seconds: f.retryAfter ?? Self.seconds(windowNs))
            }
            let ns = f.retryAfter.map { UInt64($0) * 1_000_000_000 } ?? banNs
            bannedUntilNs = now + ns
            return .refused(status: 418, retryAfter: Self.seconds(ns))
        }
        if now < backOffUntilNs {
            if now - backOffSinceNs < graceNs {
                return .refused(status: 429, retryAfter: Self.seconds(backOffUntilNs - now))
            }
            // Still sending well after being told to wait: banned.
            bans += 1
            let ns = banNs * (1 << UInt64(min(bans - 1, 11)))
            bannedUntilNs = now + min(ns, banNs * 2160)
            backOffUntilNs = 0
            return .refused(status: 418, retryAfter: Self.seconds(bannedUntilNs - now))
        }
        let w = max(0, weight)
        if used + w > limit && used > 0 {
            // When enough of the window has expired for this request to fit.
            return backOff(now, seconds: Self.seconds(grants.fitTime(w, limit: limit) - now))
        }
        if w > 0 { grants.add(at: now, weight: w) }
        return .admitted
    }

    private mutating func backOff(_ now: UInt64, seconds: Int) -> Decision {
        if now >= backOffUntilNs { backOffSinceNs = now }
        backOffUntilNs = max(backOffUntilNs, now + UInt64(seconds) * 1_000_000_000)
        return .refused(status: 429, retryAfter: seconds)
    }

    /// The weight used in the window ending at `now`.
    mutating func usedWeight(nowNs now: UInt64) -> Int {
        grants.expire(now)
        return used
    }

    /// Whole seconds, rounded up, at least 1: what Retry-After carries.
    static func seconds(_ ns: UInt64) -> Int { max(1, Int((ns + 999_999_999) / 1_000_000_000)) }
}

/// One REST request as the simulator answered it (`ExchangeSimulator.restLog`).
public struct SimulatorRESTRecord: Sendable, Equatable {
    /// When it arrived: monotonic nanoseconds (differences are what matter).
    public var atNanos: UInt64
    /// Path and query, e.g. "/api/v3/depth?symbol=BTCUSDT&limit=100".
    public var target: String
    public var status: Int
    /// Its weight, and the weight used in the window after it (the
    /// X-MBX-USED-WEIGHT-1M it was answered with).
    public var weight: Int
    public var usedWeight: Int
    /// The Retry-After of a 429 or 418, in seconds.
    public var retryAfter: Int?
}
