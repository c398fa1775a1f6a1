import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

extension O2OServiceClients {
    func riskRule(
        _ kind: OrderRiskRuleKind,
        _ action: OrderRiskAction = .flag,
        window: Int64 = 0,
        most: Int64 = 0,
        threshold: Money? = nil
    ) async throws -> OrderRiskRule {
        try await orderRisk.createOrderRiskRule(
            CreateOrderRiskRuleRequest(
                requestID: rid(),
                rule: OrderRiskRule(
                    name: "\(kind.displayName.lowercased()) rule",
                    kind: kind,
                    action: action,
                    enabled: true,
                    windowSeconds: window,
                    maxOrders: most,
                    amountThreshold: threshold
                )
            )
        )
    }

    func riskDecisions(_ order: Order) async throws -> [OrderRiskDecision] {
        try await orderRisk.listOrderRiskDecisions(ListOrderRiskDecisionsRequest(orderID: order.id)).decisions
    }
}

@Suite("Risk rules at checkout")
struct RiskTests {
    @Test(
        "rules of every kind are evaluated in the checkout's change; a held order is paid but not fulfilled until released",
        arguments: StoreKind.allCases
    )
    func rules(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            await expectStatus(.invalidArgument, containing: "rule.window_seconds") {
                _ = try await client.riskRule(.customerVelocity, window: 10, most: 2)
            }
            await expectStatus(.invalidArgument, containing: "rule.amount_threshold") {
                _ = try await client.riskRule(.largeAmount)
            }
            await expectStatus(.invalidArgument, containing: "rule.max_orders") {
                _ = try await client.riskRule(.largeAmount, most: 3, threshold: cny(100))
            }
            let duplicate = try await client.riskRule(.duplicateOrder, window: 600)
            let large = try await client.riskRule(.largeAmount, .hold, threshold: cny(50_000))
            let device = try await client.riskRule(.deviceVelocity, window: 3_600, most: 2)

            func order(_ quantities: [Int64], device: String = "") async throws -> Order {
                var spec = shop.spec(quantities, fulfillment: shop.delivery())
                spec.deviceID = device
                return try await client.order.createOrder(CreateOrderRequest(requestID: rid(), checkout: spec))
            }
            let first = try await order([1, 0].filter { $0 > 0 }, device: "d-1")
            #expect(first.riskState == .clear)
            #expect(try await client.riskDecisions(first).isEmpty)
            // The same basket again: a duplicate, flagged, naming the first order.
            let again = try await order([1, 0].filter { $0 > 0 }, device: "d-1")
            #expect(again.riskState == .flagged)
            var decisions = try await client.riskDecisions(again)
            #expect(decisions.map(\.ruleID) == [duplicate.id] && decisions[0].relatedOrderIDs == [first.id])
            #expect(decisions[0].reason.contains(first.orderNumber) && decisions[0].actor?.principal == "system")
            // A cancelled earlier order is no duplicate.
            _ = try await client.order.cancelOrder(CancelOrderRequest(requestID: rid(), orderID: first.id, reason: "x"))
            _ = try await client.order.cancelOrder(CancelOrderRequest(requestID: rid(), orderID: again.id, reason: "x"))
            // The third order from device d-1 in an hour: more than 2. Large too: held.
            let big = try await order([6, 0].filter { $0 > 0 }, device: "d-1")
            #expect(big.riskState == .held)
            decisions = try await client.riskDecisions(big)
            #expect(Set(decisions.map(\.ruleID)) == [large.id, device.id])
            let velocity = decisions.first { $0.ruleID == device.id }!
            #expect(velocity.reason == "device d-1: 3 orders in 3600 s, max 2" && velocity.state == .flagged)
            #expect(velocity.relatedOrderIDs == [first.id, again.id])
            #expect(decisions.first { $0.ruleID == large.id }?.state == .held)
            #expect(try await client.orderRisk.getOrderRiskRule(GetOrderRiskRuleRequest(id: device.id)).matchCount == 1)

            // Held: paid, but not fulfilled until a reviewer releases it.
            try await client.pay(big)
            await expectStatus(.failedPrecondition, containing: "held for risk review") {
                _ = try await client.order.startOrderFulfillment(
                    StartOrderFulfillmentRequest(requestID: rid(), orderID: big.id)
                )
            }
            let released = try await client.orderRisk.reviewOrderRisk(
                ReviewOrderRiskRequest(requestID: rid(), orderID: big.id, decision: .released, reason: "known buyer")
            )
            #expect(released.riskState == .released)
            _ = try await client.order.startOrderFulfillment(
                StartOrderFulfillmentRequest(requestID: rid(), orderID: big.id)
            )
            let history = try await client.history(of: big)
            #expect(history.contains { $0.kind == .riskDecision && !$0.riskDecisionID.isEmpty })

            // Rejected: the paid order is cancelled with a RISK_REJECTION refund.
            let fraud = try await order([1, 1])
            try await client.pay(fraud)
            await expectStatus(.failedPrecondition, containing: "only FLAGGED or HELD") {
                _ = try await client.orderRisk.reviewOrderRisk(
                    ReviewOrderRiskRequest(requestID: rid(), orderID: fraud.id, decision: .released, reason: "ok")
                )
            }
            let rejected = try await client.orderRisk.reviewOrderRisk(
                ReviewOrderRiskRequest(requestID: rid(), orderID: fraud.id, decision: .rejected, reason: "刷单")
            )
            #expect(rejected.riskState == .rejected && rejected.status == .refunding)
            #expect(try await client.refunds(of: fraud).map(\.reason) == [.riskRejection])
            await expectStatus(.failedPrecondition, containing: "rejected as fraudulent") {
                _ = try await client.orderRisk.reviewOrderRisk(
                    ReviewOrderRiskRequest(requestID: rid(), orderID: fraud.id, decision: .flagged, reason: "again")
                )
            }
            // The review queue: HELD decisions across orders, newest first.
            let held = try await client.orderRisk.listOrderRiskDecisions(ListOrderRiskDecisionsRequest(state: .held))
            #expect(held.decisions.map(\.orderID) == [big.id])

            // A disabled rule is not evaluated.
            _ = try await client.orderRisk.updateOrderRiskRule(
                UpdateOrderRiskRuleRequest(requestID: rid(), id: device.id, enabled: false)
            )
            let quiet = try await order([1], device: "d-1")
            #expect(!(try await client.riskDecisions(quiet)).contains { $0.ruleID == device.id })
            let rules = try await client.orderRisk.listOrderRiskRules(ListOrderRiskRulesRequest(enabled: true)).rules
            #expect(rules.map(\.id) == [duplicate.id, large.id])
        }
    }

    @Test("200 concurrent checkouts of one customer against 5 per hour: exactly 5 pass", arguments: StoreKind.allCases)
    func velocityUnderConcurrency(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let rule = try await client.riskRule(.customerVelocity, .hold, window: 3_600, most: 5)
            _ = try await client.inventory.adjustStock(
                AdjustStockRequest(
                    requestID: rid(),
                    locationID: shop.warehouse.id,
                    reason: .return,
                    lines: [StockAdjustmentLine(skuID: shop.skus[1], quantityDelta: 1_000)]
                )
            )
            let spec = CheckoutSpec(
                customerID: shop.customer.id,
                source: .lines(CheckoutLineList(lines: [CheckoutLine(skuID: shop.skus[1], quantity: 1)])),
                fulfillment: shop.delivery()
            )
            let states = try await withThrowingTaskGroup(of: OrderRiskState.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        try await client.order.createOrder(CreateOrderRequest(requestID: rid(), checkout: spec))
                            .riskState
                    }
                }
                var states: [OrderRiskState] = []
                for try await state in group { states.append(state) }
                return states
            }
            #expect(states.filter { $0 == .clear }.count == 5)
            #expect(states.filter { $0 == .held }.count == 195)
            let stored = try await client.orderRisk.getOrderRiskRule(GetOrderRiskRuleRequest(id: rule.id))
            #expect(stored.matchCount == 195)
        }
    }
}
