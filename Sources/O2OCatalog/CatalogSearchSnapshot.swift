import O2OMessages
import O2OServiceKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Every product of the search index laid out flat for matching: numbers and bytes in
/// plain arrays, walked through unsafe buffers. A search thus touches no reference
/// count per product — with searches running on several cores, those counts sit on
/// cache lines shared between the cores and cost more than the matching itself.
/// Immutable; built from the entries when a search finds the last one out of date.
final class CatalogSearchSnapshot: Sendable {
    typealias ProductEntry = CatalogSearchIndex.ProductEntry

    let entries: [ProductEntry]
    private let statuses: [ProductStatus]
    /// Per product, ordinals into `categoryOrdinals`, `supplierOrdinals`.
    private let categories: [Int32]
    private let suppliers: [Int32]
    private let categoryOrdinals: [String: Int32]
    private let supplierOrdinals: [String: Int32]
    /// Tag ordinals of product i: `tags[tagStarts[i]..<tagStarts[i + 1]]`.
    private let tags: [Int32]
    private let tagStarts: [Int32]
    private let tagOrdinals: [String: Int32]
    /// Lower-cased texts of product i in `text`: name at `textStarts[4i]`, tags joined
    /// by NUL at `[4i + 1]`, the other texts at `[4i + 2]`, ending at `[4i + 3]`.
    private let text: [UInt8]
    private let textStarts: [Int32]
    /// SKUs of product i: `skuStarts[i]..<skuStarts[i + 1]` in the SKU arrays.
    private let skuStarts: [Int32]
    private let skuActive: [Bool]
    private let skuPrices: [Int64]
    /// SKU positions by barcode and by lower-cased SKU code.
    private let skusByBarcode: [String: [Int32]]
    private let skusByCode: [String: [Int32]]

    init(_ products: some Collection<ProductEntry>) {
        var entries: [ProductEntry] = []
        var statuses: [ProductStatus] = []
        var categories: [Int32] = []
        var suppliers: [Int32] = []
        var tags: [Int32] = []
        var tagStarts: [Int32] = [0]
        var categoryOrdinals: [String: Int32] = [:]
        var supplierOrdinals: [String: Int32] = [:]
        var tagOrdinals: [String: Int32] = [:]
        var text: [UInt8] = []
        var textStarts: [Int32] = []
        var skuStarts: [Int32] = [0]
        var skuActive: [Bool] = []
        var skuPrices: [Int64] = []
        var skusByBarcode: [String: [Int32]] = [:]
        var skusByCode: [String: [Int32]] = [:]
        func ordinal(_ key: String, in table: inout [String: Int32]) -> Int32 {
            if let known = table[key] { return known }
            let next = Int32(table.count)
            table[key] = next
            return next
        }
        entries.reserveCapacity(products.count)
        for entry in products {
            entries.append(entry)
            statuses.append(entry.status)
            categories.append(ordinal(entry.categoryID, in: &categoryOrdinals))
            suppliers.append(ordinal(entry.supplierID, in: &supplierOrdinals))
            for tag in entry.tagsLower { tags.append(ordinal(tag, in: &tagOrdinals)) }
            tagStarts.append(Int32(tags.count))
            textStarts.append(Int32(text.count))
            text += entry.nameText
            textStarts.append(Int32(text.count))
            for (index, tag) in entry.tagTexts.enumerated() {
                if index > 0 { text.append(0) }
                text += tag
            }
            textStarts.append(Int32(text.count))
            text += entry.otherText
            textStarts.append(Int32(text.count))
            for sku in entry.skus {
                let position = Int32(skuActive.count)
                skuActive.append(sku.active)
                skuPrices.append(sku.price)
                if !sku.barcode.isEmpty {
                    skusByBarcode[String(decoding: sku.barcode, as: UTF8.self), default: []].append(position)
                }
                skusByCode[String(decoding: sku.codeLower, as: UTF8.self), default: []].append(position)
            }
            skuStarts.append(Int32(skuActive.count))
        }
        (self.entries, self.statuses, self.categories, self.suppliers) = (entries, statuses, categories, suppliers)
        (self.categoryOrdinals, self.supplierOrdinals, self.tags, self.tagStarts, self.tagOrdinals) =
            (categoryOrdinals, supplierOrdinals, tags, tagStarts, tagOrdinals)
        (self.text, self.textStarts, self.skuStarts, self.skuActive, self.skuPrices) = (
            text, textStarts, skuStarts, skuActive, skuPrices
        )
        (self.skusByBarcode, self.skusByCode) = (skusByBarcode, skusByCode)
    }

    /// Every product the query matches, unsorted.
    func matches(_ query: CatalogSearchIndex.Query) -> [CatalogSearchIndex.Hit] {
        // Filters become ordinals; a value no product has matches nothing.
        var categoryMask: [Bool]?
        if let wanted = query.categories {
            var mask = [Bool](repeating: false, count: categoryOrdinals.count)
            for id in wanted { if let ordinal = categoryOrdinals[id] { mask[Int(ordinal)] = true } }
            categoryMask = mask
        }
        var supplier: Int32 = -1
        if !query.supplierID.isEmpty {
            guard let known = supplierOrdinals[query.supplierID] else { return [] }
            supplier = known
        }
        var wantedTags: [Int32] = []
        for tag in query.tags {
            guard let known = tagOrdinals[tag] else { return [] }
            wantedTags.append(known)
        }
        let statuses = Array(query.statuses)
        let words = query.words.map { Array($0.utf8) }
        let keywordLower = Array(query.keyword.lowercased().utf8)
        // SKUs whose barcode or code equals the keyword find their product at once.
        var exactSkus: [Int32] = []
        if !query.keyword.isEmpty {
            exactSkus = (skusByBarcode[query.keyword] ?? []) + (skusByCode[query.keyword.lowercased()] ?? [])
            exactSkus.sort()
        }
        let hasPriceRange = query.minPrice != nil || query.maxPrice != nil
        let minPrice = query.minPrice ?? .min
        let maxPrice = query.maxPrice ?? .max

        var hits: [CatalogSearchIndex.Hit] = []
        self.statuses.withUnsafeBufferPointer { productStatuses in
            categories.withUnsafeBufferPointer { categories in
                suppliers.withUnsafeBufferPointer { suppliers in
                    tags.withUnsafeBufferPointer { tags in
                        tagStarts.withUnsafeBufferPointer { tagStarts in
                            text.withUnsafeBufferPointer { text in
                                textStarts.withUnsafeBufferPointer { textStarts in
                                    skuStarts.withUnsafeBufferPointer { skuStarts in
                                        skuActive.withUnsafeBufferPointer { skuActive in
                                            skuPrices.withUnsafeBufferPointer { skuPrices in
                                                for product in 0..<productStatuses.count {
                                                    if !statuses.isEmpty, !statuses.contains(productStatuses[product]) {
                                                        continue
                                                    }
                                                    if let categoryMask, !categoryMask[Int(categories[product])] {
                                                        continue
                                                    }
                                                    if supplier >= 0, suppliers[product] != supplier { continue }
                                                    if !wantedTags.isEmpty {
                                                        let own = tags[
                                                            Int(tagStarts[product])..<Int(tagStarts[product + 1])
                                                        ]
                                                        if !wantedTags.allSatisfy(own.contains) { continue }
                                                    }
                                                    let skuRange =
                                                        Int32(skuStarts[product])..<Int32(skuStarts[product + 1])
                                                    var matched: [Int32] = []
                                                    var relevance = 0.0
                                                    if !query.keyword.isEmpty {
                                                        matched = exactSkus.filter(skuRange.contains)
                                                        if !matched.isEmpty {
                                                            relevance = 100
                                                        } else {
                                                            let base = 4 * product
                                                            let name = Self.slice(
                                                                text,
                                                                textStarts[base],
                                                                textStarts[base + 1]
                                                            )
                                                            let tagText = Self.slice(
                                                                text,
                                                                textStarts[base + 1],
                                                                textStarts[base + 2]
                                                            )
                                                            let other = Self.slice(
                                                                text,
                                                                textStarts[base + 2],
                                                                textStarts[base + 3]
                                                            )
                                                            var all = true
                                                            for word in words {
                                                                var score = 0.0
                                                                if Self.contains(name, word) { score += 3 }
                                                                if Self.contains(tagText, word) { score += 2 }
                                                                if Self.contains(other, word) { score += 1 }
                                                                if score == 0 {
                                                                    all = false
                                                                    break
                                                                }
                                                                relevance += score
                                                            }
                                                            guard all else { continue }
                                                            if name.elementsEqual(keywordLower) { relevance += 5 }
                                                        }
                                                    }
                                                    if hasPriceRange {
                                                        let inRange = skuRange.filter { sku in
                                                            skuActive[Int(sku)] && skuPrices[Int(sku)] >= minPrice
                                                                && skuPrices[Int(sku)] <= maxPrice
                                                        }
                                                        matched =
                                                            matched.isEmpty ? inRange : matched.filter(inRange.contains)
                                                        if matched.isEmpty { continue }
                                                    }
                                                    let entry = entries[product]
                                                    let firstSku = Int32(skuStarts[product])
                                                    hits.append(
                                                        CatalogSearchIndex.Hit(
                                                            relevance: relevance,
                                                            matchedSkuIDs: matched.map {
                                                                entry.skus[Int($0 - firstSku)].id
                                                            },
                                                            entry: entry
                                                        )
                                                    )
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return hits
    }

    private static func slice(
        _ text: UnsafeBufferPointer<UInt8>,
        _ start: Int32,
        _ end: Int32
    ) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: text[Int(start)..<Int(end)])
    }

    /// Whether `needle` occurs in `haystack`: memchr finds candidates for the first
    /// byte, memcmp checks them (both vectorised in the C library).
    private static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        if needle.isEmpty { return true }
        guard needle.count <= haystack.count, let base = haystack.baseAddress else { return false }
        return needle.withUnsafeBufferPointer { pin in
            var offset = 0
            let last = haystack.count - pin.count
            while offset <= last {
                guard let found = memchr(base + offset, Int32(pin[0]), last - offset + 1) else { return false }
                if memcmp(found, pin.baseAddress!, pin.count) == 0 { return true }
                offset = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found)) + 1
            }
            return false
        }
    }
}
