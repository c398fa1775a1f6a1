import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

/// What checkout takes from promotions and coupons, inside the order's own change:
/// the only code that changes usage counts and coupon locks, so usage limits hold
/// under any concurrency. The caller holds `locks(for:)` for the change and reads
/// nothing of the promotions outside it; every function re-reads what it changes in
/// the caller's transaction, so concurrent takers of the last use conflict and one
/// of them is refused.
public struct PromotionUses: Sendable {
    let currency: String

    /// The locks a change that takes or gives back these uses should hold.
    public static func locks(for lines: [PromotionOrderUseLine]) -> [String] {
        lines.map { PromotionServiceProvider.promotionLock($0.promotionID) }
            + lines.filter { !$0.couponID.isEmpty }.map { PromotionServiceProvider.couponLock($0.couponID) }
    }

    /// Takes one use of each promotion an order used, and locks its coupons.
    /// FAILED_PRECONDITION, naming the promotion or coupon, when a promotion no longer
    /// runs or reached a limit, or a coupon is no longer AVAILABLE to this customer;
    /// nothing is taken then (the caller's change fails as a whole).
    public func take(
        orderID: String,
        customerID: String,
        lines: [PromotionOrderUseLine],
        in transaction: ServiceTransaction
    ) async throws {
        guard try await transaction.get(PromotionTables.orderUses, .string(orderID)) == nil else {
            throw RPCError(code: .failedPrecondition, message: "order '\(orderID)' has taken its promotions already")
        }
        var seen = Set<String>()
        for line in lines {
            guard seen.insert(line.promotionID).inserted else {
                throw RPCError(code: .failedPrecondition, message: "promotion '\(line.promotionID)' is listed twice")
            }
            guard var promotion = try await transaction.get(PromotionTables.promotions, .string(line.promotionID))
            else {
                throw RPCError(code: .failedPrecondition, message: "promotion '\(line.promotionID)' no longer exists")
            }
            let status = PromotionServiceProvider.status(of: promotion, at: transaction.now)
            guard status == .running else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "promotion '\(promotion.name)' is \(status.displayName) and no longer applies"
                )
            }
            // The coupon first: "it is used by another order" explains more than a limit.
            if !line.couponID.isEmpty {
                try await lock(line.couponID, of: promotion, for: orderID, customerID: customerID, in: transaction)
            }
            if promotion.totalUsageLimit > 0, promotion.usageCount >= promotion.totalUsageLimit {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "promotion '\(promotion.name)' has been used as often as it may be "
                        + "(\(promotion.totalUsageLimit) orders)"
                )
            }
            var usage =
                try await transaction.get(
                    PromotionTables.customerUsage,
                    [.string(promotion.id), .string(customerID)]
                ) ?? PromotionCustomerUsage(promotionID: promotion.id, customerID: customerID)
            if promotion.perCustomerLimit > 0, usage.orderCount >= Int64(promotion.perCustomerLimit) {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "promotion '\(promotion.name)' may be used on \(promotion.perCustomerLimit) "
                        + "order(s) per customer; this customer has used it on \(usage.orderCount)"
                )
            }
            let discount = max(0, line.discount?.minorUnits ?? 0)
            promotion.usageCount = try Checked.add(promotion.usageCount, 1, field: "usage_count")
            promotion.discountTotal = Money(
                minorUnits: try Checked.add(promotion.discountTotal?.minorUnits ?? 0, discount, field: "discount"),
                currency: currency
            )
            try await transaction.updateVersioned(PromotionTables.promotions, &promotion)
            usage.orderCount = try Checked.add(usage.orderCount, 1, field: "usage_count")
            try await transaction.save(PromotionTables.customerUsage, usage)
        }
        try await transaction.insert(
            PromotionTables.orderUses,
            PromotionOrderUse(
                orderID: orderID,
                customerID: customerID,
                lines: lines,
                state: .taken,
                takenAt: transaction.now
            )
        )
    }

    private func lock(
        _ couponID: String,
        of promotion: Promotion,
        for orderID: String,
        customerID: String,
        in transaction: ServiceTransaction
    ) async throws {
        guard var coupon = try await transaction.get(PromotionTables.coupons, .string(couponID)),
            coupon.promotionID == promotion.id
        else {
            throw RPCError(
                code: .failedPrecondition,
                message: "coupon '\(couponID)' is not a coupon of '\(promotion.name)'"
            )
        }
        let shown = PromotionServiceProvider.shown(coupon, promotion: promotion, at: transaction.now)
        guard shown.status == .available else {
            throw RPCError(
                code: .failedPrecondition,
                message: "coupon '\(coupon.code)' is \(shown.status.displayName) and cannot be used"
            )
        }
        guard coupon.customerID.isEmpty || coupon.customerID == customerID else {
            throw RPCError(code: .failedPrecondition, message: "coupon '\(coupon.code)' was issued to another customer")
        }
        coupon.status = .locked
        coupon.orderID = orderID
        coupon.lockedAt = transaction.now
        try await transaction.updateVersioned(PromotionTables.coupons, &coupon)
    }

    /// Gives back what an unpaid order took, when it is cancelled: the uses stop
    /// counting and its coupons are AVAILABLE again (EXPIRED when they expired
    /// meanwhile). Does nothing for an order that took nothing or gave it back
    /// already; a paid order keeps its uses (refunds do not return coupons).
    public func release(orderID: String, in transaction: ServiceTransaction) async throws {
        guard var use = try await transaction.get(PromotionTables.orderUses, .string(orderID)), use.state == .taken
        else { return }
        for line in use.lines {
            if var promotion = try await transaction.get(PromotionTables.promotions, .string(line.promotionID)) {
                promotion.usageCount = max(0, promotion.usageCount - 1)
                let given = promotion.discountTotal?.minorUnits ?? 0
                promotion.discountTotal = Money(
                    minorUnits: max(0, given - max(0, line.discount?.minorUnits ?? 0)),
                    currency: currency
                )
                try await transaction.updateVersioned(PromotionTables.promotions, &promotion)
            }
            let key: KeyTuple = [.string(line.promotionID), .string(use.customerID)]
            if var usage = try await transaction.get(PromotionTables.customerUsage, key) {
                usage.orderCount = max(0, usage.orderCount - 1)
                try await transaction.save(PromotionTables.customerUsage, usage)
            }
            if !line.couponID.isEmpty,
                var coupon = try await transaction.get(PromotionTables.coupons, .string(line.couponID)),
                coupon.status == .locked, coupon.orderID == orderID
            {
                coupon.status = Timestamps.isPast(coupon.expiresAt, now: transaction.now) ? .expired : .available
                coupon.orderID = ""
                coupon.lockedAt = nil
                try await transaction.updateVersioned(PromotionTables.coupons, &coupon)
            }
        }
        use.state = .released
        use.settledAt = transaction.now
        try await transaction.update(PromotionTables.orderUses, use)
    }

    /// Marks the coupons of a paid order REDEEMED. Does nothing for an order that
    /// took nothing or is settled already.
    public func redeem(orderID: String, in transaction: ServiceTransaction) async throws {
        guard var use = try await transaction.get(PromotionTables.orderUses, .string(orderID)), use.state == .taken
        else { return }
        for line in use.lines where !line.couponID.isEmpty {
            guard var coupon = try await transaction.get(PromotionTables.coupons, .string(line.couponID)),
                coupon.status == .locked, coupon.orderID == orderID
            else { continue }
            coupon.status = .redeemed
            coupon.redeemedAt = transaction.now
            try await transaction.updateVersioned(PromotionTables.coupons, &coupon)
        }
        use.state = .redeemed
        use.settledAt = transaction.now
        try await transaction.update(PromotionTables.orderUses, use)
    }
}
