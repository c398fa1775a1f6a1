import O2OInventory
public import O2OMessages
import O2OPromotions
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension OrderServiceProvider {
    /// Every lock a change of `order` may need: the order, its stock, its promotions
    /// and the customer's points. Locks only make callers queue; the transaction's
    /// reads decide.
    func locks(for order: Order) async throws -> [String] {
        var locks = [Self.orderLock(order.id)] + loyalty.locks(customerID: order.customerID)
        locks += PromotionUses.locks(
            for: order.appliedPromotions.filter { !$0.promotionID.isEmpty }.map {
                PromotionOrderUseLine(promotionID: $0.promotionID, couponID: $0.couponID)
            }
        )
        for id in order.reservationIDs { locks += try await reservations.reservationLocks(id) }
        return locks
    }

    /// A change of one order under a request id: the order is read again inside the
    /// transaction, `body` changes it through the book, and the order as changed is
    /// the answer.
    func changeOrder<Request: O2OMessage>(
        _ context: RPCServerContext,
        requestID: String,
        request: Request,
        orderID: String,
        field: String = "order_id",
        actor: ChangeActor,
        _ body: (inout Order, OrderBook) async throws -> Void
    ) async throws -> Order {
        let id = try Validate.id(orderID, field: field)
        let current = try await store.latest.require(OrderTables.orders, id, field: field)
        return try await store.mutation(
            context,
            requestID: requestID,
            request: request,
            locking: try await locks(for: current)
        ) { transaction in
            var order = try await transaction.require(OrderTables.orders, id, field: field)
            let book = OrderBook(provider: self, transaction: transaction, actor: actor, requestID: requestID)
            try await body(&order, book)
            return order
        }
    }

    public func cancelOrder(request: CancelOrderRequest, context: RPCServerContext) async throws -> Order {
        let reason = try Validate.text(request.reason, field: "reason", min: 1, max: 256)
        let actor = try context.actor(request.actor)
        return try await changeOrder(
            context,
            requestID: request.requestID,
            request: request,
            orderID: request.orderID,
            actor: actor
        ) { order, book in
            switch order.status {
            case .cancelled:
                return
            case .pendingPayment:
                try await book.move(&order, to: .cancelled, reason: reason)
            case .paid, .fulfilling, .readyForPickup:
                try await book.move(&order, to: .refunding, reason: reason)
            default:
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' is \(order.status.displayName) and cannot be cancelled "
                        + "(it left the store or warehouse: use an after-sales case)"
                )
            }
        }
    }

    public func startOrderFulfillment(
        request: StartOrderFulfillmentRequest,
        context: RPCServerContext
    ) async throws -> Order {
        let note = try Validate.text(request.note, field: "note", max: 256)
        let actor = try context.actor(request.actor)
        return try await changeOrder(
            context,
            requestID: request.requestID,
            request: request,
            orderID: request.orderID,
            actor: actor
        ) { order, book in
            guard order.riskState != .held else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' is held for risk review and cannot be fulfilled "
                        + "until a reviewer releases it"
                )
            }
            try await book.move(&order, to: .fulfilling, reason: note.isEmpty ? "fulfilment started" : note)
        }
    }

    public func markOrderReadyForPickup(
        request: MarkOrderReadyForPickupRequest,
        context: RPCServerContext
    ) async throws -> Order {
        let note = try Validate.text(request.note, field: "note", max: 256)
        let actor = try context.actor(request.actor)
        return try await changeOrder(
            context,
            requestID: request.requestID,
            request: request,
            orderID: request.orderID,
            actor: actor
        ) { order, book in
            guard order.fulfillmentMode == .storePickup else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' is a \(order.fulfillmentMode.displayName) order; "
                        + "only STORE_PICKUP orders wait at a counter"
                )
            }
            try await book.move(&order, to: .readyForPickup, reason: note.isEmpty ? "ready for pickup" : note)
        }
    }

    /// Five wrong pickup codes within this window block an order's pickup.
    static let pickupAttemptWindowSeconds: Int64 = 3600
    static let maximumPickupAttempts = 5

    public func confirmOrderPickup(
        request: ConfirmOrderPickupRequest,
        context: RPCServerContext
    ) async throws -> Order {
        let orderID = try Validate.id(request.orderID, field: "order_id")
        let locationID = try Validate.id(request.locationID, field: "location_id")
        guard !request.pickupCode.isEmpty else { throw RPCError.invalidArgument(field: "pickup_code", "is required") }
        let actor = try context.actor(request.actor)
        if let earlier = try await store.rememberedResult(
            context,
            requestID: request.requestID,
            request: request,
            as: Order.self
        ) {
            return earlier
        }
        let current = try await store.latest.require(OrderTables.orders, orderID, field: "order_id")
        let now = store.now()
        let windowStart = Timestamps.nanos(Timestamps.adding(seconds: -Self.pickupAttemptWindowSeconds, to: now))
        let recent =
            try await store.latest.get(OrderTables.pickupAttempts, .string(orderID))?.failedAt
            .filter { Timestamps.nanos($0) > windowStart } ?? []
        guard recent.count < Self.maximumPickupAttempts else {
            throw RPCError(
                code: .resourceExhausted,
                message: "pickup_code: \(Self.maximumPickupAttempts) wrong codes for order '\(orderID)' within an "
                    + "hour; try again later"
            )
        }
        guard current.fulfillmentMode == .storePickup else {
            throw RPCError(
                code: .failedPrecondition,
                message: "order_id: order '\(orderID)' is a \(current.fulfillmentMode.displayName) order, not a pickup"
            )
        }
        guard locationID == current.pickupLocationID else {
            throw RPCError(
                code: .failedPrecondition,
                message: "location_id: order '\(orderID)' is collected at '\(current.pickupLocationID)', "
                    + "not at '\(locationID)'"
            )
        }
        guard Self.sameCode(request.pickupCode, current.pickupCode) else {
            // The wrong code is counted in its own commit; it is never logged or echoed.
            try await store.transaction(locking: [Self.orderLock(orderID)]) { transaction in
                var attempts =
                    try await transaction.get(OrderTables.pickupAttempts, .string(orderID))
                    ?? PickupCodeAttempts(orderID: orderID)
                attempts.failedAt = Array(
                    (attempts.failedAt.filter { Timestamps.nanos($0) > windowStart } + [transaction.now])
                        .suffix(Self.maximumPickupAttempts)
                )
                try await transaction.save(OrderTables.pickupAttempts, attempts)
            }
            throw RPCError.invalidArgument(field: "pickup_code", "is not the code of this order")
        }
        return try await changeOrder(
            context,
            requestID: request.requestID,
            request: request,
            orderID: orderID,
            actor: actor
        ) { order, book in
            try await book.move(&order, to: .delivered, reason: "collected at the store")
        }
    }

    /// Compares codes without stopping at the first difference.
    static func sameCode(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8)
        let b = Array(expected.utf8)
        guard a.count == b.count, !b.isEmpty else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    public func completeOrder(request: CompleteOrderRequest, context: RPCServerContext) async throws -> Order {
        let actor = try context.actor(request.actor)
        return try await changeOrder(
            context,
            requestID: request.requestID,
            request: request,
            orderID: request.orderID,
            actor: actor
        ) { order, book in
            try await book.move(&order, to: .completed, reason: "receipt confirmed")
        }
    }

    // MARK: - The sweeper

    public func sweepOverdueOrders(
        request: SweepOverdueOrdersRequest,
        context: RPCServerContext
    ) async throws -> SweepOverdueOrdersResponse {
        guard (0...10_000).contains(request.maxCount) else {
            throw RPCError.invalidArgument(field: "max_count", "must be 1 to 10000, or 0, got \(request.maxCount)")
        }
        if let earlier = try await store.rememberedResult(
            context,
            requestID: request.requestID,
            request: request,
            as: SweepOverdueOrdersResponse.self
        ) {
            return earlier
        }
        let response = try await sweep(limit: request.maxCount == 0 ? 1000 : Int(request.maxCount))
        return try await store.mutation(context, requestID: request.requestID, request: request) { _ in response }
    }

    /// Cancels unpaid orders past their deadline and completes delivered orders past
    /// the completion delay, at most `limit`. Each order changes in its own
    /// transaction, which reads it again: two overlapping sweeps, or a sweep after a
    /// crash, change each order once.
    func sweep(limit: Int) async throws -> SweepOverdueOrdersResponse {
        let now = store.now()
        let settings = try await settings(store.latest)
        let days = Int64(settings.autoCompleteAfterDays == 0 ? 7 : settings.autoCompleteAfterDays)
        let completedBefore = Timestamps.nanos(Timestamps.adding(seconds: -days * 86_400, to: now))
        var response = SweepOverdueOrdersResponse()
        var budget = limit
        for (kind, cutoff) in [(OrderDue.payment, Timestamps.nanos(now)), (OrderDue.completion, completedBefore)] {
            let due = try await store.latest.all(
                OrderTables.orders,
                RecordQuery(
                    index: OrderTables.orderDue,
                    prefix: [.int(kind)],
                    upperBound: [.int(cutoff < .max ? cutoff + 1 : .max)],
                    pageSize: min(budget + 1, 500)
                ),
                limit: budget + 1
            )
            for order in due.prefix(budget) {
                if try await sweep(order, kind: kind, completedBefore: completedBefore) {
                    if kind == OrderDue.payment {
                        response.cancelledOrderIDs.append(order.id)
                    } else {
                        response.completedOrderIDs.append(order.id)
                    }
                    budget -= 1
                }
            }
            if due.count > budget { response.moreRemaining = true }
            if budget <= 0 {
                response.moreRemaining = true
                break
            }
        }
        return response
    }

    /// One overdue order; false when someone else changed it first.
    private func sweep(_ found: Order, kind: Int64, completedBefore: Int64) async throws -> Bool {
        try await store.transaction(locking: try await locks(for: found)) { transaction in
            guard var order = try await transaction.get(OrderTables.orders, .string(found.id)) else { return false }
            let book = OrderBook(provider: self, transaction: transaction, actor: .system, requestID: "")
            if kind == OrderDue.payment {
                guard order.status == .pendingPayment, Timestamps.isPast(order.paymentDeadline, now: transaction.now)
                else { return false }
                try await book.move(&order, to: .cancelled, reason: "payment timeout")
            } else {
                guard order.status == .delivered, Timestamps.nanos(order.deliveredAt) <= completedBefore else {
                    return false
                }
                try await book.move(&order, to: .completed, reason: "completed automatically after delivery")
            }
            return true
        }
    }
}
