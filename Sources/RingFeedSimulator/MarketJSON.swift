/// A byte buffer that market messages are rendered into: JSON punctuation,
/// integers and fixed-point decimals are written as bytes directly, without
/// Foundation or per-field string interpolation, because rendering sits on
/// the simulator's send path (hundreds of thousands of messages a second).
struct MarketJSON {
    var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// ASCII text known at compile time: keys and punctuation.
    @inline(__always)
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        bytes.append(b)
    }

    mutating func append(_ other: [UInt8]) {
        bytes.append(contentsOf: other)
    }

    /// A JSON string whose bytes need no escaping (symbols, intervals).
    mutating func string(_ text: [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: text)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func bool(_ v: Bool) {
        if v { raw("true") } else { raw("false") }
    }

    /// Decimal digits of an integer.
    mutating func int(_ v: Int64) {
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
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
        if quoted { bytes.append(UInt8(ascii: "\"")) }
        if mantissa < 0 { bytes.append(UInt8(ascii: "-")) }
        let m = mantissa.magnitude
        let p = MarketJSON.pow10[scale]
        uint(m / p)
        if digits > 0 {
            bytes.append(UInt8(ascii: "."))
            var frac = m % p
            if digits >= scale {
                padded(frac, width: scale)
                for _ in scale..<digits { bytes.append(UInt8(ascii: "0")) }
            } else {
                frac /= MarketJSON.pow10[scale - digits]
                padded(frac, width: digits)
            }
        }
        if quoted { bytes.append(UInt8(ascii: "\"")) }
    }

    /// `v` as exactly `width` digits, zero-padded on the left.
    private mutating func padded(_ v: UInt64, width: Int) {
        guard width > 0 else { return }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
        bytes.withUnsafeMutableBufferPointer { buf in
            var x = v
            var i = start + width - 1
            while x > 0 && i >= start {
                buf[i] = UInt8(truncatingIfNeeded: x % 10) &+ 48
                x /= 10
                i -= 1
            }
        }
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
