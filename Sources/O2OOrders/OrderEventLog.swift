public import O2OMessages
import O2OServiceKit
import O2OStorage

/// The order event stream of WatchOrderEvents (the service kit's event log).
typealias OrderEventLog = EventLog<OrderEvent>

extension OrderEvent: LoggedEvent {
    public var loggedAt: Timestamp? { entry?.createdAt }
    public var subject: String { entry?.orderID ?? "" }
    public var subjectSequence: Int64 { entry?.sequence ?? 0 }
}

extension OrderEventLog {
    static func orders(store: ServiceStore) -> OrderEventLog {
        OrderEventLog(
            store: store,
            outbox: OrderTables.outbox,
            stream: OrderTables.events,
            cursors: OrderTables.eventCursors,
            name: "order_events"
        )
    }
}
