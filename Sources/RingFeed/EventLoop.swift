import CRingFeed
#if canImport(Glibc)
import Glibc
#endif

/// Which loop's thread the calling thread is: set by each loop thread as it
/// starts, nil in every other thread. Not pthread_t values compared: glibc
/// gives a joined thread's descriptor, and so its pthread_t, to the next
/// thread it creates, which then passed for the shut-down loop's thread and
/// ran work inline with the C loop already freed.
private let loopOfThisThread: pthread_key_t = {
    var key = pthread_key_t()
    precondition(pthread_key_create(&key, nil) == 0, "no thread-specific key left")
    return key
}()

/// One io_uring event loop running on its own thread.
///
/// Everything a connection does happens on this thread; other threads hand
/// it work with `execute`. Shut it down with `shutdown()`, which joins the
/// thread and frees the ring and its buffers.
public final class EventLoop: @unchecked Sendable {
    // @unchecked: `loop` is used on the loop thread only, except through
    // rf_loop_post / rf_loop_stop, which the C core makes thread-safe; the
    // thread handle is written once before any other thread sees `self`.
    let loop: OpaquePointer
    private var thread = pthread_t()
    private var joined = false
    private let stateLock = Mutex()

    public struct Configuration: Sendable {
        /// Provided receive buffers (power of two) and their size in bytes.
        public var receiveBufferCount: UInt32 = 64
        public var receiveBufferSize: UInt32 = 64 * 1024
        /// Use single-shot receives even where multishot is available.
        public var forceSingleShotReceive = false
        public init() {}
    }

    public init(configuration: Configuration = Configuration()) throws(RingFeedError) {
        var cfg = rf_loop_config()
        cfg.buf_count = configuration.receiveBufferCount
        cfg.buf_size = configuration.receiveBufferSize
        cfg.force_single_shot = configuration.forceSingleShotReceive ? 1 : 0
        var ptr: OpaquePointer?
        try RingFeedError.check(rf_loop_create(&ptr, &cfg))
        loop = ptr!
        sem_init(started, 0, 0)
        let unmanaged = Unmanaged.passRetained(self)
        let rc = pthread_create(&thread, nil, { arg in
            let loop = Unmanaged<EventLoop>.fromOpaque(arg!).takeRetainedValue()
            pthread_setspecific(loopOfThisThread, Unmanaged.passUnretained(loop).toOpaque())
            sem_post(loop.started)
            _ = rf_loop_run(loop.loop)
            return nil
        }, unmanaged.toOpaque())
        if rc != 0 {
            unmanaged.release()
            rf_loop_destroy(loop)
            throw RingFeedError(code: RF_ESYS.rawValue)
        }
        // After this the loop thread runs (and knows it is this loop's).
        sem_wait(started)
        sem_destroy(started)
    }

    deinit {
        if !inEventLoop { shutdown() }
        started.deallocate()
    }

    private let started = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    /// True when called on this loop's thread.
    public var inEventLoop: Bool {
        pthread_getspecific(loopOfThisThread) == UnsafeMutableRawPointer(Unmanaged.passUnretained(self).toOpaque())
    }

    /// "multishot" or "single-shot": how this kernel lets the loop receive.
    public var receiveMode: String { String(cString: rf_loop_recv_mode(loop)) }

    /// Runs `work` on the loop thread: at once if already there, else soon.
    /// After `shutdown()` the work is dropped: the C loop is gone.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        if inEventLoop {
            work()
            return
        }
        let box = Unmanaged.passRetained(WorkBox(work)).toOpaque()
        // Under the lock shutdown() takes before it stops and frees the C
        // loop, so a post from another thread (a task that wakes when a
        // connection closed during shutdown, say) never reaches freed memory.
        let rc = stateLock.withLock { () -> Int32 in
            if joined { return RF_ECLOSED.rawValue }
            return rf_loop_post(loop, { _, arg in
                let box = Unmanaged<WorkBox>.fromOpaque(arg!).takeRetainedValue()
                box.work()
            }, box)
        }
        if rc != 0 {
            Unmanaged<WorkBox>.fromOpaque(box).release()
        }
    }

    /// Runs `work` on the loop thread after `delay`.
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        let ns = UInt64(max(0, delay.components.seconds)) * 1_000_000_000
            + UInt64(max(0, delay.components.attoseconds / 1_000_000_000))
        execute { [self] in
            let box = Unmanaged.passRetained(WorkBox(work)).toOpaque()
            let rc = rf_timer_start(self.loop, ns, { _, arg in
                let box = Unmanaged<WorkBox>.fromOpaque(arg!).takeRetainedValue()
                box.work()
            }, box, nil)
            if rc != 0 { Unmanaged<WorkBox>.fromOpaque(box).release() }
        }
    }

    /// Stops the loop, joins its thread and frees the ring. Connections still
    /// open are closed (their close handlers run). Idempotent; not callable
    /// from the loop thread itself.
    public func shutdown() {
        precondition(!inEventLoop, "EventLoop.shutdown() called on its own thread")
        let alreadyJoined = stateLock.withLock { () -> Bool in
            defer { joined = true }
            return joined
        }
        if alreadyJoined { return }
        rf_loop_stop(loop)
        pthread_join(thread, nil)
        rf_loop_destroy(loop)
    }
}

final class WorkBox {
    let work: @Sendable () -> Void
    init(_ work: @escaping @Sendable () -> Void) { self.work = work }
}

/// A small pthread mutex; the shell has no other locking needs.
final class Mutex: @unchecked Sendable {
    // @unchecked: the pthread mutex itself provides the synchronisation.
    private let m: UnsafeMutablePointer<pthread_mutex_t>
    init() {
        m = .allocate(capacity: 1)
        pthread_mutex_init(m, nil)
    }
    deinit {
        pthread_mutex_destroy(m)
        m.deallocate()
    }
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(m)
        defer { pthread_mutex_unlock(m) }
        return try body()
    }
}
