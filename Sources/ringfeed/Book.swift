import ArgumentParser
import RingFeed

#if canImport(Glibc)
import Glibc
#endif

/// `ringfeed book`: keeps synchronised order books (BookFeed) and shows them
/// live, or prints the final books as JSON lines.
struct Book: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "book",
        abstract: "Keep synchronised order books and show them live, or print them as JSON.",
        discussion: """
            Subscribes to <symbol>@depth@100ms of every symbol on one connection, syncs each
            book from a REST depth snapshot as Binance documents it, and keeps it live: a gap
            resyncs that book alone, a lost connection is replaced and every book resyncs.
            A connection with no message and no ping for --idle-timeout is treated as lost;
            one older than --rotate-after is replaced without a gap and without a resync.
            Connections lost and why are shown on the screen (on stderr otherwise) and in
            the summary; after --max-reconnects failed attempts in a row it gives up (exit 1).

            --format live (default) draws the first symbol's book like a trading screen:
            asks above, bids below, quantity bars, spread (ticks and bps; the tick is the
            finest price step among the shown levels), mid, imbalance over the shown levels,
            updates/s, resyncs and state, with a line per symbol below (as many as fit).
            Keys: n/p, arrows or Tab select the symbol, q quits. When stdout is not a
            terminal it prints a plain line per symbol every second instead.

            --format json runs until --count or --duration (or Ctrl-C) and prints one JSON
            object per symbol per line: {"symbol", "lastUpdateId", "bids": [[price, quantity],
            ...], "asks", "updates", "resyncs"}, --depth levels per side, bids best (highest)
            first, asks best (lowest) first, decimals as the exchange writes them. Counting
            does not wait for the books to sync: a book that is not live at the end (an
            unknown symbol never syncs) gets a "state" key ("syncing" or "stale"), keeps
            what it last had (nothing while syncing), and the exit status is 2.

            --count N stops after N depth messages applied to the books (all symbols
            together; messages dropped as older than a snapshot do not count); the JSON
            is the books at exactly that point. A summary goes to stderr at the end.

            REST snapshots: from --rest-url (default https://api.binance.com, with --futures
            https://fapi.binance.com, and http://HOST:PORT for a ws://HOST:PORT --url),
            1000 levels deep, or 500 or 100 for many symbols so that every first sync fits
            in half of the minute's request weight (at least --depth levels).

            Examples:
              ringfeed book BTCUSDT
              ringfeed book btcusdt ethusdt solusdt --depth 20
              ringfeed book --futures BTCUSDT ETHUSDT
              ringfeed book BTCUSDT --format json --count 500 --depth 5
              ringfeed simulate --port 9443 --symbols BTCUSDT,ETHUSDT &
              ringfeed book BTCUSDT ETHUSDT --url ws://127.0.0.1:9443 --format json --duration 3
            """)

    @Option(help: "Stream endpoint (default wss://stream.binance.com:9443, or wss://fstream.binance.com with --futures).")
    var url: String?

    @Option(name: .customLong("rest-url"), help: "REST endpoint for depth snapshots (default: derived from --url, see above).")
    var restURL: String?

    @Option(help: "Levels per side shown or printed (live: at most what fits the terminal).")
    var depth = 10

    @Option(help: "Stop after this many depth messages applied to the books (all symbols together).")
    var count: Int?

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Option(help: "live (a trading screen; plain lines when stdout is not a terminal) or json (the final books).")
    var format: BookFormat = .live

    @Flag(help: "USD-M futures: the /public route, /fapi/v1/depth snapshots and the futures sync rules.")
    var futures = false

    @Option(name: .customLong("ca-file"), help: "PEM CA bundle to trust for wss:// and https:// (default: the system store).")
    var caFile: String?

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    @Argument(help: "Symbols, e.g. BTCUSDT (any case).")
    var symbols: [String] = []

    /// Upper case, first occurrence kept.
    var symbolList: [String] {
        var seen = Set<String>()
        return symbols.map { $0.uppercased() }.filter { seen.insert($0).inserted }
    }

    func validate() throws {
        if symbols.isEmpty { throw ValidationError("name at least one symbol, e.g. BTCUSDT") }
        for s in symbols where s.isEmpty || s.utf8.count > 32
            || !s.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }) {
            throw ValidationError("'\(s)' is not a symbol (letters and digits, e.g. BTCUSDT)")
        }
        if !(1...5000).contains(depth) { throw ValidationError("--depth must be 1 to 5000") }
        if futures && depth > 1000 { throw ValidationError("--depth: futures snapshots have at most 1000 levels") }
        if let count, count <= 0 { throw ValidationError("--count must be positive") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        if let url, Endpoint(url) == nil || !["ws", "wss"].contains(Endpoint(url)!.scheme) {
            throw ValidationError("--url '\(url)' is not a ws:// or wss:// URL")
        }
        if let restURL, Endpoint(restURL) == nil || !["http", "https"].contains(Endpoint(restURL)!.scheme) {
            throw ValidationError("--rest-url '\(restURL)' is not an http:// or https:// URL")
        }
    }

    /// The stream URL, the REST depth endpoint (without query), and the venue.
    func endpoints() -> (feed: String, rest: String, futures: Bool) {
        let base = trimmed(url ?? (futures ? MarketFeed.binanceFuturesURL : MarketFeed.binanceSpotURL))
        let isFutures = futures || base.lowercased().contains("fstream")
        let path = isFutures ? "/fapi/v1/depth" : "/api/v3/depth"
        var feed = base
        if isFutures && !(base.hasSuffix("/public") || base.hasSuffix("/market")) { feed += "/public" }
        let rest: String
        if let restURL {
            let r = trimmed(restURL)
            rest = r.hasSuffix("/depth") ? r : r + path
        } else if let e = Endpoint(base) {
            let host = e.host.lowercased()
            if host.hasSuffix("binance.com") {
                rest = (isFutures || host.hasPrefix("fstream") ? "https://fapi.binance.com" : "https://api.binance.com") + path
            } else {
                rest = (e.scheme == "wss" ? "https://" : "http://") + e.authority + path
            }
        } else {
            rest = (isFutures ? "https://fapi.binance.com" : "https://api.binance.com") + path
        }
        return (feed, rest, isFutures)
    }

    /// Snapshot depth: 1000 levels, less when the first sync of every
    /// symbol would take more than half the venue's weight per minute, and
    /// never less than --depth.
    static func snapshotLimit(symbols n: Int, futures: Bool, depth: Int) -> Int {
        let budget = futures ? WeightBudget.futures.limit : WeightBudget.spot.limit
        var limit = 100
        for l in [1000, 500] where n * WeightBudget.depthWeight(limit: l, futures: futures) <= budget / 2 {
            limit = l
            break
        }
        if depth <= limit { return limit }
        return futures ? [5, 10, 20, 50, 100, 500, 1000].first { $0 >= depth } ?? 1000 : depth
    }

    func run() async throws {
        let names = symbolList
        let (feedURL, rest, isFutures) = endpoints()
        var options = BookFeed.Options()
        options.feed.url = feedURL
        options.idleTimeout = connection.idle
        options.rotateAfter = connection.rotation
        options.reconnect.maxAttempts = connection.maxAttempts
        options.book.venue = isFutures ? .usdmFutures : .spot
        options.book.snapshotURL = rest
        options.book.snapshotLimit = Self.snapshotLimit(symbols: names.count, futures: isFutures, depth: depth)
        if let caFile {
            do {
                let tls = try TLSContext.client(caFile: caFile)
                options.feed.tls = tls
                options.book.tls = tls
            } catch { throw fail("TLS: \(error)") }
        }
        let stops = StopSignal()
        let capture = FinalCapture(depth: depth, limit: count, stops: stops)
        if count != nil { options.book.onUpdate = { _ in capture.updated() } }

        let loop: EventLoop
        do { loop = try EventLoop() } catch { throw fail("cannot create an io_uring event loop: \(error)") }
        defer { loop.shutdown() }
        // A closed pipe ends the run with a clean close, not SIGPIPE.
        signal(SIGPIPE, SIG_IGN)

        let feed: BookFeed
        do {
            feed = try await BookFeed.start(symbols: names, options: options, on: loop)
        } catch {
            let streams = names.count == 1 ? "the depth stream" : "\(names.count) depth streams"
            throw fail("cannot connect to \(feedURL) (\(streams)): \(error)")
        }
        let books = names.compactMap { feed.orderBook(symbol: $0) }
        await onLoop(loop) { capture.attach(books) }
        let report = ConnectionReport()
        let onScreen = format == .live && isatty(STDOUT_FILENO) != 0
        report.follow(feed.lifecycle, echo: onScreen ? nil : "ringfeed book: ") { stops.send(.gaveUp($0)) }

        let start = ContinuousClock.now
        stops.onInterruptOrAfter(seconds: duration)
        var screen: BookScreen?
        var drawer: Task<Void, Never>?
        if format == .live {
            let s = BookScreen(books: books, depth: depth, source: feedURL, stops: stops, connection: report)
            screen = s
            drawer = Task { await s.run() }
        }
        let reason = await stops.first()
        drawer?.cancel()
        await drawer?.value
        screen?.restore()

        let records: [BookRecord]
        if let r = await onLoop(loop, { capture.captured }) {
            records = r
        } else {
            records = await onLoop(loop) { capture.take() }
        }
        let connections = feed.connections
        await feed.stop()
        let messages = feed.feed.stats.messages
        let elapsed = seconds(ContinuousClock.now - start)

        if format == .json {
            var out = ByteWriter(capacity: 1 << 16)
            for r in records { r.writeJSON(to: &out) }
            _ = out.flush(to: STDOUT_FILENO)
        }

        var updates = 0, resyncs = 0, gaps = 0
        for r in records {
            updates += r.updates
            resyncs += r.resyncs
            gaps += r.gaps
        }
        let notLive = records.filter { $0.state != .live }
        let ended: String
        switch reason {
        case .count: ended = "stopped after \(count ?? 0) messages applied"
        case .duration: ended = "stopped after \(fmt(duration ?? 0)) s"
        case .interrupted: ended = "interrupted"
        case .outputClosed: ended = "the output was closed"
        case let .gaveUp(why): ended = "gave up reconnecting: \(why)"
        case let .outputTooSlow(what): ended = "\(what) could not keep up"
        }
        var stderr = StandardError()
        print("ringfeed book: \(records.count) book\(records.count == 1 ? "" : "s"), \(updates) depth messages applied (\(messages) "
              + "received on \(connections) connection\(connections == 1 ? "" : "s")), \(fmt(elapsed)) s, "
              + "\(fmt(Double(updates) / max(elapsed, 1e-9))) msg/s, \(resyncs) resyncs, \(gaps) gaps, "
              + "\(records.count - notLive.count)/\(records.count) live; \(ConnectionReport.summary(report.snapshot)); \(ended)",
              to: &stderr)
        if case .gaveUp = reason { throw ExitCode.failure }
        if format == .json && !notLive.isEmpty {
            let list = notLive.prefix(10).map { "\($0.symbol) (\($0.state))" }.joined(separator: ", ")
            print("ringfeed book: not live at the end: \(list)\(notLive.count > 10 ? ", ..." : "")", to: &stderr)
            throw ExitCode(2)
        }
    }
}

/// `--format`.
enum BookFormat: String, CaseIterable, ExpressibleByArgument {
    case live, json
}

/// One book as printed at the end.
struct BookRecord: Sendable {
    var symbol: String
    var state: BookState
    var lastUpdateId: Int64
    var bids: [Level]
    var asks: [Level]
    var updates: Int
    var resyncs: Int
    var gaps: Int

    init(_ book: OrderBook, depth: Int) {
        let s = book.read { v in (v.state, v.lastUpdateId, v.levels(.bid, count: depth), v.levels(.ask, count: depth)) }
        let st = book.stats
        symbol = book.symbol
        state = s.0
        lastUpdateId = s.1
        // A book that never synced holds nothing that came from the exchange.
        bids = s.0 == .syncing ? [] : s.2
        asks = s.0 == .syncing ? [] : s.3
        updates = st.updatesApplied
        resyncs = st.resyncs
        gaps = st.gaps
    }

    /// One line: the issue's keys in order; "state" only when not live.
    func writeJSON(to out: inout ByteWriter) {
        out.ascii("{\"symbol\":\"")
        out.string(symbol)
        out.ascii("\",\"lastUpdateId\":")
        out.int(lastUpdateId)
        out.ascii(",\"bids\":")
        write(bids, to: &out)
        out.ascii(",\"asks\":")
        write(asks, to: &out)
        out.ascii(",\"updates\":")
        out.int(Int64(updates))
        out.ascii(",\"resyncs\":")
        out.int(Int64(resyncs))
        if state != .live {
            out.ascii(",\"state\":\"")
            out.string(state.description)
            out.byte(UInt8(ascii: "\""))
        }
        out.ascii("}\n")
    }

    private func write(_ levels: [Level], to out: inout ByteWriter) {
        out.byte(UInt8(ascii: "["))
        for (i, l) in levels.enumerated() {
            if i > 0 { out.byte(UInt8(ascii: ",")) }
            // At the book's scales: the texts the exchange wrote.
            out.ascii("[\"")
            out.string(l.price.description)
            out.ascii("\",\"")
            out.string(l.quantity.description)
            out.ascii("\"]")
        }
        out.byte(UInt8(ascii: "]"))
    }
}

/// Counts applied depth messages and takes the final books: at exactly
/// `limit` messages (from the books' update hook), or when asked at the end.
final class FinalCapture: @unchecked Sendable {
    // @unchecked: every field after init is touched on the loop thread only
    // (the update hook runs there; the rest is called through loop.execute).
    private let depth: Int
    private let limit: Int?
    private let stops: StopSignal
    private var books: [OrderBook]?
    private var seen = 0
    private(set) var captured: [BookRecord]?

    init(depth: Int, limit: Int?, stops: StopSignal) {
        self.depth = depth
        self.limit = limit
        self.stops = stops
    }

    func attach(_ books: [OrderBook]) {
        self.books = books
        if let limit, seen >= limit, captured == nil { finish() }
    }

    /// After each applied message (loop thread): no other book changes
    /// while the books are read here.
    func updated() {
        seen += 1
        if seen == limit, books != nil { finish() }
    }

    private func finish() {
        captured = take()
        stops.send(.count)
    }

    func take() -> [BookRecord] {
        (books ?? []).map { BookRecord($0, depth: depth) }
    }
}

/// "scheme://authority/path" split just enough to derive the REST URL.
struct Endpoint {
    var scheme: String
    var authority: String
    var host: String

    init?(_ s: String) {
        guard let r = s.range(of: "://") else { return nil }
        scheme = s[..<r.lowerBound].lowercased()
        let rest = s[r.upperBound...]
        authority = String(rest.prefix { $0 != "/" && $0 != "?" })
        guard !authority.isEmpty else { return nil }
        if authority.hasPrefix("[") {
            host = String(authority.prefix { $0 != "]" }.dropFirst())
        } else {
            host = String(authority.prefix { $0 != ":" })
        }
    }
}

private func trimmed(_ s: String) -> String {
    var s = s
    while s.hasSuffix("/") { s.removeLast() }
    return s
}

func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { c in loop.execute { c.resume(returning: body()) } }
}
