import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CatalogServiceProvider {
    static let maximumDepth: Int32 = 4

    /// Validated descriptive fields of a category.
    private struct CategoryFields {
        var name: String
        var nameEn: String
        var description: String
        var tags: [String]
        var labels: [Label]
        var imageURL: String
    }

    private func sortOrderAfterLastSibling(_ transaction: ServiceTransaction, parentID: String) async throws -> Int32 {
        let last = try await transaction.page(
            CatalogTables.categories,
            RecordQuery(
                index: CatalogTables.categorySiblings,
                prefix: [.string(parentID)],
                direction: .reverse,
                pageSize: 1
            )
        )
        guard let sortOrder = last.records.first?.sortOrder else { return 10 }
        return sortOrder > Int32.max - 10 ? Int32.max : sortOrder + 10
    }

    /// An insert or update that may hit the sibling-name index, with its message.
    private func writeCategory(_ transaction: ServiceTransaction, _ category: inout Category, insert: Bool) async throws
    {
        do {
            if insert {
                try await transaction.insert(CatalogTables.categories, category)
            } else {
                try await transaction.updateVersioned(CatalogTables.categories, &category)
            }
            index(category, after: transaction)
        } catch let error as RecordError where error.code == .alreadyExists && error.subject.hasSuffix("sibling_name") {
            throw RPCError(
                code: .alreadyExists,
                message: "name: a sibling category is already called '\(category.name)'",
                fieldViolations: [.init(field: "name", description: "taken by a sibling")]
            )
        }
    }

    private func adjustChildCount(_ transaction: ServiceTransaction, _ parentID: String, by delta: Int32) async throws {
        guard !parentID.isEmpty, var parent = try await transaction.get(CatalogTables.categories, .string(parentID))
        else { return }
        parent.childCount += delta
        try await transaction.update(CatalogTables.categories, parent)
    }

    public func createCategory(request: CreateCategoryRequest, context: RPCServerContext) async throws -> Category {
        let name = try Validate.text(request.name, field: "name", min: 1, max: 64)
        let nameEn = try Validate.text(request.nameEn, field: "name_en", max: 64)
        let description = try Validate.text(request.description, field: "description", max: 1000)
        let tags = try Validate.tags(request.tags, field: "tags", maxCount: 16)
        let labels = try Validate.labels(request.labels, field: "labels")
        let imageURL = try Validate.url(request.imageURL, field: "image_url")
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var depth: Int32 = 0
            if !request.parentID.isEmpty {
                let parent = try await transaction.require(
                    CatalogTables.categories,
                    request.parentID,
                    field: "parent_id"
                )
                depth = parent.depth + 1
                guard depth <= Self.maximumDepth else {
                    throw RPCError(
                        code: .failedPrecondition,
                        message:
                            "parent_id: '\(parent.name)' is at depth \(parent.depth); categories go at most \(Self.maximumDepth + 1) levels deep"
                    )
                }
            }
            let sortOrder: Int32
            if let given = request.sortOrder {
                sortOrder = given
            } else {
                sortOrder = try await sortOrderAfterLastSibling(transaction, parentID: request.parentID)
            }
            let now = transaction.now
            var category = Category(
                id: RecordIDs.make(prefix: "cat"),
                parentID: request.parentID,
                name: name,
                nameEn: nameEn,
                description: description,
                sortOrder: sortOrder,
                depth: depth,
                tags: tags,
                labels: labels,
                imageURL: imageURL,
                createdAt: now,
                updatedAt: now,
                version: 1
            )
            try await writeCategory(transaction, &category, insert: true)
            try await adjustChildCount(transaction, request.parentID, by: 1)
            return category
        }
    }

    public func updateCategory(request: UpdateCategoryRequest, context: RPCServerContext) async throws -> Category {
        let name = try request.name.map { try Validate.text($0, field: "name", min: 1, max: 64) }
        let nameEn = try request.nameEn.map { try Validate.text($0, field: "name_en", max: 64) }
        let description = try request.description.map { try Validate.text($0, field: "description", max: 1000) }
        let tags = try request.tags.map { try Validate.tags($0.values, field: "tags.values", maxCount: 16) }
        let labels = try request.labels.map { try Validate.labels($0.labels, field: "labels.labels") }
        let imageURL = try request.imageURL.map { try Validate.url($0, field: "image_url") }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var category = try await transaction.require(
                CatalogTables.categories,
                request.categoryID,
                field: "category_id",
                expectedVersion: request.expectedVersion
            )
            if let name { category.name = name }
            if let nameEn { category.nameEn = nameEn }
            if let description { category.description = description }
            if let tags { category.tags = tags }
            if let labels { category.labels = labels }
            if let imageURL { category.imageURL = imageURL }
            try await writeCategory(transaction, &category, insert: false)
            return category
        }
    }

    /// Every category below `id`, breadth first.
    private func descendants(_ reader: some RecordReading, of id: String) async throws -> [Category] {
        var result: [Category] = []
        var queue = [id]
        while let parent = queue.popLast() {
            let children = try await children(reader, of: parent)
            result += children
            queue += children.map(\.id)
            guard result.count <= 100_000 else { break }
        }
        return result
    }

    /// The direct children of a parent ("" for the roots), in sibling order.
    func children(_ reader: some RecordReading, of parentID: String) async throws -> [Category] {
        try await reader.all(
            CatalogTables.categories,
            RecordQuery(index: CatalogTables.categorySiblings, prefix: [.string(parentID)], pageSize: 500),
            limit: .max
        )
    }

    public func moveCategory(request: MoveCategoryRequest, context: RPCServerContext) async throws -> Category {
        try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var category = try await transaction.require(
                CatalogTables.categories,
                request.categoryID,
                field: "category_id",
                expectedVersion: request.expectedVersion
            )
            var newDepth: Int32 = 0
            if !request.newParentID.isEmpty {
                let parent = try await transaction.require(
                    CatalogTables.categories,
                    request.newParentID,
                    field: "new_parent_id"
                )
                // Walk up from the new parent: meeting the category means a cycle.
                var cursor: Category? = parent
                while let current = cursor {
                    if current.id == category.id {
                        throw RPCError(
                            code: .failedPrecondition,
                            message: "new_parent_id: '\(parent.name)' is the category itself or below it"
                        )
                    }
                    cursor =
                        current.parentID.isEmpty
                        ? nil : try await transaction.get(CatalogTables.categories, .string(current.parentID))
                }
                newDepth = parent.depth + 1
            }
            let below = try await descendants(transaction, of: category.id)
            let height = (below.map(\.depth).max() ?? category.depth) - category.depth
            guard newDepth + height <= Self.maximumDepth else {
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "new_parent_id: the subtree is \(height + 1) levels deep and would go below depth \(Self.maximumDepth)"
                )
            }
            let oldParent = category.parentID
            let delta = newDepth - category.depth
            category.parentID = request.newParentID
            category.depth = newDepth
            if let sortOrder = request.sortOrder {
                category.sortOrder = sortOrder
            } else if oldParent != request.newParentID {
                category.sortOrder = try await sortOrderAfterLastSibling(transaction, parentID: request.newParentID)
            }
            try await writeCategory(transaction, &category, insert: false)
            if delta != 0 {
                for var descendant in below {
                    descendant.depth += delta
                    try await transaction.update(CatalogTables.categories, descendant)
                }
            }
            if oldParent != request.newParentID {
                try await adjustChildCount(transaction, oldParent, by: -1)
                try await adjustChildCount(transaction, request.newParentID, by: 1)
            }
            return category
        }
    }

    public func reorderCategories(
        request: ReorderCategoriesRequest,
        context: RPCServerContext
    ) async throws -> ReorderCategoriesResponse {
        guard request.categoryIDs.count <= 1000 else {
            throw RPCError.invalidArgument(field: "category_ids", "at most 1000 ids, got \(request.categoryIDs.count)")
        }
        var seen = Set<String>()
        for (index, id) in request.categoryIDs.enumerated() where !seen.insert(id).inserted {
            throw RPCError.invalidArgument(field: "category_ids[\(index)]", "'\(id)' is listed twice")
        }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            if !request.parentID.isEmpty {
                _ = try await transaction.require(CatalogTables.categories, request.parentID, field: "parent_id")
            }
            let current = try await children(transaction, of: request.parentID)
            guard Set(current.map(\.id)) == seen else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "category_ids: must list exactly the \(current.count) current children of the parent"
                )
            }
            let byID = Dictionary(uniqueKeysWithValues: current.map { ($0.id, $0) })
            var reordered: [Category] = []
            for (offset, id) in request.categoryIDs.enumerated() {
                var category = byID[id]!
                let sortOrder = Int32((offset + 1) * 10)
                if category.sortOrder != sortOrder {
                    category.sortOrder = sortOrder
                    try await transaction.updateVersioned(CatalogTables.categories, &category)
                    index(category, after: transaction)
                }
                reordered.append(category)
            }
            return ReorderCategoriesResponse(categories: reordered)
        }
    }

    public func deleteCategory(request: DeleteCategoryRequest, context: RPCServerContext) async throws -> Empty {
        try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let category = try await transaction.require(
                CatalogTables.categories,
                request.categoryID,
                field: "category_id",
                expectedVersion: request.expectedVersion
            )
            guard category.childCount == 0 else {
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "category_id: '\(category.name)' has \(category.childCount) child categories; move or delete them first"
                )
            }
            guard category.productCount == 0 else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "category_id: '\(category.name)' has \(category.productCount) products; move them first"
                )
            }
            try await transaction.delete(CatalogTables.categories, .string(category.id))
            try await adjustChildCount(transaction, category.parentID, by: -1)
            let searchIndex = self.searchIndex
            transaction.afterCommit { searchIndex.removeCategory(category.id) }
            return Empty()
        }
    }

    public func listCategoryChildren(
        request: ListCategoryChildrenRequest,
        context: RPCServerContext
    ) async throws -> ListCategoryChildrenResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        return try await store.read { reader in
            if !request.parentID.isEmpty {
                _ = try await reader.require(CatalogTables.categories, request.parentID, field: "parent_id")
            }
            guard request.includeDescendants else {
                let page = try await reader.page(
                    CatalogTables.categories,
                    RecordQuery(
                        index: CatalogTables.categorySiblings,
                        prefix: [.string(request.parentID)],
                        pageSize: pageSize,
                        pageToken: request.page?.pageToken,
                        filters: ["children", request.parentID]
                    )
                )
                return ListCategoryChildrenResponse(categories: page.records, nextPageToken: page.nextPageToken)
            }
            // Depth first, each level in sibling order.
            var ordered: [Category] = []
            var stack = try await children(reader, of: request.parentID).reversed().map { $0 }
            while let next = stack.popLast() {
                ordered.append(next)
                stack += try await children(reader, of: next.id).reversed()
            }
            let page = try Paging.page(ordered, request: request.page, field: "page")
            return ListCategoryChildrenResponse(categories: page.items, nextPageToken: page.nextToken)
        }
    }

    public func getCategoryPath(
        request: GetCategoryPathRequest,
        context: RPCServerContext
    ) async throws -> GetCategoryPathResponse {
        try await store.read { reader in
            var path = [try await reader.require(CatalogTables.categories, request.categoryID, field: "category_id")]
            while let parentID = path.first?.parentID, !parentID.isEmpty, path.count <= 10 {
                guard let parent = try await reader.get(CatalogTables.categories, .string(parentID)) else { break }
                path.insert(parent, at: 0)
            }
            return GetCategoryPathResponse(categories: path, displayPath: path.map(\.name).joined(separator: " > "))
        }
    }
}
