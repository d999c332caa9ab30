import CRingFeed

/// Trade ids a reconnecting feed could not deliver: `stream` skipped from
/// `firstMissing` to `lastMissing` (inclusive), typically the trades made
/// while the connection was down. Delivered just before the first trade
/// after the hole, so a consumer's trade ids plus its gaps cover every id.
public struct TradeGap: Sendable, Hashable, CustomStringConvertible {
    /// "btcusdt@trade" or "btcusdt@aggTrade".
    public var stream: String
    public var firstMissing: Int64
    public var lastMissing: Int64
    /// How many ids are missing.
    public var count: Int64 { lastMissing - firstMissing + 1 }

    public init(stream: String, firstMissing: Int64, lastMissing: Int64) {
        self.stream = stream
        self.firstMissing = firstMissing
        self.lastMissing = lastMissing
    }

    public var description: String { "\(stream): trades \(firstMissing)...\(lastMissing) missed (\(count))" }
}

/// Exactly-once delivery of trade and aggTrade ids across connections: the
/// last id per stream is remembered; an id at or below it is a duplicate
/// (an overlap after a reconnect) and is dropped, an id past it + 1 is
/// reported as a gap first. Binance numbers trades and aggTrades
/// consecutively per symbol, so any other jump is a real loss.
///
/// Loop thread only. Streams are keyed by kind and symbol, compared in turn
/// while there are few (no hashing per trade), in a dictionary past that.
final class TradeSequencer {
    struct Key: Hashable {
        var kind: Int32
        var symbol: SymbolKey
    }

    enum Verdict: Equatable {
        case next
        case duplicate
        /// Ids first...last were skipped.
        case gap(Int64, Int64)
    }

    private var keys: [Key] = []
    private var last: [Int64] = []
    private var index: [Key: Int] = [:]
    private static let linearLimit = 8

    /// The verdict on `id` of `kind` (RF_BN_TRADE or RF_BN_AGG_TRADE) for
    /// `symbol` (the event's "s" bytes), remembering it when it is new.
    @inline(__always)
    func check(kind: Int32, symbol: UnsafeRawBufferPointer, id: Int64) -> Verdict {
        guard let s = SymbolKey(symbol) else { return .next }
        let key = Key(kind: kind, symbol: s)
        guard let i = find(key) else {
            index[key] = keys.count
            keys.append(key)
            last.append(id)
            return .next
        }
        let previous = last[i]
        if id <= previous { return .duplicate }
        last[i] = id
        return id == previous &+ 1 ? .next : .gap(previous &+ 1, id &- 1)
    }

    /// Forgets `stream` (unsubscribed: a later subscription starts afresh
    /// instead of reporting everything in between as missed).
    func forget(stream: String) {
        guard let key = Self.key(stream: stream), let i = find(key) else { return }
        keys.remove(at: i)
        last.remove(at: i)
        index = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
    }

    /// The last id seen on `stream`.
    func lastId(stream: String) -> Int64? {
        Self.key(stream: stream).flatMap(find).map { last[$0] }
    }

    @inline(__always)
    private func find(_ key: Key) -> Int? {
        if keys.count <= Self.linearLimit { return keys.firstIndex(of: key) }
        return index[key]
    }

    /// "btcusdt@trade" -> (RF_BN_TRADE, "BTCUSDT"); nil for other streams.
    static func key(stream: String) -> Key? {
        var name = stream
        let kind = name.withUTF8 { p in
            p.withMemoryRebound(to: CChar.self) { rf_bn_stream_kind($0.baseAddress, $0.count) }
        }
        guard kind == Int32(RF_BN_TRADE.rawValue) || kind == Int32(RF_BN_AGG_TRADE.rawValue),
              let at = stream.firstIndex(of: "@"), let symbol = SymbolKey(String(stream[..<at]))
        else { return nil }
        return Key(kind: kind, symbol: symbol)
    }
}
