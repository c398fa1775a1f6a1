public import O2OMessages
import O2OPricing
public import O2ORPC
import O2OServiceKit
import O2OStorage

/// What of an order is already promised back: by refunds that succeeded or may
/// still succeed (PENDING), per line and for the delivery fee. Surplus payment
/// refunds do not count: they return money that never paid the order.
struct RefundCommitments {
    var lineQuantity: [String: Int64] = [:]
    var lineAmount: [String: Int64] = [:]
    var deliveryFee: Int64 = 0
    var perPayment: [String: Int64] = [:]

    init(_ refunds: [Refund]) throws {
        for refund in refunds where refund.status != .failed {
            for line in refund.lines {
                lineQuantity[line.lineID] = try Checked.add(
                    lineQuantity[line.lineID] ?? 0,
                    line.quantity,
                    field: "quantity"
                )
                lineAmount[line.lineID] = try Checked.add(
                    lineAmount[line.lineID] ?? 0,
                    line.amount?.minorUnits ?? 0,
                    field: "amount"
                )
            }
            deliveryFee = try Checked.add(deliveryFee, refund.deliveryFeeAmount?.minorUnits ?? 0, field: "amount")
            perPayment[refund.paymentID] = try Checked.add(
                perPayment[refund.paymentID] ?? 0,
                refund.amount?.minorUnits ?? 0,
                field: "amount"
            )
        }
    }
}

/// What a refund returns, as checked by CreateRefund or asked for by a port.
enum RefundScope {
    /// Everything still refundable.
    case wholeOrder
    /// These lines and quantities, at their value.
    case lines([RefundLineSelection])
    /// A free amount spread over the lines.
    case amount(Int64)
    /// Returned units (after-sales): these lines and quantities, for `amount`, at
    /// most their value, spread over them in proportion to it.
    case returned([RefundLineSelection], amount: Int64)
}

/// A refund to create in a change, with everything it records.
struct RefundSpec {
    var orderID: String
    var paymentID: String?
    var scope: RefundScope
    var includeDeliveryFee = false
    var reason: RefundReason
    var caseID = ""
    var note = ""
    var requestID: String
    var actor: ChangeActor
}

extension OrderServiceProvider {
    func refunds(of orderID: String, in reader: some RecordReading) async throws -> [Refund] {
        try await reader.all(
            OrderTables.refunds,
            RecordQuery(index: OrderTables.refundOrder, prefix: [.string(orderID)], pageSize: 100),
            limit: 1000
        )
    }

    /// The order refunds that count against what was paid (not surplus refunds).
    private func orderRefunds(of orderID: String, in reader: some RecordReading) async throws -> [Refund] {
        try await refunds(of: orderID, in: reader).filter {
            $0.reason != .latePayment && $0.reason != .duplicatePayment
        }
    }

    /// Everything of `order` not yet promised back: per line and the delivery fee.
    private func remainder(_ order: Order, _ promised: RefundCommitments) -> (lines: [RefundLine], fee: Int64) {
        let lines = order.lines.compactMap { line -> RefundLine? in
            let amount = (line.total?.minorUnits ?? 0) - (promised.lineAmount[line.lineID] ?? 0)
            let quantity = line.quantity - (promised.lineQuantity[line.lineID] ?? 0)
            guard amount > 0 || quantity > 0 else { return nil }
            return RefundLine(
                lineID: line.lineID,
                skuID: line.skuID,
                quantity: max(0, quantity),
                amount: Money(minorUnits: max(0, amount), currency: currency)
            )
        }
        let fee = max(0, (order.amounts?.deliveryFee?.minorUnits ?? 0) - promised.deliveryFee)
        return (lines, fee)
    }

    /// The successful order payments with what each has left to refund.
    private func refundablePayments(
        _ order: Order,
        _ promised: RefundCommitments,
        in reader: some RecordReading
    ) async throws -> [(payment: Payment, left: Int64)] {
        try await payments(of: order.id, in: reader).compactMap { payment in
            guard payment.status == .succeeded, !payment.surplus else { return nil }
            return (payment, (payment.amount?.minorUnits ?? 0) - (promised.perPayment[payment.id] ?? 0))
        }
    }

    /// The full refund of an order cancelled after payment, inside the move to
    /// REFUNDING: one refund per successful payment for what it has left, reason
    /// CANCELLATION or RISK_REJECTION. Returns whether everything paid is refunded
    /// already (an order paid with nothing has nothing to send back).
    func refundEverything(_ order: Order, reason: RefundReason, in book: OrderBook) async throws -> Bool {
        let transaction = book.transaction
        let promised = try RefundCommitments(try await orderRefunds(of: order.id, in: transaction))
        var (lines, fee) = remainder(order, promised)
        var created = false
        for (payment, left) in try await refundablePayments(order, promised, in: transaction) where left > 0 {
            // Lines go to the first payments until each is covered.
            var budget = left
            var taken: [RefundLine] = []
            var rest: [RefundLine] = []
            for line in lines {
                let amount = line.amount?.minorUnits ?? 0
                if budget >= amount {
                    taken.append(line)
                    budget -= amount
                } else if budget > 0 {
                    var part = line
                    part.amount = Money(minorUnits: budget, currency: currency)
                    var remaining = line
                    remaining.amount = Money(minorUnits: amount - budget, currency: currency)
                    remaining.quantity = 0
                    taken.append(part)
                    rest.append(remaining)
                    budget = 0
                } else {
                    rest.append(line)
                }
            }
            let feePart = min(fee, budget)
            fee -= feePart
            lines = rest
            let total = try Checked.sum(taken.map { $0.amount?.minorUnits ?? 0 }, field: "amount") + feePart
            guard total > 0 else { continue }
            let refund = Refund(
                id: RecordIDs.make(prefix: "ref"),
                orderID: order.id,
                customerID: order.customerID,
                paymentID: payment.id,
                channel: payment.channel,
                amount: Money(minorUnits: total, currency: currency),
                deliveryFeeAmount: Money(minorUnits: feePart, currency: currency),
                lines: taken,
                reason: reason,
                status: .pending,
                wholeOrder: true,
                requestID: book.requestID,
                requestedBy: book.actor,
                createdAt: transaction.now,
                updatedAt: transaction.now,
                version: 1
            )
            try await transaction.insert(OrderTables.refunds, refund)
            created = true
        }
        return !created
            && (order.amounts?.refundedAmount?.minorUnits ?? 0) >= (order.amounts?.paidAmount?.minorUnits ?? 0)
    }

    public func createRefund(request: CreateRefundRequest, context: RPCServerContext) async throws -> Refund {
        let orderID = try Validate.id(request.orderID, field: "order_id")
        let paymentID = request.paymentID.isEmpty ? nil : try Validate.id(request.paymentID, field: "payment_id")
        let reason = try Validate.known(request.reason, field: "reason", noun: "refund reason")
        switch reason {
        case .unspecified:
            throw RPCError.invalidArgument(field: "reason", "is required")
        case .cancellation, .latePayment, .duplicatePayment, .riskRejection:
            throw RPCError.invalidArgument(field: "reason", "\(reason.displayName) refunds are made by the server only")
        default:
            break
        }
        let note = try Validate.text(request.note, field: "note", max: 1024)
        if reason == .other, note.isEmpty { throw RPCError.invalidArgument(field: "note", "is required for OTHER") }
        let caseID =
            request.afterSalesCaseID.isEmpty
            ? "" : try Validate.id(request.afterSalesCaseID, field: "after_sales_case_id")
        if reason == .afterSalesReturn, caseID.isEmpty {
            throw RPCError.invalidArgument(field: "after_sales_case_id", "is required for AFTER_SALES_RETURN")
        }
        guard let scope = request.scope else {
            throw RPCError.invalidArgument(field: "whole_order", "give whole_order, lines or amount")
        }
        switch scope {
        case .wholeOrder(let whole):
            guard whole else { throw RPCError.invalidArgument(field: "whole_order", "must be true when given") }
        case .lines(let list):
            guard (1...100).contains(list.lines.count) else {
                throw RPCError.invalidArgument(field: "lines.lines", "must be 1 to 100 lines, got \(list.lines.count)")
            }
            for (index, line) in list.lines.enumerated() {
                _ = try Validate.id(line.lineID, field: "lines.lines[\(index)].line_id")
                guard !list.lines[..<index].contains(where: { $0.lineID == line.lineID }) else {
                    throw RPCError.invalidArgument(
                        field: "lines.lines[\(index)].line_id",
                        "'\(line.lineID)' is there twice"
                    )
                }
                guard line.quantity >= 1 else {
                    throw RPCError.invalidArgument(field: "lines.lines[\(index)].quantity", "must be at least 1")
                }
            }
        case .amount(let money):
            let value = try Validate.money(money, field: "amount", currency: currency)?.minorUnits ?? 0
            guard value > 0 else { throw RPCError.invalidArgument(field: "amount.minor_units", "must be more than 0") }
        }
        let scoped: RefundScope
        switch scope {
        case .wholeOrder: scoped = .wholeOrder
        case .lines(let list): scoped = .lines(list.lines)
        case .amount(let money): scoped = .amount(money.minorUnits)
        }
        let spec = RefundSpec(
            orderID: orderID,
            paymentID: paymentID,
            scope: scoped,
            includeDeliveryFee: request.includeDeliveryFee,
            reason: reason,
            caseID: caseID,
            note: note,
            requestID: request.requestID,
            actor: try context.actor(request.actor)
        )
        let current = try await store.latest.require(OrderTables.orders, orderID, field: "order_id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: try await locks(for: current)
        ) { transaction in
            try await placeRefund(spec, in: transaction)
        }
    }

    /// Creates the refund `spec` asks for in `transaction`, with its order history
    /// entry (and the move to REFUNDING when it returns everything left).
    func placeRefund(_ spec: RefundSpec, in transaction: ServiceTransaction) async throws -> Refund {
        let (orderID, paymentID, scope, reason, caseID, note, actor) = (
            spec.orderID, spec.paymentID, spec.scope, spec.reason, spec.caseID, spec.note, spec.actor
        )
        var order = try await transaction.require(OrderTables.orders, orderID, field: "order_id")
        let promised = try RefundCommitments(try await orderRefunds(of: order.id, in: transaction))
        let payable = try await refundablePayments(order, promised, in: transaction)
        guard !payable.isEmpty else {
            throw RPCError(
                code: .failedPrecondition,
                message: "order_id: order '\(order.id)' has no successful payment to refund"
            )
        }
        let (left, leftFee) = remainder(order, promised)
        let leftTotal = try Checked.sum(left.map { $0.amount?.minorUnits ?? 0 }, field: "amount") + leftFee
        var lines: [RefundLine] = []
        var fee: Int64 = 0
        switch scope {
        case .wholeOrder:
            lines = left
            fee = leftFee
        case .lines(let selections), .returned(let selections, _):
            for (index, selection) in selections.enumerated() {
                let path = "lines.lines[\(index)]"
                guard let line = order.lines.first(where: { $0.lineID == selection.lineID }) else {
                    throw RPCError.invalidArgument(
                        field: "\(path).line_id",
                        "order '\(order.id)' has no line '\(selection.lineID)'"
                    )
                }
                let done = promised.lineQuantity[line.lineID] ?? 0
                guard selection.quantity <= line.quantity - done else {
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "\(path).quantity: line \(line.lineID) has \(line.quantity - done) of "
                            + "\(line.quantity) units left to refund, not \(selection.quantity)"
                    )
                }
                let total = line.total?.minorUnits ?? 0
                let lineLeft = total - (promised.lineAmount[line.lineID] ?? 0)
                // The last units of a line take what is left of it.
                let amount =
                    done + selection.quantity == line.quantity
                    ? lineLeft
                    : min(lineLeft, PriceMath.scaled(total, by: selection.quantity, over: line.quantity))
                lines.append(
                    RefundLine(
                        lineID: line.lineID,
                        skuID: line.skuID,
                        quantity: selection.quantity,
                        amount: Money(minorUnits: max(0, amount), currency: currency)
                    )
                )
            }
            if spec.includeDeliveryFee { fee = leftFee }
            if case .returned(_, let amount) = scope {
                // What the returned units are worth is the most they get back.
                let worth = try Checked.sum(lines.map { $0.amount?.minorUnits ?? 0 }, field: "amount")
                guard amount <= worth else {
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "refund_amount: \(Self.format(amount)) \(currency) is more than the "
                            + "\(Self.format(worth)) \(currency) paid for the returned units"
                    )
                }
                let shares = PriceMath.split(amount, over: lines.map { $0.amount?.minorUnits ?? 0 })
                for (index, share) in shares.enumerated() {
                    lines[index].amount = Money(minorUnits: share, currency: currency)
                }
            }
        case .amount(let value):
            let lineTotal = leftTotal - leftFee
            guard value <= lineTotal else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "amount: \(Self.format(value)) \(currency) is more than the "
                        + "\(Self.format(lineTotal)) \(currency) left to refund of order '\(order.id)'"
                )
            }
            let shares = PriceMath.split(value, over: left.map { $0.amount?.minorUnits ?? 0 })
            lines = zip(left, shares).compactMap { line, share in
                guard share > 0 else { return nil }
                return RefundLine(
                    lineID: line.lineID,
                    skuID: line.skuID,
                    quantity: 0,
                    amount: Money(minorUnits: share, currency: currency)
                )
            }
        }
        let total = try Checked.add(
            try Checked.sum(lines.map { $0.amount?.minorUnits ?? 0 }, field: "amount"),
            fee,
            field: "amount"
        )
        guard total > 0 else {
            throw RPCError(
                code: .failedPrecondition,
                message: "order_id: nothing is left to refund of order '\(order.id)'"
            )
        }
        let payment: (payment: Payment, left: Int64)
        if let paymentID {
            guard let chosen = payable.first(where: { $0.payment.id == paymentID }) else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "payment_id: '\(paymentID)' is not a successful payment of order '\(order.id)'"
                )
            }
            payment = chosen
        } else {
            payment = payable.max { $0.left < $1.left }!
        }
        guard total <= payment.left else {
            throw RPCError(
                code: .failedPrecondition,
                message: "order_id: \(Self.format(total)) \(currency) is more than the "
                    + "\(Self.format(max(0, payment.left))) \(currency) refundable of payment '\(payment.payment.id)'"
            )
        }
        let whole = total >= leftTotal
        if whole {
            switch order.status {
            case .shipped, .delivered, .completed, .refunding:
                break
            case .paid, .fulfilling, .readyForPickup:
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' is \(order.status.displayName); a whole unshipped "
                        + "order is refunded by cancelling it (CancelOrder)"
                )
            default:
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' is \(order.status.displayName) and cannot be refunded"
                )
            }
        } else {
            guard ![.pendingPayment, .cancelled, .refunded].contains(order.status) else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' is \(order.status.displayName) and cannot be refunded"
                )
            }
        }
        let refund = Refund(
            id: RecordIDs.make(prefix: "ref"),
            orderID: order.id,
            customerID: order.customerID,
            paymentID: payment.payment.id,
            channel: payment.payment.channel,
            amount: Money(minorUnits: total, currency: currency),
            deliveryFeeAmount: Money(minorUnits: fee, currency: currency),
            lines: lines,
            reason: reason,
            status: .pending,
            wholeOrder: whole,
            afterSalesCaseID: caseID,
            note: note,
            requestID: spec.requestID,
            requestedBy: actor,
            createdAt: transaction.now,
            updatedAt: transaction.now,
            version: 1
        )
        try await transaction.insert(OrderTables.refunds, refund)
        let book = OrderBook(provider: self, transaction: transaction, actor: actor, requestID: spec.requestID)
        let text = "refund of \(Self.format(total)) \(currency) requested (\(reason.displayName))"
        if whole, order.status != .refunding {
            try await book.move(&order, to: .refunding, reason: text, refundID: refund.id)
        } else {
            try await book.note(&order, kind: .refund, reason: text, refundID: refund.id)
        }
        return refund
    }

    public func recordRefundCallback(
        request: RecordRefundCallbackRequest,
        context: RPCServerContext
    ) async throws -> Refund {
        let refundID = try Validate.id(request.refundID, field: "refund_id")
        let notice = try ChannelNotice(
            channel: request.channel,
            channelID: request.channelRefundID,
            idField: "channel_refund_id",
            amount: request.amount,
            occurredAt: request.occurredAt,
            failureReason: request.failureReason,
            currency: currency
        )
        let outcome = try ChannelNotice.outcome(request.outcome, succeeded: .succeeded, failed: .failed)
        let (channel, channelRefundID, amount) = (notice.channel, notice.channelID, notice.amount)
        let (occurred, failure) = (notice.occurredAt, notice.failureReason)
        let current = try await store.latest.require(OrderTables.refunds, refundID, field: "refund_id")
        let order = try await store.latest.require(OrderTables.orders, current.orderID, field: "refund_id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: try await locks(for: order)
        ) { transaction in
            var refund = try await transaction.require(OrderTables.refunds, refundID, field: "refund_id")
            try notice.check(channelOf: "refund '\(refund.id)'", refund.channel)
            if let known = try await transaction.lookup(
                OrderTables.refunds,
                OrderTables.refundChannelID,
                [.int(Int64(channel.rawValue)), .string(channelRefundID)]
            ) {
                guard known.id == refund.id, known.status == outcome,
                    outcome == .failed || amount == (known.amount?.minorUnits ?? 0)
                else {
                    throw RPCError(
                        code: .alreadyExists,
                        message: "channel_refund_id: '\(channelRefundID)' was reported for another refund, amount "
                            + "or outcome"
                    )
                }
                return refund
            }
            guard refund.status == .pending else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "refund_id: refund '\(refund.id)' already \(refund.status.displayName)"
                )
            }
            let expected = refund.amount?.minorUnits ?? 0
            if outcome == .succeeded, amount != expected {
                throw RPCError.invalidArgument(
                    field: "amount",
                    "the channel reports \(Self.format(amount)) \(currency); refund '\(refund.id)' is for "
                        + "\(Self.format(expected)) \(currency)"
                )
            }
            refund.status = outcome
            refund.channelRefundID = channelRefundID
            refund.endedAt = occurred ?? transaction.now
            refund.failureReason = outcome == .failed ? failure : ""
            try await transaction.updateVersioned(OrderTables.refunds, &refund)
            guard var order = try await transaction.get(OrderTables.orders, .string(refund.orderID)) else {
                return refund
            }
            let book = OrderBook(provider: self, transaction: transaction, actor: .system, requestID: request.requestID)
            guard outcome == .succeeded else {
                try await book.note(
                    &order,
                    kind: .refund,
                    reason: "refund failed" + (failure.isEmpty ? "" : ": \(failure)"),
                    refundID: refund.id
                )
                return refund
            }
            let surplus = refund.reason == .latePayment || refund.reason == .duplicatePayment
            if var payment = try await transaction.get(OrderTables.payments, .string(refund.paymentID)) {
                payment.refundedAmount = Money(
                    minorUnits: try Checked.add(payment.refundedAmount?.minorUnits ?? 0, expected, field: "amount"),
                    currency: currency
                )
                try await transaction.updateVersioned(OrderTables.payments, &payment)
                try await SettlementBook(transaction: transaction, currency: currency).recordRefund(
                    refund,
                    payment: payment,
                    surplus: surplus
                )
            }
            guard !surplus else {
                try await book.note(&order, kind: .refund, reason: "surplus payment refunded", refundID: refund.id)
                return refund
            }
            for line in refund.lines {
                guard let index = order.lines.firstIndex(where: { $0.lineID == line.lineID }) else { continue }
                order.lines[index].refundedQuantity = try Checked.add(
                    order.lines[index].refundedQuantity,
                    line.quantity,
                    field: "quantity"
                )
                order.lines[index].refundedAmount = Money(
                    minorUnits: try Checked.add(
                        order.lines[index].refundedAmount?.minorUnits ?? 0,
                        line.amount?.minorUnits ?? 0,
                        field: "amount"
                    ),
                    currency: currency
                )
            }
            let refunded = try Checked.add(order.amounts?.refundedAmount?.minorUnits ?? 0, expected, field: "amount")
            order.amounts?.refundedAmount = Money(minorUnits: refunded, currency: currency)
            let paid = order.amounts?.paidAmount?.minorUnits ?? 0
            try await loyalty.reverse(
                customerID: order.customerID,
                orderID: order.id,
                refundID: refund.id,
                refund: expected - (refund.deliveryFeeAmount?.minorUnits ?? 0),
                wholeOrder: refunded >= paid,
                currency: currency,
                actor: .system,
                in: transaction
            )
            let text = "refund of \(Self.format(expected)) \(currency) succeeded"
            if order.status == .refunding, refunded >= paid {
                try await book.move(&order, to: .refunded, reason: text, refundID: refund.id)
            } else {
                try await book.note(&order, kind: .refund, reason: text, refundID: refund.id)
            }
            return refund
        }
    }

    public func getRefund(request: GetRefundRequest, context: RPCServerContext) async throws -> Refund {
        try await store.latest.require(OrderTables.refunds, request.id, field: "id")
    }

    public func listRefunds(request: ListRefundsRequest, context: RPCServerContext) async throws -> ListRefundsResponse
    {
        _ = try Paging.pageSize(request.page, field: "page")
        let orderID = request.orderID.isEmpty ? nil : try Validate.id(request.orderID, field: "order_id")
        let caseID =
            request.afterSalesCaseID.isEmpty
            ? nil : try Validate.id(request.afterSalesCaseID, field: "after_sales_case_id")
        let status = try Validate.known(request.status, field: "status", noun: "refund status")
        let reason = try Validate.known(request.reason, field: "reason", noun: "refund reason")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let predicate: @Sendable (Refund) -> Bool = { refund in
            let created = Timestamps.nanos(refund.createdAt)
            return (orderID == nil || refund.orderID == orderID!)
                && (caseID == nil || refund.afterSalesCaseID == caseID!)
                && (status == .unspecified || refund.status == status)
                && (reason == .unspecified || refund.reason == reason)
                && (start.map { created >= $0 } ?? true) && (end.map { created < $0 } ?? true)
        }
        let filters = [
            orderID ?? "", caseID ?? "", "\(status.rawValue)", "\(reason.rawValue)", "\(start ?? -1)", "\(end ?? -1)",
        ]
        let page = try await store.newestFirst(
            OrderTables.refunds,
            by: [(OrderTables.refundOrder, orderID), (OrderTables.refundCase, caseID)],
            page: request.page,
            filters: filters,
            predicate: predicate
        )
        return ListRefundsResponse(refunds: page.records, nextPageToken: page.nextPageToken)
    }
}
