public import O2OMessages
public import O2ORPC
import O2OServiceKit
import O2OStorage

/// The risk rules and reviews (OrderRiskService), over the orders.
public final class OrderRiskServiceProvider: OrderRiskServiceProtocol {
    let orders: OrderServiceProvider
    var store: ServiceStore { orders.store }

    public init(orders: OrderServiceProvider) {
        self.orders = orders
    }

    /// The checks of a rule's fields for its kind, naming the field.
    func check(_ rule: OrderRiskRule, currency: String, field: String) throws {
        _ = try Validate.text(rule.name, field: "\(field).name", min: 1, max: 64)
        _ = try Validate.text(rule.description, field: "\(field).description", max: 1_000)
        let action = try Validate.known(rule.action, field: "\(field).action", noun: "action")
        guard action != .unspecified else { throw RPCError.invalidArgument(field: "\(field).action", "is required") }
        let windowed: Set<OrderRiskRuleKind> = [.duplicateOrder, .customerVelocity, .deviceVelocity, .addressVelocity]
        let counted: Set<OrderRiskRuleKind> = [.customerVelocity, .deviceVelocity, .addressVelocity]
        if windowed.contains(rule.kind) {
            guard (60...2_592_000).contains(rule.windowSeconds) else {
                throw RPCError.invalidArgument(
                    field: "\(field).window_seconds",
                    "must be 60 to 2592000 (30 days) for \(rule.kind.displayName), got \(rule.windowSeconds)"
                )
            }
        } else if rule.windowSeconds != 0 {
            throw RPCError.invalidArgument(
                field: "\(field).window_seconds",
                "is not used by \(rule.kind.displayName) rules"
            )
        }
        if counted.contains(rule.kind) {
            guard (1...10_000).contains(rule.maxOrders) else {
                throw RPCError.invalidArgument(
                    field: "\(field).max_orders",
                    "must be 1 to 10000 for \(rule.kind.displayName), got \(rule.maxOrders)"
                )
            }
        } else if rule.maxOrders != 0 {
            throw RPCError.invalidArgument(
                field: "\(field).max_orders",
                "is not used by \(rule.kind.displayName) rules"
            )
        }
        if rule.kind == .largeAmount {
            guard
                let threshold = try Validate.money(
                    rule.amountThreshold,
                    field: "\(field).amount_threshold",
                    currency: currency
                ), threshold.minorUnits > 0
            else {
                throw RPCError.invalidArgument(
                    field: "\(field).amount_threshold",
                    "must be more than 0 for LARGE_AMOUNT"
                )
            }
        } else if rule.amountThreshold != nil {
            throw RPCError.invalidArgument(
                field: "\(field).amount_threshold",
                "is not used by \(rule.kind.displayName) rules"
            )
        }
    }

    public func createOrderRiskRule(
        request: CreateOrderRiskRuleRequest,
        context: RPCServerContext
    ) async throws -> OrderRiskRule {
        guard var rule = request.rule else { throw RPCError.invalidArgument(field: "rule", "is required") }
        let kind = try Validate.known(rule.kind, field: "rule.kind", noun: "rule kind")
        guard kind != .unspecified else { throw RPCError.invalidArgument(field: "rule.kind", "is required") }
        rule.name = rule.name.trimmingWhitespace()
        rule.description = rule.description.trimmingWhitespace()
        try check(rule, currency: orders.currency, field: "rule")
        let actor = try context.actor(request.actor)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            rule.id = RecordIDs.make(prefix: "rrl")
            rule.matchCount = 0
            rule.createdBy = actor
            rule.createdAt = transaction.now
            rule.updatedAt = transaction.now
            rule.version = 1
            try await transaction.insert(RiskTables.rules, rule)
            return rule
        }
    }

    public func getOrderRiskRule(
        request: GetOrderRiskRuleRequest,
        context: RPCServerContext
    ) async throws
        -> OrderRiskRule
    {
        try await store.latest.require(RiskTables.rules, try Validate.id(request.id, field: "id"), field: "id")
            .counted(in: store.latest)
    }

    public func listOrderRiskRules(
        request: ListOrderRiskRulesRequest,
        context: RPCServerContext
    ) async throws -> ListOrderRiskRulesResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let kind = try Validate.known(request.kind, field: "kind", noun: "rule kind")
        let enabled = request.enabled
        let page = try await store.latest.page(
            RiskTables.rules,
            RecordQuery(
                pageSize: pageSize,
                pageToken: request.page?.pageToken,
                filters: ["\(kind.rawValue)", enabled.map { "\($0)" } ?? ""],
                predicate: { rule in
                    (kind == .unspecified || rule.kind == kind) && (enabled == nil || rule.enabled == enabled!)
                }
            )
        )
        var rules: [OrderRiskRule] = []
        for rule in page.records { rules.append(try await rule.counted(in: store.latest)) }
        return ListOrderRiskRulesResponse(rules: rules, nextPageToken: page.nextPageToken)
    }

    public func updateOrderRiskRule(
        request: UpdateOrderRiskRuleRequest,
        context: RPCServerContext
    ) async throws -> OrderRiskRule {
        let id = try Validate.id(request.id, field: "id")
        _ = try context.actor(request.actor)
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: ["risk/rule/\(id)"]
        ) { transaction in
            try await transaction.modify(RiskTables.rules, id, field: "id", expectedVersion: request.expectedVersion) {
                rule in
                if let name = request.name { rule.name = name.trimmingWhitespace() }
                if let description = request.description { rule.description = description.trimmingWhitespace() }
                if let action = request.action { rule.action = action }
                if let enabled = request.enabled { rule.enabled = enabled }
                if let window = request.windowSeconds { rule.windowSeconds = window }
                if let most = request.maxOrders { rule.maxOrders = most }
                if let threshold = request.amountThreshold { rule.amountThreshold = threshold }
                try check(rule, currency: orders.currency, field: "rule")
            }.counted(in: transaction)
        }
    }

    public func reviewOrderRisk(request: ReviewOrderRiskRequest, context: RPCServerContext) async throws -> Order {
        let decision = try Validate.known(request.decision, field: "decision", noun: "risk state")
        guard [.flagged, .held, .released, .rejected].contains(decision) else {
            throw RPCError.invalidArgument(field: "decision", "must be FLAGGED, HELD, RELEASED or REJECTED")
        }
        let reason = try Validate.text(request.reason, field: "reason", min: 1, max: 1_024)
        let actor = try context.actor(request.actor)
        return try await orders.changeOrder(
            context,
            requestID: request.requestID,
            request: request,
            orderID: request.orderID,
            actor: actor
        ) { order, book in
            guard order.riskState != .rejected else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' was rejected as fraudulent; no further decision applies"
                )
            }
            if decision == .released, ![.flagged, .held].contains(order.riskState) {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "decision: order '\(order.id)' is \(order.riskState.displayName); only FLAGGED or HELD "
                        + "orders are released"
                )
            }
            let record = OrderRiskDecision(
                id: RecordIDs.make(prefix: "rsk"),
                orderID: order.id,
                customerID: order.customerID,
                state: decision,
                reason: reason,
                actor: actor,
                createdAt: book.transaction.now
            )
            try await book.transaction.insert(RiskTables.decisions, record)
            order.riskState = decision
            let text = "risk review: \(decision.displayName): \(reason)"
            guard decision == .rejected else {
                try await book.note(&order, kind: .riskDecision, reason: text, riskDecisionID: record.id)
                return
            }
            switch order.status {
            case .pendingPayment:
                try await book.move(&order, to: .cancelled, reason: text, riskDecisionID: record.id)
            case .paid, .fulfilling, .readyForPickup:
                try await book.move(
                    &order,
                    to: .refunding,
                    reason: text,
                    riskDecisionID: record.id,
                    refundReason: .riskRejection
                )
            case .cancelled:
                try await book.note(&order, kind: .riskDecision, reason: text, riskDecisionID: record.id)
            default:
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' is \(order.status.displayName); an order that left the "
                        + "store or warehouse cannot be rejected (use an after-sales case or a refund)"
                )
            }
        }
    }

    public func listOrderRiskDecisions(
        request: ListOrderRiskDecisionsRequest,
        context: RPCServerContext
    ) async throws -> ListOrderRiskDecisionsResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let orderID = request.orderID.isEmpty ? nil : try Validate.id(request.orderID, field: "order_id")
        let ruleID = request.ruleID.isEmpty ? nil : try Validate.id(request.ruleID, field: "rule_id")
        let state = try Validate.known(request.state, field: "state", noun: "risk state")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let predicate: @Sendable (OrderRiskDecision) -> Bool = { decision in
            let created = Timestamps.nanos(decision.createdAt)
            return (orderID == nil || decision.orderID == orderID!) && (ruleID == nil || decision.ruleID == ruleID!)
                && (state == .unspecified || decision.state == state)
                && (start.map { created >= $0 } ?? true) && (end.map { created < $0 } ?? true)
        }
        let filters = [orderID ?? "", ruleID ?? "", "\(state.rawValue)", "\(start ?? -1)", "\(end ?? -1)"]
        if let orderID {
            // One order's decisions, oldest first.
            let page = try await store.latest.page(
                RiskTables.decisions,
                RecordQuery(
                    index: RiskTables.decisionOrder,
                    prefix: [.string(orderID)],
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: filters,
                    predicate: predicate
                )
            )
            return ListOrderRiskDecisionsResponse(decisions: page.records, nextPageToken: page.nextPageToken)
        }
        let page = try await store.newestFirst(
            RiskTables.decisions,
            by: [(RiskTables.decisionRule, ruleID)],
            page: request.page,
            filters: filters,
            predicate: predicate
        )
        return ListOrderRiskDecisionsResponse(decisions: page.records, nextPageToken: page.nextPageToken)
    }
}
