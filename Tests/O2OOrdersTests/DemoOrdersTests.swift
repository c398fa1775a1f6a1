import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

@Suite("The demo shop's orders")
struct DemoOrdersTests {
    @Test("the demo places orders in every status through the API; the 360 view shows them; ledgers agree")
    func demoOrders() async throws {
        try await ServiceHarness.run(.rocksdb, demo: true) { harness in
            let client = harness.client
            var statuses: [OrderStatus: Int] = [:]
            var token = ""
            var first: Order?
            repeat {
                let page = try await client.order.listOrders(
                    ListOrdersRequest(page: PageRequest(pageSize: 500, pageToken: token))
                )
                for order in page.orders { statuses[order.status, default: 0] += 1 }
                first = first ?? page.orders.first
                token = page.nextPageToken
            } while !token.isEmpty
            let total = statuses.values.reduce(0, +)
            #expect(total >= 1_900, "\(statuses)")
            for status in [
                OrderStatus.pendingPayment, .paid, .fulfilling, .shipped, .readyForPickup, .delivered, .completed,
                .cancelled, .refunding, .refunded,
            ] {
                #expect((statuses[status] ?? 0) > 0, "no \(status.displayName) order: \(statuses)")
            }
            #expect((statuses[.completed] ?? 0) > total / 4)
            // The demo's risk rules flagged some orders (a device's third, large ones).
            let flagged = try await client.orderRisk.listOrderRiskDecisions(
                ListOrderRiskDecisionsRequest(page: PageRequest(pageSize: 500), state: .flagged)
            ).decisions
            #expect(!flagged.isEmpty && flagged.allSatisfy { !$0.ruleID.isEmpty && !$0.reason.isEmpty })
            // Paid orders have their settlements, with the channels' fees; the
            // completed ones are in the first statement.
            let statement = try #require(
                try await client.settlement.listSettlementStatements(ListSettlementStatementsRequest()).statements.first
            )
            #expect(statement.status == .draft && statement.settlementCount > 0)
            #expect((statement.channelFee?.minorUnits ?? 0) > 0 && statement.channelTotals.count == 3)
            let order = try #require(first)
            let view = try await client.crm.getCustomer360(GetCustomer360Request(customerID: order.customerID))
            #expect(view.ordersIncluded && view.orderCount >= 1 && view.recentOrderIDs.contains(order.id))
            try await client.expectLedgersConsistent()
            // Loading again changes nothing.
            let again = try await harness.platform.loadDemo(logger: quietLogger)
            _ = again
            let after = try await client.order.listOrders(ListOrdersRequest(page: PageRequest(pageSize: 1)))
            #expect(after.orders.first?.id == order.id)
        }
    }
}
