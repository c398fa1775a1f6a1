import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

@Suite("Orders under concurrency and random histories")
struct OrderModelTests {
    @Test(
        "200 concurrent checkouts for the last 50 units order exactly 50; cancelling gives them back",
        arguments: StoreKind.allCases
    )
    func noOversell(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            // 50 tins left in the warehouse; the store's 2 are not for delivery.
            _ = try await client.inventory.adjustStock(
                AdjustStockRequest(
                    requestID: rid(),
                    locationID: shop.warehouse.id,
                    reason: .damage,
                    lines: [StockAdjustmentLine(skuID: shop.skus[0], quantityDelta: -50)]
                )
            )
            var buyers: [String] = []
            for index in 0..<20 {
                buyers.append(
                    try await client.crm.createCustomer(
                        CreateCustomerRequest(
                            requestID: rid(),
                            displayName: "买家 \(index)",
                            email: "buyer-\(index)-\(UUID().uuidString.prefix(6))@example.com"
                        )
                    ).id
                )
            }
            // Overlapping baskets: one tin alone, or a tin with a small pack.
            let results = try await withThrowingTaskGroup(of: Order?.self) { group in
                for index in 0..<200 {
                    let lines =
                        index % 2 == 0
                        ? [CheckoutLine(skuID: shop.skus[0], quantity: 1)]
                        : [
                            CheckoutLine(skuID: shop.skus[0], quantity: 1),
                            CheckoutLine(skuID: shop.skus[1], quantity: 1),
                        ]
                    let spec = CheckoutSpec(
                        customerID: buyers[index % buyers.count],
                        source: .lines(CheckoutLineList(lines: lines)),
                        fulfillment: shop.delivery()
                    )
                    group.addTask {
                        do {
                            return try await client.order.createOrder(
                                CreateOrderRequest(requestID: rid(), checkout: spec)
                            )
                        } catch let error as RPCError where error.code == .failedPrecondition {
                            #expect(error.message.contains("not enough stock"), "\(error.message)")
                            return nil
                        }
                    }
                }
                var orders: [Order] = []
                for try await order in group { if let order { orders.append(order) } }
                return orders
            }
            #expect(results.count == 50)
            let level = try await client.level(shop.skus[0], at: shop.warehouse)
            #expect(level.onHand == 50 && level.reserved == 50 && level.available == 0)
            for order in results.prefix(10) {
                _ = try await client.order.cancelOrder(
                    CancelOrderRequest(requestID: rid(), orderID: order.id, reason: "changed mind")
                )
            }
            #expect(try await client.level(shop.skus[0], at: shop.warehouse).reserved == 40)
            try await client.expectLedgersConsistent()
        }
    }

    static func nanos(_ time: Timestamp?) -> Int64 {
        guard let time else { return .max }
        return time.seconds * 1_000_000_000 + Int64(time.nanos)
    }

    /// What the model knows of one order.
    struct Modelled {
        var order: Order
        var status: OrderStatus
        var paid: Int64 = 0
        var refunded: Int64 = 0
        var pendingRefunds: [Refund] = []
        var units: Int64
        var shipped = false
    }

    @Test(
        "random checkouts, payments, cancels, shipments, refunds, sweeps and retries match the model",
        arguments: StoreKind.allCases
    )
    func randomHistories(kind: StoreKind) async throws {
        let seed = UInt64.random(in: 1...UInt64.max)
        var random = SeededRandom(seed: seed)
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let sku = shop.skus[0]
            var onHand: Int64 = 100
            var reserved: Int64 = 0
            var orders: [Modelled] = []
            var lastCheckout: (request: CreateOrderRequest, id: String)?
            let steps = 150

            func pick(_ statuses: [OrderStatus]) -> Int? {
                let candidates = orders.indices.filter { statuses.contains(orders[$0].status) }
                return candidates.randomElement(using: &random)
            }

            for step in 0..<steps {
                let context = "seed \(seed) step \(step)"
                switch Int.random(in: 0..<12, using: &random) {
                case 0, 1:
                    let units = Int64.random(in: 1...12, using: &random)
                    let request = CreateOrderRequest(
                        requestID: rid(),
                        checkout: CheckoutSpec(
                            customerID: shop.customer.id,
                            source: .lines(CheckoutLineList(lines: [CheckoutLine(skuID: sku, quantity: units)])),
                            fulfillment: shop.delivery(),
                            pointsToRedeem: Bool.random(using: &random) ? 100 : 0
                        )
                    )
                    do {
                        let order = try await client.order.createOrder(request)
                        #expect(onHand - reserved >= units, "\(context): ordered more than available")
                        reserved += units
                        orders.append(Modelled(order: order, status: .pendingPayment, units: units))
                        lastCheckout = (request, order.id)
                    } catch let error as RPCError {
                        let short = onHand - reserved < units
                        let noPoints = error.message.contains("points_to_redeem")
                        #expect(short || noPoints, "\(context): \(error.message)")
                    }
                case 2:
                    guard let index = pick([.pendingPayment]) else { continue }
                    let payment = try await client.pay(orders[index].order, transactionID: "t\(step)")
                    if Bool.random(using: &random) { _ = try await client.succeed(payment, transactionID: "t\(step)") }
                    orders[index].status = .paid
                    orders[index].paid = orders[index].order.amounts?.payableTotal?.minorUnits ?? 0
                case 3:
                    guard let index = pick([.pendingPayment]) else { continue }
                    let payment = try await client.order.createPayment(
                        CreatePaymentRequest(requestID: rid(), orderID: orders[index].order.id, channel: .unionpay)
                    )
                    _ = try await client.order.recordPaymentCallback(
                        RecordPaymentCallbackRequest(
                            requestID: rid(),
                            paymentID: payment.id,
                            channel: .unionpay,
                            channelTransactionID: "f\(step)",
                            outcome: .failed,
                            amount: payment.amount,
                            failureReason: "declined"
                        )
                    )
                case 4:
                    guard let index = orders.indices.randomElement(using: &random) else { continue }
                    let model = orders[index]
                    do {
                        _ = try await client.order.cancelOrder(
                            CancelOrderRequest(requestID: rid(), orderID: model.order.id, reason: "random")
                        )
                        switch model.status {
                        case .pendingPayment:
                            orders[index].status = .cancelled
                            reserved -= model.units
                        case .paid, .fulfilling:
                            orders[index].status = .refunding
                            reserved -= model.units
                            orders[index].pendingRefunds = try await client.refunds(of: model.order).filter {
                                $0.status == .pending
                            }
                        case .cancelled:
                            break
                        default:
                            Issue.record("\(context): cancelling a \(model.status) order succeeded")
                        }
                    } catch let error as RPCError {
                        #expect(
                            ![.pendingPayment, .paid, .fulfilling, .cancelled].contains(model.status),
                            "\(context): \(error.message)"
                        )
                    }
                case 5:
                    guard let index = pick([.paid]) else { continue }
                    _ = try await client.order.startOrderFulfillment(
                        StartOrderFulfillmentRequest(requestID: rid(), orderID: orders[index].order.id)
                    )
                    orders[index].status = .fulfilling
                case 6:
                    guard let index = pick([.fulfilling]) else { continue }
                    _ = try await client.order.createShipment(
                        CreateShipmentRequest(
                            requestID: rid(),
                            orderID: orders[index].order.id,
                            locationID: shop.warehouse.id,
                            carrierCode: "SF",
                            trackingNumber: "SF\(step)"
                        )
                    )
                    orders[index].status = .shipped
                    orders[index].shipped = true
                    reserved -= orders[index].units
                    onHand -= orders[index].units
                case 7:
                    guard let index = pick([.shipped]) else { continue }
                    let shipment = try await client.order.listShipments(
                        ListShipmentsRequest(orderID: orders[index].order.id)
                    ).shipments[0]
                    _ = try await client.order.recordShipmentEvent(
                        RecordShipmentEventRequest(
                            requestID: rid(),
                            shipmentID: shipment.id,
                            event: ShipmentEvent(status: .delivered, occurredAt: harness.clock.clock.now())
                        )
                    )
                    orders[index].status = .delivered
                case 8:
                    guard let index = pick([.delivered]) else { continue }
                    _ = try await client.order.completeOrder(
                        CompleteOrderRequest(requestID: rid(), orderID: orders[index].order.id)
                    )
                    orders[index].status = .completed
                case 9:
                    // One unit back, refunded at once.
                    guard let index = pick([.shipped, .delivered, .completed]) else { continue }
                    let model = orders[index]
                    let current = try await client.fetch(model.order)
                    guard current.lines[0].refundedQuantity < current.lines[0].quantity - 1 else { continue }
                    let refund = try await client.order.createRefund(
                        CreateRefundRequest(
                            requestID: rid(),
                            orderID: model.order.id,
                            scope: .lines(
                                RefundLineSelectionList(lines: [RefundLineSelection(lineID: "1", quantity: 1)])
                            ),
                            reason: .afterSalesReturn,
                            afterSalesCaseID: "as\(step)"
                        )
                    )
                    _ = try await client.refunded(refund)
                    orders[index].refunded += refund.amount?.minorUnits ?? 0
                case 10:
                    guard
                        let index = orders.indices.filter({ !orders[$0].pendingRefunds.isEmpty }).randomElement(
                            using: &random
                        )
                    else { continue }
                    for refund in orders[index].pendingRefunds {
                        _ = try await client.refunded(refund)
                        orders[index].refunded += refund.amount?.minorUnits ?? 0
                    }
                    orders[index].pendingRefunds = []
                    orders[index].status = .refunded
                case 11:
                    harness.clock.advance(seconds: Int64.random(in: 60...2400, using: &random))
                    let before = Self.nanos(harness.clock.clock.now())
                    _ = try await client.order.sweepOverdueOrders(SweepOverdueOrdersRequest(requestID: rid()))
                    let after = Self.nanos(harness.clock.clock.now())
                    for index in orders.indices where orders[index].status == .pendingPayment {
                        let deadline = Self.nanos(orders[index].order.paymentDeadline)
                        // A deadline between the two readings may have fallen either side.
                        var cancelled = deadline <= before
                        if !cancelled, deadline <= after {
                            cancelled = try await client.fetch(orders[index].order).status == .cancelled
                        }
                        if cancelled {
                            orders[index].status = .cancelled
                            reserved -= orders[index].units
                        }
                    }
                default:
                    // A retried checkout: the same order, nothing taken again.
                    guard let last = lastCheckout else { continue }
                    let again = try await client.order.createOrder(last.request)
                    #expect(again.id == last.id, "\(context): a retry made another order")
                }

                // After every step: each order as modelled, money and stock consistent.
                for model in orders {
                    let order = try await client.fetch(model.order)
                    let amounts = order.amounts
                    #expect(order.status == model.status, "\(context): order \(order.id)")
                    #expect(amounts?.paidAmount?.minorUnits == model.paid, "\(context): paid of \(order.id)")
                    #expect(amounts?.refundedAmount?.minorUnits == model.refunded, "\(context): refunded")
                    let lines = order.lines.reduce(Int64(0)) { $0 + ($1.total?.minorUnits ?? 0) }
                    #expect(amounts?.payableTotal?.minorUnits == lines + (amounts?.deliveryFee?.minorUnits ?? 0))
                    #expect(model.paid - model.refunded >= 0)
                    #expect(order.historySequence == Int64(try await client.history(of: order).count))
                }
                let level = try await client.level(sku, at: shop.warehouse)
                #expect(level.onHand == onHand && level.reserved == reserved, "\(context): stock")
                if step % 20 == 19 { try await client.expectLedgersConsistent() }
            }
            try await client.expectLedgersConsistent()
            let statuses = Set(orders.map(\.status))
            #expect(
                orders.count >= 5 && statuses.count >= 3,
                "seed \(seed): a history that goes somewhere: \(statuses)"
            )
        }
    }
}
