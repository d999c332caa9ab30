import CRingFeed
import Synchronization

// ResilientFeed's rotation: a working connection replaced by a new one
// without a gap (Options.rotateAfter, a server's shutdown notice). The
// state the two connections share is in Rotation.swift.

extension ResilientFeed {
    /// Opens a replacement for `old` (through the budget, same streams and
    /// books), holds its events back until it catches up or
    /// `switchTimeout` passes, switches, closes `old` (1000). Nil when the
    /// replacement could not be made or ended first: `old` goes on.
    func rotate(_ old: Link, _ why: RotationReason) async -> Link? {
        let granted: ContinuousClock.Instant
        do {
            granted = try await options.budget.acquire()
        } catch {
            return nil
        }
        if isStopped { return nil }
        emit(.connecting(attempt: 1), at: granted)
        let all = lock.withLock { bookStreams + desired.filter { !bookStreams.contains($0) } }
        let streams = URLStreams.split(all).url
        let leg = Leg(state: .pending)
        if options.staleStreamTimeout != nil { leg.times = EventTimeWatch() }
        leg.wantTrades = all.compactMap { s in TradeSequencer.key(stream: s).map { (key: $0, stream: s) } }
        leg.wantBooks = syncs
        await onLoop { old.leg.recording = SwitchFilter() }
        var o = options.feed
        o.combined = true
        let feed: MarketFeed
        do {
            feed = try await MarketFeed.connect(
                streams: streams, options: o, on: loop,
                handler: { view in self.receive(view, on: leg) },
                tap: { bytes in
                    if leg.state == .live { self.tap?(bytes) } else if leg.tap(bytes) { self.switchSoon(leg) }
                },
                beforeOpening: nil)
        } catch {
            await onLoop { old.leg.recording = nil }
            emit(.disconnected(reason: DisconnectReason(connectError: error)))
            return nil
        }
        let kept = lock.withLock { () -> Bool in
            guard !stopped else { return false }
            replacement = feed
            connects += 1
            return true
        }
        guard kept else {
            await onLoop { old.leg.recording = nil }
            await feed.close()
            emit(.disconnected(reason: .closedByUs))
            return nil
        }
        await reconcile(feed, opened: streams) // what did not fit the URL
        // The switch: when the replacement has caught up (its receive
        // path), at the deadline, or at once if the old one ends.
        let timeout = options.switchTimeout
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            loop.execute {
                leg.feed = feed
                leg.predecessor = (old.feed, old.leg)
                leg.waiter = c
                self.loop.schedule(after: timeout) { self.switchOver(leg) }
                if old.feed.ended { self.switchSoon(leg) } else { self.checkCaughtUp(leg) }
                // Ends when the old connection does (at the latest when
                // this rotation closes it).
                Task {
                    _ = await old.feed.closed()
                    self.loop.execute { self.switchSoon(leg) }
                }
            }
        }
        let (switched, heldFor, held, caughtUp) = await onLoop { () -> (Bool, Duration, Int, Bool) in
            let at = leg.switchedAt ?? .now
            return (leg.state == .live, leg.firstMessage.map { at - $0 } ?? .zero, leg.replayed, leg.caughtUp)
        }
        guard switched else {
            // The replacement ended while held back.
            let info = await feed.close()
            retire(feed)
            let stopped = lock.withLock { () -> Bool in
                replacement = nil
                return self.stopped
            }
            await onLoop { old.leg.recording = nil }
            emit(.disconnected(reason: stopped ? .closedByUs : DisconnectReason(closeInfo: info)))
            return nil
        }
        let stoppedNow = lock.withLock { () -> Bool in
            replacement = nil
            current = feed
            connectedAt = .now
            return stopped
        }
        rotationCount.add(1, ordering: .relaxed)
        let switchedAt = ContinuousClock.now
        let age = switchedAt - old.leg.opened
        await old.feed.close()
        retire(old.feed)
        let closeTook = ContinuousClock.now - switchedAt
        // One connection at a time as `lifecycle` tells it: the old one's
        // end, then the replacement's start.
        emit(.rotated(Rotation(reason: why, heldFor: heldFor, heldMessages: held, caughtUp: caughtUp, closeTook: closeTook)))
        emit(.disconnected(reason: why == .serverShutdown ? .serverShutdown : .rotated(after: age)))
        emit(.connected(attempt: 1))
        if stoppedNow {
            await feed.close()
        } else {
            await reconcile(feed, opened: streams)
        }
        return Link(feed: feed, leg: leg)
    }

    /// Whether a held-back replacement has delivered every trade stream and
    /// book it takes over, starting at or before the next id consumers need
    /// (loop thread; on each of its events until the switch is scheduled).
    func checkCaughtUp(_ leg: Leg) {
        guard leg.state == .pending, !leg.switchScheduled, leg.feed != nil else { return }
        for (key, stream) in leg.wantTrades {
            guard let first = leg.firstTrade[key] else { return }
            if let last = sequencer.lastId(stream: stream), first > last &+ 1 { return }
        }
        for s in leg.wantBooks {
            guard let key = SymbolKey(s.symbol), let d = leg.firstDiff[key] else { return }
            guard s.book.state == .live else { continue }
            let last = s.book.lastUpdateId
            if s.futures ? d.prev > last : d.first > last &+ 1 { return }
        }
        leg.caughtUp = true
        switchSoon(leg)
    }

    /// The switch, after the messages the loop is handling now: each is then
    /// held whole, none half delivered (loop thread).
    func switchSoon(_ leg: Leg) {
        guard !leg.switchScheduled else { return }
        leg.switchScheduled = true
        loop.schedule(after: .zero) { self.switchOver(leg) }
    }

    /// The switch (loop thread; once, later calls do nothing): the old
    /// connection's events stop, books move to the new one, the held
    /// messages are delivered with repeats dropped, and the new one is live.
    func switchOver(_ leg: Leg) {
        guard leg.state == .pending, let feed = leg.feed, let (oldFeed, oldLeg) = leg.predecessor else {
            leg.switchScheduled = false // too early (still connecting): a later trigger counts
            return
        }
        leg.predecessor = nil
        if feed.ended {
            // The replacement is gone: the old one stays.
            leg.state = .retired
            oldLeg.recording = nil
            _ = leg.takeHeld()
        } else {
            oldLeg.state = .retired
            leg.filter = oldLeg.recording
            oldLeg.recording = nil
            for s in syncs {
                _ = oldFeed.books.remove(s.symbol)
                feed.books.adopt(s)
            }
            leg.state = .live
            leg.switchedAt = .now
            let held = leg.takeHeld()
            leg.replayed = held.count
            replay(held, on: leg, feed: feed)
            if leg.filter?.isEmpty == true {
                leg.filter = nil
            } else {
                // Streams with no event yet (quiet ones) are filtered a while longer.
                loop.schedule(after: options.switchTimeout) { leg.filter = nil }
            }
        }
        leg.waiter?.resume()
        leg.waiter = nil
    }

    /// Scans held messages again and delivers their events as the live path
    /// would: depth diffs to their books, everything to `receive`.
    func replay(_ held: [[UInt8]], on leg: Leg, feed: MarketFeed) {
        guard !held.isEmpty else { return }
        let cap = max(1, options.feed.maxDepthLevels)
        let levels = UnsafeMutablePointer<rf_bn_level>.allocate(capacity: cap)
        defer { levels.deallocate() }
        func one(_ ev: UnsafePointer<rf_bn_event>) {
            if ev.pointee.type == Int32(RF_BN_DEPTH_UPDATE.rawValue) { _ = feed.books.route(ev) }
            receive(MarketEventView(ev), on: leg)
        }
        for msg in held {
            msg.withUnsafeBufferPointer { p in
                guard let base = p.baseAddress else { return }
                tap?(UnsafeRawBufferPointer(p))
                var ev = rf_bn_event()
                guard rf_bn_scan(base, p.count, levels, cap, &ev) == 0 else { return }
                switch rf_bn_type(rawValue: UInt32(ev.type)) {
                case RF_BN_RESPONSE, RF_BN_ERROR:
                    return // answered by the connection itself
                case RF_BN_ARRAY:
                    var pos = 0
                    var item = rf_bn_event()
                    while true {
                        let r = withUnsafePointer(to: &ev) { rf_bn_array_next($0, &pos, levels, cap, &item) }
                        if r == 0 { break }
                        if r < 0 { continue }
                        withUnsafePointer(to: &item) { one($0) }
                    }
                default:
                    withUnsafePointer(to: &ev) { one($0) }
                }
            }
        }
    }
}
