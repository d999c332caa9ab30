import RingFeed
import Synchronization

/// What the connections of a command went through, from their lifecycle
/// events: the state now, reconnects and why, rotations, and whether a
/// connection gave up. Read by the live views and the summary line.
final class ConnectionReport: Sendable {
    struct Snapshot: Sendable {
        /// "connected", "reconnecting in 1.2 s (attempt 3)", ...
        var state = "connecting"
        /// Connections lost (other than by us or a rotation), and failed attempts.
        var losses = 0
        var failedAttempts = 0
        var rotations = 0
        /// Why, in first-seen order, with how often.
        var reasons: [(String, Int)] = []
        var lastLoss: String?
        var gaveUp: String?
    }

    private let state = Mutex(Snapshot())

    init() {}

    var snapshot: Snapshot { state.withLock { $0 } }

    /// Follows `events` until they end: `echo` prints each worth telling
    /// as a line on stderr starting with it; `gaveUp` is called if the
    /// feed gives up. One call per feed (they may share a report; `label`
    /// tells their lines apart).
    func follow(_ events: AsyncStream<LifecycleEvent>, label: String = "", echo prefix: String?,
                gaveUp: @escaping @Sendable (String) -> Void) {
        Task {
            var feed = FeedState()
            for await e in events { take(e.event, &feed, prefix.map { $0 + Self.tag(label, nil) }, gaveUp) }
        }
    }

    /// The same for a pool's connections: each has its own place in the
    /// lifecycle; lines name the connection once the pool has more than one.
    func follow(pool events: AsyncStream<PoolLifecycleEvent>, label: String = "", echo prefix: String?,
                gaveUp: @escaping @Sendable (String) -> Void) {
        Task {
            var feeds: [Int: FeedState] = [:]
            for await e in events {
                if feeds[e.connection] == nil { feeds[e.connection] = FeedState() }
                let many = feeds.count > 1
                take(e.event, &feeds[e.connection, default: FeedState()],
                     prefix.map { $0 + Self.tag(label, many ? e.connection : nil) }, gaveUp)
            }
        }
    }

    private static func tag(_ label: String, _ connection: Int?) -> String {
        switch (label.isEmpty, connection) {
        case (true, nil): ""
        case let (true, n?): "[connection \(n)] "
        case (false, nil): "[\(label)] "
        case let (false, n?): "[\(label) connection \(n)] "
        }
    }

    private func take(_ e: ConnectionEvent, _ feed: inout FeedState, _ prefix: String?,
                      _ gaveUp: @Sendable (String) -> Void) {
        note(e, &feed)
        if let prefix, Self.worthTelling(e) {
            var stderr = StandardError()
            print("\(prefix)\(e)", to: &stderr)
        }
        if case let .gaveUp(r) = e { gaveUp("\(r)") }
    }

    private static func worthTelling(_ e: ConnectionEvent) -> Bool {
        switch e {
        // The first connection's start, our own close, and the old
        // connection's end after a rotation (the rotation line says it).
        case .connecting(1), .connected(1), .disconnected(.closedByUs), .disconnected(.rotated): false
        default: true
        }
    }

    /// Where one feed is in the lifecycle's grammar (ConnectionEvent).
    private struct FeedState {
        var connected = false
        /// A replacement is being opened while the old connection works.
        var replacing = false
        /// A rotation just switched: the old connection's end follows.
        var switched = false
    }

    private func note(_ e: ConnectionEvent, _ f: inout FeedState) {
        state.withLock { s in
            func loss(_ r: DisconnectReason) {
                let text = "\(r)"
                if let i = s.reasons.firstIndex(where: { $0.0 == text }) { s.reasons[i].1 += 1 } else { s.reasons.append((text, 1)) }
                s.lastLoss = text
            }
            switch e {
            case let .connecting(n):
                if f.connected { f.replacing = true } else { s.state = n == 1 ? "connecting" : "connecting (attempt \(n))" }
            case .connected:
                f.connected = true
                s.state = "connected"
            case .rotated:
                s.rotations += 1
                f.replacing = false
                f.switched = true
            case let .disconnected(r):
                if f.switched {
                    f.switched = false // the rotated connection's end
                } else if f.replacing {
                    f.replacing = false // a replacement that failed; the old one goes on
                    s.failedAttempts += 1
                    loss(r)
                } else if r == .closedByUs {
                    f.connected = false
                    s.state = "closed"
                } else {
                    if f.connected { s.losses += 1 } else { s.failedAttempts += 1 }
                    f.connected = false
                    loss(r)
                    s.state = "disconnected"
                }
            case .reconnecting:
                s.state = "\(e)"
            case let .gaveUp(r):
                s.gaveUp = "\(r)"
                s.state = "gave up"
            }
        }
    }

    /// For the summary line: "no reconnects" or "2 connections lost (...), 1 failed attempt, 1 rotation".
    static func summary(_ s: Snapshot) -> String {
        var parts: [String] = []
        if s.losses == 0 && s.failedAttempts == 0 {
            parts.append("no connection lost")
        } else {
            let why = s.reasons.map { $0.1 > 1 ? "\($0.0) ×\($0.1)" : $0.0 }.joined(separator: "; ")
            var p = "\(s.losses) connection\(s.losses == 1 ? "" : "s") lost"
            if s.failedAttempts > 0 { p += ", \(s.failedAttempts) failed attempt\(s.failedAttempts == 1 ? "" : "s")" }
            parts.append(p + " (\(why))")
        }
        if s.rotations > 0 { parts.append("\(s.rotations) rotation\(s.rotations == 1 ? "" : "s")") }
        return parts.joined(separator: ", ")
    }

    /// For the live views: one short line.
    static func status(_ s: Snapshot) -> String {
        var line = s.state
        if s.losses + s.failedAttempts > 0 {
            line += " · \(s.losses) lost, \(s.failedAttempts) failed"
            if let last = s.lastLoss { line += " · last: \(last)" }
        }
        if s.rotations > 0 { line += " · \(s.rotations) rotation\(s.rotations == 1 ? "" : "s")" }
        return line
    }
}
