import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OStorage
import O2OTestSupport
import Testing

@testable import O2OCatalog

/// Search answers are checked against a plain filter over the product records read
/// straight from the store, written from the request's documentation and sharing no
/// code with the search index.
@Suite("Catalog search against a brute-force filter")
struct CatalogSearchTests {
    @Test("every filter, keyword kind, sort and page agrees with the brute-force filter", arguments: StoreKind.allCases)
    func searchMatchesBruteForce(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind, demo: true) { harness in
            let catalog = harness.client.catalog
            // Vary SKU states beyond the demo data: disabled SKUs must not count for prices.
            let before = try await harness.store.latest.page(
                CatalogTables.products,
                RecordQuery(pageSize: 5000, examineLimit: 5000)
            ).records
            for product in before.prefix(200) where product.skus.count > 1 {
                _ = try await catalog.updateSku(
                    UpdateSkuRequest(requestID: rid(), skuID: product.skus[0].id, status: .disabled)
                )
            }
            let products = try await harness.store.latest.page(
                CatalogTables.products,
                RecordQuery(pageSize: 5000, examineLimit: 5000)
            ).records
            let categories = try await harness.store.latest.page(
                CatalogTables.categories,
                RecordQuery(pageSize: 5000, examineLimit: 5000)
            ).records
            #expect(products.count == 1000)
            let parents = Dictionary(uniqueKeysWithValues: categories.map { ($0.id, $0.parentID) })

            let sample = products[417]
            let sampleSku = sample.skus[1]
            var root = sample.categoryID
            while let parent = parents[root], !parent.isEmpty { root = parent }
            let leaf = sample.categoryID
            let prices = products.flatMap(\.skus).compactMap(\.price?.minorUnits).sorted()
            let lowPrice = prices[prices.count / 4]
            let highPrice = prices[prices.count / 2]
            let tag = sample.tags[0]

            // Requests whose answer is empty by construction; every other one must find something.
            let emptyByDesign: Set<Int> = [6, 14]
            let requests: [SearchProductsRequest] = [
                SearchProductsRequest(),
                SearchProductsRequest(sort: .price),
                SearchProductsRequest(keyword: sample.brand),
                SearchProductsRequest(
                    keyword: sample.nameEn.split(separator: " ").prefix(2).joined(separator: " ").uppercased()
                ),
                SearchProductsRequest(keyword: sampleSku.barcode),
                SearchProductsRequest(keyword: sampleSku.skuCode.lowercased()),
                SearchProductsRequest(keyword: sampleSku.barcode, minPrice: cny(sampleSku.price!.minorUnits + 1)),
                SearchProductsRequest(categoryID: root, statuses: [.onShelf], sort: .name),
                SearchProductsRequest(categoryID: leaf, sort: .price, order: .descending),
                SearchProductsRequest(
                    tags: [" \(tag.uppercased()) "],
                    minPrice: cny(lowPrice),
                    maxPrice: cny(highPrice)
                ),
                SearchProductsRequest(minPrice: cny(lowPrice), maxPrice: cny(lowPrice)),
                SearchProductsRequest(statuses: [.draft, .offShelf], sort: .createdAt),
                SearchProductsRequest(supplierID: sample.supplierID, sort: .name, order: .descending),
                SearchProductsRequest(keyword: "\(sample.brand) \(tag)", categoryID: root, maxPrice: cny(highPrice)),
                SearchProductsRequest(keyword: "nothing-like-this-anywhere"),
            ]
            for (number, request) in requests.enumerated() {
                let expected = products.filter { Self.matches($0, request, parents: parents) }
                #expect(expected.isEmpty == emptyByDesign.contains(number), "request \(number) finds \(expected.count)")
                var hits: [ProductSearchHit] = []
                var token = ""
                var total: Int64 = -1
                repeat {
                    var paged = request
                    paged.page = PageRequest(pageSize: 97, pageToken: token)
                    let response = try await catalog.searchProducts(paged)
                    if total < 0 { total = response.totalSize }
                    hits += response.hits
                    token = response.nextPageToken
                } while !token.isEmpty

                let label = "\(request)"
                #expect(total == Int64(expected.count), "\(label)")
                #expect(hits.count == expected.count, "no product twice across pages: \(label)")
                #expect(Set(hits.compactMap(\.product?.id)) == Set(expected.map(\.id)), "\(label)")
                Self.expectOrdered(hits, request)
                for hit in hits {
                    let active = hit.product!.skus.filter { $0.status == .active }.compactMap(\.price?.minorUnits)
                    #expect(
                        hit.minPrice?.minorUnits == active.min() && hit.maxPrice?.minorUnits == active.max(),
                        "\(label)"
                    )
                }
            }
            // Every change shows in the next search.
            let onShelf = SearchProductsRequest(keyword: sampleSku.barcode, statuses: [.onShelf])
            _ = try await catalog.changeProductStatus(
                ChangeProductStatusRequest(requestID: rid(), productID: sample.id, status: .onShelf)
            )
            #expect(try await catalog.searchProducts(onShelf).hits.map(\.product?.id) == [sample.id])
            _ = try await catalog.changeProductStatus(
                ChangeProductStatusRequest(requestID: rid(), productID: sample.id, status: .offShelf)
            )
            #expect(try await catalog.searchProducts(onShelf).hits.isEmpty)
            _ = try await catalog.updateProduct(
                UpdateProductRequest(requestID: rid(), productID: sample.id, name: "Zephyr Renamed")
            )
            #expect(
                try await catalog.searchProducts(SearchProductsRequest(keyword: "zephyr")).hits.map(\.product?.id) == [
                    sample.id
                ]
            )

            // An exact barcode names the one SKU it belongs to.
            let byBarcode = try await catalog.searchProducts(SearchProductsRequest(keyword: sampleSku.barcode))
            #expect(
                byBarcode.hits.map(\.product?.id) == [sample.id] && byBarcode.hits[0].matchedSkuIDs == [sampleSku.id]
            )
        }
    }

    /// The documented meaning of each search field, applied to one product.
    static func matches(_ product: Product, _ request: SearchProductsRequest, parents: [String: String]) -> Bool {
        if !request.categoryID.isEmpty {
            var category: String? = product.categoryID
            while let current = category, current != request.categoryID {
                category = parents[current].flatMap { $0.isEmpty ? nil : $0 }
            }
            if category == nil { return false }
        }
        let tags = product.tags.map { $0.lowercased() }
        for tag in request.tags where !tags.contains(tag.trimmingCharacters(in: .whitespaces).lowercased()) {
            return false
        }
        if !request.statuses.isEmpty, !request.statuses.contains(product.status) { return false }
        if !request.supplierID.isEmpty, product.supplierID != request.supplierID { return false }

        var candidates = product.skus
        let keyword = request.keyword
        if !keyword.isEmpty {
            let exact = product.skus.filter { $0.barcode == keyword || $0.skuCode.lowercased() == keyword.lowercased() }
            if !exact.isEmpty {
                candidates = exact
            } else {
                let text = [product.name, product.nameEn, product.brand, product.description].map { $0.lowercased() }
                for word in keyword.lowercased().split(separator: " ").map(String.init) {
                    guard text.contains(where: { $0.contains(word) }) || tags.contains(where: { $0.contains(word) })
                    else { return false }
                }
            }
        }
        if request.minPrice != nil || request.maxPrice != nil {
            return candidates.contains { sku in
                guard sku.status == .active, let price = sku.price?.minorUnits else { return false }
                return price >= (request.minPrice?.minorUnits ?? .min)
                    && price <= (request.maxPrice?.minorUnits ?? .max)
            }
        }
        return true
    }

    /// The hits come in the requested order.
    static func expectOrdered(
        _ hits: [ProductSearchHit],
        _ request: SearchProductsRequest,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let descending: Bool
        switch request.order {
        case .ascending: descending = false
        case .descending: descending = true
        default: descending = !(request.sort == .name || request.sort == .price)
        }
        for (a, b) in zip(hits, hits.dropFirst()) {
            let pa = a.product!
            let pb = b.product!
            let inOrder: Bool
            switch request.sort {
            case .price:
                switch (a.minPrice?.minorUnits, b.minPrice?.minorUnits) {
                case (let x?, let y?): inOrder = descending ? x >= y : x <= y
                case (_, nil): inOrder = true  // products without an active SKU go last
                case (nil, _): inOrder = false
                }
            case .name:
                let x = pa.name.unicodeScalars.map(\.value)
                let y = pb.name.unicodeScalars.map(\.value)
                inOrder = x == y || (descending ? y.lexicographicallyPrecedes(x) : x.lexicographicallyPrecedes(y))
            case .createdAt:
                let x = pa.createdAt!.seconds * 1_000_000_000 + Int64(pa.createdAt!.nanos)
                let y = pb.createdAt!.seconds * 1_000_000_000 + Int64(pb.createdAt!.nanos)
                inOrder = descending ? x >= y : x <= y
            default:
                if request.keyword.isEmpty {
                    let x = pa.updatedAt!.seconds * 1_000_000_000 + Int64(pa.updatedAt!.nanos)
                    let y = pb.updatedAt!.seconds * 1_000_000_000 + Int64(pb.updatedAt!.nanos)
                    inOrder = x >= y
                } else {
                    inOrder = a.relevance >= b.relevance
                }
            }
            #expect(inOrder, "\(pa.id) before \(pb.id) for \(request)", sourceLocation: sourceLocation)
        }
    }
}
