/// What a buffer's waiting consumer is woken through. Not generic, so the
/// loop's C post callback can wake a buffer of any element type.
class ConsumerWaker: @unchecked Sendable {
    // @unchecked: no state here; subclasses say why theirs is safe.
    func wakeConsumer() {}
}

/// A bounded buffer between one producer (the I/O thread) and one consumer
/// (a task iterating `BufferedEvents`), with a `BackpressurePolicy` for when
/// it is full. The producer never waits: `push` takes an uncontended lock,
/// writes one slot and returns; it allocates nothing per event once the ring
/// has reached its high-water size.
///
/// The ring holds at most `capacity` events. Its storage comes in segments
/// of 1024 slots allocated the first time the ring reaches them and kept
/// until the buffer goes, so a consumer that keeps up costs one segment and
/// a stalled one at most `capacity` slots: memory follows the high-water
/// mark, never the number of events.
///
/// Wake-ups are batched: `push` never resumes the consumer itself, it says
/// when one is due (a consumer is parked and no wake-up is on its way), and
/// the producer wakes it once its current batch of work is done
/// (`wakeConsumer`), so a loop turn that brings a hundred events wakes the
/// consumer once. The consumer then takes events a batch at a time.
final class EventBuffer<Element: Sendable>: ConsumerWaker, @unchecked Sendable {
    // @unchecked: every mutable field below is read and written under `lock`
    // only; elements are Sendable and move between threads through it.
    let policy: BackpressurePolicy
    let capacity: Int

    private struct Slot {
        var element: Element
        /// The key it is indexed under (`.keepLatest` only).
        var key: EventKey?
    }

    private static var segmentShift: Int { 10 }
    private static var segmentSize: Int { 1 << segmentShift }

    private let lock = Mutex()
    /// The consumer's side: events taken from the ring, handed out one by
    /// one under a lock the producer never takes. The buffer's, not an
    /// iterator's, so a loop that breaks and a new one that starts lose
    /// nothing (counted delivered when taken: at most `batch.capacity`
    /// events beyond `capacity`).
    private let consumerLock = Mutex()
    private let batch: EventBatch<Element>
    private let segments: UnsafeMutablePointer<UnsafeMutablePointer<Slot>?>
    private let segmentCount: Int
    /// Sequence numbers: `head` the oldest waiting event, `tail` one past the
    /// newest. The slot of sequence s is s % capacity.
    private var head = 0
    private var tail = 0
    /// `.keepLatest`: the sequence number of each key's waiting event.
    private var index: [EventKey: Int] = [:]
    private var waiter: CheckedContinuation<Void, Never>?
    /// A wake-up is due or on its way: the producer need not ask again.
    private var wakePending = false
    private var ended: ConsumerEnd?
    private var received = 0, delivered = 0, dropped = 0, replaced = 0, highWater = 0

    init(policy: BackpressurePolicy, capacity: Int) {
        self.policy = policy
        self.capacity = max(1, capacity)
        segmentCount = (self.capacity + Self.segmentSize - 1) >> Self.segmentShift
        segments = .allocate(capacity: segmentCount)
        segments.initialize(repeating: nil, count: segmentCount)
        batch = EventBatch(capacity: min(self.capacity, 256))
    }

    deinit {
        discardAll()
        for i in 0..<segmentCount { segments[i]?.deallocate() }
        segments.deallocate()
    }

    /// What a push did: events lost by it (dropped or replaced), whether the
    /// producer must wake the consumer (`wakeConsumer`) once its batch is
    /// done, and whether the buffer takes no more (ended: stop offering).
    struct Pushed {
        var lost = 0
        var wake = false
        var closed = false
    }

    /// Offers one event (producer only). `key` is used by `.keepLatest` and
    /// must be nil otherwise.
    @inline(__always)
    func push(_ element: Element, key: EventKey?) -> Pushed {
        lock.withLock { () -> Pushed in
            if ended != nil { return Pushed(closed: true) }
            received &+= 1
            if let key, let seq = index[key] {
                // A consumer is parked only on an empty buffer, and this one
                // holds `seq`: no wake-up is due.
                slot(seq).pointee.element = element
                replaced &+= 1
                return Pushed(lost: 1)
            }
            var out = Pushed()
            if tail - head == capacity {
                if case .disconnect = policy {
                    out.lost = capacity + 1
                    dropped &+= out.lost
                    discardAll()
                    ended = .tooSlow(capacity: capacity)
                    out.closed = true
                    out.wake = dueWake()
                    return out
                }
                dropHead()
                dropped &+= 1
                out.lost = 1
            }
            let s = slot(tail)
            s.initialize(to: Slot(element: element, key: key))
            if let key { index[key] = tail }
            tail &+= 1
            if tail - head > highWater { highWater = tail - head }
            out.wake = dueWake()
            return out
        }
    }

    /// Ends the sequence after the events still waiting (the connection
    /// ended). Wakes a parked consumer at once.
    func finish() {
        let w = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if ended == nil { ended = .finished }
            return takeWaiter()
        }
        w?.resume()
    }

    /// Ends the sequence now; what was waiting is dropped (and counted).
    func cancel() {
        let w = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if ended == nil || ended == .finished {
                ended = .cancelled
                dropped &+= tail - head
                discardAll()
            }
            return takeWaiter()
        }
        w?.resume()
    }

    /// Resumes the parked consumer, if any (the producer, after a push
    /// said `wake`, once its batch is done).
    override func wakeConsumer() {
        let w = lock.withLock { takeWaiter() }
        w?.resume()
    }

    enum Next { case event(Element), empty, ended }

    /// The consumer's next event: from its batch, else a new batch from
    /// the ring; `.empty` when it must park, `.ended` after the last.
    func next() -> Next {
        consumerLock.withLock { () -> Next in
            if let e = batch.pop() { return .event(e) }
            switch take(into: batch) {
            case .some: return batch.pop().map { .event($0) } ?? .empty
            case .empty: return .empty
            case .ended: return .ended
            }
        }
    }

    private enum Taken { case some, empty, ended }

    /// Moves up to `batch`'s room of waiting events into it, oldest first
    /// (the batch must be empty).
    private func take(into batch: EventBatch<Element>) -> Taken {
        lock.withLock { () -> Taken in
            let n = min(tail - head, batch.room)
            if n == 0 { return ended == nil ? .empty : .ended }
            for i in 0..<n {
                let seq = head &+ i
                let s = slot(seq).move()
                if let key = s.key, index[key] == seq { index.removeValue(forKey: key) }
                batch.append(s.element)
            }
            head &+= n
            delivered &+= n
            return .some
        }
    }

    /// Parks the consumer until an event or the end arrives (resumed at
    /// once if one already has).
    func park(_ c: CheckedContinuation<Void, Never>) {
        let now = lock.withLock { () -> Bool in
            if tail > head || ended != nil { return true }
            waiter = c
            return false
        }
        if now { c.resume() }
    }

    var stats: ConsumerStats {
        lock.withLock {
            ConsumerStats(received: received, delivered: delivered, dropped: dropped, replaced: replaced,
                          buffered: tail - head, highWater: highWater, capacity: capacity)
        }
    }

    var end: ConsumerEnd? { lock.withLock { ended } }

    /// A consumer is parked waiting for events.
    var consumerWaiting: Bool { lock.withLock { waiter != nil } }

    // MARK: under the lock

    @inline(__always)
    private func slot(_ seq: Int) -> UnsafeMutablePointer<Slot> {
        let p = seq % capacity
        let i = p >> Self.segmentShift
        if let seg = segments[i] { return seg + (p & (Self.segmentSize - 1)) }
        return newSegment(i) + (p & (Self.segmentSize - 1))
    }

    /// A segment the ring reaches for the first time (a rising high-water
    /// mark, never a steady state).
    @inline(never)
    private func newSegment(_ i: Int) -> UnsafeMutablePointer<Slot> {
        let seg = UnsafeMutablePointer<Slot>.allocate(capacity: min(Self.segmentSize, capacity - (i << Self.segmentShift)))
        segments[i] = seg
        return seg
    }

    private func dropHead() {
        let s = slot(head).move()
        if let key = s.key, index[key] == head { index.removeValue(forKey: key) }
        head &+= 1
    }

    private func discardAll() {
        while head < tail { slot(head).deinitialize(count: 1); head &+= 1 }
        index.removeAll()
    }

    @inline(__always)
    private func dueWake() -> Bool {
        guard waiter != nil, !wakePending else { return false }
        wakePending = true
        return true
    }

    private func takeWaiter() -> CheckedContinuation<Void, Never>? {
        let w = waiter
        waiter = nil
        wakePending = false
        return w
    }
}

/// Events a consumer took from its buffer in one go, handed out one by one
/// without touching the producer's lock.
final class EventBatch<Element> {
    private let base: UnsafeMutablePointer<Element>
    let capacity: Int
    private var start = 0
    private var end = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        (base + start).deinitialize(count: end - start)
        base.deallocate()
    }

    /// Room for `take`: the whole batch once it is empty, else none.
    var room: Int {
        if start == end { start = 0; end = 0; return capacity }
        return 0
    }

    @inline(__always)
    func append(_ e: consuming Element) {
        (base + end).initialize(to: e)
        end += 1
    }

    @inline(__always)
    func pop() -> Element? {
        guard start < end else { return nil }
        defer { start += 1 }
        return (base + start).move()
    }
}

extension EventBuffer {
    /// The consumer's next event, parking until one or the end arrives;
    /// nil after the last. Cancelling the waiting task ends the sequence.
    func nextEvent(isolation actor: isolated (any Actor)? = #isolation) async -> Element? {
        while true {
            switch next() {
            case let .event(e): return e
            case .ended: return nil
            case .empty:
                await withTaskCancellationHandler {
                    await withCheckedContinuation(isolation: actor) { (c: CheckedContinuation<Void, Never>) in
                        self.park(c)
                    }
                } onCancel: {
                    self.cancel()
                }
            }
        }
    }
}

/// An `AsyncSequence` of owned events from a bounded buffer with a stated
/// `BackpressurePolicy` (`MarketFeed.events`, `MarketFeed.events(policy:capacity:)`).
/// It ends when the connection does (after the events still waiting), when
/// `.disconnect` cuts a slow consumer off, or when the consuming task is
/// cancelled; `end` says which. Iterate it from one task.
///
/// Not generic on purpose: a generic sequence iterated from another module
/// runs unspecialised (generic metadata looked up, every event moved through
/// value witnesses), which is what made `AsyncStream` cost microseconds an
/// event here.
public struct BufferedEvents: AsyncSequence, Sendable {
    public typealias Element = StreamEvent
    public typealias Failure = Never
    let buffer: EventBuffer<StreamEvent>

    init(_ buffer: EventBuffer<StreamEvent>) { self.buffer = buffer }

    public var policy: BackpressurePolicy { buffer.policy }
    /// Delivered, dropped, replaced, buffered, high-water mark.
    public var stats: ConsumerStats { buffer.stats }
    /// Why the sequence ended; nil while it goes on.
    public var end: ConsumerEnd? { buffer.end }
    /// Ends the sequence now and stops this consumer's buffering.
    public func cancel() { buffer.cancel() }

    public func makeAsyncIterator() -> Iterator { Iterator(buffer: buffer) }

    public struct Iterator: AsyncIteratorProtocol {
        public typealias Failure = Never
        let buffer: EventBuffer<StreamEvent>

        public mutating func next() async -> StreamEvent? {
            await buffer.nextEvent(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> StreamEvent? {
            await buffer.nextEvent(isolation: actor)
        }
    }
}
