import Logging
import O2OCRM
import O2OCatalog
import O2OInventory
import O2OMessages
import O2OPromotions
public import O2ORPC
public import O2OServiceKit
import O2OStorage
public import ServiceLifecycle

/// The orders as the server composes them, with the order sweeper and the event
/// sequencer.
public struct OrdersDomain: ServiceDomain {
    public let name = "orders"
    public let provider: OrderServiceProvider

    package init(
        store: ServiceStore,
        currency: String,
        catalog: any CatalogReading,
        customers: any CustomerReading,
        availability: any StockAvailability,
        reservations: any StockReservations,
        locations: any StockLocationReading,
        promotions: PromotionPricing,
        uses: PromotionUses,
        loyalty: any OrderLoyalty,
        logger: Logger
    ) {
        provider = OrderServiceProvider(
            store: store,
            currency: currency,
            catalog: catalog,
            customers: customers,
            availability: availability,
            reservations: reservations,
            locations: locations,
            promotions: promotions,
            uses: uses,
            loyalty: loyalty,
            logger: logger
        )
        self.logger = logger
    }

    private let logger: Logger

    public var jobs: [any Service] {
        let provider = self.provider
        return [
            PeriodicJob(name: "order sweep", every: .seconds(60), firstRunAfter: .seconds(10), logger: logger) {
                var more = true
                while more, !Task.isCancelled { more = try await provider.sweep(limit: 1000).moreRemaining }
            },
            PeriodicJob(name: "order event sequencer", every: .seconds(1), logger: logger) {
                while try await provider.events.sequence() > 0, !Task.isCancelled {}
            },
            PeriodicJob(
                name: "order event retention",
                every: .seconds(3600),
                firstRunAfter: .seconds(120),
                logger: logger
            ) {
                while try await provider.events.prune() > 0, !Task.isCancelled {}
            },
        ]
    }

    public var services: [any RPCService] {
        [
            provider, OrderRiskServiceProvider(orders: provider), SettlementServiceProvider(orders: provider),
        ]
    }
    public var keyspace: [KeyspaceEntry] {
        OrderTables.keyspace + CartTables.keyspace + RiskTables.keyspace + SettlementTables.keyspace
    }

    /// The order figures of the CRM's customer-360 view.
    package static func customerOrders(store: ServiceStore) -> any CustomerOrderSource {
        CustomerOrders(store: store)
    }
}
