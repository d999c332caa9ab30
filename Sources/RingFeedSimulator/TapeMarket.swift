import RingFeed

/// A market that is a fixed, pre-encoded tape (`BlastTape`): every
/// connection that opens is sent the whole tape from its first frame, as fast
/// as the socket takes it, and `GET /api/v3/depth` answers with the
/// snapshots the tape starts from (the tape never moves them: a client takes
/// its snapshot, then connects). For throughput measurements where the
/// server must not be the bottleneck: nothing is rendered while sending.
///
/// The frames are combined-stream payloads of the tape's twelve streams
/// (depth@100ms, aggTrade and bookTicker of BTCUSDT, ETHUSDT, SOLUSDT and
/// BNBUSDT); a connection gets all of them whatever it subscribed to. The
/// gap fault does not apply (the tape is fixed).
public final class TapeMarket: MarketSource {
    public let tape: BlastTape
    public let venue = Venue.spot
    public var symbols: [String] { tape.symbols }
    private let start: BlastTapeGenerator
    private let streams: Set<String>

    public init(tape: BlastTape) {
        self.tape = tape
        start = BlastTapeGenerator(seed: tape.seed)
        var names = Set<String>()
        for s in tape.symbols {
            for kind in ["@depth@100ms", "@depth", "@aggTrade", "@bookTicker"] { names.insert(s.lowercased() + kind) }
        }
        streams = names
    }

    public func advance(to nowMicros: Int64, wants: (String) -> Bool, emit: (MarketMessage) -> Void) {}

    public func serves(stream name: String) -> Bool { streams.contains(name) }

    public func depthSnapshot(symbol: String, limit: Int) -> [UInt8]? {
        guard let i = tape.symbols.firstIndex(of: symbol) else { return nil }
        return start.snapshot(symbol: i, limit: limit)
    }

    public func exchangeInfo(symbols wanted: [String]?) -> [UInt8] {
        let names = wanted ?? tape.symbols
        return SyntheticExchangeInfo.render(venue: .spot, serverMicros: wallClockMicros(),
                                            instruments: names.map { SyntheticInstrument(symbol: $0, venue: .spot) })
    }

    public func skipUpdateIds(symbol: String, count: Int) {}

    /// Starts sending the tape to a connection that just opened. `sent` is
    /// told each slice's messages and bytes.
    func startSending(to connection: SimulatorConnection, on loop: EventLoop, sent: @escaping (Int, Int) -> Void) {
        TapePump(tape: tape, connection: connection, loop: loop, sent: sent).run()
    }
}

/// Sends the tape to one connection in slices that end on frame boundaries
/// (so a ping from the simulator never lands inside a frame), keeping about
/// `highWater` bytes queued: refilled every `interval`, which at
/// 600 MB/s drains far less than that, so the socket never waits for us and
/// the loop does not spin.
// @unchecked: created, run and rescheduled on the simulator's loop thread only.
final class TapePump: @unchecked Sendable {
    static let highWater = 1 << 20
    static let interval = Duration.microseconds(200)
    let tape: BlastTape
    let connection: SimulatorConnection
    let loop: EventLoop
    let sent: (Int, Int) -> Void
    var slice = 0

    init(tape: BlastTape, connection: SimulatorConnection, loop: EventLoop, sent: @escaping (Int, Int) -> Void) {
        self.tape = tape
        self.connection = connection
        self.loop = loop
        self.sent = sent
    }

    func run() {
        let ws = connection.ws
        while slice < tape.sliceMessages.count && ws.pendingBytes < Self.highWater {
            if connection.closing || connection.stalled || !ws.isOpen { return }
            let lo = tape.sliceStarts[slice], hi = tape.sliceStarts[slice + 1]
            // The slice is whole frames encoded in advance (valid, unmasked
            // server text frames), so it goes out as it is: the raw send
            // path is the only one that queues frames without framing them again.
            let rc = tape.frames.withUnsafeBytes { ws.sendRawForFaultInjection(UnsafeRawBufferPointer(rebasing: $0[lo..<hi])) }
            if rc != 0 { return }
            sent(tape.sliceMessages[slice], hi - lo)
            slice += 1
        }
        if slice < tape.sliceMessages.count {
            loop.schedule(after: Self.interval) { self.run() }
        }
    }
}
