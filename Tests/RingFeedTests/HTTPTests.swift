import CRingFeed
import Foundation
import RingFeed
import Testing

/// The REST client against Python's http.server, plain and inside TLS.
@Suite("HTTP/1.1 GET", .serialized)
struct HTTPTests {
    static let json = #"{"lastUpdateId": 1027024, "bids": [["4.00000000", "431.00000000"]], "asks": [["4.00000200", "12.00000000"]]}"#

    func withHTTPServer(tls: Bool, _ body: (_ base: String, _ loop: EventLoop) async throws -> Void) async throws {
        let peer = try PythonPeer(
            script: "http_server.py", arguments: tls ? ["--tls", cert("server.pem"), cert("server.key")] : [])
        defer { peer.stop() }
        let port = peer.readLine()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        try await body("\(tls ? "https" : "http")://localhost:\(port)", loop)
    }

    @Test("Content-Length, chunked, gzip and gzip+chunked bodies", arguments: [false, true])
    func bodies(tls: Bool) async throws {
        try await withHTTPServer(tls: tls) { base, loop in
            let ctx = try TLSContext.client(caFile: cert("ca.pem"))
            for path in ["/length", "/chunked", "/gzip", "/gzip-chunked", "/close"] {
                let r = try await HTTPClient.get(base + path, on: loop, tls: ctx)
                #expect(r.status == 200, "\(path)")
                #expect(r.text == Self.json, "\(path)")
            }
            let gz = try await HTTPClient.get(base + "/gzip", on: loop, tls: ctx)
            #expect(gz.header("content-encoding") == "gzip")
            // What TLS negotiated, and where records went (kernel only where it offers kTLS).
            if tls {
                let info = try #require(gz.tls)
                #expect(info.version.hasPrefix("TLSv1."))
                #expect(!info.cipher.isEmpty)
                let kernel = rf_tls_kernel_offload_available(nil) != 0
                #expect(kernel ? info.path.hasPrefix("kernel") || info.path == "userspace" : info.path == "userspace",
                        "\(info.path)")
            } else {
                #expect(gz.tls == nil)
            }
        }
    }

    @Test("a real Binance depth snapshot, gzip over https")
    func depthSnapshot() async throws {
        try await withHTTPServer(tls: true) { base, loop in
            let r = try await HTTPClient.get(
                base + "/depth", on: loop, tls: try TLSContext.client(caFile: cert("ca.pem")))
            #expect(r.status == 200)
            let object = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
            #expect(object?["lastUpdateId"] != nil)
            #expect((object?["bids"] as? [Any])?.isEmpty == false)
        }
    }

    @Test("status codes are returned, not thrown")
    func statuses() async throws {
        try await withHTTPServer(tls: false) { base, loop in
            let notFound = try await HTTPClient.get(base + "/status/404", on: loop)
            let limited = try await HTTPClient.get(base + "/status/429", on: loop)
            #expect(notFound.status == 404)
            #expect(limited.status == 429)
        }
    }

    @Test("an oversized body is refused")
    func oversized() async throws {
        try await withHTTPServer(tls: true) { base, loop in
            let ctx = try TLSContext.client(caFile: cert("ca.pem"))
            await #expect(throws: RingFeedError(code: RF_EHTTP_BODY_TOOBIG.rawValue)) {
                _ = try await HTTPClient.get(base + "/big?n=100000", on: loop, tls: ctx, maxBodySize: 50_000)
            }
            let ok = try await HTTPClient.get(base + "/big?n=50000", on: loop, tls: ctx, maxBodySize: 50_000)
            #expect(ok.body.count == 50_000)
        }
    }

    @Test("https to a plain server, and a server that never answers")
    func failures() async throws {
        try await withHTTPServer(tls: false) { base, loop in
            let url = base.replacingOccurrences(of: "http:", with: "https:") + "/length"
            await #expect(throws: RingFeedError.tlsNotTLS) {
                _ = try await HTTPClient.get(url, on: loop, tls: try TLSContext.client(caFile: cert("ca.pem")))
            }
        }
        try await withPeerServer(["--stall"]) { port, loop in
            let start = ContinuousClock.now
            await #expect(throws: RingFeedError.timedOut) {
                _ = try await HTTPClient.get("http://127.0.0.1:\(port)/", on: loop, timeout: .seconds(1))
            }
            #expect(ContinuousClock.now - start < .seconds(4))
        }
    }
}
