import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import O2OMessages
import O2ONIOTransport
import O2OPlatform
import O2ORPC
import O2OServiceKit
import O2OStorage
import Prometheus
import ServiceLifecycle
import Synchronization

/// The server's figures in the Prometheus text format: calls, errors and latency per
/// method (recorded as calls end), and at each scrape the connections, the store,
/// the background jobs and the shop's gauges.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let calls: [String: Counter]
    private let durations: [String: DurationHistogram]
    private let errors = Mutex<[String: Counter]>([:])
    /// What the job counters last showed, so each scrape adds what happened since.
    private let jobsSeen = Mutex<[String: JobRecords.Figures]>([:])

    /// Latency buckets from 100 µs to 10 s.
    static let buckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    init(methods: [RPCMethodDescriptor]) {
        var calls: [String: Counter] = [:]
        var durations: [String: DurationHistogram] = [:]
        for method in methods {
            let label = [("method", Self.name(method.path))]
            calls[method.path] = registry.makeCounter(
                descriptor: Self.described("o2o_rpc_calls_total", "Calls finished, by method."),
                labels: label
            )
            durations[method.path] = registry.makeDurationHistogram(
                descriptor: Self.described(
                    "o2o_rpc_duration_seconds",
                    "Time from a call's start to its end, by method."
                ),
                labels: label,
                buckets: Self.buckets
            )
        }
        self.calls = calls
        self.durations = durations
    }

    static func described(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// "CatalogService/GetProduct" for "/o2o.catalog.v1.CatalogService/GetProduct".
    static func name(_ path: String) -> String {
        let parts = path.split(separator: "/")
        guard parts.count == 2 else { return path }
        return "\(parts[0].split(separator: ".").last ?? parts[0])/\(parts[1])"
    }

    func finished(_ path: String, code: RPCStatusCode, duration: Duration) {
        guard let counter = calls[path] else { return }
        counter.increment()
        durations[path]?.record(duration)
        guard code != .ok else { return }
        let key = path + " " + code.name
        let errors = self.errors.withLock { known -> Counter in
            if let counter = known[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: Self.described(
                    "o2o_rpc_errors_total",
                    "Calls that ended with an error status, by method and status."
                ),
                labels: [("method", Self.name(path)), ("code", code.name)]
            )
            known[key] = counter
            return counter
        }
        errors.increment()
    }

    /// One scrape at a time: a second waits for the first.
    private let scraping = AsyncGate()

    func scrapeAlone(_ sources: Sources) async -> [UInt8] {
        await scraping.run { await scrape(sources) }
    }

    /// What a scrape needs besides the calls.
    struct Sources: Sendable {
        var connections: @Sendable () async -> Int
        var callsInFlight: @Sendable () -> Int
        var engine: any StorageEngine
        var platform: O2OPlatform
        var started: Double
    }

    /// Updates the gauges, then renders everything.
    func scrape(_ sources: Sources) async -> [UInt8] {
        let now = Double(Timestamps.nanos(ServiceClock.system.now())) / 1e9
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
            registry.makeGauge(descriptor: Self.described(name, help), labels: labels)
        }
        gauge("o2o_uptime_seconds", "Seconds since the server started.").set(now - sources.started)
        gauge("o2o_connections", "Open client connections.").set(Double(await sources.connections()))
        gauge("o2o_rpc_calls_in_flight", "Calls running now.").set(Double(sources.callsInFlight()))
        if let storage = try? await sources.engine.statistics() {
            let engine = [("engine", storage.engine)]
            gauge("o2o_storage_size_bytes", "Bytes the store takes (on disk for RocksDB).", engine)
                .set(Double(storage.sizeBytes))
            gauge("o2o_storage_keys", "Keys in the store (an estimate for RocksDB).", engine)
                .set(Double(storage.approximateKeys))
        }
        // Taken under the lock: a later snapshot never meets an earlier one's counts.
        let (jobs, previous) = jobsSeen.withLock { seen in
            let jobs = JobRecords.shared.snapshot()
            defer { seen = jobs }
            return (jobs, seen)
        }
        for (name, figures) in jobs {
            let job = [("job", name)]
            var before = previous[name] ?? JobRecords.Figures()
            if figures.runs < before.runs || figures.failures < before.failures { before = JobRecords.Figures() }
            registry.makeCounter(
                descriptor: Self.described("o2o_job_runs_total", "Rounds of each background job."),
                labels: job
            )
            .increment(by: Int64(figures.runs &- before.runs))
            registry.makeCounter(
                descriptor: Self.described("o2o_job_failures_total", "Rounds that failed."),
                labels: job
            )
            .increment(by: Int64(figures.failures &- before.failures))
            let duration = figures.lastDuration.components
            gauge("o2o_job_last_duration_seconds", "How long the last round took.", job)
                .set(Double(duration.seconds) + Double(duration.attoseconds) / 1e18)
            gauge("o2o_job_last_success_timestamp_seconds", "When the last round that did not fail ended.", job)
                .set(figures.lastSuccess)
        }
        if let progress = try? await sources.platform.stats.progress() {
            gauge("o2o_statistics_lag_seconds", "How far the statistics lag committed changes.")
                .set(max(0, now - Double(Timestamps.nanos(progress.computedAt)) / 1e9))
            for status in OrderStatus.knownCases where status != .unspecified {
                let name =
                    status.protoValueName.map { String($0.dropFirst("ORDER_STATUS_".count)) } ?? "\(status.rawValue)"
                gauge("o2o_orders", "Orders in each status now.", [("status", name)])
                    .set(Double(progress.ordersByStatus[status.rawValue] ?? 0))
            }
            gauge("o2o_tickets_open", "Complaint tickets in an open state now.").set(Double(progress.openTickets))
            gauge("o2o_sla_breaches", "SLA breaches recorded so far.").set(Double(progress.slaBreaches))
        }
        if let low = try? await lowStock(sources, now: now) {
            gauge("o2o_low_stock_levels", "Stock levels (a SKU at a location) below their reorder threshold.")
                .set(Double(low))
        }
        return registry.emitToBuffer()
    }

    /// The low-stock count reads every stock level: at most once per 10 s, however
    /// often scrapers come.
    private let lowStockSeen = Mutex<(count: Int, at: Double)?>(nil)

    private func lowStock(_ sources: Sources, now: Double) async throws -> Int {
        if let seen = lowStockSeen.withLock({ $0 }), now - seen.at < 10 { return seen.count }
        let count = try await sources.platform.inventory.levelsBelowReorderThreshold()
        lowStockSeen.withLock { $0 = (count, now) }
        return count
    }
}

/// Calls, errors and latency per method, as each call ends.
struct PrometheusInterceptor: RPCServerInterceptor {
    let metrics: ServerMetrics

    func intercept(
        context: RPCServerContext,
        next: (RPCServerContext) async throws -> RPCServerResponse
    ) async throws -> RPCServerResponse {
        let start = ContinuousClock.now
        do {
            let response = try await next(context)
            metrics.finished(context.method.path, code: .ok, duration: ContinuousClock.now - start)
            return response
        } catch {
            let code = rpcError(from: error, requestID: context.requestID).code
            metrics.finished(context.method.path, code: code, duration: ContinuousClock.now - start)
            throw error
        }
    }
}

/// `GET /metrics` over HTTP/1.1 on its own port, until a graceful shutdown.
struct MetricsEndpoint: Service {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    typealias Listener = NIOAsyncChannel<Connection, Never>

    let listener: Listener
    let metrics: ServerMetrics
    let sources: ServerMetrics.Sources
    let logger: Logger

    /// Binds the port (before the server starts, so a port in use is a start error).
    static func bind(host: String, port: Int) async throws -> Listener {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// "127.0.0.1:9464".
    var address: String {
        let local = listener.channel.localAddress
        return "\(local?.ipAddress ?? "?"):\(local?.port ?? 0)"
    }

    /// Scrapers at once; more connections are closed at once.
    static let maximumConnections = 16
    /// A connection that has not sent its request by then is closed.
    static let requestTimeout: Duration = .seconds(10)

    func run() async throws {
        let open = OpenConnections()
        await cancelWhenGracefulShutdown {
            do {
                try await withThrowingDiscardingTaskGroup { group in
                    try await listener.executeThenClose { connections in
                        for try await connection in connections {
                            let admitted = open.count.withLock { count -> Bool in
                                guard count < Self.maximumConnections else { return false }
                                count += 1
                                return true
                            }
                            guard admitted else {
                                try? await connection.channel.close()
                                continue
                            }
                            group.addTask {
                                defer { open.count.withLock { $0 -= 1 } }
                                try? await withThrowingTaskGroup(of: Void.self) { race in
                                    race.addTask { try await serve(connection) }
                                    race.addTask {
                                        try await Task.sleep(for: Self.requestTimeout)
                                        try? await connection.channel.close()
                                    }
                                    try await race.next()
                                    race.cancelAll()
                                }
                            }
                        }
                    }
                }
            } catch {
                logger.error("the metrics endpoint stopped", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One request, then the connection closes.
    private func serve(_ connection: Connection) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let request): head = request
                case .body: continue
                case .end:
                    guard let request = head else { return }
                    let path = request.uri.split(separator: "?").first.map(String.init) ?? request.uri
                    let (status, type, body): (HTTPResponseStatus, String, [UInt8])
                    if request.method != .GET {
                        (status, type, body) = (.methodNotAllowed, "text/plain", Array("GET only\n".utf8))
                    } else if path == "/metrics" {
                        (status, type, body) = (.ok, "text/plain; version=0.0.4", await metrics.scrapeAlone(sources))
                    } else {
                        (status, type, body) = (.notFound, "text/plain", Array("not found; try /metrics\n".utf8))
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: type)
                    headers.add(name: "Content-Length", value: "\(body.count)")
                    headers.add(name: "Connection", value: "close")
                    try await outbound.write(
                        .head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))
                    )
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                    try await outbound.write(.end(nil))
                    // Everything written goes out before the connection closes.
                    outbound.finish()
                    return
                }
            }
        }
    }
}

/// Runs one body at a time, in arrival order.
final class AsyncGate: Sendable {
    private let state = Mutex<(busy: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func run<Result: Sendable>(_ body: () async -> Result) async -> Result {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.busy {
                    state.waiting.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if now { continuation.resume() }
        }
        let result = await body()
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
        return result
    }
}

/// The metrics connections open now.
private final class OpenConnections: Sendable {
    let count = Mutex(0)
}
