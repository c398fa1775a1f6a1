import Logging
import O2OCRM
import O2OCatalog
import O2OInventory
import O2OMessages
import O2OOrders
public import O2ORPC
public import O2OServiceKit
import O2OStorage
public import ServiceLifecycle

/// Care as the server composes it: the service, the SLA breach sweep and the event
/// sequencer.
public struct CareDomain: ServiceDomain {
    public let name = "care"
    public let provider: CareServiceProvider
    private let logger: Logger

    package init(
        store: ServiceStore,
        currency: String,
        customers: any CustomerReading,
        catalog: any CatalogReading,
        locations: any StockLocationReading,
        returns: any StockReturns,
        orders: any AfterSalesOrders,
        logger: Logger
    ) {
        provider = CareServiceProvider(
            store: store,
            currency: currency,
            customers: customers,
            catalog: catalog,
            locations: locations,
            returns: returns,
            orders: orders,
            logger: logger
        )
        self.logger = logger
    }

    public var services: [any RPCService] { [provider] }
    public var keyspace: [KeyspaceEntry] { CareTables.keyspace }

    public var jobs: [any Service] {
        let provider = self.provider
        return [
            // Every 20 s, so a breach is recorded within a minute of its deadline.
            PeriodicJob(name: "SLA breach sweep", every: .seconds(20), firstRunAfter: .seconds(5), logger: logger) {
                var more = true
                while more, !Task.isCancelled { more = try await provider.sweepBreaches().moreRemaining }
            },
            PeriodicJob(name: "care event sequencer", every: .seconds(1), logger: logger) {
                while try await provider.events.sequence() > 0, !Task.isCancelled {}
            },
            PeriodicJob(
                name: "care event retention",
                every: .seconds(3600),
                firstRunAfter: .seconds(150),
                logger: logger
            ) {
                while try await provider.events.prune() > 0, !Task.isCancelled {}
            },
        ]
    }

    /// The ticket figures of the CRM's customer-360 view.
    package static func customerTickets(store: ServiceStore) -> any CustomerTicketSource {
        CustomerTickets(store: store)
    }
}

/// A customer's ticket and after-sales figures for the CRM's 360 view.
struct CustomerTickets: CustomerTicketSource {
    /// Most tickets and cases of one customer the figures read.
    static let maximumRecords = 10_000

    let store: ServiceStore

    func figures(customerID: String, recentLimit: Int) async throws -> CustomerTicketFigures {
        let (tickets, cases) = try await store.read { reader in
            let tickets = try await reader.all(
                CareTables.tickets,
                RecordQuery(
                    index: CareTables.ticketCustomer,
                    prefix: [.string(customerID)],
                    direction: .reverse,
                    pageSize: 500
                ),
                limit: Self.maximumRecords
            )
            let cases = try await reader.all(
                CareTables.cases,
                RecordQuery(index: CareTables.caseCustomer, prefix: [.string(customerID)], pageSize: 500),
                limit: Self.maximumRecords
            )
            return (tickets, cases)
        }
        var figures = CustomerTicketFigures()
        figures.totalTicketCount = Int64(tickets.count)
        figures.openTicketCount = Int64(tickets.filter { TicketBook.openStates.contains($0.status) }.count)
        figures.openAfterSalesCount = Int64(cases.filter { AfterSalesBook.openStates.contains($0.status) }.count)
        figures.recentTicketIDs = tickets.prefix(max(0, recentLimit)).map(\.id)
        return figures
    }
}
