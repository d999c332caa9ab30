import CRingFeed
import Synchronization

/// An `AsyncSequence` of `FeedEvent`s (market events and trade gaps) from a
/// bounded buffer with a stated `BackpressurePolicy`: `ResilientFeed.events`,
/// `FeedPool.events`, and the extra consumers their `events(policy:capacity:)`
/// make. The same machinery as a `MarketFeed`'s `BufferedEvents`: the
/// producer never waits, a consumer that falls behind loses events the way
/// its policy says, and `stats` counts them. It ends after the feed stops or
/// gives up (after the events still waiting), when `.disconnect` cuts a slow
/// consumer off, or when the consuming task is cancelled; `end` says which.
/// Iterate it from one task.
///
/// Not generic, for the reason `BufferedEvents` is not: a generic sequence
/// iterated from another module runs unspecialised.
public struct BufferedFeedEvents: AsyncSequence, Sendable {
    public typealias Element = FeedEvent
    public typealias Failure = Never
    let buffer: EventBuffer<FeedEvent>

    init(_ buffer: EventBuffer<FeedEvent>) { self.buffer = buffer }

    public var policy: BackpressurePolicy { buffer.policy }
    /// Received, delivered, dropped, replaced, buffered, high-water mark.
    public var stats: ConsumerStats { buffer.stats }
    /// Why the sequence ended; nil while it goes on.
    public var end: ConsumerEnd? { buffer.end }
    /// Ends the sequence now and stops this consumer's buffering.
    public func cancel() { buffer.cancel() }

    public func makeAsyncIterator() -> Iterator { Iterator(buffer: buffer) }

    public struct Iterator: AsyncIteratorProtocol {
        public typealias Failure = Never
        let buffer: EventBuffer<FeedEvent>

        public mutating func next() async -> FeedEvent? {
            await buffer.nextEvent(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> FeedEvent? {
            await buffer.nextEvent(isolation: actor)
        }
    }
}

/// The consumers of a feed's `FeedEvent`s and the one way events reach
/// them. `offer` is called by whoever produces (a ResilientFeed's loop
/// thread; a FeedPool's forwarding tasks), under `lock`, so producers never
/// race each other; each buffer's consumer only takes the buffer's own lock.
///
/// Under `.keepLatest` a market event is keyed by its stream (and symbol);
/// a gap has no key, so it is never replaced by a later one (it can still
/// be dropped as the oldest when the buffer is full, and is counted then).
final class FeedEventConsumers: Sendable {
    private struct State {
        var buffers: [EventBuffer<FeedEvent>] = []
        var ended = false
        /// Interned names: the stream part of a `.keepLatest` key.
        var names: [String: Int] = [:]
    }
    private let state: Synchronization.Mutex<State>
    /// Events the buffers lost, all consumers together (`Stats.dropped`).
    let dropped = Atomic<Int>(0)
    /// The first consumer (`events`).
    let first: BufferedFeedEvents

    /// Names kept for `.keepLatest` keys at most (then keyed by their text).
    private static let nameLimit = 4096

    init(policy: BackpressurePolicy, capacity: Int) {
        let b = EventBuffer<FeedEvent>(policy: policy, capacity: max(1, capacity))
        first = BufferedFeedEvents(b)
        state = Synchronization.Mutex(State(buffers: [b]))
    }

    /// Another consumer with its own buffer, policy and counters; it sees
    /// the events offered from now on (none if the feed already ended).
    func add(policy: BackpressurePolicy, capacity: Int) -> BufferedFeedEvents {
        let b = EventBuffer<FeedEvent>(policy: policy, capacity: max(1, capacity))
        let late = state.withLock { s -> Bool in
            if s.ended { return true }
            s.buffers.append(b)
            return false
        }
        if late { b.finish() }
        return BufferedFeedEvents(b)
    }

    /// Whether anyone still takes events (a cut-off or cancelled consumer
    /// does not): lets a producer skip building them.
    var isEmpty: Bool { state.withLock { $0.buffers.isEmpty } }

    /// One event for every consumer; `symbol` is the market event's (for
    /// `.keepLatest(per: .streamAndSymbol)`), `streamID` its stream's number
    /// if the producer interns names itself (nil: interned here). Returns
    /// the buffers whose consumers must be woken (the caller wakes them, at
    /// once or after its batch of work).
    func offer(_ e: FeedEvent, streamID: Int? = nil, symbol: @autoclosure () -> String) -> [ConsumerWaker] {
        state.withLock { s -> [ConsumerWaker] in
            var wake: [ConsumerWaker] = []
            var closed = false
            for c in s.buffers {
                var key: EventKey?
                if case let .keepLatest(per) = c.policy, case let .market(m) = e {
                    let id = streamID ?? Self.intern(m.stream, in: &s.names)
                    // A name past the limit (id -1) keys by its text.
                    let text = id >= 0 ? "" : m.stream + " "
                    switch per {
                    case .stream: key = EventKey(stream: id, symbol: text)
                    case .streamAndSymbol: key = EventKey(stream: id, symbol: text + symbol())
                    }
                }
                let r = c.push(e, key: key)
                if r.lost > 0 { dropped.add(r.lost, ordering: .relaxed) }
                if r.wake { wake.append(c) }
                if r.closed { closed = true }
            }
            if closed { s.buffers.removeAll { $0.end != nil && $0.end != .finished } }
            return wake
        }
    }

    /// Ends every consumer's sequence after what it holds; later consumers
    /// end at once.
    func finish() {
        let all = state.withLock { s -> [EventBuffer<FeedEvent>] in
            s.ended = true
            defer { s.buffers = [] }
            return s.buffers
        }
        for b in all { b.finish() }
    }

    private static func intern(_ name: String, in names: inout [String: Int]) -> Int {
        if let id = names[name] { return id }
        guard names.count < nameLimit else { return -1 }
        let id = names.count
        names[name] = id
        return id
    }
}

extension EventLoop {
    /// Wakes `buffer`'s consumer after the completions the loop is handling
    /// now (a post runs once they are done), so the events of one loop turn
    /// cost one wake-up. From the loop thread.
    func wakeAfterBatch(_ buffer: ConsumerWaker) {
        let arg = Unmanaged.passRetained(buffer).toOpaque()
        let rc = rf_loop_post(loop, { _, arg in
            Unmanaged<ConsumerWaker>.fromOpaque(arg!).takeRetainedValue().wakeConsumer()
        }, arg)
        if rc != 0 {
            Unmanaged<ConsumerWaker>.fromOpaque(arg).release()
            buffer.wakeConsumer()
        }
    }
}

extension MarketEvent {
    /// The symbol an owned event carries ("" for those without one): the
    /// symbol part of a `.keepLatest(per: .streamAndSymbol)` key where the
    /// raw view is gone (a FeedPool's forwarding).
    var keySymbol: String {
        switch self {
        case let .trade(e): e.symbol
        case let .aggTrade(e): e.symbol
        case let .depthUpdate(e): e.symbol
        case let .partialDepth(e): e.symbol
        case let .bookTicker(e): e.symbol
        case let .kline(e): e.symbol
        case let .miniTicker(e): e.symbol
        case let .ticker(e), let .rollingTicker(e): e.symbol
        case let .avgPrice(e): e.symbol
        case .serverShutdown, .unknown: ""
        }
    }
}
