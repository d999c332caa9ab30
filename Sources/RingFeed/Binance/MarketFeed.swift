import CRingFeed
import Synchronization

/// A Binance market-stream connection: combined streams, live control
/// messages, and typed events.
///
///     let loop = try EventLoop()
///     let feed = try await MarketFeed.connect(streams: ["btcusdt@aggTrade"], on: loop)
///     try await feed.subscribe(["ethusdt@bookTicker"])
///     for await e in feed.events { print(e.stream, e.event) }
///
/// Two ways to take events: the `events` `AsyncSequence` of owned values, or
/// a synchronous `handler` that runs on the loop thread with each event seen
/// in place (`MarketEventView`): no copy and no allocation per message. With a
/// handler, `events` yields nothing and ends with the connection.
public final class MarketFeed: @unchecked Sendable {
    // @unchecked: mutable state (pending requests, subscriptions, the level
    // buffer) is touched only on the loop thread; counters are atomics.

    public static let binanceSpotURL = "wss://stream.binance.com:9443"
    public static let binanceFuturesURL = "wss://fstream.binance.com"

    public struct Options: Sendable {
        /// Base URL: scheme, host, port, and for USD-M futures the route
        /// ("wss://fstream.binance.com/market"). "/stream?streams=..." is appended.
        public var url: String = MarketFeed.binanceSpotURL
        /// Ask for times in microseconds (`timeUnit=MICROSECOND`).
        public var microsecondTimes = false
        /// Combined endpoint (`/stream?streams=...`, every payload names its
        /// stream) or raw (`/ws/<name>`, bare payloads: events carry the
        /// stream name only when the connection has exactly one stream).
        public var combined = true
        /// Largest message accepted (the `!ticker@arr` kind exceeds 64 KiB).
        public var maxMessageSize = 4 << 20
        /// Depth levels one message may carry (partial depth 20, diffs far more).
        public var maxDepthLevels = 10_000
        /// How long a control request waits for its answer.
        public var requestTimeout: Duration = .seconds(10)
        /// Events `events` holds for a slow consumer (its buffer's capacity);
        /// what happens when it is full is `backpressure`.
        public var eventBufferSize = 100_000
        /// What `events` does when its consumer is `eventBufferSize` events
        /// behind: drop the oldest (default), keep the newest per key, or end
        /// the sequence. Counted in `events.stats` and `stats.dropped`.
        public var backpressure: BackpressurePolicy = .dropOldest
        /// Connect + opening handshake deadline.
        public var handshakeTimeout: Duration = .seconds(10)
        /// TLS for wss:// (nil: `TLSContext.defaultClient`, the process's
        /// shared context with the system trust store). Connections that
        /// share a context share its session cache: a reconnect resumes.
        public var tls: TLSContext?
        /// Outgoing pacing: at most the exchange's messages per second,
        /// pongs included, with waiting SUBSCRIBE / UNSUBSCRIBE calls merged
        /// (Resilience/OutgoingPacer.swift). The limit defaults to the
        /// URL's venue: 10 for USD-M futures, 5 otherwise.
        public var pacing = OutgoingPacing()
        public init() {}
    }

    /// Counters, safe to read from any thread.
    public struct Stats: Sendable, Equatable {
        /// WebSocket messages received.
        public var messages: Int
        /// Market events delivered (an array message counts each element).
        public var events: Int
        /// Messages (or array elements) that did not scan; the stream went on.
        public var errors: Int
        /// Events the consumers' buffers lost because their consumers were
        /// behind (dropped, replaced by `.keepLatest`, or cut off by
        /// `.disconnect`), all consumers together; each one's own counters
        /// are its sequence's `stats`.
        public var dropped: Int
    }

    public let loop: EventLoop
    public let options: Options
    /// The URL connected to.
    public let url: String
    /// Owned events, in arrival order; ends when the connection does.
    /// Bounded: `options.eventBufferSize` events, `options.backpressure`
    /// when full. More consumers: `events(policy:capacity:)`.
    public let events: BufferedEvents

    /// The buffers of the consumers of owned events, `events`' first (loop
    /// thread; a buffer that ended is removed as it says so).
    private var consumers: [EventBuffer<StreamEvent>]
    /// One String per stream name for owned events (loop thread).
    private var streamNames = StreamNames()
    private let handler: ((MarketEventView) -> Void)?
    private let tap: ((UnsafeRawBufferPointer) -> Void)?
    private var onScanError: (@Sendable (RingFeedError, UnsafeRawBufferPointer) -> Void)?
    private var ws: WebSocket?
    private let levels: UnsafeMutablePointer<rf_bn_level>
    /// Frames sent and waiting for their answer, by request id.
    private var pending: [Int64: ControlFrame] = [:]
    /// Everything this feed sends goes through it (loop thread): control
    /// requests and our own pings.
    private lazy var pacer: OutgoingPacer<OutgoingFrame> = {
        let p = options.pacing
        return OutgoingPacer(
            budget: p.enabled ? p.budget(url: url) : nil, windowNs: p.plannedWindowNs, counters: pacingCounters,
            // Unowned: the pacer is the feed's and calls back only while it lives.
            schedule: { [unowned self] ns in
                // Strong: the timer holds the feed for at most one window.
                // No weak reference to a MarketFeed anywhere: one would give
                // it a side table, and every retain on the receive path
                // would take the slow road (about a tenth of a stream's CPU).
                self.loop.schedule(after: .nanoseconds(Int64(clamping: ns))) { self.pacer.fire() }
            },
            transmit: { [unowned self] frame in
                switch frame {
                case let .control(f): self.transmit(f)
                case let .ping(p): self.transmitPing(p)
                }
            })
    }()
    /// Our pings sent and waiting for their pongs (loop thread).
    private var pings = PingLedger()
    private let pacingCounters = PacingCounters()
    private var nextID: Int64 = 1
    private var subscribed: [String] = [] {
        didSet { nameSoleStream() }
    }
    /// The name of the only stream, for raw payloads that do not carry it,
    /// and the kind of event it yields (anything else is not named).
    private var soleStream: [UInt8] = []
    private var soleKind: Int32 = 0

    private func nameSoleStream() {
        soleStream = subscribed.count == 1 ? Array(subscribed[0].utf8) : []
        soleKind = soleStream.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { rf_bn_stream_kind($0.baseAddress, $0.count) }
        }
    }
    private(set) var ended = false
    /// Order books fed from this connection's depth streams (loop thread;
    /// see Book/MarketFeed+OrderBook.swift).
    let books = BookRouter()
    /// Written by the loop thread alone (`bump`), read from any.
    private let messageCount = Atomic<Int>(0)
    private let eventCount = Atomic<Int>(0)
    private let errorCount = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)

    private init(loop: EventLoop, options: Options, url: String, streams: [String],
                 tap: ((UnsafeRawBufferPointer) -> Void)?, handler: ((MarketEventView) -> Void)?) {
        self.loop = loop
        self.options = options
        self.url = url
        self.tap = tap
        self.handler = handler
        self.subscribed = streams
        let buffer = EventBuffer<StreamEvent>(policy: options.backpressure, capacity: max(1, options.eventBufferSize))
        events = BufferedEvents(buffer)
        consumers = [buffer]
        levels = .allocate(capacity: max(1, options.maxDepthLevels))
        nameSoleStream() // init skips didSet
    }

    deinit { levels.deallocate() }

    /// The raw-stream URL for `streams` on `base`: "/ws/a/b".
    public static func rawURL(base: String, streams: [String], microsecondTimes: Bool = false) -> String {
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        return b + "/ws" + streams.map { "/" + $0 }.joined() + (microsecondTimes ? "?timeUnit=MICROSECOND" : "")
    }

    /// The combined-stream URL for `streams` on `base`.
    public static func combinedURL(base: String, streams: [String], microsecondTimes: Bool = false) -> String {
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        var query: [String] = []
        if !streams.isEmpty { query.append("streams=" + streams.joined(separator: "/")) }
        if microsecondTimes { query.append("timeUnit=MICROSECOND") }
        return b + "/stream" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// Connects to the combined endpoint with `streams` (may be empty:
    /// subscribe later). `handler`, if given, runs on the loop thread for
    /// every event, seen in place. `tap`, if given, sees every message as
    /// received, before it is scanned (to record a session).
    public static func connect(
        streams: [String],
        options: Options = Options(),
        on loop: EventLoop,
        handler: ((MarketEventView) -> Void)? = nil,
        tap: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) async throws -> MarketFeed {
        try await connect(streams: streams, options: options, on: loop, handler: handler, tap: tap, beforeOpening: nil)
    }

    /// `connect`, with `beforeOpening` run on the loop thread once the feed
    /// exists and before the connection opens: what it registers (books)
    /// sees the first message, even from a server that starts sending at once.
    static func connect(
        streams: [String],
        options: Options,
        on loop: EventLoop,
        handler: ((MarketEventView) -> Void)?,
        tap: ((UnsafeRawBufferPointer) -> Void)?,
        beforeOpening: (@Sendable (MarketFeed) -> Void)?
    ) async throws -> MarketFeed {
        for s in streams where !MarketStreams.isValid(s) { throw MarketFeedError.unknownStream(s) }
        let url = options.combined
            ? combinedURL(base: options.url, streams: streams, microsecondTimes: options.microsecondTimes)
            : rawURL(base: options.url, streams: streams, microsecondTimes: options.microsecondTimes)
        let feed = MarketFeed(loop: loop, options: options, url: url, streams: streams, tap: tap, handler: handler)
        if let beforeOpening {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                loop.execute {
                    beforeOpening(feed)
                    c.resume()
                }
            }
        }
        var config = WebSocketConfiguration()
        config.maxMessageSize = options.maxMessageSize
        config.handshakeTimeout = options.handshakeTimeout
        config.tls = options.tls
        do {
            // Not a strong capture: the feed holds the socket, and the socket
            // its message closure for good, so a strong one kept every feed
            // (its books and their buffers) alive after its connection ended.
            // Safe: messages arrive only until the close, and until then the
            // feed is held by this call (until it returns), then by the task
            // below that waits for the close.
            let ws = try await WebSocket.connect(to: url, configuration: config, on: loop) { [unowned(unsafe) feed] _, msg in
                feed.receive(msg.bytes)
            }
            feed.ws = ws
            // The core answers each ping with a pong at once: count it in the
            // pacer's window. Pongs answer our pings (`ping()`), matched by
            // payload. Not strong captures, for the message closure's
            // reasons: both are called only while the connection is open,
            // when the feed is held.
            loop.execute {
                ws.onPing = { [unowned(unsafe) feed] _, _ in feed.pacer.pongSent() }
                ws.onPong = { [unowned(unsafe) feed] _, payload in feed.ponged(payload) }
            }
            Task {
                _ = await ws.closed()
                loop.execute { feed.connectionEnded() }
            }
        } catch {
            if beforeOpening != nil { loop.execute { feed.connectionEnded() } }
            // No other consumer exists before this returns.
            feed.events.buffer.finish()
            throw error
        }
        return feed
    }

    /// Called on the loop thread for a message that does not scan (the
    /// error and the raw bytes); counted in `stats.errors` either way.
    public func onError(_ body: @escaping @Sendable (RingFeedError, UnsafeRawBufferPointer) -> Void) {
        loop.execute { self.onScanError = body }
    }

    public var stats: Stats {
        Stats(messages: messageCount.load(ordering: .relaxed), events: eventCount.load(ordering: .relaxed),
              errors: errorCount.load(ordering: .relaxed), dropped: droppedCount.load(ordering: .relaxed))
    }

    /// What the outgoing pacer did: frames sent, requests merged, the
    /// longest wait for room, pings answered, our pings and their pongs.
    public var pacingStats: PacingStats { pacingCounters.stats }

    // MARK: control messages

    /// Subscribes to `streams` in one request. Calls made while an earlier
    /// SUBSCRIBE waits for room to send share its frame (up to
    /// `pacing.maxStreamsPerRequest` names); each call completes with the
    /// answer, and if the exchange refuses a shared frame each call's part
    /// is sent again alone, so a call fails only for its own streams.
    public func subscribe(_ streams: [String]) async throws {
        for s in streams where !MarketStreams.isValid(s) { throw MarketFeedError.unknownStream(s) }
        // The list changes as the answer is read: payloads that follow it
        // may belong to the new streams.
        _ = try await control(.subscribe, streams, onSuccess: {
            self.subscribed.append(contentsOf: streams.filter { !self.subscribed.contains($0) })
        })
    }

    /// Unsubscribes from `streams` in one request.
    public func unsubscribe(_ streams: [String]) async throws {
        _ = try await control(.unsubscribe, streams, onSuccess: {
            self.subscribed.removeAll { streams.contains($0) }
        })
    }

    /// The streams the exchange says this connection has.
    public func listSubscriptions() async throws -> [String] {
        let result = try await request { .listSubscriptions(id: $0) }
        guard let list = parseJSONStringArray(result) else {
            throw ControlError.unexpectedResult(String(decoding: result, as: UTF8.self))
        }
        return list
    }

    /// SET_PROPERTY, e.g. ("combined", true).
    public func setProperty(_ name: String, to value: Bool) async throws {
        _ = try await request { .setProperty(name, value, id: $0) }
    }

    /// GET_PROPERTY: the value as JSON text ("true").
    public func property(_ name: String) async throws -> String {
        String(decoding: try await request { .getProperty(name, id: $0) }, as: UTF8.self)
    }

    /// Sends a request and waits for the answer with its id: the raw JSON of
    /// "result", or the exchange's error as `ControlError.rejected`. It goes
    /// out when the pacer has room (never merged with another);
    /// `requestTimeout` counts from then.
    public func request(_ make: @escaping @Sendable (Int64) -> ControlRequest) async throws -> [UInt8] {
        try await enqueue(streams: [], onSuccess: nil) { .opaque(make, $0) }
    }

    private func control(_ method: ControlRequest.Method, _ streams: [String],
                         onSuccess: @escaping @Sendable () -> Void) async throws -> [UInt8] {
        try await enqueue(streams: streams, onSuccess: onSuccess) { .streams(method, streams, $0) }
    }

    private func enqueue(streams: [String], onSuccess: (@Sendable () -> Void)?,
                         _ frame: @escaping @Sendable (ControlCaller) -> ControlFrame) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<[UInt8], any Error>) in
            loop.execute {
                guard !self.ended, self.ws != nil else {
                    cont.resume(throwing: ControlError.connectionClosed)
                    return
                }
                let f = frame(ControlCaller(continuation: cont, onSuccess: onSuccess, streams: streams))
                let cap = self.options.pacing.maxStreamsPerRequest
                self.pacer.submit(.control(f)) { $0.merge(f, cap: cap) }
            }
        }
    }

    /// Sends one frame now: the pacer calls this when the window has room.
    private func transmit(_ frame: ControlFrame) {
        guard !ended, let ws else { return frame.fail(ControlError.connectionClosed) }
        let id = nextID
        nextID += 1
        pending[id] = frame
        var text = frame.request(id: id).json
        let rc = text.withUTF8 { ws.sendOnLoop(.text, UnsafeRawBufferPointer($0)) }
        if rc != 0 {
            pending.removeValue(forKey: id)?.fail(ControlError.connectionClosed)
            return
        }
        loop.schedule(after: options.requestTimeout) {
            self.pending.removeValue(forKey: id)?.fail(ControlError.timedOut)
        }
    }

    /// Sends a WebSocket ping and returns the round-trip time once its pong
    /// arrives: from the moment the ping left to its pong's arrival (a wait
    /// for room in the pacer is not counted). The ping goes through the
    /// outgoing pacer like every control message, so pinging never takes
    /// the connection over the exchange's message rate; each has a payload
    /// of its own, so a pong is matched to its ping. Throws
    /// `ControlError.timedOut` without a pong within `requestTimeout` of
    /// sending, `ControlError.connectionClosed` when the connection ends.
    public func ping() async throws -> Duration {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Duration, any Error>) in
            loop.execute {
                guard !self.ended, self.ws != nil else {
                    cont.resume(throwing: ControlError.connectionClosed)
                    return
                }
                self.pacer.submit(.ping(ClientPing(seq: self.pings.next(), continuation: cont)))
            }
        }
    }

    /// Sends one of our pings now: the pacer calls this when the window has room.
    private func transmitPing(_ p: ClientPing) {
        guard !ended, let ws else { return OutgoingFrame.ping(p).fail(ControlError.connectionClosed) }
        let rc = PingLedger.payload(p.seq).withUnsafeBytes { ws.pingOnLoop($0) }
        if rc != 0 { return OutgoingFrame.ping(p).fail(ControlError.connectionClosed) }
        pacingCounters.bump(pacingCounters.pings)
        pings.sent(p, at: rf_now_ns())
        let seq = p.seq
        loop.schedule(after: options.requestTimeout) { self.pings.expire(seq, ControlError.timedOut) }
    }

    /// A pong arrived (loop thread).
    private func ponged(_ payload: UnsafeRawBufferPointer) {
        guard let (ping, rtt) = pings.answer(payload, at: rf_now_ns()) else { return }
        pacingCounters.bump(pacingCounters.pingAnswers) // before the caller can look
        ping.continuation?.resume(returning: rtt)
    }

    /// The streams subscribed through this feed (the URL's and later calls).
    public var streams: [String] {
        get async {
            await withCheckedContinuation { cont in loop.execute { cont.resume(returning: self.subscribed) } }
        }
    }

    /// Another consumer of owned events, independent of `events` and of
    /// every other: its own buffer of `capacity` events, its own `policy`
    /// and counters. It sees the events that arrive once it is registered on
    /// the loop thread (soon after this returns), and ends with the
    /// connection. With a synchronous `handler`, it yields nothing.
    public func events(policy: BackpressurePolicy, capacity: Int) -> BufferedEvents {
        let buffer = EventBuffer<StreamEvent>(policy: policy, capacity: max(1, capacity))
        loop.execute {
            if self.ended { buffer.finish() } else { self.consumers.append(buffer) }
        }
        return BufferedEvents(buffer)
    }

    // MARK: lifecycle

    /// Clean close (1000); pending requests fail with `connectionClosed`.
    @discardableResult
    public func close() async -> WebSocketCloseInfo {
        guard let ws else { return WebSocketCloseInfo(code: 1006, error: .closed) }
        let info = await ws.close()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            loop.execute {
                self.connectionEnded()
                c.resume()
            }
        }
        return info
    }

    /// Waits for the end of the connection.
    public func closed() async -> WebSocketCloseInfo {
        guard let ws else { return WebSocketCloseInfo(code: 1006, error: .closed) }
        return await ws.closed()
    }

    /// The underlying connection (TLS details, pending bytes, abort).
    public var webSocket: WebSocket? { ws }

    private func connectionEnded() {
        guard !ended else { return }
        ended = true
        books.connectionEnded()
        let waiting = pending
        pending = [:]
        for (_, f) in waiting { f.fail(ControlError.connectionClosed) }
        for f in pacer.drain() { f.fail(ControlError.connectionClosed) }
        pings.failAll(ControlError.connectionClosed)
        for c in consumers { c.finish() }
        consumers = []
    }

    // MARK: receive path (loop thread)

    private func receive(_ bytes: UnsafeRawBufferPointer) {
        bump(messageCount)
        tap?(bytes)
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var ev = rf_bn_event()
        let rc = rf_bn_scan(base, bytes.count, levels, options.maxDepthLevels, &ev)
        guard rc == 0 else { return scanFailed(rc, bytes) }
        switch rf_bn_type(rawValue: UInt32(ev.type)) {
        case RF_BN_RESPONSE, RF_BN_ERROR:
            answer(ev)
        case RF_BN_ARRAY:
            var pos = 0
            var item = rf_bn_event()
            while true {
                let r = withUnsafePointer(to: &ev) { rf_bn_array_next($0, &pos, levels, options.maxDepthLevels, &item) }
                if r == 0 { break }
                if r < 0 { scanFailed(r, bytes); continue }
                withUnsafePointer(to: &item) { deliver($0) }
            }
        default:
            withUnsafePointer(to: &ev) { deliver($0) }
        }
    }

    /// One more, from the only thread that writes the counter: a plain load
    /// and store, not a locked read-modify-write (which cost ~3% of the
    /// receive path, two per message).
    @inline(__always)
    private func bump(_ counter: borrowing Atomic<Int>) {
        counter.store(counter.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    @inline(__always)
    private func deliver(_ ev: UnsafePointer<rf_bn_event>) {
        bump(eventCount)
        if ev.pointee.stream.len == 0, !soleStream.isEmpty, ev.pointee.type == soleKind {
            // A raw connection with one stream: its payloads are that stream's.
            return soleStream.withUnsafeBufferPointer { name in
                var named = ev.pointee
                named.stream = rf_str(ptr: UnsafeRawPointer(name.baseAddress!).assumingMemoryBound(to: CChar.self),
                                      len: name.count)
                withUnsafePointer(to: &named) { handOut($0) }
            }
        }
        handOut(ev)
    }

    @inline(__always)
    private func handOut(_ ev: UnsafePointer<rf_bn_event>) {
        // A depth event a book keeps is the book's (and still the handler's).
        if !books.isEmpty, ev.pointee.type == Int32(RF_BN_DEPTH_UPDATE.rawValue), books.route(ev), handler == nil {
            return
        }
        let view = MarketEventView(ev)
        if let handler {
            handler(view)
        } else if !consumers.isEmpty {
            offer(view)
        }
    }

    /// One owned event for every consumer's buffer: made once, the stream
    /// named by its interned String. The I/O thread never waits here: a
    /// full buffer applies its policy, and a parked consumer is woken once
    /// the loop has handled its current batch, not per event.
    private func offer(_ view: MarketEventView) {
        let name = streamNames.intern(view.streamBytes)
        let e = StreamEvent(stream: name.string, event: view.event)
        var closed = false
        for c in consumers {
            var key: EventKey?
            if case let .keepLatest(per) = c.policy {
                // A name past the intern table's limit (id -1) keys by its text.
                let text = name.id >= 0 ? "" : name.string + " "
                switch per {
                case .stream: key = EventKey(stream: name.id, symbol: text)
                case .streamAndSymbol: key = EventKey(stream: name.id, symbol: text + view.symbol)
                }
            }
            let r = c.push(e, key: key)
            if r.lost > 0 { droppedCount.store(droppedCount.load(ordering: .relaxed) &+ r.lost, ordering: .relaxed) }
            if r.wake { wakeAfterBatch(c) }
            if r.closed { closed = true }
        }
        if closed { consumers.removeAll { $0.end != nil && $0.end != .finished } }
    }

    /// Wakes `buffer`'s consumer after the completions the loop is handling
    /// now (a post runs once they are done), so the events of one loop turn
    /// cost one wake-up.
    private func wakeAfterBatch(_ buffer: ConsumerWaker) {
        let arg = Unmanaged.passRetained(buffer).toOpaque()
        let rc = rf_loop_post(loop.loop, { _, arg in
            Unmanaged<ConsumerWaker>.fromOpaque(arg!).takeRetainedValue().wakeConsumer()
        }, arg)
        if rc != 0 {
            Unmanaged<ConsumerWaker>.fromOpaque(arg).release()
            buffer.wakeConsumer()
        }
    }

    private func scanFailed(_ rc: Int32, _ bytes: UnsafeRawBufferPointer) {
        errorCount.add(1, ordering: .relaxed)
        onScanError?(RingFeedError(code: rc), bytes)
    }

    private func answer(_ ev: rf_bn_event) {
        let r = ev.u.response
        guard r.id != Int64.min, let f = pending.removeValue(forKey: r.id) else { return }
        if rf_bn_type(rawValue: UInt32(ev.type)) == RF_BN_ERROR {
            // A refused shared frame: each caller's part again, alone and
            // first in line, so each gets the answer its own request gets.
            if f.callers.count > 1 { return pacer.submitFirst(f.split().map(OutgoingFrame.control)) }
            let msg = decodeJSONStringBody(r.error_msg.bytes) ?? String(decoding: r.error_msg.bytes, as: UTF8.self)
            f.fail(ControlError.rejected(code: r.error_code, message: msg))
        } else {
            let result = Array(r.result.bytes)
            for c in f.callers {
                c.onSuccess?()
                c.continuation.resume(returning: result)
            }
        }
    }
}

/// Errors of `MarketFeed` itself (connection errors are `RingFeedError`).
public enum MarketFeedError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownStream(String)

    public var description: String {
        switch self {
        case let .unknownStream(s): "unknown stream name '\(s)' (e.g. btcusdt@aggTrade, btcusdt@depth@100ms, btcusdt@kline_1m)"
        }
    }
}

/// Stream names and where they are served.
public enum MarketStreams {
    /// Whether `name` is a stream this version knows how to read.
    public static func isValid(_ name: String) -> Bool {
        var n = name
        return n.withUTF8 { p in
            p.withMemoryRebound(to: CChar.self) { rf_bn_stream_kind($0.baseAddress, $0.count) } != 0
        }
    }

    /// USD-M futures route streams by path: high-frequency book data on
    /// "/public", everything else on "/market".
    public static func futuresRoute(_ name: String) -> String {
        let kind = name.split(separator: "@", maxSplits: 1).last.map(String.init) ?? ""
        return kind.hasPrefix("depth") || kind == "bookTicker" || name == "!bookTicker" ? "/public" : "/market"
    }
}
