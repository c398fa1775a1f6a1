import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CatalogServiceProvider {
    /// Search matches at most this many products for its total count.
    static let searchCountLimit = 10_000

    public func searchProducts(
        request: SearchProductsRequest,
        context: RPCServerContext
    ) async throws -> SearchProductsResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let keyword = try Validate.text(request.keyword, field: "keyword", max: 100)
        guard request.tags.count <= 10 else {
            throw RPCError.invalidArgument(field: "tags", "at most 10 tags, got \(request.tags.count)")
        }
        let minPrice = try Validate.money(request.minPrice, field: "min_price", currency: currency, required: false)?
            .minorUnits
        let maxPrice = try Validate.money(request.maxPrice, field: "max_price", currency: currency, required: false)?
            .minorUnits
        if let minPrice, let maxPrice, maxPrice < minPrice {
            throw RPCError.invalidArgument(field: "max_price", "must be at least min_price (\(minPrice))")
        }
        try Validate.known(request.statuses, field: "statuses", noun: "status")
        var categories: Set<String>?
        if !request.categoryID.isEmpty {
            _ = try await store.latest.require(CatalogTables.categories, request.categoryID, field: "category_id")
            categories = searchIndex.subtree(of: request.categoryID)
        }
        let query = CatalogSearchIndex.Query(
            words: keyword.lowercased().split(whereSeparator: \.isWhitespace).map(String.init),
            keyword: keyword,
            categories: categories,
            tags: request.tags.map { $0.trimmingWhitespace().lowercased() },
            statuses: Set(request.statuses),
            minPrice: minPrice,
            maxPrice: maxPrice,
            supplierID: request.supplierID
        )
        var hits = searchIndex.matches(query)
        let sort: ProductSearchSort =
            request.sort == .unspecified ? (keyword.isEmpty ? .updatedAt : .relevance) : request.sort
        let descending: Bool
        switch request.order {
        case .ascending: descending = false
        case .descending: descending = true
        default: descending = !(sort == .name || sort == .price)
        }
        hits.sort { Self.ordered($0, $1, sort: sort, keywordEmpty: keyword.isEmpty, descending: descending) }

        // Pages are offsets into the sorted matches, in a token bound to the filters.
        let filterHash = PageTokens.filterHash(
            [
                keyword, request.categoryID, request.tags.joined(separator: ","),
                request.statuses.map { "\($0.rawValue)" }.joined(separator: ","),
                "\(minPrice ?? -1)", "\(maxPrice ?? -1)", request.supplierID, "\(sort.rawValue)", "\(descending)",
            ]
        )
        var offset = 0
        if let token = request.page?.pageToken, !token.isEmpty {
            let bytes = try PageTokens.lastKey(from: token, filterHash: filterHash, subject: "search")
            guard bytes.count == 4 else {
                throw RecordError(.invalidPageToken, "not a page token this list issued", subject: "search")
            }
            offset = bytes.reduce(0) { $0 << 8 | Int($1) }
        }
        let pageHits = Array(hits.dropFirst(offset).prefix(pageSize))
        let end = offset + pageHits.count
        let nextToken =
            end < hits.count
            ? PageTokens.make(
                lastKey: (0..<4).map { UInt8(truncatingIfNeeded: end >> (24 - 8 * $0)) },
                filterHash: filterHash
            ) : ""
        let products = try await store.latest.get(CatalogTables.products, pageHits.map { .string($0.id) })
        var response = SearchProductsResponse(
            nextPageToken: nextToken,
            totalSize: Int64(min(hits.count, Self.searchCountLimit))
        )
        for (hit, product) in zip(pageHits, products) {
            guard let product else { continue }  // deleted since the index saw it
            response.hits.append(
                ProductSearchHit(
                    product: product,
                    relevance: hit.relevance,
                    matchedSkuIDs: hit.matchedSkuIDs,
                    minPrice: hit.entry.minPrice.map { Money(minorUnits: $0, currency: currency) },
                    maxPrice: hit.entry.maxPrice.map { Money(minorUnits: $0, currency: currency) }
                )
            )
        }
        return response
    }

    /// The order of two hits; ties broken by update time (newest first), then id.
    static func ordered(
        _ a: CatalogSearchIndex.Hit,
        _ b: CatalogSearchIndex.Hit,
        sort: ProductSearchSort,
        keywordEmpty: Bool,
        descending: Bool
    ) -> Bool {
        func tieBreak() -> Bool {
            if a.entry.updatedNanos != b.entry.updatedNanos { return a.entry.updatedNanos > b.entry.updatedNanos }
            return a.id < b.id
        }
        func compare<Value: Comparable>(_ x: Value, _ y: Value) -> Bool? {
            if x == y { return nil }
            return descending ? x > y : x < y
        }
        switch sort {
        case .relevance where !keywordEmpty:
            return compare(a.relevance, b.relevance) ?? tieBreak()
        case .name:
            // UTF-8 byte order is code point order.
            let x = a.entry.nameUTF8
            let y = b.entry.nameUTF8
            if x == y { return tieBreak() }
            return descending ? y.lexicographicallyPrecedes(x) : x.lexicographicallyPrecedes(y)
        case .price:
            // Products without an ACTIVE SKU go last either way.
            switch (a.entry.minPrice, b.entry.minPrice) {
            case (nil, nil): return tieBreak()
            case (nil, _): return false
            case (_, nil): return true
            case (let x?, let y?): return compare(x, y) ?? tieBreak()
            }
        case .createdAt:
            return compare(a.entry.createdNanos, b.entry.createdNanos) ?? tieBreak()
        case .rating:
            switch (a.entry.reviewCount > 0, b.entry.reviewCount > 0) {
            case (false, false): return tieBreak()
            case (false, true): return false
            case (true, false): return true
            default: return compare(a.entry.averageRating, b.entry.averageRating) ?? tieBreak()
            }
        default:
            return compare(a.entry.updatedNanos, b.entry.updatedNanos) ?? (a.id < b.id)
        }
    }

    public func listProductTags(
        request: ListProductTagsRequest,
        context: RPCServerContext
    ) async throws -> ListProductTagsResponse {
        let prefix = try Validate.text(request.prefix, field: "prefix", max: 32)
        let tags = searchIndex.tagCounts(prefix: prefix)
        let page = try Paging.page(tags, request: request.page, field: "page")
        return ListProductTagsResponse(
            tags: page.items.map { ProductTagCount(tag: $0.tag, productCount: $0.products, onShelfCount: $0.onShelf) },
            nextPageToken: page.nextToken
        )
    }
}
