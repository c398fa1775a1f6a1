import O2OMessages
import O2ORPC
import O2OServiceKit

/// The answers' messages from summed figures.
enum StatsAnswers {
    static func sum(_ rows: [[Int64]], width: Int) throws -> [Int64] {
        var total = Array(repeating: Int64(0), count: width)
        for row in rows {
            for index in total.indices { total[index] = try Checked.add(total[index], row[index], field: "statistics") }
        }
        return total
    }

    static func subtract(_ a: Int64, _ b: Int64, field: String) throws -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        guard !overflow else { throw RPCError(code: .internalError, message: "\(field): out of range") }
        return difference
    }

    static func salesBucket(_ figures: [Int64], day: CalendarDate?, currency: String) throws -> DailySalesBucket {
        func value(_ figure: SalesFigure) -> Int64 { figures[figure.rawValue] }
        func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: currency) }
        let gross = value(.gross)
        let paid = value(.paid)
        let net = try subtract(gross, value(.refund), field: "net_sales")
        return DailySalesBucket(
            day: day,
            ordersPlaced: value(.placed),
            ordersPaid: paid,
            ordersCancelled: value(.cancelled),
            ordersCompleted: value(.completed),
            ordersRefunded: value(.refunded),
            unitsSold: value(.unitsSold),
            unitsRefunded: value(.unitsRefunded),
            grossSales: money(gross),
            discountTotal: money(value(.discount)),
            refundTotal: money(value(.refund)),
            netSales: money(net),
            averageOrderValue: money(paid > 0 ? gross / paid : 0)
        )
    }

    static func ticketBucket(_ figures: [Int64], open: Int64, day: CalendarDate?) throws -> DailyTicketBucket {
        func value(_ figure: TicketFigure) -> Int64 { figures[figure.rawValue] }
        let acknowledge = value(.acknowledgeBreaches)
        let resolve = value(.resolveBreaches)
        let responses = value(.responses)
        var average: Int64 = 0
        if responses > 0 {
            // Half up: (200 × total + responses) / (2 × responses).
            let doubled = try Checked.multiply(value(.scoreTotal), 200, field: "average_satisfaction_centi")
            let numerator = try Checked.add(doubled, responses, field: "average_satisfaction_centi")
            average = numerator / (try Checked.multiply(responses, 2, field: "average_satisfaction_centi"))
        }
        return DailyTicketBucket(
            day: day,
            ticketsCreated: value(.created),
            ticketsResolved: value(.resolved),
            ticketsClosed: value(.closed),
            ticketsReopened: value(.reopened),
            openTicketsAtEnd: open,
            slaBreaches: try Checked.add(acknowledge, resolve, field: "sla_breaches"),
            acknowledgeBreaches: acknowledge,
            resolveBreaches: resolve,
            afterSalesCasesCreated: value(.casesCreated),
            satisfactionResponses: responses,
            averageSatisfactionCenti: Int32(clamping: average)
        )
    }

    /// The best `limit` of `totals` by `metric`; ties by product id, then SKU id.
    static func ranking(
        _ totals: [RankedItem: [Int64]],
        names: [RankedItem: String],
        metric: TopSellingMetric,
        limit: Int,
        currency: String
    ) throws -> [TopSellingProduct] {
        func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: currency) }
        var entries: [TopSellingProduct] = []
        for (item, figures) in totals {
            let sold = figures[ProductFigure.unitsSold.rawValue]
            let refunded = figures[ProductFigure.unitsRefunded.rawValue]
            let gross = figures[ProductFigure.gross.rawValue]
            let refundedAmount = figures[ProductFigure.refunded.rawValue]
            entries.append(
                TopSellingProduct(
                    productID: item.productID,
                    skuID: item.skuID,
                    name: names[item] ?? "",
                    unitsSold: sold,
                    unitsRefunded: refunded,
                    netUnits: try subtract(sold, refunded, field: "net_units"),
                    grossRevenue: money(gross),
                    refundedAmount: money(refundedAmount),
                    netRevenue: money(try subtract(gross, refundedAmount, field: "net_revenue")),
                    orderCount: figures[ProductFigure.orders.rawValue]
                )
            )
        }
        let key: (TopSellingProduct) -> Int64 =
            metric == .units ? { $0.netUnits } : { $0.netRevenue?.minorUnits ?? 0 }
        entries.sort {
            let (left, right) = (key($0), key($1))
            if left != right { return left > right }
            if $0.productID != $1.productID { return $0.productID < $1.productID }
            return $0.skuID < $1.skuID
        }
        var ranked = Array(entries.prefix(limit))
        for index in ranked.indices { ranked[index].rank = Int32(index + 1) }
        return ranked
    }
}
