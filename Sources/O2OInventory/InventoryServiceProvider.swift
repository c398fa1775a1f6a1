public import Logging
public import O2OCatalog
public import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage
public import ServiceLifecycle

/// The inventory service: locations, stock levels, basket availability, reservations,
/// the ledger, purchase orders, stock-takes, transfers and low-stock alerts.
///
/// Every change to on hand or reserved goes through `StockBook.apply` inside one
/// transaction with its ledger entry and alerts, and the transaction reads the stock
/// it changes, so the store's conflict checks make concurrent changes of the same
/// stock run one after the other: availability can never go negative. Callers that
/// touch the same stock first queue on in-process locks (`stockLocks`), so a hot SKU
/// does not turn into a storm of transaction retries.
public final class InventoryServiceProvider: InventoryServiceProtocol {
    let store: ServiceStore
    let logger: Logger
    /// The currency of purchase costs (ISO 4217), the catalog's.
    let currency: String
    /// SKUs and suppliers, read through the catalog's port.
    let catalog: any CatalogReading
    let alertFeed = ChangeFeed()

    /// - Parameters:
    ///   - catalog: What the inventory reads of the catalog.
    ///   - currency: The currency of purchase costs.
    package init(store: ServiceStore, catalog: any CatalogReading, currency: String = "CNY", logger: Logger) {
        self.store = store
        self.catalog = catalog
        self.currency = currency
        self.logger = logger
    }

    /// The lock names of SKUs' stock at locations: a change of stock holds them from
    /// before its transaction until its writes are visible, so the next caller of the
    /// same stock starts then, not after this one's fsync.
    static func stockLocks(_ pairs: some Sequence<(location: String, sku: String)>) -> [String] {
        pairs.map { "stock/\($0.location)\u{1}\($0.sku)" }
    }

    func actor(_ context: RPCServerContext, _ given: ChangeActor?) throws -> ChangeActor {
        try context.actor(given)
    }

    /// A supplier known to the catalog: NOT_FOUND naming the field otherwise.
    func supplier(_ reader: some RecordReading, _ id: String, field: String) async throws -> Supplier {
        let id = try Validate.id(id, field: field)
        guard let supplier = try await catalog.supplier(id, in: reader) else {
            throw RPCError(code: .notFound, message: "\(field): no supplier '\(id)'")
        }
        return supplier
    }

    /// A SKU known to the catalog: NOT_FOUND naming the field otherwise.
    func requireCatalogSku(_ reader: some RecordReading, _ id: String, field: String) async throws {
        guard try await catalog.sku(id, in: reader) != nil else {
            throw RPCError(code: .notFound, message: "\(field): the catalog has no SKU '\(id)'")
        }
    }

    public func getStockLocation(
        request: GetStockLocationRequest,
        context: RPCServerContext
    ) async throws -> StockLocation {
        try await store.latest.require(InventoryTables.locations, request.id, field: "id")
    }

    public func getStockReservation(
        request: GetStockReservationRequest,
        context: RPCServerContext
    ) async throws -> StockReservation {
        try await store.latest.require(InventoryTables.reservations, request.id, field: "id")
    }
}

/// Inventory maintenance for operators: the ledger check and the expiry sweep.
public final class InventoryAdminServiceProvider: InventoryAdminServiceProtocol {
    let inventory: InventoryServiceProvider

    public init(inventory: InventoryServiceProvider) {
        self.inventory = inventory
    }

    public func checkStockLedger(
        request: CheckStockLedgerRequest,
        context: RPCServerContext
    ) async throws -> CheckStockLedgerResponse {
        try await inventory.checkStockLedger(request)
    }

    public func sweepExpiredStockReservations(
        request: SweepExpiredStockReservationsRequest,
        context: RPCServerContext
    ) async throws -> SweepExpiredStockReservationsResponse {
        try await inventory.sweepExpiredStockReservations(request, context)
    }
}

/// The inventory as the server composes it: the service, its admin service, and the
/// job that releases expired reservations.
public struct InventoryDomain: ServiceDomain {
    public let name = "inventory"
    public let provider: InventoryServiceProvider
    private let logger: Logger

    /// - Parameters:
    ///   - catalog: The catalog, whose SKUs and suppliers the inventory reads.
    ///   - currency: The currency of purchase costs.
    public init(store: ServiceStore, catalog: CatalogDomain, currency: String = "CNY", logger: Logger) {
        provider = InventoryServiceProvider(store: store, catalog: catalog.reading, currency: currency, logger: logger)
        self.logger = logger
    }

    public var services: [any RPCService] { [provider, InventoryAdminServiceProvider(inventory: provider)] }
    public var adminServices: [String] { [InventoryAdminService.name] }
    public var keyspace: [KeyspaceEntry] { InventoryTables.keyspace }

    /// Every few seconds, releases reservations whose expiry passed.
    public var jobs: [any Service] {
        let provider = self.provider
        return [
            PeriodicJob(name: "stock reservation expiry", every: .seconds(5), logger: logger) {
                var more = true
                while more, !Task.isCancelled {
                    more = try await provider.sweepExpired(limit: 500, requestID: "").moreRemaining
                }
            }
        ]
    }
}

extension InventoryDomain {
    /// Stock levels (SKU at a location) whose available stock is below their reorder
    /// threshold now: for the metrics endpoint, which reads every level (a few tens of
    /// thousands in a large shop) for it, at most every 10 s.
    public func levelsBelowReorderThreshold() async throws -> Int {
        var count = 0
        try await provider.store.read { reader in
            try await reader.forEachPage(InventoryTables.levels, RecordQuery(pageSize: 500)) { page in
                count += page.count { $0.belowReorderThreshold }
            }
        }
        return count
    }
}
