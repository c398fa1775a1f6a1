import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

@testable import O2ODemo

/// The demo's members, as a person trying the shop out would look at them.
@Suite("CRM demo customers")
struct DemoCustomersTests {
    @Test(
        "demo members: fake contacts, every tier, points histories that add up, segments with members",
        arguments: StoreKind.allCases
    )
    func demoMembers(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind, demo: true) { harness in
            var customers: [Customer] = []
            var token = ""
            repeat {
                let page = try await harness.crm.listCustomers(
                    ListCustomersRequest(page: PageRequest(pageSize: 500, pageToken: token))
                )
                customers += page.customers
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(customers.count == DemoCustomers.count)
            #expect(Set(customers.map(\.phone)).count == customers.count, "every phone is its own")
            #expect(customers.allSatisfy { $0.phone.hasPrefix("+861990000") && $0.phone.utf8.count == 14 })
            #expect(customers.allSatisfy { $0.email.isEmpty || $0.email.hasSuffix("@example.com") })
            #expect(customers.allSatisfy { !$0.homeStoreID.isEmpty && !$0.defaultAddressID.isEmpty })

            // Each tier has members, and the higher ones fewer.
            let tiers = try await harness.crm.listMembershipTiers(ListMembershipTiersRequest()).tiers
            #expect(tiers.map(\.code) == ["member", "silver", "gold", "diamond"])
            let perTier = tiers.map { tier in customers.filter { $0.tierID == tier.id }.count }
            #expect(perTier.allSatisfy { $0 > 0 }, "\(perTier)")
            #expect(perTier[1] > perTier[2] && perTier[2] > perTier[3], "\(perTier)")

            // Histories with every kind of entry, and a ledger that adds up.
            var reasons: [PointsReason: Int] = [:]
            for customer in customers.prefix(200) {
                let entries = try await harness.crm.listPointsEntries(
                    ListPointsEntriesRequest(page: PageRequest(pageSize: 500), customerID: customer.id)
                ).entries
                for entry in entries { reasons[entry.reason, default: 0] += 1 }
            }
            for reason in [PointsReason.earn, .redeem, .refundReversal, .adjust] {
                #expect(reasons[reason, default: 0] > 0, "no \(reason) entries among 200 customers")
            }
            let check = try await harness.crmAdmin.checkPointsLedger(CheckPointsLedgerRequest())
            #expect(check.checkedCount == Int64(DemoCustomers.count) && check.discrepancyCount == 0)

            let segments = try await harness.crm.listCustomerSegments(ListCustomerSegmentsRequest()).segments
            #expect(segments.count == 5)
            for segment in segments {
                #expect(segment.memberCount > 0 && segment.memberCount < Int64(DemoCustomers.count), "\(segment.name)")
            }

            // Loading again changes nothing; an interrupted load resumes with the same
            // requests (the marker is gone, as if the load had stopped before it).
            try await harness.platform.loadDemo(logger: quietLogger)
            try await harness.store.transaction { $0.deleteRaw(DemoCustomers.markerKey) }
            try await harness.platform.loadDemo(logger: quietLogger)
            let again = try await harness.crm.listCustomers(ListCustomersRequest(page: PageRequest(pageSize: 1)))
            #expect(again.customers.map(\.id) == [customers[0].id])
            let recheck = try await harness.crmAdmin.checkPointsLedger(CheckPointsLedgerRequest())
            #expect(recheck.checkedCount == Int64(DemoCustomers.count) && recheck.discrepancyCount == 0)
            #expect(try await harness.crm.listCustomerSegments(ListCustomerSegmentsRequest()).segments.count == 5)
        }
    }
}
