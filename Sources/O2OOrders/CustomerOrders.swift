import O2OCRM
import O2OMessages
import O2OServiceKit
import O2OStorage

/// A customer's order figures for the CRM's 360 view, read from the orders.
struct CustomerOrders: CustomerOrderSource {
    /// Most orders of one customer the figures read (a shop's heaviest buyers have
    /// hundreds; the view is a summary, not a report).
    static let maximumOrders = 10_000

    let store: ServiceStore

    func figures(customerID: String, recentLimit: Int) async throws -> CustomerOrderFigures {
        let orders = try await store.read { reader in
            try await reader.all(
                OrderTables.orders,
                RecordQuery(
                    index: OrderTables.orderCustomer,
                    prefix: [.string(customerID)],
                    direction: .reverse,
                    pageSize: 500
                ),
                limit: Self.maximumOrders
            )
        }
        var figures = CustomerOrderFigures()
        figures.orderCount = Int64(orders.count)
        figures.recentOrderIDs = orders.prefix(max(0, recentLimit)).map(\.id)
        figures.lastOrderAt = orders.first?.createdAt
        for order in orders {
            let paid = order.amounts?.paidAmount?.minorUnits ?? 0
            if paid > 0 { figures.paidOrderCount += 1 }
            let (net, overflow) = figures.totalSpend.addingReportingOverflow(
                paid - (order.amounts?.refundedAmount?.minorUnits ?? 0)
            )
            figures.totalSpend = overflow ? .max : net
            switch order.status {
            case .pendingPayment, .paid, .fulfilling, .shipped, .readyForPickup, .delivered, .refunding:
                figures.openOrderCount += 1
            default:
                break
            }
        }
        return figures
    }
}
