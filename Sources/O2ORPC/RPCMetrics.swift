import Histogram
import Synchronization

/// Per-method counters, errors by status code, calls in flight and a latency
/// histogram, since the server started. The admin service and the shell's `stats`
/// read it.
public final class RPCMetrics: Sendable {
    /// What is known about one method.
    public struct MethodSnapshot: Sendable, Hashable {
        public var path: String
        /// Calls finished.
        public var calls: UInt64
        /// Calls finished with a status other than OK.
        public var errors: UInt64
        /// Finished calls by status code.
        public var byCode: [RPCStatusCode: UInt64]
        /// Calls running now.
        public var inFlight: Int
        /// Latency percentiles in microseconds.
        public var p50Micros: UInt64
        public var p90Micros: UInt64
        public var p99Micros: UInt64
        public var maxMicros: UInt64
    }

    private struct MethodState {
        var calls: UInt64 = 0
        var errors: UInt64 = 0
        /// Indexed by status code: no hashing on every call.
        var byCode = [UInt64](repeating: 0, count: RPCStatusCode.allCodes.count)
        var inFlight = 0
        var latency = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)

        mutating func finish(code: RPCStatusCode, micros: UInt64) {
            inFlight -= 1
            calls += 1
            if code != .ok { errors += 1 }
            byCode[code.rawValue] += 1
            _ = latency.record(min(micros, latency.highestTrackableValue))
        }
    }

    private let methods = Mutex<[String: MethodState]>([:])

    public init() {}

    /// Lists every method from the start, so that idle ones show up with zeros.
    public func register(_ methods: [RPCMethodDescriptor]) {
        self.methods.withLock { state in
            for method in methods where state[method.path] == nil { state[method.path] = MethodState() }
        }
    }

    /// A call started.
    public func started(_ path: String) {
        methods.withLock { $0[path, default: MethodState()].inFlight += 1 }
    }

    /// A call finished with `code` after `duration`.
    public func finished(_ path: String, code: RPCStatusCode, duration: Duration) {
        let micros =
            UInt64(max(0, duration.components.seconds)) * 1_000_000
            + UInt64(max(0, duration.components.attoseconds / 1_000_000_000_000))
        methods.withLock { state in
            state[path, default: MethodState()].finish(code: code, micros: micros)
        }
    }

    /// Every method's figures, sorted by path.
    public func snapshot() -> [MethodSnapshot] {
        methods.withLock { state in
            state.map { path, method in
                MethodSnapshot(
                    path: path,
                    calls: method.calls,
                    errors: method.errors,
                    byCode: Dictionary(
                        uniqueKeysWithValues: method.byCode.enumerated().compactMap { code, count in
                            count == 0 ? nil : RPCStatusCode(rawValue: code).map { ($0, count) }
                        }
                    ),
                    inFlight: method.inFlight,
                    p50Micros: method.calls == 0 ? 0 : method.latency.valueAtPercentile(50),
                    p90Micros: method.calls == 0 ? 0 : method.latency.valueAtPercentile(90),
                    p99Micros: method.calls == 0 ? 0 : method.latency.valueAtPercentile(99),
                    maxMicros: method.calls == 0 ? 0 : method.latency.max
                )
            }
        }.sorted { $0.path < $1.path }
    }

    /// Calls running now, over all methods.
    public var callsInFlight: Int {
        methods.withLock { $0.values.reduce(0) { $0 + $1.inFlight } }
    }
}

/// Records every call in an `RPCMetrics`.
public struct RPCMetricsInterceptor: RPCServerInterceptor {
    public let metrics: RPCMetrics

    public init(metrics: RPCMetrics) {
        self.metrics = metrics
    }

    public func intercept(
        context: RPCServerContext,
        next: (RPCServerContext) async throws -> RPCServerResponse
    ) async throws -> RPCServerResponse {
        let path = context.method.path
        metrics.started(path)
        let start = ContinuousClock.now
        do {
            let response = try await next(context)
            metrics.finished(path, code: .ok, duration: ContinuousClock.now - start)
            return response
        } catch {
            let code = rpcError(from: error, requestID: context.requestID).code
            metrics.finished(path, code: code, duration: ContinuousClock.now - start)
            throw error
        }
    }
}
