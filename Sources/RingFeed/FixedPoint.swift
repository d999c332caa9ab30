import CRingFeed

/// An exact decimal as exchanges write it: an Int64 mantissa and the number
/// of fractional digits taken from the text, so it prints back exactly as
/// received and never passes through binary floating point.
///
/// `Price` and `Quantity` are distinct types on this representation so one
/// cannot be passed for the other.
public protocol FixedPointDecimal: Sendable, Hashable, Comparable, LosslessStringConvertible {
    var mantissa: Int64 { get }
    /// Digits after the decimal point, as written.
    var scale: UInt8 { get }
    init(mantissa: Int64, scale: UInt8)
}

extension FixedPointDecimal {
    var raw: rf_decimal { rf_decimal(mantissa: mantissa, scale: scale) }

    /// Parses "[-]digits[.digits]"; nil for anything else or out of range.
    public init?(_ text: String) {
        var d = rf_decimal()
        var t = text
        let rc = t.withUTF8 { p in
            p.withMemoryRebound(to: CChar.self) { rf_decimal_parse($0.baseAddress, $0.count, &d) }
        }
        guard rc == 0 else { return nil }
        self.init(mantissa: d.mantissa, scale: d.scale)
    }

    /// The exact text: "0.35130000" prints as "0.35130000".
    public var description: String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(RF_DECIMAL_MAX_TEXT)) { buf in
            let n = rf_decimal_format(raw, buf.baseAddress, buf.count)
            return String(decoding: UnsafeRawBufferPointer(start: buf.baseAddress, count: max(0, Int(n))),
                          as: UTF8.self)
        }
    }

    /// Nearest Double: for display and analytics only.
    public var doubleValue: Double { rf_decimal_to_double(raw) }

    /// Values compare exactly, whatever their scales ("1.50" == "1.5").
    public static func == (a: Self, b: Self) -> Bool { rf_decimal_cmp(a.raw, b.raw) == 0 }
    public static func < (a: Self, b: Self) -> Bool { rf_decimal_cmp(a.raw, b.raw) < 0 }

    /// Consistent with ==: trailing fractional zeros do not change the hash.
    public func hash(into hasher: inout Hasher) {
        var m = mantissa, s = scale
        while s > 0 && m % 10 == 0 {
            m /= 10
            s -= 1
        }
        hasher.combine(m)
        hasher.combine(s)
    }

    /// The same value with `scale` fractional digits, or nil if that would
    /// lose digits or overflow.
    public func rescaled(to scale: UInt8) -> Self? {
        var out = rf_decimal()
        guard rf_decimal_rescale(raw, UInt32(scale), &out) == 0 else { return nil }
        return Self(mantissa: out.mantissa, scale: out.scale)
    }
}

/// A price, exact.
public struct Price: FixedPointDecimal {
    public let mantissa: Int64
    public let scale: UInt8
    public init(mantissa: Int64, scale: UInt8) {
        self.mantissa = mantissa
        self.scale = scale
    }
}

/// A quantity, exact.
public struct Quantity: FixedPointDecimal {
    public let mantissa: Int64
    public let scale: UInt8
    public init(mantissa: Int64, scale: UInt8) {
        self.mantissa = mantissa
        self.scale = scale
    }
}
