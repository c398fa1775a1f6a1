import Synchronization

/// In-process locks by name. Work on the same stock takes the locks of its keys first,
/// so concurrent callers queue up instead of colliding in optimistic transactions and
/// retrying (which under a hot key ends in ABORTED). Correctness never depends on these
/// locks — the store's conflict checks keep it — they only keep throughput up.
///
/// Keys are taken in sorted order, so two callers can never wait for each other.
package final class KeyedLocks: Sendable {
    private struct State {
        var held: Set<String> = []
        /// Callers waiting for a key, first come first served.
        var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    /// Lets the locks go; only the first call does anything.
    package final class Release: Sendable {
        private let pending: Mutex<(locks: KeyedLocks, keys: [String])?>

        init(_ locks: KeyedLocks, _ keys: [String]) { pending = Mutex((locks, keys)) }

        func callAsFunction() {
            guard
                let (locks, keys) = pending.withLock({ held -> (KeyedLocks, [String])? in
                    defer { held = nil }
                    return held
                })
            else { return }
            for key in keys.reversed() { locks.unlock(key) }
        }
    }

    /// Runs `body` holding the locks of `keys`. `body` may let them go early through
    /// the release it is given (once its writes are visible); they go at the end
    /// otherwise.
    package func withLocks<Result>(
        _ keys: some Sequence<String>,
        _ body: (Release) async throws -> Result
    ) async throws -> Result {
        let ordered = Set(keys).sorted()
        guard !ordered.isEmpty else { return try await body(Release(self, [])) }
        for key in ordered { await lock(key) }
        let release = Release(self, ordered)
        defer { release() }
        return try await body(release)
    }

    private func lock(_ key: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state in
                if state.held.insert(key).inserted { return true }
                state.waiters[key, default: []].append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    fileprivate func unlock(_ key: String) {
        // The next waiter inherits the lock; the key stays held.
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard var queue = state.waiters[key], !queue.isEmpty else {
                state.held.remove(key)
                return nil
            }
            let first = queue.removeFirst()
            state.waiters[key] = queue.isEmpty ? nil : queue
            return first
        }
        next?.resume()
    }
}
