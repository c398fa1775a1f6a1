import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

/// What the inventory tests do again and again, over the shared harness.
extension ServiceHarness {
    var inventory: InventoryServiceClient { client.inventory }
    var admin: InventoryAdminServiceClient { client.inventoryAdmin }

    /// A location at the given point.
    func location(
        _ code: String,
        latitude: Double = 31.23,
        longitude: Double = 121.47,
        kind: StockLocationKind = .warehouse,
        ships: Bool = true,
        pickup: Bool = false,
        radius: Int64 = 0
    ) async throws -> StockLocation {
        try await inventory.createStockLocation(
            CreateStockLocationRequest(
                requestID: rid(),
                stockLocation: StockLocation(
                    code: code,
                    name: "Location \(code)",
                    kind: kind,
                    coordinates: GeoPoint(latitude: latitude, longitude: longitude),
                    ships: ships,
                    offersPickup: pickup,
                    deliveryRadiusMeters: radius
                )
            )
        )
    }

    /// Catalog SKUs (one product holding them).
    func skus(_ count: Int) async throws -> [String] {
        let category = try await client.catalog.createCategory(
            CreateCategoryRequest(requestID: rid(), name: "C-\(UUID().uuidString.prefix(8))")
        )
        let seed = Int.random(in: 1...1_000_000)
        let product = try await client.catalog.createProduct(
            CreateProductRequest(
                requestID: rid(),
                product: ProductSpec(
                    productCode: "P-\(seed)",
                    name: "Product \(seed)",
                    categoryID: category.id,
                    skus: (0..<count).map {
                        SkuSpec(
                            skuCode: "S-\(seed)-\($0)",
                            attributes: [SkuAttribute(name: "n", value: "\($0)")],
                            price: Money(minorUnits: 100, currency: "CNY")
                        )
                    }
                )
            )
        )
        return product.skus.map(\.id)
    }

    /// Puts units on hand (as returned goods) at a location.
    func stock(_ sku: String, at location: String, _ quantity: Int64) async throws {
        _ = try await inventory.adjustStock(
            AdjustStockRequest(
                requestID: rid(),
                locationID: location,
                reason: .return,
                lines: [StockAdjustmentLine(skuID: sku, quantityDelta: quantity)]
            )
        )
    }

    func level(_ sku: String, at location: String) async throws -> StockLevel {
        try await inventory.getStockLevel(GetStockLevelRequest(skuID: sku, locationID: location))
    }

    /// Asserts that every level agrees with its ledger and the active reservations.
    func expectLedgerConsistent(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let check = try await admin.checkStockLedger(CheckStockLedgerRequest())
        #expect(check.discrepancyCount == 0, "\(check.discrepancies)", sourceLocation: sourceLocation)
    }
}
