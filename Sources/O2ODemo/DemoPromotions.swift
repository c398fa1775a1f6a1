public import Logging
import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// Promotions for the demo shop, running for 30 days from the first load: a flash
/// sale on 60 SKUs (8.8折), 满199减20 on everything, 每满100减10 for gold and diamond
/// members, a 10-yuan welcome coupon issued to 300 members, and a shared code
/// (WELCOME2027, 10% off up to 30 yuan) anyone may enter. The shop charges 8.00 for
/// delivery (free from 99.00) and 5.00 for store delivery (free from 49.00).
/// Loaded through the services, with request ids derived from the shop, so loading
/// again changes nothing.
public enum DemoPromotions {
    static let markerKey: [UInt8] = [0x30] + Array("demo-promotions/v1".utf8)
    static let startKey: [UInt8] = [0x30] + Array("demo-promotions/started".utf8)

    /// Loads the promotions once the demo members are there; returns how many.
    @discardableResult
    public static func load(
        into store: ServiceStore,
        services: [any RPCService],
        currency: String = "CNY",
        logger: Logger
    ) async throws -> Int {
        if try await store.records.engine.get(markerKey) != nil { return 0 }
        guard try await store.records.engine.get(DemoCustomers.markerKey) != nil else { return 0 }
        let shop = DemoShop(services: services, logger: logger)
        func money(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: currency) }
        let start = try await firstStart(under: startKey, in: store)
        _ = try await shop.order.updateOrderSettings(
            UpdateOrderSettingsRequest(
                requestID: "demo-order-settings",
                settings: OrderSettings(
                    currency: currency,
                    deliveryFee: money(800),
                    freeDeliveryThreshold: money(9_900),
                    storeDeliveryFee: money(500),
                    freeStoreDeliveryThreshold: money(4_900),
                    allowSplitDelivery: true
                )
            )
        )
        let tiers = try await shop.crm.listMembershipTiers(ListMembershipTiersRequest()).tiers
        let upper = tiers.filter { $0.code == "gold" || $0.code == "diamond" }.map(\.id)
        let flashSkus = Array(try await shop.onSaleSkus().prefix(60))
        func create(_ key: String, _ promotion: Promotion) async throws -> Promotion {
            var promotion = promotion
            promotion.startsAt = Timestamp(seconds: start - 3600)
            promotion.endsAt = Timestamp(seconds: start + 30 * 86_400)
            return try await shop.promotion.createPromotion(
                CreatePromotionRequest(requestID: "demo-promotion-\(key)", promotion: promotion)
            )
        }
        _ = try await create(
            "flash",
            Promotion(
                name: "限时 8.8折 Flash sale",
                description: "60 items at 12% off while the sale lasts; member prices and 满减 still apply.",
                kind: .timeLimitedDiscount,
                benefit: PromotionBenefit(benefit: .percentOffBps(1200)),
                scope: PromotionScope(skuIDs: flashSkus),
                combinesWithMemberDiscount: true,
                combinesWithSpendAndSave: true,
                combinesWithCoupons: true
            )
        )
        _ = try await create(
            "spend-199",
            Promotion(
                name: "满199减20 Spend 199, save 20",
                description: "On every order of 199 yuan or more after member prices.",
                kind: .spendAndSave,
                benefit: PromotionBenefit(
                    benefit: .spendAndSave(
                        SpendAndSaveRule(tiers: [
                            SpendAndSaveTier(threshold: money(19_900), saving: money(2_000)),
                            SpendAndSaveTier(threshold: money(39_900), saving: money(5_000)),
                        ])
                    )
                ),
                scope: PromotionScope(allItems: true),
                combinesWithCoupons: true
            )
        )
        _ = try await create(
            "every-100",
            Promotion(
                name: "金卡每满100减10 Gold: 10 off every 100",
                description: "For gold and diamond members, up to 80 yuan per order.",
                kind: .spendAndSave,
                benefit: PromotionBenefit(
                    benefit: .spendAndSave(
                        SpendAndSaveRule(
                            tiers: [SpendAndSaveTier(threshold: money(10_000), saving: money(1_000))],
                            repeating: true
                        )
                    ),
                    maxDiscount: money(8_000)
                ),
                scope: PromotionScope(allItems: true),
                eligibleTiers: PromotionTierList(tierIDs: upper),
                combinesWithCoupons: true
            )
        )
        let welcome = try await create(
            "welcome",
            Promotion(
                name: "新客立减10元 10 yuan welcome coupon",
                description: "10 yuan off an order of 50 yuan or more; one per member.",
                kind: .coupon,
                benefit: PromotionBenefit(benefit: .orderAmountOff(money(1_000))),
                scope: PromotionScope(allItems: true),
                minSpend: money(5_000),
                combinesWithOtherCoupons: true,
                perCustomerLimit: 1,
                couponValidityDays: 14
            )
        )
        _ = try await create(
            "shared",
            Promotion(
                name: "口令券 WELCOME2027 10% off",
                description: "Enter WELCOME2027: 10% off, at most 30 yuan; twice per customer.",
                kind: .coupon,
                benefit: PromotionBenefit(benefit: .percentOffBps(1000), maxDiscount: money(3_000)),
                scope: PromotionScope(allItems: true),
                combinesWithOtherCoupons: true,
                sharedCode: "WELCOME2027",
                perCustomerLimit: 2
            )
        )
        var members: [String] = []
        var token = ""
        repeat {
            let page = try await shop.crm.listCustomers(
                ListCustomersRequest(page: PageRequest(pageSize: 300, pageToken: token), sortOrder: .ascending)
            )
            members += page.customers.map(\.id)
            token = members.count >= 300 ? "" : page.nextPageToken
        } while !token.isEmpty
        _ = try await shop.promotion.issueCoupons(
            IssueCouponsRequest(
                requestID: "demo-coupons-welcome",
                promotionID: welcome.id,
                recipients: .customers(CouponRecipientList(customerIDs: Array(members.prefix(300))))
            )
        )
        try await store.transaction { $0.putRaw(markerKey, Array("loaded".utf8)) }
        logger.info("demo promotions loaded", metadata: ["promotions": "5", "coupons": "\(min(300, members.count))"])
        return 5
    }
}

extension DemoShop {
    /// The ids of the SKUs on sale (active, of a product on shelf), in search order.
    func onSaleSkus() async throws -> [String] {
        var ids: [String] = []
        var token = ""
        repeat {
            let page = try await catalog.searchProducts(
                SearchProductsRequest(page: PageRequest(pageSize: 500, pageToken: token))
            )
            for hit in page.hits {
                guard let product = hit.product, product.status == .onShelf else { continue }
                ids += product.skus.filter { $0.status == .active }.map(\.id)
            }
            token = page.nextPageToken
        } while !token.isEmpty
        return ids
    }
}
