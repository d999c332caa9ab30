import CRingFeed

/// An output buffer that text formats append to without intermediate
/// Strings: integers and exact decimals are written digit by digit.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    public var count: Int { bytes.count }
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    @inline(__always) public mutating func byte(_ b: UInt8) { bytes.append(b) }

    @inline(__always) public mutating func ascii(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func raw(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func int(_ v: Int64) {
        if v < 0 {
            byte(UInt8(ascii: "-"))
        }
        uint(v.magnitude) // Int64.min included
    }

    public mutating func uint(_ v: UInt64) {
        var v = v
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var i = 20
            repeat {
                i -= 1
                buf[i] = UInt8(truncatingIfNeeded: v % 10) + 48
                v /= 10
            } while v != 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<20]))
        }
    }

    /// Zero-padded to `width` digits (clock fields).
    public mutating func padded(_ v: Int64, width: Int) {
        var digits = 1
        var t = v
        while t >= 10 { t /= 10; digits += 1 }
        for _ in digits..<max(digits, width) { byte(48) }
        int(v)
    }

    /// "HH:MM:SS.mmm" (UTC) of a Unix time in milliseconds.
    public mutating func timeOfDay(millis ms: Int64) {
        let day = ((ms % 86_400_000) + 86_400_000) % 86_400_000
        padded(day / 3_600_000, width: 2)
        byte(UInt8(ascii: ":"))
        padded(day / 60_000 % 60, width: 2)
        byte(UInt8(ascii: ":"))
        padded(day / 1000 % 60, width: 2)
        byte(UInt8(ascii: "."))
        padded(day % 1000, width: 3)
    }

    /// The exact decimal text ("0.35130000").
    public mutating func decimal(_ d: rf_decimal) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(RF_DECIMAL_MAX_TEXT)) { buf in
            let n = rf_decimal_format(d, buf.baseAddress, buf.count)
            if n > 0 {
                bytes.append(contentsOf: UnsafeRawBufferPointer(start: buf.baseAddress, count: Int(n)))
            }
        }
    }

    /// A JSON string literal of raw bytes that are already valid JSON string
    /// content (the exchange's own, escapes included) — quoted as is.
    public mutating func jsonRaw(_ b: UnsafeRawBufferPointer) {
        byte(34)
        bytes.append(contentsOf: b)
        byte(34)
    }

    /// Writes everything to a file descriptor and empties the buffer.
    /// Returns false if the descriptor refused (e.g. a closed pipe).
    @discardableResult
    public mutating func flush(to fd: Int32) -> Bool {
        let ok = bytes.withUnsafeBytes { Self.writeAll($0, to: fd) }
        removeAll()
        return ok
    }

    /// Writes all of `p` to `fd`, across short writes and interruptions.
    /// Returns false if the descriptor refused (e.g. a closed pipe).
    public static func writeAll(_ p: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
        var off = 0
        while off < p.count {
            let n = write(fd, p.baseAddress! + off, p.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            off += n
        }
        return true
    }
}

#if canImport(Glibc)
import Glibc
#endif
