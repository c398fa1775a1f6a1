import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

/// Checkout, payment and the other steps of an order's life, as a client drives them.
extension QuoteShop {
    func order(
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

    func pickup() -> CheckoutFulfillment {
        CheckoutFulfillment(mode: .storePickup, pickupLocationID: store.id)
    }
}

extension O2OServiceClients {
    /// Starts a payment for what is left and reports its success; returns the payment.
    @discardableResult
    func pay(
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
    func succeed(_ payment: Payment, transactionID: String, requestID: String = rid()) async throws -> Payment {
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

    func refunded(_ refund: Refund, outcome: RefundStatus = .succeeded) async throws -> Refund {
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

    func fetch(_ order: Order) async throws -> Order {
        try await self.order.getOrder(GetOrderRequest(id: order.id))
    }

    func level(_ sku: String, at location: StockLocation) async throws -> StockLevel {
        try await inventory.getStockLevel(GetStockLevelRequest(skuID: sku, locationID: location.id))
    }

    func points(_ customer: Customer) async throws -> Int64 {
        try await crm.getPointsBalance(GetPointsBalanceRequest(customerID: customer.id)).balance
    }

    func refunds(of order: Order) async throws -> [Refund] {
        try await self.order.listRefunds(ListRefundsRequest(orderID: order.id)).refunds
    }

    func history(of order: Order) async throws -> [OrderHistoryEntry] {
        try await self.order.listOrderHistory(ListOrderHistoryRequest(orderID: order.id)).entries
    }

    /// Every stock level agrees with its ledger, and every points balance with its.
    func expectLedgersConsistent(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stock = try await inventoryAdmin.checkStockLedger(CheckStockLedgerRequest())
        #expect(stock.discrepancyCount == 0, "\(stock.discrepancies)", sourceLocation: sourceLocation)
        let points = try await crmAdmin.checkPointsLedger(CheckPointsLedgerRequest())
        #expect(points.discrepancyCount == 0, "\(points.discrepancies)", sourceLocation: sourceLocation)
    }
}
