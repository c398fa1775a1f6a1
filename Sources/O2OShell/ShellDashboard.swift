import O2OClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What `dashboard` shows: the shop on one screen, from the statistics, the
/// inventory's low stock and the tickets.
struct DashboardFigures: Sendable {
    /// The days in Asia/Shanghai (the statistics' default zone), oldest first; the
    /// last is today.
    var days: [DailySalesBucket]
    var timeZone: String
    var computedAt: Timestamp?
    var top: [TopSellingProduct]
    var tickets: [DailyTicketBucket]
    var ticketTotals: DailyTicketBucket
    /// Per open location, its levels below their reorder threshold (at most `lowStockShown + 1` read).
    var lowStock: [(location: StockLocation, levels: [StockLevel])]

    static let dayCount = 14
    static let topCount = 5
    static let lowStockPage: Int32 = 100

    var today: DailySalesBucket { days.last ?? DailySalesBucket() }
    var yesterday: DailySalesBucket { days.count > 1 ? days[days.count - 2] : DailySalesBucket() }
}

extension ShellRunner {
    /// Today's date in Asia/Shanghai (UTC+8 all year since 1991).
    static func shanghaiToday() -> CalendarDate {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let days = (Int64(now.tv_sec) + 8 * 3_600) / 86_400
        return civilDate(days)
    }

    /// The date `days` days after 1970-01-01 (days ≥ 0).
    static func civilDate(_ days: Int64) -> CalendarDate {
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return CalendarDate(year: Int32(year), month: Int32(month), day: Int32(day))
    }

    static func dayNumber(_ date: CalendarDate) -> Int64 {
        let y = Int64(date.year) - (date.month <= 2 ? 1 : 0)
        let era = y / 400
        let yoe = y - era * 400
        let month = Int64(date.month)
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + Int64(date.day) - 1
        return era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }

    func dashboardFigures() async throws -> DashboardFigures {
        let today = Self.shanghaiToday()
        let first = Self.civilDate(Self.dayNumber(today) - Int64(DashboardFigures.dayCount - 1))
        let weekStart = Self.civilDate(Self.dayNumber(today) - 6)
        let statistics = StatisticsServiceClient(transport: session.transport)
        let days = StatisticsDayRange(firstDay: first, lastDay: today)
        let sales = try await statistics.getSalesStatistics(GetSalesStatisticsRequest(days: days))
        let top = try await statistics.listTopSellingProducts(
            ListTopSellingProductsRequest(
                days: StatisticsDayRange(firstDay: weekStart, lastDay: today),
                limit: Int32(DashboardFigures.topCount)
            )
        )
        let tickets = try await statistics.getTicketStatistics(GetTicketStatisticsRequest(days: days))
        let inventory = InventoryServiceClient(transport: session.transport)
        let locations = try await inventory.listStockLocations(
            ListStockLocationsRequest(page: PageRequest(pageSize: 200), status: .open)
        ).stockLocations
        var lowStock: [(StockLocation, [StockLevel])] = []
        for location in locations {
            let levels = try await inventory.listStockLevels(
                ListStockLevelsRequest(
                    page: PageRequest(pageSize: DashboardFigures.lowStockPage),
                    locationID: location.id,
                    belowReorderThresholdOnly: true
                )
            ).stockLevels
            if !levels.isEmpty { lowStock.append((location, levels)) }
        }
        return DashboardFigures(
            days: sales.days,
            timeZone: sales.timeZone,
            computedAt: sales.computedAt,
            top: top.products,
            tickets: tickets.days,
            ticketTotals: tickets.totals ?? DailyTicketBucket(),
            lowStock: lowStock
        )
    }

    func dashboard(_ command: ShellCommand, _ output: ShellOutput) async throws {
        let machine = output.compactJSON || output.format == .json
        while true {
            let figures = try await dashboardFigures()
            if machine {
                io.write(output.render(Self.dashboardJSON(figures)))
            } else {
                if command.watch != nil, output.color { io.write("\u{1B}[H\u{1B}[2J") }
                io.write(Self.dashboardText(figures, output).joined(separator: "\n"))
            }
            guard let interval = command.watch else { return }
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    // MARK: - Text

    /// "¥1,234.50" for CNY, "1,234.50 USD" otherwise.
    static func money(_ value: Money?) -> String {
        guard let value else { return "-" }
        let minor = value.minorUnits
        let magnitude = minor.magnitude
        let whole = String(magnitude / 100)
        var grouped = ""
        for (index, character) in whole.enumerated() {
            if index > 0, (whole.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        let cents = magnitude % 100
        let text = (minor < 0 ? "-" : "") + grouped + "." + (cents < 10 ? "0" : "") + String(cents)
        return value.currency == "CNY" ? "¥" + text : text + " " + value.currency
    }

    /// "+12%", "-3%", "new" when yesterday had none, "" when both are zero.
    static func change(_ today: Int64, _ yesterday: Int64) -> String {
        if yesterday == 0 { return today == 0 ? "" : "new" }
        let percent = (Double(today) - Double(yesterday)) / Double(yesterday) * 100
        let rounded = Int(max(-1e9, min(1e9, percent)).rounded())
        return rounded > 0 ? "+\(rounded)%" : "\(rounded)%"
    }

    /// One bar per value, the highest full.
    static func sparkline(_ values: [Int64]) -> String {
        let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        let top = max(values.max() ?? 0, 1)
        return String(
            values.map { value in
                value <= 0 ? " " : bars[min(bars.count - 1, Int(Double(value) / Double(top) * Double(bars.count - 1)))]
            }
        )
    }

    static func dateText(_ date: CalendarDate?) -> String {
        guard let date else { return "-" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(date.year)-\(two(date.month))-\(two(date.day))"
    }

    static func dashboardText(_ figures: DashboardFigures, _ output: ShellOutput) -> [String] {
        let today = figures.today
        let yesterday = figures.yesterday
        var lines: [String] = []
        let asOf = figures.computedAt.map { time -> String in
            let shifted = time.seconds.addingReportingOverflow(8 * 3_600).partialValue % 86_400
            let seconds = shifted < 0 ? shifted + 86_400 : shifted
            func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
            return "\(two(seconds / 3_600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
        }
        lines.append(
            output.bold("O2O shop · \(dateText(today.day)) (\(figures.timeZone))")
                + (asOf.map { output.dim(" · figures as of \($0)") } ?? "")
        )
        lines.append("")
        let rows: [[String]] = [
            [
                "orders placed", String(today.ordersPlaced), String(yesterday.ordersPlaced),
                change(today.ordersPlaced, yesterday.ordersPlaced),
            ],
            [
                "orders paid", String(today.ordersPaid), String(yesterday.ordersPaid),
                change(today.ordersPaid, yesterday.ordersPaid),
            ],
            [
                "gross sales", money(today.grossSales), money(yesterday.grossSales),
                change(today.grossSales?.minorUnits ?? 0, yesterday.grossSales?.minorUnits ?? 0),
            ],
            [
                "refunds", money(today.refundTotal), money(yesterday.refundTotal),
                change(today.refundTotal?.minorUnits ?? 0, yesterday.refundTotal?.minorUnits ?? 0),
            ],
            [
                "net sales", money(today.netSales), money(yesterday.netSales),
                change(today.netSales?.minorUnits ?? 0, yesterday.netSales?.minorUnits ?? 0),
            ],
            [
                "average order", money(today.averageOrderValue), money(yesterday.averageOrderValue),
                change(today.averageOrderValue?.minorUnits ?? 0, yesterday.averageOrderValue?.minorUnits ?? 0),
            ],
        ]
        lines += output.table(header: ["", "today", "yesterday", "change"], rows: rows)
        lines.append("")
        let gross = figures.days.map { $0.grossSales?.minorUnits ?? 0 }
        let best = figures.days.max { ($0.grossSales?.minorUnits ?? 0) < ($1.grossSales?.minorUnits ?? 0) }
        lines.append(
            "gross sales, last \(figures.days.count) days  \(sparkline(gross))  "
                + output.dim(
                    "\(dateText(figures.days.first?.day)) … today; best \(money(best?.grossSales)) on \(dateText(best?.day))"
                )
        )
        lines.append(
            "orders paid, last \(figures.days.count) days  \(sparkline(figures.days.map(\.ordersPaid)))  "
                + output.dim("\(figures.days.map(\.ordersPaid).reduce(0, &+)) in all")
        )
        lines.append("")
        if figures.top.isEmpty {
            lines.append("top products, last 7 days: nothing sold")
        } else {
            lines.append("top products, last 7 days (net revenue)")
            lines += output.table(
                header: ["#", "product", "units", "orders", "net revenue"],
                rows: figures.top.map {
                    [String($0.rank), $0.name, String($0.netUnits), String($0.orderCount), money($0.netRevenue)]
                }
            )
        }
        lines.append("")
        let todayTickets = figures.tickets.last ?? DailyTicketBucket()
        let satisfaction =
            figures.ticketTotals.satisfactionResponses > 0
            ? " · satisfaction \(Double(figures.ticketTotals.averageSatisfactionCenti) / 100) of 5" : ""
        lines.append(
            "tickets  \(figures.ticketTotals.openTicketsAtEnd) open · \(todayTickets.ticketsCreated) new today · "
                + "SLA breaches: \(todayTickets.slaBreaches) today, \(figures.ticketTotals.slaBreaches) in "
                + "\(figures.tickets.count) days\(satisfaction)"
        )
        let lowCount = figures.lowStock.map(\.levels.count).reduce(0, &+)
        if lowCount == 0 {
            lines.append("low stock  nothing below its reorder threshold")
        } else {
            let full = figures.lowStock.contains { $0.levels.count >= Int(DashboardFigures.lowStockPage) }
            let worst = figures.lowStock.sorted { $0.levels.count > $1.levels.count }.prefix(4)
            lines.append(
                "low stock  \(lowCount)\(full ? "+" : "") SKUs below their reorder threshold: "
                    + worst.map {
                        "\($0.location.code) \($0.levels.count)\($0.levels.count >= Int(DashboardFigures.lowStockPage) ? "+" : "")"
                    }
                    .joined(separator: ", ")
                    + (figures.lowStock.count > worst.count ? ", …" : "")
            )
        }
        return lines
    }

    // MARK: - JSON

    static func dashboardJSON(_ figures: DashboardFigures) -> O2OJSONValue {
        func number(_ value: Int64) -> O2OJSONValue { .number(String(value)) }
        func money(_ value: Money?) -> O2OJSONValue { number(value?.minorUnits ?? 0) }
        func sales(_ day: DailySalesBucket) -> O2OJSONValue {
            .object([
                .init(key: "day", value: .string(dateText(day.day))),
                .init(key: "ordersPlaced", value: number(day.ordersPlaced)),
                .init(key: "ordersPaid", value: number(day.ordersPaid)),
                .init(key: "grossSalesMinor", value: money(day.grossSales)),
                .init(key: "refundTotalMinor", value: money(day.refundTotal)),
                .init(key: "netSalesMinor", value: money(day.netSales)),
                .init(key: "averageOrderValueMinor", value: money(day.averageOrderValue)),
            ])
        }
        let todayTickets = figures.tickets.last ?? DailyTicketBucket()
        return .object([
            .init(key: "timeZone", value: .string(figures.timeZone)),
            .init(key: "currency", value: .string(figures.today.grossSales?.currency ?? "")),
            .init(key: "today", value: sales(figures.today)),
            .init(key: "yesterday", value: sales(figures.yesterday)),
            .init(key: "days", value: .array(figures.days.map(sales))),
            .init(
                key: "topProducts",
                value: .array(
                    figures.top.map {
                        .object([
                            .init(key: "rank", value: number(Int64($0.rank))),
                            .init(key: "productId", value: .string($0.productID)),
                            .init(key: "name", value: .string($0.name)),
                            .init(key: "netUnits", value: number($0.netUnits)),
                            .init(key: "orderCount", value: number($0.orderCount)),
                            .init(key: "netRevenueMinor", value: money($0.netRevenue)),
                        ])
                    }
                )
            ),
            .init(
                key: "tickets",
                value: .object([
                    .init(key: "open", value: number(figures.ticketTotals.openTicketsAtEnd)),
                    .init(key: "createdToday", value: number(todayTickets.ticketsCreated)),
                    .init(key: "slaBreachesToday", value: number(todayTickets.slaBreaches)),
                    .init(key: "slaBreaches14Days", value: number(figures.ticketTotals.slaBreaches)),
                    .init(
                        key: "averageSatisfactionCenti",
                        value: number(Int64(figures.ticketTotals.averageSatisfactionCenti))
                    ),
                ])
            ),
            .init(
                key: "lowStock",
                value: .array(
                    figures.lowStock.map { entry in
                        .object([
                            .init(key: "locationId", value: .string(entry.location.id)),
                            .init(key: "locationCode", value: .string(entry.location.code)),
                            .init(key: "belowThreshold", value: number(Int64(entry.levels.count))),
                            .init(key: "more", value: .bool(entry.levels.count >= Int(DashboardFigures.lowStockPage))),
                        ])
                    }
                )
            ),
            .init(
                key: "computedAt",
                value: figures.computedAt.flatMap { try? O2OJSONValue(parsing: $0.jsonString()) } ?? .null
            ),
        ])
    }
}
