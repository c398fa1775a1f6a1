import ArgumentParser
import O2OMessages
import O2ONIOTransport
import O2ORPC

/// Empty unary calls: the cost of the RPC layer alone.
struct PingLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Empty unary calls (EchoService.Echo with no payload)."
    )

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let workload = Workload(name: "ping") { _, _ in
            PreparedWorkload(
                call: { channel, _, _ in
                    try await EchoServiceClient(transport: channel).echo(EchoMessage()).payload.isEmpty
                },
                bytesPerCall: 0
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

/// Unary echo of SIZE bytes: the shape the baseline peers measure.
struct EchoLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Unary echo calls of SIZE payload bytes (the baseline peers' shape).",
        discussion:
            "The payload is text-like (words and numbers), so --compression on shows what zstd does to real messages."
    )

    @Argument(help: "Payload bytes per message, 0 to 4194304.") var size: Int = 200
    @Option(help: "zstd: default (messages of 1 KiB and more), off, or on (every request that shrinks).")
    var compression: String = "default"
    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func validate() throws {
        guard (0...4_194_304).contains(size) else { throw ValidationError("SIZE: \(size) is not from 0 to 4194304") }
        guard Compression(rawValue: compression) != nil else {
            throw ValidationError("--compression: '\(compression)' is not default, off or on")
        }
    }

    func run() async throws {
        emit(
            try await Self.workload(size).run(
                load: load,
                server: server,
                compression: Compression(rawValue: compression)!
            ),
            json: load.json
        )
    }

    static func workload(_ size: Int) -> Workload {
        let request = EchoMessage(payload: realisticPayload(size))
        return Workload(name: "echo", payloadBytes: size) { _, _ in
            PreparedWorkload(
                call: { channel, _, _ in
                    try await EchoServiceClient(transport: channel).echo(request).payload.count == size
                },
                bytesPerCall: 2 * size
            )
        }
    }
}

/// Server streaming: each call receives COUNT messages of SIZE bytes.
struct StreamLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Server-streaming calls (EchoService.EchoExpand): messages/s and MB/s received."
    )

    @Option(help: "Messages per call, 1 to 1000000.") var count: Int = 1000
    @Option(help: "Payload bytes per message, 0 to 1048576.") var size: Int = 200
    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func validate() throws {
        guard (1...1_000_000).contains(count) else {
            throw ValidationError("--count: \(count) is not from 1 to 1000000")
        }
        guard (0...1_048_576).contains(size) else { throw ValidationError("--size: \(size) is not from 0 to 1048576") }
    }

    func run() async throws {
        let request = EchoExpandRequest(count: UInt32(count), payloadSize: UInt32(size))
        let count = count
        let workload = Workload(name: "stream", payloadBytes: size, extraFields: [("messages_per_call", String(count))])
        { _, _ in
            PreparedWorkload(
                call: { channel, _, _ in
                    try await EchoServiceClient(transport: channel).echoExpand(request) { responses in
                        var received = 0
                        for try await _ in responses { received += 1 }
                        return received == count
                    }
                },
                bytesPerCall: count * size,
                messagesPerCall: count
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

/// GetProduct over every product of the demo shop.
struct GetProductLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get-product",
        abstract:
            "GetProduct over every product (a server with --demo-data; one is started with it when --server is not given)."
    )

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let workload = Workload(name: "get-product", needsDemoData: true) { channel, _ in
            let products = try await CatalogRequests.allProducts(CatalogServiceClient(transport: channel))
            let ids = products.map(\.id)
            let bytes = products.reduce(0) { $0 + $1.serializedSize } / max(1, products.count)
            return PreparedWorkload(
                call: { channel, worker, number in
                    let id = ids[(worker &* 7919 &+ number) % ids.count]
                    return try await CatalogServiceClient(transport: channel).getProduct(
                        GetProductRequest(productID: id)
                    ).id == id
                },
                bytesPerCall: bytes
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

/// SearchProducts requests that each answer a full page of 20.
struct SearchLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract:
            "SearchProducts, each answering a full page of 20 (a server with --demo-data; one is started with it when --server is not given)."
    )

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let workload = Workload(name: "search", needsDemoData: true) { channel, _ in
            let catalog = CatalogServiceClient(transport: channel)
            let requests = try await CatalogRequests.fullPageSearches(
                catalog,
                products: CatalogRequests.allProducts(catalog)
            )
            let bytes = try await catalog.searchProducts(requests[0]).serializedSize
            return PreparedWorkload(
                call: { channel, worker, number in
                    let response = try await CatalogServiceClient(transport: channel).searchProducts(
                        requests[(worker &* 31 &+ number) % requests.count]
                    )
                    return response.hits.count == 20
                },
                bytesPerCall: bytes
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

/// Stock reservations, each caller on its own SKU or all on one hot SKU.
struct ReserveLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reserve",
        abstract:
            "Stock reservations of one unit (a server with --demo-data; one is started with it when --server is not given).",
        discussion:
            "The bench first receives a million units of each SKU it uses at the first warehouse, so stock never runs out."
    )

    @Option(help: "distinct (each caller its own SKU) or hot (every caller the same SKU).") var mode: String =
        "distinct"
    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func validate() throws {
        guard ["distinct", "hot"].contains(mode) else {
            throw ValidationError("--mode: '\(mode)' is not distinct or hot")
        }
    }

    func run() async throws {
        let hot = mode == "hot"
        let workload = Workload(name: "reserve-\(mode)", needsDemoData: true) { channel, callers in
            let inventory = InventoryServiceClient(transport: channel)
            guard
                let warehouse = try await inventory.listStockLocations(
                    ListStockLocationsRequest(kind: .warehouse, status: .open)
                ).stockLocations.first
            else {
                throw BenchError("the server has no open warehouse; start it with --demo-data")
            }
            let products = try await CatalogServiceClient(transport: channel).searchProducts(
                SearchProductsRequest(page: PageRequest(pageSize: Int32(min(500, callers))))
            )
            let wanted = hot ? 1 : callers
            let skus = Array(products.hits.compactMap { $0.product?.skus.first?.id }.prefix(wanted))
            guard skus.count == wanted else {
                throw BenchError(
                    "need \(wanted) SKUs, the catalog has \(skus.count); start the server with --demo-data"
                )
            }
            for sku in skus {
                _ = try await inventory.adjustStock(
                    AdjustStockRequest(
                        requestID: "bench-stock-\(sku)-\(nowNanoseconds())",
                        locationID: warehouse.id,
                        reason: .return,
                        lines: [StockAdjustmentLine(skuID: sku, quantityDelta: 1_000_000)],
                        note: "o2o-bench"
                    )
                )
            }
            let location = warehouse.id
            let run = nowNanoseconds()
            return PreparedWorkload(
                call: { channel, worker, number in
                    let response = try await InventoryServiceClient(transport: channel).reserveStock(
                        ReserveStockRequest(
                            requestID: "bench-\(run)-\(worker)-\(number)",
                            orderID: "bench-\(worker)-\(number)",
                            lines: [StockBasketLine(skuID: skus[worker % skus.count], quantity: 1)],
                            placement: .locationID(location)
                        )
                    )
                    return response.reservations.count == 1
                },
                bytesPerCall: 0
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

/// Requests built from the demo shop's catalog.
enum CatalogRequests {
    /// Every product, by paging through an unfiltered search.
    static func allProducts(_ catalog: CatalogServiceClient) async throws -> [Product] {
        var products: [Product] = []
        var token = ""
        repeat {
            let page = try await catalog.searchProducts(
                SearchProductsRequest(page: PageRequest(pageSize: 100, pageToken: token))
            )
            products += page.hits.compactMap(\.product)
            token = page.nextPageToken
        } while !token.isEmpty
        guard products.count >= 100 else {
            throw BenchError("the server holds \(products.count) products; start it with --demo-data")
        }
        return products
    }

    /// Storefront-like searches (brand or tag keywords, category and price filters, each
    /// sort) that match at least 20 products, so every answer is a full page.
    static func fullPageSearches(
        _ catalog: CatalogServiceClient,
        products: [Product]
    ) async throws -> [SearchProductsRequest] {
        let page = PageRequest(pageSize: 20)
        let brands = Set(products.map(\.brand)).sorted()
        let tags = Set(products.flatMap(\.tags)).sorted()
        let categories = Set(products.map(\.categoryID)).sorted()
        let sorts: [ProductSearchSort] = [.relevance, .price, .name, .updatedAt]
        var candidates: [SearchProductsRequest] = []
        for (index, brand) in brands.enumerated() {
            candidates.append(
                SearchProductsRequest(
                    keyword: brand,
                    statuses: [.onShelf],
                    sort: sorts[index % sorts.count],
                    page: page
                )
            )
        }
        for (index, tag) in tags.enumerated() {
            candidates.append(
                SearchProductsRequest(
                    tags: [tag],
                    statuses: [.onShelf],
                    sort: sorts[(index + 1) % sorts.count],
                    page: page
                )
            )
        }
        for category in categories.prefix(20) {
            candidates.append(SearchProductsRequest(categoryID: category, sort: .price, page: page))
        }
        candidates.append(
            SearchProductsRequest(
                statuses: [.onShelf],
                minPrice: Money(minorUnits: 1000, currency: "CNY"),
                maxPrice: Money(minorUnits: 5000, currency: "CNY"),
                sort: .price,
                page: page
            )
        )
        var full: [SearchProductsRequest] = []
        for request in candidates where try await catalog.searchProducts(request).hits.count == 20 {
            full.append(request)
        }
        guard !full.isEmpty else {
            throw BenchError("no search returns 20 products; start the server with --demo-data")
        }
        return full
    }
}
