import CRingFeed
import Synchronization

/// How a connection paces what it sends. Binance closes a market-stream
/// connection (1008) that sends more than 5 messages in a second (USD-M
/// futures: 10), and it counts pings, pongs and control messages alike.
///
/// The plan, per connection:
/// - a sliding window, not a token bucket: a message goes out only if fewer
///   than `limit - pongReserve` messages went out in the last
///   `window + jitterGuard`, so no window of any phase, anywhere, ever holds
///   more (a bucket refilled at a boundary lets 2N through across it);
/// - `pongReserve` slots of every window are left for the pongs the core
///   sends by itself when the server pings (Binance pings every 20 s, 3
///   minutes on futures, so one slot is plenty); every ping seen is also
///   counted in the window as the pong it causes, so a server that pings
///   often takes room from our own messages instead of tipping the count;
/// - `jitterGuard`: the server counts arrival times, and a message held up
///   on the way (a TCP segment waiting for an earlier one) arrives closer to
///   the next than it was sent. Spacing the window 100 ms wider tolerates
///   that much delay variation for 10% less control throughput, which is
///   rarely used. Together with the reserved slot (which absorbs one
///   squeezed message when no pong is due) this keeps well clear of 1008.
public struct OutgoingPacing: Sendable, Equatable {
    /// Off: every message goes out at once, unmerged (the old behaviour; for
    /// servers without a limit, or tests that show what a burst costs).
    public var enabled = true
    /// Messages the server allows per `window`; nil: Binance's for the URL
    /// (10 for USD-M futures, 5 otherwise).
    public var limit: Int?
    public var window: Duration = .seconds(1)
    /// Slots of each window kept free for the core's automatic pongs.
    public var pongReserve = 1
    /// Added to `window` when planning (see above).
    public var jitterGuard: Duration = .milliseconds(100)
    /// Most stream names one merged SUBSCRIBE or UNSUBSCRIBE carries. A
    /// frame of 200 names is about 6 KB, far under what a server takes in a
    /// control message (the simulator reads up to 64 KiB), and fits even a
    /// connection limited to 200 streams (Binance's options streams); if the
    /// server refuses a merged frame each caller's part is sent again on its
    /// own, so the cap also bounds that fan-out. A single call with more
    /// names is not split: it goes as one request, as asked.
    public var maxStreamsPerRequest = 200

    public init() {}

    /// The limit Binance applies to a connection to `url`: USD-M futures
    /// (fstream host, /public or /market routes) 10, spot 5.
    public static func binanceLimit(forURL url: String) -> Int {
        BookOptions().resolvedVenue(feedURL: url) == .usdmFutures ? 10 : 5
    }

    /// Messages of our own allowed per planning window (at least one).
    func budget(url: String) -> Int {
        max(1, (limit ?? Self.binanceLimit(forURL: url)) - max(0, pongReserve))
    }

    var plannedWindowNs: UInt64 { max(1, window.nanoseconds + jitterGuard.nanoseconds) }
}

/// What a connection's pacer did, readable from any thread.
public struct PacingStats: Sendable, Equatable {
    /// Frames sent through the pacer (merged requests are one frame).
    public var framesSent: Int
    /// Requests that went out inside another request's frame.
    public var requestsMerged: Int
    /// The longest any frame waited for room.
    public var longestWait: Duration
    /// Pings seen (each answered by the core with a pong, counted in the window).
    public var pongs: Int
    /// Frames waiting for room now.
    public var waiting: Int
    /// Our own pings (`MarketFeed.ping()`) sent, counted in `framesSent`
    /// too, and the pongs that answered them.
    public var pings: Int = 0
    public var pingAnswers: Int = 0
}

/// Times of the messages sent in the last `windowNs`, and when the next may
/// go. Pure: the caller passes the clock. A message at `t` stays in the
/// window while `now - t < windowNs` (the simulator's rule, and Binance's as
/// far as it can be observed).
struct SlidingWindow {
    let budget: Int
    let windowNs: UInt64
    /// Send times, oldest first, from `head` on (compacted when half dead).
    private var times: [UInt64] = []
    private var head = 0

    init(budget: Int, windowNs: UInt64) {
        precondition(budget > 0 && windowNs > 0)
        self.budget = budget
        self.windowNs = windowNs
        times.reserveCapacity(2 * budget)
    }

    /// Messages still in the window at `now`.
    mutating func count(at now: UInt64) -> Int {
        expire(now)
        return times.count - head
    }

    /// 0 if a message may go at `now`, else the nanoseconds until one may.
    mutating func delay(at now: UInt64) -> UInt64 {
        expire(now)
        let n = times.count - head
        if n < budget { return 0 }
        // The oldest n - budget + 1 must leave; the last of them leaves at:
        let t = times[head + n - budget] &+ windowNs
        return max(1, t &- now)
    }

    /// A message went out at `now` (ours, or a pong the core sent).
    mutating func record(_ now: UInt64) {
        times.append(now)
    }

    private mutating func expire(_ now: UInt64) {
        while head < times.count, now &- times[head] >= windowNs { head += 1 }
        if head > 0 && head * 2 >= times.count {
            times.removeFirst(head)
            head = 0
        }
    }
}

/// Counters behind `PacingStats`: written on the loop thread only (a plain
/// load and store), read from any.
final class PacingCounters: Sendable {
    let frames = Atomic<Int>(0)
    let merged = Atomic<Int>(0)
    let longestWaitNs = Atomic<Int>(0)
    let pongs = Atomic<Int>(0)
    let waiting = Atomic<Int>(0)
    let pings = Atomic<Int>(0)
    let pingAnswers = Atomic<Int>(0)

    var stats: PacingStats {
        PacingStats(framesSent: frames.load(ordering: .relaxed), requestsMerged: merged.load(ordering: .relaxed),
                    longestWait: .nanoseconds(longestWaitNs.load(ordering: .relaxed)),
                    pongs: pongs.load(ordering: .relaxed), waiting: waiting.load(ordering: .relaxed),
                    pings: pings.load(ordering: .relaxed), pingAnswers: pingAnswers.load(ordering: .relaxed))
    }

    func bump(_ c: borrowing Atomic<Int>, by n: Int = 1) {
        c.store(c.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }
}

/// The outgoing queue of one connection: frames leave in FIFO order as the
/// sliding window has room; a frame submitted while others wait may be
/// merged into the last of them. Nothing blocks: when the window is full
/// the pacer asks `schedule` for a wake-up (a loop timer) and `fire` sends
/// what has room then.
///
/// Loop thread only (or one test thread), like the connection it serves.
final class OutgoingPacer<Frame> {
    private var window: SlidingWindow?
    private var queue: [(frame: Frame, since: UInt64)] = []
    private var timerArmed = false
    private let clock: () -> UInt64
    private let schedule: (_ delayNs: UInt64) -> Void
    private let transmit: (Frame) -> Void
    let counters: PacingCounters

    /// - Parameters:
    ///   - budget: messages per `windowNs`; nil: unpaced, sent at once.
    ///   - clock: monotonic nanoseconds.
    ///   - schedule: arrange one call of `fire()` after the delay.
    ///   - transmit: sends a frame (called from `submit` or `fire`).
    init(budget: Int?, windowNs: UInt64, counters: PacingCounters = PacingCounters(),
         clock: @escaping () -> UInt64 = { rf_now_ns() },
         schedule: @escaping (_ delayNs: UInt64) -> Void,
         transmit: @escaping (Frame) -> Void) {
        window = budget.map { SlidingWindow(budget: $0, windowNs: windowNs) }
        self.counters = counters
        self.clock = clock
        self.schedule = schedule
        self.transmit = transmit
    }

    var isPaced: Bool { window != nil }
    var waiting: Int { queue.count }

    /// Queues `frame`, sending it now if nothing waits and the window has
    /// room. While frames wait, `merge` is offered the last of them: true
    /// means it took `frame` in (it is counted as merged, not queued).
    func submit(_ frame: Frame, merge: (inout Frame) -> Bool = { _ in false }) {
        guard window != nil else {
            counters.bump(counters.frames)
            transmit(frame)
            return
        }
        if !queue.isEmpty, merge(&queue[queue.count - 1].frame) {
            counters.bump(counters.merged)
            return
        }
        queue.append((frame, clock()))
        pump()
    }

    /// Puts frames back at the head of the queue, in order (a refused merged
    /// frame's parts, which were ahead of everything still waiting).
    func submitFirst(_ frames: [Frame]) {
        guard window != nil else {
            for f in frames {
                counters.bump(counters.frames)
                transmit(f)
            }
            return
        }
        let now = clock()
        queue.insert(contentsOf: frames.map { ($0, now) }, at: 0)
        pump()
    }

    /// The core sent a pong (a ping arrived): it takes a place in the window.
    func pongSent() {
        counters.bump(counters.pongs)
        window?.record(clock())
    }

    /// The wake-up `schedule` arranged.
    func fire() {
        timerArmed = false
        pump()
    }

    /// Removes and returns every waiting frame (the connection ended).
    func drain() -> [Frame] {
        let frames = queue.map(\.frame)
        queue.removeAll()
        counters.waiting.store(0, ordering: .relaxed)
        return frames
    }

    private func pump() {
        defer { counters.waiting.store(queue.count, ordering: .relaxed) }
        guard window != nil else { return }
        while !queue.isEmpty {
            let now = clock()
            let wait = window!.delay(at: now)
            if wait > 0 {
                if !timerArmed {
                    timerArmed = true
                    schedule(wait)
                }
                return
            }
            let (frame, since) = queue.removeFirst()
            window!.record(now)
            counters.bump(counters.frames)
            let waited = Int(truncatingIfNeeded: now &- since)
            if waited > counters.longestWaitNs.load(ordering: .relaxed) {
                counters.longestWaitNs.store(waited, ordering: .relaxed)
            }
            transmit(frame)
        }
    }
}
