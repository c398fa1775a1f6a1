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
            RecordIndex(id: 1, name: "code", unique: true) { [[.string($0.code.lowercased())]] },
        ]
    )
}
