import O2OMessages
import O2ORPC
import O2OServiceKit

/// The figures' unit of time: a quarter hour. Every time zone's days start on one
/// (offsets are whole quarter hours), so figures kept per UTC quarter hour answer
/// for a calendar day in any zone.
enum Quarters {
    static let nanos: Int64 = 900_000_000_000
    static let perDay: Int64 = 96

    /// The quarter hour that holds `nanos` (since 1970).
    static func of(_ nanos: Int64) -> Int64 { floorDivide(nanos, Self.nanos) }

    /// The UTC day (days since 1970) of a quarter hour, and its slot in the day.
    static func day(_ quarter: Int64) -> Int64 { floorDivide(quarter, perDay) }
    static func slot(_ quarter: Int64) -> Int { Int(quarter - day(quarter) * perDay) }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    /// Adds `value` at `slot` of a per-quarter array (empty means all zero).
    /// A stored array is empty or has a value per quarter hour; anything else is a
    /// damaged record, refused rather than read past its end.
    static func check(_ values: [Int64], field: String) throws {
        guard values.isEmpty || values.count == Int(perDay) else {
            throw RPCError(
                code: .dataLoss,
                message:
                    "statistics: a stored \(field) has \(values.count) quarter hours, not \(perDay); VerifyStatistics with repair rebuilds it"
            )
        }
    }

    static func add(_ value: Int64, at slot: Int, to values: inout [Int64], field: String) throws {
        guard value != 0 else { return }
        try check(values, field: field)
        if values.isEmpty { values = Array(repeating: 0, count: Int(perDay)) }
        values[slot] = try Checked.add(values[slot], value, field: field)
    }

    /// Adds `other` to `values` slot by slot.
    static func add(_ other: [Int64], to values: inout [Int64], field: String) throws {
        try check(other, field: field)
        try check(values, field: field)
        guard !other.isEmpty else { return }
        if values.isEmpty {
            values = other
            return
        }
        for slot in values.indices { values[slot] = try Checked.add(values[slot], other[slot], field: field) }
    }

    /// The sum of `values` over slots `range` (within 0..<96).
    static func sum(_ values: [Int64], _ range: Range<Int>) throws -> Int64 {
        guard !values.isEmpty, !range.isEmpty else { return 0 }
        try check(values, field: "figure")
        // A plain loop: every answer sums thousands of slots.
        var total: Int64 = 0
        var overflow = false
        for slot in range {
            let (sum, carry) = total.addingReportingOverflow(values[slot])
            total = sum
            overflow = overflow || carry
        }
        guard !overflow else { throw RPCError(code: .internalError, message: "statistics: a sum is out of range") }
        return total
    }
}

/// A sales figure: a field of DailySalesBucket and of the stored SalesQuarters.
enum SalesFigure: Int, CaseIterable {
    case placed, paid, cancelled, completed, refunded, unitsSold, unitsRefunded, gross, discount, refund

    var path: WritableKeyPath<SalesQuarters, [Int64]> {
        switch self {
        case .placed: \.ordersPlaced
        case .paid: \.ordersPaid
        case .cancelled: \.ordersCancelled
        case .completed: \.ordersCompleted
        case .refunded: \.ordersRefunded
        case .unitsSold: \.unitsSold
        case .unitsRefunded: \.unitsRefunded
        case .gross: \.grossSales
        case .discount: \.discountTotal
        case .refund: \.refundTotal
        }
    }

    var name: String {
        switch self {
        case .placed: "orders_placed"
        case .paid: "orders_paid"
        case .cancelled: "orders_cancelled"
        case .completed: "orders_completed"
        case .refunded: "orders_refunded"
        case .unitsSold: "units_sold"
        case .unitsRefunded: "units_refunded"
        case .gross: "gross_sales"
        case .discount: "discount_total"
        case .refund: "refund_total"
        }
    }
}

/// A product figure: a field of TopSellingProduct and of the stored ProductQuarters.
enum ProductFigure: Int, CaseIterable {
    case unitsSold, unitsRefunded, gross, refunded, orders

    var path: WritableKeyPath<ProductQuarters, [Int64]> {
        switch self {
        case .unitsSold: \.unitsSold
        case .unitsRefunded: \.unitsRefunded
        case .gross: \.grossRevenue
        case .refunded: \.refundedAmount
        case .orders: \.orderCount
        }
    }

    var name: String {
        switch self {
        case .unitsSold: "units_sold"
        case .unitsRefunded: "units_refunded"
        case .gross: "gross_revenue"
        case .refunded: "refunded_amount"
        case .orders: "order_count"
        }
    }
}

/// A ticket figure: a field of DailyTicketBucket (or what one is computed from) and
/// of the stored TicketQuarters.
enum TicketFigure: Int, CaseIterable {
    case created, resolved, closed, reopened, openChange, acknowledgeBreaches, resolveBreaches, casesCreated
    case responses, scoreTotal

    var path: WritableKeyPath<TicketQuarters, [Int64]> {
        switch self {
        case .created: \.ticketsCreated
        case .resolved: \.ticketsResolved
        case .closed: \.ticketsClosed
        case .reopened: \.ticketsReopened
        case .openChange: \.openChange
        case .acknowledgeBreaches: \.acknowledgeBreaches
        case .resolveBreaches: \.resolveBreaches
        case .casesCreated: \.afterSalesCasesCreated
        case .responses: \.satisfactionResponses
        case .scoreTotal: \.satisfactionTotal
        }
    }
}

/// One product or one SKU: what a ranking entry stands for.
struct RankedItem: Hashable, Sendable {
    enum Grouping: Int64, Sendable {
        case product = 0
        case sku = 1
    }

    var grouping: Grouping
    var productID: String
    /// Empty for a product.
    var skuID: String

    var id: String { grouping == .product ? productID : skuID }
    /// The key of its name record.
    var nameKey: String { (grouping == .product ? "p" : "s") + id }

    static func product(_ line: OrderLine) -> RankedItem {
        RankedItem(grouping: .product, productID: line.productID, skuID: "")
    }
    static func sku(_ line: OrderLine) -> RankedItem {
        RankedItem(grouping: .sku, productID: line.productID, skuID: line.skuID)
    }
}

/// Where figures go: the stored quarter hours (kept up to date, or rebuilt), or the
/// days of a range (recomputed from the records, to check the stored ones).
protocol FigureSink {
    mutating func add(_ figure: SalesFigure, _ value: Int64, location: String, at nanos: Int64) throws
    mutating func add(
        _ figure: ProductFigure,
        _ value: Int64,
        item: RankedItem,
        location: String,
        at nanos: Int64
    )
        throws
    /// The item's name in an order line sold or refunded at `nanos`.
    mutating func name(_ item: RankedItem, _ name: String, at nanos: Int64)
    mutating func add(_ figure: TicketFigure, _ value: Int64, at nanos: Int64) throws
}

/// The newest name wins; at the same instant, the greater string (any fixed rule
/// does, so the kept and the recomputed figures agree).
struct NamedAt: Sendable, Equatable {
    var name: String
    var nanos: Int64

    func isOlder(than other: NamedAt) -> Bool {
        nanos != other.nanos ? nanos < other.nanos : name < other.name
    }
}
