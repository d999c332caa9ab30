import Foundation
import RingFeed
import Testing

// What the book tests against the simulator share: waiting for a condition,
// a log of a book's events, and comparing a book with the exchange's.

/// Polls `condition` every 5 ms until it holds or `timeout` passes.
func waitUntil(_ timeout: Duration = .seconds(15), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return await condition()
}

/// Book events seen on the I/O thread, each with the book's state then.
final class BookEventLog: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private let lock = NSLock()
    private var items: [(BookEvent, BookState)] = []

    func watch(_ book: OrderBook) {
        book.onEvent { [weak book] e in
            let state = book?.state ?? .empty
            self.lock.withLock { self.items.append((e, state)) }
        }
    }
    var all: [(BookEvent, BookState)] { lock.withLock { items } }
    var events: [BookEvent] { all.map(\.0) }
    func count(_ match: (BookEvent) -> Bool) -> Int { events.filter(match).count }
    var verifications: [BookVerification] {
        events.compactMap { if case let .verified(v) = $0 { v } else { nil } }
    }
    /// The log, after `body` (to make and watch in one expression).
    func also(_ body: (BookEventLog) -> Void) -> BookEventLog {
        body(self)
        return self
    }
}

/// Whether `book` equals the exchange's book at the same update id: `fetch`
/// gives a fresh snapshot, the book is watched until it reaches that id, and
/// both are compared then. A book that moves past the id between two looks
/// is tried again with a new snapshot.
func bookEqualsExchange(_ book: OrderBook, tries: Int = 40,
                        fetch: () async throws -> DepthSnapshot) async throws -> Bool {
    for _ in 0..<tries {
        let exchange = try await fetch()
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            let id = book.lastUpdateId
            if id == exchange.lastUpdateId {
                let mine = book.snapshot()
                if mine.lastUpdateId == exchange.lastUpdateId {
                    #expect(mine.state == .live)
                    #expect(mine.bids == exchange.bids, "bids of \(book.symbol) at \(exchange.lastUpdateId)")
                    #expect(mine.asks == exchange.asks, "asks of \(book.symbol) at \(exchange.lastUpdateId)")
                    return mine.bids == exchange.bids && mine.asks == exchange.asks && mine.state == .live
                }
            }
            if id > exchange.lastUpdateId { break }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
    Issue.record("\(book.symbol): never at the id of an exchange snapshot")
    return false
}
