public import Logging
public import O2OCRM
public import O2OCare
public import O2OCatalog
public import O2ODemo
public import O2OInventory
public import O2OOrders
public import O2OPromotions
public import O2ORPC
public import O2OServiceKit
public import O2OStats
import O2OStorage
public import ServiceLifecycle

/// Every domain over one store, wired to each other through their ports: what the
/// server serves and what the tests run against. Adding a domain is adding it here.
public struct O2OPlatform: Sendable {
    public let catalog: CatalogDomain
    public let inventory: InventoryDomain
    public let crm: CRMDomain
    public let promotions: PromotionsDomain
    public let orders: OrdersDomain
    public let care: CareDomain
    public let stats: StatsDomain
    private let store: ServiceStore
    private let currency: String

    /// Opens every domain over `store`; throws when their keys would overlap.
    /// - Parameter currency: The catalog's currency (prices, purchase costs).
    public static func open(store: ServiceStore, currency: String = "CNY", logger: Logger) async throws -> O2OPlatform {
        let catalog = try await CatalogDomain.open(store: store, currency: currency, logger: logger)
        let inventory = InventoryDomain(store: store, catalog: catalog, currency: currency, logger: logger)
        let crm = CRMDomain(
            store: store,
            stores: HomeStores(locations: inventory.locations),
            orders: OrdersDomain.customerOrders(store: store),
            tickets: CareDomain.customerTickets(store: store),
            logger: logger
        )
        let promotions = PromotionsDomain(
            store: store,
            currency: currency,
            catalog: catalog.reading,
            customers: crm.reading,
            logger: logger
        )
        let orders = OrdersDomain(
            store: store,
            currency: currency,
            catalog: catalog.reading,
            customers: crm.reading,
            availability: inventory.availability,
            reservations: inventory.reservations,
            locations: inventory.locations,
            promotions: promotions.pricing,
            uses: promotions.uses,
            loyalty: crm.loyalty,
            logger: logger
        )
        let care = CareDomain(
            store: store,
            currency: currency,
            customers: crm.reading,
            catalog: catalog.reading,
            locations: inventory.locations,
            returns: inventory.returns,
            orders: orders.afterSales,
            logger: logger
        )
        let stats = StatsDomain(
            store: store,
            currency: currency,
            orders: orders.figures,
            care: care.figures,
            locations: inventory.locations,
            logger: logger
        )
        let platform = O2OPlatform(
            catalog: catalog,
            inventory: inventory,
            crm: crm,
            promotions: promotions,
            orders: orders,
            care: care,
            stats: stats,
            store: store,
            currency: currency
        )
        try Keyspace.check(platform.keyspace)
        return platform
    }

    /// In the order the server lists them.
    public var domains: [any ServiceDomain] { [catalog, inventory, crm, promotions, orders, care, stats] }
    public var services: [any RPCService] { domains.flatMap(\.services) }
    public var adminServices: [String] { domains.flatMap(\.adminServices) }
    public var jobs: [any Service] { domains.flatMap(\.jobs) }
    /// Every key prefix written: the record layer's, each domain's, the demo's.
    public var keyspace: [KeyspaceEntry] { Keyspace.entries(domains) + DemoData.keyspace }

    /// Loads the demo shop through the services (does nothing when it is there).
    @discardableResult
    public func loadDemo(logger: Logger) async throws -> DemoData.Outcome {
        let outcome = try await DemoData.load(into: store, services: services, currency: currency, logger: logger)
        try await DemoStock.load(into: store, services: services, currency: currency, logger: logger)
        try await DemoCustomers.load(into: store, services: services, currency: currency, logger: logger)
        try await DemoPromotions.load(into: store, services: services, currency: currency, logger: logger)
        try await DemoOrders.load(into: store, services: services, currency: currency, logger: logger)
        try await DemoCare.load(into: store, services: services, logger: logger)
        // The tickets logged days late have missed deadlines: recorded now, not at the
        // sweep's first round.
        while try await care.provider.sweepBreaches().moreRemaining {}
        try await stats.catchUp()
        return outcome
    }
}

/// The CRM's home stores are the inventory's locations.
private struct HomeStores: CustomerStores {
    let locations: any StockLocationReading

    func isStore(_ id: String, in reader: some RecordReading) async throws -> Bool {
        try await locations.location(id, in: reader) != nil
    }
}
