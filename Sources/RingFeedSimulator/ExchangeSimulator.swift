import CRingFeed
import RingFeed

#if canImport(Glibc)
import Glibc
#endif

/// A Binance-compatible exchange on loopback: market streams over WebSocket
/// (raw and combined, live SUBSCRIBE / UNSUBSCRIBE / properties), REST depth
/// snapshots and exchangeInfo on the same port, Binance's connection limits
/// and REST request-weight limit (`RESTLimiter`), and faults injected on
/// command. The data comes from a `MarketSource`.
///
///     let sim = try await ExchangeSimulator.start(
///         source: SyntheticMarket(symbols: ["BTCUSDT"], seed: 1))
///     // connect to "\(sim.webSocketURL)/ws/btcusdt@depth@100ms",
///     // fetch "\(sim.httpURL)/api/v3/depth?symbol=BTCUSDT"
///     await sim.inject(.dropAfter(messages: 100))
///     await sim.stop()
///
/// Everything runs on one event loop: a timer advances the source, each
/// message is rendered once per time unit and wrapped once per form (raw or
/// combined), then queued to every subscriber. A subscriber whose unsent
/// bytes pass `SimulatorLimits.maxQueuedBytes` is disconnected.
public final class ExchangeSimulator: @unchecked Sendable {
    // @unchecked: every mutable field is touched on `loop`'s thread only;
    // the public async methods hop there. `port` is written before `start`
    // returns and never again.
    public let loop: EventLoop
    public let configuration: SimulatorConfiguration
    public private(set) var port: UInt16 = 0
    private let source: any MarketSource
    private let ownsLoop: Bool
    private var server: WebSocketServer?
    private var connections: [Int: SimulatorConnection] = [:]
    private var subscribers: [String: [SimulatorConnection]] = [:]
    private var nextID = 1
    private var stats = SimulatorStatistics()
    private var running = false
    private var clockBaseMicros: Int64 = 0
    private var clockBaseNs: UInt64 = 0
    private var simMicros: Int64 = 0
    private var restLimiter: RESTLimiter
    /// The latest REST requests, oldest first (bounded: see `restAnswer`).
    private var restRecords: [SimulatorRESTRecord] = []

    private init(source: any MarketSource, loop: EventLoop, ownsLoop: Bool, configuration: SimulatorConfiguration) {
        self.source = source
        self.loop = loop
        self.ownsLoop = ownsLoop
        self.configuration = configuration
        restLimiter = RESTLimiter(limits: configuration.limits, venue: source.venue)
    }

    /// Starts listening and streaming. With no `loop`, the simulator runs
    /// its own (shut down by `stop`).
    /// - Throws: `RingFeedError` when the port cannot be bound or the loop created.
    public static func start(
        source: sending any MarketSource,
        configuration: SimulatorConfiguration = SimulatorConfiguration(),
        on loop: EventLoop? = nil
    ) async throws -> ExchangeSimulator {
        let l = try loop ?? EventLoop()
        let sim = ExchangeSimulator(source: source, loop: l, ownsLoop: loop == nil, configuration: configuration)
        var handlers = WebSocketServer.Handlers()
        // Weak: the server keeps its handlers for as long as the process runs.
        handlers.onHTTPRequest = { [weak sim] req in
            guard let sim else { return .json(503, "{}") }
            return sim.handleHTTP(req) // nil: let the upgrade go ahead
        }
        handlers.onOpen = { [weak sim] ws in sim?.opened(ws) }
        handlers.onMessage = { [weak sim] ws, msg in sim?.received(ws, msg) }
        handlers.onPing = { [weak sim] ws, _ in sim?.pinged(ws) }
        handlers.onPong = { [weak sim] ws, payload in sim?.ponged(ws, payload) }
        handlers.onClose = { [weak sim] ws, _ in sim?.closed(ws) }
        var wsConfig = WebSocketConfiguration()
        wsConfig.tls = configuration.tls
        wsConfig.maxMessageSize = 64 << 10 // control messages are small
        do {
            let server = try await WebSocketServer.start(
                host: configuration.host, port: configuration.port, configuration: wsConfig, on: l, handlers: handlers)
            sim.port = server.port
            await sim.onLoop {
                sim.server = server
                sim.running = true
                sim.clockBaseNs = rf_now_ns()
                sim.clockBaseMicros = wallClockMicros()
                sim.simMicros = sim.clockBaseMicros
                sim.source.advance(to: sim.simMicros, wants: { _ in false }, emit: { _ in })
                sim.scheduleTick()
            }
        } catch {
            if loop == nil { l.shutdown() }
            throw error
        }
        return sim
    }

    /// "ws://127.0.0.1:PORT" (wss:// with TLS): append "/ws/..." or "/stream?...".
    public var webSocketURL: String { "\(configuration.tls == nil ? "ws" : "wss")://\(urlHost):\(port)" }
    /// "http://127.0.0.1:PORT" (https:// with TLS): append "/api/v3/depth?...".
    public var httpURL: String { "\(configuration.tls == nil ? "http" : "https")://\(urlHost):\(port)" }
    private var urlHost: String { configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host }

    /// Stops streaming, closes every connection (1001) and the listener; a
    /// loop the simulator made itself is shut down.
    public func stop() async {
        await onLoop {
            self.running = false
            self.server?.stop()
            self.server = nil
            for c in self.connections.values { c.close(code: 1001, reason: "simulator stopping") }
        }
        if ownsLoop { loop.shutdown() }
    }

    /// Injects a fault into the connections `target` names (for
    /// `.skipUpdateIds` and `.corruptDiff`, into the source; for `.rest429`
    /// and `.rest418`, into the REST side). Returns how many connections,
    /// symbols or REST answers it reached.
    @discardableResult
    public func inject(_ fault: SimulatorFault, to target: FaultTarget = .all) async -> Int {
        await onLoop { self.apply(fault, to: target) }
    }

    public func statistics() async -> SimulatorStatistics {
        await onLoop { self.currentStatistics() }
    }

    /// The latest REST market requests (at most 10 000), oldest first: when
    /// each arrived, its status, weight and Retry-After.
    public func restLog() async -> [SimulatorRESTRecord] {
        await onLoop { self.restRecords }
    }

    /// The body REST depth would answer now, without counting weight: the
    /// true book, for tests that compare against it without spending the
    /// limit the clients under test share.
    public func depthSnapshot(symbol: String, limit: Int) async -> [UInt8]? {
        await onLoop { self.source.depthSnapshot(symbol: symbol, limit: limit) }
    }

    /// Ids of the open connections, oldest first.
    public func connectionIDs() async -> [Int] {
        await onLoop { self.connections.keys.sorted() }
    }

    private func onLoop<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { cont in loop.execute { cont.resume(returning: body()) } }
    }

    private func currentStatistics() -> SimulatorStatistics {
        var s = stats
        s.openConnections = connections.count
        s.simulatedMicros = simMicros
        return s
    }

    // MARK: - pacing

    private func scheduleTick() {
        loop.schedule(after: configuration.blast ? .zero : configuration.tick) { [weak self] in self?.tick() }
    }

    private func tick() {
        guard running else { return }
        let now = rf_now_ns()
        if configuration.blast {
            simMicros += Int64(configuration.blastStep.simulatorNanoseconds / 1000)
        } else {
            let elapsedMicros = Double(now &- clockBaseNs) / 1000 * configuration.speed
            simMicros = max(simMicros, clockBaseMicros + Int64(elapsedMicros))
        }
        source.advance(to: simMicros, wants: { self.subscribers[$0] != nil }, emit: { self.fanOut($0) })
        housekeeping(now)
        scheduleTick()
    }

    private func fanOut(_ message: MarketMessage) {
        guard let subs = subscribers[message.stream] else { return }
        // Rendered once per time unit, wrapped once per unit: [ms, µs].
        var raw: [[UInt8]?] = [nil, nil]
        var wrapped: [[UInt8]?] = [nil, nil]
        let maxQueued = configuration.limits.maxQueuedBytes
        for c in subs where !c.closing && !c.stalled {
            if c.ws.pendingBytes > maxQueued {
                stats.closedSlowConsumers += 1
                c.abort()
                continue
            }
            let u = c.timeUnit == .millisecond ? 0 : 1
            if raw[u] == nil { raw[u] = message.render(c.timeUnit) }
            let bytes: [UInt8]
            if c.subscriptions.combined {
                if wrapped[u] == nil { wrapped[u] = Self.wrap(stream: message.stream, raw[u]!) }
                bytes = wrapped[u]!
            } else {
                bytes = raw[u]!
            }
            if bytes.withUnsafeBytes({ c.ws.send(.text, $0) }) == 0 {
                stats.messagesSent += 1
                stats.bytesSent += bytes.count
            }
            if let left = c.dropRemaining {
                if left <= 1 {
                    c.dropRemaining = nil
                    c.abort()
                } else {
                    c.dropRemaining = left - 1
                }
            }
        }
    }

    private static let wrapHead = Array(#"{"stream":""#.utf8)
    private static let wrapMid = Array(#"","data":"#.utf8)

    /// {"stream":"<name>","data":<raw>}, in one allocation. Stream names are
    /// ones the source serves ("btcusdt@depth@100ms", "!ticker@arr"): no
    /// byte needs escaping, which is checked rather than assumed.
    static func wrap(stream: String, _ raw: [UInt8]) -> [UInt8] {
        var name = stream
        if name.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            name = String(JSONText.quoted(stream).dropFirst().dropLast())
        }
        let total = wrapHead.count + name.utf8.count + wrapMid.count + raw.count + 1
        return [UInt8](unsafeUninitializedCapacity: total) { buf, count in
            var i = 0
            func put(_ bytes: some Collection<UInt8>) {
                for b in bytes { buf[i] = b; i += 1 }
            }
            put(wrapHead)
            put(name.utf8)
            put(wrapMid)
            raw.withUnsafeBufferPointer { r in
                _ = UnsafeMutableBufferPointer(rebasing: buf[i..<i + r.count]).initialize(from: r)
            }
            i += raw.count
            buf[i] = UInt8(ascii: "}")
            count = total
        }
    }

    /// Pings, pong deadlines, maximum age, scheduled closes.
    private func housekeeping(_ now: UInt64) {
        let limits = configuration.limits
        let maxAge = limits.maxConnectionAge.simulatorNanoseconds
        for c in connections.values where !c.closing {
            let age = now &- c.openedNs
            if age >= maxAge {
                stats.closedForAge += 1
                c.close(code: 1001, reason: "maximum connection age")
                continue
            }
            if let notice = limits.shutdownNotice, !c.shutdownNoticeSent,
               age + notice.simulatorNanoseconds >= maxAge {
                sendShutdownEvent(c)
            }
            if let at = c.closeAtNs, now >= at {
                c.close(code: 1001, reason: "server shutdown")
                continue
            }
            if c.stalled { continue } // silent on purpose: no pings, no deadlines
            if let since = c.unansweredSinceNs, now &- since >= limits.pongTimeout.simulatorNanoseconds {
                stats.closedForPongTimeout += 1
                c.abort()
                continue
            }
            if now &- c.lastPingNs >= limits.pingInterval.simulatorNanoseconds {
                c.ping(nowNs: now)
            }
        }
    }

    private func sendShutdownEvent(_ c: SimulatorConnection) {
        c.shutdownNoticeSent = true
        let e = c.timeUnit == .microsecond ? simMicros : simMicros / 1000
        let raw = Array(#"{"e":"serverShutdown","E":\#(e)}"#.utf8)
        // Not a stream event: sent as is, also on combined connections.
        _ = raw.withUnsafeBytes { c.ws.send(.text, $0) }
    }

    // MARK: - connections

    private func handleHTTP(_ request: HTTPServerRequest) -> HTTPServerResponse? {
        if request.isUpgrade {
            switch route(request.target) {
            case .success:
                return nil
            case .failure(.notFound):
                stats.refusedUpgrades += 1
                return .json(404, ControlProtocol.failure(2, "Invalid request: no stream endpoint at \(request.path)", id: "null"))
            case let .failure(.badRequest(msg)):
                stats.refusedUpgrades += 1
                return .json(400, "{\"error\":{\"code\":2,\"msg\":\(JSONText.quoted(msg))}}")
            }
        }
        stats.restRequests += 1
        guard request.method == "GET" || request.method == "HEAD" else {
            return RESTRoutes.binanceError(-1000, "Method not allowed.", status: 405)
        }
        if request.path.hasPrefix("/sim/") { return simulatorEndpoint(request) }
        return restAnswer(request)
    }

    /// A market request through the weight limit: served, or refused with
    /// 429 / 418 and Retry-After; every answer carries the used weight.
    private func restAnswer(_ request: HTTPServerRequest) -> HTTPServerResponse {
        let now = rf_now_ns()
        let weight = RESTRoutes.weight(request, venue: source.venue)
        let decision = restLimiter.admit(weight: weight, nowNs: now)
        var response: HTTPServerResponse
        var retryAfter: Int?
        switch decision {
        case .admitted:
            response = RESTRoutes.market(request, source: source)
                ?? HTTPServerResponse(status: 404, headers: [("Content-Type", "text/plain")], body: Array("not found\n".utf8))
        case let .refused(status, seconds):
            retryAfter = seconds
            if status == 429 {
                stats.restTooManyRequests += 1
                let ip = configuration.host == "0.0.0.0" || configuration.host == "::" ? "127.0.0.1" : configuration.host
                response = RESTRoutes.tooManyRequests(limit: restLimiter.limit, window: configuration.limits.restWeightWindow, ip: ip)
            } else {
                stats.restBanned += 1
                response = RESTRoutes.banned(untilMillis: wallClockMicros() / 1000 + Int64(seconds) * 1000)
            }
            response.headers.append(("Retry-After", String(seconds)))
        }
        let used = restLimiter.usedWeight(nowNs: now)
        response.headers.append(("X-MBX-USED-WEIGHT", String(used)))
        response.headers.append(("X-MBX-USED-WEIGHT-1M", String(used)))
        if restRecords.count >= 10_000 { restRecords.removeFirst(5_000) }
        restRecords.append(SimulatorRESTRecord(atNanos: now, target: request.target, status: response.status,
                                               weight: decision == .admitted ? weight : 0, usedWeight: used,
                                               retryAfter: retryAfter))
        return response
    }

    private func route(_ target: String) -> Result<StreamRoute, StreamRoute.Failure> {
        StreamRoute.parse(target: target, venue: source.venue, serves: { self.source.serves(stream: $0) },
                          maxStreams: configuration.limits.maxStreamsPerConnection)
    }

    private func opened(_ ws: WebSocketServerConnection) {
        guard case let .success(r) = route(ws.path) else {
            ws.close(code: 1008) // validated at the upgrade; cannot happen
            return
        }
        let c = SimulatorConnection(id: nextID, ws: ws, route: r, nowNs: rf_now_ns())
        nextID += 1
        ws.userInfo = c
        connections[c.id] = c
        stats.acceptedConnections += 1
        for s in c.subscriptions.add(r.streams) { subscribers[s, default: []].append(c) }
        for f in configuration.faultsOnConnect { apply(f, to: .connection(c.id)) }
        if let tape = source as? TapeMarket {
            tape.startSending(to: c, on: loop) { [weak self] messages, bytes in
                self?.stats.messagesSent += messages
                self?.stats.bytesSent += bytes
            }
        }
    }

    private func closed(_ ws: WebSocketServerConnection) {
        guard let c = ws.userInfo as? SimulatorConnection else { return }
        ws.userInfo = nil
        connections[c.id] = nil
        unsubscribe(c, c.subscriptions.streams)
    }

    private func unsubscribe(_ c: SimulatorConnection, _ streams: [String]) {
        for s in streams {
            subscribers[s]?.removeAll { $0 === c }
            if subscribers[s]?.isEmpty == true { subscribers[s] = nil }
        }
    }

    /// Counts a ping, pong or message against the rate limit; false if the
    /// connection is (now) closing.
    @discardableResult
    private func incoming(_ ws: WebSocketServerConnection) -> Bool {
        guard let c = ws.userInfo as? SimulatorConnection, !c.closing else { return false }
        let limits = configuration.limits
        if !c.admitIncoming(nowNs: rf_now_ns(), max: limits.maxIncomingMessages,
                            windowNs: limits.incomingWindow.simulatorNanoseconds) {
            stats.closedForRate += 1
            // Binance's words for it (its connectors report "1008: Too many requests").
            c.close(code: 1008, reason: "Too many requests")
            return false
        }
        return true
    }

    /// A client's ping: the core has answered it with a pong (as Binance
    /// does), and it counts against the rate limit like any message.
    private func pinged(_ ws: WebSocketServerConnection) {
        stats.pingsReceived += 1
        incoming(ws)
    }

    private func ponged(_ ws: WebSocketServerConnection, _ payload: UnsafeRawBufferPointer) {
        guard incoming(ws), let c = ws.userInfo as? SimulatorConnection else { return }
        c.pong(payload)
    }

    private func received(_ ws: WebSocketServerConnection, _ message: WebSocketMessageView) {
        guard incoming(ws), let c = ws.userInfo as? SimulatorConnection else { return }
        stats.controlMessages += 1
        let outcome = ControlProtocol.handle(
            message.bytes, subscriptions: &c.subscriptions, serves: { self.source.serves(stream: $0) },
            maxStreams: configuration.limits.maxStreamsPerConnection)
        for s in outcome.subscribed { subscribers[s, default: []].append(c) }
        unsubscribe(c, outcome.unsubscribed)
        ws.send(text: outcome.answer)
    }

    // MARK: - faults

    @discardableResult
    private func apply(_ fault: SimulatorFault, to target: FaultTarget) -> Int {
        switch fault {
        case let .skipUpdateIds(symbol, count):
            let symbols = symbol.map { [$0] } ?? source.symbols
            for s in symbols { source.skipUpdateIds(symbol: s, count: count) }
            stats.faultsInjected += 1
            return symbols.count
        case let .corruptDiff(symbol):
            let symbols = symbol.map { [$0] } ?? source.symbols
            let reached = symbols.filter { source.corruptNextDiff(symbol: $0) }.count
            stats.faultsInjected += 1
            return reached
        case let .rest429(count, retryAfter), let .rest418(count, retryAfter):
            if case .rest429 = fault { restLimiter.inject(status: 429, count: count, retryAfter: retryAfter) }
            else { restLimiter.inject(status: 418, count: count, retryAfter: retryAfter) }
            stats.faultsInjected += 1
            return count
        default:
            break
        }
        let targets: [SimulatorConnection]
        switch target {
        case .all: targets = connections.keys.sorted().compactMap { connections[$0] }
        case let .connection(id): targets = connections[id].map { [$0] } ?? []
        }
        var reached = 0
        for c in targets where !c.closing {
            reached += 1
            stats.faultsInjected += 1
            apply(fault, to: c)
        }
        return reached
    }

    private func apply(_ fault: SimulatorFault, to c: SimulatorConnection) {
        switch fault {
        case let .dropAfter(n):
            if n <= 0 { c.abort() } else { c.dropRemaining = n }
        case .stall:
            c.stalled = true
            c.ws.stallForFaultInjection()
        case .malformedFrame:
            // FIN + RSV1 + text, 2-byte payload: RSV1 without a negotiated extension.
            let frame: [UInt8] = [0xC1, 0x02, UInt8(ascii: "{"), UInt8(ascii: "}")]
            _ = frame.withUnsafeBytes { c.ws.sendRawForFaultInjection($0) }
        case let .oversizedFrame(bytes):
            let n = max(16, bytes ?? configuration.limits.oversizedFrameBytes)
            var body = Array(#"{"e":"pad","p":""#.utf8)
            body += [UInt8](repeating: UInt8(ascii: "x"), count: n - body.count - 2)
            body += Array(#""}"#.utf8)
            _ = body.withUnsafeBytes { c.ws.send(.text, $0) }
        case .invalidUTF8:
            // "\xC3\x28": a lead byte followed by a byte that cannot continue it.
            var body = Array(#"{"e":"trade","s":""#.utf8)
            body += [0xC3, 0x28]
            body += Array(#""}"#.utf8)
            _ = body.withUnsafeBytes { c.ws.send(.text, $0) }
        case let .serverShutdown(closeAfter):
            sendShutdownEvent(c)
            if let d = closeAfter { c.closeAtNs = rf_now_ns() + d.simulatorNanoseconds }
        case .skipUpdateIds, .corruptDiff, .rest429, .rest418:
            break // applied to the source or the REST side above
        }
    }

    /// GET /sim/status, GET /sim/fault?kind=...&[conn=ID]&... (see `SimulatorFault.init(kind:parameters:)`).
    private func simulatorEndpoint(_ request: HTTPServerRequest) -> HTTPServerResponse {
        switch request.path {
        case "/sim/status":
            let s = currentStatistics()
            return .json(200, """
                {"venue":"\(source.venue.rawValue)","symbols":[\(source.symbols.map(JSONText.quoted).joined(separator: ","))],\
                "openConnections":\(s.openConnections),"acceptedConnections":\(s.acceptedConnections),\
                "connectionIds":[\(connections.keys.sorted().map(String.init).joined(separator: ","))],\
                "messagesSent":\(s.messagesSent),"bytesSent":\(s.bytesSent),"controlMessages":\(s.controlMessages),\
                "restRequests":\(s.restRequests),"refusedUpgrades":\(s.refusedUpgrades),"closedForRate":\(s.closedForRate),\
                "closedForPongTimeout":\(s.closedForPongTimeout),"closedForAge":\(s.closedForAge),\
                "closedSlowConsumers":\(s.closedSlowConsumers),"faultsInjected":\(s.faultsInjected),\
                "restTooManyRequests":\(s.restTooManyRequests),"restBanned":\(s.restBanned),\
                "restUsedWeight":\(restLimiter.usedWeight(nowNs: rf_now_ns())),\
                "simulatedMicros":\(s.simulatedMicros)}
                """)
        case "/sim/fault":
            var params: [String: String] = [:]
            for (k, v) in request.query { params[k] = v }
            guard let kind = params["kind"], let fault = SimulatorFault(kind: kind, parameters: params) else {
                return .json(400, #"{"error":"unknown fault; kind is one of drop (after=N), stall, gap (symbol=S, count=N), malformed, oversized (bytes=N), utf8, shutdown (close=SECONDS), corrupt (symbol=S), rest429 or rest418 (count=N, retry=SECONDS)"}"#)
            }
            var target = FaultTarget.all
            if let conn = params["conn"], conn != "all" {
                guard let id = Int(conn) else { return .json(400, #"{"error":"conn is a connection id or all"}"#) }
                target = .connection(id)
            }
            let n = apply(fault, to: target)
            return .json(200, "{\"applied\":\(n)}")
        default:
            return HTTPServerResponse(status: 404, headers: [("Content-Type", "text/plain")], body: Array("not found\n".utf8))
        }
    }
}

/// Wall-clock µs since the Unix epoch: where simulated time starts.
func wallClockMicros() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}
