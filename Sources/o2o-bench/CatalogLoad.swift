import ArgumentParser
import O2OMessages
import O2ONIOTransport
import O2ORPC

/// Catalog reads against a running o2o-server holding the demo shop: GetProduct over
/// every product, or SearchProducts requests that each return a full page of 20.
struct CatalogLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "GetProduct or SearchProducts calls against a server started with --demo-data."
    )

    @Option(help: "Which call: get (GetProduct) or search (SearchProducts, 20 results).") var workload: String = "get"

    func validate() throws {
        guard ["get", "search"].contains(workload) else { throw ValidationError("--workload: '\(workload)' is not get or search") }
    }

    @OptionGroup var load: LoadOptions

    func run() async throws {
        var channels: [O2OClientChannel] = []
        for _ in 0..<load.conns {
            channels.append(try O2OClientChannel(configuration: O2OClientConfiguration(target: .tcp(host: "127.0.0.1", port: load.port))))
        }
        let catalog = CatalogServiceClient(transport: channels[0])
        let products = try await Self.allProducts(catalog)
        guard products.count >= 100 else {
            throw ValidationError("the server holds \(products.count) products; start it with --demo-data")
        }
        let loop = ClosedLoop(
            channels: channels, inflightPerChannel: load.inflight, warmupSeconds: load.warmup, durationSeconds: load.duration,
            serverPID: load.serverPid, onEventLoop: true
        )
        let report: ClosedLoop.Report
        switch workload {
        case "get":
            let ids = products.map(\.id)
            report = try await loop.run { channel, worker, number in
                let id = ids[(worker * 7919 + number) % ids.count]
                return try await CatalogServiceClient(transport: channel).getProduct(GetProductRequest(productID: id)).id == id
            }
        default:
            let requests = try await Self.fullPageSearches(catalog, products: products)
            printLine("searches: \(requests.count) distinct requests, each answering 20 of at least 20 products")
            report = try await loop.run { channel, worker, number in
                let response = try await CatalogServiceClient(transport: channel).searchProducts(requests[(worker * 31 + number) % requests.count])
                return response.hits.count == 20
            }
        }
        for channel in channels { await channel.close() }
        printLine("RESULT kind=o2o-catalog label=\(load.label) workload=\(workload) conns=\(load.conns) inflight_per_conn=\(load.inflight) " + report.fields)
    }

    /// Every product, by paging through an unfiltered search.
    static func allProducts(_ catalog: CatalogServiceClient) async throws -> [Product] {
        var products: [Product] = []
        var token = ""
        repeat {
            let page = try await catalog.searchProducts(SearchProductsRequest(page: PageRequest(pageSize: 100, pageToken: token)))
            products += page.hits.compactMap(\.product)
            token = page.nextPageToken
        } while !token.isEmpty
        return products
    }

    /// Storefront-like searches (brand or tag keywords, category and price filters, each
    /// sort) that match at least 20 products, so every answer is a full page.
    static func fullPageSearches(_ catalog: CatalogServiceClient, products: [Product]) async throws -> [SearchProductsRequest] {
        let page = PageRequest(pageSize: 20)
        let brands = Set(products.map(\.brand)).sorted()
        let tags = Set(products.flatMap(\.tags)).sorted()
        let categories = Set(products.map(\.categoryID)).sorted()
        let sorts: [ProductSearchSort] = [.relevance, .price, .name, .updatedAt]
        var candidates: [SearchProductsRequest] = []
        for (index, brand) in brands.enumerated() {
            candidates.append(SearchProductsRequest(keyword: brand, statuses: [.onShelf], sort: sorts[index % sorts.count], page: page))
        }
        for (index, tag) in tags.enumerated() {
            candidates.append(SearchProductsRequest(tags: [tag], statuses: [.onShelf], sort: sorts[(index + 1) % sorts.count], page: page))
        }
        for category in categories.prefix(20) {
            candidates.append(SearchProductsRequest(categoryID: category, sort: .price, page: page))
        }
        candidates.append(SearchProductsRequest(statuses: [.onShelf], minPrice: Money(minorUnits: 1000, currency: "CNY"), maxPrice: Money(minorUnits: 5000, currency: "CNY"), sort: .price, page: page))
        var full: [SearchProductsRequest] = []
        for request in candidates where try await catalog.searchProducts(request).hits.count == 20 {
            full.append(request)
        }
        guard !full.isEmpty else { throw ValidationError("no search returns 20 products; start the server with --demo-data") }
        return full
    }
}
