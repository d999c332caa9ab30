import RingFeed

#if canImport(Glibc)
import Glibc
#endif

/// The live view of `ringfeed book`: a trading screen redrawn four times a
/// second when stdout is a terminal (home cursor and overwrite, no clear,
/// so nothing flickers), plain summary lines every second otherwise.
/// Books are read under their own locks from this task; the feed's thread
/// only waits for one short read at a time.
final class BookScreen: @unchecked Sendable {
    // @unchecked: after init, every mutable field is used by `run` (one
    // task) and by `restore`, which is called after that task has ended.
    private let books: [OrderBook]
    private let depth: Int
    private let source: String
    private let stops: StopSignal
    private let connection: ConnectionReport
    private let terminal: Bool
    private let colour: Bool
    private var focus = 0
    private var savedTermios: termios?
    private var restored = false
    /// Per book: updates applied at the last rate sample, and the rate.
    private var lastCounts: [Int]
    private var rates: [Double]
    private var lastSample = ContinuousClock.now
    private var out = ByteWriter(capacity: 1 << 16)

    init(books: [OrderBook], depth: Int, source: String, stops: StopSignal, connection: ConnectionReport) {
        self.books = books
        self.connection = connection
        self.depth = depth
        self.source = source
        self.stops = stops
        terminal = isatty(STDOUT_FILENO) != 0
        colour = terminal && getenv("NO_COLOR") == nil
        lastCounts = Array(repeating: 0, count: books.count)
        rates = Array(repeating: 0, count: books.count)
    }

    func run() async {
        if terminal { enter() }
        var ticks = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(terminal ? 125 : 250))
            ticks += 1
            if terminal {
                if readKeys() { return }
                if ticks % 2 == 0 {
                    if ticks % 8 == 0 { sampleRates() }
                    draw()
                }
            } else if ticks % 4 == 0 {
                sampleRates()
                printPlain()
            }
        }
    }

    /// Leaves the terminal as it was (cursor, screen, key mode). Idempotent.
    func restore() {
        guard terminal, !restored else { return }
        restored = true
        if var t = savedTermios { tcsetattr(STDIN_FILENO, TCSANOW, &t) }
        writeAll("\u{1B}[?25h\u{1B}[?1049l")
    }

    // MARK: terminal

    private func enter() {
        // Keys without Enter and without echo; Ctrl-C still raises SIGINT.
        if isatty(STDIN_FILENO) != 0 {
            var t = termios()
            if tcgetattr(STDIN_FILENO, &t) == 0 {
                savedTermios = t
                t.c_lflag &= ~tcflag_t(ICANON | ECHO)
                withUnsafeMutableBytes(of: &t.c_cc) { cc in
                    cc[Int(VMIN)] = 0 // read() returns at once with what is there
                    cc[Int(VTIME)] = 0
                }
                tcsetattr(STDIN_FILENO, TCSANOW, &t)
            }
        }
        writeAll("\u{1B}[?1049h\u{1B}[?25l\u{1B}[2J") // alternate screen, no cursor
    }

    /// Handles the keys typed since the last tick; true to quit.
    private func readKeys() -> Bool {
        guard savedTermios != nil else { return false }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = read(STDIN_FILENO, &buf, buf.count)
        guard n > 0 else { return false }
        var i = 0
        while i < n {
            let c = buf[i]
            if c == 0x1B, i + 2 < n, buf[i + 1] == UInt8(ascii: "[") {
                switch buf[i + 2] {
                case UInt8(ascii: "A"), UInt8(ascii: "D"), UInt8(ascii: "Z"): move(-1)
                case UInt8(ascii: "B"), UInt8(ascii: "C"): move(1)
                default: break
                }
                i += 3
                continue
            }
            switch c {
            case UInt8(ascii: "q"), UInt8(ascii: "Q"):
                stops.send(.interrupted)
                return true
            case UInt8(ascii: "n"), UInt8(ascii: "j"), 9: move(1)
            case UInt8(ascii: "p"), UInt8(ascii: "k"): move(-1)
            default: break
            }
            i += 1
        }
        draw()
        return false
    }

    private func move(_ by: Int) {
        focus = (focus + by + books.count) % books.count
    }

    private func size() -> (rows: Int, cols: Int) {
        var w = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &w) == 0, w.ws_row > 0, w.ws_col > 0 {
            return (Int(w.ws_row), Int(w.ws_col))
        }
        return (24, 80)
    }

    private func sampleRates() {
        let now = ContinuousClock.now
        let dt = max(seconds(now - lastSample), 1e-3)
        lastSample = now
        for (i, b) in books.enumerated() {
            let n = b.stats.updatesApplied
            rates[i] = Double(n - lastCounts[i]) / dt
            lastCounts[i] = n
        }
    }

    // MARK: frames

    private func draw() {
        let (rows, cols) = size()
        let book = books[focus]
        let many = books.count > 1
        // Fixed lines: title, figures, column names, spread, keys; with
        // several symbols a heading and at least min(count, 3) of them.
        let listMin = many ? 1 + min(books.count, 3) : 0
        let perSide = max(1, min(depth, (rows - 5 - listMin) / 2))
        let top = book.read { v in
            (v.state, v.lastUpdateId, v.levels(.ask, count: perSide), v.levels(.bid, count: perSide), v.spread, v.mid,
             v.imbalance(levels: perSide))
        }
        let (state, updateId, asks, bids, spread, mid, imbalance) = top
        let stats = book.stats
        var lines: [Line] = []

        var title = Line(cols)
        title.add("ringfeed book ", bold)
        title.add(book.symbol, bold)
        if many { title.add(" (\(focus + 1)/\(books.count))") }
        title.add("  ")
        title.add(state.description, stateColour(state))
        let link = connection.snapshot
        title.add("  ")
        title.add(ConnectionReport.status(link), link.state == "connected" ? dim : yellow)
        title.add("  update id \(updateId)  " + source)
        lines.append(title)

        let tick = tickSize(asks + bids)
        let pd = decimals(asks.map(\.price) + bids.map(\.price), scale: asks.first?.price.scale ?? bids.first?.price.scale)
        let qd = decimals(asks.map(\.quantity) + bids.map(\.quantity),
                          scale: asks.first?.quantity.scale ?? bids.first?.quantity.scale)
        var figures = Line(cols)
        if let spread, let mid, let tick {
            let ticks = tick > 0 ? spread.mantissa / tick : 0
            let bps = mid.doubleValue > 0 ? spread.doubleValue / mid.doubleValue * 10_000 : 0
            figures.add("spread \(shown(spread, pd)) (\(ticks) tick\(ticks == 1 ? "" : "s"), \(bpsText(bps)) bps)")
            figures.add("  mid \(trimMid(mid))")
        } else {
            figures.add("spread -  mid -")
        }
        if let imbalance { figures.add("  imbalance " + (imbalance >= 0 ? "+" : "") + fixed(imbalance, 3)) }
        figures.add("  \(fixed(rates[focus], 1)) upd/s  resyncs \(stats.resyncs)  updates \(stats.updatesApplied)")
        lines.append(figures)

        let pw = max(8, (asks + bids).map { shown($0.price, pd).count }.max() ?? 8)
        let qw = max(8, (asks + bids).map { shown($0.quantity, qd).count }.max() ?? 8)
        var head = Line(cols)
        head.add("     " + pad("price", pw, right: true) + "  " + pad("quantity", qw, right: true), dim)
        lines.append(head)
        let barWidth = max(0, cols - 5 - pw - 2 - qw - 2)
        let largest = (asks + bids).map(\.quantity.doubleValue).max() ?? 0
        func row(_ name: String, _ l: Level, _ c: String) -> Line {
            var r = Line(cols)
            r.add(name, c)
            r.add(pad(shown(l.price, pd), pw, right: true), c)
            r.add("  " + pad(shown(l.quantity, qd), qw, right: true) + "  ")
            let n = largest > 0 ? Int((l.quantity.doubleValue / largest * Double(barWidth)).rounded(.up)) : 0
            r.add(String(repeating: "█", count: max(0, min(barWidth, n))), c)
            return r
        }
        // Asks above (the best nearest the middle), bids below.
        for _ in asks.count..<perSide { lines.append(Line(cols)) }
        for a in asks.reversed() { lines.append(row("ask  ", a, red)) }
        var middle = Line(cols)
        if state == .syncing {
            middle.add("     waiting for the stream and a snapshot", yellow)
        } else if let mid {
            middle.add("     " + pad(trimMid(mid), pw, right: true) + "  mid", dim)
        }
        lines.append(middle)
        for b in bids { lines.append(row("bid  ", b, green)) }
        for _ in bids.count..<perSide { lines.append(Line(cols)) }

        if many {
            var h = Line(cols)
            h.add("  " + pad("symbol", 12) + pad("state", 9) + pad("bid", 16, right: true) + pad("ask", 16, right: true)
                  + pad("spread bps", 12, right: true) + pad("upd/s", 9, right: true) + pad("updates", 10, right: true)
                  + pad("resyncs", 9, right: true), dim)
            lines.append(h)
            let room = max(0, rows - lines.count - 1)
            // A window of the list that keeps the selected symbol in view.
            let first = books.count <= room ? 0 : min(max(0, focus - room / 2), books.count - room)
            let last = min(books.count, first + room)
            for i in first..<last {
                var l = Line(cols)
                summary(i, into: &l, marker: i == focus ? "> " : "  ")
                lines.append(l)
            }
        }
        var keys = Line(cols)
        keys.add(many ? "n/p or arrows: symbol   q or Ctrl-C: quit" : "q or Ctrl-C: quit", dim)
        while lines.count < rows - 1 { lines.append(Line(cols)) }
        lines.append(keys)

        out.removeAll()
        out.ascii("\u{1B}[H")
        for (i, l) in lines.prefix(rows).enumerated() {
            if i > 0 { out.ascii("\r\n") }
            out.string(l.text)
            out.ascii("\u{1B}[0m\u{1B}[K")
        }
        out.ascii("\u{1B}[J")
        if !out.flush(to: STDOUT_FILENO) { stops.send(.outputClosed) }
    }

    /// One symbol's compact line.
    private func summary(_ i: Int, into l: inout Line, marker: String) {
        let b = books[i]
        let (state, bid, ask, spread, mid) = b.read { v in (v.state, v.bestBid, v.bestAsk, v.spread, v.mid) }
        let st = b.stats
        l.add(marker + pad(b.symbol, 12))
        l.add(pad(state.description, 9), stateColour(state))
        let pd = decimals([bid?.price, ask?.price].compactMap { $0 }, scale: bid?.price.scale ?? ask?.price.scale)
        l.add(pad(bid.map { shown($0.price, pd) } ?? "-", 16, right: true), green)
        l.add(pad(ask.map { shown($0.price, pd) } ?? "-", 16, right: true), red)
        var bps = "-"
        if let spread, let mid, mid.doubleValue > 0 { bps = bpsText(spread.doubleValue / mid.doubleValue * 10_000) }
        l.add(pad(bps, 12, right: true) + pad(fixed(rates[i], 1), 9, right: true)
              + pad(String(st.updatesApplied), 10, right: true) + pad(String(st.resyncs), 9, right: true))
    }

    /// Not a terminal: a plain line per symbol every second.
    private func printPlain() {
        var clock = ByteWriter(capacity: 16)
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        clock.timeOfDay(millis: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000))
        let time = String(decoding: clock.bytes, as: UTF8.self)
        out.removeAll()
        for (i, b) in books.enumerated() {
            let (state, bid, ask, spread, mid, imb) = b.read { v in
                (v.state, v.bestBid, v.bestAsk, v.spread, v.mid, v.imbalance(levels: depth))
            }
            let st = b.stats
            var s = "\(time) \(b.symbol) \(state)"
            if let bid, let ask, let spread, let mid {
                s += " bid \(bid.price) x \(bid.quantity) ask \(ask.price) x \(ask.quantity) spread \(spread)"
                    + " mid \(trimMid(mid))"
                if mid.doubleValue > 0 { s += " (\(bpsText(spread.doubleValue / mid.doubleValue * 10_000)) bps)" }
            }
            if let imb { s += " imbalance \(fixed(imb, 3))" }
            s += " \(fixed(rates[i], 1)) upd/s updates \(st.updatesApplied) resyncs \(st.resyncs)\n"
            out.string(s)
        }
        if !out.flush(to: STDOUT_FILENO) { stops.send(.outputClosed) }
    }

    // MARK: helpers

    private var red: String { colour ? "\u{1B}[31m" : "" }
    private var green: String { colour ? "\u{1B}[32m" : "" }
    private var yellow: String { colour ? "\u{1B}[33m" : "" }
    private var bold: String { colour ? "\u{1B}[1m" : "" }
    private var dim: String { colour ? "\u{1B}[2m" : "" }

    private func stateColour(_ s: BookState) -> String {
        switch s {
        case .live: green
        case .stale: red
        case .syncing, .empty: yellow
        }
    }

    private func writeAll(_ s: String) {
        var w = ByteWriter(capacity: 64)
        w.string(s)
        _ = w.flush(to: STDOUT_FILENO)
    }
}

/// A line of at most `width` visible characters; colour codes do not count.
private struct Line {
    let width: Int
    private(set) var text = ""
    private var visible = 0

    init(_ width: Int) { self.width = width }

    mutating func add(_ s: String, _ colour: String = "") {
        let room = width - visible
        guard room > 0 else { return }
        let part = s.count > room ? String(s.prefix(room)) : s
        visible += part.count
        text += colour.isEmpty ? part : colour + part + "\u{1B}[0m"
    }
}

/// The finest price step between the shown levels (and across the spread):
/// the exchange's tick when the levels are dense, in units of the book's scale.
private func tickSize(_ levels: [Level]) -> Int64? {
    let prices = levels.map(\.price.mantissa).sorted()
    guard prices.count >= 2 else { return nil }
    var g: Int64 = 0
    for (a, b) in zip(prices, prices.dropFirst()) where b != a {
        var x = g, y = b - a
        while y != 0 { (x, y) = (y, x % y) }
        g = x
    }
    return g > 0 ? g : nil
}

/// Decimals needed to show every value exactly (trailing zeros common to all dropped).
private func decimals<D: FixedPointDecimal>(_ values: [D], scale: UInt8?) -> Int {
    guard let scale else { return 0 }
    var need = 0
    for v in values where v.scale == scale {
        var m = v.mantissa, s = Int(scale)
        while s > need && m % 10 == 0 {
            m /= 10
            s -= 1
        }
        need = max(need, s)
    }
    return need
}

/// `v` with `digits` decimals (exact: only zeros are dropped or added).
private func shown<D: FixedPointDecimal>(_ v: D, _ digits: Int) -> String {
    if let r = v.rescaled(to: UInt8(max(0, digits))) { return r.description }
    return v.description
}

/// The exact mid without the zeros its extra decimal adds.
fileprivate func trimMid(_ p: Price) -> String {
    var s = p.description
    guard s.contains(".") else { return s }
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s
}

private func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
    guard s.count < n else { return s }
    let fill = String(repeating: " ", count: n - s.count)
    return right ? fill + s : s + fill
}

/// Basis points with the digits a tight spread needs.
private func bpsText(_ v: Double) -> String { fixed(v, v < 1 ? 4 : 2) }
