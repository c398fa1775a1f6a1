import O2OMessages
import O2OServiceKit
import O2OStorage

/// The promotions' tables and their indexes. Table ids are part of every stored key:
/// never reuse one (the keyspace check refuses a clash at start).
enum PromotionTables {
    /// Shared codes, upper case, unique among promotions.
    static let promotionCode = RecordIndex<Promotion>(id: 1, name: "shared_code", unique: true) { promotion in
        promotion.sharedCode.isEmpty ? [] : [[.string(promotion.sharedCode)]]
    }
    /// Promotions; ids sort by creation time, so the primary key lists them in that
    /// order.
    static let promotions = RecordTable<Promotion>(
        id: 400,
        name: "promotions",
        noun: "promotion",
        primaryKey: { .string($0.id) },
        indexes: [promotionCode]
    )

    static let couponCode = RecordIndex<Coupon>(id: 1, name: "code", unique: true) { [[.string($0.code)]] }
    static let couponCustomer = RecordIndex<Coupon>(id: 2, name: "customer", unique: false) { coupon in
        coupon.customerID.isEmpty ? [] : [[.string(coupon.customerID), .string(coupon.id)]]
    }
    static let couponPromotion = RecordIndex<Coupon>(id: 3, name: "promotion", unique: false) {
        [[.string($0.promotionID), .string($0.id)]]
    }
    /// Issued coupons, by id (creation order).
    static let coupons = RecordTable<Coupon>(
        id: 401,
        name: "coupons",
        noun: "coupon",
        primaryKey: { .string($0.id) },
        indexes: [couponCode, couponCustomer, couponPromotion]
    )

    /// Orders per promotion and customer, for per-customer limits.
    static let customerUsage = RecordTable<PromotionCustomerUsage>(
        id: 402,
        name: "promotion_customer_usage",
        noun: "promotion usage",
        primaryKey: { [.string($0.promotionID), .string($0.customerID)] }
    )

    /// What each order took, by order id.
    static let orderUses = RecordTable<PromotionOrderUse>(
        id: 403,
        name: "promotion_order_uses",
        noun: "promotion use",
        primaryKey: { .string($0.orderID) }
    )

    /// Every key prefix the promotions write.
    static let keyspace: [KeyspaceEntry] = [
        KeyspaceEntry.table(promotions, owner: "promotions"), KeyspaceEntry.table(coupons, owner: "promotions"),
        KeyspaceEntry.table(customerUsage, owner: "promotions"), KeyspaceEntry.table(orderUses, owner: "promotions"),
    ].flatMap { $0 }
}

extension Promotion: VersionedRecord, Identified {}
extension Coupon: VersionedRecord, Identified {}
