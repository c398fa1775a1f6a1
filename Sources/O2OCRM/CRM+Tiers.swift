import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CrmServiceProvider {
    /// Every tier, lowest rank first.
    func allTiers(_ reader: some RecordReading) async throws -> [MembershipTier] {
        try await reader.all(CRMTables.tiers, RecordQuery(index: CRMTables.tierRank, pageSize: 500), limit: .max)
    }

    /// The highest-ranked tier whose threshold `spend` reaches; nil before any tier
    /// exists.
    func tier(forSpend spend: Int64, in reader: some RecordReading) async throws -> MembershipTier? {
        try await allTiers(reader).last { ($0.minQualifyingSpend?.minorUnits ?? 0) <= spend }
    }

    /// Qualifying spend: what the customer's completed orders in the tier window paid
    /// (net of refunds), or the lifetime spend when the window is 0.
    func qualifyingSpend(
        of customer: Customer,
        settings: LoyaltySettings,
        in reader: some RecordReading,
        now: Timestamp
    ) async throws -> Int64 {
        guard settings.tierWindowDays > 0 else { return customer.purchaseStats?.lifetimeSpend?.minorUnits ?? 0 }
        let since = Timestamps.nanos(now) &- Int64(settings.tierWindowDays) &* 86_400_000_000_000
        var total: Int64 = 0
        try await reader.forEachPage(
            CRMTables.orders,
            RecordQuery(
                index: CRMTables.orderCompleted,
                prefix: [.string(customer.id)],
                lowerBound: [.int(since)],
                pageSize: 500
            )
        ) { orders in
            for order in orders {
                let net = (order.paidAmount?.minorUnits ?? 0) - (order.refundedAmount?.minorUnits ?? 0)
                total = try Checked.add(total, max(0, net), field: "qualifying_spend")
            }
        }
        return total
    }

    /// Re-evaluates the customer's qualifying spend and tier (in the caller's change).
    func evaluateTier(_ customer: inout Customer, in transaction: ServiceTransaction) async throws {
        let settings = try await settings(transaction)
        let spend = try await qualifyingSpend(of: customer, settings: settings, in: transaction, now: transaction.now)
        var stats = customer.purchaseStats ?? CustomerPurchaseStats()
        stats.qualifyingSpend = Money(minorUnits: spend, currency: settings.currency)
        customer.purchaseStats = stats
        let tierID = try await tier(forSpend: spend, in: transaction)?.id ?? ""
        if tierID != customer.tierID {
            customer.tierID = tierID
            customer.tierSince = transaction.now
        }
    }

    /// The money of a tier threshold: the loyalty currency, not negative.
    private func threshold(_ money: Money?, field: String, currency: String) throws -> Money {
        guard let money = try Validate.money(money, field: field, currency: currency, required: true) else {
            throw RPCError.invalidArgument(field: field, "is required")
        }
        return money
    }

    /// Tiers ordered by rank must have rising thresholds, and exactly one (the base)
    /// has zero.
    private func checkLadder(_ tiers: [MembershipTier], field: String) throws {
        let sorted = tiers.sorted { $0.rank < $1.rank }
        guard sorted.first.map({ ($0.minQualifyingSpend?.minorUnits ?? 0) == 0 }) ?? true else {
            throw RPCError.invalidArgument(
                field: field,
                "the lowest-ranked tier is the base tier: its min_qualifying_spend must be 0"
            )
        }
        for (lower, higher) in zip(sorted, sorted.dropFirst())
        where (higher.minQualifyingSpend?.minorUnits ?? 0) <= (lower.minQualifyingSpend?.minorUnits ?? 0) {
            throw RPCError.invalidArgument(
                field: field,
                "tier '\(higher.code)' (rank \(higher.rank)) must need more spend than '\(lower.code)' (rank \(lower.rank))"
            )
        }
    }

    private func validateTierCode(_ code: String) throws -> String {
        guard (1...32).contains(code.utf8.count),
            code.utf8.allSatisfy({
                ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f || $0 == 0x2d
            })
        else {
            throw RPCError.invalidArgument(field: "code", "must be 1 to 32 characters of [a-z0-9_-]")
        }
        return code
    }

    private func validateBps(_ value: Int32, field: String, max: Int32) throws -> Int32 {
        guard (0...max).contains(value) else {
            throw RPCError.invalidArgument(field: field, "must be 0 to \(max), got \(value)")
        }
        return value
    }

    /// Writes a tier, turning a clash of code or rank into ALREADY_EXISTS naming it.
    private func writeTier(_ tier: MembershipTier, in transaction: ServiceTransaction, insert: Bool) async throws {
        do {
            if insert {
                try await transaction.insert(CRMTables.tiers, tier)
            } else {
                try await transaction.update(CRMTables.tiers, tier)
            }
        } catch let error as RecordError where error.code == .alreadyExists {
            let field = error.subject.hasSuffix("rank") ? "rank" : "code"
            throw RPCError(
                code: .alreadyExists,
                message: "\(field): another tier has \(field) \(field == "rank" ? "\(tier.rank)" : "'\(tier.code)'")",
                fieldViolations: [.init(field: field, description: "taken")]
            )
        }
    }

    public func createMembershipTier(
        request: CreateMembershipTierRequest,
        context: RPCServerContext
    ) async throws -> MembershipTier {
        let code = try validateTierCode(request.code)
        let name = try Validate.text(request.name, field: "name", min: 1, max: 64)
        let discount = try validateBps(request.discountBps, field: "discount_bps", max: 10_000)
        let multiplier = try validateBps(request.pointsMultiplierBps, field: "points_multiplier_bps", max: 100_000)
        let description = try Validate.text(request.description, field: "description", max: 1000)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let settings = try await settings(transaction)
            let tier = MembershipTier(
                id: RecordIDs.make(prefix: "tie"),
                code: code,
                name: name,
                rank: request.rank,
                minQualifyingSpend: try threshold(
                    request.minQualifyingSpend,
                    field: "min_qualifying_spend",
                    currency: settings.currency
                ),
                discountBps: discount,
                pointsMultiplierBps: multiplier == 0 ? 10_000 : multiplier,
                description: description,
                createdAt: transaction.now,
                updatedAt: transaction.now,
                version: 1
            )
            try checkLadder(try await allTiers(transaction) + [tier], field: "min_qualifying_spend")
            try await writeTier(tier, in: transaction, insert: true)
            return tier
        }
    }

    public func getMembershipTier(
        request: GetMembershipTierRequest,
        context: RPCServerContext
    ) async throws -> MembershipTier {
        try await store.latest.require(CRMTables.tiers, request.tierID, field: "tier_id")
    }

    public func listMembershipTiers(
        request: ListMembershipTiersRequest,
        context: RPCServerContext
    ) async throws -> ListMembershipTiersResponse {
        let page = try Paging.page(try await allTiers(store.latest), request: request.page, field: "page")
        return ListMembershipTiersResponse(tiers: page.items, nextPageToken: page.nextToken)
    }

    public func updateMembershipTier(
        request: UpdateMembershipTierRequest,
        context: RPCServerContext
    ) async throws -> MembershipTier {
        let name = try request.name.map { try Validate.text($0, field: "name", min: 1, max: 64) }
        let discount = try request.discountBps.map { try validateBps($0, field: "discount_bps", max: 10_000) }
        let multiplier = try request.pointsMultiplierBps.map {
            try validateBps($0, field: "points_multiplier_bps", max: 100_000)
        }
        let description = try request.description.map { try Validate.text($0, field: "description", max: 1000) }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let settings = try await settings(transaction)
            var tier = try await transaction.require(
                CRMTables.tiers,
                request.tierID,
                field: "tier_id",
                expectedVersion: request.expectedVersion
            )
            if let name { tier.name = name }
            if let rank = request.rank { tier.rank = rank }
            if let spend = request.minQualifyingSpend {
                tier.minQualifyingSpend = try threshold(
                    spend,
                    field: "min_qualifying_spend",
                    currency: settings.currency
                )
            }
            if let discount { tier.discountBps = discount }
            if let multiplier { tier.pointsMultiplierBps = multiplier == 0 ? 10_000 : multiplier }
            if let description { tier.description = description }
            try checkLadder(
                try await allTiers(transaction).filter { $0.id != tier.id } + [tier],
                field: "min_qualifying_spend"
            )
            tier.version += 1
            tier.updatedAt = transaction.now
            try await writeTier(tier, in: transaction, insert: false)
            return tier
        }
    }

    public func deleteMembershipTier(
        request: DeleteMembershipTierRequest,
        context: RPCServerContext
    ) async throws -> Empty {
        try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let tier = try await transaction.require(CRMTables.tiers, request.tierID, field: "tier_id")
            guard (tier.minQualifyingSpend?.minorUnits ?? 0) > 0 else {
                throw RPCError(code: .failedPrecondition, message: "tier_id: '\(tier.code)' is the base tier")
            }
            let holders = try await transaction.page(
                CRMTables.customers,
                RecordQuery(index: CRMTables.customerTier, prefix: [.string(tier.id)], pageSize: 1)
            )
            guard holders.records.isEmpty else {
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "tier_id: customers hold tier '\(tier.code)' (customer '\(holders.records[0].id)' among them); it can be deleted once none does"
                )
            }
            try await transaction.delete(CRMTables.tiers, .string(tier.id))
            return Empty()
        }
    }

    public func recomputeCustomerTier(
        request: RecomputeCustomerTierRequest,
        context: RPCServerContext
    ) async throws -> Customer {
        let customer = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(request.customerID)]
        ) { transaction in
            var customer = try await changeableCustomer(transaction, request.customerID)
            let before = customer
            try await evaluateTier(&customer, in: transaction)
            if customer != before { try await transaction.updateVersioned(CRMTables.customers, &customer) }
            return customer
        }
        return PersonalData.shown(customer, to: context)
    }

    public func getLoyaltySettings(
        request: GetLoyaltySettingsRequest,
        context: RPCServerContext
    ) async throws -> LoyaltySettings {
        try await settings(store.latest)
    }

    public func updateLoyaltySettings(
        request: UpdateLoyaltySettingsRequest,
        context: RPCServerContext
    ) async throws -> LoyaltySettings {
        guard let given = request.settings else { throw RPCError.invalidArgument(field: "settings", "is required") }
        let currency = given.currency.trimmingWhitespace().uppercased()
        guard currency.utf8.count == 3, currency.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5a }) else {
            throw RPCError.invalidArgument(field: "settings.currency", "must be a 3-letter ISO 4217 code")
        }
        func positiveMoney(_ money: Money?, _ field: String) throws -> Money {
            guard let money = try Validate.money(money, field: "settings.\(field)", currency: currency),
                money.minorUnits > 0
            else { throw RPCError.invalidArgument(field: "settings.\(field)", "must be more than zero") }
            return money
        }
        guard (0...1_000_000).contains(given.earnPointsPerUnit) else {
            throw RPCError.invalidArgument(field: "settings.earn_points_per_unit", "must be 0 to 1000000")
        }
        guard (0...36_500).contains(given.pointsValidityDays) else {
            throw RPCError.invalidArgument(field: "settings.points_validity_days", "must be 0 to 36500")
        }
        guard (1...1_000_000).contains(given.redeemPointsPerUnit) else {
            throw RPCError.invalidArgument(field: "settings.redeem_points_per_unit", "must be 1 to 1000000")
        }
        guard (0...10_000).contains(given.maxRedeemBps) else {
            throw RPCError.invalidArgument(field: "settings.max_redeem_bps", "must be 0 to 10000")
        }
        guard (0...100_000_000).contains(given.minRedeemPoints) else {
            throw RPCError.invalidArgument(field: "settings.min_redeem_points", "must be 0 to 100000000")
        }
        guard (0...36_500).contains(given.tierWindowDays) else {
            throw RPCError.invalidArgument(field: "settings.tier_window_days", "must be 0 to 36500")
        }
        var settings = given
        settings.currency = currency
        settings.earnUnit = try positiveMoney(given.earnUnit, "earn_unit")
        settings.redeemUnitValue = try positiveMoney(given.redeemUnitValue, "redeem_unit_value")
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let current = try await self.settings(transaction)
            try Validate.version(request.expectedVersion, actual: current.version, subject: "the loyalty settings")
            if currency != current.currency {
                let anyEntry = try await transaction.page(CRMTables.entries, RecordQuery(pageSize: 1))
                let anyTier = try await allTiers(transaction)
                guard anyEntry.records.isEmpty, anyTier.isEmpty else {
                    throw RPCError(
                        code: .failedPrecondition,
                        message:
                            "settings.currency: points and tiers exist in \(current.currency); the currency cannot change any more"
                    )
                }
            }
            settings.version = current.version + 1
            settings.updatedAt = transaction.now
            try await transaction.save(CRMTables.settings, settings)
            return settings
        }
    }
}
