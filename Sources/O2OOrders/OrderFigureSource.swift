import O2OMessages
import O2OServiceKit
import O2OStorage

/// What the statistics read of the orders: the order event stream, a refund by id,
/// and every order and refund when the figures are recomputed from the records.
package struct OrderFigureSource: Sendable {
    package let events: EventLog<OrderEvent>

    package func refund(_ id: String, in reader: some RecordReading) async throws -> Refund? {
        try await reader.get(OrderTables.refunds, .string(id))
    }

    package func order(_ id: String, in reader: some RecordReading) async throws -> Order? {
        try await reader.get(OrderTables.orders, .string(id))
    }

    /// Every order, a page at a time.
    package func forEachOrder(in reader: some RecordReading, _ body: ([Order]) async throws -> Void) async throws {
        try await reader.forEachPage(OrderTables.orders, RecordQuery(pageSize: 500), body)
    }

    /// Every refund, a page at a time.
    package func forEachRefund(in reader: some RecordReading, _ body: ([Refund]) async throws -> Void) async throws {
        try await reader.forEachPage(OrderTables.refunds, RecordQuery(pageSize: 500), body)
    }
}

extension OrdersDomain {
    /// The statistics' view of the orders.
    package var figures: OrderFigureSource { OrderFigureSource(events: provider.events) }
}
