import O2OMessages
import O2ORPC
package import O2OServiceKit
import O2OStorage

/// What the orders change in the CRM, inside the order's own change: points redeemed
/// at checkout, completion (spend and earned points), reversal on cancellation and
/// refund. Every change of points still goes through the one points book, and the
/// order's transition and its points commit together or not at all.
///
/// A caller holds `locks(customerID:)` around its transaction, as the CRM's own calls
/// do. Amounts are minor units of the order currency; when the loyalty currency is
/// another one, points neither pay nor are earned (pricing already offers none).
package protocol OrderLoyalty: Sendable {
    /// The locks to hold for changing a customer's points.
    func locks(customerID: String) -> [String]
    /// Redeems `points` for the order in `transaction`; FAILED_PRECONDITION when the
    /// customer is not ACTIVE, the balance is short or the order amount too small.
    func redeem(
        points: Int64,
        customerID: String,
        orderID: String,
        orderAmount: Int64,
        currency: String,
        actor: ChangeActor,
        in transaction: ServiceTransaction
    ) async throws
    /// Records the completed order: spend, earned points, tier.
    func recordCompleted(
        customerID: String,
        orderID: String,
        paid: Int64,
        currency: String,
        requestID: String,
        actor: ChangeActor,
        in transaction: ServiceTransaction
    ) async throws
    /// Reverses the order's points for a cancellation (`refundID` empty, `refund` 0)
    /// or a refund; does nothing for an order the CRM never heard of, or a refund it
    /// reversed already.
    func reverse(
        customerID: String,
        orderID: String,
        refundID: String,
        refund: Int64,
        wholeOrder: Bool,
        currency: String,
        actor: ChangeActor,
        in transaction: ServiceTransaction
    ) async throws
}

extension CrmServiceProvider: OrderLoyalty {
    package func locks(customerID: String) -> [String] { [Self.customerLock(customerID)] }

    package func redeem(
        points: Int64,
        customerID: String,
        orderID: String,
        orderAmount: Int64,
        currency: String,
        actor: ChangeActor,
        in transaction: ServiceTransaction
    ) async throws {
        let settings = try await settings(transaction)
        guard settings.currency == currency, points > 0, points % settings.redeemPointsPerUnit == 0,
            points >= settings.minRedeemPoints
        else {
            throw RPCError(
                code: .failedPrecondition,
                message: "checkout.points_to_redeem: \(points) points cannot be redeemed on this order"
            )
        }
        _ = try await redeem(
            points: points,
            customerID: customerID,
            orderID: orderID,
            orderAmount: orderAmount,
            settings: settings,
            actor: actor,
            in: transaction
        )
    }

    package func recordCompleted(
        customerID: String,
        orderID: String,
        paid: Int64,
        currency: String,
        requestID: String,
        actor: ChangeActor,
        in transaction: ServiceTransaction
    ) async throws {
        let settings = try await settings(transaction)
        guard settings.currency == currency else { return }
        guard let customer = try await transaction.get(CRMTables.customers, .string(customerID)),
            customer.status != .erased
        else { return }
        if let record = try await transaction.get(CRMTables.orders, .string(orderID)), record.completedAt != nil {
            return
        }
        _ = try await completeOrder(
            customerID: customerID,
            orderID: orderID,
            paid: max(0, paid),
            completedAt: transaction.now,
            requestID: requestID,
            settings: settings,
            actor: actor,
            in: transaction
        )
    }

    package func reverse(
        customerID: String,
        orderID: String,
        refundID: String,
        refund: Int64,
        wholeOrder: Bool,
        currency: String,
        actor: ChangeActor,
        in transaction: ServiceTransaction
    ) async throws {
        let settings = try await settings(transaction)
        guard settings.currency == currency,
            let customer = try await transaction.get(CRMTables.customers, .string(customerID)),
            customer.status != .erased,
            let record = try await transaction.get(CRMTables.orders, .string(orderID)),
            record.customerID == customerID, !record.reversedRefundIDs.contains(refundID)
        else { return }
        // Refunds beyond what completion recorded (an order refunded before it
        // completed) lower nothing: only the redemption comes back.
        let recorded = record.paidAmount?.minorUnits ?? 0
        let already = record.refundedAmount?.minorUnits ?? 0
        let counted = record.completedAt == nil ? 0 : min(max(0, refund), max(0, recorded - already))
        _ = try await reverseOrder(
            customerID: customerID,
            orderID: orderID,
            refundID: refundID,
            refund: counted,
            wholeOrder: wholeOrder,
            settings: settings,
            actor: actor,
            in: transaction
        )
    }
}

extension CRMDomain {
    /// The points of orders, for the order domain.
    package var loyalty: any OrderLoyalty { provider }
}
