import O2OCRM
import O2OCatalog
import O2OInventory
public import O2OMessages
import O2OPricing
import O2OPromotions
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension OrderServiceProvider {
    /// Stock of an unpaid order stays reserved this long after its payment deadline,
    /// so a payment that arrives just in time still finds it.
    static let reservationGraceSeconds: Int64 = 300

    public func createOrder(request: CreateOrderRequest, context: RPCServerContext) async throws -> Order {
        try RequestIDs.validate(request.requestID)
        var checkout = try check(request.checkout, field: "checkout")
        let expected = try Validate.money(
            request.expectedPayableTotal,
            field: "expected_payable_total",
            currency: currency,
            required: false
        )
        let replacement = request.replacement
        if let replacement {
            guard checkout.couponCodes.isEmpty else {
                throw RPCError.invalidArgument(field: "checkout.coupon_codes", "must be empty for a replacement order")
            }
            guard checkout.points == 0 else {
                throw RPCError.invalidArgument(
                    field: "checkout.points_to_redeem",
                    "must be 0 for a replacement order"
                )
            }
            _ = try Validate.id(replacement.originalOrderID, field: "replacement.original_order_id")
            _ = try Validate.id(replacement.afterSalesCaseID, field: "replacement.after_sales_case_id")
        }
        let actor = try context.actor(nil)
        // A retry finds its answer before any stock is looked at.
        if let earlier = try await store.rememberedResult(
            context,
            requestID: request.requestID,
            request: request,
            as: Order.self
        ) {
            return earlier
        }
        if let cartID = checkout.cartID {
            checkout.lines = try await cartLines(cartID, customerID: checkout.customerID, field: "checkout.cart_id")
        }
        let now = store.now()
        let automatic = replacement == nil ? try await promotions.automatic(now: now) : PromotionIndex([])
        let settings = try await settings(store.latest)
        // Where the stock comes from is chosen on the latest data; the reservation
        // re-checks every level inside the transaction.
        let plan = try await placeStock(checkout, settings: settings)
        guard plan.fullyAvailable else { throw Self.shortageError(plan.shortages, mode: checkout.fulfillment.mode) }
        // A preview of the price names the promotions whose locks the change takes.
        let preview = try await store.read { reader in
            try await priced(checkout, automatic: automatic, now: now, replacement: replacement != nil, in: reader)
        }
        var locks = [Self.customerOrdersLock(checkout.customerID)] + loyalty.locks(customerID: checkout.customerID)
        locks += PromotionUses.locks(for: Self.promotionUses(preview.priced))
        if let cartID = checkout.cartID { locks.append(Self.cartLock(cartID)) }
        // Replacement orders are never evaluated.
        let risk =
            replacement == nil
            ? RiskEvaluation(rules: try await enabledRiskRules(), subjects: RiskSubjects(checkout)) : nil
        locks += risk?.locks ?? []
        for part in plan.parts {
            locks += try await reservations.reservationLocks(
                part.lines.map { StockBasketLine(skuID: $0.skuID, quantity: $0.quantity) },
                placement: .location(part.locationID)
            )
        }
        let order = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: locks
        ) { transaction in
            try await placeOrder(
                checkout,
                plan: plan,
                automatic: automatic,
                expected: expected,
                replacement: replacement,
                risk: risk,
                requestID: request.requestID,
                actor: actor,
                in: transaction
            )
        }
        return order
    }

    /// The checkout's price in `reader`, with the customer and the settings it used.
    private func priced(
        _ checkout: CheckedCheckout,
        automatic: PromotionIndex,
        now: Timestamp,
        replacement: Bool,
        in reader: some RecordReading
    ) async throws -> (priced: PricedOrder, settings: OrderSettings) {
        var (input, settings) = try await pricingInput(checkout, automatic: automatic, now: now, in: reader)
        if replacement {
            // Replacement goods cost nothing: no price, promotion, points or fee.
            input.lines = input.lines.map { line in
                var line = line
                line.listUnitPrice = 0
                return line
            }
            input.coupons = []
            input.delivery = .free
        }
        do {
            return (try PricingEngine.price(input), settings)
        } catch {
            throw RPCError.invalidArgument(field: "checkout.\(error.field)", error.reason)
        }
    }

    /// The checkout itself, inside its transaction: price again on the data the
    /// commit is checked against, refuse what the customer did not see, then the order,
    /// its reservations, promotion uses, points and cart change together.
    func placeOrder(
        _ checkout: CheckedCheckout,
        plan: StockPlan,
        automatic: PromotionIndex,
        expected: Money?,
        replacement: ReplacementOrderSpec?,
        risk: RiskEvaluation?,
        requestID: String,
        actor: ChangeActor,
        in transaction: ServiceTransaction
    ) async throws -> Order {
        let (priced, settings) = try await priced(
            checkout,
            automatic: automatic,
            now: transaction.now,
            replacement: replacement != nil,
            in: transaction
        )
        guard let customer = try await customers.customer(checkout.customerID, in: transaction) else {
            throw RPCError(code: .notFound, message: "checkout.customer_id: no customer '\(checkout.customerID)'")
        }
        guard customer.status == .active else {
            throw RPCError(
                code: .failedPrecondition,
                message: "checkout.customer_id: customer '\(customer.id)' is \(customer.status.displayName) "
                    + "and cannot place orders"
            )
        }
        if let rejected = priced.rejectedCoupons.first {
            let index = checkout.couponCodes.firstIndex(of: rejected.couponCode) ?? 0
            throw RPCError(
                code: .failedPrecondition,
                message: "checkout.coupon_codes[\(index)]: coupon '\(rejected.couponCode)' cannot be used "
                    + "(\(rejected.reason.displayName)): \(rejected.message)"
            )
        }
        if priced.pointsCapped {
            throw RPCError(
                code: .failedPrecondition,
                message: "checkout.points_to_redeem: at most \(priced.pointsRedeemed) of the \(checkout.points) "
                    + "points can be redeemed on this order (balance \(priced.pointsBalance), "
                    + "most usable \(priced.maxRedeemablePoints))"
            )
        }
        let payable = priced.amounts.payableTotal?.minorUnits ?? 0
        if let expected, expected.minorUnits != payable {
            throw RPCError(
                code: .failedPrecondition,
                message: "expected_payable_total: prices changed: the order now costs "
                    + "\(Self.format(payable)) \(currency), not \(Self.format(expected.minorUnits)) \(currency)"
            )
        }
        var replacementFor = ""
        if let replacement {
            let original = try await transaction.require(
                OrderTables.orders,
                replacement.originalOrderID,
                field: "replacement.original_order_id"
            )
            guard original.customerID == customer.id else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "replacement.original_order_id: order '\(original.id)' belongs to another customer"
                )
            }
            guard original.status == .delivered || original.status == .completed else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "replacement.original_order_id: order '\(original.id)' is "
                        + "\(original.status.displayName); only DELIVERED or COMPLETED orders are exchanged"
                )
            }
            replacementFor = original.id
        }
        let id = RecordIDs.make(prefix: "ord")
        var lines = priced.lines
        for index in lines.indices { lines[index].fulfillmentLocationID = plan.lineLocations[index] }
        let fulfillment = checkout.fulfillment
        var order = Order(
            id: id,
            orderNumber: Self.orderNumber(at: transaction.now),
            customerID: customer.id,
            status: payable > 0 ? .pendingPayment : .paid,
            riskState: .clear,
            fulfillmentMode: fulfillment.mode,
            shippingAddress: fulfillment.mode == .storePickup ? nil : fulfillment.shippingAddress,
            pickupLocationID: fulfillment.mode == .storePickup ? plan.parts.first?.locationID ?? "" : "",
            fulfillmentParts: plan.parts,
            lines: lines,
            appliedPromotions: priced.appliedPromotions,
            couponCodes: priced.appliedPromotions.filter { $0.stage == .coupon }.map(\.couponCode),
            pointsRedeemed: priced.pointsRedeemed,
            memberTierID: priced.memberTierID,
            amounts: priced.amounts,
            pickupCode: fulfillment.mode == .storePickup ? Self.pickupCode() : "",
            deviceID: checkout.deviceID,
            customerNote: checkout.customerNote,
            replacementForOrderID: replacementFor,
            afterSalesCaseID: replacement?.afterSalesCaseID ?? "",
            requestID: requestID,
            createdBy: actor
        )
        order.amounts?.paidAmount = Money(minorUnits: 0, currency: currency)
        order.amounts?.refundedAmount = Money(minorUnits: 0, currency: currency)
        let timeout = Int64(settings.paymentTimeoutSeconds == 0 ? 1800 : settings.paymentTimeoutSeconds)
        if order.status == .pendingPayment {
            order.paymentDeadline = Timestamps.adding(seconds: timeout, to: transaction.now)
        }
        // Stock, promotions, points: each through its domain's port, in this commit.
        for part in plan.parts {
            let reserved = try await reservations.reserve(
                part.lines.map { StockBasketLine(skuID: $0.skuID, quantity: $0.quantity) },
                placement: .location(part.locationID),
                orderID: id,
                ttlSeconds: order.status == .paid
                    ? OrderBook.paidReservationSeconds : timeout + Self.reservationGraceSeconds,
                actor: actor,
                requestID: requestID,
                in: transaction
            )
            order.reservationIDs += reserved.map(\.id)
        }
        let used = Self.promotionUses(priced)
        if !used.isEmpty {
            try await uses.take(orderID: id, customerID: customer.id, lines: used, in: transaction)
        }
        if priced.pointsRedeemed > 0 {
            let base = try Checked.add(
                try Checked.sum(priced.lines.map { $0.total?.minorUnits ?? 0 }, field: "lines"),
                priced.amounts.pointsDiscount?.minorUnits ?? 0,
                field: "points"
            )
            try await loyalty.redeem(
                points: priced.pointsRedeemed,
                customerID: customer.id,
                orderID: id,
                orderAmount: base,
                currency: currency,
                actor: actor,
                in: transaction
            )
        }
        if let cartID = checkout.cartID {
            try await removeCheckedOut(checkout.lines, from: cartID, in: transaction)
        }
        // The rules see the order as it will be created, in the same change.
        if let risk { try await risk.apply(to: &order, currency: currency, in: transaction) }
        let book = OrderBook(provider: self, transaction: transaction, actor: actor, requestID: requestID)
        try await book.create(&order, reason: replacement == nil ? "checkout" : "replacement for \(replacementFor)")
        return order
    }

    /// One use per promotion applied (the member tier and points are not promotions).
    static func promotionUses(_ priced: PricedOrder) -> [PromotionOrderUseLine] {
        priced.appliedPromotions.filter { !$0.promotionID.isEmpty }.map {
            PromotionOrderUseLine(promotionID: $0.promotionID, couponID: $0.couponID, discount: $0.amount)
        }
    }

    static func customerOrdersLock(_ id: String) -> String { "orders-of/\(id)" }

    /// FAILED_PRECONDITION naming every line the fulfilment mode cannot serve.
    static func shortageError(_ shortages: [OrderStockShortage], mode: OrderFulfillmentMode) -> RPCError {
        let lines = shortages.map {
            "SKU '\($0.skuID)' needs \($0.requestedQuantity), \($0.availableQuantity) available"
        }
        let place =
            switch mode {
            case .storePickup: "at the pickup store"
            case .storeDelivery: "at a store that delivers to the address"
            default: "at a shipping warehouse"
            }
        return RPCError(
            code: .failedPrecondition,
            message: lines.isEmpty
                ? "checkout.fulfillment: no location can serve this order \(place)"
                : "checkout.lines: not enough stock \(place): " + lines.joined(separator: "; ")
        )
    }

    /// "202612021234567890123": the UTC date, the microsecond of the day and five
    /// random digits; the unique index refuses the (vanishingly rare) repeat.
    static func orderNumber(at time: Timestamp) -> String {
        // Days to the civil date (proleptic Gregorian), without Foundation's
        // calendars, which cost more than the rest of the order's bookkeeping.
        let seconds = max(0, time.seconds)
        let days = seconds / 86_400
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let micros = (seconds - days * 86_400) * 1_000_000 + Int64(max(0, time.nanos) / 1000)
        func padded(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return padded(year, 4) + padded(month, 2) + padded(day, 2) + padded(micros, 11)
            + padded(Int64.random(in: 0..<100_000), 5)
    }

    /// A 6-digit pickup code (取货码).
    static func pickupCode() -> String {
        let value = Int.random(in: 0..<1_000_000)
        let text = String(value)
        return String(repeating: "0", count: 6 - text.count) + text
    }

    /// "123.45" for 12345 minor units.
    static func format(_ minor: Int64) -> String { PriceMath.decimal(minor) }

    // MARK: - Reading orders

    public func getOrder(request: GetOrderRequest, context: RPCServerContext) async throws -> Order {
        try await store.latest.require(OrderTables.orders, request.id, field: "id")
    }

    public func listOrders(request: ListOrdersRequest, context: RPCServerContext) async throws -> ListOrdersResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let customerID = request.customerID.isEmpty ? nil : try Validate.id(request.customerID, field: "customer_id")
        let locationID =
            request.fulfillmentLocationID.isEmpty
            ? nil : try Validate.id(request.fulfillmentLocationID, field: "fulfillment_location_id")
        let number =
            request.orderNumber.isEmpty ? nil : try Validate.id(request.orderNumber, field: "order_number")
        try Validate.known(request.statuses, field: "statuses", noun: "status")
        let mode = try Validate.known(request.fulfillmentMode, field: "fulfillment_mode", noun: "fulfilment mode")
        let risk = try Validate.known(request.riskState, field: "risk_state", noun: "risk state")
        let sort = try Validate.known(request.sortOrder, field: "sort_order", noun: "sort order")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let statuses = Set(request.statuses)
        let predicate: @Sendable (Order) -> Bool = { order in
            let created = Timestamps.nanos(order.createdAt)
            return (statuses.isEmpty || statuses.contains(order.status))
                && (mode == .unspecified || order.fulfillmentMode == mode)
                && (risk == .unspecified || order.riskState == risk)
                && (customerID == nil || order.customerID == customerID!)
                && (locationID == nil || order.fulfillmentParts.contains { $0.locationID == locationID! })
                && (number == nil || order.orderNumber == number!)
                && (start.map { created >= $0 } ?? true) && (end.map { created < $0 } ?? true)
        }
        let filters = [
            customerID ?? "", locationID ?? "", number ?? "",
            request.statuses.map { "\($0.rawValue)" }.joined(separator: ","),
            "\(mode.rawValue)", "\(risk.rawValue)", "\(start ?? -1)", "\(end ?? -1)",
        ]
        let index: RecordIndex<Order>? =
            number != nil
            ? OrderTables.orderNumber
            : customerID != nil ? OrderTables.orderCustomer : locationID != nil ? OrderTables.orderLocation : nil
        let prefix: KeyTuple =
            number.map { [.string($0)] } ?? customerID.map { [.string($0)] } ?? locationID.map { [.string($0)] } ?? []
        let query = RecordQuery(
            index: index,
            prefix: prefix,
            direction: sort == .ascending ? .forward : .reverse,
            pageSize: pageSize,
            pageToken: request.page?.pageToken,
            filters: filters,
            predicate: predicate
        )
        let page = try await store.read { try await $0.page(OrderTables.orders, query) }
        return ListOrdersResponse(orders: page.records, nextPageToken: page.nextPageToken)
    }
}
