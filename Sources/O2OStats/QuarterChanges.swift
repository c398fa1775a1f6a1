import O2OMessages
import O2OServiceKit
import O2OStorage

/// Figures gathered in memory as quarter-hour records, then added to the stored
/// ones in one transaction: a batch of events (or a whole rebuild) reads and writes
/// each record it touches once.
struct QuarterChanges: FigureSink {
    private struct SalesKey: Hashable {
        var location: String
        var day: Int64
    }

    private struct ProductKey: Hashable {
        var location: String
        var item: RankedItem
        var day: Int64
    }

    private var sales: [SalesKey: SalesQuarters] = [:]
    private var products: [ProductKey: ProductQuarters] = [:]
    private var tickets: [Int64: TicketQuarters] = [:]
    private var names: [String: NamedAt] = [:]
    /// The change of the number of open tickets.
    private(set) var openChange: Int64 = 0

    var isEmpty: Bool { sales.isEmpty && products.isEmpty && tickets.isEmpty && names.isEmpty }

    mutating func add(_ figure: SalesFigure, _ value: Int64, location: String, at nanos: Int64) throws {
        guard value != 0 else { return }
        let quarter = Quarters.of(nanos)
        let key = SalesKey(location: location, day: Quarters.day(quarter))
        var record = sales[key] ?? SalesQuarters(locationID: location, utcDay: key.day)
        try Quarters.add(value, at: Quarters.slot(quarter), to: &record[keyPath: figure.path], field: figure.name)
        sales[key] = record
    }

    mutating func add(
        _ figure: ProductFigure,
        _ value: Int64,
        item: RankedItem,
        location: String,
        at nanos: Int64
    )
        throws
    {
        guard value != 0 else { return }
        let quarter = Quarters.of(nanos)
        let key = ProductKey(location: location, item: item, day: Quarters.day(quarter))
        var record =
            products[key]
            ?? ProductQuarters(locationID: location, utcDay: key.day, productID: item.productID, skuID: item.skuID)
        try Quarters.add(value, at: Quarters.slot(quarter), to: &record[keyPath: figure.path], field: figure.name)
        products[key] = record
    }

    mutating func name(_ item: RankedItem, _ name: String, at nanos: Int64) {
        let named = NamedAt(name: name, nanos: nanos)
        if let known = names[item.nameKey], !known.isOlder(than: named) { return }
        names[item.nameKey] = named
    }

    mutating func add(_ figure: TicketFigure, _ value: Int64, at nanos: Int64) throws {
        guard value != 0 else { return }
        let quarter = Quarters.of(nanos)
        let day = Quarters.day(quarter)
        var record = tickets[day] ?? TicketQuarters(utcDay: day)
        try Quarters.add(value, at: Quarters.slot(quarter), to: &record[keyPath: figure.path], field: "\(figure)")
        tickets[day] = record
        if figure == .openChange { openChange = try Checked.add(openChange, value, field: "open_tickets") }
    }

    /// Adds everything gathered to the stored records.
    func write(in transaction: ServiceTransaction) async throws {
        for var record in sales.values {
            if let stored = try await transaction.get(StatsTables.sales, StatsTables.sales.primaryKey(record)) {
                for figure in SalesFigure.allCases {
                    try Quarters.add(
                        stored[keyPath: figure.path],
                        to: &record[keyPath: figure.path],
                        field: figure.name
                    )
                }
            }
            try await transaction.save(StatsTables.sales, record)
        }
        for var record in products.values {
            if let stored = try await transaction.get(StatsTables.products, StatsTables.products.primaryKey(record)) {
                for figure in ProductFigure.allCases {
                    try Quarters.add(
                        stored[keyPath: figure.path],
                        to: &record[keyPath: figure.path],
                        field: figure.name
                    )
                }
            }
            try await transaction.save(StatsTables.products, record)
        }
        for var record in tickets.values {
            if let stored = try await transaction.get(StatsTables.tickets, StatsTables.tickets.primaryKey(record)) {
                for figure in TicketFigure.allCases {
                    try Quarters.add(
                        stored[keyPath: figure.path],
                        to: &record[keyPath: figure.path],
                        field: "\(figure)"
                    )
                }
            }
            try await transaction.save(StatsTables.tickets, record)
        }
        for (key, named) in names {
            if let stored = try await transaction.get(StatsTables.names, .string(key)),
                !NamedAt(name: stored.name, nanos: stored.namedAtNanos).isOlder(than: named)
            {
                continue
            }
            try await transaction.save(
                StatsTables.names,
                StatisticsName(key: key, name: named.name, namedAtNanos: named.nanos)
            )
        }
    }
}
