import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CatalogServiceProvider {
    /// Counts an approved review in (or out of, with `delta` -1) its product's rating.
    private func adjustRating(
        _ transaction: ServiceTransaction,
        productID: String,
        rating: Int32,
        delta: Int64
    ) async throws {
        guard var product = try await transaction.get(CatalogTables.products, .string(productID)) else { return }
        var summary = product.ratingSummary ?? ProductRatingSummary(ratingCounts: [0, 0, 0, 0, 0])
        if summary.ratingCounts.count != 5 { summary.ratingCounts = [0, 0, 0, 0, 0] }
        summary.ratingCounts[Int(rating) - 1] = max(0, summary.ratingCounts[Int(rating) - 1] + delta)
        summary.reviewCount = summary.ratingCounts.reduce(0, +)
        let weighted = summary.ratingCounts.enumerated().reduce(0) { $0 + Int64($1.offset + 1) * $1.element }
        summary.averageRating = summary.reviewCount == 0 ? 0 : Double(weighted) / Double(summary.reviewCount)
        product.ratingSummary = summary
        // Ratings are output only: they do not change the product's version.
        try await transaction.update(CatalogTables.products, product)
        index(product, after: transaction)
    }

    public func createProductReview(
        request: CreateProductReviewRequest,
        context: RPCServerContext
    ) async throws -> ProductReview {
        let customerID = try Validate.text(request.customerID, field: "customer_id", min: 1, max: 64)
        let orderID = request.orderID.isEmpty ? "" : try Validate.id(request.orderID, field: "order_id")
        guard (1...5).contains(request.rating) else {
            throw RPCError.invalidArgument(field: "rating", "must be 1 to 5, got \(request.rating)")
        }
        let text = try Validate.text(request.text, field: "text", max: 2000)
        let images = try validateImageURLs(request.imageURLs, field: "image_urls", maxCount: 9)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let product = try await transaction.require(CatalogTables.products, request.productID, field: "product_id")
            if !request.skuID.isEmpty, !product.skus.contains(where: { $0.id == request.skuID }) {
                throw RPCError(
                    code: .notFound,
                    message: "sku_id: product '\(product.id)' has no SKU '\(request.skuID)'"
                )
            }
            let now = transaction.now
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
    }

    /// Which moderation statuses may follow which.
    static let reviewStatuses = StatusMachine<ProductReviewStatus>(
        "review",
        [.pending: [.approved, .rejected], .approved: [.hidden], .hidden: [.approved], .rejected: [.approved]]
    )

    public func moderateProductReview(
        request: ModerateProductReviewRequest,
        context: RPCServerContext
    ) async throws -> ProductReview {
        switch request.status {
        case .approved, .rejected, .hidden: break
        default: throw RPCError.invalidArgument(field: "status", "must be APPROVED, REJECTED or HIDDEN")
        }
        let reason = try Validate.text(request.reason, field: "reason", max: 500)
        if reason.isEmpty, request.status != .approved {
            throw RPCError.invalidArgument(field: "reason", "is required when rejecting or hiding")
        }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            try await transaction.modify(
                CatalogTables.reviews,
                request.reviewID,
                field: "review_id",
                expectedVersion: request.expectedVersion
            ) { review in
                let before = review.status
                try Self.reviewStatuses.move(
                    &review,
                    to: request.status,
                    field: "status",
                    at: transaction.now,
                    actor: context.actor
                )
                if before == .approved {
                    try await adjustRating(transaction, productID: review.productID, rating: review.rating, delta: -1)
                }
                if request.status == .approved {
                    try await adjustRating(transaction, productID: review.productID, rating: review.rating, delta: 1)
                }
                review.moderationReason = reason
                review.moderatedBy = context.actor
                review.moderatedAt = transaction.now
            }
        }
    }

    public func replyToProductReview(
        request: ReplyToProductReviewRequest,
        context: RPCServerContext
    ) async throws -> ProductReview {
        let text = try Validate.text(request.text, field: "text", max: 1000)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            try await transaction.modify(
                CatalogTables.reviews,
                request.reviewID,
                field: "review_id",
                expectedVersion: request.expectedVersion
            ) { review in
                guard review.status != .rejected else {
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "review_id: a REJECTED review cannot be replied to"
                    )
                }
                review.reply =
                    text.isEmpty
                    ? nil : ProductReviewReply(text: text, repliedBy: context.actor, repliedAt: transaction.now)
            }
        }
    }

    public func listProductReviews(
        request: ListProductReviewsRequest,
        context: RPCServerContext
    ) async throws -> ListProductReviewsResponse {
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
            if !request.productID.isEmpty {
                _ = try await reader.require(CatalogTables.products, request.productID, field: "product_id")
            }
            // Review ids sort by creation time, so index order is creation order.
            var query = RecordQuery<ProductReview>(
                direction: descending ? .reverse : .forward,
                pageSize: pageSize,
                pageToken: request.page?.pageToken,
                filters: filters,
                predicate: predicate
            )
            if !request.productID.isEmpty {
                query.index = CatalogTables.reviewProduct
                query.prefix = [.string(request.productID)]
            } else if !request.customerID.isEmpty {
                query.index = CatalogTables.reviewCustomer
                query.prefix = [.string(request.customerID)]
            }
            guard request.sort == .rating else {
                let page = try await reader.page(CatalogTables.reviews, query)
                return ListProductReviewsResponse(reviews: page.records, nextPageToken: page.nextPageToken)
            }
            // By rating: gather the matches (bounded), sort, then page by offset.
            var scan = query
            scan.direction = .reverse
            var all = try await reader.all(CatalogTables.reviews, scan, limit: 10_000)
            all.sort { a, b in
                if a.rating != b.rating { return descending ? a.rating > b.rating : a.rating < b.rating }
                return a.id > b.id
            }
            let page = try Paging.page(all, request: request.page, field: "page", filters: filters)
            return ListProductReviewsResponse(reviews: page.items, nextPageToken: page.nextToken)
        }
    }
}
