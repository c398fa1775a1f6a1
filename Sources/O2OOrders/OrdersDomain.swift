import Logging
import O2OCRM
import O2OCatalog
import O2OInventory
import O2OMessages
import O2OPromotions
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// The orders as the server composes them. Served so far: carts, QuoteOrder and the
/// order settings; the other OrderService methods answer UNIMPLEMENTED ("unknown
/// method") until they are built.
public struct OrdersDomain: ServiceDomain {
    public let name = "orders"
    public let provider: OrderServiceProvider

    package init(
        store: ServiceStore,
        currency: String,
        catalog: any CatalogReading,
        customers: any CustomerReading,
        availability: any StockAvailability,
        promotions: PromotionPricing,
        logger: Logger
    ) {
        provider = OrderServiceProvider(
            store: store,
            currency: currency,
            catalog: catalog,
            customers: customers,
            availability: availability,
            promotions: promotions,
            logger: logger
        )
    }

    public var services: [any RPCService] { [ServedOrderMethods(provider: provider)] }
    public var keyspace: [KeyspaceEntry] { OrderTables.keyspace + CartTables.keyspace }
}

/// The methods of OrderService that are served today.
struct ServedOrderMethods: RPCService {
    let provider: OrderServiceProvider

    static var serviceDescriptor: RPCServiceDescriptor { OrderService.descriptor }

    func registerMethods(with router: inout RPCRouter) {
        let provider = provider
        router.registerUnary(OrderService.Method.createCart) { (request: CreateCartRequest, context) -> Cart in
            try await provider.createCart(request: request, context: context)
        }
        router.registerUnary(OrderService.Method.getCart) { (request: GetCartRequest, context) -> Cart in
            try await provider.getCart(request: request, context: context)
        }
        router.registerUnary(OrderService.Method.listCarts) {
            (request: ListCartsRequest, context) -> ListCartsResponse in
            try await provider.listCarts(request: request, context: context)
        }
        router.registerUnary(OrderService.Method.setCartItems) { (request: SetCartItemsRequest, context) -> Cart in
            try await provider.setCartItems(request: request, context: context)
        }
        router.registerUnary(OrderService.Method.clearCart) { (request: ClearCartRequest, context) -> Cart in
            try await provider.clearCart(request: request, context: context)
        }
        router.registerUnary(OrderService.Method.deleteCart) { (request: DeleteCartRequest, context) -> Empty in
            try await provider.deleteCart(request: request, context: context)
        }
        router.registerUnary(OrderService.Method.quoteOrder) { (request: QuoteOrderRequest, context) -> OrderQuote in
            try await provider.quoteOrder(request: request, context: context)
        }
        router.registerUnary(OrderService.Method.getOrderSettings) {
            (request: GetOrderSettingsRequest, context) -> OrderSettings in
            try await provider.getOrderSettings(request: request, context: context)
        }
        router.registerUnary(OrderService.Method.updateOrderSettings) {
            (request: UpdateOrderSettingsRequest, context) -> OrderSettings in
            try await provider.updateOrderSettings(request: request, context: context)
        }
    }
}
