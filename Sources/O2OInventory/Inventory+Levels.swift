import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension InventoryServiceProvider {
    /// A SKU id as the inventory takes it: 1 to 64 printable ASCII characters. The
    /// catalog is consulted only where a SKU must exist (receipts, adjustments).
    func skuID(_ value: String, field: String) throws -> String {
        try Validate.id(value, field: field)
    }

    /// Lines of one SKU each: 1 to `max` of them, every SKU id valid and on one line
    /// only; `check` then looks at each line's other fields, given its path
    /// ("lines[2]").
    func perSkuLines<Line>(
        _ lines: [Line],
        field: String,
        max: Int,
        sku: (Line) -> String,
        check: (Line, String) throws -> Void = { _, _ in }
    ) throws {
        guard !lines.isEmpty else { throw RPCError.invalidArgument(field: field, "at least one line is required") }
        guard lines.count <= max else {
            throw RPCError.invalidArgument(field: field, "at most \(max) lines, got \(lines.count)")
        }
        var seen: Set<String> = []
        for (index, line) in lines.enumerated() {
            let path = "\(field)[\(index)]"
            let id = try skuID(sku(line), field: "\(path).sku_id")
            guard seen.insert(id).inserted else {
                throw RPCError.invalidArgument(field: "\(path).sku_id", "SKU '\(id)' appears on more than one line")
            }
            try check(line, path)
        }
    }

    /// Basket lines: 1 to `max`, distinct SKUs, quantities 1 to 1,000,000.
    func basketLines(_ lines: [StockBasketLine], field: String, max: Int = 100) throws -> [StockBasketLine] {
        try perSkuLines(lines, field: field, max: max, sku: \.skuID) { line, path in
            guard (1...1_000_000).contains(line.quantity) else {
                throw RPCError.invalidArgument(field: "\(path).quantity", "must be 1 to 1000000, got \(line.quantity)")
            }
        }
        return lines
    }

    public func getStockLevel(request: GetStockLevelRequest, context: RPCServerContext) async throws -> StockLevel {
        let sku = try skuID(request.skuID, field: "sku_id")
        let reader = store.latest
        let location = try await reader.require(InventoryTables.locations, request.locationID, field: "location_id")
        return try await StockBook.level(reader, location: location.id, sku: sku)
    }

    public func batchGetStockLevels(
        request: BatchGetStockLevelsRequest,
        context: RPCServerContext
    ) async throws -> BatchGetStockLevelsResponse {
        guard (1...500).contains(request.keys.count) else {
            throw RPCError.invalidArgument(field: "keys", "must hold 1 to 500 keys, got \(request.keys.count)")
        }
        for (index, key) in request.keys.enumerated() {
            _ = try skuID(key.skuID, field: "keys[\(index)].sku_id")
            _ = try Validate.id(key.locationID, field: "keys[\(index)].location_id")
        }
        let found = try await store.read { reader in
            try await reader.get(
                InventoryTables.levels,
                request.keys.map { [.string($0.locationID), .string($0.skuID)] }
            )
        }
        return BatchGetStockLevelsResponse(
            stockLevels: zip(request.keys, found).map { key, level in
                level ?? StockLevel(skuID: key.skuID, locationID: key.locationID)
            }
        )
    }

    public func listStockLevels(
        request: ListStockLevelsRequest,
        context: RPCServerContext
    ) async throws -> ListStockLevelsResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let sku = try request.skuID.map { try skuID($0, field: "sku_id") }
        let locationID = try request.locationID.map { try Validate.id($0, field: "location_id") }
        guard sku != nil || locationID != nil else {
            throw RPCError.invalidArgument(field: "sku_id", "sku_id or location_id is required")
        }
        let belowOnly = request.belowReorderThresholdOnly
        let inStockOnly = request.inStockOnly
        var predicate: (@Sendable (StockLevel) -> Bool)?
        if belowOnly || inStockOnly {
            predicate = { level in (!belowOnly || level.belowReorderThreshold) && (!inStockOnly || level.onHand > 0) }
        }
        let filters = [sku ?? "", locationID ?? "", "\(belowOnly)", "\(inStockOnly)"]
        return try await store.read { reader in
            if let locationID {
                _ = try await reader.require(InventoryTables.locations, locationID, field: "location_id")
            }
            let query: RecordQuery<StockLevel>
            switch (locationID, sku) {
            case (let location?, let sku?):
                query = RecordQuery(
                    prefix: [.string(location), .string(sku)],
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: filters,
                    predicate: predicate
                )
            case (let location?, nil):
                query = RecordQuery(
                    prefix: [.string(location)],
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: filters,
                    predicate: predicate
                )
            case (nil, let sku?):
                query = RecordQuery(
                    index: InventoryTables.levelSku,
                    prefix: [.string(sku)],
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: filters,
                    predicate: predicate
                )
            case (nil, nil):
                preconditionFailure("checked above")
            }
            let page = try await reader.page(InventoryTables.levels, query)
            return ListStockLevelsResponse(stockLevels: page.records, nextPageToken: page.nextPageToken)
        }
    }

    /// Every level of one SKU, at every location.
    func levels(ofSku sku: String, _ reader: some RecordReading) async throws -> [StockLevel] {
        try await reader.all(
            InventoryTables.levels,
            RecordQuery(index: InventoryTables.levelSku, prefix: [.string(sku)], pageSize: 500),
            limit: .max
        )
    }

    public func batchGetSkuStockSummaries(
        request: BatchGetSkuStockSummariesRequest,
        context: RPCServerContext
    ) async throws -> BatchGetSkuStockSummariesResponse {
        guard (1...500).contains(request.skuIDs.count) else {
            throw RPCError.invalidArgument(field: "sku_ids", "must hold 1 to 500 SKU ids, got \(request.skuIDs.count)")
        }
        for (index, sku) in request.skuIDs.enumerated() { _ = try skuID(sku, field: "sku_ids[\(index)]") }
        return try await store.read { reader in
            let locations = Dictionary(uniqueKeysWithValues: try await allLocations(reader).map { ($0.id, $0) })
            var summaries: [SkuStockSummary] = []
            for sku in request.skuIDs {
                var summary = SkuStockSummary(skuID: sku)
                for level in try await levels(ofSku: sku, reader) {
                    summary.onHand += level.onHand
                    summary.reserved += level.reserved
                    summary.available += level.available
                    if level.available > 0 { summary.locationsInStock += 1 }
                    guard let location = locations[level.locationID], location.status == .open else { continue }
                    if location.ships { summary.shippableAvailable += level.available }
                    if location.offersPickup { summary.pickupAvailable += level.available }
                }
                summaries.append(summary)
            }
            return BatchGetSkuStockSummariesResponse(summaries: summaries)
        }
    }

    public func setReorderThresholds(
        request: SetReorderThresholdsRequest,
        context: RPCServerContext
    ) async throws -> SetReorderThresholdsResponse {
        guard (1...500).contains(request.settings.count) else {
            throw RPCError.invalidArgument(
                field: "settings",
                "must hold 1 to 500 settings, got \(request.settings.count)"
            )
        }
        var seen: Set<[String]> = []
        for (index, setting) in request.settings.enumerated() {
            let sku = try skuID(setting.skuID, field: "settings[\(index)].sku_id")
            let location = try Validate.id(setting.locationID, field: "settings[\(index)].location_id")
            guard seen.insert([location, sku]).inserted else {
                throw RPCError.invalidArgument(
                    field: "settings[\(index)]",
                    "SKU '\(sku)' at '\(location)' is set twice"
                )
            }
            guard setting.reorderThreshold >= 0 else {
                throw RPCError.invalidArgument(
                    field: "settings[\(index)].reorder_threshold",
                    "must be 0 or more, got \(setting.reorderThreshold)"
                )
            }
        }
        _ = try actor(context, request.actor)
        let pairs = request.settings.map { (location: $0.locationID, sku: $0.skuID) }
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: Self.stockLocks(pairs)
        ) { transaction in
            let time = transaction.now
            var response = SetReorderThresholdsResponse()
            for (index, setting) in request.settings.enumerated() {
                _ = try await transaction.require(
                    InventoryTables.locations,
                    setting.locationID,
                    field: "settings[\(index)].location_id"
                )
                let before = try await StockBook.level(
                    transaction,
                    location: setting.locationID,
                    sku: setting.skuID
                )
                var level = before
                if level.createdAt == nil { level.createdAt = time }
                level.reorderThreshold = setting.reorderThreshold
                level.belowReorderThreshold = level.reorderThreshold > 0 && level.available < level.reorderThreshold
                level.updatedAt = time
                level.version += 1
                try await transaction.save(InventoryTables.levels, level)
                _ = try await StockBook.recordAlert(
                    transaction,
                    before: before,
                    after: level,
                    ledgerEntryID: "",
                    alerts: alertFeed
                )
                response.stockLevels.append(level)
            }
            return response
        }
    }
}
