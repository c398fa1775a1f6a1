import Logging
import O2OCRM
import O2OCatalog
import O2OInventory
public import O2OMessages
import O2OPricing
import O2OPromotions
public import O2ORPC
import O2OServiceKit
import O2OStorage

/// The order service: carts, quotes, checkout, the order life cycle, payments,
/// refunds, shipments, the history and its event stream, and the order settings.
///
/// Every change of an order's status goes through `OrderBook`, in one transaction with
/// its side effects in other domains, each through that domain's port: stock
/// (`StockReservations`), coupons and promotion uses (`PromotionUses`), points
/// (`OrderLoyalty`). Changes of one order queue on its lock.
public final class OrderServiceProvider: OrderServiceProtocol {
    let store: ServiceStore
    let currency: String
    let catalog: any CatalogReading
    let customers: any CustomerReading
    let availability: any StockAvailability
    let reservations: any StockReservations
    let locations: any StockLocationReading
    let promotions: PromotionPricing
    let uses: PromotionUses
    let loyalty: any OrderLoyalty
    let events: OrderEventLog
    let logger: Logger

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
        self.store = store
        self.currency = currency
        self.catalog = catalog
        self.customers = customers
        self.availability = availability
        self.reservations = reservations
        self.locations = locations
        self.promotions = promotions
        self.uses = uses
        self.loyalty = loyalty
        self.events = OrderEventLog.orders(store: store)
        self.logger = logger
    }

    static func orderLock(_ id: String) -> String { "order/\(id)" }

    // MARK: - Settings

    /// Free delivery, payment within 30 minutes, completion 7 days after delivery,
    /// stores looked for within 20 km: a shop sets its own fees.
    var defaultSettings: OrderSettings {
        OrderSettings(
            currency: currency,
            paymentTimeoutSeconds: 1800,
            autoCompleteAfterDays: 7,
            deliveryFee: Money(minorUnits: 0, currency: currency),
            storeDeliveryFee: Money(minorUnits: 0, currency: currency),
            storeSearchRadiusMeters: 20_000,
            version: 0
        )
    }

    func settings(_ reader: some RecordReading) async throws -> OrderSettings {
        try await reader.get(OrderTables.settings, .string("settings")) ?? defaultSettings
    }

    public func getOrderSettings(
        request: GetOrderSettingsRequest,
        context: RPCServerContext
    ) async throws -> OrderSettings {
        try await settings(store.latest)
    }

    public func updateOrderSettings(
        request: UpdateOrderSettingsRequest,
        context: RPCServerContext
    ) async throws -> OrderSettings {
        guard let given = request.settings else { throw RPCError.invalidArgument(field: "settings", "is required") }
        let code = given.currency.trimmingWhitespace().uppercased()
        guard code.isEmpty || code == currency else {
            throw RPCError(
                code: .failedPrecondition,
                message: "settings.currency: the catalog prices in \(currency); orders use the same currency"
            )
        }
        let timeout = given.paymentTimeoutSeconds == 0 ? 1800 : given.paymentTimeoutSeconds
        guard (60...86_400).contains(timeout) else {
            throw RPCError.invalidArgument(field: "settings.payment_timeout_seconds", "must be 60 to 86400, or 0")
        }
        let complete = given.autoCompleteAfterDays == 0 ? 7 : given.autoCompleteAfterDays
        guard (1...30).contains(complete) else {
            throw RPCError.invalidArgument(field: "settings.auto_complete_after_days", "must be 1 to 30, or 0")
        }
        let radius = given.storeSearchRadiusMeters == 0 ? 20_000 : given.storeSearchRadiusMeters
        guard (1...1_000_000).contains(radius) else {
            throw RPCError.invalidArgument(field: "settings.store_search_radius_meters", "must be 1 to 1000000, or 0")
        }
        func fee(_ money: Money?, _ field: String) throws -> Money {
            let amount = try Validate.money(money, field: "settings.\(field)", currency: currency, required: false)
            return Money(minorUnits: amount?.minorUnits ?? 0, currency: currency)
        }
        var settings = OrderSettings(
            currency: currency,
            paymentTimeoutSeconds: timeout,
            autoCompleteAfterDays: complete,
            deliveryFee: try fee(given.deliveryFee, "delivery_fee"),
            freeDeliveryThreshold: try fee(given.freeDeliveryThreshold, "free_delivery_threshold"),
            storeDeliveryFee: try fee(given.storeDeliveryFee, "store_delivery_fee"),
            freeStoreDeliveryThreshold: try fee(given.freeStoreDeliveryThreshold, "free_store_delivery_threshold"),
            allowSplitDelivery: given.allowSplitDelivery,
            storeSearchRadiusMeters: radius
        )
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let current = try await self.settings(transaction)
            try Validate.version(request.expectedVersion, actual: current.version, subject: "the order settings")
            settings.version = try Checked.add(current.version, 1, field: "version")
            settings.updatedAt = transaction.now
            try await transaction.save(OrderTables.settings, settings)
            return settings
        }
    }
}
