import Foundation
import RingFeed

/// The repository root, found from this file's path, so tests can reach
/// Tests/interop and ../shared wherever the package is checked out.
let repoRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            return url
        }
    }
    fatalError("Package.swift not found above \(#filePath)")
}()

/// A Python helper process, stopped when the test ends.
final class PythonPeer {
    let process = Process()
    let stdin = Pipe()
    let stdout = Pipe()

    init(script: String, arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repoRoot.appendingPathComponent("Tests/interop/\(script)").path]
            + arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
    }

    /// The first line the helper prints.
    func readLine() -> String {
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// Runs a Python helper to completion (bounded by `timeout`).
func runPython(_ script: String, _ arguments: [String], timeout: Double = 60) throws -> (Int32, String) {
    let p = Process()
    let out = Pipe()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", repoRoot.appendingPathComponent("Tests/interop/\(script)").path] + arguments
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning { p.terminate() }
    p.waitUntilExit()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (p.terminationStatus, text)
}

/// Collects messages received on the loop thread.
final class Inbox: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private let lock = NSLock()
    private var items: [WebSocketMessage] = []
    func add(_ m: WebSocketMessage) { lock.withLock { items.append(m) } }
    var all: [WebSocketMessage] { lock.withLock { items } }

    /// Waits (bounded) until at least n messages arrived.
    func wait(for n: Int, timeout: Duration = .seconds(10)) async -> [WebSocketMessage] {
        let deadline = ContinuousClock.now + timeout
        while all.count < n && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
        return all
    }
}

/// Runs `body` with a fresh event loop and the Python `websockets` server
/// (Tests/interop/peer_server.py) listening on the port it is given; both
/// are stopped afterwards.
func withPeerServer(
    _ arguments: [String] = [], _ body: (_ port: String, _ loop: EventLoop) async throws -> Void
) async throws {
    let peer = try PythonPeer(script: "peer_server.py", arguments: arguments)
    defer { peer.stop() }
    let port = peer.readLine()
    let loop = try EventLoop()
    defer { loop.shutdown() }
    try await body(port, loop)
}

/// Test certificates made by Tests/c/make_test_certs.sh (a CA, a server
/// certificate for localhost and 127.0.0.1, a wrong CA, a certificate for
/// another name, an expired one), generated once per test process.
let testCerts: String = {
    let dir = repoRoot.appendingPathComponent(".build/test-certs").path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = [repoRoot.appendingPathComponent("Tests/c/make_test_certs.sh").path, dir]
    try! p.run()
    p.waitUntilExit()
    precondition(p.terminationStatus == 0, "make_test_certs.sh failed")
    return dir
}()

func cert(_ name: String) -> String { "\(testCerts)/\(name)" }
