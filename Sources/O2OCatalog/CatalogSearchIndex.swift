import O2OMessages
import O2OServiceKit
import Synchronization

/// An in-memory view of the catalog for search, tag listings and category subtrees:
/// what each product can be found by, without its full record. Built from the store
/// at start; every committed change is applied after its commit. Concurrent updates of
/// one product are applied by version, so an older one never overwrites a newer one.
final class CatalogSearchIndex: Sendable {
    struct SkuEntry: Sendable {
        var id: String
        /// UTF-8 of the barcode and the lower-cased SKU code: byte comparisons skip
        /// String's Unicode normalisation, which dominated keyword searches.
        var barcode: [UInt8]
        var codeLower: [UInt8]
        var active: Bool
        var price: Int64
    }

    /// One product as search sees it. A class: a search walks every entry, and passing
    /// one around then costs a single reference count, not one per field.
    final class ProductEntry: Sendable {
        let id: String
        let version: Int64
        let updatedNanos: Int64
        let createdNanos: Int64
        /// The name's UTF-8, for sorting by name in code point order.
        let nameUTF8: [UInt8]
        let tags: [String]
        let tagsLower: [String]
        /// Lower-cased UTF-8 of the texts a keyword is looked for in.
        let nameText: [UInt8]
        let tagTexts: [[UInt8]]
        /// English name, brand and description.
        let otherText: [UInt8]
        let categoryID: String
        let status: ProductStatus
        let supplierID: String
        let skus: [SkuEntry]
        let averageRating: Double
        let reviewCount: Int64
        let minPrice: Int64?
        let maxPrice: Int64?

        init(_ product: Product) {
            id = product.id
            version = product.version
            updatedNanos = CatalogSearchIndex.nanos(product.updatedAt)
            createdNanos = CatalogSearchIndex.nanos(product.createdAt)
            nameUTF8 = Array(product.name.utf8)
            tags = product.tags
            tagsLower = product.tags.map { $0.lowercased() }
            nameText = Array(product.name.lowercased().utf8)
            tagTexts = tagsLower.map { Array($0.utf8) }
            otherText = Array(
                [product.nameEn, product.brand, product.description].joined(separator: "\n").lowercased().utf8
            )
            categoryID = product.categoryID
            status = product.status
            supplierID = product.supplierID
            skus = product.skus.map {
                SkuEntry(
                    id: $0.id,
                    barcode: Array($0.barcode.utf8),
                    codeLower: Array($0.skuCode.lowercased().utf8),
                    active: $0.status == .active,
                    price: $0.price?.minorUnits ?? 0
                )
            }
            let prices = skus.filter(\.active).map(\.price)
            minPrice = prices.min()
            maxPrice = prices.max()
            averageRating = product.ratingSummary?.averageRating ?? 0
            reviewCount = product.ratingSummary?.reviewCount ?? 0
        }
    }

    private struct State {
        var products: [String: ProductEntry] = [:]
        /// The flat copy searches use; nil once a change made it stale.
        var snapshot: CatalogSearchSnapshot?
        /// Counts product changes, so a snapshot built outside the lock is kept only
        /// if nothing changed meanwhile.
        var generation = 0
        var parents: [String: String] = [:]
        var children: [String: Set<String>] = [:]
    }

    private let state = Mutex(State())

    fileprivate static func nanos(_ timestamp: Timestamp?) -> Int64 {
        guard let timestamp else { return 0 }
        return timestamp.seconds &* 1_000_000_000 &+ Int64(timestamp.nanos)
    }

    func upsert(_ product: Product) {
        let entry = ProductEntry(product)
        state.withLock { state in
            if let existing = state.products[product.id],
                existing.version > entry.version
                    || (existing.version == entry.version && existing.updatedNanos > entry.updatedNanos)
            {
                return
            }
            state.products[product.id] = entry
            state.snapshot = nil
            state.generation += 1
        }
    }

    func removeProduct(_ id: String) {
        state.withLock { state in
            guard state.products.removeValue(forKey: id) != nil else { return }
            state.snapshot = nil
            state.generation += 1
        }
    }

    /// The current snapshot, built when the last one went stale.
    private func snapshot() -> CatalogSearchSnapshot {
        let (cached, products, generation) = state.withLock { ($0.snapshot, $0.products, $0.generation) }
        if let cached { return cached }
        let built = CatalogSearchSnapshot(products.values)
        state.withLock { state in
            if state.generation == generation { state.snapshot = built }
        }
        return built
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
        var relevance: Double
        var matchedSkuIDs: [String]
        var entry: ProductEntry
        var id: String { entry.id }
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
        snapshot().matches(query)
    }

    struct TagCount: Sendable {
        var tag: String
        var products: Int64
        var onShelf: Int64
    }

    /// Tags in use, alphabetically ignoring case, with counts.
    func tagCounts(prefix: String) -> [TagCount] {
        let lowerPrefix = prefix.lowercased()
        let products = state.withLock { $0.products }
        var counts: [String: TagCount] = [:]
        for product in products.values {
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
