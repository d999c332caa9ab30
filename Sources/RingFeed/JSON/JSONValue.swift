/// A small, strict JSON parser (RFC 8259) for control messages: what
/// clients send the simulator (SUBSCRIBE, SET_PROPERTY ...) and the
/// exchange's answers MarketFeed reads (LIST_SUBSCRIPTIONS' result, error
/// texts). Not on the hot path: it builds a tree. Shared inside the package.
///
/// Strict means: one value and nothing but whitespace after it, no trailing
/// commas, no leading zeros, no control characters or lone surrogates in
/// strings, nesting bounded. Errors carry the line and column Binance's
/// "Invalid JSON" message reports.
package enum JSONValue: Equatable {
    case null
    case bool(Bool)
    /// The number as written (so an id is echoed exactly and integers are
    /// told from fractions without a round trip through Double).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in order; duplicates are kept for the caller to judge.
    case object([(String, JSONValue)])

    package static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value of an integer literal that fits in Int64, else nil.
    package var int64: Int64? {
        guard case let .number(text) = self, !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
        else { return nil }
        return Int64(text)
    }

    /// Members of an object by name (the first of duplicates).
    package subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
}

package struct JSONSyntaxError: Error, Equatable {
    package var expected: String
    package var line: Int
    package var column: Int
}

package struct JSONParser {
    private let bytes: [UInt8]
    private var pos = 0
    private let maxDepth = 64

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    package static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        var p = JSONParser(Array(bytes))
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        if p.pos != p.bytes.count { throw p.error("end of input") }
        return v
    }

    private func error(_ expected: String) -> JSONSyntaxError {
        var line = 1, column = 1
        for b in bytes[..<min(pos, bytes.count)] {
            if b == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return JSONSyntaxError(expected: expected, line: line, column: column)
    }

    private var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private mutating func skipSpace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { pos += 1 }
    }

    private mutating func expect(_ literal: String) throws(JSONSyntaxError) {
        for b in literal.utf8 {
            guard peek == b else { throw error("value") }
            pos += 1
        }
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < maxDepth else { throw error("less nesting") }
        guard let c = peek else { throw error("value") }
        switch c {
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("value")
        }
    }

    private mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        pos += 1
        skipSpace()
        var items: [JSONValue] = []
        if peek == UInt8(ascii: "]") {
            pos += 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "]"): pos += 1; return .array(items)
            default: throw error("`,` or `]`")
            }
        }
    }

    private mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        pos += 1
        skipSpace()
        var members: [(String, JSONValue)] = []
        if peek == UInt8(ascii: "}") {
            pos += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\"") else { throw error("string") }
            let key = try string()
            skipSpace()
            guard peek == UInt8(ascii: ":") else { throw error("`:`") }
            pos += 1
            skipSpace()
            members.append((key, try value(depth: depth + 1)))
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "}"): pos += 1; return .object(members)
            default: throw error("`,` or `}`")
            }
        }
    }

    private mutating func digits() -> Int {
        let start = pos
        while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { pos += 1 }
        return pos - start
    }

    private mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = pos
        if peek == UInt8(ascii: "-") { pos += 1 }
        if peek == UInt8(ascii: "0") {
            pos += 1
            if let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { throw error("no leading zero") }
        } else if digits() == 0 {
            throw error("digit")
        }
        if peek == UInt8(ascii: ".") {
            pos += 1
            if digits() == 0 { throw error("digit") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            pos += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { pos += 1 }
            if digits() == 0 { throw error("digit") }
        }
        return .number(String(decoding: bytes[start..<pos], as: UTF8.self))
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard pos + 4 <= bytes.count,
              let v = UInt32(String(decoding: bytes[pos..<pos + 4], as: UTF8.self), radix: 16)
        else { throw error("four hex digits") }
        pos += 4
        return v
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        pos += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw error("`\"`") }
            pos += 1
            switch c {
            case UInt8(ascii: "\""):
                // Invalid UTF-8 cannot arrive here: text frames are validated by the core.
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let e = peek else { throw error("escape") }
                pos += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard peek == UInt8(ascii: "\\") else { throw error("low surrogate") }
                        pos += 1
                        guard peek == UInt8(ascii: "u") else { throw error("low surrogate") }
                        pos += 1
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("low surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("high surrogate first")
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
                default:
                    throw error("escape")
                }
            default:
                if c < 0x20 { throw error("no control character") }
                out.append(c)
            }
        }
    }
}
