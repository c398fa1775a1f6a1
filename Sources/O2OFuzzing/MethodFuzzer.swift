import NIOCore
import O2OMessages
public import O2ORPC

/// Sends generated requests to every method of the schema through the in-process
/// transport of a `FuzzTarget`, and records every answer the protocol does not allow
/// for a bad request: a status outside the documented set, an OK whose response does
/// not decode, an error without a message, a call that does not end. A request that
/// traps the server kills the process running the fuzzer, with the runtime's message
/// naming the file and line; the same seed makes the same choices again (the ids taken
/// from answers are those of the new run).
public struct MethodFuzzer: Sendable {
    public let target: FuzzTarget
    public let schema: FuzzSchema

    public init(target: FuzzTarget, schema: FuzzSchema = FuzzSchema()) {
        self.target = target
        self.schema = schema
    }

    /// What any request may be answered with (docs/PROTOCOL.md §8): success, or the
    /// request's own fault or the state's. Never UNKNOWN, INTERNAL or DATA_LOSS (a
    /// broken server), UNAVAILABLE or UNAUTHENTICATED (an open server that is up).
    public static let allowedStatuses: Set<RPCStatusCode> = [
        .ok, .invalidArgument, .notFound, .alreadyExists, .permissionDenied, .resourceExhausted,
        .failedPrecondition, .aborted, .outOfRange,
    ]

    /// A unary call that takes longer has hung: the bound only catches hangs.
    static let unaryBound: Duration = .seconds(120)
    /// How long a stream is read before the fuzzer moves on (a watch waits for events
    /// that may never come; DEADLINE_EXCEEDED is its normal end here).
    static let streamBound: Duration = .milliseconds(100)

    /// Runs until `requests` have been sent or `duration` has passed (whichever comes
    /// first; at least one of them), then runs the store's consistency checks.
    /// - Parameters:
    ///   - workers: Callers sending at the same time, each with its own generator
    ///     (seeded `seed`, `seed + 1`, …) and its share of the requests. With one,
    ///     the run is a single sequence that its seed replays; with more, races
    ///     between requests are fuzzed too.
    ///   - progress: Called every 500 requests of the first worker with its report.
    public func run(
        seed: UInt64,
        requests limit: Int?,
        duration: Duration? = nil,
        workers: Int = 1,
        progress: (@Sendable (FuzzReport) -> Void)? = nil
    ) async -> FuzzReport {
        precondition(limit != nil || duration != nil, "a fuzz run needs a request count or a duration")
        precondition(workers >= 1, "a fuzz run needs at least one worker")
        let deadline = duration.map { ContinuousClock.now + $0 }
        var report = await withTaskGroup(of: FuzzReport.self, returning: FuzzReport.self) { group in
            for worker in 0..<workers {
                let share = limit.map { $0 / workers + (worker < $0 % workers ? 1 : 0) }
                group.addTask {
                    await sequence(
                        seed: seed &+ UInt64(worker),
                        requests: share,
                        deadline: deadline,
                        progress: worker == 0 ? progress : nil
                    )
                }
            }
            var merged = FuzzReport(seed: seed)
            for await part in group { merged.merge(part) }
            return merged
        }
        await StoreChecks(target: target).run(into: &report)
        return report
    }

    /// One worker's requests, one after the other.
    private func sequence(
        seed: UInt64,
        requests limit: Int?,
        deadline: ContinuousClock.Instant?,
        progress: (@Sendable (FuzzReport) -> Void)?
    ) async -> FuzzReport {
        var generator = RequestGenerator(schema: schema, seed: seed)
        var report = FuzzReport(seed: seed)
        let methods = schema.methods.sorted { $0.path < $1.path }
        // Streams are picked half as often: each one waits for its bound.
        let weighted = methods + methods.filter { $0.kind == .unary }
        // Reads first, with empty requests: they fill the pool from the demo shop.
        var warmUp = methods.filter { $0.idempotency == .noSideEffects && $0.kind == .unary }
        while limit.map({ report.requests < $0 }) ?? true, deadline.map({ ContinuousClock.now < $0 }) ?? true {
            generator.now = target.clock.clock.now().seconds
            let method: RPCMethodDescriptor
            let request: [UInt8]
            if !warmUp.isEmpty {
                method = warmUp.removeFirst()
                request = []
            } else {
                method = generator.random.pick(weighted)
                request = generator.request(method.requestType)
            }
            await call(method, request: request, generator: &generator, report: &report)
            // Most calls never suspend: without this the loop would hold a thread of
            // the cooperative pool (two on two cores) for the whole run.
            await Task.yield()
            if report.requests % 500 == 0 {
                // Time passes: reservations expire, SLA clocks run out, sweeps find work.
                target.clock.advance(seconds: Int64.random(in: 0...172_800, using: &generator.random))
                progress?(report)
            }
        }
        report.poolKeys = generator.pool.keyCount
        return report
    }

    private func call(
        _ method: RPCMethodDescriptor,
        request: [UInt8],
        generator: inout RequestGenerator,
        report: inout FuzzReport
    ) async {
        report.requests += 1
        let streaming = method.kind != .unary
        do {
            let responses: [ByteBuffer]
            if streaming {
                var requests = [request]
                switch method.kind {
                case .serverStreaming:
                    // One request, as the protocol says; now and then none or two.
                    if generator.random.chance(4) { requests = generator.random.chance(50) ? [] : [request, request] }
                default:
                    for _ in 0..<Int.random(in: 0...2, using: &generator.random) {
                        requests.append(generator.request(method.requestType))
                    }
                }
                responses = try await stream(method, requests: requests)
            } else {
                responses = [
                    try await target.transport.unary(
                        method,
                        request: ByteBuffer(bytes: request),
                        options: RPCCallOptions(timeout: Self.unaryBound)
                    )
                ]
            }
            report.statuses[method.path, default: [:]][.ok, default: 0] += 1
            for response in responses {
                let bytes = Array(response.readableBytesView)
                if let type = O2OSchemaRegistry.messageTypes[method.responseType] {
                    do {
                        _ = try type.init(serializedBytes: response)
                    } catch {
                        report.findings.append(
                            FuzzFinding(
                                method: method.path,
                                problem: "OK with a response that does not decode: \(error)",
                                request: request
                            )
                        )
                    }
                }
                generator.pool.harvest(bytes, as: method.responseType)
            }
        } catch let error as RPCError {
            report.statuses[method.path, default: [:]][error.code, default: 0] += 1
            report.refused(method.path, error)
            if let problem = problem(with: error, method: method, streaming: streaming) {
                report.findings.append(FuzzFinding(method: method.path, problem: problem, request: request))
            }
        } catch {
            report.statuses[method.path, default: [:]][.unknown, default: 0] += 1
            report.findings.append(
                FuzzFinding(
                    method: method.path,
                    problem: "threw \(type(of: error)), not a status: \(error)",
                    request: request
                )
            )
        }
    }

    /// Sends `requests` on one stream, then reads at most three responses.
    private func stream(_ method: RPCMethodDescriptor, requests: [[UInt8]]) async throws -> [ByteBuffer] {
        try await target.transport.streaming(method, options: RPCCallOptions(timeout: Self.streamBound)) { streams in
            for request in requests { try await streams.requests.write(ByteBuffer(bytes: request)) }
            try await streams.finishRequests()
            var received: [ByteBuffer] = []
            do {
                while received.count < 3, let message = try await streams.responses.next() { received.append(message) }
            } catch let error as RPCError where error.code == .deadlineExceeded && !received.isEmpty {
                // A watch that answered and then waited: what it sent counts.
            }
            return received
        }
    }

    private func problem(with error: RPCError, method: RPCMethodDescriptor, streaming: Bool) -> String? {
        let text = "\(error.code.name): \(error.message)"
        if error.code == .deadlineExceeded {
            return streaming ? nil : "no answer within \(Self.unaryBound)"
        }
        if streaming, error.code == .cancelled { return nil }
        if error.code == .unimplemented, !target.served.contains(method.path) { return nil }
        guard Self.allowedStatuses.contains(error.code) else { return "answered \(text)" }
        if error.message.isEmpty { return "answered \(error.code.name) without saying why" }
        return nil
    }
}
