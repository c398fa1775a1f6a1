import O2OMessages
import O2OPricing
import O2ORPC
import O2OServiceKit
import O2OStorage

extension OrderRiskRule: VersionedRecord, Identified {}

/// The risk tables. Table ids are part of every stored key: never reuse one.
enum RiskTables {
    static let rules = RecordTable<OrderRiskRule>(
        id: 511,
        name: "order_risk_rules",
        noun: "risk rule",
        primaryKey: { .string($0.id) }
    )
    static let decisionOrder = RecordIndex<OrderRiskDecision>(id: 1, name: "order", unique: false) {
        [[.string($0.orderID), .string($0.id)]]
    }
    static let decisionRule = RecordIndex<OrderRiskDecision>(id: 2, name: "rule", unique: false) {
        $0.ruleID.isEmpty ? [] : [[.string($0.ruleID), .string($0.id)]]
    }
    static let decisions = RecordTable<OrderRiskDecision>(
        id: 512,
        name: "order_risk_decisions",
        noun: "risk decision",
        primaryKey: { .string($0.id) },
        indexes: [decisionOrder, decisionRule]
    )
    /// What each rule remembers of each subject's recent orders.
    static let windows = RecordTable<OrderRiskWindow>(
        id: 513,
        name: "order_risk_windows",
        noun: "risk window",
        primaryKey: { [.string($0.ruleID), .string($0.subject)] }
    )

    static let keyspace: [KeyspaceEntry] =
        KeyspaceEntry.table(rules, owner: "orders") + KeyspaceEntry.table(decisions, owner: "orders")
        + KeyspaceEntry.table(windows, owner: "orders")
}

/// The subjects a checkout is counted under: who orders, from which device, to which
/// address.
struct RiskSubjects {
    var customerID: String
    var deviceID: String
    /// Country, province, city, district and street, lower-case without blanks;
    /// empty for a pickup.
    var address: String
    /// The SKUs and quantities, the fulfilment mode and the destination.
    var fingerprint: String

    init(_ checkout: CheckedCheckout) {
        customerID = checkout.customerID
        deviceID = checkout.deviceID
        let fulfillment = checkout.fulfillment
        if fulfillment.mode == .storePickup {
            address = ""
        } else {
            let parts =
                fulfillment.shippingAddress.map {
                    [$0.countryCode, $0.province, $0.city, $0.district, $0.street]
                } ?? []
            address = parts.map { $0.lowercased().filter { !$0.isWhitespace } }.joined(separator: "|")
        }
        let items = checkout.lines.map { "\($0.skuID)×\($0.quantity)" }.sorted().joined(separator: ",")
        let destination = fulfillment.mode == .storePickup ? fulfillment.pickupLocationID : address
        fingerprint = "\(fulfillment.mode.rawValue);\(destination);\(items)"
    }

    /// The subject `rule` counts this checkout under; nil when it does not count it
    /// (no device id, no shipping address, an amount rule).
    func subject(of rule: OrderRiskRule) -> String? {
        switch rule.kind {
        case .duplicateOrder, .customerVelocity: customerID
        case .deviceVelocity: deviceID.isEmpty ? nil : deviceID
        case .addressVelocity: address.isEmpty ? nil : address
        default: nil
        }
    }
}

/// Risk rules at checkout: every enabled rule is evaluated inside the order's own
/// change, each from one remembered window of its subject's recent orders (a read
/// and a write per rule, whatever the order history), and each match records a
/// decision with the figures behind it. The order takes the strongest action. A
/// rule's match count is its decisions, counted when the rule is read: a count kept
/// on the rule would make every matching checkout write the same record.
struct RiskEvaluation {
    /// Most recent orders a duplicate-order rule remembers per customer.
    static let maximumRemembered = 200

    let rules: [OrderRiskRule]
    let subjects: RiskSubjects

    /// The locks a checkout holds for these rules: one per rule and subject, so the
    /// checkouts counted together queue instead of colliding.
    var locks: [String] {
        rules.compactMap { rule in subjects.subject(of: rule).map { "risk/\(rule.id)/\($0)" } }
    }

    /// Evaluates the rules on `order` in `transaction`: updates the windows, records
    /// a decision per match, bumps each matched rule's count, and sets the order's
    /// risk state (HELD over FLAGGED, else CLEAR).
    func apply(to order: inout Order, currency: String, in transaction: ServiceTransaction) async throws {
        let now = Timestamps.nanos(transaction.now)
        var state = OrderRiskState.clear
        for rule in rules {
            guard
                let (reason, related) = try await match(
                    rule,
                    order: order,
                    now: now,
                    currency: currency,
                    in: transaction
                )
            else { continue }
            let decided: OrderRiskState = rule.action == .hold ? .held : .flagged
            if decided == .held || state == .clear { state = decided }
            try await transaction.insert(
                RiskTables.decisions,
                OrderRiskDecision(
                    id: RecordIDs.make(prefix: "rsk"),
                    orderID: order.id,
                    customerID: order.customerID,
                    ruleID: rule.id,
                    ruleKind: rule.kind,
                    state: decided,
                    reason: String(reason.prefix(1024)),
                    relatedOrderIDs: Array(related.suffix(20)),
                    actor: .system,
                    createdAt: transaction.now
                )
            )
        }
        order.riskState = state
    }

    /// Why `rule` matches the order, and the orders that made it; nil when it does
    /// not. Updates the rule's window of the subject.
    private func match(
        _ rule: OrderRiskRule,
        order: Order,
        now: Int64,
        currency: String,
        in transaction: ServiceTransaction
    ) async throws -> (String, [String])? {
        if rule.kind == .largeAmount {
            let payable = order.amounts?.payableTotal?.minorUnits ?? 0
            let threshold = rule.amountThreshold?.minorUnits ?? .max
            guard payable >= threshold else { return nil }
            return (
                "payable \(PriceMath.decimal(payable)) \(currency), threshold \(PriceMath.decimal(threshold)) \(currency)",
                []
            )
        }
        guard let subject = subjects.subject(of: rule) else { return nil }
        var window =
            try await transaction.get(RiskTables.windows, [.string(rule.id), .string(subject)])
            ?? OrderRiskWindow(ruleID: rule.id, subject: subject)
        let since = now - min(rule.windowSeconds, 2_592_000) * 1_000_000_000
        var result: (String, [String])?
        if rule.kind == .duplicateOrder {
            // Orders older than the window are forgotten; the duplicate must not be
            // cancelled.
            let keep = window.createdNanos.indices.filter { window.createdNanos[$0] >= since }
            window.createdNanos = keep.map { window.createdNanos[$0] }
            window.orderIDs = keep.map { window.orderIDs[$0] }
            window.fingerprints = keep.map { window.fingerprints.indices.contains($0) ? window.fingerprints[$0] : "" }
            for index in window.orderIDs.indices.reversed() where window.fingerprints[index] == subjects.fingerprint {
                let earlier = try await transaction.get(OrderTables.orders, .string(window.orderIDs[index]))
                guard let earlier, earlier.status != .cancelled else { continue }
                let seconds = (now - window.createdNanos[index]) / 1_000_000_000
                result = (
                    "same items, fulfilment and destination as order \(earlier.orderNumber), \(seconds) s earlier "
                        + "(window \(rule.windowSeconds) s)",
                    [earlier.id]
                )
                break
            }
            window.createdNanos.append(now)
            window.orderIDs.append(order.id)
            window.fingerprints.append(subjects.fingerprint)
            let excess = window.orderIDs.count - Self.maximumRemembered
            if excess > 0 {
                window.createdNanos.removeFirst(excess)
                window.orderIDs.removeFirst(excess)
                window.fingerprints.removeFirst(excess)
            }
        } else {
            // The newest max_orders orders are enough: one more within the window is
            // a match.
            window.createdNanos.append(now)
            window.orderIDs.append(order.id)
            let limit = Int(min(max(rule.maxOrders, 1), 10_000))
            let counted = window.createdNanos.filter { $0 >= since }.count
            if counted > limit {
                let who =
                    switch rule.kind {
                    case .customerVelocity: "customer \(subject)"
                    case .deviceVelocity: "device \(subject)"
                    default: "the shipping address"
                    }
                result = (
                    "\(who): \(counted) orders in \(rule.windowSeconds) s, max \(limit)",
                    Array(window.orderIDs.dropLast())
                )
            }
            let excess = window.orderIDs.count - limit
            if excess > 0 {
                window.createdNanos.removeFirst(excess)
                window.orderIDs.removeFirst(excess)
            }
        }
        try await transaction.save(RiskTables.windows, window)
        return result
    }
}

extension OrderRiskRule {
    /// The rule with its match count: its decisions so far.
    func counted(in reader: some RecordReading) async throws -> OrderRiskRule {
        var rule = self
        rule.matchCount = Int64(
            try await reader.count(RiskTables.decisions, RiskTables.decisionRule, prefix: [.string(id)], limit: .max)
        )
        return rule
    }
}

extension OrderServiceProvider {
    /// The enabled rules, oldest first: what a checkout evaluates.
    func enabledRiskRules() async throws -> [OrderRiskRule] {
        try await store.latest.all(RiskTables.rules, RecordQuery(pageSize: 200), limit: 1_000).filter(\.enabled)
    }
}
