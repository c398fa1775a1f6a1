import Foundation
import O2OClient
import O2OTestSupport
import Testing

/// o2o-server as an operator meets it: flags, environment, errors, signals, restarts.
@Suite("o2o-server executable", .serialized)
struct ServerBinaryTests {
    @Test("--help explains every flag and its environment variable, and exits 0")
    func help() async throws {
        let result = try await ChildProcess.run("o2o-server", ["--help"])
        #expect(result.status == 0)
        for text in [
            "--port", "--host", "--unix-socket", "--data", "--store", "--sync", "--tls-cert", "--tls-key",
            "--token-file", "--log-level", "--demo-data", "--handlers", "O2O_PORT", "O2O_DATA", "O2O_STORE",
            "O2O_HANDLERS", "127.0.0.1:7070",
        ] {
            #expect(result.output.contains(text), "help mentions \(text)")
        }
        #expect(try await ChildProcess.run("o2o-server", ["--version"]).output.hasPrefix("0."))
    }

    @Test(
        "bad settings: one line that names the flag, a non-zero exit, nothing created",
        arguments: [
            (["--bogus"], [:], "--bogus"),
            (["--store", "sqlite"], [:], "--store"),
            (["--port", "70000"], [:], "--port"),
            (["--sync", "sometimes"], [:], "--sync"),
            (["--log-level", "loud"], [:], "--log-level"),
            (["--host", "0.0.0.0"], [:], "--token-file"),
            (["--tls-cert", "/nonexistent.pem"], [:], "--tls-key"),
            (["--token-file", "/nonexistent-tokens"], [:], "--token-file"),
            ([], ["O2O_PORT": "seventy"], "O2O_PORT"),
            ([], ["O2O_STORE": "paper"], "O2O_STORE"),
            (["--handlers", "fast"], [:], "--handlers"),
            ([], ["O2O_HANDLERS": "threads"], "O2O_HANDLERS"),
        ] as [([String], [String: String], String)]
    )
    func badSettings(arguments: [String], environment: [String: String], names: String) async throws {
        let data = temporaryPath("bad-flags")
        defer { try? FileManager.default.removeItem(atPath: data) }
        var environment = environment
        environment["O2O_DATA"] = data
        environment["O2O_PORT"] = environment["O2O_PORT"] ?? "0"
        let result = try await ChildProcess.run("o2o-server", arguments, environment: environment)
        #expect(result.status != 0)
        let lines = result.error.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(result.error)")
        #expect(
            lines.first?.hasPrefix("o2o-server: ") == true && lines.first?.contains(names) == true,
            "\(result.error)"
        )
        #expect(!FileManager.default.fileExists(atPath: data), "a refused start creates no data directory")
        if arguments == ["--bogus"] { #expect(result.status == 64, "usage errors exit 64") }
    }

    @Test("an unusable data directory is refused with the reason, and left as it was")
    func unusableDataDirectory() async throws {
        let directory = temporaryPath("not-data")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: directory + "/notes.txt"))
        let notADatabase = try await ChildProcess.run("o2o-server", ["--data", directory, "--port", "0"])
        #expect(notADatabase.status != 0)
        #expect(
            notADatabase.error.split(separator: "\n").count == 1
                && notADatabase.error.contains("not an O2O data directory")
        )
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["notes.txt"])

        let aFile = try await ChildProcess.run("o2o-server", ["--data", directory + "/notes.txt", "--port", "0"])
        #expect(aFile.status != 0 && aFile.error.contains("is not a directory"))

        // A second server on a data directory in use is told so.
        let data = temporaryPath("locked")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let first = try ChildProcess("o2o-server", ["--data", data, "--port", "0"])
        #expect(try await first.listeningPort() != nil)
        let second = try await ChildProcess.run("o2o-server", ["--data", data, "--port", "0"])
        #expect(second.status != 0 && second.error.contains("in use by another process"), "\(second.error)")
        #expect(try await first.stop() == 0)
    }

    @Test("settings from the environment; SIGINT drains and exits 0")
    func environmentSettings() async throws {
        let server = try ChildProcess(
            "o2o-server",
            [],
            environment: ["O2O_STORE": "memory", "O2O_PORT": "0", "O2O_CURRENCY": "EUR"]
        )
        let port = try #require(try await server.listeningPort())
        let startLines = server.standardError.split(separator: "\n").filter { $0.contains("listening on") }
        #expect(
            startLines.count == 1 && startLines[0].contains("store memory") && startLines[0].contains("loopback only")
        )
        try await withO2OClient(port: port) { client in
            let category = try await client.catalog.createCategory(
                CreateCategoryRequest(requestID: rid(), name: "Obst")
            )
            let product = try await client.catalog.createProduct(
                CreateProductRequest(
                    requestID: rid(),
                    product: ProductSpec(
                        name: "Apfel",
                        categoryID: category.id,
                        skus: [SkuSpec(skuCode: "APFEL-1", price: Money(minorUnits: 99, currency: "EUR"))]
                    )
                )
            )
            #expect(product.skus[0].price?.currency == "EUR")
            await expectStatus(.invalidArgument) {
                _ = try await client.catalog.createProduct(
                    CreateProductRequest(
                        requestID: rid(),
                        product: ProductSpec(
                            name: "Birne",
                            categoryID: category.id,
                            skus: [SkuSpec(skuCode: "BIRNE-1", price: cny(99))]
                        )
                    )
                )
            }
        }
        #expect(try await server.stop(signal: SIGINT) == 0)
        #expect(server.standardError.contains("o2o-server stopped"))
    }

    @Test("restart on the same data directory: demo data, changes, search and request ids are all still there")
    func restartKeepsEverything() async throws {
        let data = temporaryPath("restart")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let requestID = "restart-create-1"
        let request = { (category: String) in
            CreateProductRequest(
                requestID: requestID,
                product: productSpec("重启测试 Restart Probe", category: category, seed: 4242, tags: ["persisted"]),
                status: .onShelf
            )
        }

        let first = try ChildProcess("o2o-server", ["--data", data, "--port", "0", "--demo-data", "--sync", "always"])
        let firstPort = try #require(try await first.listeningPort())
        let (created, categoryID) = try await withO2OClient(port: firstPort) { client in
            let category = try await client.catalog.createCategory(
                CreateCategoryRequest(requestID: rid(), name: "Restart")
            )
            return (try await client.catalog.createProduct(request(category.id)), category.id)
        }
        #expect(try await first.stop() == 0)

        let second = try ChildProcess("o2o-server", ["--data", data, "--port", "0", "--demo-data"])
        let secondPort = try #require(try await second.listeningPort())
        #expect(second.standardError.contains("demo data already loaded"))
        try await withO2OClient(port: secondPort) { client in
            #expect(try await client.catalog.getProduct(GetProductRequest(productID: created.id)) == created)
            let all = try await client.catalog.searchProducts(SearchProductsRequest())
            #expect(all.totalSize == 1001, "the search index is rebuilt from the store")
            let found = try await client.catalog.searchProducts(
                SearchProductsRequest(keyword: "restart probe", tags: ["persisted"])
            )
            #expect(found.hits.map(\.product?.id) == [created.id])
            let byBarcode = try await client.catalog.getSkuByBarcode(
                GetSkuByBarcodeRequest(barcode: created.skus[0].barcode)
            )
            #expect(byBarcode.id == created.skus[0].id)
            // The retry of the first creation still answers with the first result.
            #expect(try await client.catalog.createProduct(request(categoryID)) == created)
            #expect(try await client.catalog.getCategory(GetCategoryRequest(categoryID: categoryID)).productCount == 1)
            // The demo stock is there too, and agrees with its ledger.
            let demoSku = try #require(all.hits.first { $0.product?.id != created.id }?.product?.skus.first?.id)
            let summary = try await client.inventory.batchGetSkuStockSummaries(
                BatchGetSkuStockSummariesRequest(skuIDs: [demoSku])
            )
            #expect(summary.summaries[0].onHand > 0 && summary.summaries[0].locationsInStock >= 3)
            let warehouse = try #require(
                try await client.inventory.listStockLocations(ListStockLocationsRequest(kind: .warehouse))
                    .stockLocations.first
            )
            let check = try await client.inventoryAdmin.checkStockLedger(
                CheckStockLedgerRequest(locationID: warehouse.id)
            )
            #expect(check.checkedCount == 3000 && check.discrepancyCount == 0)
        }
        #expect(try await second.stop() == 0)
    }

    @Test("a token file: calls without a token are refused, read-only tokens cannot write")
    func tokenFile() async throws {
        let tokens = temporaryPath("tokens")
        defer { try? FileManager.default.removeItem(atPath: tokens) }
        try Data("# ops tokens\nadmin-secret-0123456789 admin ops\nreader-secret-0123456789 readonly dashboards\n".utf8)
            .write(to: URL(fileURLWithPath: tokens))
        let server = try ChildProcess("o2o-server", ["--store", "memory", "--port", "0", "--token-file", tokens])
        let port = try #require(try await server.listeningPort())
        #expect(!server.standardError.contains("open to every caller"))
        try await withO2OClient(port: port) { client in
            await expectStatus(.unauthenticated) {
                _ = try await client.catalog.searchProducts(SearchProductsRequest())
            }
        }
        try await withO2OClient(port: port, token: "wrong") { client in
            await expectStatus(.unauthenticated) {
                _ = try await client.catalog.searchProducts(SearchProductsRequest())
            }
        }
        try await withO2OClient(port: port, token: "reader-secret-0123456789") { client in
            _ = try await client.catalog.searchProducts(SearchProductsRequest())
            await expectStatus(.permissionDenied) {
                _ = try await client.catalog.createCategory(CreateCategoryRequest(requestID: rid(), name: "x"))
            }
        }
        try await withO2OClient(port: port, token: "admin-secret-0123456789") { client in
            _ = try await client.catalog.createCategory(CreateCategoryRequest(requestID: rid(), name: "x"))
        }
        #expect(try await server.stop() == 0)
    }
}
