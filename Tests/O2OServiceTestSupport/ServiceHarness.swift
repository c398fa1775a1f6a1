import Foundation
public import Logging
public import O2OClient
public import O2OPlatform
public import O2OServiceKit
import O2OStorage
import Synchronization
import Testing

/// Which storage engine a test runs on.
public enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case rocksdb
    public var testDescription: String { rawValue }
}

/// How a test reaches the services.
public enum HarnessTransport: Sendable {
    /// A real server on an ephemeral loopback port and a real client.
    case loopback
    /// The same call path in-process, without sockets.
    case inProcess
}

/// A logger that drops everything unless O2O_TEST_LOG is set.
public let quietLogger: Logger = {
    var logger = Logger(label: "o2o.test")
    logger.logLevel = ProcessInfo.processInfo.environment["O2O_TEST_LOG"] == nil ? .critical : .debug
    return logger
}()

/// Every domain over one store, as the server composes them (with the error mapping
/// the server applies), reached through a real client, with a clock the
/// test moves. One harness for every domain's tests.
public struct ServiceHarness: Sendable {
    /// The domains' typed clients.
    public let client: O2OServiceClients
    /// The server's TCP port on 127.0.0.1 (loopback only).
    public let port: Int?
    /// The store the domains share.
    public let store: ServiceStore
    /// The time the services read; `advance(seconds:)` moves it.
    public let clock: AdjustableClock
    /// The platform the server hosts.
    public let platform: O2OPlatform

    /// Runs `body` with clients that send `token` (loopback only).
    public func withClient<Result: Sendable>(
        token: String,
        _ body: (O2OServiceClients) async throws -> Result
    ) async throws -> Result {
        guard let port else { fatalError("withClient(token:) needs a loopback harness") }
        return try await withO2OClient(port: port, token: token) { try await body($0.services) }
    }

    /// Runs `body` with the harness, then stops the server and closes the store.
    /// - Parameters:
    ///   - demo: Load the demo shop first.
    ///   - directory: Where a RocksDB store lives (kept afterwards); a temporary one by
    ///     default.
    ///   - tokens: Bearer tokens the server requires (with the server's role policy);
    ///     nil for an open server.
    ///   - logger: Where the server and the services log.
    public static func run<Result: Sendable>(
        _ kind: StoreKind,
        transport: HarnessTransport = .loopback,
        demo: Bool = false,
        directory: String? = nil,
        tokens: [String: RPCPrincipal]? = nil,
        logger: Logger = quietLogger,
        _ body: (ServiceHarness) async throws -> Result
    ) async throws -> Result {
        let path =
            directory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("o2o-services-\(UUID().uuidString)").path
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: path) } }
        let engine: any StorageEngine =
            kind == .memory ? MemoryEngine() : try RocksDBEngine(path: path, syncPolicy: .none, threads: 4)
        let clock = AdjustableClock()
        let store = ServiceStore(records: RecordStore(engine: engine), clock: clock.clock)
        do {
            let platform = try await O2OPlatform.open(store: store, logger: logger)
            let services = platform.services
            if demo { try await platform.loadDemo(logger: logger) }
            let errorMapping = ServiceErrorMapping(logger: logger)
            var interceptors: [any RPCServerInterceptor] = [RPCLoggingInterceptor(logger: logger)]
            if let tokens {
                let policy = RPCAccessPolicy(adminServices: Set(platform.adminServices))
                interceptors.append(RPCAuthInterceptor(tokens: tokens, policy: policy))
            }
            func harness(_ client: O2OServiceClients, port: Int?) -> ServiceHarness {
                ServiceHarness(client: client, port: port, store: store, clock: clock, platform: platform)
            }
            let result: Result
            switch transport {
            case .inProcess:
                let local = RPCInProcessTransport(
                    services: services,
                    interceptors: interceptors,
                    errorMapping: errorMapping
                )
                result = try await body(harness(O2OServiceClients(transport: local), port: nil))
            case .loopback:
                let configuration = O2OServerConfiguration(
                    listeners: [.tcp(host: "127.0.0.1", port: 0)],
                    gracePeriod: .seconds(1)
                )
                result = try await withO2OServer(
                    configuration: configuration,
                    services: services,
                    interceptors: interceptors,
                    errorMapping: errorMapping,
                    logger: logger
                ) { server in
                    guard case .tcp(_, let port) = try await server.listeningAddresses()[0] else {
                        fatalError("no TCP listener")
                    }
                    // The main client is the admin when the server wants tokens.
                    let admin = tokens?.first { $0.value.role == .admin }?.key
                    return try await withO2OClient(port: port, token: admin) { client in
                        try await body(harness(client.services, port: port))
                    }
                }
            }
            try await engine.close()
            return result
        } catch {
            try? await engine.close()
            throw error
        }
    }
}

/// Keeps every line logged, at every level, with its metadata: for checking what the
/// server writes to its logs.
public final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    /// A logger at trace level that writes here.
    public var logger: Logger {
        Logger(label: "o2o.captured") { _ in Handler(log: self) }
    }

    public var text: String { lines.withLock { $0.joined(separator: "\n") } }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let error = event.error.map { " error=\($0)" } ?? ""
            log.append("\(event.level) \(event.message) \(all.map { "\($0.key)=\($0.value)" }.sorted())\(error)")
        }
    }
}
