public import O2OMessages

/// A priced basket: every field of an order quote that depends on prices, with
/// every discount per line and per stage and the promotion that gave it.
public struct PricedOrder: Sendable, Hashable {
    public var lines: [OrderLine]
    /// Every promotion, the member discount and the points, in stage order.
    public var appliedPromotions: [AppliedPromotion]
    public var rejectedCoupons: [CouponRejection]
    public var amounts: OrderAmounts
    public var memberTierID: String
    public var memberDiscountBps: Int32
    public var pointsBalance: Int64
    public var maxRedeemablePoints: Int64
    public var pointsRedeemed: Int64
    public var pointsCapped: Bool
}

/// Prices a basket in the documented stages (order.proto, OrderQuote): list price,
/// time-limited discount, member tier, spend-and-save, coupons, points, delivery
/// fee. A pure function of its input: no storage, no clock, no randomness, so a
/// quote and the checkout that follows it agree to the minor unit.
///
/// Every discount is rounded down and never exceeds the amount it applies to, so no
/// line goes below zero and the payable total is never negative; order-level
/// discounts are split over their lines exactly (`PriceMath.split`).
public enum PricingEngine {
    /// Most lines, units per line and price per unit the engine accepts (the API's
    /// limits): together they keep every sum far from overflowing.
    public static let maximumLines = 100
    public static let maximumQuantity: Int64 = 999
    public static let maximumUnitPrice: Int64 = 1_000_000_000_000

    public static func price(_ input: PricingInput) throws(PricingError) -> PricedOrder {
        try validate(input)
        var pricing = Pricing(input: input)
        pricing.timeLimited()
        pricing.memberTier()
        pricing.spendAndSave()
        pricing.coupons()
        pricing.points()
        return pricing.result()
    }

    private static func validate(_ input: PricingInput) throws(PricingError) {
        guard (1...maximumLines).contains(input.lines.count) else {
            throw PricingError(field: "lines", reason: "must be 1 to \(maximumLines) lines, got \(input.lines.count)")
        }
        var ids = Set<String>()
        for (index, line) in input.lines.enumerated() {
            guard ids.insert(line.lineID).inserted else {
                throw PricingError(field: "lines[\(index)].line_id", reason: "'\(line.lineID)' is there twice")
            }
            guard (1...maximumQuantity).contains(line.quantity) else {
                throw PricingError(field: "lines[\(index)].quantity", reason: "must be 1 to \(maximumQuantity)")
            }
            guard (0...maximumUnitPrice).contains(line.listUnitPrice) else {
                throw PricingError(field: "lines[\(index)].list_unit_price", reason: "must be 0 to \(maximumUnitPrice)")
            }
        }
        guard (0...maximumUnitPrice).contains(input.delivery.fee) else {
            throw PricingError(field: "delivery_fee", reason: "must be 0 to \(maximumUnitPrice)")
        }
    }
}

/// One line while it is being priced.
private struct WorkLine {
    var line: PricingLine
    var saleUnitPrice: Int64
    /// What is left to pay for the line after the stages so far.
    var amount: Int64
    var discounts: [LineDiscount] = []
    /// The time-limited and spend-and-save promotions on the line, for the
    /// combination flags of later stages.
    var timeLimited: PricingPromotion?
    var spendAndSave: PricingPromotion?
}

/// The state of one pricing, stage after stage.
private struct Pricing {
    let input: PricingInput
    let now: Int64
    var lines: [WorkLine]
    /// The covering automatic promotions of each line, looked up once.
    let covering: [[Int]]
    var applied: [AppliedPromotion] = []
    var rejected: [CouponRejection] = []
    var stageTotals: [PricingStage: Int64] = [:]
    var maxRedeemable: Int64 = 0
    var pointsRedeemed: Int64 = 0

    init(input: PricingInput) {
        self.input = input
        now = PricingPromotion.nanos(input.now) ?? 0
        lines = input.lines.map {
            WorkLine(line: $0, saleUnitPrice: $0.listUnitPrice, amount: $0.listUnitPrice * $0.quantity)
        }
        covering = input.lines.map { input.promotions.covering($0) }
    }

    private var tierID: String? { input.tier?.id }

    private func customerUses(_ promotion: PricingPromotion) -> Int64 {
        input.customerUsage[promotion.id] ?? 0
    }

    /// Whether an automatic promotion may apply at all: running, for this tier, with
    /// uses left.
    private func applicable(_ promotion: PricingPromotion) -> Bool {
        promotion.runs(at: now) && promotion.admits(tier: tierID)
            && promotion.hasUsesLeft(customerUses: customerUses(promotion))
    }

    // MARK: - Step 2: time-limited discounts

    mutating func timeLimited() {
        // The minimum spend of a time-limited discount is checked against the list
        // prices of the lines it covers.
        var coveredSubtotal: [Int: Int64] = [:]
        for (index, work) in lines.enumerated() {
            for candidate in covering[index] {
                coveredSubtotal[candidate, default: 0] += work.amount
            }
        }
        var order: [String] = []
        var totals: [String: (promotion: PricingPromotion, amount: Int64, lines: [String])] = [:]
        for index in lines.indices {
            let list = lines[index].line.listUnitPrice
            var best: (price: Int64, promotion: PricingPromotion)?
            for candidate in covering[index] {
                let promotion = input.promotions.promotions[candidate]
                guard promotion.promotion.kind == .timeLimitedDiscount, applicable(promotion),
                    coveredSubtotal[candidate, default: 0] >= promotion.minSpend,
                    let price = Self.salePrice(list, promotion.promotion.benefit), price < list
                else { continue }
                if let current = best,
                    current.price < price || (current.price == price && current.promotion.precedes(promotion))
                {
                    continue
                }
                best = (price, promotion)
            }
            guard let best else { continue }
            let discount = (list - best.price) * lines[index].line.quantity
            lines[index].saleUnitPrice = best.price
            lines[index].timeLimited = best.promotion
            record(index, .timeLimited, discount, promotion: best.promotion.id)
            if totals[best.promotion.id] == nil {
                order.append(best.promotion.id)
                totals[best.promotion.id] = (best.promotion, 0, [])
            }
            totals[best.promotion.id]!.amount += discount
            totals[best.promotion.id]!.lines.append(lines[index].line.lineID)
        }
        for id in order {
            let total = totals[id]!
            applied.append(
                AppliedPromotion(
                    stage: .timeLimited,
                    promotionID: id,
                    name: total.promotion.promotion.name,
                    amount: money(total.amount),
                    lineIDs: total.lines
                )
            )
        }
    }

    /// The unit price under a time-limited benefit; nil for a benefit of another kind.
    static func salePrice(_ list: Int64, _ benefit: PromotionBenefit?) -> Int64? {
        switch benefit?.benefit {
        case .percentOffBps(let bps)?:
            return list - PriceMath.percentage(list, bps: Int64(bps))
        case .unitAmountOff(let off)?:
            return max(0, list - max(0, off.minorUnits))
        case .saleUnitPrice(let price)?:
            return min(list, max(0, price.minorUnits))
        default:
            return nil
        }
    }

    // MARK: - Step 3: member tier

    mutating func memberTier() {
        guard let tier = input.tier, tier.discountBps > 0 else { return }
        var total: Int64 = 0
        var ids: [String] = []
        for index in lines.indices {
            if let promotion = lines[index].timeLimited, !promotion.promotion.combinesWithMemberDiscount { continue }
            let discount = PriceMath.percentage(lines[index].amount, bps: Int64(tier.discountBps))
            guard discount > 0 else { continue }
            record(index, .memberTier, discount)
            total += discount
            ids.append(lines[index].line.lineID)
        }
        guard total > 0 else { return }
        applied.append(AppliedPromotion(stage: .memberTier, name: tier.name, amount: money(total), lineIDs: ids))
    }

    // MARK: - Step 4: spend and save

    mutating func spendAndSave() {
        var candidates = Set<Int>()
        for list in covering { candidates.formUnion(list) }
        var best: (promotion: PricingPromotion, saving: Int64, lines: [Int])?
        for candidate in candidates.sorted() {
            let promotion = input.promotions.promotions[candidate]
            guard promotion.promotion.kind == .spendAndSave, applicable(promotion),
                case .spendAndSave(let rule)? = promotion.promotion.benefit?.benefit
            else { continue }
            let eligible = lines.indices.filter { index in
                covering[index].contains(candidate)
                    && (lines[index].timeLimited.map { $0.promotion.combinesWithSpendAndSave } ?? true)
            }
            let amount = eligible.reduce(0) { $0 + lines[$1].amount }
            guard amount > 0, amount >= promotion.minSpend else { continue }
            let saving = Self.spendAndSaveSaving(rule, amount: amount, cap: promotion.promotion.benefit?.maxDiscount)
            guard saving > 0 else { continue }
            if let current = best,
                current.saving > saving || (current.saving == saving && current.promotion.precedes(promotion))
            {
                continue
            }
            best = (promotion, saving, eligible)
        }
        guard let best else { return }
        let ids = split(best.saving, over: best.lines, stage: .spendAndSave, promotion: best.promotion.id)
        for index in best.lines { lines[index].spendAndSave = best.promotion }
        applied.append(
            AppliedPromotion(
                stage: .spendAndSave,
                promotionID: best.promotion.id,
                name: best.promotion.promotion.name,
                amount: money(best.saving),
                lineIDs: ids
            )
        )
    }

    /// The saving of a spend-and-save rule on `amount`: the highest tier reached, or
    /// for a repeating rule the saving once per full threshold, capped by `cap`;
    /// never more than the amount.
    static func spendAndSaveSaving(_ rule: SpendAndSaveRule, amount: Int64, cap: Money?) -> Int64 {
        let tiers = rule.tiers.compactMap { tier -> (threshold: Int64, saving: Int64)? in
            guard let threshold = tier.threshold?.minorUnits, let saving = tier.saving?.minorUnits,
                threshold > 0, saving > 0
            else { return nil }
            return (threshold, saving)
        }
        var saving: Int64 = 0
        if rule.repeating, tiers.count == 1 {
            let (times, overflow) = (amount / tiers[0].threshold).multipliedReportingOverflow(by: tiers[0].saving)
            saving = overflow ? amount : times
        } else if let reached = tiers.filter({ $0.threshold <= amount }).max(by: { $0.threshold < $1.threshold }) {
            saving = reached.saving
        }
        if let cap = cap?.minorUnits, cap > 0 { saving = min(saving, cap) }
        return min(max(0, saving), amount)
    }

    /// The least eligible amount a spend-and-save rule needs: its lowest threshold.
    static func lowestThreshold(_ rule: SpendAndSaveRule) -> Int64 {
        rule.tiers.compactMap { $0.threshold?.minorUnits }.filter { $0 > 0 }.min() ?? 0
    }

    // MARK: - Step 5: coupons

    private struct CouponCandidate {
        var code: String
        var promotion: PricingPromotion
        var couponID: String
        var lines: [Int]
        /// The saving on the amounts after steps 2–4.
        var saving: Int64
        var position: Int
        var isPercentage: Bool
    }

    private enum CouponCheck {
        case usable(CouponCandidate)
        case rejected(CouponRejection)
    }

    mutating func coupons() {
        var seen = Set<String>()
        var promotionsUsed = Set<String>()
        var valid: [CouponCandidate] = []
        for (position, given) in input.coupons.enumerated() {
            let normal = given.code.uppercased()
            guard seen.insert(normal).inserted else {
                reject(given.code, .duplicateCode, "the code was given twice")
                continue
            }
            switch check(given) {
            case .rejected(let rejection):
                rejected.append(rejection)
            case .usable(var candidate):
                candidate.position = position
                guard promotionsUsed.insert(candidate.promotion.id).inserted else {
                    reject(
                        given.code,
                        .notCombinable,
                        "only one coupon of '\(candidate.promotion.promotion.name)' per order"
                    )
                    continue
                }
                valid.append(candidate)
            }
        }
        guard !valid.isEmpty else { return }
        var chosen: [CouponCandidate]
        if valid.count > 1, valid.allSatisfy({ $0.promotion.promotion.combinesWithOtherCoupons }) {
            // Fixed amounts and spend-and-save first, larger saving first; then the
            // percentages, each on what the coupons before it left.
            chosen = valid.sorted { a, b in
                if a.isPercentage != b.isPercentage { return !a.isPercentage }
                return a.saving != b.saving ? a.saving > b.saving : a.position < b.position
            }
        } else {
            let kept = valid.max { a, b in a.saving != b.saving ? a.saving < b.saving : a.position > b.position }!
            chosen = [kept]
            for other in valid where other.position != kept.position {
                reject(other.code, .notCombinable, "does not combine with coupon '\(kept.code)', which saves more")
            }
        }
        for candidate in chosen {
            let remaining = candidate.lines.reduce(0) { $0 + lines[$1].amount }
            var saving = min(candidate.saving, remaining)
            if candidate.isPercentage, case .percentOffBps(let bps)? = candidate.promotion.promotion.benefit?.benefit {
                saving = PriceMath.percentage(remaining, bps: Int64(bps))
                if let cap = candidate.promotion.promotion.benefit?.maxDiscount?.minorUnits, cap > 0 {
                    saving = min(saving, cap)
                }
            }
            guard saving > 0 else {
                reject(candidate.code, .minSpendNotMet, "nothing left to save after the coupons before it")
                continue
            }
            let ids = split(
                saving,
                over: candidate.lines,
                stage: .coupon,
                promotion: candidate.promotion.id,
                code: candidate.code
            )
            applied.append(
                AppliedPromotion(
                    stage: .coupon,
                    promotionID: candidate.promotion.id,
                    name: candidate.promotion.promotion.name,
                    couponCode: candidate.code,
                    couponID: candidate.couponID,
                    amount: money(saving),
                    lineIDs: ids
                )
            )
        }
    }

    /// A coupon's own checks, in the order a customer would want them explained.
    private func check(_ given: PricingCoupon) -> CouponCheck {
        func no(_ reason: CouponRejectionReason, _ message: String) -> CouponCheck {
            .rejected(CouponRejection(couponCode: given.code, reason: reason, message: message))
        }
        guard let promotion = given.promotion, promotion.promotion.kind == .coupon else {
            return no(.unknownCode, "no coupon has this code")
        }
        let name = "'\(promotion.promotion.name)'"
        if let coupon = given.coupon {
            switch coupon.status {
            case .voided: return no(.voided, "the coupon was voided")
            case .locked, .redeemed: return no(.alreadyUsed, "the coupon was used by another order")
            case .expired: return no(.expired, "the coupon expired")
            default: break
            }
            if !coupon.customerID.isEmpty, coupon.customerID != input.customerID {
                return no(.otherCustomer, "the coupon was issued to another customer")
            }
            if let expires = PricingPromotion.nanos(coupon.expiresAt), expires <= now {
                return no(.expired, "the coupon expired")
            }
        }
        if promotion.promotion.status == .deactivated { return no(.deactivated, "\(name) was ended early") }
        if now < promotion.startsAt { return no(.notStarted, "\(name) has not started yet") }
        if now >= promotion.endsAt { return no(.expired, "\(name) is over") }
        guard promotion.hasUsesLeft(customerUses: customerUses(promotion)) else {
            return no(.usageLimitReached, "\(name) has been used as often as it may be")
        }
        guard promotion.admits(tier: tierID) else {
            return no(.tierNotEligible, "\(name) is not for this membership tier")
        }
        let eligible = lines.indices.filter { index in
            let work = lines[index]
            return promotion.covers(work.line)
                && (work.timeLimited.map { $0.promotion.combinesWithCoupons } ?? true)
                && (work.spendAndSave.map { $0.promotion.combinesWithCoupons } ?? true)
        }
        guard !eligible.isEmpty else { return no(.noEligibleItems, "no item of this order is covered by \(name)") }
        let amount = eligible.reduce(0) { $0 + lines[$1].amount }
        let benefit = promotion.promotion.benefit
        var minimum = promotion.minSpend
        let saving: Int64
        var isPercentage = false
        switch benefit?.benefit {
        case .orderAmountOff(let off)?:
            saving = min(max(0, off.minorUnits), amount)
        case .percentOffBps(let bps)?:
            isPercentage = true
            var value = PriceMath.percentage(amount, bps: Int64(bps))
            if let cap = benefit?.maxDiscount?.minorUnits, cap > 0 { value = min(value, cap) }
            saving = value
        case .spendAndSave(let rule)?:
            minimum = max(minimum, Self.lowestThreshold(rule))
            saving = Self.spendAndSaveSaving(rule, amount: amount, cap: benefit?.maxDiscount)
        default:
            return no(.noEligibleItems, "\(name) gives nothing a coupon can give")
        }
        guard amount >= minimum else {
            return no(
                .minSpendNotMet,
                "min_spend \(format(minimum)) not met: eligible \(format(amount))"
            )
        }
        // A coupon that would save nothing stays with the customer.
        guard saving > 0 else { return no(.minSpendNotMet, "nothing to save: eligible \(format(amount))") }
        return .usable(
            CouponCandidate(
                code: given.code,
                promotion: promotion,
                couponID: given.coupon?.id ?? "",
                lines: eligible,
                saving: saving,
                position: 0,
                isPercentage: isPercentage
            )
        )
    }

    private mutating func reject(_ code: String, _ reason: CouponRejectionReason, _ message: String) {
        rejected.append(CouponRejection(couponCode: code, reason: reason, message: message))
    }

    // MARK: - Step 6: points

    mutating func points() {
        let points = input.points
        guard points.pointsPerUnit > 0, points.unitValue > 0 else { return }
        let amount = lines.reduce(0) { $0 + $1.amount }
        let payable = PriceMath.percentage(amount, bps: Int64(points.maxRedeemBps))
        let unitsByAmount = payable / points.unitValue
        let unitsByBalance = max(0, points.spendable) / points.pointsPerUnit
        let (maximum, overflow) = min(unitsByAmount, unitsByBalance).multipliedReportingOverflow(
            by: points.pointsPerUnit
        )
        maxRedeemable = overflow || maximum < points.minRedeemPoints ? 0 : maximum
        var redeemed = min(max(0, points.requested), maxRedeemable) / points.pointsPerUnit * points.pointsPerUnit
        if redeemed < points.minRedeemPoints { redeemed = 0 }
        pointsRedeemed = redeemed
        guard redeemed > 0 else { return }
        // Whole units within maxRedeemable, so at most `payable`, which fits.
        let value = redeemed / points.pointsPerUnit * points.unitValue
        let ids = split(value, over: Array(lines.indices), stage: .points)
        applied.append(AppliedPromotion(stage: .points, name: "points", amount: money(value), lineIDs: ids))
    }

    // MARK: - Splitting and the result

    /// Splits an order-level discount over `indices` in proportion to their amounts
    /// and records each share; returns the ids of the lines that got a share.
    @discardableResult
    private mutating func split(
        _ discount: Int64,
        over indices: [Int],
        stage: PricingStage,
        promotion: String = "",
        code: String = ""
    ) -> [String] {
        let shares = PriceMath.split(discount, over: indices.map { lines[$0].amount })
        var ids: [String] = []
        for (index, share) in zip(indices, shares) where share > 0 {
            record(index, stage, share, promotion: promotion, code: code)
            ids.append(lines[index].line.lineID)
        }
        return ids
    }

    private mutating func record(
        _ index: Int,
        _ stage: PricingStage,
        _ amount: Int64,
        promotion: String = "",
        code: String = ""
    ) {
        precondition(amount > 0 && amount <= lines[index].amount, "a discount beyond its line")
        lines[index].amount -= amount
        lines[index].discounts.append(
            LineDiscount(stage: stage, promotionID: promotion, couponCode: code, amount: money(amount))
        )
        stageTotals[stage, default: 0] += amount
    }

    private func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: input.currency) }

    /// "300.00 CNY".
    private func format(_ minorUnits: Int64) -> String {
        let cents = minorUnits % 100
        return "\(minorUnits / 100).\(cents < 10 ? "0" : "")\(cents) \(input.currency)"
    }

    func result() -> PricedOrder {
        let subtotal = input.lines.reduce(0) { $0 + $1.listUnitPrice * $1.quantity }
        let afterCoupons = lines.reduce(0) { $0 + $1.amount } + pointsValue
        let delivery = input.delivery
        let fee = delivery.freeThreshold > 0 && afterCoupons >= delivery.freeThreshold ? 0 : delivery.fee
        let linesTotal = lines.reduce(0) { $0 + $1.amount }
        let discountTotal = subtotal - linesTotal
        let orderLines = lines.map { work in
            let subtotal = work.line.listUnitPrice * work.line.quantity
            return OrderLine(
                lineID: work.line.lineID,
                skuID: work.line.skuID,
                productID: work.line.productID,
                productName: work.line.productName,
                skuName: work.line.skuName,
                quantity: work.line.quantity,
                listUnitPrice: money(work.line.listUnitPrice),
                saleUnitPrice: money(work.saleUnitPrice),
                subtotal: money(subtotal),
                discounts: work.discounts,
                discountTotal: money(subtotal - work.amount),
                total: money(work.amount)
            )
        }
        let amounts = OrderAmounts(
            subtotal: money(subtotal),
            timeLimitedDiscount: money(stageTotals[.timeLimited] ?? 0),
            memberDiscount: money(stageTotals[.memberTier] ?? 0),
            spendAndSaveDiscount: money(stageTotals[.spendAndSave] ?? 0),
            couponDiscount: money(stageTotals[.coupon] ?? 0),
            pointsDiscount: money(stageTotals[.points] ?? 0),
            discountTotal: money(discountTotal),
            deliveryFee: money(fee),
            payableTotal: money(linesTotal + fee),
            paidAmount: money(0),
            refundedAmount: money(0)
        )
        return PricedOrder(
            lines: orderLines,
            appliedPromotions: applied,
            rejectedCoupons: rejected,
            amounts: amounts,
            memberTierID: input.tier?.id ?? "",
            memberDiscountBps: input.tier?.discountBps ?? 0,
            pointsBalance: input.points.balance,
            maxRedeemablePoints: maxRedeemable,
            pointsRedeemed: pointsRedeemed,
            pointsCapped: pointsRedeemed < max(0, input.points.requested)
        )
    }

    private var pointsValue: Int64 { stageTotals[.points] ?? 0 }
}
