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

    /// A coupon code as compared: codes are ASCII ([A-Z0-9]) and case does not count,
    /// so this upper-cases ASCII letters and needs no Unicode tables.
    public static func normalCode(_ code: String) -> String {
        guard code.utf8.contains(where: { $0 >= 0x61 && $0 <= 0x7a }) else { return code }
        return String(decoding: code.utf8.map { $0 >= 0x61 && $0 <= 0x7a ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

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
        // At most 100 short ids: comparing them costs less than hashing them.
        for (index, line) in input.lines.enumerated() {
            guard !input.lines[..<index].contains(where: { $0.lineID == line.lineID }) else {
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
    /// Its combination flags, copied so that later stages read plain values.
    var takesMemberDiscount = true
    var countsForSpendAndSave = true
    var takesCoupons = true
    var spendAndSave: PricingPromotion?
}

/// The state of one pricing, stage after stage.
private struct Pricing {
    let input: PricingInput
    let now: Int64
    var lines: [WorkLine]
    /// The automatic promotions that cover a line and may apply (running, for this
    /// tier, with uses left), each with the positions of the lines it covers:
    /// `coveredLines[range]`. Looked up and checked once per pricing.
    let covered: [(promotion: PricingPromotion, range: Range<Int>)]
    let coveredLines: [Int]
    var applied: [AppliedPromotion] = []
    var rejected: [CouponRejection] = []
    /// Discount per stage, by the stage's position in PricingStage.knownCases.
    var stageTotals = [Int64](repeating: 0, count: 8)
    var maxRedeemable: Int64 = 0
    var pointsRedeemed: Int64 = 0

    init(input: PricingInput) {
        self.input = input
        let now = PricingPromotion.nanos(input.now) ?? 0
        self.now = now
        lines = input.lines.map {
            var work = WorkLine(line: $0, saleUnitPrice: $0.listUnitPrice, amount: $0.listUnitPrice * $0.quantity)
            work.discounts.reserveCapacity(4)
            return work
        }
        var keys: [Int64] = []
        keys.reserveCapacity(input.lines.count * 8)
        for (position, line) in input.lines.enumerated() {
            input.promotions.appendCoverage(of: line, at: position, to: &keys)
        }
        keys.sort()
        var covered: [(promotion: PricingPromotion, range: Range<Int>)] = []
        var coveredLines: [Int] = []
        coveredLines.reserveCapacity(keys.count)
        let all = input.promotions.promotions
        var current = -1
        var usable = false
        var start = 0
        for (offset, key) in keys.enumerated() where offset == 0 || keys[offset - 1] != key {
            let index = Int(key >> 32)
            let line = Int(key & 0xffff_ffff)
            if index != current {
                if usable, coveredLines.count > start { covered.append((all[current], start..<coveredLines.count)) }
                current = index
                start = coveredLines.count
                let promotion = all[index]
                usable =
                    promotion.runs(at: now) && promotion.admits(tier: input.tier?.id)
                    && promotion.hasUsesLeft(customerUses: { input.customerUsage[promotion.id] ?? 0 })
            }
            if usable { coveredLines.append(line) }
        }
        if usable, coveredLines.count > start { covered.append((all[current], start..<coveredLines.count)) }
        self.covered = covered
        self.coveredLines = coveredLines
    }

    private var tierID: String? { input.tier?.id }

    private func customerUses(_ promotion: PricingPromotion) -> Int64 {
        input.customerUsage[promotion.id] ?? 0
    }

    // MARK: - Step 2: time-limited discounts

    mutating func timeLimited() {
        // The best price of each line first, then the discounts in line order.
        for (promotion, range) in covered where promotion.kind == .timeLimitedDiscount {
            // Its minimum spend is checked against the list prices of its lines.
            if promotion.minSpend > 0,
                coveredLines[range].reduce(0, { $0 + lines[$1].amount }) < promotion.minSpend
            {
                continue
            }
            for index in coveredLines[range] {
                let list = lines[index].line.listUnitPrice
                guard let price = Self.salePrice(list, promotion.benefit), price < list else { continue }
                let best = lines[index].saleUnitPrice
                if let current = lines[index].timeLimited,
                    best < price || (best == price && current.precedes(promotion))
                {
                    continue
                }
                lines[index].saleUnitPrice = price
                lines[index].timeLimited = promotion
                lines[index].takesMemberDiscount = promotion.combinesWithMemberDiscount
                lines[index].countsForSpendAndSave = promotion.combinesWithSpendAndSave
                lines[index].takesCoupons = promotion.combinesWithCoupons
            }
        }
        var totals: [(promotion: PricingPromotion, amount: Int64, lines: [String])] = []
        for index in lines.indices {
            guard let promotion = lines[index].timeLimited else { continue }
            let discount = (lines[index].line.listUnitPrice - lines[index].saleUnitPrice) * lines[index].line.quantity
            record(index, .timeLimited, discount, promotion: promotion.id)
            if let position = totals.firstIndex(where: { $0.promotion === promotion }) {
                totals[position].amount += discount
                totals[position].lines.append(lines[index].line.lineID)
            } else {
                totals.append((promotion, discount, [lines[index].line.lineID]))
            }
        }
        for total in totals {
            applied.append(
                AppliedPromotion(
                    stage: .timeLimited,
                    promotionID: total.promotion.id,
                    name: total.promotion.name,
                    amount: money(total.amount),
                    lineIDs: total.lines
                )
            )
        }
    }

    /// The unit price under a time-limited benefit; nil for a benefit of another kind.
    static func salePrice(_ list: Int64, _ benefit: PricingPromotion.Benefit) -> Int64? {
        switch benefit {
        case .percentOff(let bps): list - PriceMath.percentage(list, bps: bps)
        case .unitAmountOff(let off): max(0, list - off)
        case .salePrice(let price): min(list, price)
        default: nil
        }
    }

    // MARK: - Step 3: member tier

    mutating func memberTier() {
        guard let tier = input.tier, tier.discountBps > 0 else { return }
        var total: Int64 = 0
        var ids: [String] = []
        for index in lines.indices {
            guard lines[index].takesMemberDiscount else { continue }
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
        var best: (promotion: PricingPromotion, saving: Int64, range: Range<Int>)?
        for (promotion, range) in covered where promotion.kind == .spendAndSave {
            guard case .spendAndSave(let steps, let repeating) = promotion.benefit else { continue }
            var amount: Int64 = 0
            for index in coveredLines[range] where lines[index].countsForSpendAndSave {
                amount += lines[index].amount
            }
            guard amount > 0, amount >= promotion.minSpend else { continue }
            let saving = Self.spendAndSaveSaving(
                steps,
                repeating: repeating,
                amount: amount,
                cap: promotion.maxDiscount
            )
            guard saving > 0 else { continue }
            if let current = best,
                current.saving > saving || (current.saving == saving && current.promotion.precedes(promotion))
            {
                continue
            }
            best = (promotion, saving, range)
        }
        guard let best else { return }
        let eligible = coveredLines[best.range].filter { lines[$0].countsForSpendAndSave }
        let ids = split(best.saving, over: eligible, stage: .spendAndSave, promotion: best.promotion.id)
        for index in eligible {
            lines[index].spendAndSave = best.promotion
            lines[index].takesCoupons = lines[index].takesCoupons && best.promotion.combinesWithCoupons
        }
        applied.append(
            AppliedPromotion(
                stage: .spendAndSave,
                promotionID: best.promotion.id,
                name: best.promotion.name,
                amount: money(best.saving),
                lineIDs: ids
            )
        )
    }

    /// The saving of spend-and-save steps (sorted by threshold) on `amount`: the
    /// highest step reached, or for a repeating rule the saving once per full
    /// threshold, capped by `cap` (0: none); never more than the amount.
    static func spendAndSaveSaving(
        _ steps: [(threshold: Int64, saving: Int64)],
        repeating: Bool,
        amount: Int64,
        cap: Int64
    ) -> Int64 {
        var saving: Int64 = 0
        if repeating, steps.count == 1 {
            let (times, overflow) = (amount / steps[0].threshold).multipliedReportingOverflow(by: steps[0].saving)
            saving = overflow ? amount : times
        } else if let reached = steps.last(where: { $0.threshold <= amount }) {
            saving = reached.saving
        }
        if cap > 0 { saving = min(saving, cap) }
        return min(max(0, saving), amount)
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
        // At most a handful of codes: arrays, not sets.
        var seen: [String] = []
        var promotionsUsed: [String] = []
        var valid: [CouponCandidate] = []
        for (position, given) in input.coupons.enumerated() {
            let normal = PricingEngine.normalCode(given.code)
            guard !seen.contains(normal) else {
                reject(given.code, .duplicateCode, "the code was given twice")
                continue
            }
            seen.append(normal)
            switch check(given) {
            case .rejected(let rejection):
                rejected.append(rejection)
            case .usable(var candidate):
                candidate.position = position
                guard !promotionsUsed.contains(candidate.promotion.id) else {
                    reject(
                        given.code,
                        .notCombinable,
                        "only one coupon of '\(candidate.promotion.name)' per order"
                    )
                    continue
                }
                promotionsUsed.append(candidate.promotion.id)
                valid.append(candidate)
            }
        }
        guard !valid.isEmpty else { return }
        var chosen: [CouponCandidate]
        if valid.count > 1, valid.allSatisfy({ $0.promotion.combinesWithOtherCoupons }) {
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
            if case .percentOff(let bps) = candidate.promotion.benefit {
                saving = PriceMath.percentage(remaining, bps: bps)
                if candidate.promotion.maxDiscount > 0 { saving = min(saving, candidate.promotion.maxDiscount) }
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
                    name: candidate.promotion.name,
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
        guard let promotion = given.promotion, promotion.kind == .coupon else {
            return no(.unknownCode, "no coupon has this code")
        }
        var name: String { "'\(promotion.name)'" }
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
        if promotion.isDeactivated { return no(.deactivated, "\(name) was ended early") }
        if now < promotion.startsAt { return no(.notStarted, "\(name) has not started yet") }
        if now >= promotion.endsAt { return no(.expired, "\(name) is over") }
        guard promotion.hasUsesLeft(customerUses: { customerUses(promotion) }) else {
            return no(.usageLimitReached, "\(name) has been used as often as it may be")
        }
        guard promotion.admits(tier: tierID) else {
            return no(.tierNotEligible, "\(name) is not for this membership tier")
        }
        let eligible = lines.indices.filter { index in
            lines[index].takesCoupons && promotion.covers(lines[index].line)
        }
        guard !eligible.isEmpty else { return no(.noEligibleItems, "no item of this order is covered by \(name)") }
        let amount = eligible.reduce(0) { $0 + lines[$1].amount }
        var minimum = promotion.minSpend
        let saving: Int64
        var isPercentage = false
        switch promotion.benefit {
        case .orderAmountOff(let off):
            saving = min(off, amount)
        case .percentOff(let bps):
            isPercentage = true
            let value = PriceMath.percentage(amount, bps: bps)
            saving = promotion.maxDiscount > 0 ? min(value, promotion.maxDiscount) : value
        case .spendAndSave(let steps, let repeating):
            minimum = max(minimum, steps.first?.threshold ?? 0)
            saving = Self.spendAndSaveSaving(steps, repeating: repeating, amount: amount, cap: promotion.maxDiscount)
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
        stageTotals[Self.rank(stage)] += amount
    }

    static func rank(_ stage: PricingStage) -> Int {
        switch stage {
        case .timeLimited: 1
        case .memberTier: 2
        case .spendAndSave: 3
        case .coupon: 4
        case .points: 5
        default: 0
        }
    }

    private func total(_ stage: PricingStage) -> Int64 { stageTotals[Self.rank(stage)] }

    private func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: input.currency) }

    /// "300.00 CNY".
    private func format(_ minorUnits: Int64) -> String { "\(PriceMath.decimal(minorUnits)) \(input.currency)" }

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
            timeLimitedDiscount: money(total(.timeLimited)),
            memberDiscount: money(total(.memberTier)),
            spendAndSaveDiscount: money(total(.spendAndSave)),
            couponDiscount: money(total(.coupon)),
            pointsDiscount: money(total(.points)),
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

    private var pointsValue: Int64 { total(.points) }
}
