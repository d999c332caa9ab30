import Foundation

/// The files of one recorded Binance session (the format of
/// ../shared/data/binance, see its README.md), parsed once at start-up:
///
/// - stream file: line 1 `<URL> <-> <connect time>`, then one line per
///   message, `<unix time>: <message>`; messages are combined-stream
///   wrappers `{"stream":"<name>","data":<event>}` (or bare events when the
///   URL is a raw `/ws/<name>` stream);
/// - snapshot file: `<URL> -> <unix time>: <body>` per REST depth snapshot;
/// - exchangeInfo file: the same shape, the line whose URL asks for
///   exchangeInfo.
///
/// Times are kept in µs, parsed from the decimal text without floating point.
struct RecordedSession {
    struct Message {
        var micros: Int64
        var stream: String
        var data: [UInt8]
    }

    struct Snapshot {
        var micros: Int64
        var body: [UInt8]
    }

    var url: String
    var venue: Venue
    var messages: [Message] = []
    /// Per upper-case symbol, in recorded order.
    var snapshots: [String: [Snapshot]] = [:]
    var exchangeInfo: [UInt8]?

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecordedMarket.Error.unreadable(path)
        }
        return [UInt8](data)
    }

    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map { line in
            line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        }.filter { !$0.isEmpty }
    }

    init(streamFile: String, snapshotFile: String?, exchangeInfoFile: String?) throws {
        let lines = RecordedSession.lines(try RecordedSession.read(streamFile))
        guard let first = lines.first else { throw RecordedMarket.Error.malformed(streamFile, 1, "empty file") }
        let head = String(decoding: first, as: UTF8.self)
        url = String(head.prefix { $0 != " " })
        venue = url.contains("fstream") || url.contains("/fapi") ? .usdmFutures : .spot
        // A raw stream URL (/ws/<name>) carries bare events of that one stream.
        let rawStream: String? = url.range(of: "/ws/").map { String(url[$0.upperBound...]) }.flatMap { $0.isEmpty ? nil : $0 }
        for (n, line) in lines.dropFirst().enumerated() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")),
                  let micros = RecordedSession.micros(line[line.startIndex..<colon]) else {
                throw RecordedMarket.Error.malformed(streamFile, n + 2, "expected `<unix time>: <message>`")
            }
            var body = line[(colon + 1)...]
            if body.first == UInt8(ascii: " ") { body = body.dropFirst() }
            if let (stream, data) = RecordedSession.unwrap(body) {
                messages.append(Message(micros: micros, stream: stream, data: Array(data)))
            } else if let rawStream {
                messages.append(Message(micros: micros, stream: rawStream, data: Array(body)))
            } else {
                throw RecordedMarket.Error.malformed(streamFile, n + 2, "not a combined-stream message")
            }
        }
        if let snapshotFile {
            for (n, line) in RecordedSession.lines(try RecordedSession.read(snapshotFile)).enumerated() {
                guard let (lineURL, micros, body) = RecordedSession.restLine(line) else {
                    throw RecordedMarket.Error.malformed(snapshotFile, n + 1, "expected `<URL> -> <unix time>: <body>`")
                }
                guard let symbol = RecordedSession.query(lineURL, "symbol")?.uppercased() else {
                    throw RecordedMarket.Error.malformed(snapshotFile, n + 1, "no symbol= in the URL")
                }
                snapshots[symbol, default: []].append(Snapshot(micros: micros, body: Array(body)))
            }
            for key in snapshots.keys { snapshots[key]!.sort { $0.micros < $1.micros } }
        }
        if let exchangeInfoFile {
            for line in RecordedSession.lines(try RecordedSession.read(exchangeInfoFile)) {
                if let (lineURL, _, body) = RecordedSession.restLine(line), lineURL.contains("exchangeInfo") {
                    exchangeInfo = Array(body)
                    break
                }
            }
            if exchangeInfo == nil {
                throw RecordedMarket.Error.malformed(exchangeInfoFile, 1, "no exchangeInfo response line")
            }
        }
    }

    /// `{"stream":"<name>","data":<event>}` -> (name, event bytes).
    static func unwrap(_ m: ArraySlice<UInt8>) -> (String, ArraySlice<UInt8>)? {
        let prefix = Array(#"{"stream":""#.utf8)
        guard m.count > prefix.count + 10, m.starts(with: prefix), m.last == UInt8(ascii: "}") else { return nil }
        let nameStart = m.startIndex + prefix.count
        guard let nameEnd = m[nameStart...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        let middle = Array(#"","data":"#.utf8)
        guard m[nameEnd...].starts(with: middle) else { return nil }
        let data = m[(nameEnd + middle.count)..<(m.endIndex - 1)]
        return (String(decoding: m[nameStart..<nameEnd], as: UTF8.self), data)
    }

    /// `<URL> -> <unix time>: <body>`.
    static func restLine(_ line: ArraySlice<UInt8>) -> (String, Int64, ArraySlice<UInt8>)? {
        let arrow = Array(" -> ".utf8)
        var i = line.startIndex
        while i + arrow.count <= line.endIndex && !line[i...].starts(with: arrow) { i += 1 }
        guard i + arrow.count <= line.endIndex else { return nil }
        let url = String(decoding: line[line.startIndex..<i], as: UTF8.self)
        let rest = line[(i + arrow.count)...]
        guard let colon = rest.firstIndex(of: UInt8(ascii: ":")), let micros = micros(rest[rest.startIndex..<colon]) else {
            return nil
        }
        var body = rest[(colon + 1)...]
        if body.first == UInt8(ascii: " ") { body = body.dropFirst() }
        return (url, micros, body)
    }

    /// "1633998512.0633569" -> 1633998512063356 (µs, truncated).
    static func micros(_ text: ArraySlice<UInt8>) -> Int64? {
        var whole: Int64 = 0
        var frac: Int64 = 0
        var fracDigits = 0
        var seenDot = false
        var any = false
        for c in text {
            if c == UInt8(ascii: ".") && !seenDot {
                seenDot = true
                continue
            }
            guard c >= 48 && c <= 57 else { return nil }
            any = true
            if seenDot {
                if fracDigits < 6 {
                    frac = frac * 10 + Int64(c - 48)
                    fracDigits += 1
                }
            } else {
                guard whole < 1_000_000_000_000 else { return nil }
                whole = whole * 10 + Int64(c - 48)
            }
        }
        guard any else { return nil }
        while fracDigits < 6 {
            frac *= 10
            fracDigits += 1
        }
        return whole * 1_000_000 + frac
    }

    /// The value of `key` in a URL's query string.
    static func query(_ url: String, _ key: String) -> String? {
        guard let q = url.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2 && kv[0] == key { return String(kv[1]) }
        }
        return nil
    }
}
