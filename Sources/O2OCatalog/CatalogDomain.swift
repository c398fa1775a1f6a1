public import Logging
import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// The catalog as the server composes it.
public struct CatalogDomain: ServiceDomain {
    public let name = "catalog"
    /// The service.
    public let provider: CatalogServiceProvider
    /// What other domains may read of the catalog.
    package var reading: any CatalogReading { CatalogReader() }

    /// Opens the catalog over a store, building its search index.
    public static func open(store: ServiceStore, currency: String = "CNY", logger: Logger) async throws -> CatalogDomain
    {
        CatalogDomain(provider: try await CatalogServiceProvider.open(store: store, currency: currency, logger: logger))
    }

    public var services: [any RPCService] { [provider] }
    public var keyspace: [KeyspaceEntry] { CatalogTables.keyspace }
}

/// What other domains read of the catalog, inside their own transactions (so the
/// reads are conflict-checked with their changes). The only way in: no other domain
/// knows the catalog's tables.
package protocol CatalogReading: Sendable {
    /// The SKU, or nil.
    func sku(_ id: String, in reader: some RecordReading) async throws -> Sku?
    /// The supplier, or nil.
    func supplier(_ id: String, in reader: some RecordReading) async throws -> Supplier?
    /// The product, or nil.
    func product(_ id: String, in reader: some RecordReading) async throws -> Product?
    /// The category, or nil.
    func category(_ id: String, in reader: some RecordReading) async throws -> Category?
    /// Every SKU id, in id order, at most `limit`.
    func skuIDs(in reader: some RecordReading, limit: Int) async throws -> [String]
}

struct CatalogReader: CatalogReading {
    func sku(_ id: String, in reader: some RecordReading) async throws -> Sku? {
        try await reader.get(CatalogTables.skus, .string(id))
    }

    func supplier(_ id: String, in reader: some RecordReading) async throws -> Supplier? {
        try await reader.get(CatalogTables.suppliers, .string(id))
    }

    func skuIDs(in reader: some RecordReading, limit: Int) async throws -> [String] {
        try await reader.all(CatalogTables.skus, limit: limit).map(\.id)
    }

    func product(_ id: String, in reader: some RecordReading) async throws -> Product? {
        try await reader.get(CatalogTables.products, .string(id))
    }

    func category(_ id: String, in reader: some RecordReading) async throws -> Category? {
        try await reader.get(CatalogTables.categories, .string(id))
    }
}
