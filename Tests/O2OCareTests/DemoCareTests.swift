import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

@Suite("The demo shop's tickets and after-sales cases")
struct DemoCareTests {
    @Test("the demo records tickets and cases in every state through the API, some breached; ledgers agree")
    func demoCare() async throws {
        try await ServiceHarness.run(.rocksdb, demo: true) { harness in
            let client = harness.client
            var statuses: [TicketStatus: Int] = [:]
            var token = ""
            repeat {
                let page = try await client.care.listTickets(
                    ListTicketsRequest(page: PageRequest(pageSize: 500, pageToken: token))
                )
                for ticket in page.tickets { statuses[ticket.status, default: 0] += 1 }
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(statuses.values.reduce(0, +) == 300, "\(statuses)")
            for status in [TicketStatus.received, .acknowledged, .investigating, .resolved, .closed, .reopened] {
                #expect((statuses[status] ?? 0) > 0, "no \(status.displayName) ticket: \(statuses)")
            }
            let cases = try await client.care.listAfterSalesCases(
                ListAfterSalesCasesRequest(page: PageRequest(pageSize: 500))
            ).cases
            #expect(cases.count > 60)
            for status in [
                AfterSalesStatus.requested, .approved, .itemsReceived, .inspected, .completed, .rejected, .cancelled,
            ] {
                #expect(cases.contains { $0.status == status }, "no \(status.displayName) case")
            }
            for kind in [AfterSalesKind.return, .exchange, .repair] {
                #expect(cases.contains { $0.kind == kind && $0.status == .completed }, "no completed \(kind)")
            }
            #expect(cases.contains { !$0.ticketID.isEmpty }, "some cases come from a ticket")
            let breaches = try await client.care.listSlaBreaches(ListSlaBreachesRequest()).breaches
            #expect(!breaches.isEmpty, "the tickets logged days late missed their deadlines")
            try await client.expectLedgersConsistent()
            // Loading again changes nothing.
            try await harness.platform.loadDemo(logger: quietLogger)
            let again = try await client.care.listAfterSalesCases(
                ListAfterSalesCasesRequest(page: PageRequest(pageSize: 500))
            ).cases
            #expect(again.count == cases.count)
        }
    }
}
