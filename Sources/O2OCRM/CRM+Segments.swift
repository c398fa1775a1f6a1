import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

/// What one customer looks like to a segment rule: the purchase figures of the
/// rule's window and the customer's city.
struct SegmentFacts {
    var lastOrderAt: Int64?
    var frequency: Int64
    var monetary: Int64
    var city: String
}

/// Quintile cut points of one RFM dimension over the customer base.
struct Quintiles {
    private let sorted: [Int64]

    init(_ values: [Int64]) { sorted = values.sorted() }

    /// 1 to 5: the fifth of the base a value falls in (higher values score higher).
    func score(_ value: Int64) -> Int32 {
        guard !sorted.isEmpty else { return 1 }
        // The number of values below this one: ties share a score.
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return Int32(min(5, 1 + low * 5 / sorted.count))
    }
}

extension CrmServiceProvider {
    /// A rule with every list and bound checked.
    func validateRule(_ rule: SegmentRule?, field: String, in reader: some RecordReading) async throws -> SegmentRule {
        guard var rule else { throw RPCError.invalidArgument(field: field, "is required") }
        for (list, name) in [(rule.allTags, "all_tags"), (rule.anyTags, "any_tags"), (rule.noneTags, "none_tags")] {
            guard list.count <= 20 else {
                throw RPCError.invalidArgument(field: "\(field).\(name)", "at most 20 tags, got \(list.count)")
            }
        }
        rule.allTags = try validateTags(rule.allTags, field: "\(field).all_tags")
        rule.anyTags = try validateTags(rule.anyTags, field: "\(field).any_tags")
        rule.noneTags = try validateTags(rule.noneTags, field: "\(field).none_tags")
        for (index, tier) in rule.tierIDs.enumerated() {
            _ = try await reader.require(CRMTables.tiers, tier, field: "\(field).tier_ids[\(index)]")
        }
        try Validate.known(rule.requiredConsents, field: "\(field).required_consents", noun: "purpose")
        for (index, store) in rule.homeStoreIDs.enumerated() {
            _ = try Validate.id(store, field: "\(field).home_store_ids[\(index)]")
        }
        guard rule.cities.count <= 50 else {
            throw RPCError.invalidArgument(field: "\(field).cities", "at most 50, got \(rule.cities.count)")
        }
        rule.cities = try rule.cities.enumerated().map { index, city in
            try Validate.text(city, field: "\(field).cities[\(index)]", min: 1, max: 64)
        }
        if let rfm = rule.rfm {
            guard (0...36_500).contains(rfm.windowDays) else {
                throw RPCError.invalidArgument(field: "\(field).rfm.window_days", "must be 0 to 36500")
            }
            for (value, name) in [
                (rfm.maxRecencyDays.map(Int64.init), "max_recency_days"),
                (rfm.minRecencyDays.map(Int64.init), "min_recency_days"), (rfm.minFrequency, "min_frequency"),
                (rfm.maxFrequency, "max_frequency"),
            ] {
                if let value, value < 0 {
                    throw RPCError.invalidArgument(field: "\(field).rfm.\(name)", "must not be negative")
                }
            }
            let settings = try await settings(reader)
            _ = try loyaltyMoney(
                rfm.minMonetary,
                field: "\(field).rfm.min_monetary",
                settings: settings,
                required: false
            )
            _ = try loyaltyMoney(
                rfm.maxMonetary,
                field: "\(field).rfm.max_monetary",
                settings: settings,
                required: false
            )
        }
        if let scores = rule.rfmScores {
            guard (0...36_500).contains(scores.windowDays) else {
                throw RPCError.invalidArgument(field: "\(field).rfm_scores.window_days", "must be 0 to 36500")
            }
            for (value, name) in [
                (scores.minRecencyScore, "min_recency_score"), (scores.minFrequencyScore, "min_frequency_score"),
                (scores.minMonetaryScore, "min_monetary_score"), (scores.maxRecencyScore, "max_recency_score"),
            ] where !(0...5).contains(value) {
                throw RPCError.invalidArgument(field: "\(field).rfm_scores.\(name)", "must be 0 to 5, got \(value)")
            }
        }
        return rule
    }

    /// The customer's purchase figures over the last `windowDays` (0: lifetime) and city.
    func facts(
        of customer: Customer,
        windowDays: Int32,
        in reader: some RecordReading,
        now: Int64
    ) async throws
        -> SegmentFacts
    {
        var facts = SegmentFacts(
            lastOrderAt: customer.purchaseStats?.lastOrderAt.map { Timestamps.nanos($0) },
            frequency: customer.purchaseStats?.completedOrderCount ?? 0,
            monetary: customer.purchaseStats?.lifetimeSpend?.minorUnits ?? 0,
            city: ""
        )
        if windowDays > 0 {
            facts.frequency = 0
            facts.monetary = 0
            try await reader.forEachPage(
                CRMTables.orders,
                RecordQuery(
                    index: CRMTables.orderCompleted,
                    prefix: [.string(customer.id)],
                    lowerBound: [.int(now &- Int64(windowDays) &* 86_400_000_000_000)],
                    pageSize: 500
                )
            ) { orders in
                for order in orders {
                    let net = (order.paidAmount?.minorUnits ?? 0) - (order.refundedAmount?.minorUnits ?? 0)
                    if net > 0 || order.reversedRefundIDs.isEmpty { facts.frequency += 1 }
                    facts.monetary = try Checked.add(facts.monetary, max(0, net), field: "monetary")
                }
            }
        }
        if !customer.defaultAddressID.isEmpty,
            let address = try await reader.get(CRMTables.addresses, .string(customer.defaultAddressID))
        {
            facts.city = address.address?.city ?? ""
        }
        return facts
    }

    /// Whether a customer belongs to a segment under `rule`.
    func matches(
        _ customer: Customer,
        _ rule: SegmentRule,
        facts: SegmentFacts,
        scores: (recency: Int32, frequency: Int32, monetary: Int32)?,
        now: Int64
    ) -> Bool {
        guard customer.status == .active else { return false }
        let tags = Set(customer.tags)
        guard rule.allTags.allSatisfy(tags.contains),
            rule.anyTags.isEmpty || rule.anyTags.contains(where: tags.contains),
            !rule.noneTags.contains(where: tags.contains)
        else { return false }
        guard rule.tierIDs.isEmpty || rule.tierIDs.contains(customer.tierID) else { return false }
        guard rule.homeStoreIDs.isEmpty || rule.homeStoreIDs.contains(customer.homeStoreID) else { return false }
        guard rule.cities.isEmpty || rule.cities.contains(facts.city) else { return false }
        let granted = Set(customer.consents.filter(\.granted).map(\.purpose))
        guard rule.requiredConsents.allSatisfy(granted.contains) else { return false }
        if let rfm = rule.rfm {
            // Both are 1970 or later: the difference cannot overflow.
            let days = facts.lastOrderAt.map { (now - $0) / 86_400_000_000_000 }
            // A customer who never ordered is not a recent buyer.
            if let maximum = rfm.maxRecencyDays {
                guard let days, days <= Int64(maximum) else { return false }
            }
            if let minimum = rfm.minRecencyDays, let days, days < Int64(minimum) { return false }
            if let minimum = rfm.minFrequency, facts.frequency < minimum { return false }
            if let maximum = rfm.maxFrequency, facts.frequency > maximum { return false }
            if let minimum = rfm.minMonetary?.minorUnits, facts.monetary < minimum { return false }
            if let maximum = rfm.maxMonetary?.minorUnits, facts.monetary > maximum { return false }
        }
        if let criteria = rule.rfmScores, let scores {
            if scores.recency < criteria.minRecencyScore || scores.frequency < criteria.minFrequencyScore
                || scores.monetary < criteria.minMonetaryScore
            {
                return false
            }
            if criteria.maxRecencyScore > 0, scores.recency > criteria.maxRecencyScore { return false }
        }
        return true
    }

    public func createCustomerSegment(
        request: CreateCustomerSegmentRequest,
        context: RPCServerContext
    ) async throws -> CustomerSegment {
        let name = try Validate.text(request.name, field: "name", min: 1, max: 64)
        let description = try Validate.text(request.description, field: "description", max: 1000)
        let segment = try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let segment = CustomerSegment(
                id: RecordIDs.make(prefix: "seg"),
                name: name,
                description: description,
                rule: try await validateRule(request.rule, field: "rule", in: transaction),
                createdAt: transaction.now,
                updatedAt: transaction.now,
                version: 1
            )
            try await insertSegment(segment, in: transaction)
            return segment
        }
        guard request.refreshNow else { return segment }
        return try await refresh(segment.id, context: context, requestID: nil)
    }

    private func insertSegment(_ segment: CustomerSegment, in transaction: ServiceTransaction) async throws {
        do {
            try await transaction.insert(CRMTables.segments, segment)
        } catch let error as RecordError where error.code == .alreadyExists {
            throw RPCError(code: .alreadyExists, message: "name: another segment is called '\(segment.name)'")
        }
    }

    public func getCustomerSegment(
        request: GetCustomerSegmentRequest,
        context: RPCServerContext
    ) async throws -> CustomerSegment {
        try await store.latest.require(CRMTables.segments, request.segmentID, field: "segment_id")
    }

    public func listCustomerSegments(
        request: ListCustomerSegmentsRequest,
        context: RPCServerContext
    ) async throws -> ListCustomerSegmentsResponse {
        let page = try await store.read { reader in
            try await reader.page(
                CRMTables.segments,
                RecordQuery(
                    index: CRMTables.segmentName,
                    pageSize: try Paging.pageSize(request.page, field: "page"),
                    pageToken: request.page?.pageToken
                )
            )
        }
        return ListCustomerSegmentsResponse(segments: page.records, nextPageToken: page.nextPageToken)
    }

    public func updateCustomerSegment(
        request: UpdateCustomerSegmentRequest,
        context: RPCServerContext
    ) async throws -> CustomerSegment {
        let name = try request.name.map { try Validate.text($0, field: "name", min: 1, max: 64) }
        let description = try request.description.map { try Validate.text($0, field: "description", max: 1000) }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var rule: SegmentRule?
            if let given = request.rule { rule = try await validateRule(given, field: "rule", in: transaction) }
            do {
                return try await transaction.modify(
                    CRMTables.segments,
                    request.segmentID,
                    field: "segment_id",
                    expectedVersion: request.expectedVersion
                ) { segment in
                    if let name { segment.name = name }
                    if let description { segment.description = description }
                    if let rule { segment.rule = rule }
                }
            } catch let error as RecordError where error.code == .alreadyExists {
                throw RPCError(code: .alreadyExists, message: "name: another segment is called '\(name ?? "")'")
            }
        }
    }

    public func deleteCustomerSegment(
        request: DeleteCustomerSegmentRequest,
        context: RPCServerContext
    ) async throws -> Empty {
        let segmentID = try Validate.id(request.segmentID, field: "segment_id")
        let deleted = try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let segment = try await transaction.require(CRMTables.segments, segmentID, field: "segment_id")
            try await transaction.delete(CRMTables.segments, .string(segment.id))
            return segment
        }
        // The snapshot goes in batches, after the segment (whose absence hides it).
        try await deleteMembers(of: deleted.id, below: .max)
        return Empty()
    }

    /// Removes a segment's member rows of every generation below `generation`.
    func deleteMembers(of segmentID: String, below generation: Int64) async throws {
        while true {
            let done = try await store.transaction { transaction in
                let rows = try await transaction.page(
                    CRMTables.members,
                    RecordQuery(prefix: [.string(segmentID)], upperBound: [.int(generation)], pageSize: 500)
                ).records
                for row in rows { try await transaction.delete(CRMTables.members, CRMTables.members.primaryKey(row)) }
                return rows.count < 500
            }
            if done { return }
        }
    }

    public func refreshCustomerSegment(
        request: RefreshCustomerSegmentRequest,
        context: RPCServerContext
    ) async throws -> CustomerSegment {
        let segmentID = try Validate.id(request.segmentID, field: "segment_id")
        if let earlier = try await store.rememberedResult(
            context,
            requestID: request.requestID,
            request: request,
            as: CustomerSegment.self
        ) {
            return earlier
        }
        return try await refresh(segmentID, context: context, requestID: (request.requestID, request))
    }

    /// Evaluates the rule over every customer, a page at a time, writes the new
    /// snapshot, makes it the current one in one commit (remembering the answer under
    /// the request id), then drops the old one.
    func refresh(
        _ segmentID: String,
        context: RPCServerContext?,
        requestID: (String, RefreshCustomerSegmentRequest)?
    ) async throws -> CustomerSegment {
        guard refreshing.withLock({ $0.insert(segmentID).inserted }) else {
            throw RPCError(code: .aborted, message: "segment_id: a refresh of segment '\(segmentID)' is running")
        }
        defer { _ = refreshing.withLock { $0.remove(segmentID) } }
        let segment = try await store.latest.require(CRMTables.segments, segmentID, field: "segment_id")
        let rule = segment.rule ?? SegmentRule()
        let now = Timestamps.nanos(store.now())
        let window = rule.rfm?.windowDays ?? rule.rfmScores?.windowDays ?? 0
        // RFM scores need the whole base first: one pass collects the figures.
        var quintiles: (recency: Quintiles, frequency: Quintiles, monetary: Quintiles)?
        if let scores = rule.rfmScores {
            var recency: [Int64] = []
            var frequency: [Int64] = []
            var monetary: [Int64] = []
            try await store.read { reader in
                try await reader.forEachPage(CRMTables.customers, RecordQuery(pageSize: 500)) { customers in
                    for customer in customers where customer.status == .active {
                        let facts = try await facts(of: customer, windowDays: scores.windowDays, in: reader, now: now)
                        recency.append(facts.lastOrderAt ?? .min)
                        frequency.append(facts.frequency)
                        monetary.append(facts.monetary)
                    }
                }
            }
            quintiles = (Quintiles(recency), Quintiles(frequency), Quintiles(monetary))
        }
        let generation = segment.snapshotGeneration + 1
        var count: Int64 = 0
        var token: String?
        repeat {
            token = try await store.transaction { transaction in
                let page = try await transaction.page(
                    CRMTables.customers,
                    RecordQuery(pageSize: 500, pageToken: token)
                )
                for customer in page.records where customer.status == .active {
                    let facts = try await facts(
                        of: customer,
                        windowDays: rule.rfmScores?.windowDays ?? window,
                        in: transaction,
                        now: now
                    )
                    let scores = quintiles.map { quintiles in
                        (
                            facts.lastOrderAt.map { quintiles.recency.score($0) } ?? 1,
                            quintiles.frequency.score(facts.frequency), quintiles.monetary.score(facts.monetary)
                        )
                    }
                    if rule.rfm != nil, rule.rfmScores != nil, rule.rfm!.windowDays != rule.rfmScores!.windowDays {
                        // Both kinds with different windows: the thresholds use their own.
                        let own = try await self.facts(
                            of: customer,
                            windowDays: rule.rfm!.windowDays,
                            in: transaction,
                            now: now
                        )
                        guard matches(customer, rule, facts: own, scores: scores, now: now) else { continue }
                    } else {
                        guard matches(customer, rule, facts: facts, scores: scores, now: now) else { continue }
                    }
                    try await transaction.insert(
                        CRMTables.members,
                        SegmentMember(segmentID: segment.id, generation: generation, customerID: customer.id)
                    )
                    count += 1
                }
                return page.nextPageToken
            }
        } while !(token ?? "").isEmpty
        let flip = { (transaction: ServiceTransaction) async throws -> CustomerSegment in
            var current = try await transaction.require(CRMTables.segments, segment.id, field: "segment_id")
            current.snapshotGeneration = generation
            current.memberCount = count
            current.refreshedAt = transaction.now
            try await transaction.updateVersioned(CRMTables.segments, &current)
            return current
        }
        let refreshed =
            if let context, let requestID {
                try await store.mutation(context, requestID: requestID.0, request: requestID.1, flip)
            } else {
                try await store.transaction(flip)
            }
        try await deleteMembers(of: segment.id, below: generation)
        return refreshed
    }

    public func listSegmentMembers(
        request: ListSegmentMembersRequest,
        context: RPCServerContext
    ) async throws -> ListSegmentMembersResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        return try await store.read { reader in
            let segment = try await reader.require(CRMTables.segments, request.segmentID, field: "segment_id")
            guard segment.snapshotGeneration > 0 else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "segment_id: segment '\(segment.id)' was never refreshed"
                )
            }
            let page: RecordPage<SegmentMember>
            do {
                page = try await reader.page(
                    CRMTables.members,
                    RecordQuery(
                        prefix: [.string(segment.id), .int(segment.snapshotGeneration)],
                        pageSize: pageSize,
                        pageToken: request.page?.pageToken,
                        filters: [segment.id, "\(segment.snapshotGeneration)"]
                    )
                )
            } catch let error as RecordError where error.code == .invalidPageToken {
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "page.page_token: not a token of the current snapshot of segment '\(segment.id)' (it was refreshed since, or the token is another list's)"
                )
            }
            let customers = try await reader.get(CRMTables.customers, page.records.map { .string($0.customerID) })
            return ListSegmentMembersResponse(
                customers: customers.compactMap { $0.map { PersonalData.shown($0, to: context) } },
                nextPageToken: page.nextPageToken,
                refreshedAt: segment.refreshedAt
            )
        }
    }

    /// The segments whose current snapshot holds the customer.
    func segments(of customerID: String, in reader: some RecordReading) async throws -> [String] {
        let rows = try await reader.all(
            CRMTables.members,
            RecordQuery(index: CRMTables.memberCustomer, prefix: [.string(customerID)], pageSize: 500),
            limit: 10_000
        )
        var ids: [String] = []
        for row in rows {
            if let segment = try await reader.get(CRMTables.segments, .string(row.segmentID)),
                segment.snapshotGeneration == row.generation
            {
                ids.append(segment.id)
            }
        }
        return ids
    }
}
