import CRingFeed

/// The books one connection feeds: depth events go to their symbol's
/// `BookSync` on the loop thread, found by the event's "s" bytes packed into
/// a fixed key (no String is made per event).
final class BookRouter {
    // Loop thread only (MarketFeed's receive path and its loop.execute blocks).
    private var routes: [SymbolKey: BookSync] = [:]
    /// The same routes while there are few: compared in turn, four words a
    /// key, instead of hashing the key (SipHash, ~10% of the receive path
    /// with four books). Empty past `linearLimit`.
    private var few: [(key: SymbolKey, sync: BookSync)] = []
    private static let linearLimit = 8
    private(set) var isEmpty = true

    var id: ObjectIdentifier { ObjectIdentifier(self) }

    func sync(for symbol: String) -> BookSync? {
        SymbolKey(symbol).flatMap { routes[$0] }
    }

    func add(_ s: BookSync) {
        guard let key = SymbolKey(s.symbol) else { return }
        routes[key] = s
        isEmpty = false
        refreshFew()
        s.attach(id)
    }

    /// `add` for a book that moves here from another connection with the
    /// same stream: it keeps its state (`BookSync.handOver`).
    func adopt(_ s: BookSync) {
        guard let key = SymbolKey(s.symbol) else { return }
        routes[key] = s
        isEmpty = false
        refreshFew()
        s.handOver(to: id)
    }

    func remove(_ symbol: String) -> BookSync? {
        guard let key = SymbolKey(symbol), let s = routes.removeValue(forKey: key) else { return nil }
        isEmpty = routes.isEmpty
        refreshFew()
        return s
    }

    private func refreshFew() {
        few = routes.count <= Self.linearLimit ? routes.map { (key: $0.key, sync: $0.value) } : []
    }

    var all: [BookSync] { Array(routes.values) }

    /// Hands a depthUpdate to its book; false when no book wants it.
    @inline(__always)
    func route(_ ev: UnsafePointer<rf_bn_event>) -> Bool {
        guard let key = SymbolKey(ev.pointee.symbol.bytes) else { return false }
        let s: BookSync
        if !few.isEmpty {
            guard let i = few.firstIndex(where: { $0.key == key }) else { return false }
            s = few[i].sync
        } else {
            guard let found = routes[key] else { return false }
            s = found
        }
        withUnsafePointer(to: ev.pointee.u.depth) { s.receive($0) }
        return true
    }

    func connectionEnded() {
        for s in routes.values { s.connectionEnded(id) }
    }
}

/// Up to 32 bytes of a symbol, upper case as the exchange writes "s".
struct SymbolKey: Hashable {
    var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 && bytes.count <= 32 else { return nil }
        withUnsafeMutableBytes(of: &self) { dst in
            dst.copyMemory(from: bytes)
        }
    }

    init?(_ symbol: String) {
        var s = symbol.uppercased()
        guard let key = s.withUTF8({ SymbolKey(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = key
    }
}
