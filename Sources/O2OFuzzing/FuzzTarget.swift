import Foundation
public import Logging
import O2OBuiltinServices
import O2OMessages
public import O2OPlatform
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// Which engine a fuzz run stores in.
public enum FuzzStore: String, CaseIterable, Sendable {
    case memory
    case rocksdb
}

/// A whole server in-process: every domain and the built-in services over one store,
/// with the interceptors and error mapping o2o-server applies, the demo shop loaded,
/// and a clock the fuzzer moves. Calls go through the same call executor as over
/// the network, without sockets.
public final class FuzzTarget: Sendable {
    public let transport: RPCInProcessTransport
    public let platform: O2OPlatform
    public let clock: AdjustableClock
    /// The methods the target serves: every path of the schema it hosts.
    public let served: Set<String>
    private let engine: any StorageEngine
    private let directory: String?

    private init(
        transport: RPCInProcessTransport,
        platform: O2OPlatform,
        clock: AdjustableClock,
        served: Set<String>,
        engine: any StorageEngine,
        directory: String?
    ) {
        self.transport = transport
        self.platform = platform
        self.clock = clock
        self.served = served
        self.engine = engine
        self.directory = directory
    }

    /// Opens a fresh store (RocksDB in a new temporary directory, removed by
    /// `close()`) and loads the demo shop.
    public static func open(store kind: FuzzStore, logger: Logger) async throws -> FuzzTarget {
        var directory: String?
        let engine: any StorageEngine
        switch kind {
        case .memory:
            engine = MemoryEngine()
        case .rocksdb:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("o2o-fuzz-\(UUID().uuidString)")
                .path
            directory = path
            engine = try RocksDBEngine(path: path, syncPolicy: .none)
        }
        do {
            let clock = AdjustableClock()
            let store = ServiceStore(records: RecordStore(engine: engine), clock: clock.clock)
            let platform = try await O2OPlatform.open(store: store, logger: logger)
            try await platform.loadDemo(logger: logger)
            let metrics = RPCMetrics()
            let services = builtins(
                engine: engine,
                store: kind,
                clock: clock.clock,
                platform: platform,
                metrics: metrics
            )
            let router = RPCRouter(services: services)
            let transport = RPCInProcessTransport(
                services: services,
                interceptors: [RPCLoggingInterceptor(logger: logger), RPCMetricsInterceptor(metrics: metrics)],
                errorMapping: ServiceErrorMapping(logger: logger)
            )
            return FuzzTarget(
                transport: transport,
                platform: platform,
                clock: clock,
                served: router.servedPaths,
                engine: engine,
                directory: directory
            )
        } catch {
            try? await engine.close()
            if let directory { try? FileManager.default.removeItem(atPath: directory) }
            throw error
        }
    }

    /// Closes the store and removes its directory.
    public func close() async throws {
        try await engine.close()
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// The domains' services and the built-in ones, as o2o-server composes them.
    /// Backups are refused: a fuzzed directory name must not write into the machine.
    private static func builtins(
        engine: any StorageEngine,
        store: FuzzStore,
        clock: ServiceClock,
        platform: O2OPlatform,
        metrics: RPCMetrics
    ) -> [any RPCService] {
        let started = clock.now()
        let health = HealthStatus()
        let admin = AdminServiceProvider(
            backend: AdminBackend(
                serverInfo: {
                    ServerInfo(version: "fuzz", startedAt: started, store: store.rawValue, hostname: "fuzz", pid: 1)
                },
                connections: { [] },
                metrics: metrics,
                startedAt: started,
                createBackup: { directory in
                    throw RPCError(code: .failedPrecondition, message: "directory: this server does not take backups")
                },
                storageStats: {
                    let statistics = try await engine.statistics()
                    return GetStorageStatsResponse(
                        engine: statistics.engine,
                        sizeBytes: statistics.sizeBytes,
                        approximateKeys: statistics.approximateKeys,
                        properties: statistics.properties.map { StorageProperty(name: $0.name, value: $0.value) }
                    )
                }
            )
        )
        var services = platform.services + [HealthServiceProvider(status: health), admin, EchoServiceProvider()]
        let router = RPCRouter(services: services)
        let policy = RPCAccessPolicy(adminServices: Set([AdminService.name] + platform.adminServices))
        services.append(
            ReflectionServiceProvider(
                services: router.services + [ReflectionService.descriptor],
                policy: policy,
                messageTypes: O2OSchemaRegistry.messageTypes,
                enumTypes: O2OSchemaRegistry.enumTypes
            )
        )
        for service in router.services { health.set(.serving, for: service.name) }
        health.set(.serving, for: ReflectionService.name)
        metrics.register(router.methods + ReflectionService.descriptor.methods)
        return services
    }
}
