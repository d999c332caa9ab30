import ArgumentParser
import Dispatch
import RingFeed
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Output that never holds up the I/O thread: the loop thread hands over
/// filled chunks, a writer thread of its own does the blocking writes. At
/// most `capacity` bytes wait; a reader slower than the stream (a terminal,
/// `| grep`, a slow disk) meets the stated policy instead of stalling the
/// connection until the exchange drops it, and memory stays bounded.
final class OutputPipe: @unchecked Sendable {
    // @unchecked: `queue`, `queued`, `closed`, `ending` and `stats` are
    // guarded by `lock`; the writer thread owns the descriptor's writes.

    /// What happens to output that does not fit.
    enum WhenFull: String, CaseIterable, ExpressibleByArgument, Sendable {
        /// The oldest waiting output goes (counted, told at the end).
        case dropOldest = "drop-oldest"
        /// The run ends with an error: nothing is lost silently.
        case stop
    }

    struct Stats: Sendable {
        var writtenBytes = 0
        var droppedEvents = 0
        var droppedBytes = 0
        /// The most bytes that waited at once.
        var highWater = 0
    }

    private struct Chunk {
        var bytes: [UInt8]
        var events: Int
    }

    private let fd: Int32
    private let capacity: Int
    private let whenFull: WhenFull
    private let lock = Mutex<Void>(())
    private var queue: [Chunk] = []
    private var head = 0
    private var queued = 0
    private var closed = false
    private var ending = false
    private var fullReported = false
    private var counters = Stats()
    private let wake = DispatchSemaphore(value: 0)
    private let drained = DispatchSemaphore(value: 0)
    /// Called once, from the writer thread, when `fd` stops taking output
    /// (a closed pipe), or from `send` when it is full under `.stop`.
    private let onClosed: @Sendable () -> Void
    private let onFull: @Sendable () -> Void

    init(fd: Int32, capacity: Int, whenFull: WhenFull, onClosed: @escaping @Sendable () -> Void,
         onFull: @escaping @Sendable () -> Void) {
        self.fd = fd
        self.capacity = max(1 << 16, capacity)
        self.whenFull = whenFull
        self.onClosed = onClosed
        self.onFull = onFull
        DispatchQueue(label: "ringfeed.output").async { self.writeLoop() }
    }

    var stats: Stats { lock.withLock { _ in counters } }

    /// Hands `bytes` (holding `events` events) to the writer; never blocks.
    func send(_ bytes: [UInt8], events: Int) {
        guard !bytes.isEmpty else { return }
        var full = false
        let accepted = lock.withLock { _ -> Bool in
            if closed || ending { return false }
            if queued + bytes.count > capacity {
                switch whenFull {
                case .dropOldest:
                    while queued + bytes.count > capacity && head < queue.count {
                        counters.droppedEvents += queue[head].events
                        counters.droppedBytes += queue[head].bytes.count
                        queued -= queue[head].bytes.count
                        queue[head].bytes = []
                        head += 1
                    }
                case .stop:
                    full = !fullReported
                    fullReported = true
                    counters.droppedEvents += events
                    counters.droppedBytes += bytes.count
                    return false
                }
            }
            if head > 64 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            queue.append(Chunk(bytes: bytes, events: events))
            queued += bytes.count
            counters.highWater = max(counters.highWater, queued)
            return true
        }
        if accepted { wake.signal() }
        if full { onFull() }
    }

    /// Writes what waits (bounded by `timeout`), then stops the writer.
    /// Returns false if output was left unwritten.
    func finish(timeout: Duration = .seconds(5)) -> Bool {
        lock.withLock { _ in ending = true }
        wake.signal()
        let ns = UInt64(timeout.components.seconds) * 1_000_000_000 + UInt64(timeout.components.attoseconds / 1_000_000_000)
        return drained.wait(timeout: .now() + .nanoseconds(Int(ns))) == .success
    }

    private func writeLoop() {
        while true {
            wake.wait()
            while let chunk = next() {
                if !writeAll(chunk.bytes) {
                    lock.withLock { _ in
                        closed = true
                        queue.removeAll()
                        head = 0
                        queued = 0
                    }
                    onClosed()
                }
            }
            if lock.withLock({ _ in (ending || closed) && head >= queue.count }) {
                drained.signal()
                return
            }
        }
    }

    private func next() -> Chunk? {
        lock.withLock { _ -> Chunk? in
            guard !closed, head < queue.count else { return nil }
            let c = queue[head]
            queue[head].bytes = []
            head += 1
            queued -= c.bytes.count
            return c
        }
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        guard bytes.withUnsafeBytes({ ByteWriter.writeAll($0, to: fd) }) else { return false }
        lock.withLock { _ in counters.writtenBytes += bytes.count }
        return true
    }
}
