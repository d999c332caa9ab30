import RingFeed

/// The limits Binance enforces on market-stream connections, all adjustable
/// so tests can scale them down. Defaults are the exchange's.
public struct SimulatorLimits: Sendable {
    /// The server pings every connection this often.
    public var pingInterval: Duration = .seconds(20)
    /// A connection that has not answered a ping for this long is dropped.
    public var pongTimeout: Duration = .seconds(60)
    /// At most this many incoming messages (pings, pongs, control messages)
    /// per `incomingWindow`; one more closes the connection with 1008.
    public var maxIncomingMessages: Int = 5
    public var incomingWindow: Duration = .seconds(1)
    /// Streams one connection may listen to.
    public var maxStreamsPerConnection: Int = 1024
    /// Connections are closed (1001) at this age.
    public var maxConnectionAge: Duration = .seconds(24 * 3600)
    /// When set, a serverShutdown event goes out this long before a
    /// connection reaches its maximum age.
    public var shutdownNotice: Duration?
    /// A client that lets more than this many bytes queue up unsent is a
    /// slow consumer and is disconnected, as Binance does.
    public var maxQueuedBytes: Int = 16 << 20
    /// Size of the text frame the oversized-frame fault sends.
    public var oversizedFrameBytes: Int = (2 << 20) + 1
    /// REST request weight allowed per `restWeightWindow`, per IP, as the
    /// exchange counts it (nil: the venue's, spot 6000, USD-M futures 2400).
    /// Depth and exchangeInfo weigh what Binance says (`RESTWeights`). A
    /// request over the limit gets 429 with Retry-After.
    public var restWeightLimit: Int?
    /// The rolling window the weight limit applies to (Binance: one minute).
    public var restWeightWindow: Duration = .seconds(60)
    /// A client that keeps sending during a 429's Retry-After is banned
    /// (418) for this long, doubling for each ban after, up to 2160 times
    /// as long (Binance: 2 minutes up to 3 days). nil: two windows.
    public var restBanDuration: Duration?
    /// Requests that arrive this soon after a 429 were on their way when it
    /// went out: they get 429 again, not a ban.
    public var restInFlightGrace: Duration = .seconds(1)

    public init() {}
}

/// How the simulator runs.
public struct SimulatorConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks a free port (`ExchangeSimulator.port` tells which).
    public var port: UInt16 = 0
    public var limits = SimulatorLimits()
    /// Serve wss:// and https:// instead of ws:// and http://.
    public var tls: TLSContext?
    /// How often the market advances and connections are checked (real time).
    public var tick: Duration = .milliseconds(5)
    /// Simulated time runs this many times faster than real time.
    public var speed: Double = 1
    /// Free-running: every pass advances simulated time by `blastStep`
    /// regardless of the clock, as fast as the loop goes (throughput tests).
    public var blast = false
    public var blastStep: Duration = .milliseconds(1)
    /// Faults applied to every connection as it opens (e.g. drop each one
    /// after 100 messages).
    public var faultsOnConnect: [SimulatorFault] = []

    public init() {}
}

/// A fault the simulator can inject into connections.
public enum SimulatorFault: Sendable, Equatable {
    /// Drop the TCP connection (no close frame) after this many more data messages.
    case dropAfter(messages: Int)
    /// Stop sending, stop reading (so pings go unanswered), keep the socket open.
    case stall
    /// The next diff-depth event of `symbol` (nil: every symbol) skips `count` update ids.
    case skipUpdateIds(symbol: String?, count: Int)
    /// A frame with RSV1 set and no extension negotiated (clients fail with 1002).
    case malformedFrame
    /// A text frame of `bytes` (nil: `SimulatorLimits.oversizedFrameBytes`).
    case oversizedFrame(bytes: Int?)
    /// A text frame that is not UTF-8 (clients fail with 1007).
    case invalidUTF8
    /// Send {"e":"serverShutdown","E":...} now and close (1001) after `closeAfter` (nil: keep open).
    case serverShutdown(closeAfter: Duration?)
    /// The next diff-depth event of `symbol` (nil: every symbol) carries one
    /// level whose quantity differs from the true book, ids consistent: a
    /// silent divergence only verification finds. REST snapshots stay right.
    case corruptDiff(symbol: String?)
    /// The next `count` REST market requests are answered 429 with
    /// Retry-After `retryAfter` seconds (nil: the weight window's length);
    /// requests during it are held against the client as if over the limit.
    case rest429(count: Int, retryAfter: Int?)
    /// The next `count` REST market requests are answered 418 and the IP is
    /// banned for `retryAfter` seconds (nil: `SimulatorLimits.restBanDuration`).
    case rest418(count: Int, retryAfter: Int?)

    /// Parses the form used by `ringfeed simulate --fault` and the HTTP
    /// control endpoint: kind and parameters, e.g. `drop:100`, `stall`,
    /// `gap:BTCUSDT:5`, `gap:3`, `malformed`, `oversized:3000000`, `utf8`,
    /// `shutdown`, `shutdown:2.5`, `corrupt`, `corrupt:BTCUSDT`, `rest429`,
    /// `rest429:3` (three requests), `rest429:3:10` (Retry-After 10 s),
    /// `rest418:1:5`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var query: [String: String] = [:]
        switch parts[0] {
        case "drop": if parts.count > 1 { query["after"] = parts[1] }
        case "gap", "skip":
            if parts.count == 2 { query["count"] = parts[1] }
            if parts.count == 3 { query["symbol"] = parts[1]; query["count"] = parts[2] }
        case "oversized": if parts.count > 1 { query["bytes"] = parts[1] }
        case "shutdown": if parts.count > 1 { query["close"] = parts[1] }
        case "corrupt": if parts.count > 1 { query["symbol"] = parts[1] }
        case "rest429", "rest418":
            if parts.count > 1 { query["count"] = parts[1] }
            if parts.count > 2 { query["retry"] = parts[2] }
        default: break
        }
        guard parts.count <= (parts[0] == "corrupt" ? 2 : 3) else { return nil }
        self.init(kind: parts[0], parameters: query)
    }

    /// The HTTP control endpoint's form: `kind=drop&after=100`,
    /// `kind=gap&symbol=BTCUSDT&count=5`, `kind=oversized&bytes=N`,
    /// `kind=shutdown&close=2.5`, `kind=corrupt&symbol=BTCUSDT`,
    /// `kind=rest429&count=3&retry=10` ...
    public init?(kind: String, parameters p: [String: String]) {
        func positive(_ key: String, default d: Int? = nil) -> Int? {
            guard let s = p[key] else { return d }
            guard let v = Int(s), v > 0 else { return nil }
            return v
        }
        switch kind {
        case "drop":
            guard let n = Int(p["after"] ?? "0"), n >= 0 else { return nil }
            self = .dropAfter(messages: n)
        case "stall": self = .stall
        case "gap", "skip":
            guard let n = positive("count", default: 1) else { return nil }
            self = .skipUpdateIds(symbol: p["symbol"].map { $0.uppercased() }, count: n)
        case "malformed": self = .malformedFrame
        case "oversized":
            if p["bytes"] != nil && positive("bytes") == nil { return nil }
            self = .oversizedFrame(bytes: positive("bytes"))
        case "utf8", "invalid-utf8": self = .invalidUTF8
        case "shutdown":
            if let s = p["close"] {
                guard let secs = Double(s), secs >= 0 else { return nil }
                self = .serverShutdown(closeAfter: .milliseconds(Int64(secs * 1000)))
            } else {
                self = .serverShutdown(closeAfter: nil)
            }
        case "corrupt":
            if let s = p["symbol"], s.isEmpty { return nil }
            self = .corruptDiff(symbol: p["symbol"].map { $0.uppercased() })
        case "rest429", "rest418":
            guard let n = positive("count", default: 1) else { return nil }
            if p["retry"] != nil && positive("retry") == nil { return nil }
            self = kind == "rest429" ? .rest429(count: n, retryAfter: positive("retry"))
                                     : .rest418(count: n, retryAfter: positive("retry"))
        default: return nil
        }
    }
}

/// Which connections a fault goes to.
public enum FaultTarget: Sendable, Equatable {
    case all
    case connection(Int)
}

/// Counters, read with `ExchangeSimulator.statistics()`.
public struct SimulatorStatistics: Sendable, Equatable {
    public var openConnections = 0
    public var acceptedConnections = 0
    public var refusedUpgrades = 0
    public var messagesSent = 0
    public var bytesSent = 0
    public var controlMessages = 0
    /// Ping frames received from clients (each answered with a pong).
    public var pingsReceived = 0
    public var restRequests = 0
    public var closedForRate = 0
    public var closedForPongTimeout = 0
    public var closedForAge = 0
    public var closedSlowConsumers = 0
    public var faultsInjected = 0
    /// REST answers 429 (too many requests) and 418 (IP banned), injected or not.
    public var restTooManyRequests = 0
    public var restBanned = 0
    /// Simulated time, µs since the Unix epoch.
    public var simulatedMicros: Int64 = 0
}
