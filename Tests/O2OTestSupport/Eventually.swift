import Testing

/// How long a test waits for something that must happen before it calls it a hang.
/// Generous on purpose: CI may run on a CPU several times slower than a laptop, with
/// the whole suite in parallel on two cores. A test waits for the event itself; this
/// bound only turns a hang into a clear failure.
public let hangTimeout: Duration = .seconds(60)

/// How long a server started by a test may take before it listens: loading the demo
/// shop through its services takes seconds in a debug build and several times that on
/// a slow, busy machine. Also only a bound for hangs.
public let startTimeout: Duration = .seconds(300)

/// Waits until `condition` holds, checking it every few milliseconds. Returns true
/// once it does; records an issue that names `what` and returns false after
/// `timeout`.
@discardableResult
public func waitUntil(
    _ what: @autoclosure () -> String,
    timeout: Duration = hangTimeout,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline {
            Issue.record("still waiting after \(timeout) for \(what())", sourceLocation: sourceLocation)
            return false
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
