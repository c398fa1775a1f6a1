import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension InventoryServiceProvider {
    /// Watchers hear from the server at least this often (a heartbeat when nothing
    /// happened), so dead connections show and cursors stay fresh.
    static let alertHeartbeat: Duration = .seconds(30)

    public func listStockAlerts(
        request: ListStockAlertsRequest,
        context: RPCServerContext
    ) async throws -> ListStockAlertsResponse {
        _ = try Paging.pageSize(request.page, field: "page")
        let locationID = try request.locationID.map { try Validate.id($0, field: "location_id") }
        let sku = try request.skuID.map { try skuID($0, field: "sku_id") }
        try Validate.known(request.kinds, field: "kinds", noun: "kind")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let kinds = Set(request.kinds)
        let predicate: @Sendable (StockAlert) -> Bool = { alert in
            let time = InventoryTables.nanos(alert.createdAt)
            return (kinds.isEmpty || kinds.contains(alert.kind)) && (sku == nil || alert.skuID == sku!)
                && (locationID == nil || alert.locationID == locationID!)
                && (start.map { time >= $0 } ?? true) && (end.map { time < $0 } ?? true)
        }
        let filters = [
            locationID ?? "", sku ?? "", request.kinds.map { "\($0.rawValue)" }.joined(separator: ","),
            "\(start ?? -1)", "\(end ?? -1)",
        ]
        // Through the location's index, else the SKU's, else by primary key.
        let page = try await store.newestFirst(
            InventoryTables.alerts,
            by: [(InventoryTables.alertLocation, locationID), (InventoryTables.alertSku, sku)],
            page: request.page,
            filters: filters,
            predicate: predicate
        )
        return ListStockAlertsResponse(stockAlerts: page.records, nextPageToken: page.nextPageToken)
    }

    /// The number of the newest alert; 0 when there is none.
    private func latestAlertSequence() async throws -> Int64 {
        let page = try await store.latest.page(InventoryTables.alerts, RecordQuery(direction: .reverse, pageSize: 1))
        return page.records.first.map(AlertCursor.sequence(of:)) ?? 0
    }

    public func watchStockAlerts(
        request: WatchStockAlertsRequest,
        responses: RPCResponseWriter<WatchStockAlertsResponse>,
        context: RPCServerContext
    ) async throws {
        guard request.locationIDs.count <= 100 else {
            throw RPCError.invalidArgument(field: "location_ids", "at most 100, got \(request.locationIDs.count)")
        }
        guard request.skuIDs.count <= 500 else {
            throw RPCError.invalidArgument(field: "sku_ids", "at most 500, got \(request.skuIDs.count)")
        }
        try Validate.known(request.kinds, field: "kinds", noun: "kind")
        var position: Int64
        if request.resumeCursor.isEmpty {
            position = try await latestAlertSequence()
        } else {
            guard let parsed = AlertCursor.parse(request.resumeCursor) else {
                throw RPCError.invalidArgument(field: "resume_cursor", "not a cursor this service issued")
            }
            position = parsed
        }
        let locations = Set(request.locationIDs)
        let skus = Set(request.skuIDs)
        let kinds = Set(request.kinds)
        func wanted(_ alert: StockAlert) -> Bool {
            (locations.isEmpty || locations.contains(alert.locationID)) && (skus.isEmpty || skus.contains(alert.skuID))
                && (kinds.isEmpty || kinds.contains(alert.kind))
        }
        // The first message goes out at once (the replayed alerts, or a heartbeat when
        // there are none), so the caller knows the watch is live and holds a cursor
        // from the start: no alert is lost to a reconnect before the first one.
        var announced = false
        while !Task.isCancelled {
            // Take the generation before reading, so an alert committed after the read
            // wakes the wait below.
            let generation = alertFeed.generation
            let page = try await store.latest.page(
                InventoryTables.alerts,
                RecordQuery(lowerBound: [.int(position + 1)], pageSize: 100)
            )
            if let last = page.records.last {
                position = AlertCursor.sequence(of: last)
                let batch = page.records.filter(wanted)
                if !batch.isEmpty {
                    try await responses.write(
                        WatchStockAlertsResponse(alerts: batch, cursor: AlertCursor.make(position))
                    )
                    announced = true
                }
                continue
            }
            if !announced {
                try await responses.write(WatchStockAlertsResponse(cursor: AlertCursor.make(position)))
                announced = true
            }
            let before = ContinuousClock.now
            await alertFeed.wait(after: generation, timeout: Self.alertHeartbeat)
            if alertFeed.generation == generation, ContinuousClock.now - before >= Self.alertHeartbeat,
                !Task.isCancelled
            {
                try await responses.write(WatchStockAlertsResponse(cursor: AlertCursor.make(position)))
            }
        }
    }
}
