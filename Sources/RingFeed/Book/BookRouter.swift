import CRingFeed

/// The books one connection feeds: depth events go to their symbol's
/// `BookSync` on the loop thread, found by the event's "s" bytes packed into
/// a fixed key (no String is made per event).
final class BookRouter {
    // Loop thread only (MarketFeed's receive path and its loop.execute blocks).
    private var routes: [SymbolKey: BookSync] = [:]
    private(set) var isEmpty = true

    var id: ObjectIdentifier { ObjectIdentifier(self) }

    func sync(for symbol: String) -> BookSync? {
        SymbolKey(symbol).flatMap { routes[$0] }
    }

    func add(_ s: BookSync) {
        guard let key = SymbolKey(s.symbol) else { return }
        routes[key] = s
        isEmpty = false
        s.attach(id)
    }

    func remove(_ symbol: String) -> BookSync? {
        guard let key = SymbolKey(symbol), let s = routes.removeValue(forKey: key) else { return nil }
        isEmpty = routes.isEmpty
        return s
    }

    var all: [BookSync] { Array(routes.values) }

    /// Hands a depthUpdate to its book; false when no book wants it.
    @inline(__always)
    func route(_ ev: UnsafePointer<rf_bn_event>) -> Bool {
        guard let key = SymbolKey(ev.pointee.symbol.bytes), let s = routes[key] else { return false }
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
