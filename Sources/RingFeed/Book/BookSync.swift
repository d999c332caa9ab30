import CRingFeed

/// Keeps one symbol's `OrderBook` in sync with its diff stream, as Binance
/// documents it ("How to manage a local order book correctly"):
///
/// 1. wait for the first diff event (the stream is open), buffer it and
///    every later one, fetch a REST snapshot through the weight budget;
/// 2. a snapshot older than the first buffered event (spot: its
///    lastUpdateId + 1 < U; futures: lastUpdateId < U) is fetched again;
/// 3. load it into the spare `rf_book` and feed it the buffered events,
///    then the live ones: the C book drops u <= lastUpdateId (futures u <
///    lastUpdateId), bridges with U <= lastUpdateId + 1 <= u (futures U <=
///    lastUpdateId <= u), then requires U == previous u + 1 (futures pu ==
///    previous u);
/// 4. once it is live it becomes the visible book (the old one is kept as the
///    spare);
/// 5. a gap, a crossed book or a refused event leaves the visible book
///    readable and stale and starts again at 1 with that event buffered; only
///    this symbol resyncs.
///
/// Phases and buffers live on the feed's loop thread: every method runs
/// there. Snapshot requests run in tasks that hand their result back to the
/// loop; a result whose `generation` is no longer current is dropped.
final class BookSync: @unchecked Sendable {
    // @unchecked: every mutable field is touched on `loop`'s thread only; the
    // snapshot tasks read only the immutable configuration below.

    let book: OrderBook
    let symbol: String
    let loop: EventLoop
    let options: BookOptions
    let futures: Bool
    let budget: WeightBudget
    /// The REST endpoint without its query.
    let snapshotBase: String
    /// "<symbol>@depth@100ms".
    let streamName: String
    private let flags: UInt32
    private let onUpdate: (@Sendable (OrderBook) -> Void)?

    private enum Phase {
        /// Not on a connection.
        case detached
        /// On a connection, no event seen yet.
        case waiting
        /// Buffering while a snapshot is on its way.
        case fetching
        /// The spare book holds a snapshot no event has bridged yet.
        case bridging
        /// The visible book follows the stream.
        case live
    }

    private var phase = Phase.detached
    private var spare: OpaquePointer?
    private var buffer: DiffBuffer
    private var draining: DiffBuffer
    private var generation = 0
    /// Failed requests or too-old snapshots in a row (the retry pause doubles).
    private var retries = 0
    private var synced = false
    /// The grid every book of this symbol uses: the most decimals seen.
    private var priceScale: UInt8
    private var qtyScale: UInt8
    private var attachment: ObjectIdentifier?
    private var stopped = false
    // Verification.
    private var verifyArmed = false
    private var verifyInFlight = false
    private var pending: RawSnapshot?

    init(symbol: String, streamName: String, loop: EventLoop, options: BookOptions, futures: Bool) throws(BookError) {
        self.symbol = symbol
        self.streamName = streamName
        self.loop = loop
        self.options = options
        self.futures = futures
        flags = futures ? RF_BOOK_FUTURES : 0
        onUpdate = options.onUpdate
        budget = options.budget ?? (futures ? .futures : .spot)
        snapshotBase = options.snapshotURL ?? (futures ? BookOptions.futuresSnapshotURL : BookOptions.spotSnapshotURL)
        priceScale = options.priceScale ?? 0
        qtyScale = options.quantityScale ?? 0
        buffer = DiffBuffer(limit: options.bufferLimit)
        draining = DiffBuffer(limit: options.bufferLimit)
        let front = try OrderBook.makeBook(priceScale: priceScale, quantityScale: qtyScale, maxLevels: Self.maxLevels(options))
        book = OrderBook(symbol: symbol, front: front, kept: true)
    }

    deinit { rf_book_destroy(spare) }

    static func maxLevels(_ o: BookOptions) -> Int { o.maxLevels ?? max(1000, 2 * o.snapshotLimit) }

    // MARK: connection

    /// Starts following a connection's stream (`router` identifies it).
    func attach(_ router: ObjectIdentifier) {
        guard !stopped else { return }
        attachment = router
        generation += 1
        buffer.removeAll()
        pending = nil
        phase = .waiting
        if synced { book.emit(.resyncing(.reconnected)) }
    }

    /// Moves to another connection's stream without starting over (a
    /// rotation: both connections carry the same stream). Whatever phase it
    /// is in goes on: repeated diffs are skipped by their ids, and one that
    /// does not continue the last applied is a gap (a resync, as always).
    func handOver(to router: ObjectIdentifier) {
        guard !stopped, attachment != nil else { return attach(router) }
        attachment = router
    }

    /// The connection `router` identifies ended: stale until another syncs it.
    func connectionEnded(_ router: ObjectIdentifier) {
        guard attachment == router else { return }
        attachment = nil
        phase = .detached
        generation += 1
        buffer.removeAll()
        pending = nil
        book.lock.withLock { rf_book_mark_stale(book.front) }
        book.emit(.disconnected)
    }

    /// Stops for good (the feed let the book go).
    func stop() {
        stopped = true
        attachment = nil
        phase = .detached
        generation += 1
        book.lock.withLock { rf_book_mark_stale(book.front) }
        book.finishEvents()
    }

    // MARK: events (loop thread; no allocation unless buffering)

    func receive(_ d: UnsafePointer<rf_bn_depth>) {
        switch phase {
        case .detached:
            return
        case .waiting:
            keep(d)
            fetch()
        case .fetching:
            keep(d)
        case .bridging:
            applySpare(d)
        case .live:
            applyFront(d)
        }
    }

    private func keep(_ d: UnsafePointer<rf_bn_depth>) {
        let dropped = buffer.append(d)
        if dropped > 0 { book.lock.withLock { book.counters.bufferOverflows += dropped } }
    }

    private func applyFront(_ d: UnsafePointer<rf_bn_depth>) {
        var previous: Int64 = 0
        let rc: Int32 = book.lock.withLock {
            previous = rf_book_last_update_id(book.front)
            let rc = rf_book_apply_diff(book.front, d, flags)
            switch rc {
            case Int32(RF_BOOK_APPLIED.rawValue): book.counters.updatesApplied += 1
            case Int32(RF_BOOK_SKIPPED.rawValue): book.counters.updatesSkipped += 1
            case RF_EGAP.rawValue: book.counters.gaps += 1
            case RF_ECROSSED.rawValue:
                book.counters.updatesApplied += 1
                book.counters.crossed += 1
            default: break
            }
            return rc
        }
        if let onUpdate, rc == Int32(RF_BOOK_APPLIED.rawValue) || rc == RF_ECROSSED.rawValue { onUpdate(book) }
        switch rc {
        case Int32(RF_BOOK_APPLIED.rawValue):
            if pending != nil { verifyPending(after: d) }
        case Int32(RF_BOOK_SKIPPED.rawValue):
            break
        case RF_EGAP.rawValue:
            let e = d.pointee
            book.emit(futures ? .gap(expected: previous, got: e.prev_final_update_id)
                              : .gap(expected: previous &+ 1, got: e.first_update_id))
            resync(.gap, keeping: d)
        case RF_ECROSSED.rawValue:
            resync(.crossed, keeping: d)
        default:
            resync(.invalidEvent(rc), keeping: d)
        }
    }

    private func applySpare(_ d: UnsafePointer<rf_bn_depth>) {
        guard let spare else { return }
        let rc = rf_book_apply_diff(spare, d, flags)
        switch rc {
        case Int32(RF_BOOK_APPLIED.rawValue):
            if rf_book_state(spare) == Int32(RF_BOOK_LIVE.rawValue) { goLive() }
        case Int32(RF_BOOK_SKIPPED.rawValue):
            book.lock.withLock { book.counters.updatesSkipped += 1 }
        case RF_EGAP.rawValue:
            // The first event after the snapshot starts past it: the snapshot
            // is older than this part of the stream.
            let snapshotId = rf_book_last_update_id(spare)
            book.lock.withLock { book.counters.snapshotsTooOld += 1 }
            book.emit(.snapshotTooOld(lastUpdateId: snapshotId, firstBufferedUpdateId: d.pointee.first_update_id))
            keep(d)
            retries += 1
            fetch()
        case RF_ECROSSED.rawValue:
            book.lock.withLock { book.counters.crossed += 1 }
            book.emit(.resyncing(.crossed))
            keep(d)
            retries += 1
            fetch()
        default:
            book.emit(.resyncing(.invalidEvent(rc)))
            keep(d) // its decimals widen the next book's grid
            retries += 1
            fetch()
        }
    }

    /// The spare book bridged the stream: it becomes the visible one.
    private func goLive() {
        guard let s = spare else { return }
        let first = !synced
        spare = book.swapFront(s) { c in
            c.syncs += 1
            c.updatesApplied += 1
            if !first { c.resyncs += 1 }
        }
        synced = true
        retries = 0
        phase = .live
        onUpdate?(book)
        book.emit(.synced(lastUpdateId: rf_book_last_update_id(s)))
        armVerification()
    }

    /// The visible book stays readable and stale; a new snapshot is fetched.
    private func resync(_ reason: ResyncReason, keeping d: UnsafePointer<rf_bn_depth>?) {
        book.lock.withLock { rf_book_mark_stale(book.front) }
        pending = nil
        buffer.removeAll()
        if let d { keep(d) }
        book.emit(.resyncing(reason))
        fetch()
    }

    // MARK: snapshots

    private func fetch() {
        phase = .fetching
        generation += 1
        let g = generation
        let delay = retries == 0 ? Duration.zero : min(options.maxRetryDelay, options.retryDelay * (1 << min(retries - 1, 16)))
        let url = "\(snapshotBase)?symbol=\(symbol)&limit=\(options.snapshotLimit)"
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            let result = await SnapshotFetcher.fetch(url, limit: self.options.snapshotLimit, futures: self.futures,
                                                     budget: self.budget, options: self.options, loop: self.loop)
            self.loop.execute { self.snapshotArrived(result, generation: g) }
        }
    }

    private func snapshotArrived(_ result: Result<RawSnapshot, SnapshotFetcher.Failure>, generation g: Int) {
        guard g == generation, phase == .fetching, !stopped else { return }
        let snap: RawSnapshot
        switch result {
        case let .failure(f):
            book.lock.withLock { book.counters.fetchFailures += 1 }
            book.emit(.snapshotFailed(f.description))
            retries += 1
            fetch()
            return
        case let .success(s):
            snap = s
        }
        book.lock.withLock { book.counters.snapshotsFetched += 1 }
        if let first = buffer.first,
           futures ? first.first > snap.lastUpdateId : first.first > snap.lastUpdateId &+ 1 {
            book.lock.withLock { book.counters.snapshotsTooOld += 1 }
            book.emit(.snapshotTooOld(lastUpdateId: snap.lastUpdateId, firstBufferedUpdateId: first.first))
            retries += 1
            fetch()
            return
        }
        let rc = load(snap)
        guard rc >= 0 else {
            book.lock.withLock { book.counters.fetchFailures += 1 }
            book.emit(.snapshotFailed("snapshot refused: \(RingFeedError(code: rc))"))
            retries += 1
            fetch()
            return
        }
        phase = .bridging
        // Feed the buffered events through the phases: they may bridge (and
        // the rest go to the visible book), or find the snapshot too old.
        swap(&buffer, &draining)
        draining.forEach { receive($0) }
        draining.removeAll()
    }

    /// Loads the spare book, on a grid that fits the snapshot and the buffer.
    private func load(_ snap: RawSnapshot) -> Int32 {
        let ps = max(priceScale, snap.priceScale, buffer.priceScale)
        let qs = max(qtyScale, snap.qtyScale, buffer.qtyScale)
        if ps > 17 || qs > 18 { return RF_EDECIMAL.rawValue }
        priceScale = ps
        qtyScale = qs
        var info = rf_book_info()
        if let s = spare { rf_book_get_info(s, &info) }
        if spare == nil || info.price_scale != ps || info.qty_scale != qs {
            rf_book_destroy(spare)
            spare = nil
            guard let b = try? OrderBook.makeBook(priceScale: ps, quantityScale: qs, maxLevels: Self.maxLevels(options)) else {
                return RF_ENOMEM.rawValue
            }
            spare = b
        }
        return rf_book_load_snapshot(spare, snap.lastUpdateId, snap.bids, snap.bids.count, snap.asks, snap.asks.count)
    }

    // MARK: verification

    private func armVerification() {
        guard let v = options.verification, !verifyArmed, !stopped else { return }
        verifyArmed = true
        loop.schedule(after: v.interval) { [weak self] in self?.verificationDue() }
    }

    private func verificationDue() {
        verifyArmed = false
        guard phase == .live, !stopped, let v = options.verification else { return }
        armVerification()
        guard !verifyInFlight, pending == nil else { return }
        verifyInFlight = true
        let g = generation
        let limit = v.limit ?? options.snapshotLimit
        let url = "\(snapshotBase)?symbol=\(symbol)&limit=\(limit)"
        Task {
            let result = await SnapshotFetcher.fetch(url, limit: limit, futures: self.futures, budget: self.budget,
                                                     options: self.options, loop: self.loop)
            self.loop.execute { self.verificationArrived(result, generation: g, limit: limit) }
        }
    }

    private var verifyLimit = 0

    private func verificationArrived(_ result: Result<RawSnapshot, SnapshotFetcher.Failure>, generation g: Int, limit: Int) {
        verifyInFlight = false
        guard g == generation, phase == .live else { return }
        switch result {
        case let .failure(f):
            book.lock.withLock { book.counters.fetchFailures += 1 }
            book.emit(.snapshotFailed(f.description))
        case let .success(snap):
            book.lock.withLock { book.counters.snapshotsFetched += 1 }
            let id = book.lastUpdateId
            verifyLimit = limit
            if id == snap.lastUpdateId {
                verify(snap, excluding: nil)
            } else if id < snap.lastUpdateId {
                pending = snap // compared when the stream reaches its id
            } else {
                book.lock.withLock { book.counters.verificationsInconclusive += 1 }
                book.emit(.verified(BookVerification(updateId: snap.lastUpdateId, compared: 0, differences: [],
                                                     differenceCount: 0, unknown: 0, excluded: 0, conclusive: false)))
            }
        }
    }

    /// After an event applied to the visible book: a waiting snapshot is
    /// compared once the book reaches or passes its id.
    private func verifyPending(after d: UnsafePointer<rf_bn_depth>) {
        guard let snap = pending, d.pointee.final_update_id >= snap.lastUpdateId else { return }
        pending = nil
        verify(snap, excluding: d.pointee.final_update_id == snap.lastUpdateId ? nil : d)
    }

    private func verify(_ snap: RawSnapshot, excluding d: UnsafePointer<rf_bn_depth>?) {
        var exBids = Set<Int64>(), exAsks = Set<Int64>()
        let v: BookVerification = book.lock.withLock {
            if let d {
                var info = rf_book_info()
                rf_book_get_info(book.front, &info)
                exBids = Self.ticks(d.pointee.bids, d.pointee.bid_count, info.price_scale)
                exAsks = Self.ticks(d.pointee.asks, d.pointee.ask_count, info.price_scale)
            }
            let v = BookVerifier.compare(book.front, snap, limit: verifyLimit, excludedBids: exBids, excludedAsks: exAsks)
            book.counters.verifications += 1
            if v.differenceCount > 0 { book.counters.verificationsFailed += 1 }
            return v
        }
        book.emit(.verified(v))
        if v.differenceCount > 0, options.verification?.resyncWhen(v) == true {
            resync(.verification, keeping: nil)
        }
    }

    private static func ticks(_ base: UnsafePointer<rf_bn_level>?, _ n: Int, _ scale: UInt8) -> Set<Int64> {
        var out = Set<Int64>()
        guard let base else { return out }
        for l in UnsafeBufferPointer(start: base, count: n) {
            var p = rf_decimal()
            if rf_decimal_rescale(l.price, UInt32(scale), &p) == 0 { out.insert(p.mantissa) }
        }
        return out
    }
}
