import Logging
import O2OCRM
import O2OCatalog
public import O2OMessages
import O2OPricing
import O2ORPC
import O2OServiceKit
import O2OStorage

/// The promotion service: time-limited discounts, spend-and-save and coupon
/// campaigns, and the coupons issued from them. What checkout takes from them (usage
/// counts, coupon locks) goes through `PromotionUses`, inside the order's own change.
public final class PromotionServiceProvider: PromotionServiceProtocol {
    let store: ServiceStore
    let currency: String
    let catalog: any CatalogReading
    let customers: any CustomerReading
    let pricing: PromotionPricing
    let logger: Logger

    package init(
        store: ServiceStore,
        currency: String,
        catalog: any CatalogReading,
        customers: any CustomerReading,
        pricing: PromotionPricing,
        logger: Logger
    ) {
        self.pricing = pricing
        self.store = store
        self.currency = currency
        self.catalog = catalog
        self.customers = customers
        self.logger = logger
    }

    /// The lock of one promotion's record: its counters change under it.
    static func promotionLock(_ id: String) -> String { "promotion/\(id)" }
    static func couponLock(_ id: String) -> String { "coupon/\(id)" }

    func actor(_ context: RPCServerContext, _ given: ChangeActor?) throws -> ChangeActor {
        try context.actor(given)
    }

    // MARK: - Status

    /// The status at `now`: from the window, unless deactivated.
    static func status(of promotion: Promotion, at now: Timestamp) -> PromotionStatus {
        if promotion.status == .deactivated { return .deactivated }
        let time = Timestamps.nanos(now)
        if time < Timestamps.nanos(promotion.startsAt) { return .scheduled }
        return time < Timestamps.nanos(promotion.endsAt) ? .running : .ended
    }

    /// The promotion as callers see it: its status as of now.
    static func shown(_ promotion: Promotion, at now: Timestamp) -> Promotion {
        var shown = promotion
        shown.status = status(of: promotion, at: now)
        return shown
    }

    /// The coupon as callers see it: an AVAILABLE coupon past its expiry, or of a
    /// deactivated promotion, is EXPIRED.
    static func shown(_ coupon: Coupon, promotion: Promotion?, at now: Timestamp) -> Coupon {
        var shown = coupon
        if coupon.status == .available,
            Timestamps.isPast(coupon.expiresAt, now: now) || promotion?.status == .deactivated
        {
            shown.status = .expired
        }
        return shown
    }

    // MARK: - Validation

    func money(_ money: Money?, field: String, required: Bool = true) throws -> Int64? {
        try Validate.money(money, field: field, currency: currency, required: required)?.minorUnits
    }

    func positiveMoney(_ value: Money?, field: String) throws -> Int64 {
        guard let amount = try money(value, field: field) else {
            throw RPCError.invalidArgument(field: field, "is required")
        }
        guard amount > 0 else { throw RPCError.invalidArgument(field: "\(field).minor_units", "must be more than 0") }
        return amount
    }

    /// A benefit that fits the kind, in range (the list on PromotionKind).
    func validateBenefit(_ benefit: PromotionBenefit?, kind: PromotionKind, field: String) throws -> PromotionBenefit {
        guard let benefit, let given = benefit.benefit else {
            throw RPCError.invalidArgument(field: field, "is required")
        }
        let fits: Bool
        var isPercentageCoupon = false
        var isRepeating = false
        switch given {
        case .percentOffBps(let bps):
            fits = kind == .timeLimitedDiscount || kind == .coupon
            isPercentageCoupon = kind == .coupon
            guard (1...9999).contains(bps) else {
                throw RPCError.invalidArgument(field: "\(field).percent_off_bps", "must be 1 to 9999, got \(bps)")
            }
        case .unitAmountOff(let off):
            fits = kind == .timeLimitedDiscount
            _ = try positiveMoney(off, field: "\(field).unit_amount_off")
        case .saleUnitPrice(let price):
            fits = kind == .timeLimitedDiscount
            _ = try money(price, field: "\(field).sale_unit_price")
        case .orderAmountOff(let off):
            fits = kind == .coupon
            _ = try positiveMoney(off, field: "\(field).order_amount_off")
        case .spendAndSave(let rule):
            fits = kind == .spendAndSave || kind == .coupon
            isRepeating = rule.repeating
            try validateRule(rule, field: "\(field).spend_and_save")
        }
        guard fits else {
            throw RPCError.invalidArgument(
                field: field,
                "this benefit does not fit a \(kind.displayName) promotion (see PromotionKind)"
            )
        }
        if benefit.maxDiscount != nil {
            guard isPercentageCoupon || isRepeating else {
                throw RPCError.invalidArgument(
                    field: "\(field).max_discount",
                    "applies only to percentage coupons and repeating spend-and-save"
                )
            }
            _ = try positiveMoney(benefit.maxDiscount, field: "\(field).max_discount")
        }
        return benefit
    }

    private func validateRule(_ rule: SpendAndSaveRule, field: String) throws {
        guard (1...10).contains(rule.tiers.count) else {
            throw RPCError.invalidArgument(field: "\(field).tiers", "must be 1 to 10 tiers, got \(rule.tiers.count)")
        }
        if rule.repeating, rule.tiers.count != 1 {
            throw RPCError.invalidArgument(field: "\(field).repeating", "needs exactly one tier")
        }
        var previous: (threshold: Int64, saving: Int64)?
        for (index, tier) in rule.tiers.enumerated() {
            let path = "\(field).tiers[\(index)]"
            let threshold = try positiveMoney(tier.threshold, field: "\(path).threshold")
            let saving = try positiveMoney(tier.saving, field: "\(path).saving")
            guard saving < threshold else {
                throw RPCError.invalidArgument(field: "\(path).saving", "must be less than the threshold")
            }
            if let previous, threshold <= previous.threshold || saving <= previous.saving {
                throw RPCError.invalidArgument(
                    field: path,
                    "thresholds and savings must rise from tier to tier"
                )
            }
            previous = (threshold, saving)
        }
    }

    /// A scope that covers something, with every id known to the catalog.
    func validateScope(
        _ scope: PromotionScope?,
        field: String,
        in reader: some RecordReading
    ) async throws
        -> PromotionScope
    {
        guard let scope else { throw RPCError.invalidArgument(field: field, "is required") }
        guard scope.allItems || !scope.skuIDs.isEmpty || !scope.productIDs.isEmpty || !scope.categoryIDs.isEmpty
        else {
            throw RPCError.invalidArgument(
                field: field,
                "covers nothing: set all_items or list SKUs, products or categories"
            )
        }
        func ids(_ values: [String], _ name: String, max: Int) throws -> [String] {
            guard values.count <= max else {
                throw RPCError.invalidArgument(field: "\(field).\(name)", "at most \(max), got \(values.count)")
            }
            var seen = Set<String>()
            for (index, value) in values.enumerated() {
                _ = try Validate.id(value, field: "\(field).\(name)[\(index)]")
                guard seen.insert(value).inserted else {
                    throw RPCError.invalidArgument(field: "\(field).\(name)[\(index)]", "'\(value)' is listed twice")
                }
            }
            return values
        }
        let skus = try ids(scope.skuIDs, "sku_ids", max: 1000)
        let products = try ids(scope.productIDs, "product_ids", max: 1000)
        let categories = try ids(scope.categoryIDs, "category_ids", max: 100)
        let excluded = try ids(scope.excludedSkuIDs, "excluded_sku_ids", max: 1000)
        for (index, id) in skus.enumerated() where try await catalog.sku(id, in: reader) == nil {
            throw RPCError(code: .notFound, message: "\(field).sku_ids[\(index)]: no SKU '\(id)'")
        }
        for (index, id) in excluded.enumerated() where try await catalog.sku(id, in: reader) == nil {
            throw RPCError(code: .notFound, message: "\(field).excluded_sku_ids[\(index)]: no SKU '\(id)'")
        }
        for (index, id) in products.enumerated() where try await catalog.product(id, in: reader) == nil {
            throw RPCError(code: .notFound, message: "\(field).product_ids[\(index)]: no product '\(id)'")
        }
        for (index, id) in categories.enumerated() where try await catalog.category(id, in: reader) == nil {
            throw RPCError(code: .notFound, message: "\(field).category_ids[\(index)]: no category '\(id)'")
        }
        return scope
    }

    /// At most 20 distinct tiers, each known to the CRM.
    func validateTiers(
        _ list: PromotionTierList?,
        field: String,
        in reader: some RecordReading
    ) async throws
        -> PromotionTierList
    {
        let tiers = list?.tierIDs ?? []
        guard tiers.count <= 20 else {
            throw RPCError.invalidArgument(field: "\(field).tier_ids", "at most 20, got \(tiers.count)")
        }
        for (index, id) in tiers.enumerated() {
            let path = "\(field).tier_ids[\(index)]"
            _ = try Validate.id(id, field: path)
            guard tiers.firstIndex(of: id) == index else {
                throw RPCError.invalidArgument(field: path, "'\(id)' is listed twice")
            }
            guard try await customers.tier(id, in: reader) != nil else {
                throw RPCError(code: .notFound, message: "\(path): no membership tier '\(id)'")
            }
        }
        return PromotionTierList(tierIDs: tiers)
    }

    /// A window: both ends given, the end after the start and at most 366 days later.
    func validateWindow(starts: Timestamp?, ends: Timestamp?) throws -> (Timestamp, Timestamp) {
        guard let starts else { throw RPCError.invalidArgument(field: "starts_at", "is required") }
        guard let ends else { throw RPCError.invalidArgument(field: "ends_at", "is required") }
        let start = try Validate.timestamp(starts, field: "starts_at")
        let end = try Validate.timestamp(ends, field: "ends_at")
        guard Timestamps.nanos(end) > Timestamps.nanos(start) else {
            throw RPCError.invalidArgument(field: "ends_at", "must be after starts_at")
        }
        guard end.seconds - start.seconds <= 366 * 86_400 else {
            throw RPCError.invalidArgument(field: "ends_at", "must be at most 366 days after starts_at")
        }
        return (start, end)
    }

    /// A shared code: 4 to 32 characters of [A-Z0-9], stored in upper case.
    static func sharedCode(_ value: String, field: String) throws -> String {
        let code = PricingEngine.normalCode(value)
        guard (4...32).contains(code.utf8.count),
            code.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x30 && $0 <= 0x39) })
        else {
            throw RPCError.invalidArgument(field: field, "must be 4 to 32 characters of A-Z and 0-9")
        }
        return code
    }
}
