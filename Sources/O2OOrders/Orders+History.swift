public import O2OMessages
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension OrderServiceProvider {
    /// Watchers hear from the server at least this often (a heartbeat with the
    /// cursor when nothing happened), so dead connections show.
    static let eventHeartbeat: Duration = .seconds(30)

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
        // What is committed is numbered before the position is taken, so "from now
        // on" starts after every change acknowledged before the call.
        try await events.sequence()
        let (first, last) = try await events.bounds()
        var position: Int64
        if request.resumeCursor.isEmpty {
            position = last
        } else {
            guard let parsed = OrderEventCursor.parse(request.resumeCursor) else {
                throw RPCError.invalidArgument(field: "resume_cursor", "not a cursor this service issued")
            }
            guard parsed <= last else {
                throw RPCError.invalidArgument(field: "resume_cursor", "is ahead of the event stream")
            }
            if first > 0, parsed < first - 1 {
                throw RPCError(
                    code: .outOfRange,
                    message: "resume_cursor: events before \(OrderEventCursor.make(first)) are no longer kept "
                        + "(\(OrderEventLog.retentionSeconds / 86_400) days); start again without a cursor"
                )
            }
            position = parsed
        }
        // The first message goes out at once, so the caller knows the watch is live
        // and holds a cursor from the start.
        try await responses.write(OrderEvent(cursor: OrderEventCursor.make(position)))
        while !Task.isCancelled {
            // Take the generation before reading, so a commit after the read wakes the
            // wait below.
            let generation = events.pending.generation
            try await events.sequence()
            let batch = try await events.events(after: position, limit: 100)
            if let lastEvent = batch.last {
                position = OrderEventCursor.parse(lastEvent.cursor) ?? position
                for event in batch where wanted(event) { try await responses.write(event) }
                continue
            }
            let before = ContinuousClock.now
            await events.pending.wait(after: generation, timeout: Self.eventHeartbeat)
            if events.pending.generation == generation, ContinuousClock.now - before >= Self.eventHeartbeat,
                !Task.isCancelled
            {
                // A heartbeat: no entry, only the cursor to resume from.
                try await responses.write(OrderEvent(cursor: OrderEventCursor.make(position)))
            }
        }
    }
}
