import CRingFeed

/// TLS settings shared by many connections: role, trust store, certificate,
/// and for clients the session cache that lets reconnects resume.
///
/// Share one context across connections (and loops): that is what makes
/// TLS 1.3 resumption work. `TLSContext.defaultClient` uses the system trust
/// store.
public final class TLSContext: @unchecked Sendable {
    // @unchecked: the C context is immutable after creation except for its
    // session cache, which the core guards with a mutex; OpenSSL locks the rest.
    let ctx: OpaquePointer

    private init(_ cfg: rf_tls_ctx_config) throws(RingFeedError) {
        var c = cfg
        var out: OpaquePointer?
        let rc = rf_tls_ctx_create(&out, &c)
        if rc != 0 {
            // A context that failed to configure still carries the reason.
            let detail = out.map { String(cString: rf_tls_ctx_error($0)) }
            if let out { rf_tls_ctx_destroy(out) }
            throw RingFeedError(code: rc, detail: detail)
        }
        ctx = out!
    }

    deinit { rf_tls_ctx_destroy(ctx) }

    /// A client context; `caFile` replaces the system trust store with a PEM bundle.
    /// `kernelOffload`: hand records to the kernel (kTLS) after the handshake
    /// where it offers that; `false` keeps them in userspace.
    /// `sessionResumption`: keep each endpoint's latest session and offer it
    /// on the next connection there, so a reconnect runs the abbreviated
    /// handshake; `false` makes every connection a full handshake (to
    /// measure the difference, or for a server that mishandles resumption).
    public static func client(caFile: String? = nil, alpn: String = "http/1.1",
                              kernelOffload: Bool = true,
                              sessionResumption: Bool = true) throws(RingFeedError) -> TLSContext {
        try withOptionalCString(caFile) { (ca) throws(RingFeedError) -> TLSContext in
            try withOptionalCString(alpn) { (alpnPtr) throws(RingFeedError) -> TLSContext in
                var cfg = rf_tls_ctx_config()
                cfg.server = 0
                cfg.ca_file = ca
                cfg.alpn = alpnPtr
                cfg.no_kernel_offload = kernelOffload ? 0 : 1
                cfg.no_session_cache = sessionResumption ? 0 : 1
                return try TLSContext(cfg)
            }
        }
    }

    /// A server context from a PEM certificate chain and private key.
    /// `kernelOffload` as for `client`.
    public static func server(certificateFile: String, keyFile: String, alpn: String = "http/1.1",
                              kernelOffload: Bool = true) throws(RingFeedError) -> TLSContext {
        try withOptionalCString(certificateFile) { (cert) throws(RingFeedError) -> TLSContext in
            try withOptionalCString(keyFile) { (key) throws(RingFeedError) -> TLSContext in
                try withOptionalCString(alpn) { (alpnPtr) throws(RingFeedError) -> TLSContext in
                    var cfg = rf_tls_ctx_config()
                    cfg.server = 1
                    cfg.cert_file = cert
                    cfg.key_file = key
                    cfg.alpn = alpnPtr
                    cfg.no_kernel_offload = kernelOffload ? 0 : 1
                    return try TLSContext(cfg)
                }
            }
        }
    }

    /// The shared client context with the system trust store, made on first
    /// use: what every wss:// and https:// connection given no context uses
    /// (WebSocket, MarketFeed, ResilientFeed, FeedPool, REST snapshots), so
    /// they share one session cache and a reconnect resumes.
    public static var defaultClient: TLSContext {
        get throws(RingFeedError) { try DefaultContext.shared.get() }
    }

    /// Whether this kernel could offload TLS records (kTLS), and if not, why.
    public static var kernelOffload: (available: Bool, reason: String) {
        var why: UnsafePointer<CChar>?
        let ok = rf_tls_kernel_offload_available(&why) == 1
        return (ok, why.map { String(cString: $0) } ?? "")
    }
}

private final class DefaultContext: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    static let shared = DefaultContext()
    private let lock = Mutex()
    private var context: TLSContext?

    func get() throws(RingFeedError) -> TLSContext {
        try lock.withLock { () throws(RingFeedError) -> TLSContext in
            if let context { return context }
            let c = try TLSContext.client()
            context = c
            return c
        }
    }
}

private func withOptionalCString<T>(
    _ s: String?, _ body: (UnsafePointer<CChar>?) throws(RingFeedError) -> T
) throws(RingFeedError) -> T {
    guard let s else { return try body(nil) }
    // withCString rethrows untyped; carry the typed error across it.
    var result: Result<T, RingFeedError>!
    s.withCString { p in
        do throws(RingFeedError) { result = .success(try body(p)) } catch { result = .failure(error) }
    }
    return try result.get()
}
