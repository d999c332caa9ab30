import CRingFeed

/// Values an `OrderBook` hands out: owned, `Sendable`, exact where the book
/// is exact (prices and quantities on the book's grid).

/// A side of the book.
public enum BookSide: Sendable, Hashable {
    /// Buyers: the best is the highest price.
    case bid
    /// Sellers: the best is the lowest price.
    case ask

    var raw: Int32 { self == .bid ? Int32(RF_BOOK_BID.rawValue) : Int32(RF_BOOK_ASK.rawValue) }
}

/// The side a market order comes from: a buy takes the asks, a sell the bids.
public enum TakerSide: Sendable, Hashable {
    case buy
    case sell

    var sideTaken: BookSide { self == .buy ? .ask : .bid }
}

/// What a book's contents claim.
public enum BookState: Sendable, Hashable, CustomStringConvertible {
    /// Nothing loaded yet (a book no feed keeps).
    case empty
    /// Waiting for the stream and a snapshot that bridge; no data to show yet.
    case syncing
    /// In sync with the stream.
    case live
    /// Readable but not current: a gap, a crossed update, a lost connection.
    /// A kept book is resyncing and becomes live again by itself.
    case stale

    public var description: String {
        switch self {
        case .empty: "empty"
        case .syncing: "syncing"
        case .live: "live"
        case .stale: "stale"
        }
    }
}

/// Counters of one kept book, read together (`OrderBook.stats`).
public struct BookStats: Sendable, Equatable {
    /// The snapshot's lastUpdateId, then the `u` of the last applied event.
    public var lastUpdateId: Int64 = 0
    /// Diff events applied to the visible book.
    public var updatesApplied = 0
    /// Events older than the book, dropped by the rules (u <= lastUpdateId).
    public var updatesSkipped = 0
    /// Times the book went live from a snapshot (the first sync included).
    public var syncs = 0
    /// Syncs after the first: gaps, crossed books, reconnects, failed verifications.
    public var resyncs = 0
    /// Events that did not continue the chain.
    public var gaps = 0
    /// Updates that left the book crossed.
    public var crossed = 0
    /// REST snapshots received and loaded (or compared).
    public var snapshotsFetched = 0
    /// Snapshots fetched again because they were older than the first buffered event.
    public var snapshotsTooOld = 0
    /// Snapshot requests that failed (network, HTTP status, body), retried.
    public var fetchFailures = 0
    /// Diff events dropped from the full sync buffer (oldest first).
    public var bufferOverflows = 0
    /// Verifications compared / found different / could not compare.
    public var verifications = 0
    public var verificationsFailed = 0
    public var verificationsInconclusive = 0
}

/// Why a kept book is being synchronised again.
public enum ResyncReason: Sendable, Hashable, CustomStringConvertible {
    /// An event did not continue the update-id chain.
    case gap
    /// An update crossed the book (best bid >= best ask).
    case crossed
    /// An event the book refused (a level off the price grid, a bad id): the code.
    case invalidEvent(Int32)
    /// A verification found differences that matter.
    case verification
    /// The connection was replaced (a kept book on a `BookFeed`).
    case reconnected

    public var description: String {
        switch self {
        case .gap: "gap"
        case .crossed: "crossed book"
        case let .invalidEvent(code): "refused event (\(String(cString: rf_strerror(code))))"
        case .verification: "verification found differences"
        case .reconnected: "reconnected"
        }
    }
}

/// What happens to a kept book, in order, from the feed's I/O thread.
public enum BookEvent: Sendable, Hashable {
    /// The book went live from a snapshot with this lastUpdateId bridged by the stream.
    case synced(lastUpdateId: Int64)
    /// An event did not continue the chain. Spot: `expected` is the previous
    /// u + 1 and `got` the event's U; futures: `expected` is the previous u
    /// and `got` the event's pu. The book is stale from here.
    case gap(expected: Int64, got: Int64)
    /// A new snapshot is being fetched; the old book stays readable, stale.
    case resyncing(ResyncReason)
    /// A snapshot request failed (it is retried after a pause): why.
    case snapshotFailed(String)
    /// A snapshot was older than the first buffered event: fetching another.
    case snapshotTooOld(lastUpdateId: Int64, firstBufferedUpdateId: Int64)
    /// A periodic verification ran.
    case verified(BookVerification)
    /// The connection ended: the book is stale until a new one syncs it.
    case disconnected
}

/// One level where the local book and an exchange snapshot disagree; nil
/// where a side has no level at that price.
public struct BookDifference: Sendable, Hashable, CustomStringConvertible {
    public var side: BookSide
    public var price: Price
    public var local: Quantity?
    public var exchange: Quantity?

    public init(side: BookSide, price: Price, local: Quantity?, exchange: Quantity?) {
        self.side = side
        self.price = price
        self.local = local
        self.exchange = exchange
    }

    public var description: String {
        "\(side == .bid ? "bid" : "ask") \(price): local \(local.map { "\($0)" } ?? "-"), exchange \(exchange.map { "\($0)" } ?? "-")"
    }
}

/// The outcome of comparing the local book with a fresh snapshot at the
/// same update id.
public struct BookVerification: Sendable, Hashable {
    /// The snapshot's lastUpdateId (the update id both sides describe).
    public var updateId: Int64
    /// Levels compared and found equal or different (both sides).
    public var compared: Int
    /// The levels that differ, best first per side (bids, then asks); at
    /// most `BookVerification.listed` are listed, `differenceCount` counts all.
    public var differences: [BookDifference]
    public var differenceCount: Int
    /// Local levels beyond the snapshot's depth: the snapshot says nothing
    /// about them, so they are neither equal nor different.
    public var unknown: Int
    /// Levels left out because the event that carried the book past the
    /// snapshot's id changed them (their value at the snapshot's id is not known locally).
    public var excluded: Int
    /// False when no comparison was possible (the book had already moved
    /// past the snapshot, or was not live): the other fields are zero.
    public var conclusive: Bool

    public static let listed = 100

    public var matches: Bool { conclusive && differenceCount == 0 }
}

/// A market order walked through one side of the book (nothing is changed).
public struct MarketOrderFill: Sendable, Hashable {
    /// What was filled (the order's quantity unless the side ran out).
    public var filled: Quantity
    /// Sum of price × quantity (quote asset), as a Double.
    public var notional: Double
    /// notional / filled; 0 when nothing filled.
    public var averagePrice: Double
    /// The best level's price when the order arrived, and the last level it reached.
    public var bestPrice: Price
    public var worstPrice: Price
    /// The average price's distance from the best price, against the taker, in ticks and basis points.
    public var slippageTicks: Double
    public var slippageBps: Double
    /// Levels reached, the last one possibly in part.
    public var levels: Int
    /// The side ran out before the order was filled.
    public var exhausted: Bool
}

/// A consistent copy of (the top of) a book.
public struct BookSnapshot: Sendable, Hashable {
    public var state: BookState
    public var lastUpdateId: Int64
    /// Best first.
    public var bids: [Level]
    public var asks: [Level]
}
