import O2OMessages
import O2OServiceKit
import O2OStorage

/// The statistics' read models. Table ids are part of every stored key: never reuse
/// one. Rebuilt from the records when lost, so nothing here is the only copy of
/// anything.
enum StatsTables {
    /// Sales per location ("" for the platform) and UTC day.
    static let sales = RecordTable<SalesQuarters>(
        id: 700,
        name: "stats_sales",
        noun: "sales figures",
        primaryKey: { [.string($0.locationID), .int($0.utcDay)] }
    )
    /// Products and SKUs per location, grouping (0 product, 1 SKU), UTC day and id:
    /// a ranking reads one run of days.
    static let products = RecordTable<ProductQuarters>(
        id: 701,
        name: "stats_products",
        noun: "product figures",
        primaryKey: {
            [
                .string($0.locationID), .int($0.skuID.isEmpty ? 0 : 1), .int($0.utcDay),
                .string($0.skuID.isEmpty ? $0.productID : $0.skuID),
            ]
        }
    )
    /// Tickets per UTC day.
    static let tickets = RecordTable<TicketQuarters>(
        id: 702,
        name: "stats_tickets",
        noun: "ticket figures",
        primaryKey: { [.int($0.utcDay)] }
    )
    /// How far the figures are: one record.
    static let progress = RecordTable<StatisticsProgress>(
        id: 703,
        name: "stats_progress",
        noun: "statistics progress",
        primaryKey: { .string($0.name) }
    )
    /// The newest history entry in the figures, per order, ticket and case.
    static let applied = RecordTable<StatisticsApplied>(
        id: 704,
        name: "stats_applied",
        noun: "applied statistics entry",
        primaryKey: { .string($0.subject) }
    )

    /// The newest name of each product and SKU ranked.
    static let names = RecordTable<StatisticsName>(
        id: 705,
        name: "stats_names",
        noun: "product name",
        primaryKey: { .string($0.key) }
    )

    static let progressName = "progress"

    static let keyspace: [KeyspaceEntry] =
        KeyspaceEntry.table(sales, owner: "stats") + KeyspaceEntry.table(products, owner: "stats")
        + KeyspaceEntry.table(tickets, owner: "stats") + KeyspaceEntry.table(progress, owner: "stats")
        + KeyspaceEntry.table(applied, owner: "stats") + KeyspaceEntry.table(names, owner: "stats")
}
