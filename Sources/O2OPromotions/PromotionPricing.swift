import O2OMessages
public import O2OPricing
import O2ORPC
import O2OServiceKit
import O2OStorage
import Synchronization

/// What pricing needs of the promotions: the automatic promotions, compiled once and
/// kept until one of them changes; the coupon codes of a checkout, resolved; and how
/// often the customer used each promotion.
public final class PromotionPricing: Sendable {
    /// The compiled promotions, and how many invalidations there were: a build that
    /// raced with a change keeps its result only if no change came in between.
    private let cached = Mutex<(generation: Int, index: PromotionIndex?)>((0, nil))

    private let store: ServiceStore

    init(store: ServiceStore) { self.store = store }

    /// Forgets the compiled promotions: called after every change of a promotion's
    /// definition (usage counts change at every checkout and are re-checked when
    /// checkout takes a use, so they do not invalidate it).
    func invalidate() {
        cached.withLock { $0 = ($0.generation + 1, nil) }
    }

    /// The time-limited and spend-and-save promotions that have not ended or been
    /// deactivated; the engine checks each one's window at the moment of pricing.
    /// Built from a read that starts after the last invalidation, so it never keeps
    /// a promotion as it was before a change.
    public func automatic(now: Timestamp) async throws -> PromotionIndex {
        let (generation, index) = cached.withLock { $0 }
        if let index { return index }
        let found = try await store.read { reader in
            var found: [PricingPromotion] = []
            try await reader.forEachPage(PromotionTables.promotions, RecordQuery(pageSize: 500)) { page in
                for promotion in page
                where (promotion.kind == .timeLimitedDiscount || promotion.kind == .spendAndSave)
                    && promotion.status != .deactivated && !Timestamps.isPast(promotion.endsAt, now: now)
                {
                    found.append(PricingPromotion(promotion))
                }
            }
            return found
        }
        let built = PromotionIndex(found)
        cached.withLock { if $0.generation == generation { $0.index = built } }
        return built
    }

    /// Each code as the engine needs it: the issued coupon with its promotion, or the
    /// COUPON promotion whose shared code it is, or nothing (an unknown code).
    public func coupons(_ codes: [String], in reader: some RecordReading) async throws -> [PricingCoupon] {
        var resolved: [PricingCoupon] = []
        for code in codes {
            let normal = PricingEngine.normalCode(code)
            if let coupon = try await reader.lookup(
                PromotionTables.coupons,
                PromotionTables.couponCode,
                .string(normal)
            ) {
                let promotion = try await reader.get(PromotionTables.promotions, .string(coupon.promotionID))
                resolved.append(
                    PricingCoupon(code: code, promotion: promotion.map(PricingPromotion.init), coupon: coupon)
                )
            } else if let promotion = try await reader.lookup(
                PromotionTables.promotions,
                PromotionTables.promotionCode,
                .string(normal)
            ) {
                resolved.append(PricingCoupon(code: code, promotion: PricingPromotion(promotion)))
            } else {
                resolved.append(PricingCoupon(code: code, promotion: nil))
            }
        }
        return resolved
    }

    /// Orders of the customer that used each of `promotionIDs` (only those with a
    /// per-customer limit are looked up).
    public func customerUsage(
        customerID: String,
        promotions: [PricingPromotion],
        in reader: some RecordReading
    ) async throws -> [String: Int64] {
        var usage: [String: Int64] = [:]
        for promotion in promotions where promotion.promotion.perCustomerLimit > 0 && usage[promotion.id] == nil {
            let key: KeyTuple = [.string(promotion.id), .string(customerID)]
            usage[promotion.id] = try await reader.get(PromotionTables.customerUsage, key)?.orderCount ?? 0
        }
        return usage
    }
}
