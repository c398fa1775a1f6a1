import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

@Suite("CRM points and tiers")
struct PointsTests {
    @Test(
        "earn with the tier held before the order, promotion, redemption rules, refunds and returns",
        arguments: StoreKind.allCases
    )
    func lifecycle(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let tiers = try await harness.tiers()
            let customer = try await harness.customer()
            #expect(customer.tierID == tiers.member.id, "a new customer holds the base tier")
            // 1,200 yuan at 1× (member before the order): 1,200 points; now silver.
            let first = try await harness.complete(customer.id, order: "o-1", paying: 120_000)
            #expect(first.earned?.points == 1200 && first.previousTierID == tiers.member.id)
            #expect(first.customer?.tierID == tiers.silver.id)
            // The next order earns at silver's 1.2×.
            let second = try await harness.complete(customer.id, order: "o-2", paying: 10_000)
            #expect(second.earned?.points == 120)
            #expect(try await harness.balance(customer.id) == 1320)
            await expectStatus(.alreadyExists, containing: "o-2") {
                _ = try await harness.complete(customer.id, order: "o-2", paying: 10_000)
            }

            // Quote: at most half of 20 yuan = 10 yuan = 1,000 points.
            let quote = try await harness.crm.quotePointsRedemption(
                QuotePointsRedemptionRequest(customerID: customer.id, orderAmount: cny(2000))
            )
            #expect(quote.maxPoints == 1000 && quote.maxValue == cny(1000) && quote.points == 1000)
            let partial = try await harness.crm.quotePointsRedemption(
                QuotePointsRedemptionRequest(customerID: customer.id, orderAmount: cny(2000), points: 250)
            )
            #expect(partial.points == 200 && partial.value == cny(200), "rounded down to whole units")
            await expectStatus(.invalidArgument, containing: "redeem units") {
                _ = try await harness.crm.redeemPoints(
                    RedeemPointsRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        orderID: "o-3",
                        points: 150,
                        orderAmount: cny(9000)
                    )
                )
            }
            await expectStatus(.failedPrecondition, containing: "at most") {
                _ = try await harness.crm.redeemPoints(
                    RedeemPointsRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        orderID: "o-3",
                        points: 1200,
                        orderAmount: cny(2000)
                    )
                )
            }
            await expectStatus(.failedPrecondition, containing: "1320 points") {
                _ = try await harness.crm.redeemPoints(
                    RedeemPointsRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        orderID: "o-3",
                        points: 1400,
                        orderAmount: cny(90_000)
                    )
                )
            }
            let redeem = RedeemPointsRequest(
                requestID: rid(),
                customerID: customer.id,
                orderID: "o-3",
                points: 1000,
                orderAmount: cny(9000)
            )
            let redeemed = try await harness.crm.redeemPoints(redeem)
            #expect(redeemed.value == cny(1000) && redeemed.entry?.balanceAfter == 320)
            #expect(try await harness.crm.redeemPoints(redeem) == redeemed, "a retry returns the first answer")
            await expectStatus(.alreadyExists, containing: "o-3") {
                _ = try await harness.crm.redeemPoints(
                    RedeemPointsRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        orderID: "o-3",
                        points: 100,
                        orderAmount: cny(9000)
                    )
                )
            }

            // Half of order o-1 refunded: 600 of its 1,200 points back; spend drops to
            // 700 yuan: member again.
            let refund = try await harness.crm.reverseOrderPoints(
                ReverseOrderPointsRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    orderID: "o-1",
                    refundID: "r-1",
                    refundAmount: cny(60_000)
                )
            )
            #expect(refund.entries.map(\.points) == [-600] && refund.customer?.pointsBalance == -280)
            #expect(refund.customer?.tierID == tiers.member.id)
            await expectStatus(.alreadyExists, containing: "r-1") {
                _ = try await harness.crm.reverseOrderPoints(
                    ReverseOrderPointsRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        orderID: "o-1",
                        refundID: "r-1",
                        refundAmount: cny(60_000)
                    )
                )
            }
            // Order o-3 cancelled as a whole: its 1,000 redeemed points come back.
            let cancel = try await harness.crm.reverseOrderPoints(
                ReverseOrderPointsRequest(requestID: rid(), customerID: customer.id, orderID: "o-3", wholeOrder: true)
            )
            #expect(cancel.entries.map(\.points) == [1000] && cancel.customer?.pointsBalance == 720)
            // A manual adjustment needs a note; removing more than the balance is refused.
            await expectStatus(.invalidArgument, containing: "note") {
                _ = try await harness.crm.adjustPoints(
                    AdjustPointsRequest(requestID: rid(), customerID: customer.id, points: 5)
                )
            }
            await expectStatus(.failedPrecondition) {
                _ = try await harness.crm.adjustPoints(
                    AdjustPointsRequest(requestID: rid(), customerID: customer.id, points: -721, note: "correction")
                )
            }
            await expectStatus(.invalidArgument, containing: "points") {
                _ = try await harness.crm.adjustPoints(
                    AdjustPointsRequest(requestID: rid(), customerID: customer.id, points: .min, note: "overflow")
                )
            }
            _ = try await harness.crm.adjustPoints(
                AdjustPointsRequest(requestID: rid(), customerID: customer.id, points: -20, note: "goodwill correction")
            )
            let balance = try await harness.crm.getPointsBalance(GetPointsBalanceRequest(customerID: customer.id))
            #expect(balance.balance == 700 && balance.lifetimeEarned == 1320 && balance.lifetimeRedeemed == 0)
            let entries = try await harness.crm.listPointsEntries(ListPointsEntriesRequest(customerID: customer.id))
                .entries
            #expect(
                entries.map(\.reason) == [.adjust, .refundReversal, .refundReversal, .redeem, .earn, .earn],
                "newest first"
            )
            try await harness.expectPointsConsistent()
        }
    }

    @Test("points expire at the end of their day, soonest first, by spend or by sweep", arguments: StoreKind.allCases)
    func expiry(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            var settings = try await harness.crm.getLoyaltySettings(GetLoyaltySettingsRequest())
            settings.pointsValidityDays = 30
            settings.minRedeemPoints = 0
            _ = try await harness.crm.updateLoyaltySettings(
                UpdateLoyaltySettingsRequest(requestID: rid(), settings: settings)
            )
            let customer = try await harness.customer()
            try await harness.complete(customer.id, paying: 50_000)  // 500 points, expire in ~31 days
            harness.clock.advance(seconds: 20 * 86_400)
            try await harness.complete(customer.id, paying: 30_000)  // 300 points, expire later
            // Spend 100: taken from the first earning.
            _ = try await harness.crm.redeemPoints(
                RedeemPointsRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    orderID: "o-r",
                    points: 100,
                    orderAmount: cny(100_000)
                )
            )
            let soon = try await harness.crm.getPointsBalance(GetPointsBalanceRequest(customerID: customer.id))
            #expect(soon.upcomingExpiries.map(\.points) == [400, 300])
            // 12 days on, the first lot is past its date: a sweep writes off what is left.
            harness.clock.advance(seconds: 12 * 86_400)
            let quote = try await harness.crm.quotePointsRedemption(
                QuotePointsRedemptionRequest(customerID: customer.id, orderAmount: cny(100_000))
            )
            #expect(quote.maxPoints == 300, "expired points are not offered even before a sweep")
            let swept = try await harness.crmAdmin.sweepExpiredPoints(SweepExpiredPointsRequest(requestID: rid()))
            #expect(swept.expiredPoints == 400 && swept.expiredEntries == 1)
            let after = try await harness.crm.getPointsBalance(GetPointsBalanceRequest(customerID: customer.id))
            #expect(after.balance == 300 && after.lifetimeExpired == 400)
            try await harness.expectPointsConsistent()
        }
    }

    @Test("200 concurrent redemptions against a balance for 50: exactly 50 succeed", arguments: StoreKind.allCases)
    func noDoubleSpend(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let customer = try await harness.customer()
            _ = try await harness.crm.adjustPoints(
                AdjustPointsRequest(requestID: rid(), customerID: customer.id, points: 5000, note: "campaign")
            )
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        do {
                            _ = try await harness.crm.redeemPoints(
                                RedeemPointsRequest(
                                    requestID: rid(),
                                    customerID: customer.id,
                                    orderID: "order-\(index)",
                                    points: 100,
                                    orderAmount: cny(10_000)
                                )
                            )
                            return true
                        } catch let error as RPCError where error.code == .failedPrecondition {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 50 && outcomes.filter { !$0 }.count == 150)
            #expect(try await harness.balance(customer.id) == 0)
            try await harness.expectPointsConsistent()
        }
    }

    @Test(
        "tier ladder: rising thresholds, one base tier, a tier in use cannot be deleted",
        arguments: StoreKind.allCases
    )
    func ladder(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            await expectStatus(.invalidArgument, containing: "base tier") {
                _ = try await harness.crm.createMembershipTier(
                    CreateMembershipTierRequest(
                        requestID: rid(),
                        code: "gold",
                        name: "Gold",
                        rank: 5,
                        minQualifyingSpend: cny(100)
                    )
                )
            }
            let tiers = try await harness.tiers()
            await expectStatus(.invalidArgument, containing: "more spend") {
                _ = try await harness.crm.createMembershipTier(
                    CreateMembershipTierRequest(
                        requestID: rid(),
                        code: "bronze",
                        name: "Bronze",
                        rank: 3,
                        minQualifyingSpend: cny(100)
                    )
                )
            }
            await expectStatus(.alreadyExists, containing: "code") {
                _ = try await harness.crm.createMembershipTier(
                    CreateMembershipTierRequest(
                        requestID: rid(),
                        code: "gold",
                        name: "Gold",
                        rank: 7,
                        minQualifyingSpend: cny(900_000)
                    )
                )
            }
            let customer = try await harness.customer()
            try await harness.complete(customer.id, paying: 600_000)
            #expect(
                try await harness.crm.getCustomer(GetCustomerRequest(customerID: customer.id)).tierID == tiers.gold.id
            )
            await expectStatus(.failedPrecondition, containing: "hold") {
                _ = try await harness.crm.deleteMembershipTier(
                    DeleteMembershipTierRequest(requestID: rid(), tierID: tiers.gold.id)
                )
            }
            await expectStatus(.failedPrecondition, containing: "base tier") {
                _ = try await harness.crm.deleteMembershipTier(
                    DeleteMembershipTierRequest(requestID: rid(), tierID: tiers.member.id)
                )
            }
            _ = try await harness.crm.deleteMembershipTier(
                DeleteMembershipTierRequest(requestID: rid(), tierID: tiers.silver.id)
            )
            // The tier window moves on: a year later the spend no longer qualifies.
            harness.clock.advance(seconds: 400 * 86_400)
            let recomputed = try await harness.crm.recomputeCustomerTier(
                RecomputeCustomerTierRequest(requestID: rid(), customerID: customer.id)
            )
            #expect(recomputed.tierID == tiers.member.id && recomputed.purchaseStats?.qualifyingSpend == cny(0))
        }
    }
}
