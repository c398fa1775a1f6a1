public import Logging
import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// Orders for the demo shop, placed and moved on through the order service as the
/// storefront, the payment relay, the warehouse and the stores would: 2,000 orders of
/// the first 1,000 members, in every status — waiting for payment, cancelled, paid,
/// being picked, shipped, delivered, completed, waiting at a store counter, being
/// refunded and refunded. Prices are the running promotions' (flash sale, 满减).
/// Request ids are derived from the shop, so loading again changes nothing.
public enum DemoOrders {
    static let markerKey: [UInt8] = [0x30] + Array("demo-orders/v1".utf8)
    static let orderCount = 2_000

    /// Where an order of the demo ends up.
    enum Target: CaseIterable {
        case pending, cancelled, paid, fulfilling, shipped, delivered, completed, pickupWaiting, pickedUp
        case refunding, refunded

        /// Of every 20 orders: mostly completed, some of everything else.
        static func of(_ index: Int) -> Target {
            switch index % 20 {
            case 0, 1: .pending
            case 2, 3: .cancelled
            case 4, 5: .paid
            case 6: .fulfilling
            case 7, 8: .shipped
            case 9, 10: .delivered
            case 11, 12, 13, 14, 15: .completed
            case 16: .pickedUp
            case 17: .pickupWaiting
            case 18: .refunding
            default: .refunded
            }
        }

        var pickup: Bool { self == .pickupWaiting || self == .pickedUp }
    }

    /// Loads the orders once the promotions are there; returns how many were placed.
    @discardableResult
    public static func load(
        into store: ServiceStore,
        services: [any RPCService],
        currency: String = "CNY",
        logger: Logger
    ) async throws -> Int {
        if try await store.records.engine.get(markerKey) != nil { return 0 }
        guard try await store.records.engine.get(DemoPromotions.markerKey) != nil else { return 0 }
        let shop = DemoShop(services: services, logger: logger)
        try await riskRulesAndFees(shop, currency: currency)
        var random = DemoRandom(seed: 20_261_202)
        let skus = try await shop.onSaleSkus()
        guard !skus.isEmpty else { return 0 }
        var members: [Customer] = []
        var token = ""
        repeat {
            let page = try await shop.crm.listCustomers(
                ListCustomersRequest(page: PageRequest(pageSize: 500, pageToken: token), sortOrder: .ascending)
            )
            members += page.customers.filter { $0.status == .active }
            token = members.count >= 1000 ? "" : page.nextPageToken
        } while !token.isEmpty
        members = Array(members.prefix(1000))
        guard !members.isEmpty else { return 0 }
        var addresses: [String: PostalAddress] = [:]
        var placed = 0
        var counts: [Target: Int] = [:]
        for index in 0..<orderCount {
            let customer = members[index % members.count]
            if addresses[customer.id] == nil {
                addresses[customer.id] =
                    try await shop.crm.listCustomerAddresses(ListCustomerAddressesRequest(customerID: customer.id))
                    .addresses.first?.address
            }
            guard let address = addresses[customer.id] else { continue }
            var chosen: [String] = []
            for _ in 0..<(1 + random.next(below: 3)) {
                let sku = skus[random.next(below: skus.count)]
                if !chosen.contains(sku) { chosen.append(sku) }
            }
            let lines = chosen.map { CheckoutLine(skuID: $0, quantity: Int64(1 + random.next(below: 2))) }
            var target = Target.of(index)
            var order: Order?
            if target.pickup {
                order = try await place(
                    shop,
                    index,
                    customer,
                    lines,
                    CheckoutFulfillment(mode: .storePickup, customerLocation: address.location)
                )
                // No store nearby has it all: delivered instead.
                if order == nil { target = .delivered }
            }
            if order == nil {
                order = try await place(
                    shop,
                    index,
                    customer,
                    lines,
                    CheckoutFulfillment(mode: .delivery, shippingAddress: address)
                )
            }
            guard let order else { continue }
            try await advance(order, to: target, index: index, shop: shop)
            placed += 1
            counts[target, default: 0] += 1
        }
        // Finance's first statement: everything settled so far, waiting to be confirmed.
        let now = store.now()
        _ = try? await shop.settlement.createSettlementStatement(
            CreateSettlementStatementRequest(
                requestID: "demo-statement-1",
                period: TimeRange(start: Timestamps.adding(seconds: -86_400, to: now), end: now),
                note: "demo: the first day"
            )
        )
        try await store.transaction { $0.putRaw(markerKey, Array("loaded".utf8)) }
        logger.info(
            "demo orders loaded",
            metadata: ["orders": "\(placed)", "completed": "\(counts[.completed] ?? 0)"]
        )
        return placed
    }

    /// The shop's risk rules and channel fees, there before its orders: the rules
    /// flag a device's third order within an hour, large orders and repeated
    /// baskets, and hold a customer's 21st order within an hour (which the demo never
    /// reaches); WeChat Pay and Alipay keep 0.6%, UnionPay 0.5%.
    private static func riskRulesAndFees(_ shop: DemoShop, currency: String) async throws {
        for (channel, bps) in [(PaymentChannel.wechatPay, Int32(60)), (.alipay, 60), (.unionpay, 50)] {
            _ = try await shop.settlement.setSettlementFeeRate(
                SetSettlementFeeRateRequest(requestID: "demo-fee-\(channel.rawValue)", channel: channel, feeBps: bps)
            )
        }
        let rules = [
            OrderRiskRule(
                name: "同一设备 1 小时超过 2 单 More than 2 orders per device per hour",
                kind: .deviceVelocity,
                action: .flag,
                enabled: true,
                windowSeconds: 3_600,
                maxOrders: 2
            ),
            OrderRiskRule(
                name: "大额订单 Orders of 1,500.00 or more",
                description: "Call the customer before shipping.",
                kind: .largeAmount,
                action: .flag,
                enabled: true,
                amountThreshold: Money(minorUnits: 150_000, currency: currency)
            ),
            OrderRiskRule(
                name: "重复下单 Same basket within 10 minutes",
                kind: .duplicateOrder,
                action: .flag,
                enabled: true,
                windowSeconds: 600
            ),
            OrderRiskRule(
                name: "刷单 More than 20 orders per customer per hour",
                kind: .customerVelocity,
                action: .hold,
                enabled: true,
                windowSeconds: 3_600,
                maxOrders: 20
            ),
        ]
        for (index, rule) in rules.enumerated() {
            _ = try await shop.risk.createOrderRiskRule(
                CreateOrderRiskRuleRequest(requestID: "demo-risk-rule-\(index)", rule: rule)
            )
        }
    }

    /// Places one order; nil when its stock is not there under the mode.
    private static func place(
        _ shop: DemoShop,
        _ index: Int,
        _ customer: Customer,
        _ lines: [CheckoutLine],
        _ fulfillment: CheckoutFulfillment
    ) async throws -> Order? {
        do {
            return try await shop.order.createOrder(
                CreateOrderRequest(
                    requestID: "demo-order-\(index)-\(fulfillment.mode.rawValue)",
                    checkout: CheckoutSpec(
                        customerID: customer.id,
                        source: .lines(CheckoutLineList(lines: lines)),
                        fulfillment: fulfillment,
                        deviceID: "demo-app-\(index % 700)"
                    )
                )
            )
        } catch let error as RPCError where error.code == .failedPrecondition {
            return nil
        }
    }

    /// Moves a new order on to `target`, step by step, as the shop's systems would.
    private static func advance(_ placed: Order, to target: Target, index: Int, shop: DemoShop) async throws {
        let order = shop.order
        let key = "demo-order-\(index)"
        let id = placed.id
        if target == .pending { return }
        if target == .cancelled {
            _ = try await order.cancelOrder(
                CancelOrderRequest(requestID: "\(key)-cancel", orderID: id, reason: "customer changed mind")
            )
            return
        }
        if placed.status == .pendingPayment {
            let channels: [PaymentChannel] = [.wechatPay, .alipay, .unionpay]
            let payment = try await order.createPayment(
                CreatePaymentRequest(requestID: "\(key)-pay", orderID: id, channel: channels[index % 3])
            )
            _ = try await order.recordPaymentCallback(
                RecordPaymentCallbackRequest(
                    requestID: "\(key)-paid",
                    paymentID: payment.id,
                    channel: payment.channel,
                    channelTransactionID: "demo-tx-\(index)",
                    outcome: .succeeded,
                    amount: payment.amount
                )
            )
        }
        switch target {
        case .paid: return
        case .refunding, .refunded:
            _ = try await order.cancelOrder(
                CancelOrderRequest(requestID: "\(key)-cancel", orderID: id, reason: "out of stock")
            )
            guard target == .refunded else { return }
            for refund in try await order.listRefunds(ListRefundsRequest(orderID: id)).refunds
            where refund.status == .pending {
                _ = try await order.recordRefundCallback(
                    RecordRefundCallbackRequest(
                        requestID: "\(key)-refunded-\(refund.id)",
                        refundID: refund.id,
                        channel: refund.channel,
                        channelRefundID: "demo-rf-\(refund.id)",
                        outcome: .succeeded,
                        amount: refund.amount
                    )
                )
            }
            return
        default: break
        }
        _ = try await order.startOrderFulfillment(
            StartOrderFulfillmentRequest(requestID: "\(key)-start", orderID: id)
        )
        if target == .fulfilling { return }
        if target.pickup {
            _ = try await order.markOrderReadyForPickup(
                MarkOrderReadyForPickupRequest(requestID: "\(key)-ready", orderID: id, note: "shelf \(index % 40 + 1)")
            )
            guard target == .pickedUp else { return }
            _ = try await order.confirmOrderPickup(
                ConfirmOrderPickupRequest(
                    requestID: "\(key)-collected",
                    orderID: id,
                    pickupCode: placed.pickupCode,
                    locationID: placed.pickupLocationID
                )
            )
            _ = try await order.completeOrder(CompleteOrderRequest(requestID: "\(key)-complete", orderID: id))
            return
        }
        let carriers = [("SF", "顺丰速运"), ("JD", "京东物流"), ("ZTO", "中通快递"), ("YTO", "圆通速递")]
        var shipments: [Shipment] = []
        for (part, fulfilment) in placed.fulfillmentParts.enumerated() {
            let carrier = carriers[(index + part) % carriers.count]
            shipments.append(
                try await order.createShipment(
                    CreateShipmentRequest(
                        requestID: "\(key)-ship-\(part)",
                        orderID: id,
                        locationID: fulfilment.locationID,
                        carrierCode: carrier.0,
                        carrierName: carrier.1,
                        trackingNumber: "\(carrier.0)\(7_000_000_000 + index * 10 + part)"
                    )
                )
            )
        }
        if target == .shipped { return }
        for shipment in shipments {
            _ = try await order.recordShipmentEvent(
                RecordShipmentEventRequest(
                    requestID: "\(key)-delivered-\(shipment.id)",
                    shipmentID: shipment.id,
                    event: ShipmentEvent(
                        status: .delivered,
                        occurredAt: shipment.shippedAt,
                        description: "已签收 signed for",
                        carrierEventID: "\(shipment.trackingNumber)-signed"
                    )
                )
            )
        }
        if target == .delivered { return }
        _ = try await order.completeOrder(CompleteOrderRequest(requestID: "\(key)-complete", orderID: id))
    }
}
