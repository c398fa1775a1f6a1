import O2OMessages
import O2OPricing
import O2OTestSupport
import Testing

/// Random baskets against random promotion sets: whatever the input, the price
/// explains itself exactly and never goes below zero.
@Suite("Pricing: properties over random baskets")
struct PricingPropertyTests {
    static let categories = ["cat-food", "cat-drinks", "cat-home", "cat-baby"]

    struct Generator {
        var random: SeededRandom

        mutating func int(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &random) }
        mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
        mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &random)] }

        mutating func basket() -> [PricingLine] {
            (1...Int(int(1...10))).map { number in
                line(
                    number,
                    price: chance(5) ? 0 : int(1...50_000),
                    quantity: int(1...5),
                    categories: [pick(PricingPropertyTests.categories)]
                )
            }
        }

        mutating func scope(_ lines: [PricingLine]) -> PromotionScope {
            switch int(0...3) {
            case 0: return PromotionScope(allItems: true, excludedSkuIDs: chance(30) ? [pick(lines).skuID] : [])
            case 1: return PromotionScope(skuIDs: lines.filter { _ in chance(50) }.map(\.skuID))
            case 2: return PromotionScope(productIDs: lines.filter { _ in chance(50) }.map(\.productID))
            default: return PromotionScope(categoryIDs: [pick(PricingPropertyTests.categories)])
            }
        }

        mutating func automatic(_ id: String, _ lines: [PricingLine]) -> PricingPromotion {
            let scope = scope(lines)
            if chance(50) {
                let benefit: PromotionBenefit.Benefit =
                    switch int(0...2) {
                    case 0: .percentOffBps(Int32(int(1...9999)))
                    case 1: .unitAmountOff(cny(int(1...20_000)))
                    default: .saleUnitPrice(cny(int(0...40_000)))
                    }
                return promotion(
                    id,
                    .timeLimitedDiscount,
                    benefit,
                    scope: scope,
                    minSpend: chance(20) ? int(1...100_000) : 0,
                    tiers: chance(20) ? ["tier-gold"] : [],
                    created: int(0...3),
                    member: chance(50),
                    spendAndSave: chance(50),
                    coupons: chance(50)
                )
            }
            let threshold = int(1_000...60_000)
            let rule =
                chance(30)
                ? spendAndSave([(threshold, int(1...threshold - 1))], repeating: true)
                : spendAndSave([
                    (threshold, int(1...threshold / 2)), (threshold * 2, threshold / 2 + int(1...threshold)),
                ])
            return promotion(
                id,
                .spendAndSave,
                rule,
                maxDiscount: chance(30) ? int(1...20_000) : nil,
                scope: scope,
                minSpend: chance(20) ? int(1...100_000) : 0,
                created: int(0...3),
                coupons: chance(50)
            )
        }

        mutating func coupon(_ number: Int, _ lines: [PricingLine]) -> PricingCoupon {
            let benefit: PromotionBenefit.Benefit =
                switch int(0...2) {
                case 0: .orderAmountOff(cny(int(1...50_000)))
                case 1: .percentOffBps(Int32(int(1...9999)))
                default: spendAndSave([(int(1_000...30_000), int(1...999))])
                }
            let campaign = promotion(
                "coupon-\(number)",
                .coupon,
                benefit,
                maxDiscount: chance(40) ? int(1...10_000) : nil,
                scope: scope(lines),
                minSpend: chance(20) ? int(1...50_000) : 0,
                otherCoupons: chance(60)
            )
            return issued("CODE\(number)", of: campaign, status: chance(90) ? .available : .locked)
        }

        mutating func input() -> PricingInput {
            let lines = basket()
            let promotions = (0..<Int(int(0...8))).map { automatic("auto-\($0)", lines) }
            return O2OPricingTests.input(
                lines,
                tier: chance(60)
                    ? PricingTier(
                        id: pick(["tier-gold", "tier-silver"]),
                        name: "Tier",
                        discountBps: Int32(int(0...2000))
                    ) : nil,
                promotions: promotions,
                coupons: (0..<Int(int(0...3))).map { coupon($0, lines) },
                points: PricingPoints(
                    requested: chance(50) ? int(0...50_000) : 0,
                    spendable: int(0...100_000),
                    balance: int(0...100_000),
                    minRedeemPoints: chance(50) ? 100 : 0
                ),
                delivery: PricingDelivery(
                    fee: chance(50) ? int(0...2_000) : 0,
                    freeThreshold: chance(50) ? int(0...100_000) : 0
                )
            )
        }
    }

    @Test("line shares add up to every discount, nothing is negative, payable is subtotal − discounts + fee")
    func invariants() throws {
        let seed = UInt64.random(in: 1...UInt64.max)
        var generator = Generator(random: SeededRandom(seed: seed))
        for round in 0..<2000 {
            let input = generator.input()
            let priced = try PricingEngine.price(input)
            let context = "seed \(seed) round \(round)"
            try Self.check(priced, input, context)
            #expect(try PricingEngine.price(input) == priced, "\(context): the same input prices the same")
        }
    }

    @Test("adding a promotion that cannot apply changes nothing")
    func ineligibleChangesNothing() throws {
        let seed = UInt64.random(in: 1...UInt64.max)
        var generator = Generator(random: SeededRandom(seed: seed))
        for round in 0..<500 {
            var input = generator.input()
            let before = try PricingEngine.price(input)
            var promotions = input.promotions.all
            let absent = PromotionScope(skuIDs: ["sku-not-in-the-basket"])
            let extra: PricingPromotion =
                switch round % 5 {
                case 0: promotion("x", .timeLimitedDiscount, .percentOffBps(5000), scope: absent)
                case 1: promotion("x", .spendAndSave, spendAndSave([(1, 1)]), endsIn: 0)
                case 2: promotion("x", .timeLimitedDiscount, .percentOffBps(5000), status: .deactivated)
                case 3: promotion("x", .spendAndSave, spendAndSave([(1, 1)]), tiers: ["tier-nobody"])
                default: promotion("x", .timeLimitedDiscount, .percentOffBps(5000), startsIn: 1)
                }
            promotions.append(extra)
            input.promotions = PromotionIndex(promotions)
            #expect(try PricingEngine.price(input) == before, "seed \(seed) round \(round)")
        }
    }

    static func check(_ priced: PricedOrder, _ input: PricingInput, _ context: String) throws {
        var stageTotals: [PricingStage: Int64] = [:]
        var byPromotion: [String: (amount: Int64, lines: [String])] = [:]
        for (line, given) in zip(priced.lines, input.lines) {
            let subtotal = given.listUnitPrice * given.quantity
            let discounts = line.discounts.map { $0.amount?.minorUnits ?? -1 }
            #expect(discounts.allSatisfy { $0 > 0 }, "\(context): discounts are positive")
            #expect(line.discountTotal?.minorUnits == discounts.reduce(0, +), "\(context)")
            #expect(line.total?.minorUnits == subtotal - discounts.reduce(0, +), "\(context)")
            #expect((line.total?.minorUnits ?? -1) >= 0, "\(context): line \(line.lineID) below zero")
            let stages = line.discounts.map { Self.rank($0.stage) }
            #expect(stages == stages.sorted(), "\(context): stage order")
            #expect(line.discounts.filter { $0.stage == .timeLimited }.count <= 1, "\(context): one time-limited")
            for discount in line.discounts {
                stageTotals[discount.stage, default: 0] += discount.amount?.minorUnits ?? 0
                let key = "\(discount.stage)|\(discount.promotionID)|\(discount.couponCode)"
                byPromotion[key, default: (0, [])].amount += discount.amount?.minorUnits ?? 0
                byPromotion[key, default: (0, [])].lines.append(line.lineID)
            }
        }
        for applied in priced.appliedPromotions {
            let key = "\(applied.stage)|\(applied.promotionID)|\(applied.couponCode)"
            #expect(applied.amount?.minorUnits == byPromotion[key]?.amount, "\(context): \(key) adds up")
            #expect(applied.lineIDs == byPromotion[key]?.lines ?? [], "\(context): \(key) lines")
        }
        let stages = priced.appliedPromotions.map { Self.rank($0.stage) }
        #expect(stages == stages.sorted(), "\(context): applied in stage order")
        #expect(priced.appliedPromotions.filter { $0.stage == .spendAndSave }.count <= 1)
        let amounts = priced.amounts
        #expect(amounts.timeLimitedDiscount?.minorUnits == stageTotals[.timeLimited] ?? 0, "\(context)")
        #expect(amounts.memberDiscount?.minorUnits == stageTotals[.memberTier] ?? 0, "\(context)")
        #expect(amounts.spendAndSaveDiscount?.minorUnits == stageTotals[.spendAndSave] ?? 0, "\(context)")
        #expect(amounts.couponDiscount?.minorUnits == stageTotals[.coupon] ?? 0, "\(context)")
        #expect(amounts.pointsDiscount?.minorUnits == stageTotals[.points] ?? 0, "\(context)")
        let subtotal = input.lines.reduce(0) { $0 + $1.listUnitPrice * $1.quantity }
        let lineTotals = priced.lines.reduce(0) { $0 + ($1.total?.minorUnits ?? 0) }
        #expect(amounts.subtotal?.minorUnits == subtotal)
        #expect(amounts.discountTotal?.minorUnits == stageTotals.values.reduce(0, +), "\(context)")
        #expect(amounts.discountTotal?.minorUnits == subtotal - lineTotals, "\(context)")
        let fee = amounts.deliveryFee?.minorUnits ?? -1
        #expect(fee == 0 || fee == input.delivery.fee, "\(context)")
        #expect(amounts.payableTotal?.minorUnits == lineTotals + fee && lineTotals + fee >= 0, "\(context)")
        // Points: whole units, within the cap, and the cap within the rules.
        let points = input.points
        #expect(priced.pointsRedeemed <= priced.maxRedeemablePoints, "\(context)")
        #expect(priced.pointsRedeemed % points.pointsPerUnit == 0 && priced.pointsRedeemed <= points.spendable)
        let afterCoupons = lineTotals + (stageTotals[.points] ?? 0)
        #expect((stageTotals[.points] ?? 0) <= afterCoupons * Int64(points.maxRedeemBps) / 10_000, "\(context)")
        #expect(priced.pointsCapped == (priced.pointsRedeemed < points.requested), "\(context)")
        // Every coupon given is either applied or rejected, once.
        let applied = priced.appliedPromotions.filter { $0.stage == .coupon }.map(\.couponCode)
        let rejected = priced.rejectedCoupons.map(\.couponCode)
        #expect((applied + rejected).sorted() == input.coupons.map(\.code).sorted(), "\(context): coupons")
    }

    static func rank(_ stage: PricingStage) -> Int { PricingStage.knownCases.firstIndex(of: stage) ?? 99 }
}
