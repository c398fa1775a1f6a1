public import O2OMessages

/// One line of a basket, with what the catalog said about its SKU.
public struct PricingLine: Sendable, Hashable {
    /// Position-based id, "1", "2", ... (ties in the split go to the earlier line).
    public var lineID: String
    public var skuID: String
    public var productID: String
    public var productName: String
    public var skuName: String
    /// The SKU's category and every ancestor of it, for category scopes.
    public var categoryIDs: [String]
    /// Units, 1 to 999.
    public var quantity: Int64
    /// The catalog price per unit, in minor units, 0 to 10^12.
    public var listUnitPrice: Int64

    public init(
        lineID: String,
        skuID: String,
        productID: String,
        productName: String = "",
        skuName: String = "",
        categoryIDs: [String] = [],
        quantity: Int64,
        listUnitPrice: Int64
    ) {
        self.lineID = lineID
        self.skuID = skuID
        self.productID = productID
        self.productName = productName
        self.skuName = skuName
        self.categoryIDs = categoryIDs
        self.quantity = quantity
        self.listUnitPrice = listUnitPrice
    }
}

/// The customer's membership tier, as the CRM has it.
public struct PricingTier: Sendable, Hashable {
    public var id: String
    public var name: String
    /// Discount in basis points, 0 to 10,000.
    public var discountBps: Int32

    public init(id: String, name: String, discountBps: Int32) {
        self.id = id
        self.name = name
        self.discountBps = discountBps
    }
}

/// The customer's points and the CRM's redemption rules (the same rules as crm
/// QuotePointsRedemption).
public struct PricingPoints: Sendable, Hashable {
    /// Points asked for; 0 redeems none.
    public var requested: Int64
    /// Points the customer may spend now: the balance without points past their
    /// expiry; 0 for a customer who may not redeem.
    public var spendable: Int64
    /// The balance shown (the ledger's sum).
    public var balance: Int64
    /// Points per redeem unit (100), > 0.
    public var pointsPerUnit: Int64
    /// What one redeem unit is worth, in minor units (100 = 1 yuan), > 0.
    public var unitValue: Int64
    /// Most of the amount after coupons that points may pay, 0 to 10,000 bps.
    public var maxRedeemBps: Int32
    /// Fewest points one redemption may use; 0 means no minimum.
    public var minRedeemPoints: Int64

    public init(
        requested: Int64 = 0,
        spendable: Int64 = 0,
        balance: Int64 = 0,
        pointsPerUnit: Int64 = 100,
        unitValue: Int64 = 100,
        maxRedeemBps: Int32 = 5000,
        minRedeemPoints: Int64 = 0
    ) {
        self.requested = requested
        self.spendable = spendable
        self.balance = balance
        self.pointsPerUnit = pointsPerUnit
        self.unitValue = unitValue
        self.maxRedeemBps = maxRedeemBps
        self.minRedeemPoints = minRedeemPoints
    }

    /// No points asked for and none to spend.
    public static let none = PricingPoints()
}

/// The delivery fee of the fulfilment mode and when it is waived.
public struct PricingDelivery: Sendable, Hashable {
    /// The fee in minor units; 0 is free (store pickup always is).
    public var fee: Int64
    /// The fee is waived when the amount after coupons reaches this; 0 means never.
    public var freeThreshold: Int64

    public init(fee: Int64 = 0, freeThreshold: Int64 = 0) {
        self.fee = fee
        self.freeThreshold = freeThreshold
    }

    public static let free = PricingDelivery()
}

/// A coupon code as given, with what the caller found for it: the promotion of the
/// issued coupon or of the shared code (nil when nothing has that code), and the
/// issued coupon (nil for a shared code).
public struct PricingCoupon: Sendable {
    public var code: String
    public var promotion: PricingPromotion?
    public var coupon: Coupon?

    public init(code: String, promotion: PricingPromotion?, coupon: Coupon? = nil) {
        self.code = code
        self.promotion = promotion
        self.coupon = coupon
    }
}

/// Everything a price depends on. The engine reads nothing else: the same input
/// gives the same price, in a quote and at checkout.
public struct PricingInput: Sendable {
    /// The order currency of every amount.
    public var currency: String
    /// The moment of pricing: which promotions run and which coupons are valid.
    public var now: Timestamp
    public var customerID: String
    /// The customer's tier; nil when none.
    public var tier: PricingTier?
    /// 1 to 100 lines with distinct SKUs.
    public var lines: [PricingLine]
    /// The automatic promotions that may apply (time-limited and spend-and-save);
    /// the engine checks their window, status, scope, tiers, minimum and limits.
    public var promotions: PromotionIndex
    /// The coupon codes, in the order given (at most 5).
    public var coupons: [PricingCoupon]
    /// Orders of this customer that used each promotion, by promotion id (for
    /// per_customer_limit).
    public var customerUsage: [String: Int64]
    public var points: PricingPoints
    public var delivery: PricingDelivery

    public init(
        currency: String,
        now: Timestamp,
        customerID: String,
        tier: PricingTier? = nil,
        lines: [PricingLine],
        promotions: PromotionIndex = .empty,
        coupons: [PricingCoupon] = [],
        customerUsage: [String: Int64] = [:],
        points: PricingPoints = .none,
        delivery: PricingDelivery = .free
    ) {
        self.currency = currency
        self.now = now
        self.customerID = customerID
        self.tier = tier
        self.lines = lines
        self.promotions = promotions
        self.coupons = coupons
        self.customerUsage = customerUsage
        self.points = points
        self.delivery = delivery
    }
}

/// An input the engine cannot price: the callers validate requests first, so this
/// names a limit a caller let through.
public struct PricingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public var description: String { "\(field): \(reason)" }
}
