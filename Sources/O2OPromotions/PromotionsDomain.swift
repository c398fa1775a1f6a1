import Logging
import O2OCRM
import O2OCatalog
import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// The promotions as the server composes them: the service, and the port through
/// which checkout takes uses and locks coupons.
public struct PromotionsDomain: ServiceDomain {
    public let name = "promotions"
    public let provider: PromotionServiceProvider
    /// What checkout takes from promotions and coupons, in its own change.
    public let uses: PromotionUses
    /// What quotes and checkout read for pricing.
    public let pricing: PromotionPricing

    /// - Parameters:
    ///   - catalog: The SKUs, products and categories scopes name.
    ///   - customers: The customers coupons go to and the tiers promotions are for.
    package init(
        store: ServiceStore,
        currency: String,
        catalog: any CatalogReading,
        customers: any CustomerReading,
        logger: Logger
    ) {
        pricing = PromotionPricing(store: store)
        provider = PromotionServiceProvider(
            store: store,
            currency: currency,
            catalog: catalog,
            customers: customers,
            pricing: pricing,
            logger: logger
        )
        uses = PromotionUses(currency: currency)
    }

    public var services: [any RPCService] { [provider] }
    public var keyspace: [KeyspaceEntry] { PromotionTables.keyspace }
}
