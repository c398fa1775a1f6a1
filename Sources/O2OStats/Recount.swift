import O2OMessages
import O2OServiceKit

/// The figures of a range of days counted straight into calendar days, from the
/// records: what the stored quarter hours must add up to.
struct Recount: FigureSink {
    let range: DayRange
    private(set) var sales: [String: [[Int64]]] = [:]
    private(set) var products: [String: [RankedItem: [Int64]]] = [:]
    private(set) var names: [String: NamedAt] = [:]
    private(set) var tickets: [[Int64]]
    /// Per day, the change of the open tickets up to its end (before the prefix sum).
    private var openSteps: [Int64]

    init(range: DayRange) {
        self.range = range
        tickets = range.days.map { _ in Array(repeating: 0, count: TicketFigure.allCases.count) }
        openSteps = Array(repeating: 0, count: range.days.count)
    }

    private var emptySales: [[Int64]] {
        range.days.map { _ in Array(repeating: 0, count: SalesFigure.allCases.count) }
    }

    mutating func add(_ figure: SalesFigure, _ value: Int64, location: String, at nanos: Int64) throws {
        if sales[location] == nil { sales[location] = emptySales }
        guard let day = range.day(of: nanos) else { return }
        sales[location]![day][figure.rawValue] = try Checked.add(
            sales[location]![day][figure.rawValue],
            value,
            field: figure.name
        )
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
        guard range.day(of: nanos) != nil else { return }
        var sum = products[location, default: [:]][item] ?? Array(repeating: 0, count: ProductFigure.allCases.count)
        sum[figure.rawValue] = try Checked.add(sum[figure.rawValue], value, field: figure.name)
        products[location, default: [:]][item] = sum
    }

    mutating func name(_ item: RankedItem, _ name: String, at nanos: Int64) {
        let named = NamedAt(name: name, nanos: nanos)
        if let known = names[item.nameKey], !known.isOlder(than: named) { return }
        names[item.nameKey] = named
    }

    mutating func add(_ figure: TicketFigure, _ value: Int64, at nanos: Int64) throws {
        if figure == .openChange {
            // It counts at the end of every day that ends after it.
            guard let end = range.starts.last, nanos < end else { return }
            let day = range.day(of: nanos) ?? 0
            openSteps[day] = try Checked.add(openSteps[day], value, field: "open_tickets")
        }
        guard let day = range.day(of: nanos) else { return }
        tickets[day][figure.rawValue] = try Checked.add(tickets[day][figure.rawValue], value, field: "\(figure)")
    }

    /// The tickets open at the end of each day.
    func openAtEnd() throws -> [Int64] {
        var open: Int64 = 0
        return try openSteps.map { step in
            open = try Checked.add(open, step, field: "open_tickets")
            return open
        }
    }

    /// The figures of `location` (every day zero when nothing happened there).
    func sales(at location: String) -> [[Int64]] { sales[location] ?? emptySales }
}
