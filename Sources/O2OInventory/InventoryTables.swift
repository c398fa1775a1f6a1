import O2OMessages
import O2OServiceKit
import O2OStorage

/// The inventory's tables and their indexes. Table ids are part of every stored key:
/// never reuse one (the keyspace check refuses a clash at start).
enum InventoryTables {
    static let locationCode = RecordIndex<StockLocation>(id: 1, name: "code", unique: true) {
        [[.string($0.code.lowercased())]]
    }
    /// Warehouses and stores.
    static let locations = RecordTable<StockLocation>(
        id: 200,
        name: "stock_locations",
        noun: "stock location",
        primaryKey: { .string($0.id) },
        indexes: [locationCode]
    )

    static let levelSku = RecordIndex<StockLevel>(id: 1, name: "sku", unique: false) {
        [[.string($0.skuID), .string($0.locationID)]]
    }
    /// Stock per location and SKU, keyed location first so that one location's stock
    /// pages in SKU order; the `sku` index lists one SKU everywhere.
    static let levels = RecordTable<StockLevel>(
        id: 201,
        name: "stock_levels",
        noun: "stock level",
        primaryKey: { [.string($0.locationID), .string($0.skuID)] },
        indexes: [levelSku]
    )

    static let ledgerLocationTime = RecordIndex<StockLedgerEntry>(id: 1, name: "location_time", unique: false) {
        entry in
        [[.string(entry.locationID), .int(nanos(entry.createdAt)), .string(entry.id)]]
    }
    static let ledgerReference = RecordIndex<StockLedgerEntry>(id: 2, name: "reference", unique: false) { entry in
        guard let reference = entry.reference, reference.kind != .unspecified, !reference.id.isEmpty else {
            return []
        }
        return [
            [
                .int(Int64(reference.kind.rawValue)), .string(reference.id), .int(nanos(entry.createdAt)),
                .string(entry.id),
            ]
        ]
    }
    static let ledgerOrder = RecordIndex<StockLedgerEntry>(id: 3, name: "order", unique: false) { entry in
        entry.orderID.isEmpty ? [] : [[.string(entry.orderID), .int(nanos(entry.createdAt)), .string(entry.id)]]
    }
    /// The append-only ledger. Keyed by location, SKU and sequence, so a pair's entries
    /// are contiguous and in order; indexed by time per location and by reference.
    static let ledger = RecordTable<StockLedgerEntry>(
        id: 202,
        name: "stock_ledger",
        noun: "ledger entry",
        primaryKey: { [.string($0.locationID), .string($0.skuID), .int($0.sequence)] },
        indexes: [ledgerLocationTime, ledgerReference, ledgerOrder]
    )

    static let reservationOrder = RecordIndex<StockReservation>(id: 1, name: "order", unique: false) {
        [[.string($0.orderID), .string($0.id)]]
    }
    static let reservationLocation = RecordIndex<StockReservation>(id: 2, name: "location", unique: false) {
        [[.string($0.locationID), .string($0.id)]]
    }
    /// Only ACTIVE reservations, by expiry, for the sweeper.
    static let reservationActiveExpiry = RecordIndex<StockReservation>(id: 3, name: "active_expiry", unique: false) {
        reservation in
        reservation.status == .active ? [[.int(nanos(reservation.expiresAt)), .string(reservation.id)]] : []
    }
    static let reservations = RecordTable<StockReservation>(
        id: 203,
        name: "stock_reservations",
        noun: "stock reservation",
        primaryKey: { .string($0.id) },
        indexes: [reservationOrder, reservationLocation, reservationActiveExpiry]
    )

    static let alertLocation = RecordIndex<StockAlert>(id: 1, name: "location", unique: false) {
        [[.string($0.locationID), .int(AlertCursor.sequence(of: $0))]]
    }
    static let alertSku = RecordIndex<StockAlert>(id: 2, name: "sku", unique: false) {
        [[.string($0.skuID), .int(AlertCursor.sequence(of: $0))]]
    }
    /// Low-stock alerts, keyed by their position in the alert stream.
    static let alerts = RecordTable<StockAlert>(
        id: 204,
        name: "stock_alerts",
        noun: "stock alert",
        primaryKey: { [.int(AlertCursor.sequence(of: $0))] },
        indexes: [alertLocation, alertSku]
    )

    static let purchaseOrderSupplier = RecordIndex<PurchaseOrder>(id: 1, name: "supplier", unique: false) {
        [[.string($0.supplierID), .string($0.id)]]
    }
    static let purchaseOrderLocation = RecordIndex<PurchaseOrder>(id: 2, name: "location", unique: false) {
        [[.string($0.locationID), .string($0.id)]]
    }
    static let purchaseOrders = RecordTable<PurchaseOrder>(
        id: 205,
        name: "purchase_orders",
        noun: "purchase order",
        primaryKey: { .string($0.id) },
        indexes: [purchaseOrderSupplier, purchaseOrderLocation]
    )

    static let stockTakeLocation = RecordIndex<StockTake>(id: 1, name: "location", unique: false) {
        [[.string($0.locationID), .string($0.id)]]
    }
    static let stockTakes = RecordTable<StockTake>(
        id: 206,
        name: "stock_takes",
        noun: "stock-take",
        primaryKey: { .string($0.id) },
        indexes: [stockTakeLocation]
    )

    /// Counts of a stock-take, keyed by stock-take and SKU.
    static let stockTakeLines = RecordTable<StockTakeLine>(
        id: 207,
        name: "stock_take_lines",
        noun: "stock-take line",
        primaryKey: { [.string($0.stockTakeID), .string($0.skuID)] }
    )

    static let transferFrom = RecordIndex<StockTransfer>(id: 1, name: "from", unique: false) {
        [[.string($0.fromLocationID), .string($0.id)]]
    }
    static let transferTo = RecordIndex<StockTransfer>(id: 2, name: "to", unique: false) {
        [[.string($0.toLocationID), .string($0.id)]]
    }
    static let transfers = RecordTable<StockTransfer>(
        id: 208,
        name: "stock_transfers",
        noun: "stock transfer",
        primaryKey: { .string($0.id) },
        indexes: [transferFrom, transferTo]
    )

    /// The raw keys listing a location's OPEN stock-takes.
    static let openStockTakesPrefix: [UInt8] = [0x31] + Array("open-stock-takes/".utf8)

    /// Every key prefix the inventory writes.
    static let keyspace: [KeyspaceEntry] =
        [
            KeyspaceEntry.table(locations, owner: "inventory"), KeyspaceEntry.table(levels, owner: "inventory"),
            KeyspaceEntry.table(ledger, owner: "inventory"), KeyspaceEntry.table(reservations, owner: "inventory"),
            KeyspaceEntry.table(alerts, owner: "inventory"), KeyspaceEntry.table(purchaseOrders, owner: "inventory"),
            KeyspaceEntry.table(stockTakes, owner: "inventory"),
            KeyspaceEntry.table(stockTakeLines, owner: "inventory"), KeyspaceEntry.table(transfers, owner: "inventory"),
        ].flatMap { $0 }
        + [KeyspaceEntry(prefix: openStockTakesPrefix, owner: "inventory", what: "open stock-takes per location")]

    static func nanos(_ timestamp: Timestamp?) -> Int64 { Timestamps.nanos(timestamp) }
}

extension StockLocation: VersionedRecord, Identified {}
extension StockLevel: VersionedRecord {}
extension StockReservation: StatusRecord {}

extension PurchaseOrder: StatusRecord {
    public mutating func appendStatusChange(
        from: PurchaseOrderStatus,
        to: PurchaseOrderStatus,
        at time: Timestamp,
        actor: ChangeActor,
        note: String
    ) {
        statusHistory.append(
            PurchaseOrderStatusChange(fromStatus: from, toStatus: to, changedAt: time, actor: actor, note: note)
        )
    }
}

extension StockTake: StatusRecord {
    public mutating func appendStatusChange(
        from: StockTakeStatus,
        to: StockTakeStatus,
        at time: Timestamp,
        actor: ChangeActor,
        note: String
    ) {
        statusHistory.append(
            StockTakeStatusChange(fromStatus: from, toStatus: to, changedAt: time, actor: actor, note: note)
        )
    }
}

extension StockTransfer: StatusRecord {
    public mutating func appendStatusChange(
        from: StockTransferStatus,
        to: StockTransferStatus,
        at time: Timestamp,
        actor: ChangeActor,
        note: String
    ) {
        statusHistory.append(
            StockTransferStatusChange(fromStatus: from, toStatus: to, changedAt: time, actor: actor, note: note)
        )
    }
}

/// Alert cursors: "a" and the alert's sequence number in the stream. Opaque to
/// clients, but simple enough to check.
enum AlertCursor {
    static func make(_ sequence: Int64) -> String { "a\(sequence)" }

    static func parse(_ cursor: String) -> Int64? {
        guard cursor.first == "a", let value = Int64(cursor.dropFirst()), value >= 0 else { return nil }
        return value
    }

    static func sequence(of alert: StockAlert) -> Int64 { parse(alert.cursor) ?? 0 }
}
