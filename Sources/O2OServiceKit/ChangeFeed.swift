import Synchronization

/// Wakes waiters after a commit: watchers of an event stream wait on it between two
/// reads, and a commit that recorded events publishes once it is visible.
public final class ChangeFeed: Sendable {
    private struct State {
        var generation = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// The current generation; pass it to `wait(after:)`.
    public var generation: Int { state.withLock { $0.generation } }

    /// New events were committed.
    public func publish() {
        let waiters = state.withLock { state in
            state.generation += 1
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Returns once the generation moved past `generation`, or after `timeout`, or when
    /// the task is cancelled.
    public func wait(after generation: Int, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForPublish(after: generation) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForPublish(after generation: Int) async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.generation != generation || Task.isCancelled { return true }
                    state.waiters.append((id, continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume()
        }
    }
}
