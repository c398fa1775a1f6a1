import ArgumentParser
import O2OMessages
import O2OPricing

/// The pricing engine alone, in this process: one basket against many promotions.
struct PricingLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pricing",
        abstract: "Prices one basket again and again with the pricing engine, in this process (no server).",
        discussion: """
            The basket has --lines lines (two units each, in four categories); --promotions \
            automatic promotions run (time-limited discounts and spend-and-save, scoped to \
            SKUs, products, categories or everything, some for one tier only), the customer \
            holds a tier with a discount, two coupons that combine are given and points are \
            redeemed, so every stage runs. Reports microseconds per quote with the promotion \
            index prepared once (as the server caches it), and with the index rebuilt for \
            every quote.
            """
    )

    @Option(help: "Lines in the basket, 1 to 100.") var lines = 10
    @Option(help: "Running automatic promotions.") var promotions = 50
    @Option(help: "Seconds measured for each of the two figures.") var duration = 3.0

    func validate() throws {
        guard (1...100).contains(lines) else { throw ValidationError("--lines: must be 1 to 100, got \(lines)") }
        guard (0...10_000).contains(promotions) else {
            throw ValidationError("--promotions: must be 0 to 10000, got \(promotions)")
        }
        guard duration > 0 else { throw ValidationError("--duration: must be more than 0") }
    }

    func run() async throws {
        let now = Timestamp(seconds: 1_800_000_000)
        func cny(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: "CNY") }
        let categories = ["cat-fruit", "cat-dairy", "cat-snacks", "cat-drinks"]
        let basket = (1...lines).map { number in
            PricingLine(
                lineID: String(number),
                skuID: "sku-\(number)",
                productID: "prd-\(number)",
                categoryIDs: [categories[number % 4], "cat-food"],
                quantity: 2,
                listUnitPrice: Int64(990 + number * 437)
            )
        }
        let all = (0..<promotions).map { index -> PricingPromotion in
            let scope: PromotionScope =
                switch index % 4 {
                case 0: PromotionScope(skuIDs: ["sku-\(index % (lines + 5) + 1)", "sku-\(index + 200)"])
                case 1: PromotionScope(productIDs: ["prd-\(index % (lines + 5) + 1)"])
                case 2: PromotionScope(categoryIDs: [categories[index % 4]])
                default: PromotionScope(allItems: true, excludedSkuIDs: ["sku-1"])
                }
            let timeLimited = index % 2 == 0
            return PricingPromotion(
                Promotion(
                    id: "promo-\(index)",
                    name: "Promotion \(index)",
                    kind: timeLimited ? .timeLimitedDiscount : .spendAndSave,
                    status: .running,
                    benefit: PromotionBenefit(
                        benefit: timeLimited
                            ? .percentOffBps(Int32(500 + index * 10))
                            : .spendAndSave(
                                SpendAndSaveRule(tiers: [
                                    SpendAndSaveTier(threshold: cny(5_000), saving: cny(300 + Int64(index))),
                                    SpendAndSaveTier(threshold: cny(15_000), saving: cny(1_500 + Int64(index))),
                                ])
                            )
                    ),
                    scope: scope,
                    startsAt: Timestamp(seconds: now.seconds - 3600),
                    endsAt: Timestamp(seconds: now.seconds + 3600),
                    eligibleTiers: PromotionTierList(tierIDs: index % 5 == 0 ? ["tier-gold"] : []),
                    combinesWithMemberDiscount: index % 3 != 0,
                    combinesWithSpendAndSave: true,
                    combinesWithCoupons: true,
                    createdAt: Timestamp(seconds: 1_700_000_000 + Int64(index))
                )
            )
        }
        func coupon(_ code: String, _ benefit: PromotionBenefit.Benefit) -> PricingCoupon {
            let campaign = PricingPromotion(
                Promotion(
                    id: "coupon-\(code)",
                    name: code,
                    kind: .coupon,
                    status: .running,
                    benefit: PromotionBenefit(benefit: benefit, maxDiscount: cny(5_000)),
                    scope: PromotionScope(allItems: true),
                    startsAt: Timestamp(seconds: now.seconds - 3600),
                    endsAt: Timestamp(seconds: now.seconds + 3600),
                    combinesWithOtherCoupons: true
                )
            )
            return PricingCoupon(
                code: code,
                promotion: campaign,
                coupon: Coupon(id: "cpn-\(code)", code: code, customerID: "cus-1", status: .available)
            )
        }
        var input = PricingInput(
            currency: "CNY",
            now: now,
            customerID: "cus-1",
            tier: PricingTier(id: "tier-gold", name: "Gold", discountBps: 500),
            lines: basket,
            promotions: PromotionIndex(all),
            coupons: [coupon("FIVEOFF", .orderAmountOff(cny(500))), coupon("TENPCT", .percentOffBps(1000))],
            points: PricingPoints(requested: 1_000, spendable: 50_000, balance: 50_000),
            delivery: PricingDelivery(fee: 800, freeThreshold: 9_900)
        )
        let sample = try PricingEngine.price(input)
        printLine(
            "o2o pricing · \(lines) lines · \(promotions) promotions · "
                + "\(sample.appliedPromotions.count) applied, payable \(sample.amounts.payableTotal?.minorUnits ?? 0) fen"
        )
        let prepared = try measure(seconds: duration) { _ = try PricingEngine.price(input) }
        let rebuilt = try measure(seconds: duration) {
            input.promotions = PromotionIndex(all)
            _ = try PricingEngine.price(input)
        }
        printLine("  prepared index   \(format(prepared, 2)) µs per quote")
        printLine("  index per quote  \(format(rebuilt, 2)) µs per quote")
    }

    /// Microseconds per call of `body`: the median of ten rounds after a warm-up round.
    private func measure(seconds: Double, _ body: () throws -> Void) throws -> Double {
        var perCall: [Double] = []
        let roundNanos = UInt64(seconds * 1e8)
        for round in 0..<11 {
            var calls = 0
            let start = nowNanoseconds()
            while nowNanoseconds() - start < roundNanos {
                for _ in 0..<50 { try body() }
                calls += 50
            }
            if round > 0 { perCall.append(Double(nowNanoseconds() - start) / Double(calls) / 1000) }
        }
        return perCall.sorted()[perCall.count / 2]
    }
}
