import O2OMessages
import O2OServiceKit

/// Splits an amount over weights exactly: each share is rounded down, then the
/// minor units left over go one each to the largest remainders (ties: the earlier
/// position). The shares always add up to the amount; all weights zero splits evenly.
enum Apportion {
    static func split(_ amount: Int64, over weights: [Int64]) -> [Int64] {
        guard !weights.isEmpty else { return [] }
        let positive = weights.map { max($0, 0) }
        var total: Int64 = 0
        for weight in positive {
            let (sum, overflow) = total.addingReportingOverflow(weight)
            guard !overflow else { return split(amount, over: weights.map { _ in 1 }) }
            total = sum
        }
        guard total > 0 else { return split(amount, over: weights.map { _ in 1 }) }
        // Int64.min has no positive counterpart; no stored amount comes near it.
        let magnitude = amount == .min ? UInt64(Int64.max) : amount.magnitude
        var shares: [UInt64] = []
        var remainders: [UInt64] = []
        for weight in positive {
            let (quotient, remainder) = UInt64(total).dividingFullWidth(
                magnitude.multipliedFullWidth(by: UInt64(weight))
            )
            shares.append(quotient)
            remainders.append(remainder)
        }
        // Each share lost less than one unit: fewer are left than there are shares.
        var left = magnitude - shares.reduce(0, +)
        let order = positive.indices.sorted {
            remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1
        }
        for index in order where left > 0 {
            shares[index] += 1
            left -= 1
        }
        return shares.map { amount < 0 ? -Int64($0) : Int64($0) }
    }
}

/// How an order's lines and delivery fee divide between the locations that fulfil
/// it: a line by the units each part takes, the delivery fee by the line amounts at
/// each location. Every split is exact, so the locations add up to the platform.
struct OrderShares {
    /// The locations, in the order of the parts.
    let locations: [String]
    /// Per line: the units each location takes.
    let lineUnits: [[(location: String, units: Int64)]]
    /// Per location: the line amounts fulfilled there (the weights of the delivery fee).
    let lineAmounts: [Int64]

    init(_ order: Order) {
        var locations: [String] = []
        var units = order.lines.map { _ in [(location: String, units: Int64)]() }
        var position: [String: Int] = [:]
        for (index, line) in order.lines.enumerated() { position[line.lineID] = index }
        for part in order.fulfillmentParts {
            if !locations.contains(part.locationID) { locations.append(part.locationID) }
            for partLine in part.lines {
                guard let index = position[partLine.lineID] else { continue }
                units[index].append((part.locationID, partLine.quantity))
            }
        }
        for (index, line) in order.lines.enumerated() where units[index].isEmpty && !line.fulfillmentLocationID.isEmpty
        {
            if !locations.contains(line.fulfillmentLocationID) { locations.append(line.fulfillmentLocationID) }
            units[index] = [(line.fulfillmentLocationID, line.quantity)]
        }
        self.locations = locations
        self.lineUnits = units
        var amounts = locations.map { _ in Int64(0) }
        for (index, line) in order.lines.enumerated() {
            for (location, share) in Self.split(line.total?.minorUnits ?? 0, units[index]) {
                if let slot = locations.firstIndex(of: location) { amounts[slot] = amounts[slot] &+ share }
            }
        }
        self.lineAmounts = amounts
    }

    /// `amount` of line `index` over its locations, by units.
    func line(_ index: Int, _ amount: Int64) -> [(String, Int64)] {
        Self.split(amount, lineUnits[index])
    }

    /// `amount` not tied to a line (the delivery fee) over the locations, by line amounts.
    func orderWide(_ amount: Int64) -> [(String, Int64)] {
        Array(zip(locations, Apportion.split(amount, over: lineAmounts)))
    }

    private static func split(_ amount: Int64, _ parts: [(location: String, units: Int64)]) -> [(String, Int64)] {
        Array(zip(parts.map(\.location), Apportion.split(amount, over: parts.map(\.units))))
    }
}

/// The figures each order change adds: the one definition of what counts where,
/// used on events as they come and on the records when recomputed.
struct OrderContributions {
    let order: Order
    let shares: OrderShares

    init(_ order: Order) {
        self.order = order
        self.shares = OrderShares(order)
    }

    /// Replacement orders are not sales.
    static func counts(_ order: Order) -> Bool { order.replacementForOrderID.isEmpty }

    /// Whether the order was paid: a paid time, or a status past payment (orders
    /// created paid before their paid time was kept).
    static func wasPaid(_ order: Order) -> Bool {
        order.paidAt != nil || ![.pendingPayment, .cancelled, .unspecified].contains(order.status)
    }

    /// Refunds of surplus payments give back money that was never a sale.
    static func counts(_ refund: Refund) -> Bool {
        refund.status == .succeeded && ![.latePayment, .duplicatePayment].contains(refund.reason)
    }

    /// The key of the order's sales channel among the locations ("@DELIVERY").
    var channel: String { Self.channelKey(order.fulfillmentMode.rawValue) }

    static func channelKey(_ mode: Int32) -> String {
        switch mode {
        case 1: "@DELIVERY"
        case 2: "@STORE_PICKUP"
        case 3: "@STORE_DELIVERY"
        default: "@UNSPECIFIED"
        }
    }

    /// The channels, as keys.
    static let channels = (1...3).map { channelKey(Int32($0)) }

    /// A figure of the whole order: at the platform and its sales channel.
    private func whole(
        _ figure: SalesFigure,
        _ value: Int64,
        at nanos: Int64,
        into sink: inout some FigureSink
    )
        throws
    {
        try sink.add(figure, value, location: "", at: nanos)
        try sink.add(figure, value, location: channel, at: nanos)
    }

    /// One order at the platform, its channel and each of its locations.
    func count(_ figure: SalesFigure, at time: Timestamp?, into sink: inout some FigureSink) throws {
        let nanos = Timestamps.nanos(time)
        try whole(figure, 1, at: nanos, into: &sink)
        for location in shares.locations { try sink.add(figure, 1, location: location, at: nanos) }
    }

    /// The order became PAID.
    func paid(into sink: inout some FigureSink) throws {
        // Orders created paid before their paid time was kept: paid on creation.
        let paidAt = order.paidAt ?? order.createdAt
        let nanos = Timestamps.nanos(paidAt)
        try count(.paid, at: paidAt, into: &sink)
        let amounts = order.amounts ?? OrderAmounts()
        try whole(.gross, amounts.payableTotal?.minorUnits ?? 0, at: nanos, into: &sink)
        try whole(.discount, amounts.discountTotal?.minorUnits ?? 0, at: nanos, into: &sink)
        for (location, share) in shares.orderWide(amounts.deliveryFee?.minorUnits ?? 0) {
            try sink.add(.gross, share, location: location, at: nanos)
        }
        var ordered: Set<RankedItem> = []
        var orderedAt: Set<[String]> = []
        for (index, line) in order.lines.enumerated() {
            let total = line.total?.minorUnits ?? 0
            try whole(.unitsSold, line.quantity, at: nanos, into: &sink)
            for item in [RankedItem.product(line), .sku(line)] {
                sink.name(item, item.grouping == .product ? line.productName : line.skuName, at: nanos)
                try sink.add(.unitsSold, line.quantity, item: item, location: "", at: nanos)
                try sink.add(.gross, total, item: item, location: "", at: nanos)
                if ordered.insert(item).inserted { try sink.add(.orders, 1, item: item, location: "", at: nanos) }
            }
            let units = shares.lineUnits[index]
            let totals = shares.line(index, total)
            let discounts = shares.line(index, line.discountTotal?.minorUnits ?? 0)
            for (slot, (location, share)) in totals.enumerated() {
                try sink.add(.unitsSold, units[slot].units, location: location, at: nanos)
                try sink.add(.gross, share, location: location, at: nanos)
                try sink.add(.discount, discounts[slot].1, location: location, at: nanos)
                for item in [RankedItem.product(line), .sku(line)] {
                    try sink.add(.unitsSold, units[slot].units, item: item, location: location, at: nanos)
                    try sink.add(.gross, share, item: item, location: location, at: nanos)
                    if orderedAt.insert([location, item.nameKey]).inserted {
                        try sink.add(.orders, 1, item: item, location: location, at: nanos)
                    }
                }
            }
        }
    }

    /// A refund of the order succeeded.
    func refunded(_ refund: Refund, into sink: inout some FigureSink) throws {
        let nanos = Timestamps.nanos(refund.endedAt)
        let amount = refund.amount?.minorUnits ?? 0
        try whole(.refund, amount, at: nanos, into: &sink)
        var position: [String: Int] = [:]
        for (index, line) in order.lines.enumerated() { position[line.lineID] = index }
        var tied: Int64 = 0
        for refunded in refund.lines {
            let lineAmount = refunded.amount?.minorUnits ?? 0
            tied = try Checked.add(tied, lineAmount, field: "refund.lines.amount")
            try whole(.unitsRefunded, refunded.quantity, at: nanos, into: &sink)
            guard let index = position[refunded.lineID] else { continue }
            let line = order.lines[index]
            for item in [RankedItem.product(line), .sku(line)] {
                sink.name(item, item.grouping == .product ? line.productName : line.skuName, at: nanos)
                try sink.add(.unitsRefunded, refunded.quantity, item: item, location: "", at: nanos)
                try sink.add(.refunded, lineAmount, item: item, location: "", at: nanos)
            }
            let units = shares.line(index, refunded.quantity)
            for (slot, (location, share)) in shares.line(index, lineAmount).enumerated() {
                try sink.add(.unitsRefunded, units[slot].1, location: location, at: nanos)
                try sink.add(.refund, share, location: location, at: nanos)
                for item in [RankedItem.product(line), .sku(line)] {
                    try sink.add(.unitsRefunded, units[slot].1, item: item, location: location, at: nanos)
                    try sink.add(.refunded, share, item: item, location: location, at: nanos)
                }
            }
        }
        // The delivery fee and any amount not tied to a line: like the delivery fee.
        let untied = try Checked.add(
            amount,
            try Checked.multiply(tied, -1, field: "refund.lines.amount"),
            field: "refund.amount"
        )
        for (location, share) in shares.orderWide(untied) {
            try sink.add(.refund, share, location: location, at: nanos)
        }
    }
}

/// The figures each ticket and after-sales change adds.
enum TicketContributions {
    static let openStates: Set<TicketStatus> = [.received, .acknowledged, .investigating, .reopened]

    static func created(_ ticket: Ticket, into sink: inout some FigureSink) throws {
        let nanos = Timestamps.nanos(ticket.createdAt)
        try sink.add(.created, 1, at: nanos)
        try sink.add(.openChange, 1, at: nanos)
    }

    static func moved(
        from: TicketStatus,
        to: TicketStatus,
        at time: Timestamp?,
        into sink: inout some FigureSink
    )
        throws
    {
        guard from != to else { return }
        let nanos = Timestamps.nanos(time)
        switch to {
        case .resolved: try sink.add(.resolved, 1, at: nanos)
        case .closed: try sink.add(.closed, 1, at: nanos)
        case .reopened: try sink.add(.reopened, 1, at: nanos)
        default: break
        }
        let change = (openStates.contains(to) ? 1 : 0) - (openStates.contains(from) ? 1 : 0)
        if change != 0 { try sink.add(.openChange, Int64(change), at: nanos) }
    }

    /// What a history entry adds besides creation and breaches (counted from the
    /// ticket and the breach records): moves, and scores given on closing or after.
    static func entry(_ entry: TicketHistoryEntry, into sink: inout some FigureSink) throws {
        switch entry.kind {
        case .statusChanged:
            try moved(from: entry.fromStatus, to: entry.toStatus, at: entry.createdAt, into: &sink)
            if entry.toStatus == .closed, entry.satisfactionScore > 0 {
                try rated(entry.satisfactionScore, at: entry.createdAt, into: &sink)
            }
        case .satisfactionRecorded:
            try rated(entry.satisfactionScore, at: entry.createdAt, into: &sink)
        default:
            break
        }
    }

    static func breached(_ kind: SlaBreachKind, due: Timestamp?, into sink: inout some FigureSink) throws {
        try sink.add(kind == .acknowledge ? .acknowledgeBreaches : .resolveBreaches, 1, at: Timestamps.nanos(due))
    }

    static func rated(_ score: Int32, at time: Timestamp?, into sink: inout some FigureSink) throws {
        let nanos = Timestamps.nanos(time)
        try sink.add(.responses, 1, at: nanos)
        try sink.add(.scoreTotal, Int64(score), at: nanos)
    }

    static func caseOpened(at time: Timestamp?, into sink: inout some FigureSink) throws {
        try sink.add(.casesCreated, 1, at: Timestamps.nanos(time))
    }
}
