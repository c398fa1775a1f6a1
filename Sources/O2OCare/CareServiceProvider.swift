import Logging
import O2OCRM
import O2OCatalog
import O2OInventory
public import O2OMessages
import O2OOrders
import O2OPricing
import O2ORPC
import O2OServiceKit
import O2OStorage

/// The care service: complaint tickets with their workflow, SLA deadlines and
/// breaches, notes and history, and after-sales cases that refund, replace or
/// repair.
///
/// Every change of a ticket's state goes through `TicketBook`, of a case's through
/// `AfterSalesBook`: one declared transition table each, one history entry per
/// change (its sequence is the record's version), written in the same commit as the
/// change and its side effects (SLA clocks, refunds, restocking, the replacement
/// order). The units an order's cases claim live in one record per order, read and
/// written by every case of that order, so two cases racing for the same units
/// cannot both pass.
public final class CareServiceProvider: CareServiceProtocol {
    let store: ServiceStore
    let currency: String
    let customers: any CustomerReading
    let catalog: any CatalogReading
    let locations: any StockLocationReading
    let returns: any StockReturns
    let orders: any AfterSalesOrders
    let events: CareEventLog
    let logger: Logger

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
        self.store = store
        self.currency = currency
        self.customers = customers
        self.catalog = catalog
        self.locations = locations
        self.returns = returns
        self.orders = orders
        self.events = CareEventLog.care(store: store)
        self.logger = logger
    }

    static func ticketLock(_ id: String) -> String { "care/ticket/\(id)" }
    static func caseLock(_ id: String) -> String { "care/case/\(id)" }
    static func claimsLock(_ orderID: String) -> String { "care/claims/\(orderID)" }

    /// The order a ticket or case refers to, checked against its customer: NOT_FOUND
    /// when there is none, INVALID_ARGUMENT when it is another customer's.
    func order(_ id: String, of customerID: String, field: String, in reader: some RecordReading) async throws -> Order
    {
        guard let order = try await orders.order(id, in: reader) else {
            throw RPCError(code: .notFound, message: "\(field): no order '\(id)'")
        }
        guard order.customerID == customerID else {
            throw RPCError.invalidArgument(field: field, "order '\(id)' belongs to another customer")
        }
        return order
    }

    /// The customer a ticket or case is for: NOT_FOUND when there is none,
    /// FAILED_PRECONDITION when erased.
    func customer(_ id: String, field: String, in reader: some RecordReading) async throws -> Customer {
        guard let customer = try await customers.customer(id, in: reader) else {
            throw RPCError(code: .notFound, message: "\(field): no customer '\(id)'")
        }
        guard customer.status != .erased else {
            throw RPCError(code: .failedPrecondition, message: "\(field): customer '\(id)' was erased")
        }
        return customer
    }

    static func format(_ minorUnits: Int64) -> String { PriceMath.decimal(minorUnits) }

    /// A page of what one ticket or case holds (notes, history), oldest first, after
    /// checking that the owner exists (NOT_FOUND naming `field`).
    func page<Owner, Item>(
        of owner: RecordTable<Owner>,
        _ id: String,
        field: String,
        _ items: RecordTable<Item>,
        page: PageRequest?,
        filters: [String] = [],
        predicate: (@Sendable (Item) -> Bool)? = nil
    ) async throws -> RecordPage<Item> {
        let pageSize = try Paging.pageSize(page, field: "page")
        let id = try Validate.id(id, field: field)
        return try await store.read { reader -> RecordPage<Item> in
            _ = try await reader.require(owner, id, field: field)
            return try await reader.page(
                items,
                RecordQuery(
                    prefix: [.string(id)],
                    pageSize: pageSize,
                    pageToken: page?.pageToken,
                    filters: filters,
                    predicate: predicate
                )
            )
        }
    }
}

/// The care event stream of WatchTicketEvents (the service kit's event log).
typealias CareEventLog = EventLog<TicketEvent>

extension CareEventLog {
    static func care(store: ServiceStore) -> CareEventLog {
        CareEventLog(
            store: store,
            outbox: CareTables.outbox,
            stream: CareTables.events,
            cursors: CareTables.eventCursors,
            name: "care_events"
        )
    }
}

/// Free text that may hold personal data (descriptions, notes, comments): shown in
/// full to admin and service callers and on a server without tokens (loopback
/// only), hidden from readonly callers; never logged.
enum CareText {
    static let hidden = "(hidden)"

    static func visible(to context: RPCServerContext) -> Bool {
        guard let principal = context.principal else { return true }
        return principal.role >= .service
    }

    static func shown(_ ticket: Ticket, to context: RPCServerContext) -> Ticket {
        guard !visible(to: context) else { return ticket }
        var masked = ticket
        if !masked.description.isEmpty { masked.description = hidden }
        if !masked.resolution.isEmpty { masked.resolution = hidden }
        if !masked.satisfactionComment.isEmpty { masked.satisfactionComment = hidden }
        return masked
    }

    static func shown(_ note: TicketNote, to context: RPCServerContext) -> TicketNote {
        guard !visible(to: context) else { return note }
        var masked = note
        masked.text = hidden
        return masked
    }

    static func shown(_ entry: TicketHistoryEntry, to context: RPCServerContext) -> TicketHistoryEntry {
        guard !visible(to: context), !entry.note.isEmpty else { return entry }
        var masked = entry
        masked.note = hidden
        return masked
    }

    static func shown(_ entry: AfterSalesHistoryEntry, to context: RPCServerContext) -> AfterSalesHistoryEntry {
        guard !visible(to: context), !entry.note.isEmpty else { return entry }
        var masked = entry
        masked.note = hidden
        return masked
    }

    static func shown(_ item: AfterSalesCase, to context: RPCServerContext) -> AfterSalesCase {
        guard !visible(to: context) else { return item }
        var masked = item
        if !masked.description.isEmpty { masked.description = hidden }
        for index in masked.lines.indices where !masked.lines[index].reasonDetail.isEmpty {
            masked.lines[index].reasonDetail = hidden
        }
        return masked
    }
}
