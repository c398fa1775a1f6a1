import O2OMessages
import O2OServiceKit
import O2OStorage

/// The figures of a range of days as the stored quarter hours give them.
struct StoredFigures<Reader: RecordReading> {
    let reader: Reader
    let range: DayRange

    /// The UTC days the range touches.
    private var utcDays: (first: Int64, last: Int64) {
        let quarters = range.startQuarters
        return (Quarters.day(quarters.first!), Quarters.day(quarters.last! - 1))
    }

    init(reader: Reader, range: DayRange) {
        self.reader = reader
        self.range = range
    }

    /// Adds each quarter-hour array of a stored UTC day to the days of the range it
    /// falls on.
    private func spread(
        _ utcDay: Int64,
        _ arrays: [[Int64]],
        into days: inout [[Int64]]
    ) throws {
        let quarters = range.startQuarters
        let dayStart = utcDay * Quarters.perDay
        // The first day of the range that ends after the stored day starts; at most
        // three days of the range overlap one stored day.
        var low = 0
        var high = days.count
        while low < high {
            let middle = (low + high) / 2
            if quarters[middle + 1] <= dayStart { low = middle + 1 } else { high = middle }
        }
        for index in low..<days.count {
            guard quarters[index] < dayStart + Quarters.perDay else { break }
            let from = max(quarters[index], dayStart)
            let to = min(quarters[index + 1], dayStart + Quarters.perDay)
            guard from < to else { continue }
            let slots = Int(from - dayStart)..<Int(to - dayStart)
            for (figure, values) in arrays.enumerated() where !values.isEmpty {
                days[index][figure] = try Checked.add(
                    days[index][figure],
                    try Quarters.sum(values, slots),
                    field: "statistics"
                )
            }
        }
    }

    /// Per day of the range, the sales figures (SalesFigure order) at `location` ("":
    /// the platform).
    func sales(location: String) async throws -> [[Int64]] {
        var days = range.days.map { _ in Array(repeating: Int64(0), count: SalesFigure.allCases.count) }
        let (first, last) = utcDays
        let records = try await reader.all(
            StatsTables.sales,
            RecordQuery(
                prefix: [.string(location)],
                lowerBound: [.int(first)],
                upperBound: [.int(last + 1)],
                pageSize: 500
            )
        )
        for record in records {
            try spread(record.utcDay, SalesFigure.allCases.map { record[keyPath: $0.path] }, into: &days)
        }
        return days
    }

    /// Per product or SKU sold or refunded in the range, its figures (ProductFigure
    /// order) over the range at `location` ("": the platform).
    func products(_ grouping: RankedItem.Grouping, location: String) async throws -> [RankedItem: [Int64]] {
        let (first, last) = utcDays
        var totals: [RankedItem: [Int64]] = [:]
        try await reader.forEachPage(
            StatsTables.products,
            RecordQuery(
                prefix: [.string(location), .int(grouping.rawValue)],
                lowerBound: [.int(first)],
                upperBound: [.int(last + 1)],
                pageSize: 500
            )
        ) { page in
            for record in page {
                var day = [Array(repeating: Int64(0), count: ProductFigure.allCases.count)]
                // The whole range as one day: only the edges cut a stored day.
                try StoredFigures(reader: reader, range: range.whole).spread(
                    record.utcDay,
                    ProductFigure.allCases.map { record[keyPath: $0.path] },
                    into: &day
                )
                let item = RankedItem(grouping: grouping, productID: record.productID, skuID: record.skuID)
                var sum = totals[item] ?? Array(repeating: 0, count: ProductFigure.allCases.count)
                for figure in sum.indices {
                    sum[figure] = try Checked.add(sum[figure], day[0][figure], field: "statistics")
                }
                totals[item] = sum
            }
        }
        return totals.filter { $0.value.contains { $0 != 0 } }
    }

    /// The names of `items`.
    func names(_ items: some Sequence<RankedItem>) async throws -> [RankedItem: String] {
        var names: [RankedItem: String] = [:]
        for item in items {
            names[item] = try await reader.get(StatsTables.names, .string(item.nameKey))?.name ?? ""
        }
        return names
    }

    /// Per day of the range, the ticket figures (TicketFigure order), and the tickets
    /// open at the end of each day given how many are open now.
    func tickets(openNow: Int64) async throws -> (days: [[Int64]], openAtEnd: [Int64]) {
        var days = range.days.map { _ in Array(repeating: Int64(0), count: TicketFigure.allCases.count) }
        let (first, _) = utcDays
        // Every stored day from the range on: the open count at the end of a day is
        // the count now less what changed since.
        let records = try await reader.all(StatsTables.tickets, RecordQuery(lowerBound: [.int(first)], pageSize: 500))
        var changes: [(quarter: Int64, value: Int64)] = []
        for record in records {
            try spread(record.utcDay, TicketFigure.allCases.map { record[keyPath: $0.path] }, into: &days)
            for (slot, value) in record.openChange.enumerated() where value != 0 {
                changes.append((record.utcDay * Quarters.perDay + Int64(slot), value))
            }
        }
        // changes is in quarter order: from the end, what changed at or after each.
        var after = Array(repeating: Int64(0), count: changes.count + 1)
        for index in changes.indices.reversed() {
            after[index] = try Checked.add(after[index + 1], changes[index].value, field: "open_tickets")
        }
        var openAtEnd: [Int64] = []
        var position = 0
        for end in range.startQuarters.dropFirst() {
            while position < changes.count, changes[position].quarter < end { position += 1 }
            openAtEnd.append(try StatsAnswers.subtract(openNow, after[position], field: "open_tickets"))
        }
        return (days, openAtEnd)
    }
}

extension DayRange {
    /// The range as a single day (for sums over all of it).
    var whole: DayRange { DayRange(zone: zone, days: [days[0]], starts: [starts.first!, starts.last!]) }
}
