import O2OInventory
import O2OMessages
import O2OPricing
import O2OServiceKit
import O2OStorage

/// A replacement order worked out before its change: where its stock comes from and
/// the locks the change must hold.
package struct ReplacementPlan: Sendable {
    fileprivate let checkout: CheckedCheckout
    fileprivate let stock: StockPlan
    fileprivate let spec: ReplacementOrderSpec
    /// The locks to hold around the change that places it.
    package let locks: [String]
}

/// What the care domain does with orders, inside its own changes: read the order a
/// case is about, refund returned goods to the payment, and place the zero-priced
/// replacement order of an exchange. Refunds and orders still go through the order
/// service's own code (its state machine, its refund rules), in the caller's commit.
package protocol AfterSalesOrders: Sendable {
    /// The order, or nil.
    func order(_ id: String, in reader: some RecordReading) async throws -> Order?
    /// The locks to hold for changing the order (a refund).
    func orderLocks(_ orderID: String) async throws -> [String]
    /// Creates a PENDING refund of `units` (order line id and quantity) of the
    /// order for `amount`, reason AFTER_SALES_RETURN, in `transaction`.
    /// FAILED_PRECONDITION when the amount is more than those units are worth, more
    /// than is left to refund, or the order has no successful payment.
    func refundReturn(
        orderID: String,
        paymentID: String?,
        units: [(lineID: String, quantity: Int64)],
        amount: Int64,
        caseID: String,
        note: String,
        actor: ChangeActor,
        requestID: String,
        in transaction: ServiceTransaction
    ) async throws -> Refund
    /// Where the replacement goods for `lines` of `originalOrderID` come from, shipped
    /// or handed over as the original order was; FAILED_PRECONDITION naming what is
    /// missing when no location has them.
    func planReplacement(
        originalOrderID: String,
        caseID: String,
        lines: [StockBasketLine]
    ) async throws -> ReplacementPlan
    /// Places the planned replacement order (PAID, priced at zero, its stock
    /// reserved) in `transaction`.
    func placeReplacement(
        _ plan: ReplacementPlan,
        actor: ChangeActor,
        requestID: String,
        in transaction: ServiceTransaction
    ) async throws -> Order
}

extension OrderServiceProvider: AfterSalesOrders {
    package func order(_ id: String, in reader: some RecordReading) async throws -> Order? {
        try await reader.get(OrderTables.orders, .string(id))
    }

    package func orderLocks(_ orderID: String) async throws -> [String] {
        guard let order = try await store.latest.get(OrderTables.orders, .string(orderID)) else { return [] }
        return try await locks(for: order)
    }

    package func refundReturn(
        orderID: String,
        paymentID: String?,
        units: [(lineID: String, quantity: Int64)],
        amount: Int64,
        caseID: String,
        note: String,
        actor: ChangeActor,
        requestID: String,
        in transaction: ServiceTransaction
    ) async throws -> Refund {
        let selections = units.map { RefundLineSelection(lineID: $0.lineID, quantity: $0.quantity) }
        return try await placeRefund(
            RefundSpec(
                orderID: orderID,
                paymentID: paymentID,
                scope: .returned(selections, amount: amount),
                reason: .afterSalesReturn,
                caseID: caseID,
                note: note,
                requestID: requestID,
                actor: actor
            ),
            in: transaction
        )
    }

    package func planReplacement(
        originalOrderID: String,
        caseID: String,
        lines: [StockBasketLine]
    ) async throws -> ReplacementPlan {
        let original = try await store.latest.require(OrderTables.orders, originalOrderID, field: "order_id")
        let checkout = CheckedCheckout(
            customerID: original.customerID,
            lines: lines.map { CheckoutLine(skuID: $0.skuID, quantity: $0.quantity) },
            cartID: nil,
            fulfillment: CheckoutFulfillment(
                mode: original.fulfillmentMode,
                shippingAddress: original.shippingAddress,
                pickupLocationID: original.pickupLocationID
            ),
            couponCodes: [],
            points: 0,
            deviceID: "",
            customerNote: "replacement for order \(original.orderNumber)"
        )
        let stock = try await placeStock(checkout, settings: try await settings(store.latest))
        guard stock.fullyAvailable else { throw Self.shortageError(stock.shortages, mode: checkout.fulfillment.mode) }
        var locks = [Self.customerOrdersLock(original.customerID)] + loyalty.locks(customerID: original.customerID)
        for part in stock.parts {
            locks += try await reservations.reservationLocks(
                part.lines.map { StockBasketLine(skuID: $0.skuID, quantity: $0.quantity) },
                placement: .location(part.locationID)
            )
        }
        return ReplacementPlan(
            checkout: checkout,
            stock: stock,
            spec: ReplacementOrderSpec(originalOrderID: original.id, afterSalesCaseID: caseID),
            locks: locks
        )
    }

    package func placeReplacement(
        _ plan: ReplacementPlan,
        actor: ChangeActor,
        requestID: String,
        in transaction: ServiceTransaction
    ) async throws -> Order {
        try await placeOrder(
            plan.checkout,
            plan: plan.stock,
            automatic: PromotionIndex([]),
            expected: nil,
            replacement: plan.spec,
            risk: nil,
            requestID: requestID,
            actor: actor,
            in: transaction
        )
    }
}

extension OrdersDomain {
    /// Orders as the care domain uses them.
    package var afterSales: any AfterSalesOrders { provider }
}
