import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension PromotionServiceProvider {
    /// The flags that fit each kind (a flag set on another kind is INVALID_ARGUMENT).
    private func checkFlags(_ promotion: Promotion) throws {
        let kind = promotion.kind
        let misplaced: [(Bool, String, Bool)] = [
            (promotion.combinesWithMemberDiscount, "combines_with_member_discount", kind == .timeLimitedDiscount),
            (promotion.combinesWithSpendAndSave, "combines_with_spend_and_save", kind == .timeLimitedDiscount),
            (promotion.combinesWithCoupons, "combines_with_coupons", kind != .coupon),
            (promotion.combinesWithOtherCoupons, "combines_with_other_coupons", kind == .coupon),
            (!promotion.sharedCode.isEmpty, "shared_code", kind == .coupon),
            (promotion.couponValidityDays != 0, "coupon_validity_days", kind == .coupon),
        ]
        for (set, field, fits) in misplaced where set && !fits {
            throw RPCError.invalidArgument(
                field: "promotion.\(field)",
                "does not apply to a \(kind.displayName) promotion"
            )
        }
    }

    /// A shared code free among promotions and issued coupons: ALREADY_EXISTS
    /// otherwise.
    private func checkCodeFree(_ code: String, in transaction: ServiceTransaction) async throws {
        let promotion = try await transaction.lookup(
            PromotionTables.promotions,
            PromotionTables.promotionCode,
            .string(code)
        )
        let coupon = try await transaction.lookup(PromotionTables.coupons, PromotionTables.couponCode, .string(code))
        if promotion != nil || coupon != nil {
            throw RPCError(
                code: .alreadyExists,
                message: "promotion.shared_code: the code '\(code)' is taken",
                fieldViolations: [.init(field: "promotion.shared_code", description: "taken")]
            )
        }
    }

    public func createPromotion(request: CreatePromotionRequest, context: RPCServerContext) async throws -> Promotion {
        guard let given = request.promotion else { throw RPCError.invalidArgument(field: "promotion", "is required") }
        let name = try Validate.text(given.name, field: "promotion.name", min: 1, max: 64)
        let description = try Validate.text(given.description, field: "promotion.description", max: 1000)
        let kind = try Validate.known(given.kind, field: "promotion.kind", noun: "promotion kind")
        guard kind != .unspecified else { throw RPCError.invalidArgument(field: "promotion.kind", "is required") }
        try checkFlags(given)
        let benefit = try validateBenefit(given.benefit, kind: kind, field: "promotion.benefit")
        let (starts, ends) = try validateWindow(starts: given.startsAt, ends: given.endsAt)
        let minSpend = try money(given.minSpend, field: "promotion.min_spend", required: false)
        let code = given.sharedCode.isEmpty ? "" : try Self.sharedCode(given.sharedCode, field: "promotion.shared_code")
        guard given.perCustomerLimit >= 0 else {
            throw RPCError.invalidArgument(field: "promotion.per_customer_limit", "must be 0 or more")
        }
        guard given.totalUsageLimit >= 0 else {
            throw RPCError.invalidArgument(field: "promotion.total_usage_limit", "must be 0 or more")
        }
        guard (0...366).contains(given.couponValidityDays) else {
            throw RPCError.invalidArgument(field: "promotion.coupon_validity_days", "must be 0 to 366")
        }
        let actor = try actor(context, request.actor)
        let created = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            let scope = try await validateScope(given.scope, field: "promotion.scope", in: transaction)
            let tiers = try await validateTiers(given.eligibleTiers, field: "promotion.eligible_tiers", in: transaction)
            if !code.isEmpty { try await checkCodeFree(code, in: transaction) }
            var promotion = Promotion(
                id: RecordIDs.make(prefix: "prm"),
                name: name,
                description: description,
                kind: kind,
                benefit: benefit,
                scope: scope,
                startsAt: starts,
                endsAt: ends,
                minSpend: minSpend.map { Money(minorUnits: $0, currency: currency) },
                eligibleTiers: tiers,
                combinesWithMemberDiscount: given.combinesWithMemberDiscount,
                combinesWithSpendAndSave: given.combinesWithSpendAndSave,
                combinesWithCoupons: given.combinesWithCoupons,
                combinesWithOtherCoupons: given.combinesWithOtherCoupons,
                sharedCode: code,
                perCustomerLimit: given.perCustomerLimit,
                totalUsageLimit: given.totalUsageLimit,
                couponValidityDays: given.couponValidityDays,
                discountTotal: Money(minorUnits: 0, currency: currency),
                createdBy: actor,
                createdAt: transaction.now,
                updatedAt: transaction.now,
                version: 1
            )
            promotion.status = Self.status(of: promotion, at: transaction.now)
            try await transaction.insert(PromotionTables.promotions, promotion)
            transaction.afterCommit { [pricing] in pricing.invalidate() }
            return promotion
        }
        return Self.shown(created, at: store.now())
    }

    public func getPromotion(request: GetPromotionRequest, context: RPCServerContext) async throws -> Promotion {
        Self.shown(
            try await store.latest.require(PromotionTables.promotions, request.id, field: "id"),
            at: store.now()
        )
    }

    public func listPromotions(
        request: ListPromotionsRequest,
        context: RPCServerContext
    ) async throws -> ListPromotionsResponse {
        let kind = try Validate.known(request.kind, field: "kind", noun: "promotion kind")
        let statuses = Set(try Validate.known(request.statuses, field: "statuses", noun: "promotion status"))
        let activeAt = try request.activeAt.map { try Validate.timestamp($0, field: "active_at") }
        let sku = request.skuID.isEmpty ? nil : try Validate.id(request.skuID, field: "sku_id")
        let now = store.now()
        // The SKU's product and categories, for scopes that name those.
        var skuProduct = ""
        var skuCategories: [String] = []
        if let sku {
            let (product, categories) = try await store.read { reader in
                guard let found = try await catalog.sku(sku, in: reader) else { return ("", [String]()) }
                var categories: [String] = []
                var next = try await catalog.product(found.productID, in: reader)?.categoryID ?? ""
                while !next.isEmpty, categories.count < 16, !categories.contains(next) {
                    categories.append(next)
                    next = try await catalog.category(next, in: reader)?.parentID ?? ""
                }
                return (found.productID, categories)
            }
            skuProduct = product
            skuCategories = categories
        }
        let productOfSku = skuProduct
        let categoriesOfSku = skuCategories
        let page = try await store.newestFirst(
            PromotionTables.promotions,
            by: [],
            page: request.page,
            filters: [
                "kind=\(kind.rawValue)", "statuses=\(statuses.map { "\($0.rawValue)" }.sorted())",
                "active_at=\(activeAt.map { "\(Timestamps.nanos($0))" } ?? "")", "sku=\(sku ?? "")",
            ],
            predicate: { promotion in
                if kind != .unspecified, promotion.kind != kind { return false }
                if !statuses.isEmpty, !statuses.contains(Self.status(of: promotion, at: now)) { return false }
                if let activeAt {
                    let time = Timestamps.nanos(activeAt)
                    guard promotion.status != .deactivated, Timestamps.nanos(promotion.startsAt) <= time,
                        time < Timestamps.nanos(promotion.endsAt)
                    else { return false }
                }
                if let sku {
                    let scope = promotion.scope ?? PromotionScope()
                    guard !scope.excludedSkuIDs.contains(sku) else { return false }
                    return scope.allItems || scope.skuIDs.contains(sku)
                        || (!productOfSku.isEmpty && scope.productIDs.contains(productOfSku))
                        || scope.categoryIDs.contains { categoriesOfSku.contains($0) }
                }
                return true
            }
        )
        return ListPromotionsResponse(
            promotions: page.records.map { Self.shown($0, at: now) },
            nextPageToken: page.nextPageToken
        )
    }

    public func updatePromotion(request: UpdatePromotionRequest, context: RPCServerContext) async throws -> Promotion {
        let name = try request.name.map { try Validate.text($0, field: "name", min: 1, max: 64) }
        let description = try request.description.map { try Validate.text($0, field: "description", max: 1000) }
        let minSpend = try request.minSpend.map { try money($0, field: "min_spend")! }
        if let limit = request.perCustomerLimit, limit < 0 {
            throw RPCError.invalidArgument(field: "per_customer_limit", "must be 0 or more")
        }
        if let limit = request.totalUsageLimit, limit < 0 {
            throw RPCError.invalidArgument(field: "total_usage_limit", "must be 0 or more")
        }
        let starts = try request.startsAt.map { try Validate.timestamp($0, field: "starts_at") }
        let ends = try request.endsAt.map { try Validate.timestamp($0, field: "ends_at") }
        _ = try actor(context, request.actor)
        let updated = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.promotionLock(request.id)]
        ) { transaction in
            let changed = try await transaction.modify(
                PromotionTables.promotions,
                request.id,
                field: "id",
                expectedVersion: request.expectedVersion
            ) { promotion in
                let status = Self.status(of: promotion, at: transaction.now)
                guard status != .deactivated else {
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "id: promotion '\(promotion.id)' is DEACTIVATED and cannot change"
                    )
                }
                let onlyScheduled: [(Bool, String)] = [
                    (request.benefit != nil, "benefit"), (request.scope != nil, "scope"),
                    (request.startsAt != nil, "starts_at"),
                ]
                for (given, field) in onlyScheduled where given && status != .scheduled {
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "\(field): promotion '\(promotion.id)' is \(status.displayName); "
                            + "benefit, scope and start change only while it is SCHEDULED"
                    )
                }
                if let name { promotion.name = name }
                if let description { promotion.description = description }
                if request.benefit != nil {
                    promotion.benefit = try validateBenefit(request.benefit, kind: promotion.kind, field: "benefit")
                }
                if request.scope != nil {
                    promotion.scope = try await validateScope(request.scope, field: "scope", in: transaction)
                }
                if let starts {
                    guard !Timestamps.isPast(starts, now: transaction.now) else {
                        throw RPCError.invalidArgument(field: "starts_at", "must be in the future")
                    }
                    promotion.startsAt = starts
                }
                if let ends {
                    guard !Timestamps.isPast(ends, now: transaction.now) else {
                        throw RPCError.invalidArgument(field: "ends_at", "must not be in the past")
                    }
                    promotion.endsAt = ends
                }
                if starts != nil || ends != nil {
                    _ = try validateWindow(starts: promotion.startsAt, ends: promotion.endsAt)
                }
                if let minSpend {
                    promotion.minSpend = minSpend == 0 ? nil : Money(minorUnits: minSpend, currency: currency)
                }
                if request.eligibleTiers != nil {
                    promotion.eligibleTiers = try await validateTiers(
                        request.eligibleTiers,
                        field: "eligible_tiers",
                        in: transaction
                    )
                }
                if let limit = request.perCustomerLimit { promotion.perCustomerLimit = limit }
                if let limit = request.totalUsageLimit {
                    let used = max(promotion.usageCount, promotion.kind == .coupon ? promotion.issuedCouponCount : 0)
                    guard limit == 0 || limit >= used else {
                        throw RPCError(
                            code: .failedPrecondition,
                            message: "total_usage_limit: \(limit) is below the \(used) already used or issued"
                        )
                    }
                    promotion.totalUsageLimit = limit
                }
                promotion.status = Self.status(of: promotion, at: transaction.now)
            }
            transaction.afterCommit { [pricing] in pricing.invalidate() }
            return changed
        }
        return Self.shown(updated, at: store.now())
    }

    public func deactivatePromotion(
        request: DeactivatePromotionRequest,
        context: RPCServerContext
    ) async throws -> Promotion {
        let reason = try Validate.text(request.reason, field: "reason", min: 1, max: 256)
        _ = try actor(context, request.actor)
        let promotion = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.promotionLock(request.id)]
        ) { transaction in
            var promotion = try await transaction.require(PromotionTables.promotions, request.id, field: "id")
            guard promotion.status != .deactivated else { return promotion }
            promotion.status = .deactivated
            promotion.deactivatedAt = transaction.now
            promotion.deactivationReason = reason
            try await transaction.updateVersioned(PromotionTables.promotions, &promotion)
            transaction.afterCommit { [pricing] in pricing.invalidate() }
            return promotion
        }
        return Self.shown(promotion, at: store.now())
    }
}
