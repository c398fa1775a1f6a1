import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CrmServiceProvider {
    /// An amount in the loyalty currency, not negative; nil when absent and not required.
    func loyaltyMoney(_ money: Money?, field: String, settings: LoyaltySettings, required: Bool) throws -> Int64? {
        guard let money = try Validate.money(money, field: field, currency: settings.currency, required: required)
        else {
            return nil
        }
        return money.minorUnits
    }

    /// When points earned now expire: the end of the UTC day `points_validity_days`
    /// after today; nil when points never expire.
    func expiry(from now: Timestamp, settings: LoyaltySettings) -> Timestamp? {
        guard settings.pointsValidityDays > 0 else { return nil }
        let day = now.seconds / 86_400 - (now.seconds % 86_400 < 0 ? 1 : 0)
        return Timestamp(seconds: (day + Int64(settings.pointsValidityDays) + 1) * 86_400)
    }

    /// Points earned on `paid` minor units: whole earn units × points per unit, times
    /// the tier multiplier, rounded down.
    func earnedPoints(paid: Int64, settings: LoyaltySettings, multiplierBps: Int32) throws -> Int64 {
        guard settings.earnPointsPerUnit > 0, let unit = settings.earnUnit?.minorUnits, unit > 0 else { return 0 }
        let base = try Checked.multiply(paid / unit, settings.earnPointsPerUnit, field: "paid_amount")
        return try Checked.multiply(base, Int64(multiplierBps), field: "paid_amount") / 10_000
    }

    /// The order's record, for this customer: FAILED_PRECONDITION when the order
    /// belongs to another customer.
    func orderRecord(
        _ orderID: String,
        customerID: String,
        in reader: some RecordReading
    ) async throws
        -> OrderLoyaltyRecord?
    {
        guard let record = try await reader.get(CRMTables.orders, .string(orderID)) else { return nil }
        guard record.customerID == customerID else {
            throw RPCError(
                code: .failedPrecondition,
                message: "order_id: order '\(orderID)' belongs to another customer"
            )
        }
        return record
    }

    public func recordCompletedOrder(
        request: RecordCompletedOrderRequest,
        context: RPCServerContext
    ) async throws -> RecordCompletedOrderResponse {
        let orderID = try Validate.id(request.orderID, field: "order_id")
        let given = try request.completedAt.map { try Validate.timestamp($0, field: "completed_at") }
        let response = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(request.customerID)]
        ) { transaction in
            if let given, Timestamps.nanos(given) > Timestamps.nanos(transaction.now) {
                throw RPCError.invalidArgument(field: "completed_at", "must not be in the future")
            }
            let settings = try await settings(transaction)
            guard
                let paid = try loyaltyMoney(
                    request.paidAmount,
                    field: "paid_amount",
                    settings: settings,
                    required: true
                )
            else { throw RPCError.invalidArgument(field: "paid_amount", "is required") }
            return try await completeOrder(
                customerID: request.customerID,
                orderID: orderID,
                paid: paid,
                completedAt: given ?? transaction.now,
                requestID: request.requestID,
                settings: settings,
                actor: actor(context),
                in: transaction
            )
        }
        var shown = response
        shown.customer = response.customer.map { PersonalData.shown($0, to: context) }
        return shown
    }

    /// Records a completed order in `transaction`: points earned with the multiplier
    /// of the tier held before it, the spend, the tier re-evaluated.
    func completeOrder(
        customerID: String,
        orderID: String,
        paid: Int64,
        completedAt: Timestamp,
        requestID: String,
        settings: LoyaltySettings,
        actor: ChangeActor,
        in transaction: ServiceTransaction
    ) async throws -> RecordCompletedOrderResponse {
        var customer = try await changeableCustomer(transaction, customerID)
        var record =
            try await orderRecord(orderID, customerID: customer.id, in: transaction)
            ?? OrderLoyaltyRecord(orderID: orderID, customerID: customer.id)
        guard record.completedAt == nil else {
            throw RPCError(
                code: .alreadyExists,
                message: "order_id: order '\(orderID)' was recorded as completed by another request"
            )
        }
        let previousTier = customer.tierID
        var response = RecordCompletedOrderResponse(previousTierID: previousTier)
        // Points with the multiplier of the tier held before the order.
        let tier =
            customer.tierID.isEmpty ? nil : try await transaction.get(CRMTables.tiers, .string(customer.tierID))
        let points =
            customer.status == .active
            ? try earnedPoints(paid: paid, settings: settings, multiplierBps: tier?.pointsMultiplierBps ?? 10_000)
            : 0
        let book = PointsBook(transaction: transaction, actor: actor)
        if points > 0 {
            let entry = try await book.add(
                to: &customer,
                reason: .earn,
                lots: [(points, expiry(from: transaction.now, settings: settings))],
                orderID: orderID,
                field: "paid_amount"
            )
            record.earnEntryID = entry.id
            record.earnedPoints = points
            response.earned = entry
        }
        record.paidAmount = Money(minorUnits: paid, currency: settings.currency)
        record.refundedAmount = Money(minorUnits: 0, currency: settings.currency)
        record.completedAt = completedAt
        record.completionRequestID = requestID
        try await transaction.save(CRMTables.orders, record)
        var stats = customer.purchaseStats ?? CustomerPurchaseStats()
        stats.completedOrderCount += 1
        stats.lifetimeSpend = Money(
            minorUnits: try Checked.add(stats.lifetimeSpend?.minorUnits ?? 0, paid, field: "paid_amount"),
            currency: settings.currency
        )
        if stats.firstOrderAt.map({ Timestamps.nanos($0) > Timestamps.nanos(completedAt) }) ?? true {
            stats.firstOrderAt = completedAt
        }
        if stats.lastOrderAt.map({ Timestamps.nanos($0) < Timestamps.nanos(completedAt) }) ?? true {
            stats.lastOrderAt = completedAt
        }
        customer.purchaseStats = stats
        try await evaluateTier(&customer, in: transaction)
        try await transaction.updateVersioned(CRMTables.customers, &customer)
        response.customer = customer
        return response
    }

    public func reverseOrderPoints(
        request: ReverseOrderPointsRequest,
        context: RPCServerContext
    ) async throws -> ReverseOrderPointsResponse {
        let orderID = try Validate.id(request.orderID, field: "order_id")
        let refundID = request.refundID.isEmpty ? "" : try Validate.id(request.refundID, field: "refund_id")
        let response = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(request.customerID)]
        ) { transaction in
            let settings = try await settings(transaction)
            let refund =
                try loyaltyMoney(request.refundAmount, field: "refund_amount", settings: settings, required: false) ?? 0
            return try await reverseOrder(
                customerID: request.customerID,
                orderID: orderID,
                refundID: refundID,
                refund: refund,
                wholeOrder: request.wholeOrder,
                settings: settings,
                actor: actor(context),
                in: transaction
            )
        }
        var shown = response
        shown.customer = response.customer.map { PersonalData.shown($0, to: context) }
        return shown
    }

    /// Reverses an order's points in `transaction`: earned points in proportion to
    /// the refund, redeemed points back for a whole order, the spend lowered.
    func reverseOrder(
        customerID: String,
        orderID: String,
        refundID: String,
        refund: Int64,
        wholeOrder: Bool,
        settings: LoyaltySettings,
        actor: ChangeActor,
        in transaction: ServiceTransaction
    ) async throws -> ReverseOrderPointsResponse {
        var customer = try await changeableCustomer(transaction, customerID)
        guard var record = try await orderRecord(orderID, customerID: customer.id, in: transaction) else {
            throw RPCError(
                code: .notFound,
                message: "order_id: customer '\(customer.id)' has no completed order or redemption '\(orderID)'"
            )
        }
        guard !record.reversedRefundIDs.contains(refundID) else {
            throw RPCError(
                code: .alreadyExists,
                message: refundID.isEmpty
                    ? "order_id: the cancellation of order '\(orderID)' was reversed by another request"
                    : "refund_id: refund '\(refundID)' of order '\(orderID)' was reversed by another request"
            )
        }
        let paid = record.paidAmount?.minorUnits ?? 0
        let refunded = try Checked.add(record.refundedAmount?.minorUnits ?? 0, refund, field: "refund_amount")
        guard refund == 0 || refunded <= paid else {
            throw RPCError(
                code: .failedPrecondition,
                message:
                    "refund_amount: order '\(orderID)' paid \(paid), refunds would reach \(refunded)"
            )
        }
        let book = PointsBook(transaction: transaction, actor: actor)
        var response = ReverseOrderPointsResponse()
        // Earned points in proportion to the refund, rounded up; all of them once the
        // whole order is refunded.
        var takeBack: Int64 = 0
        if record.earnedPoints > 0 {
            let share =
                wholeOrder || paid == 0
                ? record.earnedPoints
                : (try Checked.multiply(record.earnedPoints, refund, field: "refund_amount") + paid - 1) / paid
            takeBack = min(share, record.earnedPoints - record.reversedPoints)
        }
        if takeBack > 0 {
            try await book.expireDue(&customer)
            let (entry, _) = try await book.remove(
                from: &customer,
                reason: .refundReversal,
                points: takeBack,
                orderID: orderID,
                relatedEntryID: record.earnEntryID,
                preferredEntryID: record.earnEntryID,
                allowNegative: true,
                field: "refund_amount"
            )
            record.reversedPoints += takeBack
            response.entries.append(entry)
        }
        // Redeemed points come back once, with their own expiry; expired ones do not.
        if wholeOrder, !record.redeemEntryID.isEmpty, !record.redemptionReturned {
            let now = Timestamps.nanos(transaction.now)
            let returned = record.redeemedLots.filter { lot in
                lot.expiresAt.map { Timestamps.nanos($0) > now } ?? true
            }
            if !returned.isEmpty {
                response.entries.append(
                    try await book.add(
                        to: &customer,
                        reason: .refundReversal,
                        lots: returned.map { ($0.points, $0.expiresAt) },
                        orderID: orderID,
                        relatedEntryID: record.redeemEntryID,
                        field: "whole_order"
                    )
                )
            }
            record.redemptionReturned = true
        }
        record.reversedRefundIDs.append(refundID)
        record.refundedAmount = Money(minorUnits: refunded, currency: settings.currency)
        try await transaction.save(CRMTables.orders, record)
        if record.completedAt != nil {
            var stats = customer.purchaseStats ?? CustomerPurchaseStats()
            stats.lifetimeSpend = Money(
                minorUnits: max(0, (stats.lifetimeSpend?.minorUnits ?? 0) - refund),
                currency: settings.currency
            )
            if wholeOrder { stats.completedOrderCount = max(0, stats.completedOrderCount - 1) }
            customer.purchaseStats = stats
            try await evaluateTier(&customer, in: transaction)
        }
        try await transaction.updateVersioned(CRMTables.customers, &customer)
        response.customer = customer
        return response
    }

    /// Redeems points for an order in `transaction` (REDEEM entry); the checks of
    /// RedeemPoints that need the customer and the balance.
    func redeem(
        points: Int64,
        customerID: String,
        orderID: String,
        orderAmount amount: Int64,
        settings: LoyaltySettings,
        actor: ChangeActor,
        in transaction: ServiceTransaction
    ) async throws -> RedeemPointsResponse {
        var customer = try await transaction.require(CRMTables.customers, customerID, field: "customer_id")
        guard customer.status == .active else {
            throw RPCError(
                code: .failedPrecondition,
                message:
                    "customer_id: customer '\(customer.id)' is \(customer.status.displayName) and cannot redeem points"
            )
        }
        var record =
            try await orderRecord(orderID, customerID: customer.id, in: transaction)
            ?? OrderLoyaltyRecord(orderID: orderID, customerID: customer.id)
        guard record.redeemEntryID.isEmpty else {
            throw RPCError(
                code: .alreadyExists,
                message: "order_id: points were already redeemed on order '\(orderID)'"
            )
        }
        let worth = try value(of: points, settings: settings)
        let payable = try Checked.multiply(amount, Int64(settings.maxRedeemBps), field: "order_amount") / 10_000
        guard worth <= payable else {
            throw RPCError(
                code: .failedPrecondition,
                message:
                    "points: \(points) points are worth \(worth); points may pay at most \(payable) of this order"
            )
        }
        let book = PointsBook(transaction: transaction, actor: actor)
        try await book.expireDue(&customer)
        let (entry, taken) = try await book.remove(
            from: &customer,
            reason: .redeem,
            points: points,
            orderID: orderID,
            field: "points"
        )
        record.redeemEntryID = entry.id
        record.redeemedPoints = points
        record.redeemedLots = taken
        try await transaction.save(CRMTables.orders, record)
        try await transaction.updateVersioned(CRMTables.customers, &customer)
        return RedeemPointsResponse(entry: entry, value: Money(minorUnits: worth, currency: settings.currency))
    }

    /// What `points` are worth: whole redeem units × the unit value.
    private func value(of points: Int64, settings: LoyaltySettings) throws -> Int64 {
        try Checked.multiply(
            points / settings.redeemPointsPerUnit,
            settings.redeemUnitValue?.minorUnits ?? 0,
            field: "points"
        )
    }

    /// The most points usable on an amount: the spendable balance and max_redeem_bps,
    /// in whole units; 0 below min_redeem_points.
    private func maximumRedeemable(spendable: Int64, amount: Int64, settings: LoyaltySettings) throws -> Int64 {
        let unit = settings.redeemPointsPerUnit
        guard let unitValue = settings.redeemUnitValue?.minorUnits, unitValue > 0, unit > 0 else { return 0 }
        let payable = try Checked.multiply(amount, Int64(settings.maxRedeemBps), field: "order_amount") / 10_000
        let byAmount = try Checked.multiply(payable / unitValue, unit, field: "order_amount")
        let byBalance = max(0, spendable) / unit * unit
        let points = min(byAmount, byBalance)
        return points < settings.minRedeemPoints ? 0 : points
    }

    /// The balance without the lots whose expiry passed but that no sweep wrote off.
    private func spendable(_ customer: Customer, in reader: some RecordReading) async throws -> Int64 {
        try await Self.spendable(customer, at: store.now(), in: reader)
    }

    /// The balance at `time` without the lots whose expiry passed by then.
    static func spendable(
        _ customer: Customer,
        at time: Timestamp,
        in reader: some RecordReading
    ) async throws
        -> Int64
    {
        let now = Timestamps.nanos(time)
        var due: Int64 = 0
        for lot in try await reader.all(
            CRMTables.lots,
            RecordQuery(prefix: [.string(customer.id)], upperBound: [.int(now < .max ? now + 1 : .max)], pageSize: 500),
            limit: .max
        ) {
            due += lot.remaining
        }
        return customer.pointsBalance - due
    }

    public func quotePointsRedemption(
        request: QuotePointsRedemptionRequest,
        context: RPCServerContext
    ) async throws -> QuotePointsRedemptionResponse {
        if let points = request.points, points < 0 {
            throw RPCError.invalidArgument(field: "points", "must not be negative")
        }
        return try await store.read { reader in
            let settings = try await settings(reader)
            guard
                let amount = try loyaltyMoney(
                    request.orderAmount,
                    field: "order_amount",
                    settings: settings,
                    required: true
                )
            else { throw RPCError.invalidArgument(field: "order_amount", "is required") }
            let customer = try await reader.require(CRMTables.customers, request.customerID, field: "customer_id")
            let balance = try await spendable(customer, in: reader)
            let maximum =
                customer.status == .active
                ? try maximumRedeemable(spendable: balance, amount: amount, settings: settings) : 0
            var points =
                min(request.points ?? maximum, maximum) / settings.redeemPointsPerUnit * settings.redeemPointsPerUnit
            if points < settings.minRedeemPoints { points = 0 }
            return QuotePointsRedemptionResponse(
                balance: customer.pointsBalance,
                maxPoints: maximum,
                maxValue: Money(minorUnits: try value(of: maximum, settings: settings), currency: settings.currency),
                points: points,
                value: Money(minorUnits: try value(of: points, settings: settings), currency: settings.currency)
            )
        }
    }

    public func redeemPoints(
        request: RedeemPointsRequest,
        context: RPCServerContext
    ) async throws
        -> RedeemPointsResponse
    {
        let orderID = try Validate.id(request.orderID, field: "order_id")
        guard request.points > 0 else { throw RPCError.invalidArgument(field: "points", "must be positive") }
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(request.customerID)]
        ) { transaction in
            let settings = try await settings(transaction)
            guard request.points % settings.redeemPointsPerUnit == 0 else {
                throw RPCError.invalidArgument(
                    field: "points",
                    "must be a whole number of redeem units (\(settings.redeemPointsPerUnit) points)"
                )
            }
            guard request.points >= settings.minRedeemPoints else {
                throw RPCError.invalidArgument(field: "points", "must be at least \(settings.minRedeemPoints)")
            }
            guard
                let amount = try loyaltyMoney(
                    request.orderAmount,
                    field: "order_amount",
                    settings: settings,
                    required: true
                )
            else { throw RPCError.invalidArgument(field: "order_amount", "is required") }
            return try await redeem(
                points: request.points,
                customerID: request.customerID,
                orderID: orderID,
                orderAmount: amount,
                settings: settings,
                actor: actor(context),
                in: transaction
            )
        }
    }

    public func adjustPoints(request: AdjustPointsRequest, context: RPCServerContext) async throws -> PointsEntry {
        guard request.points != 0, (-10_000_000...10_000_000).contains(request.points) else {
            throw RPCError.invalidArgument(field: "points", "must be non-zero and at most 10000000 either way")
        }
        let note = try Validate.text(request.note, field: "note", min: 1, max: 500)
        if request.expiresAt != nil, request.points < 0 {
            throw RPCError.invalidArgument(field: "expires_at", "is only for positive adjustments")
        }
        let expiresAt = try request.expiresAt.map { try Validate.timestamp($0, field: "expires_at") }
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(request.customerID)]
        ) { transaction in
            var customer = try await changeableCustomer(transaction, request.customerID)
            let settings = try await settings(transaction)
            let book = PointsBook(transaction: transaction, actor: actor(context))
            let entry: PointsEntry
            if request.points > 0 {
                if let expiresAt, Timestamps.nanos(expiresAt) <= Timestamps.nanos(transaction.now) {
                    throw RPCError.invalidArgument(field: "expires_at", "must be in the future")
                }
                entry = try await book.add(
                    to: &customer,
                    reason: .adjust,
                    lots: [(request.points, expiresAt ?? expiry(from: transaction.now, settings: settings))],
                    note: note,
                    field: "points"
                )
            } else {
                try await book.expireDue(&customer)
                entry = try await book.remove(
                    from: &customer,
                    reason: .adjust,
                    points: -request.points,
                    note: note,
                    field: "points"
                ).entry
            }
            try await transaction.updateVersioned(CRMTables.customers, &customer)
            return entry
        }
    }

    public func getPointsBalance(
        request: GetPointsBalanceRequest,
        context: RPCServerContext
    ) async throws
        -> PointsBalance
    {
        try await store.read { reader in
            let customer = try await reader.require(CRMTables.customers, request.customerID, field: "customer_id")
            var balance = PointsBalance(customerID: customer.id, balance: customer.pointsBalance)
            try await reader.forEachPage(
                CRMTables.entries,
                RecordQuery(prefix: [.string(customer.id)], pageSize: 500)
            ) { entries in
                for entry in entries {
                    switch entry.reason {
                    case .earn: balance.lifetimeEarned += entry.points
                    case .redeem: balance.lifetimeRedeemed -= entry.points
                    case .expire: balance.lifetimeExpired -= entry.points
                    case .refundReversal where entry.points > 0 && !entry.relatedEntryID.isEmpty:
                        // Returned redemptions count against what was redeemed.
                        balance.lifetimeRedeemed -= entry.points
                    default: break
                    }
                    balance.updatedAt = entry.createdAt
                }
            }
            var buckets: [(Int64, Timestamp, Int64)] = []
            for lot in try await reader.all(
                CRMTables.lots,
                RecordQuery(prefix: [.string(customer.id)], pageSize: 500),
                limit: .max
            ) {
                guard let expiry = lot.expiresAt else { continue }
                let key = Timestamps.nanos(expiry)
                if let last = buckets.last, last.0 == key {
                    buckets[buckets.count - 1].2 += lot.remaining
                } else {
                    buckets.append((key, expiry, lot.remaining))
                }
            }
            balance.upcomingExpiries = buckets.prefix(12).map { PointsExpiryBucket(points: $0.2, expiresAt: $0.1) }
            return balance
        }
    }

    public func listPointsEntries(
        request: ListPointsEntriesRequest,
        context: RPCServerContext
    ) async throws
        -> ListPointsEntriesResponse
    {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let reason = try Validate.known(request.reason, field: "reason", noun: "reason")
        let orderID = request.orderID.isEmpty ? nil : try Validate.id(request.orderID, field: "order_id")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let predicate: @Sendable (PointsEntry) -> Bool = { entry in
            let time = Timestamps.nanos(entry.createdAt)
            return (reason == .unspecified || entry.reason == reason)
                && (start.map { time >= $0 } ?? true) && (end.map { time < $0 } ?? true)
        }
        return try await store.read { reader in
            let customer = try await reader.require(CRMTables.customers, request.customerID, field: "customer_id")
            var query = RecordQuery<PointsEntry>(
                prefix: [.string(customer.id)],
                direction: .reverse,
                pageSize: pageSize,
                pageToken: request.page?.pageToken,
                filters: [customer.id, "\(reason.rawValue)", orderID ?? "", "\(start ?? -1)", "\(end ?? -1)"],
                predicate: predicate
            )
            if let orderID {
                (query.index, query.prefix) = (CRMTables.entryOrder, [.string(customer.id), .string(orderID)])
            }
            let page = try await reader.page(CRMTables.entries, query)
            return ListPointsEntriesResponse(entries: page.records, nextPageToken: page.nextPageToken)
        }
    }

    // MARK: - Expiry and the ledger check

    /// Writes off lots whose expiry passed, at most `limit`, one customer per change.
    func sweepExpired(limit: Int) async throws -> SweepExpiredPointsResponse {
        let now = Timestamps.nanos(store.now())
        let due = try await store.latest.page(
            CRMTables.lots,
            RecordQuery(
                index: CRMTables.lotExpiry,
                upperBound: [.int(now < .max ? now + 1 : .max)],
                pageSize: limit + 1
            )
        ).records
        var response = SweepExpiredPointsResponse(moreRemaining: due.count > limit)
        for customerID in Set(due.prefix(limit).map(\.customerID)).sorted() {
            let expired = try await store.transaction(locking: [Self.customerLock(customerID)]) { transaction in
                guard var customer = try await transaction.get(CRMTables.customers, .string(customerID)) else {
                    return [PointsEntry]()
                }
                let entries = try await PointsBook(transaction: transaction, actor: .system).expireDue(&customer)
                if !entries.isEmpty { try await transaction.updateVersioned(CRMTables.customers, &customer) }
                return entries
            }
            response.expiredEntries += Int64(expired.count)
            response.expiredPoints += expired.reduce(0) { $0 - $1.points }
        }
        if response.expiredEntries > 0 {
            logger.info("expired points written off", metadata: ["entries": "\(response.expiredEntries)"])
        }
        return response
    }

    func sweepExpiredPoints(
        _ request: SweepExpiredPointsRequest,
        _ context: RPCServerContext
    ) async throws
        -> SweepExpiredPointsResponse
    {
        try RequestIDs.validate(request.requestID)
        guard (0...10_000).contains(request.maxCount) else {
            throw RPCError.invalidArgument(field: "max_count", "must be 1 to 10000, got \(request.maxCount)")
        }
        if let earlier = try await store.rememberedResult(
            context,
            requestID: request.requestID,
            request: request,
            as: SweepExpiredPointsResponse.self
        ) {
            return earlier
        }
        let response = try await sweepExpired(limit: request.maxCount == 0 ? 1000 : Int(request.maxCount))
        // Remembered on its own: the sweep ran as several changes, one per customer.
        return try await store.mutation(context, requestID: request.requestID, request: request) { _ in response }
    }

    func checkPointsLedger(_ request: CheckPointsLedgerRequest) async throws -> CheckPointsLedgerResponse {
        guard (0...10_000).contains(request.maxDiscrepancies) else {
            throw RPCError.invalidArgument(
                field: "max_discrepancies",
                "must be 1 to 10000, got \(request.maxDiscrepancies)"
            )
        }
        let limit = request.maxDiscrepancies == 0 ? 1000 : Int(request.maxDiscrepancies)
        let only = try request.customerID.map { try Validate.id($0, field: "customer_id") }
        return try await store.read { reader in
            var response = CheckPointsLedgerResponse(checkedAt: store.now())
            func check(_ customer: Customer) async throws {
                response.checkedCount += 1
                var sum: Int64 = 0
                var broken = false
                try await reader.forEachPage(
                    CRMTables.entries,
                    RecordQuery(prefix: [.string(customer.id)], pageSize: 500)
                ) { entries in
                    for entry in entries {
                        sum += entry.points
                        if entry.balanceAfter != sum || entry.points == 0 { broken = true }
                    }
                }
                var lots: Int64 = 0
                for lot in try await reader.all(
                    CRMTables.lots,
                    RecordQuery(prefix: [.string(customer.id)], pageSize: 500),
                    limit: .max
                ) {
                    lots += lot.remaining
                    if lot.remaining <= 0 { broken = true }
                }
                guard sum != customer.pointsBalance || lots != max(0, customer.pointsBalance) || broken else { return }
                response.discrepancyCount += 1
                if response.discrepancies.count < limit {
                    response.discrepancies.append(
                        PointsLedgerDiscrepancy(
                            customerID: customer.id,
                            balance: customer.pointsBalance,
                            ledgerSum: sum,
                            openLots: lots,
                            chainBroken: broken
                        )
                    )
                } else {
                    response.truncated = true
                }
            }
            if let only {
                try await check(try await reader.require(CRMTables.customers, only, field: "customer_id"))
            } else {
                try await reader.forEachPage(CRMTables.customers, RecordQuery(pageSize: 500)) { customers in
                    for customer in customers { try await check(customer) }
                }
            }
            return response
        }
    }
}
