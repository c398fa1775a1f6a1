import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

func cny(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: "CNY") }

/// What the CRM tests do again and again, over the shared harness.
extension ServiceHarness {
    var crm: CrmServiceClient { client.crm }
    var crmAdmin: CrmAdminServiceClient { client.crmAdmin }

    /// A customer with a fresh mainland mobile number.
    func customer(
        _ name: String = "测试顾客",
        phone: String? = nil,
        email: String = "",
        tags: [String] = []
    ) async throws
        -> Customer
    {
        try await crm.createCustomer(
            CreateCustomerRequest(
                requestID: rid(),
                displayName: name,
                phone: phone ?? "139\(String(Int.random(in: 10_000_000...99_999_999)))",
                email: email,
                tags: tags
            )
        )
    }

    /// Member (base), silver from 1,000 yuan (1.2× points), gold from 5,000 yuan
    /// (1.5× points, 5% off).
    @discardableResult
    func tiers() async throws -> (member: MembershipTier, silver: MembershipTier, gold: MembershipTier) {
        func tier(
            _ code: String,
            _ rank: Int32,
            _ spend: Int64,
            _ multiplier: Int32,
            _ discount: Int32
        ) async throws
            -> MembershipTier
        {
            try await crm.createMembershipTier(
                CreateMembershipTierRequest(
                    requestID: rid(),
                    code: code,
                    name: code.capitalized,
                    rank: rank,
                    minQualifyingSpend: cny(spend),
                    discountBps: discount,
                    pointsMultiplierBps: multiplier
                )
            )
        }
        return (
            try await tier("member", 0, 0, 10_000, 0), try await tier("silver", 1, 100_000, 12_000, 0),
            try await tier("gold", 2, 500_000, 15_000, 500)
        )
    }

    /// Records a completed order paying `fen`.
    @discardableResult
    func complete(
        _ customer: String,
        order: String = "ord-\(UUID().uuidString.prefix(8))",
        paying fen: Int64
    )
        async throws -> RecordCompletedOrderResponse
    {
        try await crm.recordCompletedOrder(
            RecordCompletedOrderRequest(requestID: rid(), customerID: customer, orderID: order, paidAmount: cny(fen))
        )
    }

    func balance(_ customer: String) async throws -> Int64 {
        try await crm.getPointsBalance(GetPointsBalanceRequest(customerID: customer)).balance
    }

    /// Asserts that every customer's points add up.
    func expectPointsConsistent(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let check = try await crmAdmin.checkPointsLedger(CheckPointsLedgerRequest())
        #expect(check.discrepancyCount == 0, "\(check.discrepancies)", sourceLocation: sourceLocation)
    }
}
