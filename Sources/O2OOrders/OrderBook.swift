import O2OCRM
import O2OInventory
import O2OMessages
import O2OPromotions
import O2ORPC
import O2OServiceKit
import O2OStorage

/// The one place an order's status changes: the transition table of OrderStatus,
/// the side effects of entering each status in the same transaction (stock, coupons,
/// points), and exactly one history entry (with its event) per change.
struct OrderBook {
    let provider: OrderServiceProvider
    let transaction: ServiceTransaction
    let actor: ChangeActor
    /// The call's request id, for the history and the stock ledger; empty for the
    /// sweeper and automatic steps.
    let requestID: String

    /// The transition table of OrderStatus (order.proto).
    static let machine = StatusMachine<OrderStatus>(
        "order",
        [
            .pendingPayment: [.paid, .cancelled],
            .paid: [.fulfilling, .refunding],
            .fulfilling: [.shipped, .readyForPickup, .refunding],
            .readyForPickup: [.delivered, .refunding],
            .shipped: [.delivered, .refunding],
            .delivered: [.completed, .refunding],
            .completed: [.refunding],
            .refunding: [.refunded],
        ]
    )

    /// Stock stays reserved 30 days once paid: until shipment or pickup.
    static let paidReservationSeconds: Int64 = 30 * 86_400

    /// Records a new order with its CREATED entry.
    func create(_ order: inout Order, reason: String) async throws {
        order.version = 1
        order.historySequence = 0
        order.createdAt = transaction.now
        order.updatedAt = transaction.now
        // Nothing payable: paid on creation.
        if order.status == .paid { order.paidAt = transaction.now }
        let entry = entry(order, kind: .created, from: .unspecified, reason: reason)
        order.historySequence = entry.sequence
        try await transaction.insert(OrderTables.orders, order)
        try await append(entry, order: order)
        // Created paid (nothing payable): its coupons are spent at once; its stock was
        // reserved for as long as a paid order's.
        if order.status == .paid { try await provider.uses.redeem(orderID: order.id, in: transaction) }
    }

    /// Moves `order` to `status` with the side effects of entering it, and writes it.
    /// FAILED_PRECONDITION naming both states for a move the table does not list.
    func move(
        _ order: inout Order,
        to status: OrderStatus,
        reason: String,
        field: String = "order_id",
        paymentID: String = "",
        refundID: String = "",
        shipmentID: String = "",
        riskDecisionID: String = "",
        refundReason: RefundReason = .cancellation
    ) async throws {
        let from = order.status
        try Self.machine.check(from, status, field: field, id: order.id)
        order.status = status
        let now = transaction.now
        var refundedAlready = false
        switch status {
        case .paid:
            order.paidAt = now
            order.paymentDeadline = nil
            try await provider.uses.redeem(orderID: order.id, in: transaction)
            // The other attempts will not be needed.
            try await closePendingPayments(order)
            for id in order.reservationIDs {
                try await provider.reservations.extend(
                    reservation: id,
                    ttlSeconds: Self.paidReservationSeconds,
                    in: transaction
                )
            }
        case .cancelled:
            order.cancelledAt = now
            order.cancelReason = reason
            order.paymentDeadline = nil
            try await releaseStock(order, reason: reason)
            try await provider.uses.release(orderID: order.id, in: transaction)
            try await provider.loyalty.reverse(
                customerID: order.customerID,
                orderID: order.id,
                refundID: "",
                refund: 0,
                wholeOrder: true,
                currency: provider.currency,
                actor: actor,
                in: transaction
            )
            try await closePendingPayments(order)
        case .refunding:
            if [.paid, .fulfilling, .readyForPickup].contains(from) {
                order.cancelledAt = now
                order.cancelReason = reason
                try await releaseStock(order, reason: reason)
                refundedAlready = try await provider.refundEverything(order, reason: refundReason, in: self)
            }
        case .shipped, .readyForPickup:
            order.shippedAt = now
        case .delivered:
            order.deliveredAt = now
            if order.fulfillmentMode == .storePickup {
                for id in order.reservationIDs {
                    _ = try await provider.reservations.commit(
                        reservation: id,
                        actor: actor,
                        requestID: requestID,
                        note: "order \(order.orderNumber) collected",
                        in: transaction
                    )
                }
                for index in order.lines.indices { order.lines[index].shippedQuantity = order.lines[index].quantity }
            }
        case .completed:
            order.completedAt = now
            try await SettlementBook(transaction: transaction, currency: provider.currency).orderFinal(order)
            try await provider.loyalty.recordCompleted(
                customerID: order.customerID,
                orderID: order.id,
                paid: try Self.paidForGoods(order),
                currency: provider.currency,
                requestID: requestID.isEmpty ? "order-\(order.id)" : requestID,
                actor: actor,
                in: transaction
            )
        case .refunded:
            order.refundedAt = now
            try await SettlementBook(transaction: transaction, currency: provider.currency).orderFinal(order)
        default:
            break
        }
        try await write(
            &order,
            kind: .statusChanged,
            from: from,
            reason: reason,
            payment: paymentID,
            refund: refundID,
            shipment: shipmentID,
            riskDecision: riskDecisionID
        )
        if refundedAlready {
            try await move(&order, to: .refunded, reason: "nothing paid is left to refund")
        }
    }

    /// Writes a change that is not a move (a payment, refund or shipment changed)
    /// with its history entry.
    func note(
        _ order: inout Order,
        kind: OrderHistoryKind,
        reason: String,
        paymentID: String = "",
        refundID: String = "",
        shipmentID: String = "",
        riskDecisionID: String = ""
    ) async throws {
        try await write(
            &order,
            kind: kind,
            from: order.status,
            reason: reason,
            payment: paymentID,
            refund: refundID,
            shipment: shipmentID,
            riskDecision: riskDecisionID
        )
    }

    /// What the customer paid with money for the goods, as the CRM counts spend:
    /// the lines' totals (points already taken off) less what was refunded of them.
    static func paidForGoods(_ order: Order) throws -> Int64 {
        var total: Int64 = 0
        for line in order.lines {
            total = try Checked.add(
                total,
                (line.total?.minorUnits ?? 0) - (line.refundedAmount?.minorUnits ?? 0),
                field: "lines"
            )
        }
        return max(0, total)
    }

    private func releaseStock(_ order: Order, reason: String) async throws {
        for id in order.reservationIDs {
            _ = try await provider.reservations.release(
                reservation: id,
                actor: actor,
                requestID: requestID,
                reason: "order \(order.orderNumber): \(reason)",
                in: transaction
            )
        }
    }

    /// Payment attempts still open when their order is paid or cancelled are CLOSED.
    private func closePendingPayments(_ order: Order) async throws {
        for var payment in try await provider.payments(of: order.id, in: transaction) where payment.status == .pending {
            payment.status = .closed
            payment.endedAt = transaction.now
            try await transaction.updateVersioned(OrderTables.payments, &payment)
        }
    }

    private func write(
        _ order: inout Order,
        kind: OrderHistoryKind,
        from: OrderStatus,
        reason: String,
        payment: String,
        refund: String,
        shipment: String,
        riskDecision: String
    ) async throws {
        var entry = entry(order, kind: kind, from: from, reason: reason)
        entry.paymentID = payment
        entry.refundID = refund
        entry.shipmentID = shipment
        entry.riskDecisionID = riskDecision
        order.historySequence = entry.sequence
        try await transaction.updateVersioned(OrderTables.orders, &order)
        try await append(entry, order: order)
    }

    private func entry(
        _ order: Order,
        kind: OrderHistoryKind,
        from: OrderStatus,
        reason: String
    )
        -> OrderHistoryEntry
    {
        OrderHistoryEntry(
            id: RecordIDs.make(prefix: "ohe"),
            orderID: order.id,
            customerID: order.customerID,
            sequence: order.historySequence + 1,
            kind: kind,
            fromStatus: from,
            toStatus: order.status,
            riskState: order.riskState,
            actor: actor,
            reason: String(reason.prefix(1024)),
            requestID: requestID,
            createdAt: transaction.now
        )
    }

    /// The entry and its event, in the same commit; the event sequencer numbers the
    /// event once it is visible.
    private func append(_ entry: OrderHistoryEntry, order: Order) async throws {
        try await transaction.insert(OrderTables.history, entry)
        try await provider.events.record(OrderEvent(entry: entry, order: order), in: transaction)
    }
}
