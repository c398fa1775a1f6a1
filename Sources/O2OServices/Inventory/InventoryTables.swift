import O2OMessages
import O2OStorage

/// The inventory's tables. Table ids are part of every stored key: never reuse one.
public enum InventoryTables {
    /// Warehouses and stores.
    public static let locations = RecordTable<StockLocation>(
        id: 200,
        name: "stock_locations",
        primaryKey: { .string($0.id) },
        indexes: [
            RecordIndex(id: 1, name: "code", unique: true) { [[.string($0.code.lowercased())]] }
        ]
    )

    /// Stock per location and SKU, keyed location first so that one location's stock
    /// pages in SKU order; the `sku` index lists one SKU everywhere.
    static let levels = RecordTable<StockLevel>(
        id: 201,
        name: "stock_levels",
        primaryKey: { [.string($0.locationID), .string($0.skuID)] },
        indexes: [
            RecordIndex(id: 1, name: "sku", unique: false) { [[.string($0.skuID), .string($0.locationID)]] }
        ]
    )

    /// The append-only ledger. Keyed by location, SKU and sequence, so a pair's entries
    /// are contiguous and in order; indexed by time per location and by reference.
    static let ledger = RecordTable<StockLedgerEntry>(
        id: 202,
        name: "stock_ledger",
        primaryKey: { [.string($0.locationID), .string($0.skuID), .int($0.sequence)] },
        indexes: [
            RecordIndex(id: 1, name: "location_time", unique: false) { entry in
                [[.string(entry.locationID), .int(nanos(entry.createdAt)), .string(entry.id)]]
            },
            RecordIndex(id: 2, name: "reference", unique: false) { entry in
                guard let reference = entry.reference, reference.kind != .unspecified, !reference.id.isEmpty else {
                    return []
                }
                return [
                    [
                        .int(Int64(reference.kind.rawValue)), .string(reference.id), .int(nanos(entry.createdAt)),
                        .string(entry.id),
                    ]
                ]
            },
            RecordIndex(id: 3, name: "order", unique: false) { entry in
                entry.orderID.isEmpty
                    ? [] : [[.string(entry.orderID), .int(nanos(entry.createdAt)), .string(entry.id)]]
            },
        ]
    )

    /// Reservations; the `active_expiry` index holds only ACTIVE ones, by expiry, for
    /// the sweeper.
    static let reservations = RecordTable<StockReservation>(
        id: 203,
        name: "stock_reservations",
        primaryKey: { .string($0.id) },
        indexes: [
            RecordIndex(id: 1, name: "order", unique: false) { [[.string($0.orderID), .string($0.id)]] },
            RecordIndex(id: 2, name: "location", unique: false) { [[.string($0.locationID), .string($0.id)]] },
            RecordIndex(id: 3, name: "active_expiry", unique: false) { reservation in
                reservation.status == .active ? [[.int(nanos(reservation.expiresAt)), .string(reservation.id)]] : []
            },
        ]
    )

    /// Low-stock alerts, keyed by their position in the alert stream.
    static let alerts = RecordTable<StockAlert>(
        id: 204,
        name: "stock_alerts",
        primaryKey: { [.int(AlertCursor.sequence(of: $0))] },
        indexes: [
            RecordIndex(id: 1, name: "location", unique: false) {
                [[.string($0.locationID), .int(AlertCursor.sequence(of: $0))]]
            },
            RecordIndex(id: 2, name: "sku", unique: false) {
                [[.string($0.skuID), .int(AlertCursor.sequence(of: $0))]]
            },
        ]
    )

    static let purchaseOrders = RecordTable<PurchaseOrder>(
        id: 205,
        name: "purchase_orders",
        primaryKey: { .string($0.id) },
        indexes: [
            RecordIndex(id: 1, name: "supplier", unique: false) { [[.string($0.supplierID), .string($0.id)]] },
            RecordIndex(id: 2, name: "location", unique: false) { [[.string($0.locationID), .string($0.id)]] },
        ]
    )

    static let stockTakes = RecordTable<StockTake>(
        id: 206,
        name: "stock_takes",
        primaryKey: { .string($0.id) },
        indexes: [RecordIndex(id: 1, name: "location", unique: false) { [[.string($0.locationID), .string($0.id)]] }]
    )

    /// Counts of a stock-take, keyed by stock-take and SKU.
    static let stockTakeLines = RecordTable<StockTakeLine>(
        id: 207,
        name: "stock_take_lines",
        primaryKey: { [.string($0.stockTakeID), .string($0.skuID)] }
    )

    static let transfers = RecordTable<StockTransfer>(
        id: 208,
        name: "stock_transfers",
        primaryKey: { .string($0.id) },
        indexes: [
            RecordIndex(id: 1, name: "from", unique: false) { [[.string($0.fromLocationID), .string($0.id)]] },
            RecordIndex(id: 2, name: "to", unique: false) { [[.string($0.toLocationID), .string($0.id)]] },
        ]
    )

    static func nanos(_ timestamp: Timestamp?) -> Int64 {
        guard let timestamp else { return 0 }
        return timestamp.seconds &* 1_000_000_000 &+ Int64(timestamp.nanos)
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
