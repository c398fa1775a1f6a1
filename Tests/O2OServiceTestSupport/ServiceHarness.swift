import Foundation
public import Logging
public import O2OClient
import O2OPlatform
public import O2OServiceKit
import O2OStorage
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

    /// Runs `body` with the harness, then stops the server and closes the store.
    /// - Parameters:
    ///   - demo: Load the demo shop first.
    ///   - directory: Where a RocksDB store lives (kept afterwards); a temporary one by
    ///     default.
    public static func run<Result: Sendable>(
        _ kind: StoreKind,
        transport: HarnessTransport = .loopback,
        demo: Bool = false,
        directory: String? = nil,
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
            let platform = try await O2OPlatform.open(store: store, logger: quietLogger)
            let services = platform.services
            if demo { try await platform.loadDemo(logger: quietLogger) }
            let errorMapping = ServiceErrorMapping(logger: quietLogger)
            func harness(_ client: O2OServiceClients, port: Int?) -> ServiceHarness {
                ServiceHarness(client: client, port: port, store: store, clock: clock)
            }
            let result: Result
            switch transport {
            case .inProcess:
                let local = RPCInProcessTransport(services: services, errorMapping: errorMapping)
                result = try await body(harness(O2OServiceClients(transport: local), port: nil))
            case .loopback:
                let configuration = O2OServerConfiguration(
                    listeners: [.tcp(host: "127.0.0.1", port: 0)],
                    gracePeriod: .seconds(1)
                )
                result = try await withO2OServer(
                    configuration: configuration,
                    services: services,
                    errorMapping: errorMapping,
                    logger: quietLogger
                ) { server in
                    guard case .tcp(_, let port) = try await server.listeningAddresses()[0] else {
                        fatalError("no TCP listener")
                    }
                    return try await withO2OClient(port: port) { client in
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
