#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import O2OMessages
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
            otherText = Array([product.nameEn, product.brand, product.description].joined(separator: "\n").lowercased().utf8)
            categoryID = product.categoryID
            status = product.status
            supplierID = product.supplierID
            skus = product.skus.map {
                SkuEntry(id: $0.id, barcode: Array($0.barcode.utf8), codeLower: Array($0.skuCode.lowercased().utf8), active: $0.status == .active, price: $0.price?.minorUnits ?? 0)
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

    /// Every product the query matches, unsorted. Works on a snapshot of the entries:
    /// searches run in parallel and never hold the lock while matching.
    func matches(_ query: Query) -> [Hit] {
        let products = state.withLock { $0.products }
        let words = query.words.map { Array($0.utf8) }
        // Byte comparisons: cheaper than String's, which honour canonical equivalence.
        let tags = query.tags.map { Array($0.utf8) }
        let statuses = Array(query.statuses)
        let keyword = Array(query.keyword.utf8)
        let keywordLower = Array(query.keyword.lowercased().utf8)
        let hasPriceRange = query.minPrice != nil || query.maxPrice != nil
        var hits: [Hit] = []
        for product in products.values {
            if !statuses.isEmpty, !statuses.contains(product.status) { continue }
            if let categories = query.categories, !categories.contains(product.categoryID) { continue }
            if !query.supplierID.isEmpty, product.supplierID != query.supplierID { continue }
            if !tags.allSatisfy(product.tagTexts.contains) { continue }
            var matchedSkus: [String] = []
            var relevance = 0.0
            if !query.keyword.isEmpty {
                // A barcode or SKU code equal to the keyword finds the product at once.
                let exact = product.skus.filter { $0.barcode == keyword || $0.codeLower == keywordLower }
                if !exact.isEmpty {
                    matchedSkus = exact.map(\.id)
                    relevance = 100
                } else {
                    guard let score = Self.score(product, words: words) else { continue }
                    relevance = score
                    if product.nameText == keywordLower { relevance += 5 }
                }
            }
            if hasPriceRange {
                let inRange = product.skus.filter { sku in
                    sku.active && (query.minPrice.map { sku.price >= $0 } ?? true) && (query.maxPrice.map { sku.price <= $0 } ?? true)
                }
                guard !inRange.isEmpty else { continue }
                matchedSkus = matchedSkus.isEmpty ? inRange.map(\.id) : matchedSkus.filter { id in inRange.contains { $0.id == id } }
                if matchedSkus.isEmpty { continue }
            }
            hits.append(Hit(relevance: relevance, matchedSkuIDs: matchedSkus, entry: product))
        }
        return hits
    }

    /// The keyword score of a product: per word 3 for the name, 2 for a tag, 1 for the
    /// other texts; nil when some word is nowhere. Matching is on lower-cased UTF-8, so
    /// a word matches wherever its bytes occur.
    private static func score(_ product: ProductEntry, words: [[UInt8]]) -> Double? {
        var total = 0.0
        for word in words {
            var score = 0.0
            if contains(product.nameText, word) { score += 3 }
            if product.tagTexts.contains(where: { contains($0, word) }) { score += 2 }
            if contains(product.otherText, word) { score += 1 }
            if score == 0 { return nil }
            total += score
        }
        return total
    }

    /// Whether `needle` occurs in `haystack`: memchr finds candidates for the first
    /// byte, memcmp checks them (both vectorised in the C library).
    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        if needle.isEmpty { return true }
        if needle.count > haystack.count { return false }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                var offset = 0
                let last = hay.count - pin.count
                while offset <= last {
                    guard let found = memchr(hay.baseAddress! + offset, Int32(pin[0]), last - offset + 1) else { return false }
                    if memcmp(found, pin.baseAddress!, pin.count) == 0 { return true }
                    offset = hay.baseAddress!.distance(to: UnsafeRawPointer(found)) + 1
                }
                return false
            }
        }
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
