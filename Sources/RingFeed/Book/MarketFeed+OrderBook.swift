extension MarketFeed {
    /// A synchronised order book of `symbol`, kept on this connection: its
    /// diff stream ("<symbol>@depth@100ms" by default) is subscribed unless
    /// it already is, its events go to the book on the loop thread, and the
    /// book syncs itself from REST snapshots (see `BookSync`). Asking again
    /// for a symbol returns the same book.
    ///
    /// Depth events of a kept book are not copied into `events` (the
    /// synchronous handler still sees them). When the connection ends the
    /// book stays readable and becomes stale (`BookEvent.disconnected`); a
    /// `BookFeed` reconnects and resyncs instead.
    /// - Throws: `BookError` for a bad symbol or options, `ControlError`
    ///   when the subscription fails.
    public func orderBook(symbol: String, options: BookOptions = BookOptions()) async throws -> OrderBook {
        try await orderBooks(symbols: [symbol], options: options)[0]
    }

    /// Books of several symbols, subscribed in one request (Binance allows
    /// five control messages a second per connection).
    public func orderBooks(symbols: [String], options: BookOptions = BookOptions()) async throws -> [OrderBook] {
        let fresh = try Self.makeSyncs(symbols: symbols, options: options, feedURL: url, loop: loop)
        // Registered before subscribing: the first events after the answer are routed.
        let (books, newStreams, closed) = await onLoop { () -> ([OrderBook], [String], Bool) in
            var out: [OrderBook] = []
            var streams: [String] = []
            for s in fresh {
                if let existing = self.books.sync(for: s.symbol) {
                    out.append(existing.book)
                    continue
                }
                self.books.add(s)
                out.append(s.book)
                streams.append(s.streamName)
            }
            return (out, streams, self.ended)
        }
        if closed { throw ControlError.connectionClosed }
        let current = await streams
        let missing = newStreams.filter { !current.contains($0) }
        if !missing.isEmpty { try await subscribe(missing) }
        return books
    }

    /// Connects with books of `symbols` kept from the connection's first
    /// message: they are registered before the connection opens and their
    /// diff streams join `streams` in the URL (no SUBSCRIBE). For a server
    /// that starts sending as the connection opens; with `orderBooks(symbols:)`
    /// after `connect` the books see the stream from the first message routed
    /// after the call. Returns the feed and the books in `symbols`' order.
    public static func connect(
        streams: [String],
        orderBooks symbols: [String],
        bookOptions: BookOptions = BookOptions(),
        options: Options = Options(),
        on loop: EventLoop,
        handler: ((MarketEventView) -> Void)? = nil
    ) async throws -> (feed: MarketFeed, books: [OrderBook]) {
        let url = options.combined ? combinedURL(base: options.url, streams: streams) : rawURL(base: options.url, streams: streams)
        let syncs = try makeSyncs(symbols: symbols, options: bookOptions, feedURL: url, loop: loop)
        var all = streams
        for s in syncs where !all.contains(s.streamName) { all.append(s.streamName) }
        let feed = try await connect(streams: all, options: options, on: loop, handler: handler, tap: nil,
                                     beforeOpening: { feed in for s in syncs { feed.books.add(s) } })
        return (feed, syncs.map(\.book))
    }

    /// A `BookSync` per symbol (upper-cased), on the venue `feedURL` implies.
    private static func makeSyncs(symbols: [String], options: BookOptions, feedURL: String,
                                  loop: EventLoop) throws(BookError) -> [BookSync] {
        let venue = options.resolvedVenue(feedURL: feedURL)
        try options.validate(venue: venue)
        var made: [BookSync] = []
        for s in symbols {
            let u = s.uppercased()
            guard !u.isEmpty, u.utf8.count <= 32, u.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) })
            else { throw .invalidSymbol(s) }
            made.append(try BookSync(symbol: u, streamName: u.lowercased() + options.streamSuffix, loop: loop,
                                     options: options, futures: venue == .usdmFutures))
        }
        return made
    }

    /// Stops keeping `symbol`'s book: its stream is unsubscribed and the
    /// book stays readable, stale, with its `events` ended.
    public func removeOrderBook(symbol: String) async throws {
        let stream = await onLoop { () -> String? in
            guard let s = self.books.remove(symbol) else { return nil }
            s.stop()
            return s.streamName
        }
        if let stream { try await unsubscribe([stream]) }
    }

    /// The books this connection keeps.
    public var orderBooks: [OrderBook] {
        get async { await onLoop { self.books.all.map(\.book) } }
    }

    private func onLoop<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { cont in loop.execute { cont.resume(returning: body()) } }
    }
}
