import Synchronization

// The watches of a live connection: its end, silence (`idleTimeout`), a
// stream whose event times stop (`staleStreamTimeout`), unanswered client
// pings (`pingInterval`), and rotation when it is due.
extension ResilientFeed {
    enum WatchResult: Sendable {
        case ended(WebSocketCloseInfo)
        case rotated(Link)
    }

    /// Returns how the connection ended (aborting it if it goes silent for
    /// `idleTimeout`), or the connection that replaced it (rotation).
    func watch(_ link: Link) async -> WatchResult {
        await withTaskGroup(of: WatchResult?.self) { group in
            group.addTask { .ended(await link.feed.closed()) }
            group.addTask { await self.tend(link) }
            var ended: WebSocketCloseInfo?
            var next: Link?
            while let r = await group.next() {
                switch r {
                case let .ended(info):
                    ended = info
                    // A rotation under way finishes (the switch comes at
                    // once now); otherwise the other child is done.
                    if !link.leg.rotating.load(ordering: .relaxed) { group.cancelAll() }
                case let .rotated(l):
                    next = l
                case nil:
                    break // idle abort, or cancelled: the close comes from the other child
                }
            }
            if let next { return .rotated(next) }
            return .ended(ended ?? WebSocketCloseInfo(code: 1006, error: .closed))
        }
    }

    /// Every tick while the connection lives: idle detection, and rotation
    /// when it is due. Returns the replacement, or nil (idle abort, stop).
    private func tend(_ link: Link) async -> WatchResult? {
        let feed = link.feed
        let idle = options.idleTimeout
        let tick = min((idle ?? .seconds(1)) / 4, .milliseconds(100))
        // Data, the server's pings and the pongs to ours all show the
        // connection is alive (Binance pings every 20 s, a quiet stream may
        // say nothing longer).
        func heard() -> Int {
            let p = feed.pacingStats
            return feed.stats.messages + p.pongs + p.pingAnswers
        }
        var last = heard()
        var quietSince = ContinuousClock.now
        var ping = PingState(interval: options.pingInterval)
        while !Task.isCancelled {
            try? await Task.sleep(for: tick)
            if Task.isCancelled { break }
            if let interval = options.pingInterval,
               !ping.due(feed, interval: interval, timeout: options.pingTimeout, rtt: { self.lastPingRTTNs.store($0, ordering: .relaxed) }) {
                self.lock.withLock { self.dropReason = .noPingAnswer(options.pingTimeout) }
                feed.webSocket?.abort()
                return nil
            }
            if let why = rotationDue(link.leg) {
                link.leg.rotating.store(true, ordering: .relaxed)
                let next = await rotate(link, why)
                link.leg.rotating.store(false, ordering: .relaxed)
                if let next { return .rotated(next) }
                if isStopped || Task.isCancelled { return nil }
                // The old one goes on; try again later.
                link.leg.failedTries += 1
                link.leg.nextTry = .now + min(.seconds(30), .seconds(1) * link.leg.failedTries)
                quietSince = .now
                continue
            }
            let n = heard()
            if n != last {
                last = n
                quietSince = .now
                if let timeout = options.staleStreamTimeout, let name = await staleStream(link.leg, timeout) {
                    self.lock.withLock { self.dropReason = .staleStream(name, after: timeout) }
                    feed.webSocket?.abort()
                    return nil
                }
            } else if let idle, ContinuousClock.now - quietSince >= idle {
                self.lock.withLock { self.dropReason = .idleTimeout(idle) }
                feed.webSocket?.abort()
                return nil
            }
        }
        return nil
    }

    /// A desired stream (or book stream) whose event time stopped advancing.
    private func staleStream(_ leg: Leg, _ timeout: Duration) async -> String? {
        let streams = lock.withLock { desired + bookStreams }
        return await onLoop { leg.times?.stale(now: .now, timeout: timeout, streams: streams) }
    }

    /// Client pings of one connection (supervisor task).
    private struct PingState {
        final class Answer: Sendable {
            let received = Atomic<Bool>(false)
        }
        var next: ContinuousClock.Instant
        var sent: ContinuousClock.Instant?
        var answer = Answer()

        init(interval: Duration?) { next = .now + (interval ?? .zero) }

        /// Sends a ping when one is due; false when one went unanswered
        /// for `timeout`. `rtt` is told each answer's round trip (ns).
        mutating func due(_ feed: MarketFeed, interval: Duration, timeout: Duration,
                          rtt: @escaping @Sendable (Int) -> Void) -> Bool {
            let now = ContinuousClock.now
            if let s = sent {
                if answer.received.load(ordering: .relaxed) {
                    sent = nil
                    next = s + interval
                } else {
                    return now - s < timeout
                }
            }
            guard now >= next else { return true }
            sent = now
            let a = Answer()
            answer = a
            Task {
                // Timed out or closed: no answer; the deadline decides.
                guard let d = try? await feed.ping() else { return }
                rtt(Int(d.nanoseconds))
                a.received.store(true, ordering: .relaxed)
            }
            return true
        }
    }

    private func rotationDue(_ leg: Leg) -> RotationReason? {
        if let t = leg.nextTry, ContinuousClock.now < t { return nil }
        if leg.noticed.load(ordering: .relaxed) { return .serverShutdown }
        if let age = options.rotateAfter, ContinuousClock.now - leg.opened >= age { return .age(age) }
        return nil
    }
}
