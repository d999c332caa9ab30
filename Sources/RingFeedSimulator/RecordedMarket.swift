/// Replays a recorded Binance session: every recorded message is served
/// byte for byte (the inner `data` of the combined-stream wrapper, under
/// its recorded `stream` name), in order, at the recorded pace relative to
/// the first `advance` or as fast as the caller advances; REST depth
/// snapshots come from the session's recorded ones, and exchangeInfo is the
/// recorded response.
///
/// Snapshots follow the replay: a request gets, for its symbol, the
/// recorded snapshot taken latest at or before the replay position (the
/// first one while the replay has not reached any), so a client that
/// connects, buffers and fetches sees the diff stream and snapshot that
/// really went together.
///
/// Times in µs (`timeUnit=MICROSECOND`): Binance's recorded times are in ms,
/// so a µs rendering appends "000" to the digits of the "E" and "T" fields
/// (and of "t" in klines, the open time; elsewhere "t" is a trade id). Every
/// other byte is as recorded.
public final class RecordedMarket: MarketSource {
    public enum Pace: Sendable, Equatable {
        /// Messages come out at their recorded intervals.
        case recorded
        /// The recorded intervals divided by a factor (2 = twice as fast).
        case speed(Double)
        /// Every remaining message on the next `advance`.
        case asFastAsPossible
    }

    public enum Error: Swift.Error, CustomStringConvertible {
        case unreadable(String)
        case malformed(String, Int, String)

        public var description: String {
            switch self {
            case .unreadable(let path): return "\(path): cannot read the file"
            case .malformed(let path, let line, let why): return "\(path):\(line): \(why)"
            }
        }
    }

    public let symbols: [String]
    public let venue: Venue
    public let pace: Pace
    /// The replay waits for its first watcher: the clock starts on the first
    /// `advance` that wants one of the session's streams, so a client that
    /// connects after the simulator started still gets the whole session.
    public let startsWhenWatched: Bool
    private let session: RecordedSession
    private let streams: Set<String>
    /// Messages emitted so far (the next one to emit).
    public private(set) var position = 0
    private var startMicros: Int64?
    private var nowMicros: Int64 = 0

    public init(streamFile: String, snapshotFile: String? = nil, exchangeInfoFile: String? = nil,
                pace: Pace = .recorded, startsWhenWatched: Bool = false) throws {
        session = try RecordedSession(streamFile: streamFile, snapshotFile: snapshotFile, exchangeInfoFile: exchangeInfoFile)
        venue = session.venue
        self.startsWhenWatched = startsWhenWatched
        if case .speed(let factor) = pace, !(factor > 0 && factor.isFinite) {
            self.pace = .recorded // a replay that never moves is no replay
        } else {
            self.pace = pace
        }
        // The streams the session subscribed to (some never sent anything in
        // the recording, e.g. a quiet bookTicker) and those that did.
        var subscribed = Set(session.messages.map(\.stream))
        if let q = session.url.range(of: "streams=") {
            subscribed.formUnion(session.url[q.upperBound...].prefix { $0 != "&" }.split(separator: "/").map(String.init))
        }
        streams = subscribed
        var seen = Set<String>()
        var order: [String] = []
        for m in session.messages where !m.stream.hasPrefix("!") {
            let symbol = String(m.stream.prefix { $0 != "@" }).uppercased()
            if seen.insert(symbol).inserted { order.append(symbol) }
        }
        symbols = order
    }

    /// Number of recorded messages.
    public var messageCount: Int { session.messages.count }

    /// Whether every recorded message has been emitted.
    public var finished: Bool { position == session.messages.count }

    /// Where the replay is in recorded time (µs): the recorded time the
    /// simulated clock has reached, or for `.asFastAsPossible` the time of
    /// the last message emitted; nil before the first `advance`.
    public var replayMicros: Int64? {
        guard let start = startMicros, let first = session.messages.first?.micros else { return nil }
        switch pace {
        case .recorded:
            return first + (nowMicros - start)
        case .speed(let factor):
            return first + Int64(Double(nowMicros - start) * factor)
        case .asFastAsPossible:
            return position > 0 ? session.messages[position - 1].micros : first
        }
    }

    public func serves(stream name: String) -> Bool {
        streams.contains(name)
    }

    public func advance(to nowMicros: Int64, wants: (String) -> Bool, emit: (MarketMessage) -> Void) {
        if startMicros == nil {
            if startsWhenWatched && !streams.contains(where: wants) { return }
            startMicros = nowMicros
        }
        self.nowMicros = max(self.nowMicros, nowMicros)
        let messages = session.messages
        let due = pace == .asFastAsPossible ? Int64.max : (replayMicros ?? Int64.min)
        while position < messages.count && messages[position].micros <= due {
            let m = messages[position]
            position += 1
            guard wants(m.stream) else { continue }
            let kline = m.stream.contains("@kline_")
            let data = m.data
            emit(MarketMessage(stream: m.stream) { unit in
                unit == .millisecond ? data : RecordedMarket.microsecondTimes(data, kline: kline)
            })
        }
    }

    public func depthSnapshot(symbol: String, limit: Int) -> [UInt8]? {
        guard let list = session.snapshots[symbol.uppercased()], let first = list.first else { return nil }
        var chosen = first
        if let at = replayMicros {
            for s in list where s.micros <= at { chosen = s }
        }
        return limit > 0 ? RecordedMarket.truncated(chosen.body, levels: limit) : chosen.body
    }

    public func exchangeInfo(symbols wanted: [String]?) -> [UInt8] {
        guard let body = session.exchangeInfo else {
            // No recorded response: the symbols of the session, nothing more.
            return MarketJSON.render(capacity: 128 + symbols.reduce(0) { $0 + 48 + $1.utf8.count }) { j in
                j.raw("{\"timezone\":\"UTC\",\"serverTime\":")
                j.int(MarketJSON.floorDiv(replayMicros ?? 0, 1000))
                j.raw(",\"rateLimits\":[],\"exchangeFilters\":[],\"symbols\":[")
                let list = wanted.map { w in symbols.filter { w.map { $0.uppercased() }.contains($0) } } ?? symbols
                for (i, s) in list.enumerated() {
                    if i > 0 { j.byte(UInt8(ascii: ",")) }
                    j.raw("{\"symbol\":")
                    j.string(Array(s.utf8))
                    j.raw(",\"status\":\"TRADING\"}")
                }
                j.raw("]}")
            }
        }
        guard let wanted else { return body }
        return RecordedMarket.filterSymbols(body, Set(wanted.map { $0.uppercased() }))
    }

    /// A recording cannot skip ids it never had; the gap faults of a replay
    /// come from the server (dropping messages).
    public func skipUpdateIds(symbol: String, count: Int) {}

    // MARK: - byte rewriting

    /// The message with "000" appended to the digits of its "E" and "T" (and,
    /// in klines, "t") number fields.
    static func microsecondTimes(_ data: [UInt8], kline: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 24)
        var i = 0
        let n = data.count
        var inString = false
        while i < n {
            let c = data[i]
            out.append(c)
            if inString {
                if c == UInt8(ascii: "\\") && i + 1 < n {
                    i += 1
                    out.append(data[i])
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
                i += 1
                continue
            }
            if c == UInt8(ascii: "\"") {
                // A key "E", "T" or "t" followed by ':' and digits?
                if i + 3 < n && data[i + 2] == UInt8(ascii: "\"") && data[i + 3] == UInt8(ascii: ":")
                    && (data[i + 1] == UInt8(ascii: "E") || data[i + 1] == UInt8(ascii: "T")
                        || (kline && data[i + 1] == UInt8(ascii: "t")))
                    && i + 4 < n && data[i + 4] >= 48 && data[i + 4] <= 57 {
                    out.append(contentsOf: data[(i + 1)...(i + 3)])
                    var j = i + 4
                    while j < n && data[j] >= 48 && data[j] <= 57 {
                        out.append(data[j])
                        j += 1
                    }
                    out.append(contentsOf: [48, 48, 48])
                    i = j
                    continue
                }
                inString = true
            }
            i += 1
        }
        return out
    }

    /// A depth snapshot body with at most `levels` entries in "bids" and in
    /// "asks"; the body itself when it has no more than that.
    static func truncated(_ body: [UInt8], levels: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = 0
        let n = body.count
        var changed = false
        while i < n {
            let c = body[i]
            out.append(c)
            i += 1
            // After `"bids":[` or `"asks":[` keep `levels` elements and skip the rest.
            guard c == UInt8(ascii: "["), out.count >= 8 else { continue }
            let key = out[(out.count - 8)...]
            guard key.elementsEqual("\"bids\":[".utf8) || key.elementsEqual("\"asks\":[".utf8) else { continue }
            var kept = 0
            var depth = 0
            while i < n {
                let d = body[i]
                if depth == 0 && d == UInt8(ascii: "]") { break }
                if depth == 0 && d == UInt8(ascii: "[") {
                    kept += 1
                    if kept > levels {
                        // Drop the separator written before this element, then the rest of the list.
                        if out.last == UInt8(ascii: ",") { out.removeLast() }
                        changed = true
                        while i < n && !(depth == 0 && body[i] == UInt8(ascii: "]")) {
                            if body[i] == UInt8(ascii: "[") { depth += 1 } else if body[i] == UInt8(ascii: "]") { depth -= 1 }
                            i += 1
                        }
                        break
                    }
                }
                if d == UInt8(ascii: "[") { depth += 1 } else if d == UInt8(ascii: "]") { depth -= 1 }
                out.append(d)
                i += 1
            }
        }
        return changed ? out : body
    }

    /// exchangeInfo with only the wanted entries of its "symbols" array.
    static func filterSymbols(_ body: [UInt8], _ wanted: Set<String>) -> [UInt8] {
        let key = Array("\"symbols\":[".utf8)
        guard let start = body.firstRange(of: key)?.upperBound else { return body }
        var out = Array(body[..<start])
        var i = start
        var depth = 0
        var inString = false
        var objectStart = 0
        var first = true
        let n = body.count
        while i < n {
            let c = body[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 1 } else if c == UInt8(ascii: "\"") { inString = false }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                if depth == 0 { objectStart = i }
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                if depth == 0 { break } // the end of "symbols"
                depth -= 1
                if depth == 0 {
                    let object = body[objectStart...i]
                    if let name = symbolName(object), wanted.contains(name) {
                        if !first { out.append(UInt8(ascii: ",")) }
                        out.append(contentsOf: object)
                        first = false
                    }
                }
            }
            i += 1
        }
        out.append(contentsOf: body[i...])
        return out
    }

    /// The value of the first "symbol" key of an exchangeInfo entry.
    private static func symbolName(_ object: ArraySlice<UInt8>) -> String? {
        let key = Array("\"symbol\":\"".utf8)
        guard let r = object.firstRange(of: key),
              let end = object[r.upperBound...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(decoding: object[r.upperBound..<end], as: UTF8.self)
    }
}
