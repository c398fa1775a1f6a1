public import Logging
import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// Stock for the demo shop: every warehouse holds every SKU, each store about a third
/// of them, with reorder thresholds, so that availability, reservations and low-stock
/// alerts have something to show. It arrives as a shop's stock does: purchase orders
/// to each product's supplier, submitted and received through the inventory service,
/// so every unit is in the ledger with the order it came on.
public enum DemoStock {
    static let markerKey: [UInt8] = [0x30] + Array("demo-stock/v1".utf8)

    /// Loads the stock once the demo catalog is there; does nothing when it was loaded
    /// before or the store holds no demo catalog. Returns the stock levels written.
    /// - Parameter services: The catalog's and the inventory's services.
    @discardableResult
    public static func load(
        into store: ServiceStore,
        services: [any RPCService],
        currency: String = "CNY",
        logger: Logger
    ) async throws -> Int {
        if try await store.records.engine.get(markerKey) != nil { return 0 }
        guard try await store.records.engine.get(DemoData.markerKey) != nil else { return 0 }
        let shop = DemoShop(services: services, logger: logger)
        var random = DemoRandom(seed: 20_261_126)
        let locations = try await shop.allLocations()
        let skus = try await shop.allSkus()

        struct Planned {
            var location: String
            var sku: Sku
            var supplier: String
            var quantity: Int64
            var threshold: Int64
        }
        var plan: [Planned] = []
        for location in locations.sorted(by: { $0.code < $1.code }) {
            let warehouse = location.kind == .warehouse
            for (sku, supplier) in skus where warehouse || random.next(below: 3) == 0 {
                let quantity = Int64(warehouse ? 50 + random.next(below: 451) : random.next(below: 41))
                plan.append(
                    Planned(
                        location: location.id,
                        sku: sku,
                        supplier: supplier,
                        quantity: quantity,
                        threshold: warehouse ? 40 : 5
                    )
                )
            }
        }

        // One purchase order per location and supplier (at most 200 lines each), at 60%
        // of the shelf price.
        var orders = 0
        let byOrder = Dictionary(grouping: plan.filter { $0.quantity > 0 }) { [$0.location, $0.supplier] }
        for key in byOrder.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let lines = byOrder[key]!
            for start in stride(from: 0, to: lines.count, by: 200) {
                let chunk = lines[start..<min(start + 200, lines.count)]
                orders += 1
                try await shop.purchase(
                    supplier: key[1],
                    location: key[0],
                    lines: chunk.map { planned in
                        PurchaseOrderLineDraft(
                            skuID: planned.sku.id,
                            orderedQuantity: planned.quantity,
                            unitCost: Money(
                                minorUnits: (planned.sku.price?.minorUnits ?? 0) * 6 / 10,
                                currency: currency
                            )
                        )
                    },
                    number: orders
                )
            }
        }

        // The thresholds come after the receipts, so only real shortages alert.
        for start in stride(from: 0, to: plan.count, by: 500) {
            let chunk = plan[start..<min(start + 500, plan.count)]
            try await shop.thresholds(
                chunk.map {
                    ReorderThresholdSetting(skuID: $0.sku.id, locationID: $0.location, reorderThreshold: $0.threshold)
                },
                number: start / 500 + 1
            )
        }
        try await store.transaction { $0.putRaw(markerKey, Array("loaded".utf8)) }
        logger.info(
            "demo stock loaded",
            metadata: [
                "stock_levels": "\(plan.count)", "purchase_orders": "\(orders)", "locations": "\(locations.count)",
                "skus": "\(skus.count)",
            ]
        )
        return plan.count
    }
}

extension DemoShop {
    /// Every location, by code.
    func allLocations() async throws -> [StockLocation] {
        var all: [StockLocation] = []
        var token = ""
        repeat {
            let page = try await inventory.listStockLocations(
                ListStockLocationsRequest(page: PageRequest(pageSize: 500, pageToken: token))
            )
            all += page.stockLocations
            token = page.nextPageToken
        } while !token.isEmpty
        return all
    }

    /// Every SKU with its product's supplier, in SKU id order.
    func allSkus() async throws -> [(Sku, supplier: String)] {
        var all: [(Sku, supplier: String)] = []
        var token = ""
        repeat {
            let page = try await catalog.searchProducts(
                SearchProductsRequest(page: PageRequest(pageSize: 500, pageToken: token))
            )
            for hit in page.hits {
                guard let product = hit.product else { continue }
                all += product.skus.map { ($0, product.supplierID) }
            }
            token = page.nextPageToken
        } while !token.isEmpty
        return all.sorted { $0.0.id < $1.0.id }
    }

    /// A purchase order, submitted and received in full.
    func purchase(supplier: String, location: String, lines: [PurchaseOrderLineDraft], number: Int) async throws {
        let order = try await inventory.createPurchaseOrder(
            CreatePurchaseOrderRequest(
                requestID: "demo-po-\(number)",
                supplierID: supplier,
                locationID: location,
                lines: lines,
                supplierReference: "DEMO-\(number)",
                note: "demo stock"
            )
        )
        _ = try await inventory.submitPurchaseOrder(
            SubmitPurchaseOrderRequest(requestID: "demo-po-\(number)-submit", id: order.id)
        )
        _ = try await inventory.receivePurchaseOrder(
            ReceivePurchaseOrderRequest(
                requestID: "demo-po-\(number)-receive",
                purchaseOrderID: order.id,
                lines: lines.map { PurchaseOrderReceiptLine(skuID: $0.skuID, quantity: $0.orderedQuantity) },
                note: "demo stock"
            )
        )
    }

    func thresholds(_ settings: [ReorderThresholdSetting], number: Int) async throws {
        _ = try await inventory.setReorderThresholds(
            SetReorderThresholdsRequest(requestID: "demo-thresholds-\(number)", settings: settings)
        )
    }
}
