import Foundation
import Logging
import O2OClient
import O2OServices
import O2OStorage
import O2OTestSupport
import Testing

enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case rocksdb
    var testDescription: String { rawValue }
}

let quietLogger: Logger = {
    var logger = Logger(label: "o2o.catalog.test")
    logger.logLevel = ProcessInfo.processInfo.environment["O2O_TEST_LOG"] == nil ? .critical : .debug
    return logger
}()

/// A real server on an ephemeral loopback port, with the catalog over the chosen
/// store, and a real client.
struct CatalogHarness {
    let client: O2OClient
    /// The server's TCP port on 127.0.0.1.
    let port: Int
    let store: RecordStore
    let catalog: CatalogServiceProvider

    static func run<Result: Sendable>(
        _ kind: StoreKind,
        demo: Bool = false,
        directory: String? = nil,
        _ body: (CatalogHarness) async throws -> Result
    ) async throws -> Result {
        let path =
            directory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("o2o-catalog-\(UUID().uuidString)").path
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: path) } }
        let engine: any StorageEngine =
            kind == .memory ? MemoryEngine() : try RocksDBEngine(path: path, syncPolicy: .none, threads: 4)
        let store = RecordStore(engine: engine)
        let catalog = try await CatalogServiceProvider.open(store: store, logger: quietLogger)
        if demo { _ = try await DemoData.load(into: store, catalog: catalog, logger: quietLogger) }
        let configuration = O2OServerConfiguration(
            listeners: [.tcp(host: "127.0.0.1", port: 0)],
            gracePeriod: .seconds(1)
        )
        do {
            let result = try await withO2OServer(configuration: configuration, services: [catalog], logger: quietLogger)
            { server in
                guard case .tcp(_, let port) = try await server.listeningAddresses()[0] else { fatalError() }
                return try await withO2OClient(port: port) { client in
                    try await body(CatalogHarness(client: client, port: port, store: store, catalog: catalog))
                }
            }
            try await engine.close()
            return result
        } catch {
            try? await engine.close()
            throw error
        }
    }
}

func cny(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: "CNY") }

/// A product spec with `skus` SKUs whose codes and barcodes derive from `seed`.
func productSpec(
    _ name: String,
    category: String,
    seed: Int,
    skus: Int = 2,
    tags: [String] = [],
    price: Int64 = 1000
) -> ProductSpec {
    ProductSpec(
        productCode: "PC-\(seed)",
        name: name,
        nameEn: "English \(name)",
        brand: "Brand\(seed % 5)",
        description: "Description of \(name)",
        categoryID: category,
        tags: tags,
        skus: (0..<skus).map { index in
            SkuSpec(
                skuCode: "SKU-\(seed)-\(index)",
                attributes: [
                    SkuAttribute(
                        name: "size",
                        value: ["S", "M", "L", "XL"][index % 4] + (index >= 4 ? "\(index)" : "")
                    )
                ],
                price: cny(price + Int64(index) * 100),
                barcode: DemoDataEAN.make(seed * 10 + index)
            )
        }
    )
}

/// Valid EAN-13 codes for tests.
enum DemoDataEAN {
    static func make(_ serial: Int) -> String {
        var body = "6909999" + String(serial % 100_000)
        while body.count < 12 { body.insert("0", at: body.index(body.startIndex, offsetBy: 7)) }
        let digits = body.utf8.map { Int($0) - 48 }
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() { sum += digit * (offset % 2 == 0 ? 3 : 1) }
        return body + String((10 - sum % 10) % 10)
    }
}
