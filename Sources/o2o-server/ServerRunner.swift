import Logging
import O2OBuiltinServices
import O2ODemo
import O2OMessages
import O2ONIOTransport
import O2OPlatform
import O2ORPC
import O2OServiceKit
import O2OStorage
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Everything the server is told, from flags or the environment.
struct ServerSettings: Sendable {
    enum Store: String, Sendable {
        case rocksdb
        case memory
    }

    var port = 7070
    var host = "127.0.0.1"
    var unixSocket: String?
    var dataDirectory = "./data"
    var store = Store.rocksdb
    var sync = SyncPolicy.group
    var tlsCertificate: String?
    var tlsKey: String?
    var tokenFile: String?
    var logLevel = Logger.Level.info
    var currency = "CNY"
    var demoData = false
    var handlers = Handlers.eventLoop
    /// The Prometheus endpoint's port; nil for none.
    var metricsPort: Int?
    var metricsHost = "127.0.0.1"

    /// Where calls run once their request has arrived.
    enum Handlers: String, Sendable {
        /// Swift's global executor: one busy connection uses every core.
        case global
        /// The connection's event loop: no thread hop per call; cores are used by
        /// spreading connections over the event loops.
        case eventLoop = "event-loop"
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// Builds the store, the services and the server from the settings, runs until
/// SIGTERM or SIGINT, then drains and closes the store.
struct ServerRunner {
    let settings: ServerSettings
    let logger: Logger

    func run() async throws {
        let tokens = try loadTokens()
        let engine = try openEngine()
        do {
            try await serve(engine: engine, tokens: tokens)
        } catch {
            // The store service closes the engine on a graceful stop; this covers a
            // failure before or while starting (closing twice does nothing).
            try? await engine.close()
            throw error
        }
    }

    private func loadTokens() throws -> [String: RPCPrincipal]? {
        guard let path = settings.tokenFile else { return nil }
        guard let text = readFile(path) else {
            throw ServerCommand.Failure(
                description: "--token-file: cannot read \(path): \(String(cString: strerror(errno)))"
            )
        }
        do {
            let tokens = try RPCTokenFile.parse(text)
            guard !tokens.isEmpty else {
                throw ServerCommand.Failure(description: "--token-file \(path): no tokens in it")
            }
            return tokens
        } catch let error as RPCTokenFile.ParseError {
            throw ServerCommand.Failure(description: "--token-file \(path): \(error)")
        }
    }

    private func openEngine() throws -> any StorageEngine {
        switch settings.store {
        case .memory:
            return MemoryEngine()
        case .rocksdb:
            do {
                return try RocksDBEngine(path: settings.dataDirectory, syncPolicy: settings.sync)
            } catch let error as StorageError {
                // The engine's own text says why (permissions, a lock, corruption); an operator needs it.
                let detail = error.detail.isEmpty ? "" : " (\(error.detail))"
                throw ServerCommand.Failure(description: "--data \(settings.dataDirectory): \(error.message)\(detail)")
            }
        }
    }

    private func serve(engine: any StorageEngine, tokens: [String: RPCPrincipal]?) async throws {
        let clock = ServiceClock.system
        let started = clock.now()
        let store = ServiceStore(records: RecordStore(engine: engine), clock: clock)
        // Every domain with its services, admin services, jobs and keys.
        let platform: O2OPlatform
        do {
            platform = try await O2OPlatform.open(store: store, currency: settings.currency, logger: logger)
        } catch let conflict as Keyspace.Conflict {
            throw ServerCommand.Failure(description: "the on-disk format is inconsistent: \(conflict)")
        }
        if settings.demoData {
            switch try await platform.loadDemo(logger: logger) {
            case .loaded: break
            case .alreadyLoaded: logger.info("demo data already loaded")
            case .storeNotEmpty: logger.notice("the store holds other data: demo data not loaded")
            }
        }

        let policy = RPCAccessPolicy(adminServices: Set([AdminService.name] + platform.adminServices))
        let metrics = RPCMetrics()
        let health = HealthStatus()
        let serverBox = ServerBox()
        var listenAddresses: [String] = []
        let settings = self.settings
        let admin = AdminServiceProvider(
            backend: AdminBackend(
                serverInfo: {
                    let server = serverBox.server
                    let addresses = (try? await server?.listeningAddresses().map(\.description)) ?? []
                    let statistics = try? await engine.statistics()
                    let now = clock.now()
                    return ServerInfo(
                        version: ServerCommand.version,
                        startedAt: started,
                        uptimeSeconds: UInt64(max(0, now.seconds - started.seconds)),
                        store: settings.store.rawValue,
                        dataDirectory: settings.store == .memory ? "" : settings.dataDirectory,
                        syncPolicy: settings.store == .memory ? "" : settings.sync.rawValue,
                        dataSizeBytes: statistics?.sizeBytes ?? 0,
                        listenAddresses: addresses,
                        authenticationEnabled: tokens != nil,
                        tlsEnabled: settings.tlsCertificate != nil,
                        openConnections: UInt32(await server?.connections().count ?? 0),
                        callsInFlight: UInt32(max(0, metrics.callsInFlight)),
                        hostname: hostName(),
                        pid: UInt32(getpid())
                    )
                },
                connections: {
                    guard let server = serverBox.server else { return [] }
                    return await server.connections().map { connection in
                        ConnectionInfo(
                            id: connection.id,
                            peer: connection.peer,
                            openedAt: Timestamp(
                                seconds: Int64(connection.openedAt),
                                nanos: Int32((connection.openedAt.truncatingRemainder(dividingBy: 1)) * 1e9)
                            ),
                            principal: connection.principal,
                            openStreams: UInt32(connection.openStreams),
                            callsStarted: connection.callsStarted,
                            bytesReceived: connection.bytesReceived,
                            bytesSent: connection.bytesSent,
                            compression: connection.compression,
                            agent: connection.agent
                        )
                    }
                },
                metrics: metrics,
                startedAt: started,
                createBackup: { directory in
                    guard settings.store == .rocksdb else {
                        throw RPCError(
                            code: .failedPrecondition,
                            message: "directory: the memory store has nothing on disk to back up"
                        )
                    }
                    let target =
                        directory.hasPrefix("/")
                        ? directory : parentDirectory(of: settings.dataDirectory) + "/" + directory
                    do {
                        try await engine.checkpoint(to: target)
                    } catch let error as StorageError where error.code == .alreadyExists {
                        throw RPCError(code: .failedPrecondition, message: "directory: \(target) exists already")
                    }
                    return CreateBackupResponse(
                        directory: absolutePath(target),
                        sizeBytes: directorySize(target),
                        takenAt: clock.now()
                    )
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
        var services: [any RPCService] =
            platform.services + [HealthServiceProvider(status: health), admin, EchoServiceProvider()]
        let router = RPCRouter(services: services)
        services.append(
            ReflectionServiceProvider(
                // The whole schema: what this server serves, and the rest marked so.
                services: router.services + [ReflectionService.descriptor]
                    + O2OGeneratedRegistry.services.filter { schema in
                        !router.services.contains { $0.name == schema.name }
                    },
                served: router.servedPaths.union(ReflectionService.descriptor.methods.map(\.path)),
                policy: policy,
                messageTypes: O2OSchemaRegistry.messageTypes,
                enumTypes: O2OSchemaRegistry.enumTypes
            )
        )
        for service in router.services { health.set(.serving, for: service.name) }
        health.set(.serving, for: ReflectionService.name)
        metrics.register(router.methods + ReflectionService.descriptor.methods)

        var interceptors: [any RPCServerInterceptor] = [
            RPCLoggingInterceptor(logger: logger), RPCMetricsInterceptor(metrics: metrics),
        ]
        // Only with an endpoint: a scrape-less server pays nothing per call for it.
        let exported = settings.metricsPort.map { _ in
            ServerMetrics(methods: router.methods + ReflectionService.descriptor.methods)
        }
        if let exported { interceptors.append(PrometheusInterceptor(metrics: exported)) }
        if let tokens { interceptors.append(RPCAuthInterceptor(tokens: tokens, policy: policy)) }

        var listeners: [O2OListenAddress] = [.tcp(host: settings.host, port: settings.port)]
        if let path = settings.unixSocket { listeners.append(.unixSocket(path: path)) }
        let tls = settings.tlsCertificate.map {
            O2OTLSFiles(certificateChainPath: $0, privateKeyPath: settings.tlsKey!)
        }
        // Calls run on their connection's event loop by default: no thread hop per call
        // (about 40% less server CPU per call) and cores used by spreading connections
        // over the loops — 4 connections: echo 262k/s vs 160k/s, GetProduct 110k/s vs
        // 68k/s. One busy connection of heavy calls gains from the global executor
        // (search, 1 connection: 5.4k/s vs 4.8k/s), hence the setting (docs/PERFORMANCE.md).
        var connectionOptions = O2OServerConnectionOptions()
        connectionOptions.handlerExecution = settings.handlers == .global ? .globalConcurrentExecutor : .eventLoop
        let server = O2OServer(
            configuration: O2OServerConfiguration(listeners: listeners, tls: tls, connection: connectionOptions),
            services: services,
            interceptors: interceptors,
            // Innermost and only on failure, so that logging and metrics see the statuses
            // callers get.
            errorMapping: ServiceErrorMapping(logger: logger),
            logger: logger
        )
        serverBox.set(server)
        // Stopped in reverse order: the domains' jobs, then the server (which drains its
        // calls), then the store.
        var endpoint: MetricsEndpoint?
        if let exported, let port = settings.metricsPort {
            let sources = ServerMetrics.Sources(
                connections: { await serverBox.server?.connections().count ?? 0 },
                callsInFlight: { metrics.callsInFlight },
                engine: engine,
                platform: platform,
                started: Double(Timestamps.nanos(started)) / 1e9
            )
            do {
                let listener = try await MetricsEndpoint.bind(host: settings.metricsHost, port: port)
                endpoint = MetricsEndpoint(listener: listener, metrics: exported, sources: sources, logger: logger)
            } catch {
                throw ServerCommand.Failure(
                    description: "--metrics-port: cannot listen on \(settings.metricsHost):\(port): \(error)"
                )
            }
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: StoreService(engine: engine)), .init(service: server)]
                    // The metrics endpoint stopping (it logs why) leaves the calls served.
                    + (endpoint.map {
                        [.init(service: $0, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)]
                    } ?? []) + platform.jobs.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                listenAddresses = try await server.listeningAddresses().map(\.description)
            } catch {
                throw ServerCommand.Failure(
                    description: "cannot listen on \(listeners.map(\.description).joined(separator: ", ")): \(error)"
                )
            }
            let storeText =
                settings.store == .memory
                ? "store memory" : "store rocksdb, data \(settings.dataDirectory), sync \(settings.sync.rawValue)"
            let authText = tokens == nil ? "no token file: open to every caller, loopback only" : "tokens required"
            // Said before the listening line, which tests and scripts wait for.
            if let endpoint { logger.info("metrics on http://\(endpoint.address)/metrics") }
            logger.info(
                "o2o-server \(ServerCommand.version) listening on \(listenAddresses.joined(separator: ", ")) (\(storeText); \(authText)\(tls == nil ? "" : "; TLS"))"
            )
            try await tasks.next()
            health.setAllNotServing()
            tasks.cancelAll()
        }
        logger.info("o2o-server stopped")
    }
}

/// Lets the admin service reach the server it is part of (which is created after it).
final class ServerBox: Sendable {
    private let stored = Mutex<O2OServer?>(nil)
    var server: O2OServer? { stored.withLock { $0 } }
    func set(_ server: O2OServer) { stored.withLock { $0 = server } }
}

func readFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count <= 0 { break }
        bytes += chunk[0..<count]
        if bytes.count > 16 << 20 { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
}

func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func parentDirectory(of path: String) -> String {
    let absolute = absolutePath(path)
    guard let slash = absolute.lastIndex(of: "/"), slash != absolute.startIndex else { return "/" }
    return String(absolute[..<slash])
}

func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buffer, buffer.count) != nil else { return path }
    let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let trimmed = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
    return cwd + "/" + trimmed
}

/// Bytes of the regular files in a directory (one level: checkpoints are flat).
func directorySize(_ path: String) -> UInt64 {
    guard let directory = opendir(path) else { return 0 }
    defer { closedir(directory) }
    var total: UInt64 = 0
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard name != ".", name != ".." else { continue }
        var status = stat()
        if stat(path + "/" + name, &status) == 0, status.st_mode & S_IFMT == S_IFREG { total += UInt64(status.st_size) }
    }
    return total
}
