import Foundation
import O2OClient
import O2OServiceKit
import O2OServiceTestSupport
import O2OTestSupport
import Testing

@testable import O2OPromotions

func cny(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: "CNY") }

extension ServiceHarness {
    var promotion: PromotionServiceClient { client.promotion }

    /// A promotion of `kind` running for a day from now (the harness clock).
    func campaign(
        _ kind: PromotionKind = .coupon,
        _ benefit: PromotionBenefit.Benefit = .orderAmountOff(cny(1000)),
        startsIn: Int64 = 0,
        days: Int64 = 1,
        configure: (inout Promotion) -> Void = { _ in }
    ) async throws -> Promotion {
        let now = clock.clock.now().seconds
        var promotion = Promotion(
            name: "Promotion \(UUID().uuidString.prefix(6))",
            kind: kind,
            benefit: PromotionBenefit(benefit: benefit),
            scope: PromotionScope(allItems: true),
            startsAt: Timestamp(seconds: now + startsIn),
            endsAt: Timestamp(seconds: now + startsIn + days * 86_400)
        )
        configure(&promotion)
        return try await self.promotion.createPromotion(CreatePromotionRequest(requestID: rid(), promotion: promotion))
    }

    func customer() async throws -> Customer {
        try await client.crm.createCustomer(
            CreateCustomerRequest(
                requestID: rid(),
                displayName: "顾客",
                email: "c-\(UUID().uuidString.prefix(12))@example.com"
            )
        )
    }
}

@Suite("Promotions and coupons")
struct PromotionTests {
    @Test(
        "promotions: benefits fit their kind, flags their kind, windows and scopes are checked",
        arguments: StoreKind.allCases
    )
    func validation(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            func refused(
                _ code: RPCStatusCode,
                _ text: String,
                _ kind: PromotionKind = .coupon,
                _ benefit: PromotionBenefit.Benefit = .orderAmountOff(cny(1000)),
                startsIn: Int64 = 0,
                days: Int64 = 1,
                _ configure: @escaping (inout Promotion) -> Void = { _ in }
            ) async {
                await expectStatus(code, containing: text) {
                    _ = try await harness.campaign(kind, benefit, startsIn: startsIn, days: days, configure: configure)
                }
            }
            await refused(.invalidArgument, "promotion.kind", .unspecified)
            await refused(.invalidArgument, "does not fit a TIME_LIMITED_DISCOUNT", .timeLimitedDiscount)
            await refused(.invalidArgument, "does not fit a SPEND_AND_SAVE", .spendAndSave, .percentOffBps(1000))
            await refused(.invalidArgument, "percent_off_bps", .coupon, .percentOffBps(10_000))
            await refused(.invalidArgument, "unit_amount_off.minor_units", .timeLimitedDiscount, .unitAmountOff(cny(0)))
            let badRule = SpendAndSaveRule(tiers: [
                SpendAndSaveTier(threshold: cny(10_000), saving: cny(1000)),
                SpendAndSaveTier(threshold: cny(20_000), saving: cny(900)),
            ])
            await refused(.invalidArgument, "rise from tier to tier", .spendAndSave, .spendAndSave(badRule))
            let tooMuch = SpendAndSaveRule(tiers: [SpendAndSaveTier(threshold: cny(100), saving: cny(100))])
            await refused(.invalidArgument, "less than the threshold", .spendAndSave, .spendAndSave(tooMuch))
            var twoRepeating = badRule
            twoRepeating.repeating = true
            await refused(.invalidArgument, "exactly one tier", .spendAndSave, .spendAndSave(twoRepeating))
            await refused(.invalidArgument, "max_discount") { $0.benefit?.maxDiscount = cny(500) }
            await refused(.invalidArgument, "combines_with_member_discount") { $0.combinesWithMemberDiscount = true }
            await refused(.invalidArgument, "combines_with_other_coupons", .spendAndSave, .spendAndSave(tooMuch)) {
                $0.combinesWithOtherCoupons = true
                $0.benefit = PromotionBenefit(
                    benefit: .spendAndSave(
                        SpendAndSaveRule(tiers: [SpendAndSaveTier(threshold: cny(100), saving: cny(10))])
                    )
                )
            }
            await refused(.invalidArgument, "must be after starts_at", days: 0)
            await refused(.invalidArgument, "366 days", days: 367)
            await refused(.invalidArgument, "covers nothing") { $0.scope = PromotionScope() }
            await refused(.notFound, "scope.sku_ids[0]: no SKU 'sku_nope'") {
                $0.scope = PromotionScope(skuIDs: ["sku_nope"])
            }
            await refused(.notFound, "eligible_tiers.tier_ids[0]") {
                $0.eligibleTiers = PromotionTierList(tierIDs: ["tie_x"])
            }
            await refused(.invalidArgument, "shared_code") { $0.sharedCode = "ab" }
            await refused(.invalidArgument, "promotion.name") { $0.name = "" }

            // A shared code is upper case and unique whatever the case it is given in.
            let shared = try await harness.campaign { $0.sharedCode = "spring2027" }
            #expect(shared.sharedCode == "SPRING2027" && shared.status == .running && shared.version == 1)
            await refused(.alreadyExists, "shared_code") { $0.sharedCode = "Spring2027" }
            let list = try await harness.promotion.listPromotions(ListPromotionsRequest())
            #expect(list.promotions.map(\.id) == [shared.id], "nothing refused was stored")
        }
    }

    @Test(
        "status follows the window; benefit, scope and start change only while SCHEDULED",
        arguments: StoreKind.allCases
    )
    func lifeCycle(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let later = try await harness.campaign(.timeLimitedDiscount, .percentOffBps(1500), startsIn: 3600) {
                $0.combinesWithMemberDiscount = true
            }
            #expect(later.status == .scheduled)
            let changed = try await harness.promotion.updatePromotion(
                UpdatePromotionRequest(
                    requestID: rid(),
                    id: later.id,
                    expectedVersion: 1,
                    name: "八五折 15% off",
                    benefit: PromotionBenefit(benefit: .percentOffBps(2000))
                )
            )
            #expect(changed.version == 2 && changed.name == "八五折 15% off")
            await expectStatus(.failedPrecondition, containing: "expected_version") {
                _ = try await harness.promotion.updatePromotion(
                    UpdatePromotionRequest(requestID: rid(), id: later.id, expectedVersion: 1, name: "x")
                )
            }
            harness.clock.advance(seconds: 3601)
            #expect(try await harness.promotion.getPromotion(GetPromotionRequest(id: later.id)).status == .running)
            await expectStatus(.failedPrecondition, containing: "only while it is SCHEDULED") {
                _ = try await harness.promotion.updatePromotion(
                    UpdatePromotionRequest(
                        requestID: rid(),
                        id: later.id,
                        benefit: PromotionBenefit(benefit: .percentOffBps(3000))
                    )
                )
            }
            let running = try await harness.promotion.listPromotions(ListPromotionsRequest(statuses: [.running]))
            #expect(running.promotions.map(\.id) == [later.id])
            harness.clock.advance(seconds: 86_400)
            #expect(try await harness.promotion.getPromotion(GetPromotionRequest(id: later.id)).status == .ended)
            let ended = try await harness.promotion.deactivatePromotion(
                DeactivatePromotionRequest(requestID: rid(), id: later.id, reason: "price error")
            )
            #expect(ended.status == .deactivated && ended.deactivationReason == "price error")
            let again = try await harness.promotion.deactivatePromotion(
                DeactivatePromotionRequest(requestID: rid(), id: later.id, reason: "again")
            )
            #expect(again.version == ended.version && again.deactivationReason == "price error")
            await expectStatus(.failedPrecondition, containing: "DEACTIVATED and cannot change") {
                _ = try await harness.promotion.updatePromotion(
                    UpdatePromotionRequest(requestID: rid(), id: later.id, name: "y")
                )
            }
            await expectStatus(.notFound, containing: "id") {
                _ = try await harness.promotion.getPromotion(GetPromotionRequest(id: "prm_missing"))
            }
        }
    }

    @Test(
        "coupons: issued to customers or as bearer codes, unguessable, limited, voided, expired",
        arguments: StoreKind.allCases
    )
    func coupons(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let campaign = try await harness.campaign {
                $0.totalUsageLimit = 5
                $0.couponValidityDays = 7
            }
            let (alice, bob) = (try await harness.customer(), try await harness.customer())
            let issued = try await harness.promotion.issueCoupons(
                IssueCouponsRequest(
                    requestID: rid(),
                    promotionID: campaign.id,
                    recipients: .customers(CouponRecipientList(customerIDs: [alice.id, bob.id]))
                )
            ).coupons
            #expect(issued.map(\.customerID) == [alice.id, bob.id])
            let alphabet = Set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            #expect(issued.allSatisfy { $0.code.count == 12 && $0.code.allSatisfy(alphabet.contains) })
            #expect(Set(issued.map(\.code)).count == 2 && issued.allSatisfy { $0.status == .available })
            // The end of the campaign (a day) comes before the 7 days of validity.
            #expect(issued[0].expiresAt == campaign.endsAt)
            let bearer = try await harness.promotion.issueCoupons(
                IssueCouponsRequest(requestID: rid(), promotionID: campaign.id, recipients: .bearerCount(3))
            ).coupons
            #expect(bearer.count == 3 && bearer.allSatisfy { $0.customerID.isEmpty })
            await expectStatus(.resourceExhausted, containing: "may have 5 coupons") {
                _ = try await harness.promotion.issueCoupons(
                    IssueCouponsRequest(requestID: rid(), promotionID: campaign.id, recipients: .bearerCount(1))
                )
            }
            await expectStatus(.notFound, containing: "customer_ids[0]") {
                _ = try await harness.promotion.issueCoupons(
                    IssueCouponsRequest(
                        requestID: rid(),
                        promotionID: campaign.id,
                        recipients: .customers(CouponRecipientList(customerIDs: ["cus_missing"]))
                    )
                )
            }
            await expectStatus(.invalidArgument, containing: "listed twice") {
                _ = try await harness.promotion.issueCoupons(
                    IssueCouponsRequest(
                        requestID: rid(),
                        promotionID: campaign.id,
                        recipients: .customers(CouponRecipientList(customerIDs: [alice.id, alice.id]))
                    )
                )
            }
            let automatic = try await harness.campaign(.timeLimitedDiscount, .percentOffBps(500))
            await expectStatus(.failedPrecondition, containing: "not a COUPON campaign") {
                _ = try await harness.promotion.issueCoupons(
                    IssueCouponsRequest(requestID: rid(), promotionID: automatic.id, recipients: .bearerCount(1))
                )
            }

            // By code in any case; a customer's wallet; a promotion's coupons.
            let byCode = try await harness.promotion.getCoupon(
                GetCouponRequest(key: .code(issued[0].code.lowercased()))
            )
            #expect(byCode.id == issued[0].id)
            let wallet = try await harness.promotion.listCoupons(ListCouponsRequest(customerID: alice.id))
            #expect(wallet.coupons.map(\.id) == [issued[0].id])
            let all = try await harness.promotion.listCoupons(ListCouponsRequest(promotionID: campaign.id))
            #expect(all.coupons.map(\.id) == (issued + bearer).map(\.id).reversed(), "newest first")
            await expectStatus(.invalidArgument, containing: "customer_id") {
                _ = try await harness.promotion.listCoupons(ListCouponsRequest())
            }

            let voided = try await harness.promotion.voidCoupon(
                VoidCouponRequest(requestID: rid(), id: bearer[0].id, reason: "printed twice")
            )
            #expect(voided.status == .voided && voided.voidReason == "printed twice")
            let again = try await harness.promotion.voidCoupon(
                VoidCouponRequest(requestID: rid(), id: bearer[0].id, reason: "again")
            )
            #expect(again.version == voided.version)
            let voidedOnly = try await harness.promotion.listCoupons(
                ListCouponsRequest(promotionID: campaign.id, status: .voided)
            )
            #expect(voidedOnly.coupons.map(\.id) == [bearer[0].id])

            // Deactivating the campaign ends its unused coupons; time ends the rest.
            _ = try await harness.promotion.deactivatePromotion(
                DeactivatePromotionRequest(requestID: rid(), id: campaign.id, reason: "abuse")
            )
            #expect(try await harness.promotion.getCoupon(GetCouponRequest(key: .id(issued[1].id))).status == .expired)
            await expectStatus(.failedPrecondition, containing: "only an AVAILABLE coupon") {
                _ = try await harness.promotion.voidCoupon(
                    VoidCouponRequest(requestID: rid(), id: issued[1].id, reason: "x")
                )
            }
            await expectStatus(.failedPrecondition, containing: "DEACTIVATED") {
                _ = try await harness.promotion.issueCoupons(
                    IssueCouponsRequest(requestID: rid(), promotionID: campaign.id, recipients: .bearerCount(1))
                )
            }
        }
    }

    @Test("200 concurrent takers of a promotion limited to 50: exactly 50 get it", arguments: StoreKind.allCases)
    func noOveruse(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let limited = try await harness.campaign(
                .spendAndSave,
                .spendAndSave(
                    SpendAndSaveRule(tiers: [SpendAndSaveTier(threshold: cny(10_000), saving: cny(1000))])
                )
            ) { $0.totalUsageLimit = 50 }
            let customer = try await harness.customer()
            let uses = harness.platform.promotions.uses
            let lines = [PromotionOrderUseLine(promotionID: limited.id, discount: cny(1000))]
            let results = await withTaskGroup(of: Bool.self) { group in
                for number in 0..<200 {
                    group.addTask {
                        do {
                            try await harness.store.transaction(locking: PromotionUses.locks(for: lines)) {
                                transaction in
                                try await uses.take(
                                    orderID: "ord-\(number)",
                                    customerID: customer.id,
                                    lines: lines,
                                    in: transaction
                                )
                            }
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 50)
            let after = try await harness.promotion.getPromotion(GetPromotionRequest(id: limited.id))
            #expect(after.usageCount == 50 && after.discountTotal?.minorUnits == 50_000)
            // Giving one back makes room for exactly one more.
            let winner = try #require(
                try await (0..<200).asyncFirst { number in
                    try await harness.store.read { reader in
                        try await reader.get(PromotionTables.orderUses, .string("ord-\(number)")) != nil
                    }
                }
            )
            try await harness.store.transaction { try await uses.release(orderID: "ord-\(winner)", in: $0) }
            try await harness.store.transaction { try await uses.release(orderID: "ord-\(winner)", in: $0) }
            #expect(try await harness.promotion.getPromotion(GetPromotionRequest(id: limited.id)).usageCount == 49)
            try await harness.store.transaction {
                try await uses.take(orderID: "ord-late", customerID: customer.id, lines: lines, in: $0)
            }
            await expectStatus(.failedPrecondition, containing: "used as often as it may be") {
                try await harness.store.transaction {
                    try await uses.take(orderID: "ord-later", customerID: customer.id, lines: lines, in: $0)
                }
            }
        }
    }

    @Test(
        "coupons at checkout: locked by one order, given back on cancel, redeemed on payment",
        arguments: StoreKind.allCases
    )
    func couponLocks(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let campaign = try await harness.campaign { $0.perCustomerLimit = 1 }
            let (alice, bob) = (try await harness.customer(), try await harness.customer())
            let coupon = try await harness.promotion.issueCoupons(
                IssueCouponsRequest(
                    requestID: rid(),
                    promotionID: campaign.id,
                    recipients: .customers(CouponRecipientList(customerIDs: [alice.id]))
                )
            ).coupons[0]
            let uses = harness.platform.promotions.uses
            let line = [PromotionOrderUseLine(promotionID: campaign.id, couponID: coupon.id, discount: cny(1000))]
            func take(_ order: String, _ customer: String) async throws {
                try await harness.store.transaction(locking: PromotionUses.locks(for: line)) {
                    try await uses.take(orderID: order, customerID: customer, lines: line, in: $0)
                }
            }
            await expectStatus(.failedPrecondition, containing: "another customer") { try await take("o-bob", bob.id) }
            try await take("o-1", alice.id)
            let locked = try await harness.promotion.getCoupon(GetCouponRequest(key: .id(coupon.id)))
            #expect(locked.status == .locked && locked.orderID == "o-1")
            await expectStatus(.failedPrecondition, containing: "LOCKED") { try await take("o-2", alice.id) }
            try await harness.store.transaction { try await uses.release(orderID: "o-1", in: $0) }
            let back = try await harness.promotion.getCoupon(GetCouponRequest(key: .id(coupon.id)))
            #expect(back.status == .available && back.orderID.isEmpty)
            try await take("o-3", alice.id)
            try await harness.store.transaction { try await uses.redeem(orderID: "o-3", in: $0) }
            try await harness.store.transaction { try await uses.release(orderID: "o-3", in: $0) }
            let redeemed = try await harness.promotion.getCoupon(GetCouponRequest(key: .id(coupon.id)))
            #expect(redeemed.status == .redeemed && redeemed.orderID == "o-3", "a paid order keeps its coupon")
            // Per customer: the campaign once per customer, and alice has used it.
            let promotionOnly = [PromotionOrderUseLine(promotionID: campaign.id, discount: cny(1000))]
            await expectStatus(.failedPrecondition, containing: "per customer") {
                try await harness.store.transaction {
                    try await uses.take(orderID: "o-4", customerID: alice.id, lines: promotionOnly, in: $0)
                }
            }
            #expect(try await harness.promotion.getPromotion(GetPromotionRequest(id: campaign.id)).usageCount == 1)
        }
    }
}

extension Range where Bound == Int {
    func asyncFirst(_ predicate: (Int) async throws -> Bool) async rethrows -> Int? {
        for value in self where try await predicate(value) { return value }
        return nil
    }
}
