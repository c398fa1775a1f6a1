public import O2OMessages
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension OrderServiceProvider {
    public func listOrderHistory(
        request: ListOrderHistoryRequest,
        context: RPCServerContext
    ) async throws -> ListOrderHistoryResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let orderID = try Validate.id(request.orderID, field: "order_id")
        try Validate.known(request.kinds, field: "kinds", noun: "history kind")
        let kinds = Set(request.kinds)
        var predicate: (@Sendable (OrderHistoryEntry) -> Bool)?
        if !kinds.isEmpty { predicate = { entry in kinds.contains(entry.kind) } }
        return try await store.read { reader in
            _ = try await reader.require(OrderTables.orders, orderID, field: "order_id")
            let page = try await reader.page(
                OrderTables.history,
                RecordQuery(
                    prefix: [.string(orderID)],
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: request.kinds.map { "\($0.rawValue)" },
                    predicate: predicate
                )
            )
            return ListOrderHistoryResponse(entries: page.records, nextPageToken: page.nextPageToken)
        }
    }

    public func watchOrderEvents(
        request: WatchOrderEventsRequest,
        responses: RPCResponseWriter<OrderEvent>,
        context: RPCServerContext
    ) async throws {
        let customerID = request.customerID.isEmpty ? nil : try Validate.id(request.customerID, field: "customer_id")
        let locationID =
            request.fulfillmentLocationID.isEmpty
            ? nil : try Validate.id(request.fulfillmentLocationID, field: "fulfillment_location_id")
        try Validate.known(request.kinds, field: "kinds", noun: "history kind")
        try Validate.known(request.toStatuses, field: "to_statuses", noun: "status")
        let kinds = Set(request.kinds)
        let statuses = Set(request.toStatuses)
        func wanted(_ event: OrderEvent) -> Bool {
            guard let entry = event.entry else { return false }
            return (customerID == nil || entry.customerID == customerID!)
                && (kinds.isEmpty || kinds.contains(entry.kind))
                && (statuses.isEmpty || statuses.contains(entry.toStatus))
                && (locationID == nil
                    || event.order?.fulfillmentParts.contains { $0.locationID == locationID! } == true)
        }
        try await events.watch(
            resumeCursor: request.resumeCursor,
            wanted: wanted,
            marker: { OrderEvent(cursor: $0) },
            write: { try await responses.write($0) }
        )
    }
}
