import O2OMessages
import O2OServiceKit
import O2OStorage

/// What the statistics read of care: the care event stream, and every ticket, its
/// history, every SLA breach and every after-sales case when the figures are
/// recomputed from the records.
package struct CareFigureSource: Sendable {
    package let events: EventLog<TicketEvent>

    package func forEachTicket(in reader: some RecordReading, _ body: ([Ticket]) async throws -> Void) async throws {
        try await reader.forEachPage(CareTables.tickets, RecordQuery(pageSize: 500), body)
    }

    /// Every ticket's history, by ticket and sequence.
    package func forEachTicketHistoryEntry(
        in reader: some RecordReading,
        _ body: ([TicketHistoryEntry]) async throws -> Void
    ) async throws {
        try await reader.forEachPage(CareTables.ticketHistory, RecordQuery(pageSize: 500), body)
    }

    package func forEachBreach(in reader: some RecordReading, _ body: ([SlaBreach]) async throws -> Void) async throws {
        try await reader.forEachPage(CareTables.breaches, RecordQuery(pageSize: 500), body)
    }

    package func forEachCase(
        in reader: some RecordReading,
        _ body: ([AfterSalesCase]) async throws -> Void
    ) async throws {
        try await reader.forEachPage(CareTables.cases, RecordQuery(pageSize: 500), body)
    }
}

extension CareDomain {
    /// The statistics' view of care.
    package var figures: CareFigureSource { CareFigureSource(events: provider.events) }
}
