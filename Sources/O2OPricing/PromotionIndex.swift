public import O2OMessages

/// A promotion prepared for pricing: its scope as sets and its window as numbers,
/// computed once and reused by every quote while the promotion does not change.
public struct PricingPromotion: Sendable {
    public let promotion: Promotion
    let skus: Set<String>
    let products: Set<String>
    let categories: Set<String>
    let excluded: Set<String>
    let startsAt: Int64
    let endsAt: Int64
    /// Creation order for ties: earliest created first, then id.
    let createdAt: Int64
    let tierIDs: Set<String>
    let minSpend: Int64

    public init(_ promotion: Promotion) {
        self.promotion = promotion
        let scope = promotion.scope ?? PromotionScope()
        skus = Set(scope.skuIDs)
        products = Set(scope.productIDs)
        categories = Set(scope.categoryIDs)
        excluded = Set(scope.excludedSkuIDs)
        startsAt = Self.nanos(promotion.startsAt) ?? .max
        endsAt = Self.nanos(promotion.endsAt) ?? .min
        createdAt = Self.nanos(promotion.createdAt) ?? 0
        tierIDs = Set(promotion.eligibleTiers?.tierIDs ?? [])
        minSpend = max(0, promotion.minSpend?.minorUnits ?? 0)
    }

    public var id: String { promotion.id }

    /// Whether the scope covers the line's SKU.
    func covers(_ line: PricingLine) -> Bool {
        guard !excluded.contains(line.skuID) else { return false }
        if promotion.scope?.allItems == true || skus.contains(line.skuID) || products.contains(line.productID) {
            return true
        }
        return !categories.isEmpty && line.categoryIDs.contains { categories.contains($0) }
    }

    /// Whether it runs at `now` (nanoseconds): inside its window and not deactivated.
    func runs(at now: Int64) -> Bool {
        promotion.status != .deactivated && startsAt <= now && now < endsAt
    }

    /// Whether the customer's tier may use it.
    func admits(tier: String?) -> Bool {
        tierIDs.isEmpty || tier.map { tierIDs.contains($0) } == true
    }

    /// Whether its usage limits leave room for one more order of this customer.
    func hasUsesLeft(customerUses: Int64) -> Bool {
        let total = promotion.totalUsageLimit
        let perCustomer = Int64(promotion.perCustomerLimit)
        return (total <= 0 || promotion.usageCount < total) && (perCustomer <= 0 || customerUses < perCustomer)
    }

    /// Earlier created first, then lower id: the tie-break of every choice.
    func precedes(_ other: PricingPromotion) -> Bool {
        createdAt != other.createdAt ? createdAt < other.createdAt : promotion.id < other.promotion.id
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
        for (index, promotion) in automatic.enumerated() {
            if promotion.promotion.scope?.allItems == true { everything.append(index) }
            for sku in promotion.skus { bySku[sku, default: []].append(index) }
            for product in promotion.products { byProduct[product, default: []].append(index) }
            for category in promotion.categories { byCategory[category, default: []].append(index) }
        }
        self.everything = everything
        self.bySku = bySku
        self.byProduct = byProduct
        self.byCategory = byCategory
    }

    public init(messages promotions: [Promotion]) { self.init(promotions.map(PricingPromotion.init)) }

    /// No automatic promotion.
    public static let empty = PromotionIndex([PricingPromotion]())

    public var count: Int { promotions.count }
    /// The indexed promotions, in the order given.
    public var all: [PricingPromotion] { promotions }

    /// The positions of the promotions whose scope covers the line, ascending.
    func covering(_ line: PricingLine) -> [Int] {
        var found = everything
        found += bySku[line.skuID] ?? []
        found += byProduct[line.productID] ?? []
        for category in line.categoryIDs { found += byCategory[category] ?? [] }
        guard !found.isEmpty else { return [] }
        var unique = Array(Set(found)).sorted()
        unique.removeAll { promotions[$0].excluded.contains(line.skuID) }
        return unique
    }
}
