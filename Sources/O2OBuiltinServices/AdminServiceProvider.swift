public import O2ORPC
public import O2ORPCMessages
import O2OServiceKit
import Synchronization

/// What the admin service reads from the server that hosts it; the server fills it
/// in, so this module knows neither sockets nor storage engines.
public struct AdminBackend: Sendable {
    /// Version, uptime, store, addresses, counts.
    public var serverInfo: @Sendable () async -> ServerInfo
    /// The open connections.
    public var connections: @Sendable () async -> [ConnectionInfo]
    /// Per-method counters.
    public var metrics: RPCMetrics
    /// When the counters started.
    public var startedAt: Timestamp
    /// Takes an online backup into a new directory.
    public var createBackup: @Sendable (_ directory: String) async throws -> CreateBackupResponse
    /// Storage engine figures.
    public var storageStats: @Sendable () async throws -> GetStorageStatsResponse

    public init(
        serverInfo: @escaping @Sendable () async -> ServerInfo,
        connections: @escaping @Sendable () async -> [ConnectionInfo],
        metrics: RPCMetrics,
        startedAt: Timestamp,
        createBackup: @escaping @Sendable (String) async throws -> CreateBackupResponse,
        storageStats: @escaping @Sendable () async throws -> GetStorageStatsResponse
    ) {
        self.serverInfo = serverInfo
        self.connections = connections
        self.metrics = metrics
        self.startedAt = startedAt
        self.createBackup = createBackup
        self.storageStats = storageStats
    }
}

/// Administration of a running server; the admin role only.
public final class AdminServiceProvider: AdminServiceProtocol {
    private let backend: AdminBackend
    /// Backups already taken, by request id, so a retry returns the first result.
    private let backups = Mutex<[String: CreateBackupResponse]>([:])

    public init(backend: AdminBackend) {
        self.backend = backend
    }

    public func getServerInfo(request: GetServerInfoRequest, context: RPCServerContext) async throws -> ServerInfo {
        await backend.serverInfo()
    }

    public func listConnections(
        request: ListConnectionsRequest,
        context: RPCServerContext
    ) async throws -> ListConnectionsResponse {
        let all = await backend.connections()
        let page = try Paging.page(all, request: request.page, field: "page")
        return ListConnectionsResponse(connections: page.items, nextPageToken: page.nextToken)
    }

    public func getMethodStats(
        request: GetMethodStatsRequest,
        context: RPCServerContext
    ) async throws -> GetMethodStatsResponse {
        let methods = backend.metrics.snapshot()
            .filter { request.filter.isEmpty || $0.path.contains(request.filter) }
            .filter { request.includeIdle || $0.calls > 0 || $0.inFlight > 0 }
            .map { snapshot in
                MethodStats(
                    path: snapshot.path,
                    calls: snapshot.calls,
                    errors: snapshot.errors,
                    byCode: snapshot.byCode.sorted { $0.value > $1.value }.map {
                        StatusCount(code: UInt32($0.key.rawValue), name: $0.key.name, count: $0.value)
                    },
                    inFlight: UInt32(max(0, snapshot.inFlight)),
                    p50Micros: snapshot.p50Micros,
                    p90Micros: snapshot.p90Micros,
                    p99Micros: snapshot.p99Micros,
                    maxMicros: snapshot.maxMicros
                )
            }
        return GetMethodStatsResponse(methods: methods, since: backend.startedAt)
    }

    public func createBackup(
        request: CreateBackupRequest,
        context: RPCServerContext
    ) async throws -> CreateBackupResponse {
        try RequestIDs.validate(request.requestID)
        guard !request.directory.isEmpty else {
            throw RPCError.invalidArgument(field: "directory", "must not be empty")
        }
        guard request.directory.utf8.count <= 4096 else {
            throw RPCError.invalidArgument(field: "directory", "longer than 4096 bytes")
        }
        if let earlier = backups.withLock({ $0[request.requestID] }) { return earlier }
        let response = try await backend.createBackup(request.directory)
        backups.withLock { $0[request.requestID] = response }
        return response
    }

    public func getStorageStats(
        request: GetStorageStatsRequest,
        context: RPCServerContext
    ) async throws -> GetStorageStatsResponse {
        try await backend.storageStats()
    }
}
