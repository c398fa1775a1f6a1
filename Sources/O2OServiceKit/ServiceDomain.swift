public import O2ORPC
public import O2OStorage
public import ServiceLifecycle

/// A domain as the server composes it: its services, which of them need the admin
/// role, its background jobs and its part of the on-disk format. Adding a domain to
/// the server is adding it to the server's list.
public protocol ServiceDomain: Sendable {
    /// For logs ("catalog").
    var name: String { get }
    /// The RPC services it serves, its admin services among them.
    var services: [any RPCService] { get }
    /// The full names of those of its services that need the admin role.
    var adminServices: [String] { get }
    /// What it runs in the background while the server runs.
    var jobs: [any Service] { get }
    /// Every table and raw key prefix it writes.
    var keyspace: [KeyspaceEntry] { get }
}

extension ServiceDomain {
    public var adminServices: [String] { [] }
    public var jobs: [any Service] { [] }
}

extension Keyspace {
    /// The record layer's prefixes and every domain's.
    public static func entries(_ domains: [any ServiceDomain]) -> [KeyspaceEntry] {
        KeyspaceEntry.recordLayer + domains.flatMap(\.keyspace)
    }
}

/// The storage engine as a lifecycle service: it runs until a graceful shutdown and
/// then closes the engine. Listed first in a service group, it is stopped last, after
/// the server has drained its calls.
public struct StoreService: Service {
    private let engine: any StorageEngine

    public init(engine: any StorageEngine) {
        self.engine = engine
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await engine.close()
    }
}
