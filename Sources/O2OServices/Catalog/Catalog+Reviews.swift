import O2OMessages
import O2ORPC
import O2OStorage

extension CatalogServiceProvider {
    private func requireReview(_ reader: some RecordReading, _ id: String) async throws -> ProductReview {
        let id = try Validate.id(id, field: "review_id")
        guard let review = try await reader.get(CatalogTables.reviews, .string(id)) else {
            throw RPCError(code: .notFound, message: "review_id: no review '\(id)'")
        }
        return review
    }

    /// Counts an approved review in (or out of, with `delta` -1) its product's rating.
    private func adjustRating(
        _ transaction: RecordTransaction,
        productID: String,
        rating: Int32,
        delta: Int64
    ) async throws -> Product? {
        guard var product = try await transaction.get(CatalogTables.products, .string(productID)) else { return nil }
        var summary = product.ratingSummary ?? ProductRatingSummary(ratingCounts: [0, 0, 0, 0, 0])
        if summary.ratingCounts.count != 5 { summary.ratingCounts = [0, 0, 0, 0, 0] }
        summary.ratingCounts[Int(rating) - 1] = max(0, summary.ratingCounts[Int(rating) - 1] + delta)
        summary.reviewCount = summary.ratingCounts.reduce(0, +)
        let weighted = summary.ratingCounts.enumerated().reduce(0) { $0 + Int64($1.offset + 1) * $1.element }
        summary.averageRating = summary.reviewCount == 0 ? 0 : Double(weighted) / Double(summary.reviewCount)
        product.ratingSummary = summary
        // Ratings are output only: they do not change the product's version.
        try await transaction.update(CatalogTables.products, product)
        return product
    }

    func createProductReviewImpl(
        _ request: CreateProductReviewRequest,
        _ context: RPCServerContext
    ) async throws -> ProductReview {
        let customerID = try Validate.text(request.customerID, field: "customer_id", min: 1, max: 64)
        let orderID = request.orderID.isEmpty ? "" : try Validate.id(request.orderID, field: "order_id")
        guard (1...5).contains(request.rating) else {
            throw RPCError.invalidArgument(field: "rating", "must be 1 to 5, got \(request.rating)")
        }
        let text = try Validate.text(request.text, field: "text", max: 2000)
        let images = try validateImageURLs(request.imageURLs, field: "image_urls", maxCount: 9)
        let (review, _) = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            let product = try await requireProduct(transaction, request.productID)
            if !request.skuID.isEmpty, !product.skus.contains(where: { $0.id == request.skuID }) {
                throw RPCError(
                    code: .notFound,
                    message: "sku_id: product '\(product.id)' has no SKU '\(request.skuID)'"
                )
            }
            let now = Clock.now()
            let review = ProductReview(
                id: RecordIDs.make(prefix: "rev"),
                productID: product.id,
                skuID: request.skuID,
                customerID: customerID,
                orderID: orderID,
                rating: request.rating,
                text: text,
                imageURLs: images,
                anonymous: request.anonymous,
                status: .pending,
                createdAt: now,
                updatedAt: now,
                version: 1
            )
            do {
                try await transaction.insert(CatalogTables.reviews, review)
            } catch let error as RecordError where error.code == .alreadyExists {
                throw RPCError(
                    code: .alreadyExists,
                    message: "order_id: customer '\(customerID)' has already reviewed this item of order '\(orderID)'"
                )
            }
            return review
        }
        return review
    }

    func moderateProductReviewImpl(
        _ request: ModerateProductReviewRequest,
        _ context: RPCServerContext
    ) async throws -> ProductReview {
        switch request.status {
        case .approved, .rejected, .hidden: break
        default: throw RPCError.invalidArgument(field: "status", "must be APPROVED, REJECTED or HIDDEN")
        }
        let reason = try Validate.text(request.reason, field: "reason", max: 500)
        if reason.isEmpty, request.status != .approved {
            throw RPCError.invalidArgument(field: "reason", "is required when rejecting or hiding")
        }
        var product: Product?
        let (review, _) = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            var review = try await requireReview(transaction, request.reviewID)
            try Validate.version(request.expectedVersion, actual: review.version, subject: "review '\(review.id)'")
            switch (review.status, request.status) {
            case (.pending, .approved), (.pending, .rejected), (.approved, .hidden), (.hidden, .approved),
                (.rejected, .approved):
                break
            default:
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "status: a \(review.status.protoValueName ?? "?") review cannot become \(request.status.protoValueName ?? "?")"
                )
            }
            if review.status == .approved {
                product = try await adjustRating(
                    transaction,
                    productID: review.productID,
                    rating: review.rating,
                    delta: -1
                )
            }
            if request.status == .approved {
                product = try await adjustRating(
                    transaction,
                    productID: review.productID,
                    rating: review.rating,
                    delta: 1
                )
            }
            let now = Clock.now()
            review.status = request.status
            review.moderationReason = reason
            review.moderatedBy = context.actor
            review.moderatedAt = now
            review.updatedAt = now
            review.version += 1
            try await transaction.update(CatalogTables.reviews, review)
            return review
        }
        if let product { searchIndex.upsert(product) } else { try await refreshIndex(productID: review.productID) }
        return review
    }

    func replyToProductReviewImpl(
        _ request: ReplyToProductReviewRequest,
        _ context: RPCServerContext
    ) async throws -> ProductReview {
        let text = try Validate.text(request.text, field: "text", max: 1000)
        let (review, _) = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            var review = try await requireReview(transaction, request.reviewID)
            try Validate.version(request.expectedVersion, actual: review.version, subject: "review '\(review.id)'")
            guard review.status != .rejected else {
                throw RPCError(code: .failedPrecondition, message: "review_id: a REJECTED review cannot be replied to")
            }
            let now = Clock.now()
            review.reply = text.isEmpty ? nil : ProductReviewReply(text: text, repliedBy: context.actor, repliedAt: now)
            review.updatedAt = now
            review.version += 1
            try await transaction.update(CatalogTables.reviews, review)
            return review
        }
        return review
    }

    func listProductReviewsImpl(_ request: ListProductReviewsRequest) async throws -> ListProductReviewsResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        if let rating = request.rating, !(1...5).contains(rating) {
            throw RPCError.invalidArgument(field: "rating", "must be 1 to 5, got \(rating)")
        }
        let statuses = Set(request.statuses)
        let rating = request.rating
        let hasReply = request.hasReply
        let customerID = request.customerID
        let predicate: @Sendable (ProductReview) -> Bool = { review in
            (statuses.isEmpty || statuses.contains(review.status)) && (rating.map { review.rating == $0 } ?? true)
                && (hasReply.map { (review.reply != nil) == $0 } ?? true)
                && (customerID.isEmpty || review.customerID == customerID)
        }
        let descending = request.order != .ascending
        let filters = [
            request.productID, request.customerID, request.statuses.map { "\($0.rawValue)" }.joined(separator: ","),
            rating.map { "\($0)" } ?? "", hasReply.map { "\($0)" } ?? "", "\(request.sort.rawValue)", "\(descending)",
        ]
        return try await store.read { reader in
            if !request.productID.isEmpty { _ = try await requireProduct(reader, request.productID) }
            // Review ids sort by creation time, so index order is creation order.
            var query = RecordQuery<ProductReview>(
                direction: descending ? .reverse : .forward,
                pageSize: pageSize,
                pageToken: request.page?.pageToken,
                filters: filters,
                predicate: predicate
            )
            if !request.productID.isEmpty {
                query.index = CatalogTables.reviews.indexes[0]
                query.prefix = [.string(request.productID)]
            } else if !request.customerID.isEmpty {
                query.index = CatalogTables.reviews.indexes[1]
                query.prefix = [.string(request.customerID)]
            }
            guard request.sort == .rating else {
                let page = try await reader.page(CatalogTables.reviews, query)
                return ListProductReviewsResponse(reviews: page.records, nextPageToken: page.nextPageToken)
            }
            // By rating: gather the matches (bounded), sort, then page by offset.
            var all: [ProductReview] = []
            var scan = query
            scan.pageSize = 500
            scan.pageToken = nil
            scan.direction = .reverse
            repeat {
                let chunk = try await reader.page(CatalogTables.reviews, scan)
                all += chunk.records
                scan.pageToken = chunk.nextPageToken
            } while !(scan.pageToken ?? "").isEmpty && all.count < 10_000
            all.sort { a, b in
                if a.rating != b.rating { return descending ? a.rating > b.rating : a.rating < b.rating }
                return a.id > b.id
            }
            let page = try Paging.page(all, request: request.page, field: "page", filters: filters)
            return ListProductReviewsResponse(reviews: page.items, nextPageToken: page.nextToken)
        }
    }
}
