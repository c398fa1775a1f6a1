import Foundation
import Logging
import O2OClient
import O2OServices
import O2OStorage
import O2OTestSupport
import Synchronization
import Testing

enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case rocksdb
    var testDescription: String { rawValue }
}

let quietLogger: Logger = {
    var logger = Logger(label: "o2o.inventory.test")
    logger.logLevel = ProcessInfo.processInfo.environment["O2O_TEST_LOG"] == nil ? .critical : .debug
    return logger
}()

/// Wall-clock time that tests can move forward, to expire reservations.
final class TestClock: Sendable {
    private let offset = Mutex<Int64>(0)

    func advance(seconds: Int64) { offset.withLock { $0 += seconds } }

    func now() -> Timestamp {
        var time = Clock.now()
        time.seconds += offset.withLock { $0 }
        return time
    }
}

/// A real server on an ephemeral loopback port with the catalog and the inventory over
/// the chosen store, and a real client.
struct InventoryHarness: Sendable {
    let client: O2OClient
    let store: RecordStore
    let clock: TestClock
    let port: Int

    var inventory: InventoryServiceClient { client.inventory }
    var admin: InventoryAdminServiceClient { client.inventoryAdmin }

    static func run<Result: Sendable>(
        _ kind: StoreKind,
        _ body: (InventoryHarness) async throws -> Result
    ) async throws -> Result {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("o2o-inventory-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let engine: any StorageEngine =
            kind == .memory ? MemoryEngine() : try RocksDBEngine(path: path, syncPolicy: .none, threads: 4)
        let store = RecordStore(engine: engine)
        let clock = TestClock()
        let catalog = try await CatalogServiceProvider.open(store: store, logger: quietLogger)
        let inventory = InventoryServiceProvider(store: store, logger: quietLogger, now: { clock.now() })
        let configuration = O2OServerConfiguration(
            listeners: [.tcp(host: "127.0.0.1", port: 0)],
            gracePeriod: .seconds(1)
        )
        do {
            let result = try await withO2OServer(
                configuration: configuration,
                services: [catalog, inventory, InventoryAdminServiceProvider(inventory: inventory)],
                logger: quietLogger
            ) { server in
                guard case .tcp(_, let port) = try await server.listeningAddresses()[0] else { fatalError() }
                return try await withO2OClient(port: port) { client in
                    try await body(InventoryHarness(client: client, store: store, clock: clock, port: port))
                }
            }
            try await engine.close()
            return result
        } catch {
            try? await engine.close()
            throw error
        }
    }

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
