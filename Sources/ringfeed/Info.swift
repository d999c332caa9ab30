import ArgumentParser
import CRingFeed
import RingFeed

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the core uses on this machine (receive mode, SIMD variants).",
        discussion: "Example:\n  ringfeed info")

    func run() async throws {
        let loop: EventLoop
        do { loop = try EventLoop() } catch {
            throw fail("cannot create an io_uring event loop: \(error)")
        }
        defer { loop.shutdown() }
        print("io_uring receive:  \(loop.receiveMode)")
        print("masking:           \(String(cString: rf_ws_mask_impl()))")
        print("utf-8 validation:  \(String(cString: rf_utf8_impl()))")
        print("max message:       \(RF_WS_DEFAULT_MAX_MESSAGE) bytes (default)")
        let ktls = TLSContext.kernelOffload
        print("kernel TLS:        " + (ktls.available ? "available" : "not available (\(ktls.reason)); TLS runs in userspace"))
    }
}
