import CRingFeed
import Synchronization

/// Why a `ResilientFeed` replaced a connection that still worked.
public enum RotationReason: Sendable, Equatable, CustomStringConvertible {
    /// The connection reached `Options.rotateAfter` (Binance ends every
    /// connection at 24 hours).
    case age(Duration)
    /// The server announced a shutdown (Binance's serverShutdown event).
    case serverShutdown

    public var description: String {
        switch self {
        case let .age(d): "the connection reached its rotation age (\(d.readable))"
        case .serverShutdown: "the server announced a shutdown"
        }
    }
}

/// One replacement of a working connection: the new one was opened and
/// subscribed while the old one went on feeding consumers and books, its
/// events were held back until it delivered every trade stream and book it
/// took over (or `Options.switchTimeout` passed), then consumers continued
/// from it with events already delivered dropped by their ids.
public struct Rotation: Sendable, Equatable, CustomStringConvertible {
    public var reason: RotationReason
    /// From the replacement's first message to the switch.
    public var heldFor: Duration
    /// Messages of the replacement held back and replayed at the switch.
    public var heldMessages: Int
    /// True when the replacement had delivered every trade stream and book
    /// it took over, contiguous with what the old one delivered; false when
    /// the switch came from the deadline or from the old connection ending
    /// (a gap, if any, is reported as usual: `TradeGap`, a book resync).
    public var caughtUp: Bool
    /// From the switch to the end of the old connection's close handshake.
    public var closeTook: Duration

    public var description: String {
        "rotated (\(reason)): held \(heldMessages) messages for \(heldFor.readable), \(caughtUp ? "caught up" : "not caught up"), old closed in \(closeTook.readable)"
    }
}

/// What the feed knows of one connection on the loop thread: whether its
/// events go to consumers (live), are held back (pending replacement) or are
/// dropped (retired, between the switch and its close).
final class Leg: @unchecked Sendable {
    // @unchecked: every field but `noticed` and `opened` is touched on the
    // loop thread only; `noticed` is an atomic; `opened` and `nextTry` are
    // the supervisor task's alone (one task at a time).
    enum State { case pending, live, retired }

    var state: State
    let opened = ContinuousClock.now
    /// The server announced a shutdown on this connection.
    let noticed = Atomic<Bool>(false)
    /// When a failed rotation may be tried again (supervisor task).
    var nextTry: ContinuousClock.Instant?
    var failedTries = 0

    // Pending: the messages held back, raw, in arrival order.
    private(set) var held: [[UInt8]] = []
    private(set) var heldBytes = 0
    var firstMessage: ContinuousClock.Instant?
    /// Trade streams (keys, names) and books it must deliver before the switch.
    var wantTrades: [(key: TradeSequencer.Key, stream: String)] = []
    var wantBooks: [BookSync] = []
    var firstTrade: [TradeSequencer.Key: Int64] = [:]
    /// Per book symbol: U and pu of the first diff held.
    var firstDiff: [SymbolKey: (first: Int64, prev: Int64)] = [:]
    var switchScheduled = false
    var caughtUp = false
    var feed: MarketFeed?
    var predecessor: (feed: MarketFeed, leg: Leg)?
    var waiter: CheckedContinuation<Void, Never>?
    var switchedAt: ContinuousClock.Instant?
    var replayed = 0
    /// A rotation away from this connection is under way (supervisor).
    let rotating = Atomic<Bool>(false)

    /// On the old connection while a replacement is pending: the last id or
    /// time delivered per stream. On the new one after the switch, for a
    /// while: events at or below them are repeats.
    var recording: SwitchFilter?
    var filter: SwitchFilter?
    /// Event times per stream (`Options.staleStreamTimeout`; nil: not watched).
    var times: EventTimeWatch?

    /// More than this held back: switch at once rather than hold more.
    static let holdLimit = 64 << 20

    init(state: State) { self.state = state }

    /// The tap (loop thread, every message before it is scanned).
    @inline(__always)
    func tap(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard state == .pending else { return false }
        if firstMessage == nil { firstMessage = .now }
        held.append(Array(bytes))
        heldBytes += bytes.count
        return heldBytes > Self.holdLimit
    }

    func takeHeld() -> [[UInt8]] {
        defer {
            held = []
            heldBytes = 0
        }
        return held
    }
}

/// Events already delivered, by stream: the last update id (depth, book
/// ticker) or event time (the rest) per stream and symbol. Trades are not
/// here: the feed's `TradeSequencer` drops repeated trade ids.
final class SwitchFilter {
    struct Key: Hashable {
        var kind: Int32
        var symbol: SymbolKey?
        var stream: UInt64
    }

    private var last: [Key: Int64] = [:]
    var isEmpty: Bool { last.isEmpty }

    /// The event's key and order (nil: nothing to order it by, or a trade).
    @inline(__always)
    static func order(_ view: MarketEventView) -> (Key, Int64)? {
        let e = view.raw.pointee
        let kind = e.type
        let value: Int64
        switch rf_bn_type(rawValue: UInt32(kind)) {
        case RF_BN_TRADE, RF_BN_AGG_TRADE, RF_BN_SERVER_SHUTDOWN: return nil
        case RF_BN_DEPTH_UPDATE, RF_BN_PARTIAL_DEPTH: value = e.u.depth.final_update_id
        case RF_BN_BOOK_TICKER: value = e.u.book_ticker.update_id
        default: value = e.event_time
        }
        if value == Int64.min { return nil } // RF_BN_ABSENT
        return (key(view), value)
    }

    /// The event's stream and symbol, without a String: the FNV-1a hash of
    /// the stream name orders two streams of one kind and symbol
    /// (depth@100ms and depth) apart.
    @inline(__always)
    static func key(_ view: MarketEventView) -> Key {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in view.streamBytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return Key(kind: view.raw.pointee.type, symbol: SymbolKey(view.symbolBytes), stream: h)
    }

    /// The old connection delivered `view`.
    func note(_ view: MarketEventView) {
        guard let (k, v) = Self.order(view) else { return }
        if let p = last[k], p >= v { return }
        last[k] = v
    }

    /// Whether the new connection's `view` was delivered already. The first
    /// newer event of a stream ends its filtering.
    func isRepeat(_ view: MarketEventView) -> Bool {
        guard let (k, v) = Self.order(view), let p = last[k] else { return false }
        if v <= p { return true }
        last.removeValue(forKey: k)
        return false
    }
}
