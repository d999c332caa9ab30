import Synchronization

/// The first value sent wins; `first()` waits for it (or returns it at once
/// when it came already). For a command that stops on whichever happens
/// first: a count reached, a deadline, Ctrl-C, the connection gone.
final class FirstOutcome<Value: Sendable>: Sendable {
    private let state = Mutex<(Value?, CheckedContinuation<Value, Never>?)>((nil, nil))

    func send(_ v: Value) {
        let waiting: CheckedContinuation<Value, Never>? = state.withLock { s in
            guard s.0 == nil else { return nil }
            s.0 = v
            let c = s.1
            s.1 = nil
            return c
        }
        waiting?.resume(returning: v)
    }

    func first() async -> Value {
        await withCheckedContinuation { (c: CheckedContinuation<Value, Never>) in
            let ready: Value? = state.withLock { s in
                if let v = s.0 { return v }
                s.1 = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }
}
