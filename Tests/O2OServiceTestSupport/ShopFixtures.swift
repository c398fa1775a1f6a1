import Foundation
public import O2OClient
import O2OTestSupport
import Testing

/// Yuan in fen, for the shop below.
private func shopMoney(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: "CNY") }

/// A small shop: a two-level category, one product with two SKUs (100.00 and 50.00),
/// a warehouse and a pickup store holding them, a gold customer with points.
public struct QuoteShop: Sendable {
    public var skus: [String]
    public var warehouse: StockLocation
    public var store: StockLocation
    public var customer: Customer
    public var gold: MembershipTier

    public static func open(_ harness: ServiceHarness) async throws -> QuoteShop {
        let client = harness.client
        let root = try await client.catalog.createCategory(CreateCategoryRequest(requestID: rid(), name: "食品 Food"))
        let leaf = try await client.catalog.createCategory(
            CreateCategoryRequest(requestID: rid(), parentID: root.id, name: "茶 Tea")
        )
        let product = try await client.catalog.createProduct(
            CreateProductRequest(
                requestID: rid(),
                product: ProductSpec(
                    productCode: "TEA-1",
                    name: "龙井 Longjing",
                    categoryID: leaf.id,
                    skus: [
                        SkuSpec(
                            skuCode: "TEA-1-250",
                            attributes: [SkuAttribute(name: "size", value: "250g")],
                            price: shopMoney(10_000)
                        ),
                        SkuSpec(
                            skuCode: "TEA-1-100",
                            attributes: [SkuAttribute(name: "size", value: "100g")],
                            price: shopMoney(5_000)
                        ),
                    ]
                ),
                status: .onShelf
            )
        )
        let skus = product.skus.sorted { $0.skuCode < $1.skuCode }.reversed().map(\.id)
        func location(
            _ code: String,
            _ kind: StockLocationKind,
            latitude: Double,
            pickup: Bool
        ) async throws
            -> StockLocation
        {
            try await client.inventory.createStockLocation(
                CreateStockLocationRequest(
                    requestID: rid(),
                    stockLocation: StockLocation(
                        code: code,
                        name: code,
                        kind: kind,
                        coordinates: GeoPoint(latitude: latitude, longitude: 121.47),
                        ships: true,
                        offersPickup: pickup,
                        deliveryRadiusMeters: kind == .store ? 3000 : 0
                    )
                )
            )
        }
        let warehouse = try await location("WH", .warehouse, latitude: 31.30, pickup: false)
        let store = try await location("ST", .store, latitude: 31.23, pickup: true)
        for (location, quantity) in [(warehouse, Int64(100)), (store, Int64(2))] {
            _ = try await client.inventory.adjustStock(
                AdjustStockRequest(
                    requestID: rid(),
                    locationID: location.id,
                    reason: .return,
                    lines: skus.map { StockAdjustmentLine(skuID: $0, quantityDelta: quantity) }
                )
            )
        }
        _ = try await client.crm.createMembershipTier(
            CreateMembershipTierRequest(
                requestID: rid(),
                code: "member",
                name: "Member",
                rank: 0,
                minQualifyingSpend: shopMoney(0)
            )
        )
        let gold = try await client.crm.createMembershipTier(
            CreateMembershipTierRequest(
                requestID: rid(),
                code: "gold",
                name: "Gold",
                rank: 1,
                minQualifyingSpend: shopMoney(100),
                discountBps: 1000
            )
        )
        var customer = try await client.crm.createCustomer(
            CreateCustomerRequest(
                requestID: rid(),
                displayName: "顾客",
                email: "quote-\(UUID().uuidString.prefix(8))@example.com"
            )
        )
        // 1,000.00 spent: gold, 1,000 points.
        customer =
            try await client.crm.recordCompletedOrder(
                RecordCompletedOrderRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    orderID: "old-1",
                    paidAmount: shopMoney(100_000)
                )
            ).customer!
        return QuoteShop(skus: skus, warehouse: warehouse, store: store, customer: customer, gold: gold)
    }

    public func delivery(latitude: Double = 31.31) -> CheckoutFulfillment {
        CheckoutFulfillment(
            mode: .delivery,
            shippingAddress: PostalAddress(
                countryCode: "CN",
                province: "上海市",
                city: "上海市",
                street: "示例路 1 号",
                recipientName: "收货人",
                recipientPhone: "13800138000",
                location: GeoPoint(latitude: latitude, longitude: 121.47)
            )
        )
    }

    public func spec(
        _ quantities: [Int64],
        fulfillment: CheckoutFulfillment,
        coupons: [String] = [],
        points: Int64 = 0
    )
        -> CheckoutSpec
    {
        CheckoutSpec(
            customerID: customer.id,
            source: .lines(
                CheckoutLineList(lines: zip(skus, quantities).map { CheckoutLine(skuID: $0, quantity: $1) })
            ),
            fulfillment: fulfillment,
            couponCodes: coupons,
            pointsToRedeem: points
        )
    }
}

/// Checkout, payment and the other steps of an order's life, as a client drives them.
extension QuoteShop {
    public func order(
        _ client: O2OServiceClients,
        _ quantities: [Int64],
        fulfillment: CheckoutFulfillment? = nil,
        coupons: [String] = [],
        points: Int64 = 0,
        requestID: String = rid()
    ) async throws -> Order {
        try await client.order.createOrder(
            CreateOrderRequest(
                requestID: requestID,
                checkout: spec(quantities, fulfillment: fulfillment ?? delivery(), coupons: coupons, points: points)
            )
        )
    }

    /// An order of `quantities` by delivery from the warehouse, paid, shipped and
    /// delivered.
    public func delivered(
        _ client: O2OServiceClients,
        _ quantities: [Int64],
        now: Timestamp,
        points: Int64 = 0
    ) async throws -> Order {
        let order = try await self.order(client, quantities, points: points)
        try await client.pay(order)
        _ = try await client.order.startOrderFulfillment(
            StartOrderFulfillmentRequest(requestID: rid(), orderID: order.id)
        )
        let shipment = try await client.order.createShipment(
            CreateShipmentRequest(
                requestID: rid(),
                orderID: order.id,
                locationID: warehouse.id,
                carrierCode: "SF",
                trackingNumber: "SF\(UUID().uuidString.prefix(8))"
            )
        )
        _ = try await client.order.recordShipmentEvent(
            RecordShipmentEventRequest(
                requestID: rid(),
                shipmentID: shipment.id,
                event: ShipmentEvent(status: .delivered, occurredAt: now, description: "signed", carrierEventID: "d1")
            )
        )
        return try await client.fetch(order)
    }

    public func pickup() -> CheckoutFulfillment {
        CheckoutFulfillment(mode: .storePickup, pickupLocationID: store.id)
    }
}

extension O2OServiceClients {
    /// Starts a payment for what is left and reports its success; returns the payment.
    @discardableResult
    public func pay(
        _ order: Order,
        channel: PaymentChannel = .wechatPay,
        transactionID: String = "wx-\(UUID().uuidString.prefix(12))"
    ) async throws -> Payment {
        let payment = try await self.order.createPayment(
            CreatePaymentRequest(requestID: rid(), orderID: order.id, channel: channel)
        )
        return try await succeed(payment, transactionID: transactionID)
    }

    @discardableResult
    public func succeed(_ payment: Payment, transactionID: String, requestID: String = rid()) async throws -> Payment {
        try await order.recordPaymentCallback(
            RecordPaymentCallbackRequest(
                requestID: requestID,
                paymentID: payment.id,
                channel: payment.channel,
                channelTransactionID: transactionID,
                outcome: .succeeded,
                amount: payment.amount
            )
        )
    }

    public func refunded(_ refund: Refund, outcome: RefundStatus = .succeeded) async throws -> Refund {
        try await order.recordRefundCallback(
            RecordRefundCallbackRequest(
                requestID: rid(),
                refundID: refund.id,
                channel: refund.channel,
                channelRefundID: "rf-\(UUID().uuidString.prefix(12))",
                outcome: outcome,
                amount: refund.amount
            )
        )
    }

    public func fetch(_ order: Order) async throws -> Order {
        try await self.order.getOrder(GetOrderRequest(id: order.id))
    }

    public func level(_ sku: String, at location: StockLocation) async throws -> StockLevel {
        try await inventory.getStockLevel(GetStockLevelRequest(skuID: sku, locationID: location.id))
    }

    public func points(_ customer: Customer) async throws -> Int64 {
        try await crm.getPointsBalance(GetPointsBalanceRequest(customerID: customer.id)).balance
    }

    public func refunds(of order: Order) async throws -> [Refund] {
        try await self.order.listRefunds(ListRefundsRequest(orderID: order.id)).refunds
    }

    public func history(of order: Order) async throws -> [OrderHistoryEntry] {
        try await self.order.listOrderHistory(ListOrderHistoryRequest(orderID: order.id)).entries
    }

    /// Every stock level agrees with its ledger, and every points balance with its.
    public func expectLedgersConsistent(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stock = try await inventoryAdmin.checkStockLedger(CheckStockLedgerRequest())
        #expect(stock.discrepancyCount == 0, "\(stock.discrepancies)", sourceLocation: sourceLocation)
        let points = try await crmAdmin.checkPointsLedger(CheckPointsLedgerRequest())
        #expect(points.discrepancyCount == 0, "\(points.discrepancies)", sourceLocation: sourceLocation)
    }
}
