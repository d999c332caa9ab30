import Foundation
import RingFeed
import Testing

@Suite("Price and Quantity")
struct FixedPointTests {
    @Test("exchange strings print back byte-identical", arguments: [
        "0.35130000", "6195.00000000", "0", "65123.45", "0.00000001", "-0.5", "9223372036854775807",
        "12345678.12345678",
    ])
    func roundTrip(text: String) throws {
        let p = try #require(Price(text))
        #expect(p.description == text)
        #expect(Quantity(text)?.description == text)
    }

    @Test("malformed or out-of-range text is refused")
    func refused() {
        for bad in ["", "-", ".5", "1.", "1e5", "+1", " 1", "1,5", "9223372036854775808", "0.1234567890123456789"] {
            #expect(Price(bad) == nil, "\(bad)")
        }
    }

    @Test("comparison and equality are exact across scales")
    func ordering() throws {
        let a = try #require(Price("1.50")), b = try #require(Price("1.5")), c = try #require(Price("1.49999999"))
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(c < a)
        #expect(Set([a, b, c]).count == 2)
        let sorted = ["0.3", "0.1", "0.25", "-1", "0.10000000"].compactMap(Price.init).sorted()
        #expect(sorted.map(\.description) == ["-1", "0.1", "0.10000000", "0.25", "0.3"])
        // 0.1 + 0.2 style drift cannot happen: the values are what was written.
        #expect(try #require(Price("0.30000000")) == Price("0.3"))
    }

    @Test("Double only on request, rescale exact")
    func conversions() throws {
        let q = try #require(Quantity("6195.00000000"))
        #expect(q.doubleValue == 6195.0)
        #expect(q.rescaled(to: 2)?.description == "6195.00")
        #expect(try #require(Quantity("0.123")).rescaled(to: 2) == nil)
    }
}
