/// Number text for the live terminal screens (`demo`, `book`): a Double
/// with a fixed number of decimals, without Foundation's formatters (which
/// cost more than the rest of a redraw). Display only: exact values are
/// printed from their fixed-point form elsewhere.
func fixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return "-" }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (abs(v) * p).rounded()
    let whole = Int(r / p)
    let frac = Int(r.truncatingRemainder(dividingBy: p))
    let fs = String(frac)
    let sign = v < 0 && r > 0 ? "-" : ""
    return digits == 0 ? sign + String(whole)
        : sign + String(whole) + "." + String(repeating: "0", count: digits - fs.count) + fs
}
