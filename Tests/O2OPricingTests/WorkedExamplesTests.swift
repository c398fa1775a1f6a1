import O2OMessages
import O2OPricing
import Testing

/// Prices worked out by hand from the rules on OrderQuote, to the fen.
@Suite("Pricing: worked examples")
struct WorkedExamplesTests {
    let tenOff = promotion("c10", .coupon, .orderAmountOff(cny(1000)))

    @Test("a 10.00 coupon over three lines of 6.66: 3.34 + 3.33 + 3.33, the extra fen to the first line")
    func couponOverThreeLines() throws {
        let priced = try PricingEngine.price(
            input(
                [line(1, price: 666), line(2, price: 666), line(3, price: 666)],
                coupons: [issued("TENOFF", of: tenOff)]
            )
        )
        #expect(priced.shares(.coupon) == [334, 333, 333])
        #expect(priced.totals == [332, 333, 333])
        #expect(priced.payable == 998 && priced.amounts.couponDiscount?.minorUnits == 1000)
        #expect(priced.appliedPromotions.map(\.couponID) == ["cpn-TENOFF"])
    }

    @Test("a 10.00 coupon over three lines of 3.33: capped at the order, 9.99 shown, nothing to pay")
    func couponLargerThanOrder() throws {
        let priced = try PricingEngine.price(
            input(
                [line(1, price: 333), line(2, price: 333), line(3, price: 333)],
                coupons: [issued("TENOFF", of: tenOff)]
            )
        )
        #expect(priced.shares(.coupon) == [333, 333, 333])
        #expect(priced.totals == [0, 0, 0] && priced.payable == 0)
        #expect(priced.appliedPromotions.first?.amount?.minorUnits == 999)
    }

    @Test("a 100.00 coupon on a 30.00 order pays it all and no more")
    func hundredOnThirty() throws {
        let hundred = promotion("c100", .coupon, .orderAmountOff(cny(10_000)))
        let priced = try PricingEngine.price(
            input([line(1, price: 3000)], coupons: [issued("HUNDRED", of: hundred)])
        )
        #expect(priced.payable == 0 && priced.amounts.couponDiscount?.minorUnits == 3000)
        #expect(priced.amounts.discountTotal?.minorUnits == 3000)
    }

    @Test("满300减50 with a 9折 member tier and 500 points: 350.00 → 315.00 → 265.00 → 260.00")
    func spendAndSaveTierAndPoints() throws {
        let save = promotion("s300", .spendAndSave, spendAndSave([(30_000, 5000)]))
        let priced = try PricingEngine.price(
            input(
                [line(1, price: 20_000), line(2, price: 15_000)],
                tier: PricingTier(id: "tier-gold", name: "Gold", discountBps: 1000),
                promotions: [save],
                points: PricingPoints(requested: 500, spendable: 800, balance: 800)
            )
        )
        #expect(priced.shares(.memberTier) == [2000, 1500])
        // 50.00 over 180.00 and 135.00: 28.57 and 21.42, the extra fen to the larger.
        #expect(priced.shares(.spendAndSave) == [2858, 2142])
        // 5.00 over 151.42 and 113.58: 2.85 and 2.14, the extra fen to the larger.
        #expect(priced.shares(.points) == [286, 214])
        #expect(priced.totals == [14_856, 11_144] && priced.payable == 26_000)
        #expect(priced.pointsRedeemed == 500 && !priced.pointsCapped && priced.maxRedeemablePoints == 800)
        #expect(priced.appliedPromotions.map(\.stage) == [.memberTier, .spendAndSave, .points])
        #expect(priced.amounts.discountTotal?.minorUnits == 9000)
    }

    @Test("time-limited: 8.5折 rounds the unit discount down; the lowest price wins; ties go to the earliest")
    func timeLimited() throws {
        let fifteen = promotion("t15", .timeLimitedDiscount, .percentOffBps(1500), created: 2)
        let oneFifty = promotion("t150", .timeLimitedDiscount, .unitAmountOff(cny(150)), created: 1)
        let flash = promotion("flash", .timeLimitedDiscount, .saleUnitPrice(cny(1200)))
        let priced = try PricingEngine.price(
            input([line(1, price: 999, quantity: 3), line(2, price: 1000)], promotions: [fifteen, oneFifty, flash])
        )
        // 9.99: 15% off is 1.49 (1.4985 rounded down) → 8.50; 1.50 off → 8.49 wins.
        #expect(priced.lines[0].saleUnitPrice?.minorUnits == 849 && priced.shares(.timeLimited)[0] == 450)
        // 10.00: both give 8.50; the earlier created (t150) wins; the flash price is above.
        #expect(priced.lines[1].saleUnitPrice?.minorUnits == 850)
        #expect(priced.lines[1].discounts.map(\.promotionID) == ["t150"])
        #expect(priced.appliedPromotions.map(\.promotionID) == ["t150"])
        #expect(
            priced.appliedPromotions[0].lineIDs == ["1", "2"] && priced.appliedPromotions[0].amount?.minorUnits == 600
        )
    }

    @Test("combination flags: no member discount, no 满减, no coupon on lines under a promotion that says so")
    func combinationFlags() throws {
        let flash = promotion(
            "flash",
            .timeLimitedDiscount,
            .saleUnitPrice(cny(5000)),
            scope: PromotionScope(skuIDs: ["sku-1"]),
            member: false,
            spendAndSave: false,
            coupons: false
        )
        let save = promotion("s100", .spendAndSave, spendAndSave([(10_000, 1000)]))
        let priced = try PricingEngine.price(
            input(
                [line(1, price: 8000), line(2, price: 12_000)],
                tier: PricingTier(id: "t", name: "Silver", discountBps: 500),
                promotions: [flash, save],
                coupons: [issued("FIVE", of: promotion("c5", .coupon, .orderAmountOff(cny(500))))]
            )
        )
        #expect(priced.shares(.timeLimited) == [3000, 0])
        #expect(priced.shares(.memberTier) == [0, 600])
        #expect(priced.shares(.spendAndSave) == [0, 1000], "only line 2 (114.00) counts and reaches 100.00")
        #expect(priced.shares(.coupon) == [0, 500])
        #expect(priced.totals == [5000, 9900])
    }

    @Test("repeating 满减: 每满100减10 on 350.00 saves 30.00, capped at 20.00 when asked")
    func repeatingSpendAndSave() throws {
        let every = promotion("e100", .spendAndSave, spendAndSave([(10_000, 1000)], repeating: true))
        let capped = promotion(
            "e100c",
            .spendAndSave,
            spendAndSave([(10_000, 1000)], repeating: true),
            maxDiscount: 2000
        )
        #expect(try PricingEngine.price(input([line(1, price: 35_000)], promotions: [every])).payable == 32_000)
        #expect(try PricingEngine.price(input([line(1, price: 35_000)], promotions: [capped])).payable == 33_000)
        // Of the two, the one that saves more applies, alone.
        let both = try PricingEngine.price(input([line(1, price: 35_000)], promotions: [capped, every]))
        #expect(both.appliedPromotions.map(\.promotionID) == ["e100"])
    }

    @Test("tiered 满减: the highest tier reached applies")
    func tieredSpendAndSave() throws {
        let tiers = promotion("st", .spendAndSave, spendAndSave([(10_000, 1000), (20_000, 3000), (50_000, 9000)]))
        #expect(try PricingEngine.price(input([line(1, price: 9_999)], promotions: [tiers])).payable == 9_999)
        #expect(try PricingEngine.price(input([line(1, price: 25_000)], promotions: [tiers])).payable == 22_000)
        #expect(try PricingEngine.price(input([line(1, price: 60_000)], promotions: [tiers])).payable == 51_000)
    }

    @Test("coupons that combine: fixed amounts first, then percentages on what is left")
    func combiningCoupons() throws {
        let fixed = promotion("cf", .coupon, .orderAmountOff(cny(2000)), otherCoupons: true)
        let percent = promotion("cp", .coupon, .percentOffBps(1000), maxDiscount: 5000, otherCoupons: true)
        let priced = try PricingEngine.price(
            input([line(1, price: 10_000)], coupons: [issued("PCT", of: percent), issued("FIX", of: fixed)])
        )
        // 100.00 − 20.00 = 80.00, then 10% of 80.00 = 8.00.
        #expect(priced.appliedPromotions.map(\.couponCode) == ["FIX", "PCT"])
        #expect(priced.appliedPromotions.map { $0.amount?.minorUnits } == [2000, 800])
        #expect(priced.payable == 7200 && priced.rejectedCoupons.isEmpty)
    }

    @Test("coupons that do not combine: the larger saving is kept, the other is rejected and says why")
    func notCombining() throws {
        let fixed = promotion("cf", .coupon, .orderAmountOff(cny(2000)))
        let percent = promotion("cp", .coupon, .percentOffBps(3000), otherCoupons: true)
        let priced = try PricingEngine.price(
            input([line(1, price: 10_000)], coupons: [issued("FIX", of: fixed), issued("PCT", of: percent)])
        )
        #expect(priced.appliedPromotions.map(\.couponCode) == ["PCT"] && priced.payable == 7000)
        #expect(priced.rejectedCoupons.map(\.reason) == [.notCombinable])
        #expect(priced.rejectedCoupons.first?.couponCode == "FIX")
    }

    @Test("every coupon rejection has its reason and a message")
    func rejections() throws {
        let base = promotion("c", .coupon, .orderAmountOff(cny(500)))
        let minimum = promotion("cm", .coupon, .orderAmountOff(cny(500)), minSpend: 30_000)
        let cases: [(PricingCoupon, CouponRejectionReason, String)] = [
            (PricingCoupon(code: "NOPE", promotion: nil), .unknownCode, "no coupon"),
            (
                issued("LATE", of: promotion("cl", .coupon, .orderAmountOff(cny(500)), startsIn: 60)), .notStarted,
                "not started"
            ),
            (issued("OVER", of: promotion("co", .coupon, .orderAmountOff(cny(500)), endsIn: 0)), .expired, "over"),
            (issued("GONE", of: base, expiresIn: 0), .expired, "expired"),
            (
                issued("OFF", of: promotion("cd", .coupon, .orderAmountOff(cny(500)), status: .deactivated)),
                .deactivated, "ended"
            ),
            (issued("USED", of: base, status: .locked), .alreadyUsed, "used"),
            (issued("DONE", of: base, status: .redeemed), .alreadyUsed, "used"),
            (issued("VOID", of: base, status: .voided), .voided, "voided"),
            (issued("THEIRS", of: base, to: "cus-2"), .otherCustomer, "another customer"),
            (
                issued("GOLD", of: promotion("cg", .coupon, .orderAmountOff(cny(500)), tiers: ["gold"])),
                .tierNotEligible, "tier"
            ),
            (issued("MIN", of: minimum), .minSpendNotMet, "min_spend 300.00 CNY not met: eligible 280.00 CNY"),
            (
                issued(
                    "SCOPE",
                    of: promotion("cs", .coupon, .orderAmountOff(cny(500)), scope: PromotionScope(skuIDs: ["x"]))
                ),
                .noEligibleItems, "no item"
            ),
            (
                issued("FULL", of: promotion("cu", .coupon, .orderAmountOff(cny(500)), totalLimit: 5, used: 5)),
                .usageLimitReached, "used as often"
            ),
        ]
        for (coupon, reason, message) in cases {
            let priced = try PricingEngine.price(input([line(1, price: 28_000)], coupons: [coupon]))
            #expect(priced.rejectedCoupons.map(\.reason) == [reason], "\(coupon.code)")
            #expect(priced.rejectedCoupons.first?.message.contains(message) == true, "\(priced.rejectedCoupons)")
            #expect(priced.payable == 28_000)
        }
        // Per customer: the customer has used it once, the limit is one.
        let once = promotion("c1", .coupon, .orderAmountOff(cny(500)), perCustomer: 1)
        let priced = try PricingEngine.price(
            input([line(1, price: 28_000)], coupons: [issued("ONCE", of: once)], usage: ["c1": 1])
        )
        #expect(priced.rejectedCoupons.map(\.reason) == [.usageLimitReached])
        // The same code twice (in any case) and two coupons of one promotion.
        let twice = try PricingEngine.price(
            input(
                [line(1, price: 28_000)],
                coupons: [issued("abcd", of: base), issued("ABCD", of: base), issued("EFGH", of: base)]
            )
        )
        #expect(twice.rejectedCoupons.map(\.reason) == [.duplicateCode, .notCombinable])
        #expect(twice.appliedPromotions.map(\.couponCode) == ["abcd"])
    }

    @Test("points: whole units, capped by the share of the order and by the balance; the cap is reported")
    func points() throws {
        let rules = PricingPoints(requested: 12_345, spendable: 100_000, balance: 100_000, minRedeemPoints: 100)
        let priced = try PricingEngine.price(input([line(1, price: 20_000)], points: rules))
        // At most half of 200.00: 100.00 = 10,000 points; asked 12,345.
        #expect(priced.maxRedeemablePoints == 10_000 && priced.pointsRedeemed == 10_000 && priced.pointsCapped)
        #expect(priced.payable == 10_000)
        var poor = rules
        poor.requested = 150
        poor.spendable = 99
        let none = try PricingEngine.price(input([line(1, price: 20_000)], points: poor))
        #expect(
            none.maxRedeemablePoints == 0 && none.pointsRedeemed == 0 && none.pointsCapped && none.payable == 20_000
        )
        var uneven = rules
        uneven.requested = 250
        let rounded = try PricingEngine.price(input([line(1, price: 20_000)], points: uneven))
        #expect(rounded.pointsRedeemed == 200 && rounded.pointsCapped && rounded.payable == 19_800)
    }

    @Test("the delivery fee is waived from the threshold on the amount after coupons; points do not pay it")
    func deliveryFee() throws {
        let delivery = PricingDelivery(fee: 800, freeThreshold: 9_900)
        let coupon = issued("FIVE", of: promotion("c5", .coupon, .orderAmountOff(cny(500))))
        let points = PricingPoints(requested: 5_000, spendable: 5_000, balance: 5_000)
        #expect(try PricingEngine.price(input([line(1, price: 9_900)], delivery: delivery)).payable == 9_900)
        let belowAfterCoupon = try PricingEngine.price(
            input([line(1, price: 9_900)], coupons: [coupon], delivery: delivery)
        )
        #expect(belowAfterCoupon.payable == 9_400 + 800 && belowAfterCoupon.amounts.deliveryFee?.minorUnits == 800)
        let pointsDoNotCount = try PricingEngine.price(
            input([line(1, price: 10_000)], points: points, delivery: delivery)
        )
        #expect(pointsDoNotCount.amounts.deliveryFee?.minorUnits == 0 && pointsDoNotCount.payable == 5_000)
        let allPaid = try PricingEngine.price(
            input([line(1, price: 100)], coupons: [coupon], delivery: PricingDelivery(fee: 800))
        )
        #expect(allPaid.totals == [0] && allPaid.payable == 800, "the fee is never discounted")
    }

    @Test("bad input names the field")
    func badInput() {
        func refused(_ lines: [PricingLine], _ field: String, delivery: PricingDelivery = .free) {
            #expect(throws: PricingError.self) { try PricingEngine.price(input(lines, delivery: delivery)) }
            do {
                _ = try PricingEngine.price(input(lines, delivery: delivery))
            } catch {
                #expect(error.field == field)
            }
        }
        refused([], "lines")
        refused((1...101).map { line($0, price: 1) }, "lines")
        refused([line(1, price: 1), line(1, price: 2)], "lines[1].line_id")
        refused([line(1, price: 1, quantity: 0)], "lines[0].quantity")
        refused([line(1, price: 1, quantity: 1000)], "lines[0].quantity")
        refused([line(1, price: -1)], "lines[0].list_unit_price")
        refused([line(1, price: 1_000_000_000_001)], "lines[0].list_unit_price")
        refused([line(1, price: 1)], "delivery_fee", delivery: PricingDelivery(fee: -5))
    }

    @Test("the largest amounts in range price without overflow")
    func largest() throws {
        let lines = (1...100).map { line($0, price: PricingEngine.maximumUnitPrice, quantity: 999) }
        let percent = promotion("cp", .coupon, .percentOffBps(9999))
        let priced = try PricingEngine.price(
            input(
                lines,
                tier: PricingTier(id: "t", name: "T", discountBps: 9999),
                promotions: [promotion("t", .timeLimitedDiscount, .percentOffBps(9999))],
                coupons: [issued("ALL", of: percent)],
                points: PricingPoints(requested: .max, spendable: .max, balance: .max, maxRedeemBps: 10_000)
            )
        )
        #expect(priced.payable >= 0 && priced.totals.allSatisfy { $0 >= 0 })
    }
}
