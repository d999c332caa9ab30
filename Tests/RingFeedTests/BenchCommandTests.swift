import Foundation
import RingFeed
@testable import RingFeedSimulator
import Synchronization
import Testing

/// `ringfeed bench` (issue 5 through the Swift shell): the books a feed keeps
/// from the simulator's tape end exactly as the generator's own, the
/// exactness check catches a book that is off, and the command itself
/// passes on a small tape and fails (status 1) when its expectation is wrong.
/// Every wait is bounded.
@Suite(.serialized) struct BenchCommandTests {
    static let messages = 20000
    static let symbols = BlastTapeGenerator.symbols.map(\.name)
    static let streams = symbols.flatMap { s in ["@depth@100ms", "@aggTrade", "@bookTicker"].map { s.lowercased() + $0 } }

    /// The tape into a feed with the four books registered before the
    /// connection opens (the tape starts at once), then compared.
    @Test func keptBooksEndExactlyAsTheTape() async throws {
        let seed: UInt64 = 3
        let expected = BlastTapeExpectation(messages: Self.messages, seed: seed)
        #expect(expected.diffs + expected.trades + expected.tickers == Self.messages)
        let sim = try await ExchangeSimulator.start(source: TapeMarket(tape: BlastTape(messages: Self.messages, seed: seed)))
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var feedOptions = MarketFeed.Options()
        feedOptions.url = sim.webSocketURL
        var bookOptions = BookOptions()
        bookOptions.snapshotURL = sim.httpURL + "/api/v3/depth"
        bookOptions.snapshotLimit = 1000
        bookOptions.bufferLimit = Self.messages
        bookOptions.budget = WeightBudget(limit: 6000, window: .seconds(60))
        let seen = Atomic<Int>(0)
        let (feed, books) = try await MarketFeed.connect(
            streams: Self.streams, orderBooks: Self.symbols, bookOptions: bookOptions, options: feedOptions, on: loop,
            handler: { _ in seen.add(1, ordering: .relaxed) })
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline
            && (feed.stats.messages < Self.messages
                || zip(books, expected.books).contains { $0.lastUpdateId != $1.lastUpdateId }) {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(feed.stats.messages == Self.messages)
        #expect(seen.load(ordering: .relaxed) == Self.messages)
        #expect(feed.stats.errors == 0)
        for (i, book) in books.enumerated() {
            #expect(book.symbol == Self.symbols[i])
            let s = book.stats
            #expect(s.syncs == 1 && s.resyncs == 0 && s.gaps == 0 && s.snapshotsTooOld == 0)
            #expect(s.updatesApplied == expected.books[i].diffs)
            #expect(book.read { expected.difference(symbol: i, in: $0) } == nil)
        }

        // The same books against expectations that are off in one place each.
        let btc = expected.books[0]
        func altered(_ change: (inout [BlastTapeExpectation.Level], inout Int64) -> Void) -> BlastTapeExpectation {
            var bids = btc.bids
            var id = btc.lastUpdateId
            change(&bids, &id)
            let b = BlastTapeExpectation.Book(symbol: btc.symbol, lastUpdateId: id, bids: bids, asks: btc.asks,
                                              diffs: btc.diffs, trades: btc.trades, tickers: btc.tickers)
            return BlastTapeExpectation(messages: expected.messages, seed: seed, books: [b] + expected.books.dropFirst())
        }
        let quantity = altered { levels, _ in levels[5].quantity += 1 }
        let d1 = books[0].read { quantity.difference(symbol: 0, in: $0) }
        #expect(d1?.contains("bids level 5") == true)
        let price = altered { levels, _ in levels[levels.count - 1].price -= 1_000_000 }
        #expect(books[0].read { price.difference(symbol: 0, in: $0) } != nil)
        let missing = altered { levels, _ in levels.removeLast() }
        #expect(books[0].read { missing.difference(symbol: 0, in: $0) }?.contains("bids") == true)
        let id = altered { _, id in id -= 1 }
        #expect(books[0].read { id.difference(symbol: 0, in: $0) }?.contains("last update id") == true)
        // The other symbols were left alone.
        #expect(books[1].read { quantity.difference(symbol: 1, in: $0) } == nil)

        _ = await feed.close()
        // A closed connection leaves its books stale: not exact any more.
        #expect(books[0].read { expected.difference(symbol: 0, in: $0) }?.contains("stale") == true)
        await sim.stop()
    }

    /// A feed (and the books it kept) is freed once its connection ended and
    /// nobody holds it: runs of the benchmark do not pile up.
    @Test func closedFeedIsFreed() async throws {
        let sim = try await ExchangeSimulator.start(source: TapeMarket(tape: BlastTape(messages: 2000, seed: 6)))
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var options = MarketFeed.Options()
        options.url = sim.webSocketURL
        var bookOptions = BookOptions()
        bookOptions.snapshotURL = sim.httpURL + "/api/v3/depth"
        bookOptions.budget = WeightBudget(limit: 6000, window: .seconds(60))
        weak var gone: MarketFeed?
        weak var goneBook: OrderBook?
        do {
            let (feed, books) = try await MarketFeed.connect(streams: Self.streams, orderBooks: Self.symbols,
                                                             bookOptions: bookOptions, options: options, on: loop)
            gone = feed
            goneBook = books[0]
            let deadline = ContinuousClock.now + .seconds(10)
            while feed.stats.messages < 2000 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(feed.stats.messages == 2000)
            _ = await feed.close()
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while (gone != nil || goneBook != nil) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(gone == nil)
        #expect(goneBook == nil)
        await sim.stop()
    }

    /// The built `ringfeed` next to this test bundle (swift test builds it).
    static var ringfeed: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("ringfeed")
    }

    /// Runs the command (bounded) and returns its status, stdout and stderr.
    static func bench(_ arguments: [String], timeout: Double = 30) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = ringfeed
        p.arguments = ["bench"] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test func commandReportsExactBooksAndTheCount() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.ringfeed.path),
                     "ringfeed not built at \(Self.ringfeed.path)")
        let (status, out, err) = try Self.bench(["--messages", String(Self.messages), "--runs", "1", "--seed", "2",
                                                 "--format", "json"])
        #expect(status == 0, "stderr: \(err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(json["messages"] as? Int == Self.messages)
        #expect(json["booksExact"] as? Bool == true)
        let runs = try #require(json["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        #expect(runs.first?["messages"] as? Int == Self.messages)
        #expect(runs.first?["booksExact"] as? Bool == true)
        #expect((runs.first?["messagesPerSecond"] as? Double ?? 0) > 0)
        #expect((runs.first?["cpuNsPerMessage"] as? Double ?? 0) > 0)
        #expect((json["peakRSSKiB"] as? Int ?? 0) > 0)
    }

    /// Against a simulator serving another seed's tape, the books and counts
    /// the client ends with are not the expected ones: status 1, one line.
    @Test func commandFailsWhenTheTapeIsNotTheExpectedOne() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.ringfeed.path))
        let sim = try await ExchangeSimulator.start(source: TapeMarket(tape: BlastTape(messages: Self.messages, seed: 4)))
        let (status, out, err) = try Self.bench(["--messages", String(Self.messages), "--runs", "1", "--seed", "5",
                                                 "--url", sim.webSocketURL, "--timeout", "10"])
        await sim.stop()
        #expect(status == 1)
        #expect(!out.contains("median"))
        let lines = err.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("ringfeed: run 1: ") == true, "stderr: \(err)")
    }
}
