import O2OMessages
import O2OPricing

/// The pricing moment of the tests, and promotions around it.
let now = Timestamp(seconds: 1_800_000_000)

func cny(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: "CNY") }

func line(
    _ number: Int,
    sku: String? = nil,
    price: Int64,
    quantity: Int64 = 1,
    categories: [String] = []
) -> PricingLine {
    PricingLine(
        lineID: String(number),
        skuID: sku ?? "sku-\(number)",
        productID: "prd-\(sku ?? String(number))",
        productName: "Product \(number)",
        skuName: "Product \(number), one size",
        categoryIDs: categories,
        quantity: quantity,
        listUnitPrice: price
    )
}

/// A promotion running from a day before `now` to a day after, covering everything
/// unless a scope is given.
func promotion(
    _ id: String,
    _ kind: PromotionKind,
    _ benefit: PromotionBenefit.Benefit,
    maxDiscount: Int64? = nil,
    scope: PromotionScope = PromotionScope(allItems: true),
    minSpend: Int64 = 0,
    tiers: [String] = [],
    created: Int64 = 0,
    startsIn: Int64 = -86_400,
    endsIn: Int64 = 86_400,
    member: Bool = true,
    spendAndSave: Bool = true,
    coupons: Bool = true,
    otherCoupons: Bool = false,
    totalLimit: Int64 = 0,
    used: Int64 = 0,
    perCustomer: Int32 = 0,
    status: PromotionStatus = .running
) -> PricingPromotion {
    PricingPromotion(
        Promotion(
            id: id,
            name: "Promotion \(id)",
            kind: kind,
            status: status,
            benefit: PromotionBenefit(benefit: benefit, maxDiscount: maxDiscount.map(cny)),
            scope: scope,
            startsAt: Timestamp(seconds: now.seconds + startsIn),
            endsAt: Timestamp(seconds: now.seconds + endsIn),
            minSpend: minSpend > 0 ? cny(minSpend) : nil,
            eligibleTiers: PromotionTierList(tierIDs: tiers),
            combinesWithMemberDiscount: member,
            combinesWithSpendAndSave: spendAndSave,
            combinesWithCoupons: coupons,
            combinesWithOtherCoupons: otherCoupons,
            perCustomerLimit: perCustomer,
            totalUsageLimit: totalLimit,
            usageCount: used,
            createdAt: Timestamp(seconds: 1_700_000_000 + created)
        )
    )
}

func spendAndSave(_ steps: [(Int64, Int64)], repeating: Bool = false) -> PromotionBenefit.Benefit {
    .spendAndSave(
        SpendAndSaveRule(
            tiers: steps.map { SpendAndSaveTier(threshold: cny($0.0), saving: cny($0.1)) },
            repeating: repeating
        )
    )
}

/// An issued coupon of `promotion` for `customer`.
func issued(
    _ code: String,
    of promotion: PricingPromotion,
    to customer: String = "cus-1",
    status: CouponStatus = .available,
    expiresIn: Int64 = 3600
) -> PricingCoupon {
    PricingCoupon(
        code: code,
        promotion: promotion,
        coupon: Coupon(
            id: "cpn-\(code)",
            code: code,
            promotionID: promotion.id,
            customerID: customer,
            status: status,
            expiresAt: Timestamp(seconds: now.seconds + expiresIn)
        )
    )
}

func input(
    _ lines: [PricingLine],
    tier: PricingTier? = nil,
    promotions: [PricingPromotion] = [],
    coupons: [PricingCoupon] = [],
    usage: [String: Int64] = [:],
    points: PricingPoints = .none,
    delivery: PricingDelivery = .free
) -> PricingInput {
    PricingInput(
        currency: "CNY",
        now: now,
        customerID: "cus-1",
        tier: tier,
        lines: lines,
        promotions: PromotionIndex(promotions),
        coupons: coupons,
        customerUsage: usage,
        points: points,
        delivery: delivery
    )
}

extension PricedOrder {
    var totals: [Int64] { lines.map { $0.total?.minorUnits ?? -1 } }
    var payable: Int64 { amounts.payableTotal?.minorUnits ?? -1 }
    func shares(_ stage: PricingStage) -> [Int64] {
        lines.map { line in line.discounts.filter { $0.stage == stage }.reduce(0) { $0 + ($1.amount?.minorUnits ?? 0) }
        }
    }
}
