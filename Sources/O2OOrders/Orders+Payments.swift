public import O2OMessages
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension OrderServiceProvider {
    /// An order's payments, oldest first.
    func payments(of orderID: String, in reader: some RecordReading) async throws -> [Payment] {
        try await reader.all(
            OrderTables.payments,
            RecordQuery(index: OrderTables.paymentOrder, prefix: [.string(orderID)], pageSize: 100),
            limit: 1000
        )
    }

    public func createPayment(request: CreatePaymentRequest, context: RPCServerContext) async throws -> Payment {
        let channel = try Validate.known(request.channel, field: "channel", noun: "payment channel")
        guard channel != .unspecified else { throw RPCError.invalidArgument(field: "channel", "is required") }
        let actor = try context.actor(request.actor)
        let orderID = try Validate.id(request.orderID, field: "order_id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.orderLock(orderID)]
        ) { transaction in
            var order = try await transaction.require(OrderTables.orders, orderID, field: "order_id")
            guard order.status == .pendingPayment else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' is \(order.status.displayName); only PENDING_PAYMENT "
                        + "orders are paid"
                )
            }
            let payable = order.amounts?.payableTotal?.minorUnits ?? 0
            let paid = order.amounts?.paidAmount?.minorUnits ?? 0
            let payment = Payment(
                id: RecordIDs.make(prefix: "pay"),
                orderID: order.id,
                customerID: order.customerID,
                channel: channel,
                amount: Money(minorUnits: max(0, payable - paid), currency: currency),
                status: .pending,
                channelFee: Money(minorUnits: 0, currency: currency),
                refundedAmount: Money(minorUnits: 0, currency: currency),
                requestID: request.requestID,
                createdBy: actor,
                createdAt: transaction.now,
                updatedAt: transaction.now,
                version: 1
            )
            try await transaction.insert(OrderTables.payments, payment)
            let book = OrderBook(provider: self, transaction: transaction, actor: actor, requestID: request.requestID)
            try await book.note(
                &order,
                kind: .payment,
                reason: "payment of \(Self.format(payment.amount?.minorUnits ?? 0)) \(currency) started over "
                    + channel.displayName,
                paymentID: payment.id
            )
            return payment
        }
    }

    public func recordPaymentCallback(
        request: RecordPaymentCallbackRequest,
        context: RPCServerContext
    ) async throws -> Payment {
        let paymentID = try Validate.id(request.paymentID, field: "payment_id")
        let notice = try ChannelNotice(
            channel: request.channel,
            channelID: request.channelTransactionID,
            idField: "channel_transaction_id",
            amount: request.amount,
            occurredAt: request.occurredAt,
            failureReason: request.failureReason,
            currency: currency
        )
        let outcome = try ChannelNotice.outcome(request.outcome, succeeded: .succeeded, failed: .failed)
        let fee = try Validate.money(request.channelFee, field: "channel_fee", currency: currency, required: false)
        let (channel, transactionID, amount) = (notice.channel, notice.channelID, notice.amount)
        let (occurred, failure) = (notice.occurredAt, notice.failureReason)
        let current = try await store.latest.require(OrderTables.payments, paymentID, field: "payment_id")
        let order = try await store.latest.require(OrderTables.orders, current.orderID, field: "payment_id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: try await locks(for: order)
        ) { transaction in
            var payment = try await transaction.require(OrderTables.payments, paymentID, field: "payment_id")
            try notice.check(channelOf: "payment '\(payment.id)'", payment.channel)
            // The same channel transaction: a repeat, or the same id with other data.
            if let known = try await transaction.lookup(
                OrderTables.payments,
                OrderTables.paymentTransaction,
                [.int(Int64(channel.rawValue)), .string(transactionID)]
            ) {
                let sameOutcome = known.status == outcome
                guard known.id == payment.id, sameOutcome || (known.status == .succeeded && outcome == .failed),
                    outcome == .failed || amount == (known.amount?.minorUnits ?? 0)
                else {
                    throw RPCError(
                        code: .alreadyExists,
                        message: "channel_transaction_id: '\(transactionID)' was reported for another payment, "
                            + "amount or outcome"
                    )
                }
                payment.callbackCount = payment.callbackCount &+ (payment.callbackCount < .max ? 1 : 0)
                try await transaction.updateVersioned(OrderTables.payments, &payment)
                return payment
            }
            payment.callbackCount = payment.callbackCount &+ (payment.callbackCount < .max ? 1 : 0)
            // A success is final: any later news of this payment changes nothing.
            guard payment.status != .succeeded else {
                try await transaction.updateVersioned(OrderTables.payments, &payment)
                return payment
            }
            guard var order = try await transaction.get(OrderTables.orders, .string(payment.orderID)) else {
                throw RPCError(code: .notFound, message: "payment_id: the order of payment '\(payment.id)' is gone")
            }
            let book = OrderBook(provider: self, transaction: transaction, actor: .system, requestID: request.requestID)
            if outcome == .failed {
                guard payment.status == .pending || payment.status == .closed else {
                    try await transaction.updateVersioned(OrderTables.payments, &payment)
                    return payment
                }
                payment.status = .failed
                payment.channelTransactionID = transactionID
                payment.failureReason = failure
                payment.endedAt = transaction.now
                try await transaction.updateVersioned(OrderTables.payments, &payment)
                try await book.note(
                    &order,
                    kind: .payment,
                    reason: "payment failed" + (failure.isEmpty ? "" : ": \(failure)"),
                    paymentID: payment.id
                )
                return payment
            }
            let expected = payment.amount?.minorUnits ?? 0
            guard amount == expected else {
                throw RPCError.invalidArgument(
                    field: "amount",
                    "the channel reports \(Self.format(amount)) \(currency); payment '\(payment.id)' is for "
                        + "\(Self.format(expected)) \(currency)"
                )
            }
            payment.status = .succeeded
            payment.channelTransactionID = transactionID
            payment.succeededAt = occurred ?? transaction.now
            payment.endedAt = nil
            // The channel's fee as it reports it, else by its rate.
            let settlement = SettlementBook(transaction: transaction, currency: currency)
            var channelFee = fee?.minorUnits ?? 0
            if fee == nil { channelFee = try await settlement.fee(of: expected, channel: payment.channel) }
            payment.channelFee = Money(minorUnits: channelFee, currency: currency)
            try await settlePayment(&payment, of: &order, book: book)
            try await settlement.recordSale(payment, of: order)
            return payment
        }
    }

    /// A successful payment counts towards its order, or, when the order no longer
    /// waits for it, is kept as surplus and refunded automatically.
    private func settlePayment(_ payment: inout Payment, of order: inout Order, book: OrderBook) async throws {
        let transaction = book.transaction
        let now = transaction.now
        // Stock of an unpaid order is held until the deadline and a grace period; a
        // payment after that finds the order cancelled rather than unfillable.
        if order.status == .pendingPayment, let deadline = order.paymentDeadline,
            Timestamps.isPast(Timestamps.adding(seconds: Self.reservationGraceSeconds, to: deadline), now: now)
        {
            try await book.move(&order, to: .cancelled, reason: "payment timeout", paymentID: payment.id)
        }
        guard order.status == .pendingPayment else {
            let reason: RefundReason = order.paidAt == nil ? .latePayment : .duplicatePayment
            payment.surplus = true
            let refund = Refund(
                id: RecordIDs.make(prefix: "ref"),
                orderID: order.id,
                customerID: order.customerID,
                paymentID: payment.id,
                channel: payment.channel,
                amount: payment.amount,
                deliveryFeeAmount: Money(minorUnits: 0, currency: currency),
                reason: reason,
                status: .pending,
                requestedBy: .system,
                createdAt: now,
                updatedAt: now,
                version: 1
            )
            try await transaction.insert(OrderTables.refunds, refund)
            payment.surplusRefundID = refund.id
            try await transaction.updateVersioned(OrderTables.payments, &payment)
            try await book.note(
                &order,
                kind: .payment,
                reason: "payment arrived after the order was \(order.paidAt == nil ? "cancelled" : "paid"); "
                    + "refunded automatically (\(reason.displayName))",
                paymentID: payment.id,
                refundID: refund.id
            )
            return
        }
        try await transaction.updateVersioned(OrderTables.payments, &payment)
        let paid = try Checked.add(
            order.amounts?.paidAmount?.minorUnits ?? 0,
            payment.amount?.minorUnits ?? 0,
            field: "amount"
        )
        order.amounts?.paidAmount = Money(minorUnits: paid, currency: currency)
        if paid >= (order.amounts?.payableTotal?.minorUnits ?? 0) {
            try await book.move(
                &order,
                to: .paid,
                reason: "paid over \(payment.channel.displayName)",
                paymentID: payment.id
            )
        } else {
            try await book.note(&order, kind: .payment, reason: "partly paid", paymentID: payment.id)
        }
    }

    public func getPayment(request: GetPaymentRequest, context: RPCServerContext) async throws -> Payment {
        try await store.latest.require(OrderTables.payments, request.id, field: "id")
    }

    public func listPayments(
        request: ListPaymentsRequest,
        context: RPCServerContext
    ) async throws -> ListPaymentsResponse {
        _ = try Paging.pageSize(request.page, field: "page")
        let orderID = request.orderID.isEmpty ? nil : try Validate.id(request.orderID, field: "order_id")
        let channel = try Validate.known(request.channel, field: "channel", noun: "payment channel")
        let status = try Validate.known(request.status, field: "status", noun: "payment status")
        let transactionID =
            request.channelTransactionID.isEmpty
            ? nil : try Validate.id(request.channelTransactionID, field: "channel_transaction_id")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let predicate: @Sendable (Payment) -> Bool = { payment in
            let created = Timestamps.nanos(payment.createdAt)
            return (orderID == nil || payment.orderID == orderID!)
                && (channel == .unspecified || payment.channel == channel)
                && (status == .unspecified || payment.status == status)
                && (transactionID == nil || payment.channelTransactionID == transactionID!)
                && (start.map { created >= $0 } ?? true) && (end.map { created < $0 } ?? true)
        }
        let filters = [
            orderID ?? "", "\(channel.rawValue)", "\(status.rawValue)", transactionID ?? "", "\(start ?? -1)",
            "\(end ?? -1)",
        ]
        let page = try await store.newestFirst(
            OrderTables.payments,
            by: [(OrderTables.paymentOrder, orderID)],
            page: request.page,
            filters: filters,
            predicate: predicate
        )
        return ListPaymentsResponse(payments: page.records, nextPageToken: page.nextPageToken)
    }
}

/// A payment channel's notification as the relay passes it on, checked: what payment
/// and refund callbacks share.
struct ChannelNotice {
    let channel: PaymentChannel
    /// The channel's own id of the transaction or refund.
    let channelID: String
    let amount: Int64
    let occurredAt: Timestamp?
    let failureReason: String

    init(
        channel: PaymentChannel,
        channelID: String,
        idField: String,
        amount: Money?,
        occurredAt: Timestamp?,
        failureReason: String,
        currency: String
    ) throws {
        self.channel = try Validate.known(channel, field: "channel", noun: "payment channel")
        self.channelID = try Validate.id(channelID, field: idField)
        self.amount = try Validate.money(amount, field: "amount", currency: currency)?.minorUnits ?? 0
        self.occurredAt = try occurredAt.map { try Validate.timestamp($0, field: "occurred_at") }
        self.failureReason = try Validate.text(failureReason, field: "failure_reason", max: 256)
    }

    /// SUCCEEDED or FAILED; anything else is INVALID_ARGUMENT.
    static func outcome<Status: O2OEnum>(_ value: Status, succeeded: Status, failed: Status) throws -> Status {
        guard value == succeeded || value == failed else {
            throw RPCError.invalidArgument(field: "outcome", "must be SUCCEEDED or FAILED, got \(value.displayName)")
        }
        return value
    }

    /// INVALID_ARGUMENT unless the notice came from `expected`, the record's channel.
    func check(channelOf record: String, _ expected: PaymentChannel) throws {
        guard channel == expected else {
            throw RPCError.invalidArgument(
                field: "channel",
                "\(record) is over \(expected.displayName), not \(channel.displayName)"
            )
        }
    }
}
