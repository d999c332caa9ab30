/// The synthetic market's random source: xoshiro256** seeded through
/// SplitMix64. Our own generator, never the system one, so a seed gives the
/// same market on every machine and every run.
struct SyntheticRandom {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        var x = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&x)
        s1 = splitMix(&x)
        s2 = splitMix(&x)
        s3 = splitMix(&x)
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    mutating func next() -> UInt64 {
        let result = SyntheticRandom.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = SyntheticRandom.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in 0..<n (n > 0); the tiny modulo bias is irrelevant here.
    mutating func below(_ n: Int) -> Int {
        Int(next() % UInt64(n))
    }

    /// Exponential with the given mean.
    mutating func exponential(mean: Double) -> Double {
        -mean * log1pNeg(unit())
    }

    /// Geometric count of failures before a success of probability p
    /// (0, 1, 2, ... with mean (1-p)/p): distances from the top of book.
    mutating func geometric(_ p: Double) -> Int {
        Int(exponential(mean: 1) / -log1pNeg(p))
    }

    /// Standard normal (Box–Muller; one value per call keeps the state simple).
    mutating func normal() -> Double {
        let u1 = max(unit(), 0x1.0p-53)
        let u2 = unit()
        return (-2 * naturalLog(u1)).squareRoot() * cosine(2 * Double.pi * u2)
    }

    /// ln(1 - x) for x in [0, 1).
    private func log1pNeg(_ x: Double) -> Double { naturalLog(1 - x) }
}

// Elementary functions written out so the simulator needs no Foundation and
// gives the same bits on every platform (libm implementations may differ in
// the last ulp, which would break byte-identical replays across machines).

/// Natural logarithm for x > 0: range reduction to [1, 2) and an atanh series.
func naturalLog(_ x: Double) -> Double {
    if x <= 0 { return -Double.infinity }
    var e = Double(x.exponent)
    var m = x.significand // [1, 2)
    if m > 1.4142135623730951 {
        m /= 2
        e += 1
    }
    let t = (m - 1) / (m + 1)
    let t2 = t * t
    var term = t
    var sum = 0.0
    var k = 1.0
    while k < 60 {
        sum += term / k
        term *= t2
        k += 2
        if term < 1e-18 { break }
    }
    return 2 * sum + e * 0.6931471805599453
}

/// cos(x) for any x, by reduction to [-π, π] and a Taylor series.
func cosine(_ x: Double) -> Double {
    let twoPi = 2 * Double.pi
    var r = x - (x / twoPi).rounded() * twoPi
    if r > Double.pi { r -= twoPi }
    let r2 = r * r
    var term = 1.0
    var sum = 1.0
    var n = 0.0
    while n < 40 {
        term *= -r2 / ((n + 1) * (n + 2))
        sum += term
        n += 2
    }
    return sum
}
