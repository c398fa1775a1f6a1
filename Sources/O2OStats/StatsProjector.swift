import Logging
import O2OCare
import O2OMessages
import O2OOrders
import O2OServiceKit
import O2OStorage

/// Keeps the stored figures up to date from the order and care event streams: one
/// projector at a time adds each batch of events in one commit with how far it got,
/// so an event is never counted twice; a rebuild from the records remembers, per
/// order, ticket and case, the newest history entry it counted, so the events of
/// those changes are skipped afterwards. No checkout or ticket change writes a
/// figure: they contend on nothing.
final class StatsProjector: Sendable {
    static let lock = "stats/projector"
    static let batchSize = 500

    let store: ServiceStore
    let orders: OrderFigureSource
    let care: CareFigureSource
    private let logger: Logger

    init(store: ServiceStore, orders: OrderFigureSource, care: CareFigureSource, logger: Logger) {
        self.store = store
        self.orders = orders
        self.care = care
        self.logger = logger
    }

    /// Adds every event committed so far; rebuilds from the records first when the
    /// figures were never built or events they need are no longer kept. Returns the
    /// progress: every change committed before its computed_at is in the figures.
    @discardableResult
    func catchUp() async throws -> StatisticsProgress {
        let started = store.now()
        while try await orders.events.sequence() > 0 {}
        while try await care.events.sequence() > 0 {}
        var progress = try await store.latest.get(StatsTables.progress, .string(StatsTables.progressName))
        if let known = progress, try await missesEvents(known) {
            logger.warning("statistics: events were dropped before they were counted; rebuilding from the records")
            progress = nil
        }
        if progress == nil { try await rebuild() }
        while try await applyOrderEvents() > 0 {}
        while try await applyCareEvents() > 0 {}
        return try await store.transaction(locking: [Self.lock]) { transaction in
            var progress = try await Self.progress(in: transaction)
            if Timestamps.nanos(progress.computedAt) < Timestamps.nanos(started) { progress.computedAt = started }
            try await transaction.save(StatsTables.progress, progress)
            return progress
        }
    }

    private func missesEvents(_ progress: StatisticsProgress) async throws -> Bool {
        let (orderFirst, _) = try await orders.events.bounds()
        let (careFirst, _) = try await care.events.bounds()
        return orderFirst > 1 && progress.orderEventsApplied < orderFirst - 1
            || careFirst > 1 && progress.careEventsApplied < careFirst - 1
    }

    private static func progress(in reader: some RecordReading) async throws -> StatisticsProgress {
        try await reader.get(StatsTables.progress, .string(StatsTables.progressName))
            ?? StatisticsProgress(name: StatsTables.progressName)
    }

    /// The newest history entries already counted, of the subjects of a batch. The
    /// stream position, committed with the figures, keeps a numbered event from
    /// counting twice; these records keep an event from counting after a rebuild
    /// from the records already counted its change, so only a rebuild writes them,
    /// and a batch reads them in one go. A refund counts on the first of its order's
    /// entries that finds it succeeded: that is remembered as it happens.
    private struct Applied {
        var known: [String: Int64] = [:]
        var remembered: Set<String> = []

        init(_ subjects: [String], in reader: some RecordReading) async throws {
            let unique = Array(Set(subjects))
            let found = try await reader.get(StatsTables.applied, unique.map { KeyTuple.string($0) })
            for (subject, record) in zip(unique, found) { known[subject] = record?.sequence ?? 0 }
        }

        /// Whether entry `sequence` of `subject` is newer than what the last rebuild
        /// counted (the stream position keeps the others from counting twice).
        func isNew(_ subject: String, _ sequence: Int64) -> Bool {
            sequence > known[subject, default: 0]
        }

        /// Whether the refund is counted for the first time; remembers it.
        mutating func isNewRefund(_ id: String, in reader: some RecordReading) async throws -> Bool {
            let subject = "r" + id
            if known[subject] == nil {
                known[subject] = try await reader.get(StatsTables.applied, .string(subject))?.sequence ?? 0
            }
            guard known[subject] == 0 else { return false }
            known[subject] = 1
            remembered.insert(subject)
            return true
        }

        func write(in transaction: ServiceTransaction) async throws {
            for subject in remembered {
                try await transaction.save(StatsTables.applied, StatisticsApplied(subject: subject, sequence: 1))
            }
        }
    }

    /// Adds the next batch of order events; returns how many were read.
    private func applyOrderEvents() async throws -> Int {
        let after = try await Self.progress(in: store.latest).orderEventsApplied
        let events = try await orders.events.events(after: after, limit: Self.batchSize)
        guard let last = events.last.flatMap({ orders.events.cursors.parse($0.cursor) }) else { return 0 }
        return try await store.transaction(locking: [Self.lock]) { transaction in
            var progress = try await Self.progress(in: transaction)
            guard progress.orderEventsApplied == after else { return events.count }
            var changes = QuarterChanges()
            var applied = try await Applied(events.compactMap { $0.entry.map { "o" + $0.orderID } }, in: transaction)
            var statuses: [Int32: Int64] = [:]
            for event in events {
                guard let entry = event.entry, let order = event.order,
                    applied.isNew("o" + entry.orderID, entry.sequence)
                else { continue }
                if entry.fromStatus != entry.toStatus {
                    if entry.fromStatus != .unspecified { statuses[entry.fromStatus.rawValue, default: 0] -= 1 }
                    statuses[entry.toStatus.rawValue, default: 0] += 1
                }
                guard OrderContributions.counts(order) else { continue }
                let contributions = OrderContributions(order)
                if entry.kind == .created { try contributions.count(.placed, at: order.createdAt, into: &changes) }
                if entry.fromStatus != entry.toStatus {
                    switch entry.toStatus {
                    case .paid: try contributions.paid(into: &changes)
                    case .cancelled: try contributions.count(.cancelled, at: order.cancelledAt, into: &changes)
                    case .completed: try contributions.count(.completed, at: order.completedAt, into: &changes)
                    case .refunded: try contributions.count(.refunded, at: order.refundedAt, into: &changes)
                    default: break
                    }
                }
                // A refund counts once it succeeded, on the first of its order's
                // entries that finds it so.
                if !entry.refundID.isEmpty, let refund = try await orders.refund(entry.refundID, in: transaction),
                    refund.status == .succeeded,
                    try await applied.isNewRefund(refund.id, in: transaction),
                    OrderContributions.counts(refund)
                {
                    try contributions.refunded(refund, into: &changes)
                }
            }
            try await changes.write(in: transaction)
            try await applied.write(in: transaction)
            progress.orderEventsApplied = last
            for (status, change) in statuses {
                let count = try Checked.add(progress.ordersByStatus[status] ?? 0, change, field: "orders_by_status")
                progress.ordersByStatus[status] = count == 0 ? nil : count
            }
            try await transaction.save(StatsTables.progress, progress)
            return events.count
        }
    }

    /// Adds the next batch of care events; returns how many were read.
    private func applyCareEvents() async throws -> Int {
        let after = try await Self.progress(in: store.latest).careEventsApplied
        let events = try await care.events.events(after: after, limit: Self.batchSize)
        guard let last = events.last.flatMap({ care.events.cursors.parse($0.cursor) }) else { return 0 }
        return try await store.transaction(locking: [Self.lock]) { transaction in
            var progress = try await Self.progress(in: transaction)
            guard progress.careEventsApplied == after else { return events.count }
            var changes = QuarterChanges()
            let applied = try await Applied(
                events.compactMap { event in
                    switch event.entry {
                    case .ticketEntry(let entry)?: "t" + entry.ticketID
                    case .afterSalesEntry(let entry)?: "c" + entry.caseID
                    case nil: nil
                    }
                },
                in: transaction
            )
            var breaches: Int64 = 0
            for event in events {
                switch event.entry {
                case .ticketEntry(let entry)?:
                    guard applied.isNew("t" + entry.ticketID, entry.sequence) else { continue }
                    let ticket = event.ticket ?? Ticket()
                    switch entry.kind {
                    case .created:
                        try TicketContributions.created(ticket, into: &changes)
                    case .slaBreached:
                        let due = entry.slaBreachKind == .acknowledge ? ticket.acknowledgeDueAt : ticket.resolveDueAt
                        try TicketContributions.breached(entry.slaBreachKind, due: due, into: &changes)
                        breaches += 1
                    default:
                        try TicketContributions.entry(entry, into: &changes)
                    }
                case .afterSalesEntry(let entry)?:
                    guard applied.isNew("c" + entry.caseID, entry.sequence) else { continue }
                    if entry.sequence == 1 { try TicketContributions.caseOpened(at: entry.createdAt, into: &changes) }
                case nil:
                    break
                }
            }
            try await changes.write(in: transaction)
            try await applied.write(in: transaction)
            progress.careEventsApplied = last
            progress.openTickets = try Checked.add(progress.openTickets, changes.openChange, field: "open_tickets")
            progress.slaBreaches = try Checked.add(progress.slaBreaches, breaches, field: "sla_breaches")
            try await transaction.save(StatsTables.progress, progress)
            return events.count
        }
    }

    /// Replaces every stored figure with one recomputed from the records, in one
    /// commit. The newest history entry of each record read is remembered with the
    /// figures, so the events of changes the records already hold are skipped.
    func rebuild() async throws {
        let (_, orderLast) = try await orders.events.bounds()
        let (_, careLast) = try await care.events.bounds()
        try await store.transaction(locking: [Self.lock]) { transaction in
            try await Self.clear(StatsTables.sales, in: transaction)
            try await Self.clear(StatsTables.products, in: transaction)
            try await Self.clear(StatsTables.tickets, in: transaction)
            try await Self.clear(StatsTables.names, in: transaction)
            try await Self.clear(StatsTables.applied, in: transaction)
            var changes = QuarterChanges()
            let outcome = try await RecordWalk(orders: orders, care: care).walk(into: &changes, in: transaction)
            try await changes.write(in: transaction)
            for (subject, sequence) in outcome.applied {
                try await transaction.save(StatsTables.applied, StatisticsApplied(subject: subject, sequence: sequence))
            }
            let previous = try await transaction.get(StatsTables.progress, .string(StatsTables.progressName))
            try await transaction.save(
                StatsTables.progress,
                StatisticsProgress(
                    name: StatsTables.progressName,
                    orderEventsApplied: orderLast,
                    careEventsApplied: careLast,
                    openTickets: changes.openChange,
                    computedAt: previous?.computedAt,
                    rebuiltAt: transaction.now,
                    ordersByStatus: outcome.ordersByStatus,
                    slaBreaches: outcome.breaches
                )
            )
            logger.info(
                "statistics rebuilt from the records",
                metadata: ["orders": "\(outcome.ordersRead)", "tickets": "\(outcome.ticketsRead)"]
            )
        }
    }

    private static func clear<Record>(_ table: RecordTable<Record>, in transaction: ServiceTransaction) async throws {
        try await transaction.forEachPage(table, RecordQuery(pageSize: 500)) { page in
            for record in page { _ = try await transaction.delete(table, table.primaryKey(record)) }
        }
    }
}
