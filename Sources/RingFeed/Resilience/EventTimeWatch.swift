/// The latest event time ("E") of each stream of one connection, to find a
/// stream whose times stop advancing while messages still arrive: a server
/// that repeats or freezes one stream raises no error and does not look
/// idle (`ResilientFeed.Options.staleStreamTimeout`).
///
/// Loop thread only. `note` runs per event when the watch is on: a hash of
/// the stream name and a search among few entries, no allocation after a
/// stream's first event. `stale` runs once per supervisor tick.
final class EventTimeWatch {
    private struct Entry {
        var key: SwitchFilter.Key
        var name: String
        var last: Int64
        var advanced: Bool
        var since: ContinuousClock.Instant
    }

    private var entries: [Entry] = []
    private var index: [SwitchFilter.Key: Int] = [:]
    private static let linearLimit = 8

    @inline(__always)
    func note(_ view: MarketEventView) {
        let e = view.raw.pointee.event_time
        if e == Int64.min { return } // RF_BN_ABSENT: bookTicker, partial depth
        var key = SwitchFilter.key(view)
        // An all-market array ("!ticker@arr") carries only the symbols that
        // changed: watched as one stream.
        if view.streamBytes.first == UInt8(ascii: "!") { key.symbol = nil }
        let i: Int
        if entries.count <= Self.linearLimit {
            guard let found = entries.firstIndex(where: { $0.key == key }) else { return add(key, view, e) }
            i = found
        } else {
            guard let found = index[key] else { return add(key, view, e) }
            i = found
        }
        if e > entries[i].last {
            entries[i].last = e
            entries[i].advanced = true
        }
    }

    private func add(_ key: SwitchFilter.Key, _ view: MarketEventView, _ e: Int64) {
        index[key] = entries.count
        entries.append(Entry(key: key, name: String(decoding: view.streamBytes, as: UTF8.self), last: e,
                             advanced: false, since: .now))
    }

    /// The first of `streams` whose time has not advanced for `timeout` at
    /// `now` (checked each tick: `since` is when a tick last saw it advance).
    func stale(now: ContinuousClock.Instant, timeout: Duration, streams: [String]) -> String? {
        var found: String?
        for i in entries.indices {
            if entries[i].advanced {
                entries[i].advanced = false
                entries[i].since = now
            } else if found == nil, now - entries[i].since >= timeout, streams.contains(entries[i].name) {
                found = entries[i].name
            }
        }
        return found
    }
}
