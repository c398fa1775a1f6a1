import O2OMessages
import O2OServiceKit
import O2OStorage

extension Ticket: StatusRecord {}
extension AfterSalesCase: StatusRecord {}
extension SlaPolicy: VersionedRecord {}

/// The care tables. Table ids are part of every stored key: never reuse one.
enum CareTables {
    /// One policy per severity (a severity without one uses the default).
    static let policies = RecordTable<SlaPolicy>(
        id: 600,
        name: "sla_policies",
        noun: "SLA policy",
        primaryKey: { [.int(Int64($0.severity.rawValue))] }
    )

    static let ticketCustomer = RecordIndex<Ticket>(id: 1, name: "customer", unique: false) {
        [[.string($0.customerID), .string($0.id)]]
    }
    static let ticketOrder = RecordIndex<Ticket>(id: 2, name: "order", unique: false) {
        $0.orderID.isEmpty ? [] : [[.string($0.orderID), .string($0.id)]]
    }
    static let ticketAssignee = RecordIndex<Ticket>(id: 3, name: "assignee", unique: false) {
        $0.assigneeID.isEmpty ? [] : [[.string($0.assigneeID), .string($0.id)]]
    }
    /// Tickets by state: the open work lists.
    static let ticketStatus = RecordIndex<Ticket>(id: 4, name: "status", unique: false) {
        [[.int(Int64($0.status.rawValue)), .string($0.id)]]
    }
    static let tickets = RecordTable<Ticket>(
        id: 601,
        name: "tickets",
        noun: "ticket",
        primaryKey: { .string($0.id) },
        indexes: [ticketCustomer, ticketOrder, ticketAssignee, ticketStatus]
    )

    /// Every ticket's history, by ticket and sequence.
    static let ticketHistory = RecordTable<TicketHistoryEntry>(
        id: 602,
        name: "ticket_history",
        noun: "ticket history entry",
        primaryKey: { [.string($0.ticketID), .int($0.sequence)] }
    )
    /// Every ticket's notes, by ticket, oldest first (note ids sort by creation).
    static let notes = RecordTable<TicketNote>(
        id: 603,
        name: "ticket_notes",
        noun: "ticket note",
        primaryKey: { [.string($0.ticketID), .string($0.id)] }
    )
    /// The running SLA deadlines, by deadline: the breach sweep reads only what is
    /// due.
    static let clocks = RecordTable<SlaClock>(
        id: 604,
        name: "sla_clocks",
        noun: "SLA clock",
        primaryKey: { [.int(Timestamps.nanos($0.dueAt)), .string($0.ticketID), .int(Int64($0.kind.rawValue))] }
    )

    static let breachTicket = RecordIndex<SlaBreach>(id: 1, name: "ticket", unique: false) {
        [[.string($0.ticketID), .string($0.id)]]
    }
    static let breachDue = RecordIndex<SlaBreach>(id: 2, name: "due", unique: false) {
        [[.int(Timestamps.nanos($0.dueAt)), .string($0.id)]]
    }
    static let breaches = RecordTable<SlaBreach>(
        id: 605,
        name: "sla_breaches",
        noun: "SLA breach",
        primaryKey: { .string($0.id) },
        indexes: [breachTicket, breachDue]
    )

    /// Events committed and not yet numbered, by commit time.
    static let outbox = RecordTable<TicketEvent>(
        id: 606,
        name: "care_event_outbox",
        noun: "pending ticket event",
        primaryKey: { [.int(Timestamps.nanos($0.loggedAt)), .string($0.subject), .int($0.subjectSequence)] }
    )
    /// The cursor of a care event: "te" and its number in the stream.
    static let eventCursors = EventCursor(prefix: "te")
    /// The numbered event stream of WatchTicketEvents, kept 7 days.
    static let events = RecordTable<TicketEvent>(
        id: 607,
        name: "care_events",
        noun: "ticket event",
        primaryKey: { [.int(eventCursors.parse($0.cursor) ?? 0)] }
    )

    static let caseCustomer = RecordIndex<AfterSalesCase>(id: 1, name: "customer", unique: false) {
        [[.string($0.customerID), .string($0.id)]]
    }
    static let caseOrder = RecordIndex<AfterSalesCase>(id: 2, name: "order", unique: false) {
        [[.string($0.orderID), .string($0.id)]]
    }
    static let caseTicket = RecordIndex<AfterSalesCase>(id: 3, name: "ticket", unique: false) {
        $0.ticketID.isEmpty ? [] : [[.string($0.ticketID), .string($0.id)]]
    }
    static let caseLocation = RecordIndex<AfterSalesCase>(id: 4, name: "return_location", unique: false) {
        $0.returnLocationID.isEmpty ? [] : [[.string($0.returnLocationID), .string($0.id)]]
    }
    static let cases = RecordTable<AfterSalesCase>(
        id: 608,
        name: "after_sales_cases",
        noun: "after-sales case",
        primaryKey: { .string($0.id) },
        indexes: [caseCustomer, caseOrder, caseTicket, caseLocation]
    )
    /// Every case's history, by case and sequence.
    static let caseHistory = RecordTable<AfterSalesHistoryEntry>(
        id: 609,
        name: "after_sales_history",
        noun: "after-sales history entry",
        primaryKey: { [.string($0.caseID), .int($0.sequence)] }
    )
    /// What the cases of each order claim.
    static let claims = RecordTable<AfterSalesClaims>(
        id: 610,
        name: "after_sales_claims",
        noun: "after-sales claims",
        primaryKey: { .string($0.orderID) }
    )

    static let keyspace: [KeyspaceEntry] =
        KeyspaceEntry.table(policies, owner: "care") + KeyspaceEntry.table(tickets, owner: "care")
        + KeyspaceEntry.table(ticketHistory, owner: "care") + KeyspaceEntry.table(notes, owner: "care")
        + KeyspaceEntry.table(clocks, owner: "care") + KeyspaceEntry.table(breaches, owner: "care")
        + KeyspaceEntry.table(outbox, owner: "care") + KeyspaceEntry.table(events, owner: "care")
        + KeyspaceEntry.table(cases, owner: "care") + KeyspaceEntry.table(caseHistory, owner: "care")
        + KeyspaceEntry.table(claims, owner: "care")
}

extension TicketEvent: LoggedEvent {
    public var loggedAt: Timestamp? {
        switch entry {
        case .ticketEntry(let entry)?: entry.createdAt
        case .afterSalesEntry(let entry)?: entry.createdAt
        case nil: nil
        }
    }

    public var subject: String {
        switch entry {
        case .ticketEntry(let entry)?: "t" + entry.ticketID
        case .afterSalesEntry(let entry)?: "c" + entry.caseID
        case nil: ""
        }
    }

    public var subjectSequence: Int64 {
        switch entry {
        case .ticketEntry(let entry)?: entry.sequence
        case .afterSalesEntry(let entry)?: entry.sequence
        case nil: 0
        }
    }
}
