import CRingFeed

/// How a feed keeps an order book.
public struct BookOptions: Sendable {
    public enum Venue: Sendable, Hashable {
        /// Spot rules: bridge with U <= lastUpdateId + 1 <= u, then U == previous u + 1.
        case spot
        /// USD-M futures rules: bridge with U <= lastUpdateId <= u, then pu == previous u.
        case usdmFutures
    }

    /// nil: futures when the feed's URL is Binance's futures host
    /// ("fstream") or a futures route ("/public", "/market"), else spot.
    public var venue: Venue?
    /// The REST depth endpoint without query (nil: Binance's for the venue,
    /// `https://api.binance.com/api/v3/depth` or
    /// `https://fapi.binance.com/fapi/v1/depth`); "?symbol=...&limit=..." is appended.
    public var snapshotURL: String?
    /// Levels per side asked of the snapshot: spot 1...5000, futures one of
    /// 5, 10, 20, 50, 100, 500, 1000. Its request weight is taken from `budget`.
    public var snapshotLimit = 1000
    /// The diff stream: "<symbol>" + this ("@depth@100ms", or "@depth" for 1000 ms spot).
    public var streamSuffix = "@depth@100ms"
    /// Levels one side keeps (nil: twice the snapshot limit, at least 1000).
    /// A side at the bound keeps its best levels.
    public var maxLevels: Int?
    /// Decimals of the book's prices and quantities (nil: the most any text
    /// of the first snapshot has). A level off this grid makes the book resync
    /// with a grid that fits.
    public var priceScale: UInt8?
    public var quantityScale: UInt8?
    /// Diff events held while a snapshot is fetched; past it the oldest are
    /// dropped (a snapshot older than the first kept event is fetched again).
    public var bufferLimit = 10_000
    /// nil: `WeightBudget.spot` or `WeightBudget.futures`, shared by the process.
    public var budget: WeightBudget?
    /// TLS for an https snapshot URL (nil: the system trust store).
    public var tls: TLSContext?
    /// Deadline of one snapshot request.
    public var snapshotTimeout: Duration = .seconds(10)
    /// Pause before fetching again after a failed request or a snapshot older
    /// than the stream; doubles on each failure in a row up to `maxRetryDelay`.
    public var retryDelay: Duration = .milliseconds(200)
    public var maxRetryDelay: Duration = .seconds(10)
    /// Periodic verification against a fresh snapshot (nil: none).
    public var verification: Verification?
    /// Called on the feed's I/O thread after each diff event applied to a
    /// visible book (each one `BookStats.updatesApplied` counts), the book's
    /// lock released: reading books inside sees them between events. Keep it
    /// short; it runs on the hot path.
    public var onUpdate: (@Sendable (OrderBook) -> Void)?

    public init() {}

    /// Fetch a fresh snapshot every `interval` and compare it with the local
    /// book at the same update id (`BookEvent.verified`).
    ///
    /// How the ids are matched: the snapshot has lastUpdateId S. If the live
    /// book is at S, they are compared at once. If it is behind, the snapshot
    /// waits for the stream: when an applied event ends at S the books are
    /// compared whole; when it ends past S, every level but that event's is
    /// compared (those did not change between the book's previous id and S
    /// or after; the event's own levels may have changed after S and are
    /// counted as excluded). If the book is already past S, nothing can be
    /// compared: the verification is inconclusive and the next one is tried
    /// after another interval.
    public struct Verification: Sendable {
        public var interval: Duration
        /// Levels per side of the verification snapshot (nil: `snapshotLimit`).
        public var limit: Int?
        /// Whether a verification's differences call for a resync (default:
        /// any difference at all).
        public var resyncWhen: @Sendable (BookVerification) -> Bool

        public init(interval: Duration, limit: Int? = nil,
                    resyncWhen: @escaping @Sendable (BookVerification) -> Bool = { $0.differenceCount > 0 }) {
            self.interval = interval
            self.limit = limit
            self.resyncWhen = resyncWhen
        }
    }

    static let spotSnapshotURL = "https://api.binance.com/api/v3/depth"
    static let futuresSnapshotURL = "https://fapi.binance.com/fapi/v1/depth"

    /// The venue for a feed connected to `url`.
    func resolvedVenue(feedURL url: String) -> Venue {
        if let venue { return venue }
        let u = url.lowercased()
        if u.contains("fstream") || u.contains("/public/") || u.contains("/market/")
            || u.hasSuffix("/public") || u.hasSuffix("/market") {
            return .usdmFutures
        }
        return .spot
    }

    /// Checks the limits against the venue's.
    func validate(venue: Venue) throws(BookError) {
        func check(_ limit: Int) throws(BookError) {
            switch venue {
            case .spot:
                guard (1...5000).contains(limit) else { throw .invalidLimit(limit) }
            case .usdmFutures:
                guard [5, 10, 20, 50, 100, 500, 1000].contains(limit) else { throw .invalidLimit(limit) }
            }
        }
        try check(snapshotLimit)
        if let l = verification?.limit { try check(l) }
        if let m = maxLevels, m < 1 || m > Int(RF_BOOK_MAX_MAX_LEVELS) { throw .invalidMaxLevels(m) }
        guard bufferLimit > 0 else { throw .invalidBufferLimit(bufferLimit) }
    }
}

/// Errors of order-book calls.
public enum BookError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidLimit(Int)
    case invalidMaxLevels(Int)
    case invalidBufferLimit(Int)
    case invalidSymbol(String)
    /// A feed keeps this book: it cannot be edited by hand.
    case keptByFeed
    /// A price or quantity that does not fit the book's grid, or a C error.
    case rejected(RingFeedError)

    public var description: String {
        switch self {
        case let .invalidLimit(l): "snapshot limit \(l) is not one the venue serves (spot 1-5000; futures 5, 10, 20, 50, 100, 500, 1000)"
        case let .invalidMaxLevels(m): "maxLevels \(m) is out of range (1 to \(RF_BOOK_MAX_MAX_LEVELS))"
        case let .invalidBufferLimit(b): "bufferLimit \(b) must be positive"
        case let .invalidSymbol(s): "'\(s)' is not a symbol (letters and digits, e.g. BTCUSDT)"
        case .keptByFeed: "this book is kept by a feed and cannot be edited"
        case let .rejected(e): "the book refused the change: \(e)"
        }
    }
}
