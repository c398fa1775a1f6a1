import O2OCare
import O2OMessages
import O2OOrders
import O2OServiceKit
import O2OStorage

/// The figures recomputed from the records themselves (orders, refunds, tickets and
/// their history, SLA breaches, after-sales cases) rather than from the events: to
/// rebuild the stored figures, and to check them.
struct RecordWalk {
    let orders: OrderFigureSource
    let care: CareFigureSource

    struct Outcome {
        var ordersRead = 0
        var ticketsRead = 0
        /// Every location an order is fulfilled at.
        var locations: Set<String> = []
        /// Orders per status (replacement orders included), tickets open now, SLA
        /// breaches recorded.
        var ordersByStatus: [Int32: Int64] = [:]
        var openTickets: Int64 = 0
        var breaches: Int64 = 0
        /// The newest history entry of each order, ticket and case, and the refunds
        /// counted: what the figures now hold.
        var applied: [String: Int64] = [:]
    }

    func walk(into sink: inout some FigureSink, in reader: some RecordReading) async throws -> Outcome {
        var outcome = Outcome()
        try await orders.forEachOrder(in: reader) { page in
            for order in page {
                outcome.ordersRead += 1
                outcome.applied["o" + order.id] = order.historySequence
                outcome.ordersByStatus[order.status.rawValue, default: 0] += 1
                guard OrderContributions.counts(order) else { continue }
                let contributions = OrderContributions(order)
                outcome.locations.formUnion(contributions.shares.locations)
                try contributions.count(.placed, at: order.createdAt, into: &sink)
                if OrderContributions.wasPaid(order) { try contributions.paid(into: &sink) }
                // CANCELLED is final, and only unpaid orders get there (a paid order
                // cancelled is refunded instead, though its cancel time is kept).
                if order.status == .cancelled {
                    try contributions.count(.cancelled, at: order.cancelledAt, into: &sink)
                }
                if order.completedAt != nil { try contributions.count(.completed, at: order.completedAt, into: &sink) }
                if order.refundedAt != nil { try contributions.count(.refunded, at: order.refundedAt, into: &sink) }
            }
        }
        try await orders.forEachRefund(in: reader) { page in
            for refund in page where refund.status == .succeeded {
                outcome.applied["r" + refund.id] = 1
                guard OrderContributions.counts(refund),
                    let order = try await orders.order(refund.orderID, in: reader),
                    OrderContributions.counts(order)
                else { continue }
                try OrderContributions(order).refunded(refund, into: &sink)
            }
        }
        try await care.forEachTicket(in: reader) { page in
            for ticket in page {
                outcome.ticketsRead += 1
                outcome.applied["t" + ticket.id] = ticket.version
                if TicketContributions.openStates.contains(ticket.status) { outcome.openTickets += 1 }
                try TicketContributions.created(ticket, into: &sink)
            }
        }
        try await care.forEachTicketHistoryEntry(in: reader) { page in
            for entry in page { try TicketContributions.entry(entry, into: &sink) }
        }
        try await care.forEachBreach(in: reader) { page in
            for breach in page {
                outcome.breaches += 1
                try TicketContributions.breached(breach.kind, due: breach.dueAt, into: &sink)
            }
        }
        try await care.forEachCase(in: reader) { page in
            for item in page {
                outcome.applied["c" + item.id] = item.version
                try TicketContributions.caseOpened(at: item.createdAt, into: &sink)
            }
        }
        return outcome
    }
}
