import ArgumentParser
import RingFeed

/// The reconnect, heartbeat and rotation options of the commands that keep
/// a live connection (`stream`, `book`, `demo`).
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("max-reconnects"),
            help: "Give up after this many reconnect attempts in a row without a healthy connection (default: never; 0: end at the first loss).")
    var maxReconnects: Int?

    @Option(name: .customLong("idle-timeout"),
            help: "Seconds without a message or a ping from the server before the connection is treated as dead and replaced (default 30; 0: never).")
    var idleTimeout: Double = 30

    @Option(name: .customLong("rotate-after"),
            help: "Replace a working connection without a gap once it is this many seconds old (default 84600, 23.5 h, before Binance's 24 h limit; 0: never).")
    var rotateAfter: Double = 84600

    func validate() throws {
        if let maxReconnects, maxReconnects < 0 { throw ValidationError("--max-reconnects must be 0 or more") }
        if !(idleTimeout >= 0) || !idleTimeout.isFinite { throw ValidationError("--idle-timeout must be 0 or more seconds") }
        if !(rotateAfter >= 0) || !rotateAfter.isFinite { throw ValidationError("--rotate-after must be 0 or more seconds") }
        if rotateAfter > 0 && rotateAfter < 1 { throw ValidationError("--rotate-after must be at least 1 second (or 0: never)") }
    }

    /// Attempts in a row the policy allows: the first connection and then
    /// `--max-reconnects` more.
    var maxAttempts: Int? { maxReconnects.map { $0 + 1 } }

    var idle: Duration? { idleTimeout > 0 ? .milliseconds(Int64((idleTimeout * 1000).rounded())) : nil }

    var rotation: Duration? { rotateAfter > 0 ? .milliseconds(Int64((rotateAfter * 1000).rounded())) : nil }

    func apply(to o: inout ResilientFeed.Options) {
        o.reconnect.maxAttempts = maxAttempts
        o.idleTimeout = idle
        o.rotateAfter = rotation
    }
}
