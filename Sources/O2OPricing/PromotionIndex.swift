public import O2OMessages

/// A promotion prepared for pricing: its scope as sets and its window as numbers,
/// computed once and reused by every quote while the promotion does not change. A
/// class, so that passing one around is one reference, not a copy of every field.
public final class PricingPromotion: Sendable {
    /// What a promotion gives, in minor units and basis points.
    enum Benefit: Sendable {
        case percentOff(bps: Int64)
        case unitAmountOff(Int64)
        case salePrice(Int64)
        case orderAmountOff(Int64)
        /// Steps sorted by threshold.
        case spendAndSave(steps: [(threshold: Int64, saving: Int64)], repeating: Bool)
        case none
    }

    public let promotion: Promotion
    public let id: String
    let kind: PromotionKind
    let benefit: Benefit
    /// Most it may save on one order; 0 means no cap.
    let maxDiscount: Int64
    let isDeactivated: Bool
    let combinesWithMemberDiscount: Bool
    let combinesWithSpendAndSave: Bool
    let combinesWithCoupons: Bool
    let combinesWithOtherCoupons: Bool
    let skus: Set<String>
    let products: Set<String>
    let categories: Set<String>
    let excluded: Set<String>
    let coversAll: Bool
    let startsAt: Int64
    let endsAt: Int64
    /// Creation order for ties: earliest created first, then id.
    let createdAt: Int64
    let tierIDs: Set<String>
    let minSpend: Int64
    let totalUsageLimit: Int64
    let usageCount: Int64
    let perCustomerLimit: Int64

    public init(_ promotion: Promotion) {
        self.promotion = promotion
        id = promotion.id
        kind = promotion.kind
        isDeactivated = promotion.status == .deactivated
        combinesWithMemberDiscount = promotion.combinesWithMemberDiscount
        combinesWithSpendAndSave = promotion.combinesWithSpendAndSave
        combinesWithCoupons = promotion.combinesWithCoupons
        combinesWithOtherCoupons = promotion.combinesWithOtherCoupons
        maxDiscount = max(0, promotion.benefit?.maxDiscount?.minorUnits ?? 0)
        switch promotion.benefit?.benefit {
        case .percentOffBps(let bps)?: benefit = .percentOff(bps: min(max(Int64(bps), 0), 10_000))
        case .unitAmountOff(let off)?: benefit = .unitAmountOff(max(0, off.minorUnits))
        case .saleUnitPrice(let price)?: benefit = .salePrice(max(0, price.minorUnits))
        case .orderAmountOff(let off)?: benefit = .orderAmountOff(max(0, off.minorUnits))
        case .spendAndSave(let rule)?:
            let steps = rule.tiers.compactMap { tier -> (threshold: Int64, saving: Int64)? in
                guard let threshold = tier.threshold?.minorUnits, let saving = tier.saving?.minorUnits,
                    threshold > 0, saving > 0
                else { return nil }
                return (threshold, saving)
            }
            benefit = .spendAndSave(steps: steps.sorted { $0.threshold < $1.threshold }, repeating: rule.repeating)
        case nil: benefit = .none
        }
        let scope = promotion.scope ?? PromotionScope()
        coversAll = scope.allItems
        skus = Set(scope.skuIDs)
        products = Set(scope.productIDs)
        categories = Set(scope.categoryIDs)
        excluded = Set(scope.excludedSkuIDs)
        startsAt = Self.nanos(promotion.startsAt) ?? .max
        endsAt = Self.nanos(promotion.endsAt) ?? .min
        createdAt = Self.nanos(promotion.createdAt) ?? 0
        tierIDs = Set(promotion.eligibleTiers?.tierIDs ?? [])
        minSpend = max(0, promotion.minSpend?.minorUnits ?? 0)
        totalUsageLimit = promotion.totalUsageLimit
        usageCount = promotion.usageCount
        perCustomerLimit = Int64(promotion.perCustomerLimit)
    }

    public var name: String { promotion.name }

    /// Whether the scope covers the line's SKU.
    func covers(_ line: PricingLine) -> Bool {
        guard !excluded.contains(line.skuID) else { return false }
        if coversAll || skus.contains(line.skuID) || products.contains(line.productID) {
            return true
        }
        return !categories.isEmpty && line.categoryIDs.contains { categories.contains($0) }
    }

    /// Whether it runs at `now` (nanoseconds): inside its window and not deactivated.
    func runs(at now: Int64) -> Bool {
        !isDeactivated && startsAt <= now && now < endsAt
    }

    /// Whether the customer's tier may use it.
    func admits(tier: String?) -> Bool {
        tierIDs.isEmpty || tier.map { tierIDs.contains($0) } == true
    }

    /// Whether its usage limits leave room for one more order of this customer
    /// (`customerUses` is asked only when there is a per-customer limit).
    func hasUsesLeft(customerUses: () -> Int64) -> Bool {
        (totalUsageLimit <= 0 || usageCount < totalUsageLimit)
            && (perCustomerLimit <= 0 || customerUses() < perCustomerLimit)
    }

    /// Earlier created first, then lower id: the tie-break of every choice.
    func precedes(_ other: PricingPromotion) -> Bool {
        createdAt != other.createdAt ? createdAt < other.createdAt : id < other.id
    }

    static func nanos(_ time: Timestamp?) -> Int64? {
        guard let time else { return nil }
        let (scaled, overflow) = time.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return time.seconds < 0 ? .min : .max }
        let (sum, overflowSum) = scaled.addingReportingOverflow(Int64(time.nanos))
        return overflowSum ? .max : sum
    }
}

/// The automatic promotions, indexed by what they cover, so that pricing a line
/// looks at the promotions that may cover it and not at every promotion.
public struct PromotionIndex: Sendable {
    let promotions: [PricingPromotion]
    private let everything: [Int]
    private let bySku: [String: [Int]]
    private let byProduct: [String: [Int]]
    private let byCategory: [String: [Int]]
    /// The promotions that exclude a SKU, by SKU: one lookup per line.
    private let excludingSku: [String: [Int]]

    /// Indexes the time-limited and spend-and-save promotions of `promotions`
    /// (coupon campaigns apply only through codes and are left out).
    public init(_ promotions: [PricingPromotion]) {
        let automatic = promotions.filter {
            $0.promotion.kind == .timeLimitedDiscount || $0.promotion.kind == .spendAndSave
        }
        self.promotions = automatic
        var everything: [Int] = []
        var bySku: [String: [Int]] = [:]
        var byProduct: [String: [Int]] = [:]
        var byCategory: [String: [Int]] = [:]
        var excludingSku: [String: [Int]] = [:]
        for (index, promotion) in automatic.enumerated() {
            if promotion.coversAll { everything.append(index) }
            for sku in promotion.skus { bySku[sku, default: []].append(index) }
            for product in promotion.products { byProduct[product, default: []].append(index) }
            for category in promotion.categories { byCategory[category, default: []].append(index) }
            for sku in promotion.excluded { excludingSku[sku, default: []].append(index) }
        }
        self.everything = everything
        self.bySku = bySku
        self.byProduct = byProduct
        self.byCategory = byCategory
        self.excludingSku = excludingSku
    }

    public init(messages promotions: [Promotion]) { self.init(promotions.map(PricingPromotion.init)) }

    /// No automatic promotion.
    public static let empty = PromotionIndex([PricingPromotion]())

    public var count: Int { promotions.count }
    /// The indexed promotions, in the order given.
    public var all: [PricingPromotion] { promotions }

    /// Appends a key `promotion << 32 | line` for every promotion that may cover the
    /// line at `line`, by SKU, product, category or all items, unless it excludes the
    /// SKU: unsorted and possibly twice for one promotion (`Pricing` sorts and drops
    /// the repeats). One flat array for the whole basket is cheaper than an array per
    /// line.
    func appendCoverage(of item: PricingLine, at line: Int, to keys: inout [Int64]) {
        let low = Int64(line)
        let excluded = excludingSku[item.skuID] ?? []
        func add(_ indices: [Int]) {
            for index in indices where excluded.isEmpty || !excluded.contains(index) {
                keys.append(Int64(index) << 32 | low)
            }
        }
        add(everything)
        if let found = bySku[item.skuID] { add(found) }
        if let found = byProduct[item.productID] { add(found) }
        for category in item.categoryIDs {
            if let found = byCategory[category] { add(found) }
        }
    }
}
