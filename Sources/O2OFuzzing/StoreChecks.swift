import O2OMessages
import O2ORPC
import O2OServiceKit

/// The store's own consistency checks, run after fuzzing: whatever the requests did,
/// the server still serves, the stock and points ledgers agree with their balances,
/// every order's amounts add up, and the statistics equal their recount.
struct StoreChecks {
    let target: FuzzTarget

    func run(into report: inout FuzzReport) async {
        let clients = O2OServiceClients(transport: target.transport)
        await check("health", into: &report) {
            let health = try await HealthServiceClient(transport: target.transport).checkHealth(HealthCheckRequest())
            return health.status == .serving ? nil : "the server reports \(health.status)"
        }
        await check("stock ledger", into: &report) {
            let answer = try await clients.inventoryAdmin.checkStockLedger(CheckStockLedgerRequest(maxDiscrepancies: 5))
            if answer.discrepancyCount == 0 { return nil }
            return "\(answer.discrepancyCount) discrepancies, first \(answer.discrepancies.map { "\($0)" })"
        }
        await check("points ledger", into: &report) {
            let answer = try await clients.crmAdmin.checkPointsLedger(CheckPointsLedgerRequest(maxDiscrepancies: 5))
            if answer.discrepancyCount == 0 { return nil }
            return "\(answer.discrepancyCount) discrepancies, first \(answer.discrepancies.map { "\($0)" })"
        }
        await check("order amounts", into: &report) {
            var token = ""
            var problems: [String] = []
            repeat {
                let page = try await clients.order.listOrders(
                    ListOrdersRequest(page: PageRequest(pageSize: 100, pageToken: token))
                )
                for order in page.orders { problems += Self.amountProblems(order) }
                token = page.nextPageToken
            } while !token.isEmpty
            return problems.isEmpty ? nil : problems.prefix(5).joined(separator: "; ")
        }
        await check("statistics", into: &report) {
            try await target.platform.stats.catchUp()
            let now = target.clock.clock.now()
            let today = CalendarDates.date(of: now)
            let first = CalendarDates.date(of: Timestamp(seconds: now.seconds - 365 * 86_400))
            let answer = try await clients.statistics.verifyStatistics(
                VerifyStatisticsRequest(days: StatisticsDayRange(firstDay: first, lastDay: today))
            )
            return answer.consistent ? nil : answer.differences.prefix(5).joined(separator: "; ")
        }
    }

    private func check(
        _ name: String,
        into report: inout FuzzReport,
        _ body: () async throws -> String?
    ) async {
        report.checks.append(name)
        do {
            if let problem = try await body() { report.failedChecks.append("\(name): \(problem)") }
        } catch {
            report.failedChecks.append("\(name): \(error)")
        }
    }

    /// The sums OrderAmounts and OrderLine document, each one checked.
    static func amountProblems(_ order: Order) -> [String] {
        var problems: [String] = []
        func units(_ money: Money?) -> Int64 { money?.minorUnits ?? 0 }
        func sum(_ values: [Int64]) -> Int64? {
            var total: Int64 = 0
            for value in values {
                let (next, overflow) = total.addingReportingOverflow(value)
                if overflow { return nil }
                total = next
            }
            return total
        }
        let amounts = order.amounts
        let name = "order \(order.id)"
        for line in order.lines {
            let total = units(line.total)
            if total < 0 { problems.append("\(name) line \(line.lineID): negative total \(total)") }
            if units(line.subtotal) &- units(line.discountTotal) != total {
                problems.append("\(name) line \(line.lineID): subtotal - discount_total != total")
            }
            if units(line.refundedAmount) > total {
                problems.append("\(name) line \(line.lineID): refunded beyond its total")
            }
        }
        let discounts = sum([
            units(amounts?.timeLimitedDiscount), units(amounts?.memberDiscount), units(amounts?.spendAndSaveDiscount),
            units(amounts?.couponDiscount), units(amounts?.pointsDiscount),
        ])
        if discounts != units(amounts?.discountTotal) {
            problems.append("\(name): discount_total is not the sum of its steps")
        }
        guard let subtotals = sum(order.lines.map { units($0.subtotal) }),
            let lineTotals = sum(order.lines.map { units($0.total) })
        else {
            return problems + ["\(name): line sums overflow"]
        }
        if subtotals != units(amounts?.subtotal) { problems.append("\(name): subtotal is not the sum of the lines'") }
        if subtotals &- units(amounts?.discountTotal) != lineTotals {
            problems.append("\(name): subtotal - discount_total is not the sum of the line totals")
        }
        if lineTotals &+ units(amounts?.deliveryFee) != units(amounts?.payableTotal) {
            problems.append("\(name): payable_total is not line totals + delivery fee")
        }
        if units(amounts?.payableTotal) < 0 { problems.append("\(name): negative payable_total") }
        if units(amounts?.refundedAmount) > units(amounts?.paidAmount) {
            problems.append("\(name): refunded more than was paid")
        }
        return problems
    }
}
