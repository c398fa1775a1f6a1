import O2OMessages
import O2OServiceKit
import O2OStorage

extension OrderSettings: VersionedRecord {}
extension Order: StatusRecord {}
extension Payment: VersionedRecord, Identified {}
extension Refund: VersionedRecord, Identified {}
extension Shipment: VersionedRecord, Identified {}

/// The order tables. Table ids are part of every stored key: never reuse one.
enum OrderTables {
    /// The one settings record, under the key "settings".
    static let settings = RecordTable<OrderSettings>(
        id: 500,
        name: "order_settings",
        noun: "order settings",
        primaryKey: { _ in .string("settings") }
    )

    /// A customer's orders, oldest first (order ids sort by creation).
    static let orderCustomer = RecordIndex<Order>(id: 1, name: "customer", unique: false) {
        [[.string($0.customerID), .string($0.id)]]
    }
    static let orderNumber = RecordIndex<Order>(id: 2, name: "order_number", unique: true) {
        [[.string($0.orderNumber)]]
    }
    /// A location's work list: every order with a fulfilment part there.
    static let orderLocation = RecordIndex<Order>(id: 3, name: "location", unique: false) { order in
        Set(order.fulfillmentParts.map(\.locationID)).sorted().map { [.string($0), .string(order.id)] }
    }
    /// What the sweeper is due to do: unpaid orders by payment deadline (kind 1),
    /// delivered orders by delivery time (kind 2); other orders are not in it.
    static let orderDue = RecordIndex<Order>(id: 4, name: "due", unique: false) { order in
        switch order.status {
        case .pendingPayment:
            [[.int(OrderDue.payment), .int(Timestamps.nanos(order.paymentDeadline)), .string(order.id)]]
        case .delivered:
            [[.int(OrderDue.completion), .int(Timestamps.nanos(order.deliveredAt)), .string(order.id)]]
        default: []
        }
    }
    static let orders = RecordTable<Order>(
        id: 503,
        name: "orders",
        noun: "order",
        primaryKey: { .string($0.id) },
        indexes: [orderCustomer, orderNumber, orderLocation, orderDue]
    )

    /// Every order's history, by order and sequence.
    static let history = RecordTable<OrderHistoryEntry>(
        id: 504,
        name: "order_history",
        noun: "order history entry",
        primaryKey: { [.string($0.orderID), .int($0.sequence)] }
    )
    /// Events committed and not yet numbered, by commit time: the event sequencer
    /// numbers them (one writer, so concurrent checkouts never contend on a counter).
    static let outbox = RecordTable<OrderEvent>(
        id: 505,
        name: "order_event_outbox",
        noun: "pending order event",
        primaryKey: {
            [
                .int(Timestamps.nanos($0.entry?.createdAt)), .string($0.entry?.orderID ?? ""),
                .int($0.entry?.sequence ?? 0),
            ]
        }
    )
    /// The cursor of an order event: "oe" and its number in the stream.
    static let eventCursors = EventCursor(prefix: "oe")
    /// The numbered event stream of WatchOrderEvents, kept 7 days.
    static let events = RecordTable<OrderEvent>(
        id: 506,
        name: "order_events",
        noun: "order event",
        primaryKey: { [.int(eventCursors.parse($0.cursor) ?? 0)] }
    )

    static let paymentOrder = RecordIndex<Payment>(id: 1, name: "order", unique: false) {
        [[.string($0.orderID), .string($0.id)]]
    }
    /// A channel transaction id names one payment.
    static let paymentTransaction = RecordIndex<Payment>(id: 2, name: "channel_transaction", unique: true) {
        $0.channelTransactionID.isEmpty
            ? [] : [[.int(Int64($0.channel.rawValue)), .string($0.channelTransactionID)]]
    }
    static let payments = RecordTable<Payment>(
        id: 507,
        name: "payments",
        noun: "payment",
        primaryKey: { .string($0.id) },
        indexes: [paymentOrder, paymentTransaction]
    )

    static let refundOrder = RecordIndex<Refund>(id: 1, name: "order", unique: false) {
        [[.string($0.orderID), .string($0.id)]]
    }
    static let refundChannelID = RecordIndex<Refund>(id: 2, name: "channel_refund", unique: true) {
        $0.channelRefundID.isEmpty ? [] : [[.int(Int64($0.channel.rawValue)), .string($0.channelRefundID)]]
    }
    static let refundCase = RecordIndex<Refund>(id: 3, name: "after_sales_case", unique: false) {
        $0.afterSalesCaseID.isEmpty ? [] : [[.string($0.afterSalesCaseID), .string($0.id)]]
    }
    static let refunds = RecordTable<Refund>(
        id: 508,
        name: "refunds",
        noun: "refund",
        primaryKey: { .string($0.id) },
        indexes: [refundOrder, refundChannelID, refundCase]
    )

    static let shipmentOrder = RecordIndex<Shipment>(id: 1, name: "order", unique: false) {
        [[.string($0.orderID), .string($0.id)]]
    }
    static let shipmentTracking = RecordIndex<Shipment>(id: 2, name: "tracking", unique: false) {
        $0.trackingNumber.isEmpty ? [] : [[.string($0.trackingNumber), .string($0.id)]]
    }
    static let shipments = RecordTable<Shipment>(
        id: 509,
        name: "shipments",
        noun: "shipment",
        primaryKey: { .string($0.id) },
        indexes: [shipmentOrder, shipmentTracking]
    )

    /// Wrong pickup codes per order, for the limit of five an hour.
    static let pickupAttempts = RecordTable<PickupCodeAttempts>(
        id: 510,
        name: "pickup_code_attempts",
        noun: "pickup code attempts",
        primaryKey: { .string($0.orderID) }
    )

    static let keyspace: [KeyspaceEntry] =
        KeyspaceEntry.table(settings, owner: "orders") + KeyspaceEntry.table(orders, owner: "orders")
        + KeyspaceEntry.table(history, owner: "orders") + KeyspaceEntry.table(outbox, owner: "orders")
        + KeyspaceEntry.table(events, owner: "orders") + KeyspaceEntry.table(payments, owner: "orders")
        + KeyspaceEntry.table(refunds, owner: "orders") + KeyspaceEntry.table(shipments, owner: "orders")
        + KeyspaceEntry.table(pickupAttempts, owner: "orders")
}

/// The two kinds of sweeper work in the `due` index.
enum OrderDue {
    static let payment: Int64 = 1
    static let completion: Int64 = 2
}
