import Foundation
import O2OClient
import O2OServiceKit
import O2OServiceTestSupport
import O2OTestSupport
import Testing

@Suite("CRM segments, notes and customer-360")
struct SegmentTests {
    @Test(
        "tags, tiers, consent, city and status decide membership; snapshots page and refresh",
        arguments: StoreKind.allCases
    )
    func rules(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let tiers = try await harness.tiers()
            let vip = try await harness.customer("张伟", tags: ["vip", "coffee"])
            let tea = try await harness.customer("李娜", tags: ["vip", "tea"])
            let blocked = try await harness.customer("王芳", tags: ["vip"])
            _ = try await harness.customer("刘洋", tags: ["coffee"])
            _ = try await harness.crm.updateCustomer(
                UpdateCustomerRequest(requestID: rid(), customerID: blocked.id, status: .blocked)
            )
            _ = try await harness.crm.setCustomerConsent(
                SetCustomerConsentRequest(
                    requestID: rid(),
                    customerID: vip.id,
                    purpose: .marketingSms,
                    granted: true,
                    source: "app"
                )
            )
            _ = try await harness.crm.createCustomerAddress(
                CreateCustomerAddressRequest(
                    requestID: rid(),
                    customerID: tea.id,
                    address: PostalAddress(countryCode: "CN", province: "上海市", city: "上海市", street: "南京西路 1 号")
                )
            )

            func members(_ rule: SegmentRule) async throws -> Set<String> {
                let segment = try await harness.crm.createCustomerSegment(
                    CreateCustomerSegmentRequest(requestID: rid(), name: "s-\(rid())", rule: rule, refreshNow: true)
                )
                let page = try await harness.crm.listSegmentMembers(
                    ListSegmentMembersRequest(page: PageRequest(pageSize: 100), segmentID: segment.id)
                )
                #expect(segment.memberCount == Int64(page.customers.count) && segment.snapshotGeneration == 1)
                return Set(page.customers.map(\.id))
            }
            #expect(try await members(SegmentRule(allTags: ["vip"])) == [vip.id, tea.id], "blocked customers are out")
            #expect(try await members(SegmentRule(allTags: ["vip"], noneTags: ["tea"])) == [vip.id])
            #expect(try await members(SegmentRule(anyTags: ["tea", "coffee"])).count == 3)
            #expect(try await members(SegmentRule(requiredConsents: [.marketingSms])) == [vip.id])
            #expect(try await members(SegmentRule(cities: ["上海市"])) == [tea.id])
            #expect(try await members(SegmentRule(tierIDs: [tiers.gold.id])).isEmpty)
            #expect(try await members(SegmentRule(tierIDs: [tiers.member.id])).count == 3)

            // A snapshot stays as taken until the next refresh, and its page tokens
            // die with it.
            let segment = try await harness.crm.createCustomerSegment(
                CreateCustomerSegmentRequest(requestID: rid(), name: "咖啡客", rule: SegmentRule(allTags: ["coffee"]))
            )
            await expectStatus(.failedPrecondition, containing: "never refreshed") {
                _ = try await harness.crm.listSegmentMembers(ListSegmentMembersRequest(segmentID: segment.id))
            }
            await expectStatus(.alreadyExists, containing: "name") {
                _ = try await harness.crm.createCustomerSegment(
                    CreateCustomerSegmentRequest(requestID: rid(), name: "咖啡客", rule: SegmentRule())
                )
            }
            let refreshID = rid()
            let first = try await harness.crm.refreshCustomerSegment(
                RefreshCustomerSegmentRequest(requestID: refreshID, segmentID: segment.id)
            )
            #expect(first.memberCount == 2 && first.snapshotGeneration == 1)
            let replay = try await harness.crm.refreshCustomerSegment(
                RefreshCustomerSegmentRequest(requestID: refreshID, segmentID: segment.id)
            )
            #expect(replay == first, "a retried refresh answers as the first did")
            let page = try await harness.crm.listSegmentMembers(
                ListSegmentMembersRequest(page: PageRequest(pageSize: 1), segmentID: segment.id)
            )
            #expect(page.customers.count == 1 && !page.nextPageToken.isEmpty)
            _ = try await harness.customer("陈静", tags: ["coffee"])
            #expect(
                try await harness.crm.getCustomerSegment(GetCustomerSegmentRequest(segmentID: segment.id)).memberCount
                    == 2
            )
            let second = try await harness.crm.refreshCustomerSegment(
                RefreshCustomerSegmentRequest(requestID: rid(), segmentID: segment.id)
            )
            #expect(second.memberCount == 3 && second.snapshotGeneration == 2)
            await expectStatus(.failedPrecondition, containing: "refreshed since") {
                _ = try await harness.crm.listSegmentMembers(
                    ListSegmentMembersRequest(
                        page: PageRequest(pageSize: 1, pageToken: page.nextPageToken),
                        segmentID: segment.id
                    )
                )
            }
            var all: [String] = []
            var token = ""
            repeat {
                let next = try await harness.crm.listSegmentMembers(
                    ListSegmentMembersRequest(page: PageRequest(pageSize: 2, pageToken: token), segmentID: segment.id)
                )
                all += next.customers.map(\.id)
                token = next.nextPageToken
            } while !token.isEmpty
            #expect(all.count == 3 && all == all.sorted(), "members page by customer id")
            _ = try await harness.crm.deleteCustomerSegment(
                DeleteCustomerSegmentRequest(requestID: rid(), segmentID: segment.id)
            )
            await expectStatus(.notFound, containing: "segment_id") {
                _ = try await harness.crm.listSegmentMembers(ListSegmentMembersRequest(segmentID: segment.id))
            }
        }
    }

    @Test("rules are checked field by field", arguments: StoreKind.allCases)
    func badRules(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            func create(_ rule: SegmentRule?) async throws {
                _ = try await harness.crm.createCustomerSegment(
                    CreateCustomerSegmentRequest(requestID: rid(), name: "bad", rule: rule)
                )
            }
            await expectStatus(.invalidArgument, containing: "rule: is required") { try await create(nil) }
            await expectStatus(.invalidArgument, containing: "rule.all_tags: at most 20 tags") {
                try await create(SegmentRule(allTags: (0..<21).map { "t\($0)" }))
            }
            await expectStatus(.notFound, containing: "rule.tier_ids[0]") {
                try await create(SegmentRule(tierIDs: ["tier_missing"]))
            }
            await expectStatus(.invalidArgument, containing: "rule.required_consents") {
                try await create(SegmentRule(requiredConsents: [.unrecognized(42)]))
            }
            await expectStatus(.invalidArgument, containing: "rule.rfm.min_frequency: must not be negative") {
                try await create(SegmentRule(rfm: RfmCriteria(minFrequency: -1)))
            }
            await expectStatus(.invalidArgument, containing: "rule.rfm_scores.min_monetary_score: must be 0 to 5") {
                try await create(SegmentRule(rfmScores: RfmScoreCriteria(minMonetaryScore: 6)))
            }
            await expectStatus(.invalidArgument, containing: "rule.cities[0]") {
                try await create(SegmentRule(cities: [""]))
            }
            let listed = try await harness.crm.listCustomerSegments(ListCustomerSegmentsRequest())
            #expect(listed.segments.isEmpty, "nothing was written by a refused request")
        }
    }

    @Test("RFM thresholds over backdated orders, and RFM scores by quintile", arguments: StoreKind.allCases)
    func rfm(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let now = harness.clock.clock.now()
            func daysAgo(_ days: Int64) -> Timestamp { Timestamps.adding(seconds: -days * 86_400, to: now) }
            let recent = try await harness.customer("近期客")
            let lapsed = try await harness.customer("流失客")
            let never = try await harness.customer("新客")
            for (customer, days, fen) in [
                (recent, 3 as Int64, 20_000 as Int64), (recent, 10, 30_000), (recent, 100, 10_000),
                (lapsed, 200, 90_000),
            ] {
                _ = try await harness.crm.recordCompletedOrder(
                    RecordCompletedOrderRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        orderID: "ord-\(rid())",
                        paidAmount: cny(fen),
                        completedAt: daysAgo(days)
                    )
                )
            }
            func members(_ rule: SegmentRule) async throws -> Set<String> {
                let segment = try await harness.crm.createCustomerSegment(
                    CreateCustomerSegmentRequest(requestID: rid(), name: "s-\(rid())", rule: rule, refreshNow: true)
                )
                let page = try await harness.crm.listSegmentMembers(
                    ListSegmentMembersRequest(page: PageRequest(pageSize: 100), segmentID: segment.id)
                )
                return Set(page.customers.map(\.id))
            }
            #expect(try await members(SegmentRule(rfm: RfmCriteria(maxRecencyDays: 30))) == [recent.id])
            #expect(
                try await members(SegmentRule(rfm: RfmCriteria(minRecencyDays: 90))) == [lapsed.id, never.id],
                "customers who never ordered count as lapsed"
            )
            #expect(try await members(SegmentRule(rfm: RfmCriteria(windowDays: 30, minFrequency: 2))) == [recent.id])
            #expect(try await members(SegmentRule(rfm: RfmCriteria(minFrequency: 1))) == [recent.id, lapsed.id])
            #expect(
                try await members(SegmentRule(rfm: RfmCriteria(minMonetary: cny(60_000)))) == [recent.id, lapsed.id],
                "lifetime spend: 600 and 900 yuan"
            )
            #expect(
                try await members(SegmentRule(rfm: RfmCriteria(windowDays: 30, minMonetary: cny(40_000)))) == [
                    recent.id
                ],
                "in the last 30 days only the recent customer spent (500 yuan)"
            )

        }
    }

    @Test("RFM scores are quintiles of the whole base; ties share a score", arguments: StoreKind.allCases)
    func rfmScores(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            // Ten customers, the k-th buying last and paying k × 100 yuan: the top
            // fifth by spend and by recency is the last two, the bottom fifth the first
            // two, and with one order each everybody shares the lowest frequency score.
            var customers: [String] = []
            for step in 1...10 {
                let customer = try await harness.customer("客\(step)")
                try await harness.complete(customer.id, paying: Int64(step) * 10_000)
                customers.append(customer.id)
            }
            func members(_ criteria: RfmScoreCriteria) async throws -> Set<String> {
                let segment = try await harness.crm.createCustomerSegment(
                    CreateCustomerSegmentRequest(
                        requestID: rid(),
                        name: "s-\(rid())",
                        rule: SegmentRule(rfmScores: criteria),
                        refreshNow: true
                    )
                )
                let page = try await harness.crm.listSegmentMembers(
                    ListSegmentMembersRequest(page: PageRequest(pageSize: 100), segmentID: segment.id)
                )
                return Set(page.customers.map(\.id))
            }
            #expect(try await members(RfmScoreCriteria(minMonetaryScore: 5)) == Set(customers.suffix(2)))
            #expect(try await members(RfmScoreCriteria(minRecencyScore: 5)) == Set(customers.suffix(2)))
            #expect(try await members(RfmScoreCriteria(maxRecencyScore: 1)) == Set(customers.prefix(2)))
            #expect(
                try await members(RfmScoreCriteria(minMonetaryScore: 3, maxRecencyScore: 3)) == Set(customers[4...5])
            )
            #expect(try await members(RfmScoreCriteria(minFrequencyScore: 2)).isEmpty)
            #expect(try await members(RfmScoreCriteria(minFrequencyScore: 1)).count == 10)
        }
    }

    @Test("bad completion times are refused before anything is recorded", arguments: [StoreKind.memory])
    func completionTimes(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let customer = try await harness.customer()
            let now = harness.clock.clock.now()
            for (time, message) in [
                (Timestamps.adding(seconds: 3_600, to: now), "completed_at: must not be in the future"),
                (Timestamp(seconds: now.seconds, nanos: -1), "completed_at.nanos"),
                (Timestamp(seconds: 300_000_000_000, nanos: 0), "completed_at.seconds"),
            ] {
                await expectStatus(.invalidArgument, containing: message) {
                    _ = try await harness.crm.recordCompletedOrder(
                        RecordCompletedOrderRequest(
                            requestID: rid(),
                            customerID: customer.id,
                            orderID: "ord-1",
                            paidAmount: cny(100),
                            completedAt: time
                        )
                    )
                }
            }
            let after = try await harness.crm.getCustomer(GetCustomerRequest(customerID: customer.id))
            #expect(after.purchaseStats?.completedOrderCount ?? 0 == 0 && after.pointsBalance == 0)
        }
    }

    @Test("customer-360: tier, points, expiring points, segments, latest contact", arguments: StoreKind.allCases)
    func customer360(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let tiers = try await harness.tiers()
            let customer = try await harness.customer(tags: ["vip"])
            try await harness.complete(customer.id, paying: 120_000)
            let segment = try await harness.crm.createCustomerSegment(
                CreateCustomerSegmentRequest(
                    requestID: rid(),
                    name: "VIP",
                    rule: SegmentRule(allTags: ["vip"]),
                    refreshNow: true
                )
            )
            let now = harness.clock.clock.now()
            _ = try await harness.crm.addInteractionNote(
                AddInteractionNoteRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    channel: .phone,
                    text: "来电询问会员权益",
                    occurredAt: Timestamps.adding(seconds: -3_600, to: now)
                )
            )
            // Written later, about a visit two days ago: the phone call stays the latest
            // contact.
            _ = try await harness.crm.addInteractionNote(
                AddInteractionNoteRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    channel: .inStore,
                    text: "到店试饮",
                    occurredAt: Timestamps.adding(seconds: -2 * 86_400, to: now)
                )
            )
            let view = try await harness.crm.getCustomer360(GetCustomer360Request(customerID: customer.id))
            #expect(view.tier?.id == tiers.silver.id, "1,200 yuan reaches silver")
            #expect(view.pointsBalance == view.customer?.pointsBalance && view.pointsBalance > 0)
            #expect(view.pointsExpiringSoon == 0, "points earned today last longer than 30 days")
            #expect(view.segmentIDs == [segment.id])
            #expect(view.lastInteractionAt?.seconds == now.seconds - 3_600)
            // Orders and tickets are served (none placed or opened here).
            #expect(view.ordersIncluded && view.ticketsIncluded && view.orderCount == 0)
            #expect(view.openTicketCount == 0 && view.totalTicketCount == 0)
            let notes = try await harness.crm.listInteractionNotes(
                ListInteractionNotesRequest(customerID: customer.id, channel: .inStore)
            )
            #expect(notes.notes.map(\.text) == ["到店试饮"])
            await expectStatus(.invalidArgument, containing: "recent_limit") {
                _ = try await harness.crm.getCustomer360(
                    GetCustomer360Request(customerID: customer.id, recentLimit: 51)
                )
            }
            await expectStatus(.invalidArgument, containing: "occurred_at: must not be in the future") {
                _ = try await harness.crm.addInteractionNote(
                    AddInteractionNoteRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        channel: .phone,
                        text: "x",
                        occurredAt: Timestamps.adding(seconds: 3_600, to: now)
                    )
                )
            }
        }
    }
}
