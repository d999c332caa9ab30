/// Where a `FeedPool` puts new streams: on the connections it has, in
/// order, as long as they have room, and only then on new connections, so a
/// pool never holds more connections than its streams need at the moment
/// they are added. A book's depth stream counts against its connection like
/// any other; a stream equal to a book's depth stream goes where the book is
/// (it is already there and costs nothing more). Pure, so it is tested
/// without a network.
struct PoolPlacement: Equatable {
    /// A connection the pool has: its id, streams carried now (books'
    /// included), and the books' depth streams.
    struct Connection {
        var id: Int
        var load: Int
        var bookStreams: Set<String>
    }

    /// A connection to open: its books (upper-case symbols) with their depth
    /// streams, and the other streams it carries.
    struct Group: Equatable {
        var books: [String] = []
        var bookStreams: [String] = []
        var streams: [String] = []
        /// Streams the connection carries: the books' and the others, once each.
        var load: Int { bookStreams.count + streams.count { !bookStreams.contains($0) } }
    }

    /// Connection id -> streams added to it, in the order given.
    var onExisting: [Int: [String]] = [:]
    /// Connections to open, in order.
    var fresh: [Group] = []

    /// - Parameters:
    ///   - streams: names not on any connection yet, each once.
    ///   - books: (symbol, depth stream) of books to add; they go on new
    ///     connections (a connection's books are fixed when it opens).
    ///   - existing: the pool's connections, in id order.
    ///   - limit: streams one connection may carry (>= 1).
    static func plan(streams: [String], books: [(symbol: String, stream: String)] = [],
                     existing: [Connection], limit: Int) -> PoolPlacement {
        precondition(limit >= 1)
        var p = PoolPlacement()
        var loads = existing.map(\.load)
        func room(_ g: Group) -> Bool { g.load < limit }
        for b in books {
            if p.fresh.last.map(room) != true { p.fresh.append(Group()) }
            p.fresh[p.fresh.count - 1].books.append(b.symbol)
            p.fresh[p.fresh.count - 1].bookStreams.append(b.stream)
        }
        placing: for s in streams {
            if let c = existing.first(where: { $0.bookStreams.contains(s) }) {
                p.onExisting[c.id, default: []].append(s)
                continue
            }
            if let g = p.fresh.firstIndex(where: { $0.bookStreams.contains(s) }) {
                p.fresh[g].streams.append(s)
                continue
            }
            for i in existing.indices where loads[i] < limit {
                loads[i] += 1
                p.onExisting[existing[i].id, default: []].append(s)
                continue placing
            }
            if let g = p.fresh.firstIndex(where: room) {
                p.fresh[g].streams.append(s)
            } else {
                p.fresh.append(Group(streams: [s]))
            }
        }
        return p
    }
}
