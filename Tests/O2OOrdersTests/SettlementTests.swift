import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

extension O2OServiceClients {
    func settlements(of order: Order) async throws -> [OrderSettlement] {
        try await settlement.listOrderSettlements(ListOrderSettlementsRequest(orderID: order.id)).settlements
    }

    func statement(from start: Timestamp, to end: Timestamp) async throws -> SettlementStatement {
        try await settlement.createSettlementStatement(
            CreateSettlementStatementRequest(requestID: rid(), period: TimeRange(start: start, end: end))
        )
    }

    func refundLines(_ order: Order, _ selections: [(Int, Int64)]) async throws -> Refund {
        try await self.order.createRefund(
            CreateRefundRequest(
                requestID: rid(),
                orderID: order.id,
                scope: .lines(
                    RefundLineSelectionList(
                        lines: selections.map { RefundLineSelection(lineID: order.lines[$0.0].lineID, quantity: $0.1) }
                    )
                ),
                reason: .priceAdjustment
            )
        )
    }
}

/// value × numerator / denominator, half up, as the tests compute it by hand.
private func halfUp(_ value: Int64, _ numerator: Int64, _ denominator: Int64) -> Int64 {
    guard denominator > 0 else { return 0 }
    let product = value * numerator
    return (product * 2 + denominator) / (denominator * 2)
}

@Suite("Settlement")
struct SettlementTests {
    @Test(
        "a sale per payment, refunds taken off it, an adjustment once it is in a statement; statements confirm and cancel",
        arguments: StoreKind.allCases
    )
    func flow(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let begin = Timestamp(seconds: harness.clock.clock.now().seconds - 60)
            await expectStatus(.invalidArgument, containing: "fee_bps") {
                _ = try await client.settlement.setSettlementFeeRate(
                    SetSettlementFeeRateRequest(requestID: rid(), channel: .wechatPay, feeBps: 1_001)
                )
            }
            let rate = try await client.settlement.setSettlementFeeRate(
                SetSettlementFeeRateRequest(requestID: rid(), channel: .wechatPay, feeBps: 60, expectedVersion: 0)
            )
            #expect(rate.version == 1)
            let order = try await shop.delivered(client, [3, 1], now: harness.clock.clock.now())
            let payable = order.amounts?.payableTotal?.minorUnits ?? 0
            let payment = try await client.order.listPayments(ListPaymentsRequest(orderID: order.id)).payments[0]
            #expect(payment.channelFee?.minorUnits == halfUp(payable, 60, 10_000), "0.6%, half up")
            var records = try await client.settlements(of: order)
            #expect(records.count == 1 && records[0].kind == .sale && records[0].status == .pending)
            #expect(records[0].grossAmount?.minorUnits == payable)
            #expect(records[0].fulfillmentLocationIDs == [shop.warehouse.id])
            // A refund while pending comes off the sale, the fee in proportion.
            let refund = try await client.refunded(try await client.refundLines(order, [(0, 1)]))
            let refunded = refund.amount?.minorUnits ?? 0
            records = try await client.settlements(of: order)
            let fee = halfUp(payment.channelFee?.minorUnits ?? 0, payable - refunded, payable)
            #expect(records[0].refundedAmount?.minorUnits == refunded && records[0].channelFee?.minorUnits == fee)
            #expect(records[0].netAmount?.minorUnits == payable - refunded - fee)
            // Nothing is READY yet: no statement.
            await expectStatus(.failedPrecondition, containing: "no READY settlement") {
                _ = try await client.statement(from: begin, to: harness.clock.clock.now())
            }
            _ = try await client.order.completeOrder(CompleteOrderRequest(requestID: rid(), orderID: order.id))
            records = try await client.settlements(of: order)
            #expect(records[0].status == .ready && records[0].readyAt != nil)
            await expectStatus(.invalidArgument, containing: "future") {
                _ = try await client.statement(
                    from: begin,
                    to: Timestamp(seconds: harness.clock.clock.now().seconds + 3_600)
                )
            }
            var statement = try await client.statement(from: begin, to: harness.clock.clock.now())
            #expect(statement.status == .draft && statement.settlementCount == 1)
            #expect(
                statement.netAmount == records[0].netAmount && statement.channelTotals.map(\.channel) == [.wechatPay]
            )
            // A refund after the sale is in a statement: a READY adjustment.
            let late = try await client.refunded(try await client.refundLines(order, [(1, 1)]))
            records = try await client.settlements(of: order)
            let adjustment = try #require(records.first { $0.kind == .refundAdjustment })
            let lateAmount = late.amount?.minorUnits ?? 0
            let feeAfter = halfUp(payment.channelFee?.minorUnits ?? 0, payable - refunded - lateAmount, payable)
            #expect(adjustment.status == .ready && adjustment.refundID == late.id)
            #expect(adjustment.channelFee?.minorUnits == feeAfter - fee, "the fee given back")
            #expect(adjustment.netAmount?.minorUnits == -lateAmount - (feeAfter - fee))
            // Cancelled: the sale is READY again; the next statement takes both.
            statement = try await client.settlement.cancelSettlementStatement(
                CancelSettlementStatementRequest(requestID: rid(), id: statement.id, reason: "wrong period")
            )
            #expect(statement.status == .cancelled)
            await expectStatus(.failedPrecondition, containing: "CANCELLED") {
                _ = try await client.settlement.confirmSettlementStatement(
                    ConfirmSettlementStatementRequest(requestID: rid(), id: statement.id)
                )
            }
            var next = try await client.statement(from: begin, to: harness.clock.clock.now())
            #expect(next.settlementCount == 2)
            #expect(next.netAmount?.minorUnits == payable - refunded - lateAmount - feeAfter, "to the fen")
            next = try await client.settlement.confirmSettlementStatement(
                ConfirmSettlementStatementRequest(requestID: rid(), id: next.id, note: "payout 2026-12-02")
            )
            #expect(next.status == .confirmed && next.note == "payout 2026-12-02")
            let again = try await client.settlement.confirmSettlementStatement(
                ConfirmSettlementStatementRequest(requestID: rid(), id: next.id)
            )
            #expect(again == next, "confirming a CONFIRMED statement returns it unchanged")
            #expect(try await client.settlements(of: order).allSatisfy { $0.status == .settled })
            let listed = try await client.settlement.listSettlementStatements(ListSettlementStatementsRequest())
            #expect(listed.statements.count == 2)
        }
    }

    @Test(
        "over random order histories, each payment's records and the period's statements add up to the fen",
        arguments: StoreKind.allCases
    )
    func randomHistories(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            var random = SeededRandom(seed: kind == .memory ? 0x5E77 : 0x1E06)
            func pick(_ count: Int) -> Int { Int.random(in: 0..<count, using: &random) }
            let begin = Timestamp(seconds: harness.clock.clock.now().seconds - 60)
            for (channel, bps) in [(PaymentChannel.wechatPay, Int32(60)), (.alipay, 55), (.unionpay, 37)] {
                _ = try await client.settlement.setSettlementFeeRate(
                    SetSettlementFeeRateRequest(requestID: rid(), channel: channel, feeBps: bps)
                )
            }
            let channels: [PaymentChannel] = [.wechatPay, .alipay, .unionpay]
            var statements: [SettlementStatement] = []
            var orders: [Order] = []
            for step in 0..<30 {
                var order = try await shop.order(client, [Int64(1 + pick(3)), Int64(1 + pick(2))])
                orders.append(order)
                let payment = try await client.order.createPayment(
                    CreatePaymentRequest(requestID: rid(), orderID: order.id, channel: channels[pick(3)])
                )
                // Some callbacks report the fee themselves.
                let reported = pick(4) == 0 ? cny(Int64(pick(500))) : nil
                _ = try await client.order.recordPaymentCallback(
                    RecordPaymentCallbackRequest(
                        requestID: rid(),
                        paymentID: payment.id,
                        channel: payment.channel,
                        channelTransactionID: "tx-\(step)",
                        outcome: .succeeded,
                        amount: payment.amount,
                        channelFee: reported
                    )
                )
                order = try await client.fetch(order)
                switch pick(4) {
                case 0:
                    // Cancelled after payment: refunded in full.
                    _ = try await client.order.cancelOrder(
                        CancelOrderRequest(requestID: rid(), orderID: order.id, reason: "changed mind")
                    )
                    for refund in try await client.refunds(of: order) { _ = try await client.refunded(refund) }
                case 1:
                    // A refund that fails, then one that succeeds; then completed.
                    let failed = try await client.refundLines(order, [(0, 1)])
                    _ = try await client.refunded(failed, outcome: .failed)
                    _ = try await client.refunded(try await client.refundLines(order, [(0, 1)]))
                    fallthrough
                default:
                    order = try await client.fetch(order)
                    if order.status == .paid {
                        _ = try await client.order.startOrderFulfillment(
                            StartOrderFulfillmentRequest(requestID: rid(), orderID: order.id)
                        )
                        let shipment = try await client.order.createShipment(
                            CreateShipmentRequest(
                                requestID: rid(),
                                orderID: order.id,
                                locationID: shop.warehouse.id,
                                carrierCode: "SF",
                                trackingNumber: "SF\(step)"
                            )
                        )
                        _ = try await client.order.recordShipmentEvent(
                            RecordShipmentEventRequest(
                                requestID: rid(),
                                shipmentID: shipment.id,
                                event: ShipmentEvent(
                                    status: .delivered,
                                    occurredAt: harness.clock.clock.now(),
                                    carrierEventID: "d"
                                )
                            )
                        )
                        _ = try await client.order.completeOrder(
                            CompleteOrderRequest(requestID: rid(), orderID: order.id)
                        )
                        // Some are refunded after completion, maybe after a statement.
                        if pick(3) == 0 {
                            _ = try await client.refunded(
                                try await client.order.createRefund(
                                    CreateRefundRequest(
                                        requestID: rid(),
                                        orderID: order.id,
                                        scope: .amount(cny(Int64(1 + pick(300)))),
                                        reason: .priceAdjustment
                                    )
                                )
                            )
                        }
                    }
                }
                // An earlier completed order refunded now: its sale may be in a statement.
                let completed = orders.dropLast()
                if pick(2) == 0, let earlier = completed.randomElement(using: &random),
                    try await client.fetch(earlier).status == .completed
                {
                    if let refund = try? await client.order.createRefund(
                        CreateRefundRequest(
                            requestID: rid(),
                            orderID: earlier.id,
                            scope: .amount(cny(Int64(1 + pick(200)))),
                            reason: .priceAdjustment
                        )
                    ) {
                        _ = try await client.refunded(refund)
                    }
                }
                // Now and then finance takes what is ready so far.
                if step % 7 == 6 {
                    harness.clock.advance(seconds: 2)
                    if let made = try? await client.statement(from: begin, to: harness.clock.clock.now()) {
                        statements.append(made)
                    }
                }
            }
            harness.clock.advance(seconds: 2)
            statements.append(try await client.statement(from: begin, to: harness.clock.clock.now()))
            // Every payment: its records add up to gross − refunded − the fee kept, to the fen.
            var expectedNet: Int64 = 0
            for order in orders {
                let records = try await client.settlements(of: order)
                for payment in try await client.order.listPayments(ListPaymentsRequest(orderID: order.id)).payments
                where payment.status == .succeeded {
                    let gross = payment.amount?.minorUnits ?? 0
                    let refunded = payment.refundedAmount?.minorUnits ?? 0
                    let fee = halfUp(payment.channelFee?.minorUnits ?? 0, gross - refunded, gross)
                    let own = records.filter { $0.paymentID == payment.id }
                    let net = own.map { $0.netAmount?.minorUnits ?? 0 }.reduce(0, +)
                    #expect(net == gross - refunded - fee, "payment \(payment.id)")
                    #expect(own.map { $0.refundedAmount?.minorUnits ?? 0 }.reduce(0, +) == refunded)
                    #expect(own.filter { $0.kind == .sale }.count == 1)
                    if own.allSatisfy({ $0.status != .pending }) { expectedNet += net }
                }
            }
            // The statements of the period hold every ready record once, to the fen.
            let statementNet = statements.map { $0.netAmount?.minorUnits ?? 0 }.reduce(0, +)
            #expect(statementNet == expectedNet)
            for statement in statements {
                let held = try await client.settlement.listOrderSettlements(
                    ListOrderSettlementsRequest(page: PageRequest(pageSize: 500), statementID: statement.id)
                ).settlements
                #expect(Int64(held.count) == statement.settlementCount)
                #expect(held.map { $0.netAmount?.minorUnits ?? 0 }.reduce(0, +) == statement.netAmount?.minorUnits)
                let perChannel = statement.channelTotals.map { $0.netAmount?.minorUnits ?? 0 }.reduce(0, +)
                #expect(perChannel == statement.netAmount?.minorUnits)
            }
            let adjustments = try await client.settlement.listOrderSettlements(
                ListOrderSettlementsRequest(kind: .refundAdjustment)
            ).settlements
            #expect(!adjustments.isEmpty, "some refunds came after their sale was in a statement")
            let ready = try await client.settlement.listOrderSettlements(ListOrderSettlementsRequest(status: .ready))
            #expect(ready.settlements.isEmpty, "the last statement took everything ready")
        }
    }
}
