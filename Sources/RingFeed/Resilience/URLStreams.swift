/// Which of a connection's streams go in its URL and which are subscribed
/// once it is open. This library's URL parser takes a path of up to 4 KiB
/// (and exchanges cap URLs too): a connection of a few hundred streams
/// cannot name them all in its URL, so the first ones go there and the rest
/// follow as SUBSCRIBE requests of at most `pacing.maxStreamsPerRequest`
/// names, which the connection's pacer sends as its window allows.
enum URLStreams {
    /// Most streams in a URL.
    static let maxStreams = 200
    /// Most bytes of stream names, with their separators, in a URL: 200 long
    /// names ("1000shibusdt@depth@100ms") would pass the 4 KiB path.
    static let maxBytes = 3000

    /// `streams` split in order: a prefix that fits a URL, and the rest.
    static func split(_ streams: [String], maxStreams: Int = maxStreams, maxBytes: Int = maxBytes)
        -> (url: [String], later: [String]) {
        var bytes = 0
        var n = 0
        for s in streams.prefix(maxStreams) {
            bytes += s.utf8.count + 1
            if bytes > maxBytes { break }
            n += 1
        }
        return (Array(streams.prefix(n)), Array(streams.dropFirst(n)))
    }

    /// `names` in runs of at most `size`: one request each.
    static func requests(_ names: [String], size: Int) -> [[String]] {
        let size = max(1, size)
        return stride(from: 0, to: names.count, by: size).map { Array(names[$0..<min($0 + size, names.count)]) }
    }
}
