import RingFeed

/// One client connection of the simulator: what it listens to, how it wants
/// it, and where it stands against the limits. Loop thread only.
final class SimulatorConnection {
    let id: Int
    let ws: WebSocketServerConnection
    var subscriptions: StreamSubscriptions
    let timeUnit: TimeUnit
    let openedNs: UInt64

    /// Arrival times of the last `maxIncomingMessages` incoming messages (a ring).
    private var arrivals: [UInt64] = []
    private var arrivalPos = 0

    /// Pings carry a sequence number; a pong answering any outstanding one
    /// clears the deadline (unsolicited pongs do not, as on Binance).
    var pingSeq: UInt64 = 0
    var lastPingNs: UInt64
    var unansweredSinceNs: UInt64?
    var firstUnansweredSeq: UInt64 = 0

    /// Faults.
    var dropRemaining: Int?
    var stalled = false
    var closeAtNs: UInt64?
    var shutdownNoticeSent = false
    /// A close or abort has been issued; nothing more is sent.
    var closing = false

    init(id: Int, ws: WebSocketServerConnection, route: StreamRoute, nowNs: UInt64) {
        self.id = id
        self.ws = ws
        subscriptions = StreamSubscriptions(combined: route.combined)
        timeUnit = route.timeUnit
        openedNs = nowNs
        lastPingNs = nowNs
    }

    /// Counts an incoming message; false when it is one too many for the window.
    func admitIncoming(nowNs: UInt64, max: Int, windowNs: UInt64) -> Bool {
        guard max > 0 else { return true }
        if arrivals.count < max {
            arrivals.append(nowNs)
            return true
        }
        if nowNs &- arrivals[arrivalPos] < windowNs { return false }
        arrivals[arrivalPos] = nowNs
        arrivalPos = (arrivalPos + 1) % max
        return true
    }

    /// A pong arrived with this payload.
    func pong(_ payload: UnsafeRawBufferPointer) {
        guard unansweredSinceNs != nil,
              let seq = UInt64(String(decoding: payload, as: UTF8.self)),
              seq >= firstUnansweredSeq, seq <= pingSeq
        else { return }
        unansweredSinceNs = nil
    }

    /// Sends the next ping and starts the pong deadline if none runs.
    func ping(nowNs: UInt64) {
        pingSeq += 1
        ws.ping(Array(String(pingSeq).utf8))
        lastPingNs = nowNs
        if unansweredSinceNs == nil {
            unansweredSinceNs = nowNs
            firstUnansweredSeq = pingSeq
        }
    }

    func close(code: Int, reason: String) {
        guard !closing else { return }
        closing = true
        ws.close(code: code, reason: reason)
    }

    func abort() {
        guard !closing else { return }
        closing = true
        ws.abort()
    }
}

extension Duration {
    var simulatorNanoseconds: UInt64 {
        let (s, atto) = components
        return UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, atto) / 1_000_000_000)
    }
}
