/// Weighted entries over a rolling window of time, oldest first: what the
/// rate limits of this package count with (the client's `WeightBudget` and
/// `ConnectionBudget`, the simulator's REST limit). A rolling window is at
/// least as strict as an exchange's fixed one. Not thread-safe: the owner
/// locks. Times are monotonic nanoseconds.
package struct RollingWindow: Sendable {
    package let windowNs: UInt64
    /// The weight of the entries in the window (as of the last `expire`).
    package private(set) var used = 0
    /// Entries from `head` on are live; the array is compacted when half of
    /// it is dead, so expiring costs O(1) amortised.
    private var entries: [(at: UInt64, weight: Int, id: UInt64)] = []
    private var head = 0

    package init(windowNs: UInt64) {
        self.windowNs = max(1, windowNs)
    }

    /// Live entries (as of the last `expire`).
    package var count: Int { entries.count - head }

    /// Drops the entries that have left the window at `now`.
    package mutating func expire(_ now: UInt64) {
        while head < entries.count && entries[head].at + windowNs <= now {
            used -= entries[head].weight
            head += 1
        }
        if head > 64 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    /// Counts `weight` from `at` (not before the newest entry's time).
    package mutating func add(at: UInt64, weight: Int, id: UInt64 = 0) {
        entries.append((at, weight, id))
        used += weight
    }

    /// Removes the live entry `id` (non-zero); false when it is not there.
    package mutating func remove(id: UInt64) -> Bool {
        guard let i = entries[head...].firstIndex(where: { $0.id == id }) else { return false }
        used -= entries[i].weight
        entries.remove(at: i)
        return true
    }

    /// When `weight` more will fit under `limit`: the time the entry whose
    /// leaving frees enough leaves the window (the newest one's when even
    /// an empty window would be needed). Only meaningful when it does not
    /// fit now and the window is not empty.
    package func fitTime(_ weight: Int, limit: Int) -> UInt64 {
        var freed = 0
        var i = head
        while i < entries.count - 1 {
            freed += entries[i].weight
            if used - freed + weight <= limit { break }
            i += 1
        }
        return entries[i].at + windowNs
    }
}
