/// A byte buffer that market messages are rendered into: JSON punctuation,
/// integers and fixed-point decimals are written as bytes directly, without
/// Foundation or per-field string interpolation, because rendering sits on
/// the simulator's send path (hundreds of thousands of messages a second).
struct MarketJSON {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    /// Widest text of an integer field (sign and 19 digits) and of a quoted
    /// decimal (quotes, sign, 20 integer digits, point, 19 fractional
    /// digits): capacities are sums of these, so a message never outgrows
    /// its buffer.
    static let maxInt = 21
    static let maxDecimal = 43

    /// Renders into one array allocated once at `capacity` bytes (an upper
    /// bound of the message) and written through a pointer: no growth, no
    /// per-byte bounds or uniqueness checks. Overrunning the bound traps.
    @inline(__always)
    static func render(capacity: Int, _ body: (inout MarketJSON) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: capacity) { buf, initialized in
            var j = MarketJSON(base: buf.baseAddress!, capacity: capacity)
            body(&j)
            initialized = j.count
        }
    }

    private init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always)
    private func reserve(_ n: Int) {
        precondition(count + n <= capacity, "MarketJSON: message larger than its capacity")
    }

    /// ASCII text known at compile time: keys and punctuation.
    @inline(__always)
    mutating func raw(_ text: StaticString) {
        let n = text.utf8CodeUnitCount
        reserve(n)
        (base + count).update(from: text.utf8Start, count: n)
        count += n
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    mutating func append(_ other: [UInt8]) {
        reserve(other.count)
        other.withUnsafeBufferPointer { (base + count).update(from: $0.baseAddress!, count: $0.count) }
        count += other.count
    }

    /// A JSON string whose bytes need no escaping (symbols, intervals).
    mutating func string(_ text: [UInt8]) {
        byte(UInt8(ascii: "\""))
        append(text)
        byte(UInt8(ascii: "\""))
    }

    mutating func bool(_ v: Bool) {
        if v { raw("true") } else { raw("false") }
    }

    /// Decimal digits of an integer.
    mutating func int(_ v: Int64) {
        if v < 0 {
            byte(UInt8(ascii: "-"))
            uint(v.magnitude)
        } else {
            uint(UInt64(v))
        }
    }

    mutating func uint(_ v: UInt64) {
        let n = MarketJSON.digitCount(v)
        padded(v, width: n)
    }

    /// A time in ms or µs; `micros` is µs since the epoch.
    @inline(__always)
    mutating func time(_ micros: Int64, _ unit: TimeUnit) {
        int(unit == .microsecond ? micros : MarketJSON.floorDiv(micros, 1000))
    }

    /// The decimal `mantissa`·10^-`scale` written with exactly `digits`
    /// fractional digits (as a JSON string when `quoted`). Extra fractional
    /// digits of the mantissa are truncated toward zero; callers round first
    /// where rounding matters.
    mutating func decimal(_ mantissa: Int64, scale: Int, digits: Int, quoted: Bool = true) {
        if quoted { byte(UInt8(ascii: "\"")) }
        if mantissa < 0 { byte(UInt8(ascii: "-")) }
        let m = mantissa.magnitude
        let p = MarketJSON.pow10[scale]
        uint(m / p)
        if digits > 0 {
            byte(UInt8(ascii: "."))
            var frac = m % p
            if digits >= scale {
                padded(frac, width: scale)
                for _ in scale..<digits { byte(UInt8(ascii: "0")) }
            } else {
                frac /= MarketJSON.pow10[scale - digits]
                padded(frac, width: digits)
            }
        }
        if quoted { byte(UInt8(ascii: "\"")) }
    }

    /// `v` as exactly `width` digits, zero-padded on the left.
    @inline(__always)
    private mutating func padded(_ v: UInt64, width: Int) {
        guard width > 0 else { return }
        reserve(width)
        var x = v
        var p = base + count + width
        for _ in 0..<width {
            p -= 1
            p.pointee = UInt8(truncatingIfNeeded: x % 10) &+ 48
            x /= 10
        }
        count += width
    }

    static let pow10: [UInt64] = (0...19).map { n in (0..<n).reduce(UInt64(1)) { a, _ in a * 10 } }

    static func digitCount(_ v: UInt64) -> Int {
        var n = 1
        var x = v
        while x >= 10 {
            x /= 10
            n += 1
        }
        return n
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
