import Glibc

/// The stream names one connection has seen, each kept as one `String`:
/// an owned event names its stream with the interned string (a retain)
/// instead of a new one per event (names past 15 bytes, such as
/// "btcusdt@aggTrade", do not fit in a String's inline storage and were
/// allocated for every event). Each name also gets a small number, the
/// stream part of a `.keepLatest` key. Used on the loop thread only.
struct StreamNames {
    struct Name {
        /// Dense from 0; -1 for a name past `limit` (not kept).
        var id: Int
        var string: String
    }

    /// Names kept at most: a server sending ever new names cannot grow the
    /// table without bound; later names are made per event.
    static let limit = 4096

    private var names: [String] = []
    private var bytes: [[UInt8]] = []
    /// Open addressing, a power of two, -1 empty; entries index `names`.
    private var buckets = [Int32](repeating: -1, count: 64)

    /// The name for `b`, interned on first sight.
    @inline(__always)
    mutating func intern(_ b: UnsafeRawBufferPointer) -> Name {
        let mask = buckets.count - 1
        var i = Self.hash(b) & mask
        while true {
            let e = Int(buckets[i])
            if e < 0 { return add(b, at: i) }
            if Self.equal(bytes[e], b) { return Name(id: e, string: names[e]) }
            i = (i + 1) & mask
        }
    }

    @inline(never)
    private mutating func add(_ b: UnsafeRawBufferPointer, at bucket: Int) -> Name {
        let s = String(decoding: b, as: UTF8.self)
        guard names.count < Self.limit else { return Name(id: -1, string: s) }
        let id = names.count
        names.append(s)
        bytes.append(Array(b))
        buckets[bucket] = Int32(id)
        if names.count * 2 > buckets.count { rehash() }
        return Name(id: id, string: s)
    }

    private mutating func rehash() {
        buckets = [Int32](repeating: -1, count: buckets.count * 2)
        let mask = buckets.count - 1
        for (id, b) in bytes.enumerated() {
            var i = b.withUnsafeBytes { Self.hash($0) } & mask
            while buckets[i] >= 0 { i = (i + 1) & mask }
            buckets[i] = Int32(id)
        }
    }

    /// The first and last eight bytes and the length: stream names differ
    /// in their symbol (the front) or their kind (the back).
    @inline(__always)
    private static func hash(_ b: UnsafeRawBufferPointer) -> Int {
        var h = UInt64(truncatingIfNeeded: b.count)
        if b.count >= 8 {
            h ^= b.loadUnaligned(as: UInt64.self) &* 0x9E37_79B9_7F4A_7C15
            h ^= (b.loadUnaligned(fromByteOffset: b.count - 8, as: UInt64.self) &* 0xC2B2_AE3D_27D4_EB4F)
        } else {
            for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01B3 }
        }
        h ^= h >> 29
        return Int(truncatingIfNeeded: (h &* 0x94D0_49BB_1331_11EB) >> 16)
    }

    @inline(__always)
    private static func equal(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if b.isEmpty { return true }
        return a.withUnsafeBytes { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }
    }
}
