import Logging
import O2OCare
import O2OInventory
public import O2OMessages
import O2OOrders
public import O2ORPC
import O2OServiceKit
import O2OStorage

/// Sales, top products and ticket figures per day (StatisticsService), answered
/// from the stored quarter-hour figures the projector keeps.
public final class StatisticsServiceProvider: StatisticsServiceProtocol {
    /// Older figures are brought up to date before a call answers, so no answer
    /// lags more than the documented 60 seconds even when the background job is
    /// behind.
    static let freshnessSeconds: Int64 = 30

    let store: ServiceStore
    let currency: String
    let projector: StatsProjector
    private let locations: any StockLocationReading

    init(
        store: ServiceStore,
        currency: String,
        projector: StatsProjector,
        locations: any StockLocationReading
    ) {
        self.store = store
        self.currency = currency
        self.projector = projector
        self.locations = locations
    }

    /// How far the figures are, after catching up when they are stale.
    private func freshProgress() async throws -> StatisticsProgress {
        let progress = try await store.latest.get(StatsTables.progress, .string(StatsTables.progressName))
        let limit = Timestamps.adding(seconds: -Self.freshnessSeconds, to: store.now())
        if let progress, Timestamps.nanos(progress.computedAt) >= Timestamps.nanos(limit) { return progress }
        return try await projector.catchUp()
    }

    private func location(_ id: String, field: String) async throws -> String {
        guard !id.isEmpty else { return "" }
        let id = try Validate.id(id, field: field)
        guard try await locations.location(id, in: store.latest) != nil else {
            throw RPCError(code: .notFound, message: "\(field): no location '\(id)'")
        }
        return id
    }

    public func getSalesStatistics(
        request: GetSalesStatisticsRequest,
        context: RPCServerContext
    ) async throws -> SalesStatistics {
        let range = try DayRange(request.days, field: "days")
        let channel = try Validate.known(request.channel, field: "channel", noun: "sales channel")
        if channel != .unspecified, !request.locationID.isEmpty {
            throw RPCError.invalidArgument(field: "channel", "cannot be combined with location_id")
        }
        var location = try await location(request.locationID, field: "location_id")
        if channel != .unspecified { location = OrderContributions.channelKey(channel.rawValue) }
        let progress = try await freshProgress()
        let key = location
        let days = try await store.read { reader in
            try await StoredFigures(reader: reader, range: range).sales(location: key)
        }
        return SalesStatistics(
            days: try zip(range.days, days).map { try StatsAnswers.salesBucket($1, day: $0, currency: currency) },
            totals: try StatsAnswers.salesBucket(
                try StatsAnswers.sum(days, width: SalesFigure.allCases.count),
                day: nil,
                currency: currency
            ),
            timeZone: range.zone,
            computedAt: progress.computedAt
        )
    }

    public func listTopSellingProducts(
        request: ListTopSellingProductsRequest,
        context: RPCServerContext
    ) async throws -> ListTopSellingProductsResponse {
        let range = try DayRange(request.days, field: "days")
        let metric = try Validate.known(request.metric, field: "metric", noun: "metric")
        let grouping: RankedItem.Grouping =
            try Validate.known(request.grouping, field: "grouping", noun: "grouping") == .sku ? .sku : .product
        guard (0...100).contains(request.limit) else {
            throw RPCError.invalidArgument(field: "limit", "must be 1 to 100 (0 means 10), got \(request.limit)")
        }
        let limit = request.limit == 0 ? 10 : Int(request.limit)
        let location = try await location(request.locationID, field: "location_id")
        let progress = try await freshProgress()
        let products = try await store.read { reader in
            let stored = StoredFigures(reader: reader, range: range)
            let totals = try await stored.products(grouping, location: location)
            let ranked = try StatsAnswers.ranking(totals, names: [:], metric: metric, limit: limit, currency: currency)
            let items = ranked.map { RankedItem(grouping: grouping, productID: $0.productID, skuID: $0.skuID) }
            let names = try await stored.names(items)
            return ranked.map { entry in
                var entry = entry
                entry.name = names[RankedItem(grouping: grouping, productID: entry.productID, skuID: entry.skuID)] ?? ""
                return entry
            }
        }
        return ListTopSellingProductsResponse(products: products, timeZone: range.zone, computedAt: progress.computedAt)
    }

    public func getTicketStatistics(
        request: GetTicketStatisticsRequest,
        context: RPCServerContext
    ) async throws -> TicketStatistics {
        let range = try DayRange(request.days, field: "days")
        _ = try await freshProgress()
        let (progress, days, open) = try await store.read { reader in
            let progress =
                try await reader.get(StatsTables.progress, .string(StatsTables.progressName))
                ?? StatisticsProgress(name: StatsTables.progressName)
            let (days, open) = try await StoredFigures(reader: reader, range: range).tickets(
                openNow: progress.openTickets
            )
            return (progress, days, open)
        }
        return TicketStatistics(
            days: try range.days.indices.map {
                try StatsAnswers.ticketBucket(days[$0], open: open[$0], day: range.days[$0])
            },
            totals: try StatsAnswers.ticketBucket(
                try StatsAnswers.sum(days, width: TicketFigure.allCases.count),
                open: open.last ?? 0,
                day: nil
            ),
            timeZone: range.zone,
            computedAt: progress.computedAt
        )
    }

    /// Most differences one check reports.
    static let maximumDifferences = 100

    public func verifyStatistics(
        request: VerifyStatisticsRequest,
        context: RPCServerContext
    ) async throws -> VerifyStatisticsResponse {
        if let principal = context.principal, principal.role < .admin {
            throw RPCError(code: .permissionDenied, message: "VerifyStatistics needs the admin role")
        }
        let range = try DayRange(request.days, field: "days")
        if request.repair { try await projector.rebuild() }
        var response = VerifyStatisticsResponse()
        for _ in 1...3 {
            try await projector.catchUp()
            response = try await store.read { reader in try await check(range, in: reader) }
            if response.consistent { break }
        }
        response.repaired = request.repair
        return response
    }

    /// The stored figures of `range` against the figures recounted from the records,
    /// in one snapshot.
    private func check(_ range: DayRange, in reader: RecordSnapshotReader) async throws -> VerifyStatisticsResponse {
        var recount = Recount(range: range)
        let outcome = try await RecordWalk(orders: projector.orders, care: projector.care).walk(
            into: &recount,
            in: reader
        )
        let stored = StoredFigures(reader: reader, range: range)
        let progress =
            try await reader.get(StatsTables.progress, .string(StatsTables.progressName))
            ?? StatisticsProgress(name: StatsTables.progressName)
        var differences = Differences()
        // Sales of the platform, each channel and each location; products of the
        // platform and each location.
        let locations = outcome.locations.sorted()
        for location in [""] + OrderContributions.channels + locations {
            let label = location.isEmpty ? "@platform" : location.hasPrefix("@") ? location : "@" + location
            let kept = try await stored.sales(location: location)
            let recounted = recount.sales(at: location)
            for (index, day) in range.days.enumerated() {
                for figure in SalesFigure.allCases {
                    differences.compare(
                        kept[index][figure.rawValue],
                        recounted[index][figure.rawValue],
                        "\(day.text) sales\(label) \(figure.name)"
                    )
                }
            }
        }
        for location in [""] + locations {
            let label = location.isEmpty ? "platform" : location
            for grouping in [RankedItem.Grouping.product, .sku] {
                let kept = try await stored.products(grouping, location: location)
                let recounted = (recount.products[location] ?? [:]).filter {
                    $0.key.grouping == grouping && $0.value.contains { $0 != 0 }
                }
                for item in Set(kept.keys).union(recounted.keys).sorted(by: { $0.id < $1.id }) {
                    for figure in ProductFigure.allCases {
                        differences.compare(
                            kept[item]?[figure.rawValue] ?? 0,
                            recounted[item]?[figure.rawValue] ?? 0,
                            "\(range.days[0].text)..\(range.days.last!.text) \(grouping == .sku ? "sku" : "product") "
                                + "\(item.id)@\(label) \(figure.name)"
                        )
                    }
                }
            }
        }
        for status in Set(progress.ordersByStatus.keys).union(outcome.ordersByStatus.keys).sorted() {
            differences.compare(
                progress.ordersByStatus[status] ?? 0,
                outcome.ordersByStatus[status] ?? 0,
                "orders \(OrderStatus(rawValue: status).displayName) now"
            )
        }
        differences.compare(progress.openTickets, outcome.openTickets, "tickets open now")
        differences.compare(progress.slaBreaches, outcome.breaches, "SLA breaches recorded")
        for (key, named) in recount.names.sorted(by: { $0.key < $1.key }) {
            let kept = try await reader.get(StatsTables.names, .string(key))?.name ?? ""
            differences.compare(kept, named.name, "name of \(key)")
        }
        let (ticketDays, open) = try await stored.tickets(openNow: progress.openTickets)
        let recountedOpen = try recount.openAtEnd()
        for (index, day) in range.days.enumerated() {
            for figure in TicketFigure.allCases {
                differences.compare(
                    ticketDays[index][figure.rawValue],
                    recount.tickets[index][figure.rawValue],
                    "\(day.text) tickets \(figure)"
                )
            }
            differences.compare(open[index], recountedOpen[index], "\(day.text) tickets open_at_end")
        }
        return VerifyStatisticsResponse(
            consistent: differences.found.isEmpty,
            differences: Array(differences.found.prefix(Self.maximumDifferences)),
            ordersChecked: Int64(outcome.ordersRead),
            ticketsChecked: Int64(outcome.ticketsRead),
            figuresCompared: Int64(differences.compared),
            computedAt: progress.computedAt
        )
    }
}

/// The differences a check found.
private struct Differences {
    var found: [String] = []
    var compared = 0

    mutating func compare<Value: Equatable>(_ kept: Value, _ recounted: Value, _ what: String) {
        compared += 1
        if kept != recounted, found.count <= StatisticsServiceProvider.maximumDifferences {
            found.append("\(what): \(kept), recomputed \(recounted)")
        }
    }
}

extension CalendarDate {
    /// "2026-11-03".
    var text: String {
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))"
    }
}
