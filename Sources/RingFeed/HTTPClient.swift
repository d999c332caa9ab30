import CRingFeed

/// A complete HTTP response: status, headers, decoded (gunzipped) body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// What TLS negotiated, and whether records went through the kernel
    /// (kTLS) or userspace; nil for http://.
    public var tls: TLSInfo?

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// HTTP/1.1 GET on an `EventLoop`, over TCP or TLS: what fetches REST
/// snapshots. One request per call, on its own connection.
public enum HTTPClient {
    /// Fetches an http:// or https:// URL.
    /// - Parameters:
    ///   - tls: client context for https (nil = `TLSContext.defaultClient`).
    ///   - maxBodySize: largest decoded body accepted.
    ///   - timeout: connect + request + whole response.
    /// - Throws: `RingFeedError` (refused, TLS, malformed or oversized response, timeout).
    public static func get(
        _ url: String,
        on loop: EventLoop,
        tls: TLSContext? = nil,
        maxBodySize: Int = 64 << 20,
        timeout: Duration = .seconds(10)
    ) async throws -> HTTPResponse {
        var context = tls
        if context == nil && url.lowercased().hasPrefix("https:") {
            context = try TLSContext.defaultClient
        }
        let box = ResultBox(context: context)
        return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<HTTPResponse, any Error>) in
            box.continuation = cont
            loop.execute {
                var cfg = rf_http_get_config()
                cfg.tls = box.context?.ctx
                cfg.max_body = maxBodySize
                cfg.timeout_ns = timeout.nanoseconds
                let ctx = Unmanaged.passRetained(box).toOpaque()
                var request: OpaquePointer?
                let rc = rf_http_get(loop.loop, url, &cfg, { ctx, error, resp in
                    let box = Unmanaged<ResultBox>.fromOpaque(ctx!).takeRetainedValue()
                    if error != 0 {
                        box.continuation?.resume(throwing: RingFeedError(code: error))
                    } else {
                        var response = HTTPResponse(resp!)
                        if let request = box.request, let tls = rf_http_request_tls(request) {
                            response.tls = TLSInfo(tls)
                        }
                        box.continuation?.resume(returning: response)
                    }
                }, ctx, &request)
                // done never runs inside rf_http_get: the request is known first.
                box.request = request
                if rc != 0 {
                    Unmanaged<ResultBox>.fromOpaque(ctx).release()
                    cont.resume(throwing: RingFeedError(code: rc))
                }
            }
        }
    }
}

private final class ResultBox: @unchecked Sendable {
    // @unchecked: written before the request starts, resumed once on the loop.
    var continuation: CheckedContinuation<HTTPResponse, any Error>?
    var request: OpaquePointer?
    let context: TLSContext?
    init(context: TLSContext?) { self.context = context }
}

extension HTTPResponse {
    init(_ r: OpaquePointer) {
        status = Int(rf_http_response_status(r))
        var hs: [(String, String)] = []
        for i in 0..<rf_http_response_header_count(r) {
            var name = rf_str(), value = rf_str()
            if rf_http_response_header_at(r, i, &name, &value) == 0 {
                hs.append((name.string, value.string))
            }
        }
        headers = hs
        var len = 0
        if let p = rf_http_response_body(r, &len), len > 0 {
            body = Array(UnsafeBufferPointer(start: p, count: len))
        } else {
            body = []
        }
    }
}

extension rf_str {
    var string: String {
        guard let ptr, len > 0 else { return "" }
        return ptr.withMemoryRebound(to: UInt8.self, capacity: len) {
            String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
        }
    }
}
