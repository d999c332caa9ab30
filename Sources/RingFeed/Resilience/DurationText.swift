extension Duration {
    /// For people reading lifecycle lines: "350 ms", "2.5 s", "23 h 30 min"
    /// rather than "0.350226993 seconds".
    var readable: String {
        let (s, atto) = components
        let total = Double(s) + Double(atto) / 1e18
        if total < 0 { return "-" + (Duration.zero - self).readable }
        if total < 0.01 { return "\(trimmed(total * 1000, places: 2)) ms" }
        if total < 1 { return "\(Int((total * 1000).rounded())) ms" }
        if total < 120 { return "\(trimmed(total, places: total < 10 ? 2 : 1)) s" }
        let minutes = Int((total / 60).rounded(.down))
        if minutes < 120 {
            let rest = Int(total.rounded()) - minutes * 60
            return rest == 0 ? "\(minutes) min" : "\(minutes) min \(rest) s"
        }
        let hours = minutes / 60
        return minutes % 60 == 0 ? "\(hours) h" : "\(hours) h \(minutes % 60) min"
    }
}

/// `v` with at most `places` decimals, trailing zeros dropped.
private func trimmed(_ v: Double, places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let r = (v * scale).rounded() / scale
    if r == r.rounded() { return String(Int(r)) }
    var text = String(r)
    while text.hasSuffix("0") { text.removeLast() }
    return text
}
