import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Synchronization
import Testing

@Suite("Checkout and the order life")
struct CheckoutTests {
    @Test(
        "checkout reserves stock, locks the coupon and redeems points in one change; a retry takes nothing twice",
        arguments: StoreKind.allCases
    )
    func atomicCheckout(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let promotion = try await client.promotion.createPromotion(
                CreatePromotionRequest(
                    requestID: rid(),
                    promotion: Promotion(
                        name: "5 off",
                        kind: .coupon,
                        benefit: PromotionBenefit(benefit: .orderAmountOff(cny(500))),
                        scope: PromotionScope(allItems: true),
                        startsAt: Timestamp(seconds: harness.clock.clock.now().seconds - 60),
                        endsAt: Timestamp(seconds: harness.clock.clock.now().seconds + 86_400)
                    )
                )
            )
            let coupon = try await client.promotion.issueCoupons(
                IssueCouponsRequest(
                    requestID: rid(),
                    promotionID: promotion.id,
                    recipients: .customers(CouponRecipientList(customerIDs: [shop.customer.id]))
                )
            ).coupons[0]
            let quote = try await client.order.quoteOrder(
                QuoteOrderRequest(
                    checkout: shop.spec(
                        [2, 1],
                        fulfillment: shop.delivery(),
                        coupons: [coupon.code],
                        points: 500
                    )
                )
            )
            // A total the customer did not see creates nothing.
            await expectStatus(.failedPrecondition, containing: "expected_payable_total") {
                _ = try await client.order.createOrder(
                    CreateOrderRequest(
                        requestID: rid(),
                        checkout: shop.spec([2, 1], fulfillment: shop.delivery(), coupons: [coupon.code], points: 500),
                        expectedPayableTotal: cny((quote.amounts?.payableTotal?.minorUnits ?? 0) + 1)
                    )
                )
            }
            #expect(try await client.level(shop.skus[0], at: shop.warehouse).reserved == 0)
            #expect(try await client.points(shop.customer) == 1000)

            let request = CreateOrderRequest(
                requestID: rid(),
                checkout: shop.spec([2, 1], fulfillment: shop.delivery(), coupons: [coupon.code], points: 500),
                expectedPayableTotal: quote.amounts?.payableTotal
            )
            let order = try await client.order.createOrder(request)
            #expect(order.status == .pendingPayment)
            #expect(
                order.amounts
                    == {
                        var amounts = quote.amounts
                        amounts?.paidAmount = cny(0)
                        amounts?.refundedAmount = cny(0)
                        return amounts
                    }()
            )
            #expect(order.lines.map(\.total) == quote.lines.map(\.total))
            #expect(order.reservationIDs.count == 1 && order.fulfillmentParts.map(\.locationID) == [shop.warehouse.id])
            #expect(order.orderNumber.count == 24 && order.orderNumber.allSatisfy(\.isNumber))
            let formatter = DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyyMMdd"
            let created = Date(timeIntervalSince1970: TimeInterval(order.createdAt?.seconds ?? 0))
            #expect(order.orderNumber.hasPrefix(formatter.string(from: created)), "starts with the UTC date")
            #expect(order.couponCodes == [coupon.code] && order.pointsRedeemed == 500)
            #expect(order.paymentDeadline != nil && order.historySequence == 1)
            #expect(try await client.level(shop.skus[0], at: shop.warehouse).reserved == 2)
            #expect(try await client.level(shop.skus[1], at: shop.warehouse).reserved == 1)
            #expect(try await client.promotion.getCoupon(GetCouponRequest(key: .id(coupon.id))).status == .locked)
            #expect(try await client.points(shop.customer) == 500)

            // The same request again: the same order, nothing taken twice.
            let again = try await client.order.createOrder(request)
            #expect(again.id == order.id)
            #expect(try await client.level(shop.skus[0], at: shop.warehouse).reserved == 2)
            #expect(try await client.points(shop.customer) == 500)
            // The coupon is taken: a second order cannot use it, and nothing of it is kept.
            await expectStatus(.failedPrecondition, containing: "coupon_codes[0]") {
                _ = try await shop.order(client, [1, 0].filter { $0 > 0 }, coupons: [coupon.code])
            }
            #expect(try await client.level(shop.skus[0], at: shop.warehouse).reserved == 2)
            let listed = try await client.order.listOrders(ListOrdersRequest(customerID: shop.customer.id))
            #expect(listed.orders.map(\.id) == [order.id])
            let byNumber = try await client.order.listOrders(ListOrdersRequest(orderNumber: order.orderNumber))
            #expect(byNumber.orders.map(\.id) == [order.id])
            let byLocation = try await client.order.listOrders(
                ListOrdersRequest(statuses: [.pendingPayment], fulfillmentLocationID: shop.warehouse.id)
            )
            #expect(byLocation.orders.map(\.id) == [order.id])
            try await client.expectLedgersConsistent()
        }
    }

    @Test("checkout refuses what cannot be served, naming why", arguments: StoreKind.allCases)
    func refusals(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            await expectStatus(.failedPrecondition, containing: "not enough stock at the pickup store") {
                _ = try await shop.order(client, [3, 1], fulfillment: shop.pickup())
            }
            await expectStatus(.failedPrecondition, containing: "points_to_redeem") {
                _ = try await shop.order(client, [1, 1], points: 50_000)
            }
            await expectStatus(.notFound, containing: "pickup_location_id") {
                _ = try await shop.order(
                    client,
                    [1, 1],
                    fulfillment: CheckoutFulfillment(mode: .storePickup, pickupLocationID: "loc_missing")
                )
            }
            await expectStatus(.failedPrecondition, containing: "not a store that offers pickup") {
                _ = try await shop.order(
                    client,
                    [1, 1],
                    fulfillment: CheckoutFulfillment(mode: .storePickup, pickupLocationID: shop.warehouse.id)
                )
            }
            let farAway = shop.delivery(latitude: 35.0)
            var storeDelivery = farAway
            storeDelivery.mode = .storeDelivery
            await expectStatus(.failedPrecondition, containing: "a store that delivers to the address") {
                _ = try await shop.order(client, [1, 1], fulfillment: storeDelivery)
            }
            #expect(try await client.level(shop.skus[0], at: shop.store).reserved == 0)
            #expect(try await client.order.listOrders(ListOrdersRequest()).orders.isEmpty)
        }
    }

    @Test(
        "payment callbacks are idempotent, late and duplicate payments are refunded, mismatches refused",
        arguments: StoreKind.allCases
    )
    func payments(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let order = try await shop.order(client, [1, 1])
            let first = try await client.order.createPayment(
                CreatePaymentRequest(requestID: rid(), orderID: order.id, channel: .alipay)
            )
            let second = try await client.order.createPayment(
                CreatePaymentRequest(requestID: rid(), orderID: order.id, channel: .alipay)
            )
            #expect(first.amount == order.amounts?.payableTotal && first.status == .pending)
            // A wrong amount is refused and records nothing.
            await expectStatus(.invalidArgument, containing: "amount") {
                _ = try await client.order.recordPaymentCallback(
                    RecordPaymentCallbackRequest(
                        requestID: rid(),
                        paymentID: first.id,
                        channel: .alipay,
                        channelTransactionID: "ali-1",
                        outcome: .succeeded,
                        amount: cny(1)
                    )
                )
            }
            #expect(try await client.order.getPayment(GetPaymentRequest(id: first.id)).callbackCount == 0)
            let paid = try await client.succeed(first, transactionID: "ali-1")
            #expect(paid.status == .succeeded)
            var current = try await client.fetch(order)
            #expect(current.status == .paid && current.amounts?.paidAmount == order.amounts?.payableTotal)
            #expect(try await client.order.getPayment(GetPaymentRequest(id: second.id)).status == .closed)
            // The same notification again, under another request id: unchanged, counted.
            let repeated = try await client.succeed(first, transactionID: "ali-1")
            #expect(repeated.status == .succeeded && repeated.callbackCount == 2)
            // The same channel transaction with another outcome is another story.
            await expectStatus(.alreadyExists, containing: "channel_transaction_id") {
                _ = try await client.order.recordPaymentCallback(
                    RecordPaymentCallbackRequest(
                        requestID: rid(),
                        paymentID: second.id,
                        channel: .alipay,
                        channelTransactionID: "ali-1",
                        outcome: .succeeded,
                        amount: second.amount
                    )
                )
            }
            // The closed attempt succeeds after all: kept, and refunded automatically.
            let late = try await client.succeed(second, transactionID: "ali-2")
            #expect(late.surplus && !late.surplusRefundID.isEmpty)
            let surplus = try await client.order.getRefund(GetRefundRequest(id: late.surplusRefundID))
            #expect(surplus.reason == .duplicatePayment && surplus.amount == second.amount && surplus.lines.isEmpty)
            current = try await client.fetch(order)
            #expect(current.status == .paid && current.amounts?.paidAmount == order.amounts?.payableTotal)
            // Shipped, then the success arrives once more: the order stays SHIPPED.
            _ = try await client.order.startOrderFulfillment(
                StartOrderFulfillmentRequest(requestID: rid(), orderID: order.id)
            )
            _ = try await client.order.createShipment(
                CreateShipmentRequest(
                    requestID: rid(),
                    orderID: order.id,
                    locationID: shop.warehouse.id,
                    carrierCode: "SF",
                    trackingNumber: "SF100"
                )
            )
            _ = try await client.succeed(first, transactionID: "ali-1")
            #expect(try await client.fetch(order).status == .shipped)
            try await client.expectLedgersConsistent()
        }
    }

    @Test(
        "cancelling releases stock, coupons and points; after payment it refunds in full",
        arguments: StoreKind.allCases
    )
    func cancellation(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let unpaid = try await shop.order(client, [2, 0].filter { $0 > 0 }, points: 300)
            #expect(try await client.points(shop.customer) == 700)
            let cancelled = try await client.order.cancelOrder(
                CancelOrderRequest(requestID: rid(), orderID: unpaid.id, reason: "customer changed mind")
            )
            #expect(cancelled.status == .cancelled && cancelled.cancelReason == "customer changed mind")
            #expect(try await client.level(shop.skus[0], at: shop.warehouse).reserved == 0)
            #expect(try await client.points(shop.customer) == 1000)
            // Again: unchanged.
            let twice = try await client.order.cancelOrder(
                CancelOrderRequest(requestID: rid(), orderID: unpaid.id, reason: "again")
            )
            #expect(twice.version == cancelled.version)
            // A payment that arrives now is kept and refunded.
            let payment = try await client.order.createPayment(
                CreatePaymentRequest(
                    requestID: rid(),
                    orderID: (try await shop.order(client, [1, 1])).id,
                    channel: .unionpay
                )
            )
            _ = payment

            let paidOrder = try await shop.order(client, [1, 1], points: 200)
            try await client.pay(paidOrder)
            let refunding = try await client.order.cancelOrder(
                CancelOrderRequest(requestID: rid(), orderID: paidOrder.id, reason: "out of stock")
            )
            #expect(refunding.status == .refunding)
            #expect(try await client.level(shop.skus[1], at: shop.warehouse).reserved == 1, "the other order's")
            let refunds = try await client.refunds(of: paidOrder)
            #expect(refunds.count == 1 && refunds[0].reason == .cancellation && refunds[0].wholeOrder)
            #expect(refunds[0].amount == paidOrder.amounts?.payableTotal)
            _ = try await client.refunded(refunds[0])
            let done = try await client.fetch(paidOrder)
            #expect(done.status == .refunded && done.amounts?.refundedAmount == done.amounts?.paidAmount)
            #expect(done.lines.allSatisfy { $0.refundedQuantity == $0.quantity && $0.refundedAmount == $0.total })
            #expect(try await client.points(shop.customer) == 1000, "the redeemed points came back")
            let kinds = try await client.history(of: done).map(\.toStatus)
            #expect(kinds == [.pendingPayment, .pendingPayment, .paid, .refunding, .refunded])
            try await client.expectLedgersConsistent()
        }
    }

    @Test(
        "delivery: ship, deliver, complete, refund part and then the rest",
        arguments: StoreKind.allCases
    )
    func deliveryLife(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let order = try await shop.order(client, [3, 1])
            // Not in the table: completing an unpaid order.
            await expectStatus(.failedPrecondition, containing: "PENDING_PAYMENT and cannot become COMPLETED") {
                _ = try await client.order.completeOrder(CompleteOrderRequest(requestID: rid(), orderID: order.id))
            }
            try await client.pay(order)
            _ = try await client.order.startOrderFulfillment(
                StartOrderFulfillmentRequest(requestID: rid(), orderID: order.id)
            )
            let shipment = try await client.order.createShipment(
                CreateShipmentRequest(
                    requestID: rid(),
                    orderID: order.id,
                    locationID: shop.warehouse.id,
                    carrierCode: "SF",
                    carrierName: "顺丰速运",
                    trackingNumber: "SF123456"
                )
            )
            #expect(shipment.lines.map(\.quantity) == [3, 1])
            let level = try await client.level(shop.skus[0], at: shop.warehouse)
            #expect(level.onHand == 97 && level.reserved == 0, "committed: the goods left")
            #expect(try await client.fetch(order).status == .shipped)
            await expectStatus(.alreadyExists, containing: "location_id") {
                _ = try await client.order.createShipment(
                    CreateShipmentRequest(
                        requestID: rid(),
                        orderID: order.id,
                        locationID: shop.warehouse.id,
                        carrierCode: "SF",
                        trackingNumber: "SF2"
                    )
                )
            }
            let now = harness.clock.clock.now()
            for (status, id) in [(ShipmentStatus.inTransit, "e1"), (.delivered, "e2"), (.delivered, "e2")] {
                _ = try await client.order.recordShipmentEvent(
                    RecordShipmentEventRequest(
                        requestID: rid(),
                        shipmentID: shipment.id,
                        event: ShipmentEvent(status: status, occurredAt: now, description: "ok", carrierEventID: id)
                    )
                )
            }
            #expect(try await client.order.getShipment(GetShipmentRequest(id: shipment.id)).events.count == 3)
            #expect(try await client.fetch(order).status == .delivered)
            let completed = try await client.order.completeOrder(
                CompleteOrderRequest(requestID: rid(), orderID: order.id)
            )
            #expect(completed.status == .completed)
            let paid = completed.amounts?.payableTotal?.minorUnits ?? 0
            let delivery = completed.amounts?.deliveryFee?.minorUnits ?? 0
            let customer = try await client.crm.getCustomer(GetCustomerRequest(customerID: shop.customer.id))
            #expect(customer.pointsBalance == 1000 + (paid - delivery) / 100, "1 point per yuan of goods")

            // One tin back (after-sales), then everything else.
            let partial = try await client.order.createRefund(
                CreateRefundRequest(
                    requestID: rid(),
                    orderID: order.id,
                    scope: .lines(RefundLineSelectionList(lines: [RefundLineSelection(lineID: "1", quantity: 1)])),
                    reason: .afterSalesReturn,
                    afterSalesCaseID: "as_1"
                )
            )
            let line = completed.lines[0]
            #expect(partial.amount?.minorUnits == (line.total?.minorUnits ?? 0) / 3)
            _ = try await client.refunded(partial)
            var current = try await client.fetch(order)
            #expect(current.status == .completed && current.lines[0].refundedQuantity == 1)
            await expectStatus(.failedPrecondition, containing: "lines.lines[0].quantity") {
                _ = try await client.order.createRefund(
                    CreateRefundRequest(
                        requestID: rid(),
                        orderID: order.id,
                        scope: .lines(RefundLineSelectionList(lines: [RefundLineSelection(lineID: "1", quantity: 3)])),
                        reason: .afterSalesReturn,
                        afterSalesCaseID: "as_1"
                    )
                )
            }
            let rest = try await client.order.createRefund(
                CreateRefundRequest(
                    requestID: rid(),
                    orderID: order.id,
                    scope: .wholeOrder(true),
                    reason: .afterSalesReturn,
                    afterSalesCaseID: "as_2"
                )
            )
            #expect((rest.amount?.minorUnits ?? 0) + (partial.amount?.minorUnits ?? 0) == paid)
            #expect(try await client.fetch(order).status == .refunding)
            _ = try await client.refunded(rest)
            current = try await client.fetch(order)
            #expect(current.status == .refunded && current.amounts?.refundedAmount?.minorUnits == paid)
            #expect(current.lines.allSatisfy { $0.refundedAmount == $0.total })
            await expectStatus(.failedPrecondition, containing: "left to refund") {
                _ = try await client.order.createRefund(
                    CreateRefundRequest(
                        requestID: rid(),
                        orderID: order.id,
                        scope: .amount(cny(1)),
                        reason: .priceAdjustment
                    )
                )
            }
            #expect(try await client.points(shop.customer) == 1000, "earned points taken back")
            let history = try await client.history(of: current)
            #expect(history.map(\.sequence) == Array(1...Int64(history.count)))
            #expect(current.historySequence == Int64(history.count))
            try await client.expectLedgersConsistent()
        }
    }

    @Test("store pickup: ready, wrong codes limited, collected with the code", arguments: StoreKind.allCases)
    func pickup(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let order = try await shop.order(client, [2, 1], fulfillment: shop.pickup())
            #expect(order.pickupLocationID == shop.store.id && order.pickupCode.count == 6)
            try await client.pay(order)
            _ = try await client.order.startOrderFulfillment(
                StartOrderFulfillmentRequest(requestID: rid(), orderID: order.id)
            )
            await expectStatus(.failedPrecondition, containing: "STORE_PICKUP") {
                _ = try await client.order.createShipment(
                    CreateShipmentRequest(
                        requestID: rid(),
                        orderID: order.id,
                        locationID: shop.store.id,
                        carrierCode: "STORE"
                    )
                )
            }
            _ = try await client.order.markOrderReadyForPickup(
                MarkOrderReadyForPickupRequest(requestID: rid(), orderID: order.id, note: "shelf A3")
            )
            let wrong = order.pickupCode == "000000" ? "111111" : "000000"
            await expectStatus(.failedPrecondition, containing: "location_id") {
                _ = try await client.order.confirmOrderPickup(
                    ConfirmOrderPickupRequest(
                        requestID: rid(),
                        orderID: order.id,
                        pickupCode: order.pickupCode,
                        locationID: shop.warehouse.id
                    )
                )
            }
            for _ in 0..<4 {
                await expectStatus(.invalidArgument, containing: "pickup_code") {
                    _ = try await client.order.confirmOrderPickup(
                        ConfirmOrderPickupRequest(
                            requestID: rid(),
                            orderID: order.id,
                            pickupCode: wrong,
                            locationID: shop.store.id
                        )
                    )
                }
            }
            let collected = try await client.order.confirmOrderPickup(
                ConfirmOrderPickupRequest(
                    requestID: rid(),
                    orderID: order.id,
                    pickupCode: order.pickupCode,
                    locationID: shop.store.id
                )
            )
            #expect(collected.status == .delivered && collected.lines.allSatisfy { $0.shippedQuantity == $0.quantity })
            let level = try await client.level(shop.skus[0], at: shop.store)
            #expect(level.onHand == 0 && level.reserved == 0)

            // Five wrong codes lock the next order's counter for an hour.
            let next = try await client.order.createOrder(
                CreateOrderRequest(
                    requestID: rid(),
                    checkout: CheckoutSpec(
                        customerID: shop.customer.id,
                        source: .lines(CheckoutLineList(lines: [CheckoutLine(skuID: shop.skus[1], quantity: 1)])),
                        fulfillment: shop.pickup()
                    )
                )
            )
            try await client.pay(next)
            for _ in 0..<5 {
                await expectStatus(.invalidArgument, containing: "pickup_code") {
                    _ = try await client.order.confirmOrderPickup(
                        ConfirmOrderPickupRequest(
                            requestID: rid(),
                            orderID: next.id,
                            pickupCode: wrong,
                            locationID: shop.store.id
                        )
                    )
                }
            }
            await expectStatus(.resourceExhausted, containing: "pickup_code") {
                _ = try await client.order.confirmOrderPickup(
                    ConfirmOrderPickupRequest(
                        requestID: rid(),
                        orderID: next.id,
                        pickupCode: next.pickupCode,
                        locationID: shop.store.id
                    )
                )
            }
            try await client.expectLedgersConsistent()
        }
    }

    @Test(
        "the sweeper cancels unpaid orders past their deadline and completes delivered ones, once",
        arguments: StoreKind.allCases
    )
    func sweeper(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let unpaid = try await shop.order(client, [1, 1], points: 100)
            let delivered = try await shop.order(client, [1, 1], fulfillment: shop.pickup())
            try await client.pay(delivered)
            _ = try await client.order.startOrderFulfillment(
                StartOrderFulfillmentRequest(requestID: rid(), orderID: delivered.id)
            )
            _ = try await client.order.markOrderReadyForPickup(
                MarkOrderReadyForPickupRequest(requestID: rid(), orderID: delivered.id)
            )
            _ = try await client.order.confirmOrderPickup(
                ConfirmOrderPickupRequest(
                    requestID: rid(),
                    orderID: delivered.id,
                    pickupCode: delivered.pickupCode,
                    locationID: shop.store.id
                )
            )
            let early = try await client.order.sweepOverdueOrders(SweepOverdueOrdersRequest(requestID: rid()))
            #expect(early.cancelledOrderIDs.isEmpty && early.completedOrderIDs.isEmpty)
            harness.clock.advance(seconds: 1801)
            // Two sweeps at once change each order once.
            async let a = client.order.sweepOverdueOrders(SweepOverdueOrdersRequest(requestID: rid()))
            async let b = client.order.sweepOverdueOrders(SweepOverdueOrdersRequest(requestID: rid()))
            let (first, second) = try await (a, b)
            #expect(first.cancelledOrderIDs + second.cancelledOrderIDs == [unpaid.id])
            let cancelled = try await client.fetch(unpaid)
            #expect(cancelled.status == .cancelled && cancelled.cancelReason == "payment timeout")
            #expect(try await client.points(shop.customer) == 1000)
            #expect(try await client.level(shop.skus[1], at: shop.warehouse).reserved == 0)
            harness.clock.advance(seconds: 7 * 86_400)
            let later = try await client.order.sweepOverdueOrders(SweepOverdueOrdersRequest(requestID: rid()))
            #expect(later.completedOrderIDs == [delivered.id])
            #expect(try await client.fetch(delivered).status == .completed)
            try await client.expectLedgersConsistent()
        }
    }

    @Test("the event stream delivers every change in order and resumes after a cursor", arguments: StoreKind.allCases)
    func events(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let before = try await shop.order(client, [1, 1])
            let live = Atomic<Bool>(false)
            let watcher = Task {
                try await client.order.watchOrderEvents(WatchOrderEventsRequest(customerID: shop.customer.id)) {
                    responses in
                    var seen: [OrderEvent] = []
                    for try await event in responses {
                        live.store(true, ordering: .relaxed)
                        seen.append(event)
                        if seen.count >= 4 { break }
                    }
                    return seen
                }
            }
            try await waitUntil("the watch's first heartbeat") { live.load(ordering: .relaxed) }
            try await client.pay(before)
            let order = try await shop.order(client, [1, 0].filter { $0 > 0 })
            let all = try await watcher.value
            #expect(all[0].entry == nil && !all[0].cursor.isEmpty, "a heartbeat first")
            let seen = Array(all.dropFirst())
            // The payment attempt, the success that paid it, the next checkout.
            #expect(seen.map { $0.entry?.kind } == [.payment, .statusChanged, .created])
            #expect(seen[1].order?.status == .paid && seen[2].entry?.orderID == order.id)
            #expect(seen.map { $0.entry?.sequence } == [2, 3, 1])
            // From the cursor of the first event: the rest again.
            let replay = try await client.order.watchOrderEvents(WatchOrderEventsRequest(resumeCursor: seen[0].cursor))
            {
                responses in
                var events: [OrderEvent] = []
                for try await event in responses where event.entry != nil {
                    events.append(event)
                    if events.count >= 2 { break }
                }
                return events
            }
            #expect(replay.map(\.cursor) == [seen[1].cursor, seen[2].cursor])
            await expectStatus(.invalidArgument, containing: "resume_cursor") {
                try await client.order.watchOrderEvents(WatchOrderEventsRequest(resumeCursor: "bogus")) { responses in
                    for try await _ in responses {}
                }
            }
        }
    }
}
