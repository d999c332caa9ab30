import ArgumentParser
import RingFeed

@main
struct RingFeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringfeed",
        abstract: "Low-latency market-data ingest: io_uring, RFC 6455, exact order books.",
        discussion: """
            Examples:
              ringfeed demo                          stream from the built-in loopback server
              ringfeed demo --duration 5             ... for five seconds, then print a summary
              ringfeed autobahn --url ws://127.0.0.1:9001 --agent RingFeed
              ringfeed autobahn-server --port 9002
              ringfeed stream btcusdt@aggTrade       print Binance events as JSON lines
              ringfeed simulate --port 9443          a Binance-compatible exchange on loopback (streams, REST, faults)
              ringfeed info                          what this machine gives the core
            """,
        version: "0.1.0",
        subcommands: [Demo.self, Stream.self, Book.self, Autobahn.self, AutobahnServer.self, Simulate.self, Bench.self, BenchReconnect.self, Info.self]
    )
}

/// Turns any failure into one line on stderr and a non-zero exit.
func fail(_ message: String) -> ExitCode {
    var stderr = StandardError()
    print("ringfeed: \(message)", to: &stderr)
    return ExitCode.failure
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var s = string
        s.withUTF8 { p in _ = Glibc.write(2, p.baseAddress, p.count) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
