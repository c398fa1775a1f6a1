import O2OMessages
import Synchronization

/// An in-memory view of the catalog for search, tag listings and category subtrees:
/// what each product can be found by, without its full record. Built from the store
/// at start; every committed change is applied after its commit. Concurrent updates of
/// one product are applied by version, so an older one never overwrites a newer one.
final class CatalogSearchIndex: Sendable {
    struct SkuEntry: Sendable {
        var id: String
        var barcode: String
        var codeLower: String
        var active: Bool
        var price: Int64
    }

    struct ProductEntry: Sendable {
        var id: String
        var version: Int64
        var updatedNanos: Int64
        var createdNanos: Int64
        var name: String
        var nameLower: String
        var tagsLower: [String]
        var tags: [String]
        /// English name, brand and description, lower-cased, for keyword matching.
        var otherTextLower: String
        var brandLower: String
        var categoryID: String
        var status: ProductStatus
        var supplierID: String
        var skus: [SkuEntry]
        var averageRating: Double
        var reviewCount: Int64

        var activePrices: [Int64] { skus.filter(\.active).map(\.price) }
    }

    private struct State {
        var products: [String: ProductEntry] = [:]
        var parents: [String: String] = [:]
        var children: [String: Set<String>] = [:]
    }

    private let state = Mutex(State())

    private static func nanos(_ timestamp: Timestamp?) -> Int64 {
        guard let timestamp else { return 0 }
        return timestamp.seconds &* 1_000_000_000 &+ Int64(timestamp.nanos)
    }

    func upsert(_ product: Product) {
        let entry = ProductEntry(
            id: product.id, version: product.version, updatedNanos: Self.nanos(product.updatedAt),
            createdNanos: Self.nanos(product.createdAt), name: product.name, nameLower: product.name.lowercased(),
            tagsLower: product.tags.map { $0.lowercased() }, tags: product.tags,
            otherTextLower: [product.nameEn, product.brand, product.description].joined(separator: "\n").lowercased(),
            brandLower: product.brand.lowercased(), categoryID: product.categoryID, status: product.status,
            supplierID: product.supplierID,
            skus: product.skus.map {
                SkuEntry(id: $0.id, barcode: $0.barcode, codeLower: $0.skuCode.lowercased(), active: $0.status == .active, price: $0.price?.minorUnits ?? 0)
            },
            averageRating: product.ratingSummary?.averageRating ?? 0,
            reviewCount: product.ratingSummary?.reviewCount ?? 0
        )
        state.withLock { state in
            if let existing = state.products[product.id],
                existing.version > entry.version || (existing.version == entry.version && existing.updatedNanos > entry.updatedNanos)
            {
                return
            }
            state.products[product.id] = entry
        }
    }

    func removeProduct(_ id: String) {
        _ = state.withLock { $0.products.removeValue(forKey: id) }
    }

    func upsert(_ category: Category) {
        state.withLock { state in
            if let old = state.parents[category.id] { state.children[old]?.remove(category.id) }
            state.parents[category.id] = category.parentID
            state.children[category.parentID, default: []].insert(category.id)
        }
    }

    func removeCategory(_ id: String) {
        state.withLock { state in
            if let parent = state.parents.removeValue(forKey: id) { state.children[parent]?.remove(id) }
        }
    }

    /// The category and every category below it.
    func subtree(of id: String) -> Set<String> {
        state.withLock { state in
            var result: Set<String> = [id]
            var queue = [id]
            while let next = queue.popLast() {
                for child in state.children[next] ?? [] where result.insert(child).inserted { queue.append(child) }
            }
            return result
        }
    }

    var productCount: Int { state.withLock { $0.products.count } }

    /// What a search matched for one product.
    struct Hit: Sendable {
        var id: String
        var relevance: Double
        var matchedSkuIDs: [String]
        var minPrice: Int64?
        var maxPrice: Int64?
        var entry: ProductEntry
    }

    struct Query: Sendable {
        var words: [String]
        var keyword: String
        var categories: Set<String>?
        var tags: [String]
        var statuses: Set<ProductStatus>
        var minPrice: Int64?
        var maxPrice: Int64?
        var supplierID: String
    }

    /// Every product the query matches, unsorted.
    func matches(_ query: Query) -> [Hit] {
        let products = state.withLock { Array($0.products.values) }
        var hits: [Hit] = []
        for product in products {
            if let categories = query.categories, !categories.contains(product.categoryID) { continue }
            if !query.statuses.isEmpty, !query.statuses.contains(product.status) { continue }
            if !query.supplierID.isEmpty, product.supplierID != query.supplierID { continue }
            if !query.tags.allSatisfy(product.tagsLower.contains) { continue }
            var matchedSkus: [String] = []
            var relevance = 0.0
            if !query.keyword.isEmpty {
                // A barcode or SKU code equal to the keyword finds the product at once.
                let exact = product.skus.filter { $0.barcode == query.keyword || $0.codeLower == query.keyword.lowercased() }
                if !exact.isEmpty {
                    matchedSkus = exact.map(\.id)
                    relevance = 100
                } else {
                    var all = true
                    for word in query.words {
                        var score = 0.0
                        if product.nameLower.contains(word) { score += 3 }
                        if product.tagsLower.contains(where: { $0.contains(word) }) { score += 2 }
                        if product.brandLower.contains(word) || product.otherTextLower.contains(word) { score += 1 }
                        if score == 0 {
                            all = false
                            break
                        }
                        relevance += score
                    }
                    guard all else { continue }
                    if product.nameLower == query.keyword.lowercased() { relevance += 5 }
                }
            }
            if query.minPrice != nil || query.maxPrice != nil {
                let inRange = product.skus.filter { sku in
                    sku.active && (query.minPrice.map { sku.price >= $0 } ?? true) && (query.maxPrice.map { sku.price <= $0 } ?? true)
                }
                guard !inRange.isEmpty else { continue }
                matchedSkus = matchedSkus.isEmpty ? inRange.map(\.id) : matchedSkus.filter { id in inRange.contains { $0.id == id } }
                if matchedSkus.isEmpty { continue }
            }
            let prices = product.activePrices
            hits.append(
                Hit(id: product.id, relevance: relevance, matchedSkuIDs: matchedSkus, minPrice: prices.min(), maxPrice: prices.max(), entry: product)
            )
        }
        return hits
    }

    struct TagCount: Sendable {
        var tag: String
        var products: Int64
        var onShelf: Int64
    }

    /// Tags in use, alphabetically ignoring case, with counts.
    func tagCounts(prefix: String) -> [TagCount] {
        let lowerPrefix = prefix.lowercased()
        let products = state.withLock { Array($0.products.values) }
        var counts: [String: TagCount] = [:]
        for product in products {
            for (tag, lower) in zip(product.tags, product.tagsLower) where lower.hasPrefix(lowerPrefix) {
                var count = counts[lower] ?? TagCount(tag: tag, products: 0, onShelf: 0)
                count.products += 1
                if product.status == .onShelf { count.onShelf += 1 }
                counts[lower] = count
            }
        }
        return counts.sorted { $0.key < $1.key }.map(\.value)
    }
}
