import CRingFeed

/// What a MarketFeed's outgoing pacer carries: a control request, or a
/// WebSocket ping of our own. Binance counts pings like any other message
/// against its 5 a second, so they wait for room in the same window.
enum OutgoingFrame: Sendable {
    case control(ControlFrame)
    case ping(ClientPing)

    /// Takes a SUBSCRIBE / UNSUBSCRIBE `other` into this one if it is a
    /// control frame that can (a ping never merges).
    mutating func merge(_ other: ControlFrame, cap: Int) -> Bool {
        guard case var .control(frame) = self else { return false }
        self = .ping(ClientPing.placeholder) // drop the second reference so the merge appends in place
        defer { self = .control(frame) }
        return frame.merge(other, cap: cap)
    }

    /// Fails whoever waits for this frame.
    func fail(_ error: any Error) {
        switch self {
        case let .control(f): f.fail(error)
        case let .ping(p): p.continuation?.resume(throwing: error)
        }
    }
}

/// One `MarketFeed.ping()` call: its sequence number (the payload says it)
/// and the caller waiting for the round-trip time.
struct ClientPing: Sendable {
    let seq: UInt64
    let continuation: CheckedContinuation<Duration, any Error>?

    /// Stands in for a moment while a frame is merged in place; never sent.
    static let placeholder = ClientPing(seq: 0, continuation: nil)
}

/// The pings of one connection that went out and wait for their pongs
/// (loop thread only). A pong is matched by its payload, which RFC 6455
/// makes the ping's; a pong matching nothing (unsolicited, or the answer to
/// a ping that already timed out) is ignored.
struct PingLedger {
    private var nextSeq: UInt64 = 1
    private var inFlight: [UInt64: (sentNs: UInt64, caller: ClientPing)] = [:]

    /// The prefix of every payload: "rfping:" then the sequence number.
    private static let prefix = Array("rfping:".utf8)

    mutating func next() -> UInt64 {
        defer { nextSeq += 1 }
        return nextSeq
    }

    var waiting: Int { inFlight.count }

    /// The payload of ping `seq` (unique on the connection, 7 + up to 20 bytes).
    static func payload(_ seq: UInt64) -> [UInt8] { prefix + Array(String(seq).utf8) }

    /// The sequence number a pong's payload names, if it is one of ours.
    static func sequence(of payload: UnsafeRawBufferPointer) -> UInt64? {
        guard payload.count > prefix.count, payload.count <= prefix.count + 20,
              payload.prefix(prefix.count).elementsEqual(prefix) else { return nil }
        var seq: UInt64 = 0
        for b in payload.dropFirst(prefix.count) {
            guard b >= 48, b <= 57 else { return nil }
            let (m, o1) = seq.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b - 48))
            if o1 || o2 { return nil }
            seq = a
        }
        return seq
    }

    /// Ping `p` went out at `ns`.
    mutating func sent(_ p: ClientPing, at ns: UInt64) {
        inFlight[p.seq] = (ns, p)
    }

    /// A pong arrived at `ns`: the ping it answers, taken off the ledger,
    /// with its round-trip time (nil if it answers none of ours). The
    /// caller resumes it, after counting it.
    mutating func answer(_ payload: UnsafeRawBufferPointer, at ns: UInt64) -> (ClientPing, Duration)? {
        guard let seq = Self.sequence(of: payload), let entry = inFlight.removeValue(forKey: seq) else { return nil }
        return (entry.caller, .nanoseconds(Int64(clamping: ns &- entry.sentNs)))
    }

    /// Ping `seq`'s deadline passed: it fails with `error` if still unanswered.
    mutating func expire(_ seq: UInt64, _ error: any Error) {
        inFlight.removeValue(forKey: seq)?.caller.continuation?.resume(throwing: error)
    }

    /// The connection ended: every ping in flight fails with `error`.
    mutating func failAll(_ error: any Error) {
        let all = inFlight
        inFlight = [:]
        for (_, e) in all { e.caller.continuation?.resume(throwing: error) }
    }
}
