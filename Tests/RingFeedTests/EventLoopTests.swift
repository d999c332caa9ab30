import Foundation
import RingFeed
import Synchronization
import Testing

/// Work handed to a loop from other threads around its shutdown. A task
/// that wakes when a connection closes during shutdown (MarketFeed's end of
/// stream, for one) posts to the loop; once the C loop is freed that post
/// must be dropped, not written into freed memory (a CI run crashed in
/// rf_loop_post that way).
@Suite("EventLoop shutdown")
struct EventLoopTests {
    final class Token: Sendable {}
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func add() { value.add(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }

    @Test("work posted after shutdown is dropped: never run, not kept")
    func postAfterShutdown() throws {
        let loop = try EventLoop()
        loop.shutdown()
        let ran = Counter()
        weak var kept: Token?
        do {
            let token = Token()
            kept = token
            loop.execute { _ = token; ran.add() }
        }
        #expect(ran.count == 0)
        #expect(kept == nil)
    }

    @Test("a new thread is never taken for a shut-down loop's own (thread ids are reused)")
    func newThreadAfterShutdownIsNotTheLoop() throws {
        // glibc hands a joined thread's descriptor, and so its pthread_t, to
        // the next thread it creates: compared by id, that thread looked like
        // the loop's and execute ran work inline, after the loop was gone.
        for _ in 0..<20 {
            let loop = try EventLoop()
            loop.shutdown()
            let seen = Atomic<Int>(0)
            let ran = Counter()
            let t = Thread {
                seen.store(loop.inEventLoop ? 1 : 2, ordering: .relaxed)
                loop.execute { ran.add() }
            }
            t.start()
            let deadline = ContinuousClock.now + .seconds(5)
            while seen.load(ordering: .relaxed) == 0 && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.001) }
            #expect(seen.load(ordering: .relaxed) == 2)
            #expect(ran.count == 0)
        }
    }

    @Test("posts racing a shutdown from other threads")
    func postsRacingShutdown() async throws {
        for _ in 0..<40 {
            let loop = try EventLoop()
            let ran = Counter()
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        for _ in 0..<2_000 { loop.execute { ran.add() } }
                    }
                }
                group.addTask { loop.shutdown() }
            }
            let before = ran.count
            loop.execute { ran.add() } // after shutdown: dropped
            #expect(ran.count == before && before <= 4_000)
        }
    }
}
