import Foundation
import O2OTestSupport
import Testing

/// The `o2o` binary run one command at a time against a real server, as scripts run it.
@Suite("o2o one-shot commands")
struct ShellCommandLineTests {
    @Test("discovery, calls in every input form, tables, CSV, ops commands and streams against the demo shop")
    func demoShop() async throws {
        try await withServer(demo: true) { address in
            // Services and methods come from the server's reflection.
            let services = try await shell(address, ["--json", "ls"])
            #expect(services.status == 0, "\(services.error)")
            let serviceNames = try (object(services.output)["services"] as? [[String: Any]] ?? []).compactMap {
                $0["service"] as? String
            }
            #expect(serviceNames.contains("o2o.catalog.v1.CatalogService"))
            #expect(serviceNames.contains("o2o.inventory.v1.InventoryService"))
            // Every service of the schema is served, statistics last.
            let statistics = try (object(services.output)["services"] as? [[String: Any]] ?? []).first {
                $0["service"] as? String == "o2o.stats.v1.StatisticsService"
            }
            #expect(statistics?["served"] as? String == "all")
            let figures = try await shell(address, ["call", "GetSalesStatistics", "{}"])
            #expect(figures.error.contains("INVALID_ARGUMENT: days"), "statistics are served: \(figures.error)")
            let checkout = try await shell(address, ["call", "CreateOrder", "{}"])
            #expect(checkout.error.contains("INVALID_ARGUMENT: request_id"), "checkout is served: \(checkout.error)")
            let ticket = try await shell(address, ["call", "CreateTicket", "{}"])
            #expect(ticket.error.contains("INVALID_ARGUMENT: request_id"), "care is served: \(ticket.error)")
            let risk = try await shell(address, ["call", "ListOrderRiskRules", "{}"])
            #expect(risk.status == 0, "risk rules are served: \(risk.error)")
            let settlement = try await shell(address, ["call", "ListSettlementFeeRates", "{}"])
            #expect(settlement.status == 0, "settlement is served: \(settlement.error)")
            let methods = try await shell(address, ["ls", "InventoryService", "--json"])
            let kinds = Dictionary(
                uniqueKeysWithValues: try (object(methods.output)["methods"] as? [[String: Any]] ?? []).map {
                    ($0["method"] as? String ?? "", $0["kind"] as? String ?? "")
                }
            )
            #expect(kinds["ReserveStock"] == "unary")
            #expect(kinds["WatchStockAlerts"] == "server-streaming")

            // describe: the request's fields and an example request that is valid input.
            let described = try object(try await shell(address, ["--json", "describe", "GetProduct"]).output)
            #expect(described["requestType"] as? String == "o2o.catalog.v1.GetProductRequest")
            #expect((described["fields"] as? [[String: Any]])?.first?["name"] as? String == "productId")
            #expect((described["example"] as? [String: Any])?["productId"] != nil)
            let enumeration = try object(
                try await shell(address, ["--json", "describe", "o2o.catalog.v1.ProductStatus"]).output
            )
            #expect(
                (enumeration["values"] as? [[String: Any]] ?? []).contains {
                    $0["name"] as? String == "PRODUCT_STATUS_ON_SHELF"
                }
            )
            let text = try await shell(address, ["describe", "SkuSpec"])
            #expect(text.output.contains("skuCode") && text.output.contains("example:"))

            // A call by short name with inline JSON; the same call from a file and from standard input.
            let search = try await shell(
                address,
                ["--json", "call", "SearchProducts", #"{"keyword":"牛奶","page":{"pageSize":3}}"#]
            )
            #expect(search.status == 0, "\(search.error)")
            let hits = try object(search.output)["hits"] as? [[String: Any]] ?? []
            #expect(hits.count == 3)
            let product = try #require(hits.first?["product"] as? [String: Any])
            let productID = try #require(product["id"] as? String)
            let request = #"{"productId":"\#(productID)"}"#
            let inline = try await shell(address, ["call", "CatalogService/GetProduct", request, "--json"])
            #expect(inline.status == 0, "\(inline.error)")
            #expect(try object(inline.output)["name"] as? String == product["name"] as? String)
            let file = temporaryPath("request.json")
            try request.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let fromFile = try await shell(
                address,
                ["--json", "call", "o2o.catalog.v1.CatalogService.GetProduct", "@" + file]
            )
            let fromInput = try await shell(address, ["--json", "call", "getproduct", "-"], input: request)
            #expect(fromFile.output == inline.output)
            #expect(fromInput.output == inline.output)
            // Without --json a single message is pretty JSON.
            let pretty = try await shell(address, ["call", "GetProduct", request])
            #expect(pretty.output.hasPrefix("{\n  \"id\": \"\(productID)\""))

            // Lists print as tables: whole identifiers off a terminal, amounts with their currency.
            let table = try await shell(
                address,
                ["call", "SearchProducts", #"{"keyword":"牛奶","page":{"pageSize":3}}"#]
            )
            let lines = table.output.split(separator: "\n")
            #expect(lines.first?.hasPrefix("product id") == true)
            #expect(lines.dropFirst().first?.hasPrefix(productID) == true)
            #expect(lines.contains { $0 == "3 rows" })
            #expect(table.output.contains(" CNY"))
            // Fitted to COLUMNS: no line wider, hidden columns named.
            let narrow = try await shell(
                address,
                ["call", "SearchProducts", #"{"keyword":"牛奶","page":{"pageSize":3}}"#],
                environment: ["COLUMNS": "80"]
            )
            let narrowLines: [Substring] = narrow.output.split(separator: "\n")
            #expect(narrowLines.prefix(4).allSatisfy { $0.count <= 80 })
            #expect(narrow.output.contains("more columns"))

            // CSV, and contact data masked unless --show-pii.
            let csv = try await shell(
                address,
                ["call", "ListStockLocations", #"{"page":{"pageSize":2}}"#, "--format", "csv"]
            )
            let rows = csv.output.split(separator: "\n")
            #expect(rows.count == 3)
            #expect(rows.first?.hasPrefix("id,code,name,") == true)
            let masked = try object(
                try await shell(address, ["--json", "call", "ListStockLocations", #"{"page":{"pageSize":1}}"#]).output
            )
            let phone = try #require(((masked["stockLocations"] as? [[String: Any]])?.first?["phone"]) as? String)
            #expect(phone.contains("***"))
            let shown = try object(
                try await shell(
                    address,
                    ["--json", "--show-pii", "call", "ListStockLocations", #"{"page":{"pageSize":1}}"#]
                ).output
            )
            let fullPhone = try #require(((shown["stockLocations"] as? [[String: Any]])?.first?["phone"]) as? String)
            #expect(!fullPhone.contains("*") && fullPhone.count == phone.count)

            // A server stream: one JSON object per message; a client stream from JSON lines.
            let expand = try await shell(address, ["--json", "call", "EchoExpand", #"{"count":3,"payloadSize":2}"#])
            let messages = try objects(expand.output)
            #expect(messages.count == 3)
            #expect(messages.last?["sequence"] as? String == "2")
            let collect = try await shell(
                address,
                ["--json", "call", "EchoCollect", "-"],
                input: "{\"payload\":\"YQ==\"}\n{\"payload\":\"YmM=\"}\n\n{}\n"
            )
            #expect(try object(collect.output)["count"] as? String == "3")
            #expect(try object(collect.output)["totalBytes"] as? String == "3")
            let categories = try object(
                try await shell(address, ["--json", "call", "ListCategoryChildren", "{}"]).output
            )
            let categoryID = try #require((categories["categories"] as? [[String: Any]])?.first?["id"] as? String)
            let rowsFile = temporaryPath("rows.jsonl")
            try """
            {"requestId":"shell-import-1","dryRun":true,"row":{"rowNumber":"1","product":{"name":"测试商品","categoryId":"\(categoryID)","skus":[{"skuCode":"SHELL-T-1","price":{"minorUnits":"990","currency":"CNY"}}]}}}
            {"row":{"rowNumber":"2","product":{"name":"","categoryId":"\(categoryID)","skus":[{"skuCode":"SHELL-T-2","price":{"minorUnits":"990","currency":"CNY"}}]}}}

            """.write(toFile: rowsFile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: rowsFile) }
            let imported = try await shell(address, ["--json", "call", "ImportProducts", "@" + rowsFile])
            #expect(imported.status == 0, "\(imported.error)")
            let report = try object(imported.output)
            #expect(report["receivedRows"] as? String == "2")
            #expect(report["failedRows"] as? String == "1")
            #expect((report["errors"] as? [[String: Any]])?.first?["field"] as? String == "product.name")

            // Metadata: -H before or after the command.
            let withHeader = try await shell(
                address,
                ["-H", "x-o2o-note=from the shell", "--json", "call", "GetProduct", request]
            )
            #expect(withHeader.status == 0, "\(withHeader.error)")

            // Ops commands.
            let health = try object(try await shell(address, ["--json", "health"]).output)
            #expect((health["health"] as? [[String: Any]] ?? []).allSatisfy { $0["status"] as? String == "SERVING" })
            let info = try object(try await shell(address, ["--json", "info"]).output)
            #expect(info["version"] as? String == "0.1.0")
            #expect(info["store"] as? String == "memory")
            let ping = try objects(try await shell(address, ["--json", "ping", "--count", "5", "--latency"]).output)
            #expect(ping.count == 1)
            #expect(ping.first?["count"] as? Int == 5)
            let minimum = try #require(ping.first?["minMs"] as? Double)
            let maximum = try #require(ping.first?["maxMs"] as? Double)
            #expect(minimum > 0 && minimum <= maximum)
            let stats = try object(try await shell(address, ["--json", "stats", "GetProduct"]).output)
            let getProduct = try #require(
                (stats["methods"] as? [[String: Any]])?.first { $0["method"] as? String == "CatalogService/GetProduct" }
            )
            #expect(getProduct["calls"] as? Int ?? 0 >= 5)
            #expect(getProduct["p99Micros"] as? Int ?? 0 > 0)
            // The dashboard: plain text off a terminal, one JSON object with --json.
            let board = try await shell(address, ["dashboard"])
            #expect(board.status == 0, "\(board.error)")
            for part in [
                "orders paid", "gross sales, last 14 days", "top products, last 7 days", "tickets", "low stock",
            ] {
                #expect(board.output.contains(part), "\(part): \(board.output)")
            }
            #expect(!board.output.contains("\u{1B}"), "no terminal codes in a pipe")
            let boardJSON = try object(try await shell(address, ["dashboard", "--json"]).output)
            #expect((boardJSON["days"] as? [Any])?.count == 14)
            #expect((boardJSON["today"] as? [String: Any])?["ordersPaid"] as? Int ?? 0 > 0)
            #expect((boardJSON["topProducts"] as? [Any])?.count == 5)
            #expect((boardJSON["tickets"] as? [String: Any])?["open"] as? Int ?? 0 > 0)
            let version = try await ChildProcess.run("o2o", ["--version"])
            #expect(version.output == "0.1.0\n")
        }
    }

    @Test("bad JSON, unknown methods and fields, server errors and an unreachable server: message and exit code")
    func failures() async throws {
        // Handlers on the global executor here, so that setting is exercised end to end too.
        try await withServer(arguments: ["--handlers", "global"]) { address in
            let badJSON = try await shell(address, ["call", "GetProduct", #"{"productId":"#])
            #expect(badJSON.status == 2)
            #expect(badJSON.error.contains("not JSON") && badJSON.error.contains("line 1, column"))
            #expect(badJSON.output.isEmpty)

            let unknownMethod = try await shell(address, ["call", "GetProdukt", "{}"])
            #expect(unknownMethod.status == 2)
            #expect(unknownMethod.error.contains("unknown method 'GetProdukt'"))

            let unknownField = try await shell(address, ["call", "GetProduct", #"{"productID":"x"}"#])
            #expect(unknownField.status == 2)
            #expect(
                unknownField.error.contains(#"unknown field "productID""#) && unknownField.error.contains("productId")
            )

            let wrongType = try await shell(address, ["call", "EchoExpand", #"{"count":"many"}"#])
            #expect(wrongType.status == 2)
            #expect(wrongType.error.contains("count"))

            let notFound = try await shell(address, ["call", "GetProduct", #"{"productId":"prd_missing"}"#])
            #expect(notFound.status == 64 + 5)
            #expect(notFound.error.hasPrefix("o2o: NOT_FOUND: "))

            let invalid = try await shell(address, ["call", "CreateCategory", #"{"name":""}"#])
            #expect(invalid.status == 64 + 3)
            #expect(invalid.error.contains("INVALID_ARGUMENT: name: "))

            let unknownCommand = try await shell(address, ["frobnicate"])
            #expect(unknownCommand.status == 2)
            #expect(unknownCommand.error.contains("unknown command 'frobnicate'"))
            let badOption = try await shell(address, ["--format", "xml", "ls"])
            #expect(badOption.status == 2)
            #expect(badOption.error.contains("--format"))
            let badHeader = try await shell(address, ["call", "GetProduct", "{}", "-H", "nothing"])
            #expect(badHeader.status == 2)
            let missingFile = try await shell(address, ["call", "GetProduct", "@/nonexistent/request.json"])
            #expect(missingFile.status == 1)
            #expect(missingFile.error.contains("/nonexistent/request.json"))
        }
        // Nothing listens on port 1 of the loopback address.
        let unreachable = try await shell("127.0.0.1:1", ["ls"])
        #expect(unreachable.status == 64 + 14)
        #expect(unreachable.error.contains("UNAVAILABLE") && unreachable.error.contains("127.0.0.1:1"))
        #expect(unreachable.error.split(separator: "\n").count == 1)
        let badAddress = try await shell("127.0.0.1:notaport", ["ls"])
        #expect(badAddress.status == 2)
        #expect(badAddress.error.contains("--server"))
    }

    @Test("tokens: from --token or O2O_TOKEN; none is UNAUTHENTICATED; personal data unmasked for admins only")
    func tokens() async throws {
        let tokens = temporaryPath("tokens")
        defer { try? FileManager.default.removeItem(atPath: tokens) }
        try "admin-secret-0123456789 admin ops\nreader-secret-0123456789 readonly dashboards\n".write(
            toFile: tokens,
            atomically: true,
            encoding: .utf8
        )
        try await withServer(arguments: ["--token-file", tokens]) { address in
            let anonymous = try await shell(address, ["ls"])
            #expect(anonymous.status == 64 + 16)
            #expect(anonymous.error.contains("UNAUTHENTICATED"))
            let reader = try await shell(
                address,
                ["--json", "call", "ListStockLocations", "{}"],
                environment: ["O2O_TOKEN": "reader-secret-0123456789"]
            )
            #expect(reader.status == 0, "\(reader.error)")
            let unmasked = try await shell(
                address,
                ["--token", "reader-secret-0123456789", "--show-pii", "call", "ListStockLocations", "{}"]
            )
            #expect(unmasked.status == 64 + 7)
            #expect(unmasked.error.contains("--show-pii") && unmasked.error.contains("admin"))
            #expect(unmasked.output.isEmpty)
            let admin = try await shell(
                address,
                ["--token", "admin-secret-0123456789", "--show-pii", "--json", "call", "ListStockLocations", "{}"]
            )
            #expect(admin.status == 0, "\(admin.error)")
        }
    }

    @Test("a Unix domain socket instead of TCP")
    func unixSocket() async throws {
        let socket = temporaryPath("sock")
        try await withServer(arguments: ["--unix-socket", socket]) { _ in
            let ping = try await ChildProcess.run("o2o", ["--unix-socket", socket, "--json", "ping", "--count", "2"])
            #expect(ping.status == 0, "\(ping.error)")
            #expect(try objects(ping.output).last?["count"] as? Int == 2)
        }
        let gone = try await ChildProcess.run("o2o", ["--unix-socket", socket, "health"])
        #expect(gone.status == 64 + 14)
        #expect(gone.error.contains(socket))
    }
}
