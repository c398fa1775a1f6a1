public import O2OMessages
public import O2ORPC
import O2OServiceKit
import O2OStorage

/// Settlement records, statements and fee rates (SettlementService), over the
/// orders. The records themselves are written by `SettlementBook` inside the
/// payment, refund and order changes that cause them.
public final class SettlementServiceProvider: SettlementServiceProtocol {
    /// Most settlements one statement takes; a longer period is refused.
    static let maximumPerStatement = 20_000
    static let statementsLock = "settlement/statements"

    let orders: OrderServiceProvider
    var store: ServiceStore { orders.store }
    var currency: String { orders.currency }

    public init(orders: OrderServiceProvider) {
        self.orders = orders
    }

    private func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: currency) }

    public func getOrderSettlement(
        request: GetOrderSettlementRequest,
        context: RPCServerContext
    ) async throws -> OrderSettlement {
        try await store.latest.require(
            SettlementTables.settlements,
            try Validate.id(request.id, field: "id"),
            field: "id"
        )
    }

    public func listOrderSettlements(
        request: ListOrderSettlementsRequest,
        context: RPCServerContext
    ) async throws -> ListOrderSettlementsResponse {
        _ = try Paging.pageSize(request.page, field: "page")
        let orderID = request.orderID.isEmpty ? nil : try Validate.id(request.orderID, field: "order_id")
        let statementID =
            request.statementID.isEmpty ? nil : try Validate.id(request.statementID, field: "statement_id")
        let kind = try Validate.known(request.kind, field: "kind", noun: "settlement kind")
        let status = try Validate.known(request.status, field: "status", noun: "settlement status")
        let channel = try Validate.known(request.channel, field: "channel", noun: "channel")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let predicate: @Sendable (OrderSettlement) -> Bool = { record in
            let created = Timestamps.nanos(record.createdAt)
            return (orderID == nil || record.orderID == orderID!)
                && (statementID == nil || record.statementID == statementID!)
                && (kind == .unspecified || record.kind == kind) && (status == .unspecified || record.status == status)
                && (channel == .unspecified || record.channel == channel)
                && (start.map { created >= $0 } ?? true) && (end.map { created < $0 } ?? true)
        }
        let filters = [
            orderID ?? "", statementID ?? "", "\(kind.rawValue)", "\(status.rawValue)", "\(channel.rawValue)",
            "\(start ?? -1)", "\(end ?? -1)",
        ]
        let page = try await store.newestFirst(
            SettlementTables.settlements,
            by: [(SettlementTables.settlementOrder, orderID), (SettlementTables.settlementStatement, statementID)],
            page: request.page,
            filters: filters,
            predicate: predicate
        )
        return ListOrderSettlementsResponse(settlements: page.records, nextPageToken: page.nextPageToken)
    }

    public func createSettlementStatement(
        request: CreateSettlementStatementRequest,
        context: RPCServerContext
    ) async throws -> SettlementStatement {
        let (start, end) = try Validate.timeRange(request.period, field: "period")
        guard let start, let end else {
            throw RPCError.invalidArgument(field: "period", "needs both a start and an end")
        }
        guard end > start, end - start <= 366 * 86_400 * 1_000_000_000 else {
            throw RPCError.invalidArgument(field: "period.end", "must be after the start and at most 366 days later")
        }
        let channel = try Validate.known(request.channel, field: "channel", noun: "channel")
        let note = try Validate.text(request.note, field: "note", max: 1_024)
        let actor = try context.actor(request.actor)
        let now = store.now()
        guard end <= Timestamps.nanos(now) else {
            throw RPCError.invalidArgument(field: "period.end", "must not be in the future")
        }
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.statementsLock]
        ) { transaction in
            let ready = try await transaction.all(
                SettlementTables.settlements,
                RecordQuery(
                    index: SettlementTables.settlementReady,
                    lowerBound: [.int(start)],
                    upperBound: [.int(end)],
                    pageSize: 500,
                    predicate: { channel == .unspecified || $0.channel == channel }
                ),
                limit: Self.maximumPerStatement + 1
            )
            guard !ready.isEmpty else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "period: no READY settlement became ready in this period"
                        + (channel == .unspecified ? "" : " over \(channel.displayName)")
                )
            }
            guard ready.count <= Self.maximumPerStatement else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "period: more than \(Self.maximumPerStatement) settlements became ready in it; "
                        + "make one statement per shorter period"
                )
            }
            var statement = SettlementStatement(
                id: RecordIDs.make(prefix: "sst"),
                period: request.period,
                channel: channel,
                status: .draft,
                note: note,
                requestID: request.requestID,
                createdBy: actor,
                createdAt: transaction.now,
                updatedAt: transaction.now,
                version: 1
            )
            try Self.total(&statement, ready, currency: currency)
            for var record in ready {
                record.status = .inStatement
                record.statementID = statement.id
                try await transaction.updateVersioned(SettlementTables.settlements, &record)
            }
            try await transaction.insert(SettlementTables.statements, statement)
            return statement
        }
    }

    /// The statement's totals, overall and per channel, from its settlements.
    static func total(_ statement: inout SettlementStatement, _ records: [OrderSettlement], currency: String) throws {
        struct Sums {
            var count: Int64 = 0
            var gross: Int64 = 0
            var refunded: Int64 = 0
            var fee: Int64 = 0
            var net: Int64 = 0
            mutating func add(_ record: OrderSettlement) throws {
                count += 1
                gross = try Checked.add(gross, record.grossAmount?.minorUnits ?? 0, field: "gross_amount")
                refunded = try Checked.add(refunded, record.refundedAmount?.minorUnits ?? 0, field: "refunded_amount")
                fee = try Checked.add(fee, record.channelFee?.minorUnits ?? 0, field: "channel_fee")
                net = try Checked.add(net, record.netAmount?.minorUnits ?? 0, field: "net_amount")
            }
        }
        var all = Sums()
        var channels: [PaymentChannel: Sums] = [:]
        for record in records {
            try all.add(record)
            try channels[record.channel, default: Sums()].add(record)
        }
        func money(_ value: Int64) -> Money { Money(minorUnits: value, currency: currency) }
        statement.settlementCount = all.count
        statement.grossAmount = money(all.gross)
        statement.refundedAmount = money(all.refunded)
        statement.channelFee = money(all.fee)
        statement.netAmount = money(all.net)
        statement.channelTotals = channels.sorted { $0.key.rawValue < $1.key.rawValue }.map { channel, sums in
            SettlementChannelTotal(
                channel: channel,
                settlementCount: sums.count,
                grossAmount: money(sums.gross),
                refundedAmount: money(sums.refunded),
                channelFee: money(sums.fee),
                netAmount: money(sums.net)
            )
        }
    }

    public func getSettlementStatement(
        request: GetSettlementStatementRequest,
        context: RPCServerContext
    ) async throws -> SettlementStatement {
        try await store.latest.require(
            SettlementTables.statements,
            try Validate.id(request.id, field: "id"),
            field: "id"
        )
    }

    public func listSettlementStatements(
        request: ListSettlementStatementsRequest,
        context: RPCServerContext
    ) async throws -> ListSettlementStatementsResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let status = try Validate.known(request.status, field: "status", noun: "statement status")
        let (start, end) = try Validate.timeRange(request.periodStart, field: "period_start")
        let page = try await store.latest.page(
            SettlementTables.statements,
            RecordQuery(
                index: SettlementTables.statementPeriod,
                lowerBound: start.map { [.int($0)] },
                upperBound: end.map { [.int($0)] },
                direction: .reverse,
                pageSize: pageSize,
                pageToken: request.page?.pageToken,
                filters: ["\(status.rawValue)", "\(start ?? -1)", "\(end ?? -1)"],
                predicate: { status == .unspecified || $0.status == status }
            )
        )
        return ListSettlementStatementsResponse(statements: page.records, nextPageToken: page.nextPageToken)
    }

    /// Ends a DRAFT statement: its settlements become SETTLED (confirm) or READY
    /// again (cancel).
    private func close(
        _ context: RPCServerContext,
        requestID: String,
        request: some O2OMessage,
        id: String,
        expectedVersion: Int64?,
        to status: SettlementStatementStatus,
        note: String,
        actor: ChangeActor
    ) async throws -> SettlementStatement {
        let id = try Validate.id(id, field: "id")
        return try await store.mutation(
            context,
            requestID: requestID,
            request: request,
            locking: [Self.statementsLock]
        ) { transaction in
            var statement = try await transaction.require(
                SettlementTables.statements,
                id,
                field: "id",
                expectedVersion: expectedVersion
            )
            if statement.status == status, status == .confirmed { return statement }
            guard statement.status == .draft else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "id: statement '\(id)' is \(statement.status.displayName); only DRAFT statements can "
                        + "become \(status.displayName)"
                )
            }
            let records = try await transaction.all(
                SettlementTables.settlements,
                RecordQuery(index: SettlementTables.settlementStatement, prefix: [.string(id)], pageSize: 500),
                limit: Self.maximumPerStatement
            )
            for var record in records {
                if status == .confirmed {
                    record.status = .settled
                    record.settledAt = transaction.now
                } else {
                    record.status = .ready
                    record.statementID = ""
                }
                try await transaction.updateVersioned(SettlementTables.settlements, &record)
            }
            statement.status = status
            if !note.isEmpty { statement.note = note }
            statement.closedBy = actor
            statement.closedAt = transaction.now
            try await transaction.updateVersioned(SettlementTables.statements, &statement)
            return statement
        }
    }

    public func confirmSettlementStatement(
        request: ConfirmSettlementStatementRequest,
        context: RPCServerContext
    ) async throws -> SettlementStatement {
        let note = try Validate.text(request.note, field: "note", max: 1_024)
        return try await close(
            context,
            requestID: request.requestID,
            request: request,
            id: request.id,
            expectedVersion: request.expectedVersion,
            to: .confirmed,
            note: note,
            actor: try context.actor(request.actor)
        )
    }

    public func cancelSettlementStatement(
        request: CancelSettlementStatementRequest,
        context: RPCServerContext
    ) async throws -> SettlementStatement {
        let reason = try Validate.text(request.reason, field: "reason", min: 1, max: 1_024)
        return try await close(
            context,
            requestID: request.requestID,
            request: request,
            id: request.id,
            expectedVersion: nil,
            to: .cancelled,
            note: reason,
            actor: try context.actor(request.actor)
        )
    }

    public func listSettlementFeeRates(
        request: ListSettlementFeeRatesRequest,
        context: RPCServerContext
    ) async throws -> ListSettlementFeeRatesResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let page = try await store.latest.page(
            SettlementTables.feeRates,
            RecordQuery(pageSize: pageSize, pageToken: request.page?.pageToken)
        )
        return ListSettlementFeeRatesResponse(feeRates: page.records, nextPageToken: page.nextPageToken)
    }

    public func setSettlementFeeRate(
        request: SetSettlementFeeRateRequest,
        context: RPCServerContext
    ) async throws -> SettlementFeeRate {
        let channel = try Validate.known(request.channel, field: "channel", noun: "channel")
        guard channel != .unspecified else { throw RPCError.invalidArgument(field: "channel", "is required") }
        guard (0...1_000).contains(request.feeBps) else {
            throw RPCError.invalidArgument(field: "fee_bps", "must be 0 to 1000, got \(request.feeBps)")
        }
        let actor = try context.actor(request.actor)
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: ["settlement/fee/\(channel.rawValue)"]
        ) { transaction in
            var rate =
                try await transaction.get(SettlementTables.feeRates, [.int(Int64(channel.rawValue))])
                ?? SettlementFeeRate(channel: channel)
            try Validate.version(
                request.expectedVersion,
                actual: rate.version,
                subject: "the \(channel.displayName) fee rate"
            )
            rate.feeBps = request.feeBps
            rate.updatedBy = actor
            rate.updatedAt = transaction.now
            rate.version = try Checked.add(rate.version, 1, field: "version")
            try await transaction.save(SettlementTables.feeRates, rate)
            return rate
        }
    }
}
