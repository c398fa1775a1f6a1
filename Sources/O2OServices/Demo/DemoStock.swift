public import Logging
import O2OMessages
public import O2OStorage

/// Stock for the demo shop: every warehouse holds every SKU, each store about a third
/// of them, with reorder thresholds, so that availability, reservations and low-stock
/// alerts have something to show. Loaded through the ledger like any receipt.
public enum DemoStock {
    static let markerKey: [UInt8] = [0x30] + Array("demo-stock/v1".utf8)

    /// Loads the stock once the demo catalog is there; does nothing when it was loaded
    /// before or the store holds no demo catalog. Returns the stock levels written.
    @discardableResult
    public static func load(into store: RecordStore, logger: Logger) async throws -> Int {
        if try await store.engine.get(markerKey) != nil { return 0 }
        guard try await store.engine.get(DemoData.markerKey) != nil else { return 0 }
        var random = DemoRandom(seed: 20_261_126)
        let (locations, skus) = try await store.read { reader -> ([StockLocation], [String]) in
            var locations: [StockLocation] = []
            var skus: [String] = []
            var token: String?
            repeat {
                let page = try await reader.page(
                    InventoryTables.locations,
                    RecordQuery(pageSize: 500, pageToken: token)
                )
                locations += page.records
                token = page.nextPageToken
            } while !(token ?? "").isEmpty
            token = nil
            repeat {
                let page = try await reader.page(CatalogTables.skus, RecordQuery(pageSize: 500, pageToken: token))
                skus += page.records.map(\.id)
                token = page.nextPageToken
            } while !(token ?? "").isEmpty
            return (locations, skus)
        }
        // (location, sku, quantity, threshold)
        var plan: [(String, String, Int64, Int64)] = []
        for location in locations.sorted(by: { $0.code < $1.code }) {
            let warehouse = location.kind == .warehouse
            for sku in skus where warehouse || random.next(below: 3) == 0 {
                let quantity = Int64(warehouse ? 50 + random.next(below: 451) : random.next(below: 41))
                let threshold: Int64 = warehouse ? 40 : 5
                plan.append((location.id, sku, quantity, threshold))
            }
        }
        let actor = ChangeActor(principal: "system", role: "system", onBehalfOf: "demo data")
        let reference = StockReference(kind: .external, id: "demo")
        var written = 0
        for start in stride(from: 0, to: plan.count, by: 500) {
            let batch = plan[start..<min(start + 500, plan.count)]
            try await store.transaction { transaction in
                let now = Clock.now()
                let book = StockBook(transaction: transaction, actor: actor, requestID: "", now: now)
                for (location, sku, quantity, threshold) in batch {
                    var level: StockLevel
                    if quantity > 0 {
                        level = try await book.apply(
                            StockChange(
                                skuID: sku,
                                locationID: location,
                                reason: .receive,
                                onHandDelta: quantity,
                                reference: reference,
                                note: "demo stock"
                            )
                        ).level
                    } else {
                        level = StockLevel(skuID: sku, locationID: location, createdAt: now, updatedAt: now)
                    }
                    // The threshold comes after the receipt, so only real shortages alert.
                    let before = level
                    level.reorderThreshold = threshold
                    level.belowReorderThreshold = level.available < threshold
                    level.version += 1
                    try await transaction.save(InventoryTables.levels, level)
                    _ = try await StockBook.recordAlert(
                        transaction,
                        before: before,
                        after: level,
                        ledgerEntryID: "",
                        now: now
                    )
                }
            }
            written += batch.count
        }
        try await store.transaction { transaction in transaction.putRaw(markerKey, Array("loaded".utf8)) }
        logger.info(
            "demo stock loaded",
            metadata: ["stock_levels": "\(written)", "locations": "\(locations.count)", "skus": "\(skus.count)"]
        )
        return written
    }
}
