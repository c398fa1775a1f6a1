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
            "O2O_HANDLERS", "127.0.0.1:7070", "--metrics-port", "O2O_METRICS_PORT", "--metrics-host",
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
            (["--metrics-port", "99999"], [:], "--metrics-port"),
            ([], ["O2O_METRICS_PORT": "metrics"], "O2O_METRICS_PORT"),
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

    @Test(
        "--metrics-port serves the Prometheus text format on loopback: every line parses, calls and errors per method, jobs, store and shop gauges"
    )
    func prometheusMetrics() async throws {
        let server = try ChildProcess("o2o-server", ["--store", "memory", "--port", "0", "--metrics-port", "0"])
        let port = try #require(try await server.listeningPort())
        let announced = server.standardError.firstMatch(of: /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/)
        let metricsPort = try #require(announced.flatMap { Int($0.1) }, "\(server.standardError)")
        try await withO2OClient(port: port) { client in
            await expectStatus(.notFound) {
                _ = try await client.catalog.getProduct(GetProductRequest(productID: "prd_missing"))
            }
            _ = try await client.catalog.listCategoryChildren(ListCategoryChildrenRequest())
        }
        // The jobs report once they ran a round: wait for the projector's first.
        var text = ""
        for _ in 0..<600 {
            text = try httpGet(port: metricsPort, path: "/metrics").body
            if text.contains(#"o2o_job_runs_total{job="statistics projector"}"#) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let comment = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/
        let sample =
            /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (\S+)$/
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") {
                #expect(line.wholeMatch(of: comment) != nil, "not a comment line: \(line)")
                continue
            }
            let match = try #require(line.wholeMatch(of: sample), "not a sample line: \(line)")
            let value = try #require(Double(match.3) ?? (match.3 == "+Inf" ? .infinity : nil), "value of \(line)")
            // The name and labels: everything before the value (label values may hold spaces).
            values[String(line[..<line.lastIndex(of: " ")!])] = value
        }
        #expect(values[#"o2o_rpc_calls_total{method="CatalogService/GetProduct"}"#] == 1)
        #expect(values[#"o2o_rpc_errors_total{method="CatalogService/GetProduct",code="NOT_FOUND"}"#] == 1)
        #expect(values[#"o2o_rpc_calls_total{method="CatalogService/ListCategoryChildren"}"#] == 1)
        #expect(values[#"o2o_rpc_duration_seconds_count{method="CatalogService/GetProduct"}"#] == 1)
        #expect(values[#"o2o_rpc_duration_seconds_bucket{method="CatalogService/GetProduct",le="+Inf"}"#] == 1)
        #expect((values[#"o2o_job_runs_total{job="statistics projector"}"#] ?? 0) >= 1)
        #expect(values[#"o2o_job_failures_total{job="statistics projector"}"#] == 0)
        #expect(values["o2o_connections"] != nil && values["o2o_uptime_seconds"] != nil)
        #expect(values[#"o2o_storage_keys{engine="memory"}"#] != nil)
        #expect(values[#"o2o_orders{status="PAID"}"#] == 0)
        #expect(values["o2o_tickets_open"] == 0 && values["o2o_sla_breaches"] == 0)
        #expect(values["o2o_low_stock_levels"] == 0)
        #expect(text.contains("# TYPE o2o_rpc_duration_seconds histogram"))
        #expect(try httpGet(port: metricsPort, path: "/elsewhere").status == 404)
        #expect(try await server.stop(signal: SIGINT) == 0)
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

/// One HTTP/1.1 GET to 127.0.0.1 over a plain socket; the status and the body.
func httpGet(port: Int, path: String) throws -> (status: Int, body: String) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw POSIXError(.EIO) }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = recv(descriptor, &buffer, buffer.count, 0)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    let text = String(decoding: bytes, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { return (0, "") }
    let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, String(text[split.upperBound...]))
}
