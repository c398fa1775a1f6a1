import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension InventoryServiceProvider {
    /// The raw key listing a location's OPEN stock-takes. Opening, posting and
    /// cancelling read and write it, so two stock-takes opened at once over the same
    /// SKUs conflict and one retries (and is refused) instead of both getting in.
    private static func openTakesKey(_ location: String) -> [UInt8] {
        InventoryTables.openStockTakesPrefix + Array(location.utf8)
    }

    private func openTakes(_ transaction: ServiceTransaction, at location: String) async throws -> [String] {
        guard let raw = try await transaction.getRaw(Self.openTakesKey(location)) else { return [] }
        return String(decoding: raw, as: UTF8.self).split(separator: ",").map(String.init)
    }

    private func setOpenTakes(_ transaction: ServiceTransaction, at location: String, _ ids: [String]) {
        if ids.isEmpty {
            transaction.deleteRaw(Self.openTakesKey(location))
        } else {
            transaction.putRaw(Self.openTakesKey(location), Array(ids.joined(separator: ",").utf8))
        }
    }

    /// The life of a stock-take: open while counting, then posted (the differences
    /// corrected through the ledger) or cancelled.
    static let stockTakeStatuses = StatusMachine<StockTakeStatus>("stock-take", [.open: [.posted, .cancelled]])

    /// The SKUs a stock-take covers: its list, or every SKU stocked at the location.
    private func scope(of take: StockTake, _ reader: some RecordReading) async throws -> [String] {
        if !take.skuIDs.isEmpty { return take.skuIDs.sorted() }
        return try await reader.all(
            InventoryTables.levels,
            RecordQuery(prefix: [.string(take.locationID)], pageSize: 500),
            limit: .max
        ).map(\.skuID)
    }

    /// Every recorded line of a stock-take, by SKU.
    private func lines(of takeID: String, _ reader: some RecordReading) async throws -> [StockTakeLine] {
        try await reader.all(
            InventoryTables.stockTakeLines,
            RecordQuery(prefix: [.string(takeID)], pageSize: 500),
            limit: .max
        )
    }

    public func openStockTake(request: OpenStockTakeRequest, context: RPCServerContext) async throws -> StockTake {
        guard request.skuIDs.count <= 5000 else {
            throw RPCError.invalidArgument(field: "sku_ids", "at most 5000, got \(request.skuIDs.count)")
        }
        var seen: Set<String> = []
        for (index, sku) in request.skuIDs.enumerated() {
            guard seen.insert(try skuID(sku, field: "sku_ids[\(index)]")).inserted else {
                throw RPCError.invalidArgument(field: "sku_ids[\(index)]", "SKU '\(sku)' is listed twice")
            }
        }
        let note = try Validate.text(request.note, field: "note", max: 1024)
        let actor = try actor(context, request.actor)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let location = try await transaction.require(
                InventoryTables.locations,
                request.locationID,
                field: "location_id"
            )
            let open = try await openTakes(transaction, at: location.id)
            for id in open {
                guard let other = try await transaction.get(InventoryTables.stockTakes, .string(id)) else { continue }
                let overlap =
                    other.skuIDs.isEmpty || request.skuIDs.isEmpty
                    ? nil : Set(other.skuIDs).intersection(request.skuIDs).sorted().first
                if other.skuIDs.isEmpty || request.skuIDs.isEmpty || overlap != nil {
                    let what = overlap.map { "SKU '\($0)' is" } ?? "the SKUs are"
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "sku_ids: \(what) already being counted in open stock-take '\(other.id)'"
                    )
                }
            }
            let time = transaction.now
            var take = StockTake(
                id: RecordIDs.make(prefix: "stk"),
                locationID: location.id,
                status: .unspecified,
                skuIDs: request.skuIDs,
                note: note,
                createdBy: actor,
                createdAt: time,
                updatedAt: time,
                version: 1
            )
            Self.stockTakeStatuses.start(&take, at: .open, time: time, actor: actor, note: note)
            try await transaction.insert(InventoryTables.stockTakes, take)
            setOpenTakes(transaction, at: location.id, open + [take.id])
            return take
        }
    }

    public func getStockTake(request: GetStockTakeRequest, context: RPCServerContext) async throws -> StockTake {
        try await store.latest.require(InventoryTables.stockTakes, request.id, field: "id")
    }

    public func listStockTakes(
        request: ListStockTakesRequest,
        context: RPCServerContext
    ) async throws -> ListStockTakesResponse {
        let location = try request.locationID.map { try Validate.id($0, field: "location_id") }
        let status = try Validate.known(request.status, field: "status", noun: "status")
        let page = try await store.newestFirst(
            InventoryTables.stockTakes,
            by: [(InventoryTables.stockTakeLocation, location)],
            page: request.page,
            filters: [location ?? "", "\(status.rawValue)"],
            predicate: { status == .unspecified || $0.status == status }
        )
        return ListStockTakesResponse(stockTakes: page.records, nextPageToken: page.nextPageToken)
    }

    public func recordStockCounts(
        request: RecordStockCountsRequest,
        context: RPCServerContext
    ) async throws -> RecordStockCountsResponse {
        try perSkuLines(request.counts, field: "counts", max: 500, sku: \.skuID) { count, path in
            guard (0...1_000_000_000).contains(count.countedQuantity) else {
                throw RPCError.invalidArgument(
                    field: "\(path).counted_quantity",
                    "must be 0 to 1000000000, got \(count.countedQuantity)"
                )
            }
        }
        let actor = try actor(context, request.actor)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var take = try await transaction.require(
                InventoryTables.stockTakes,
                request.stockTakeID,
                field: "stock_take_id"
            )
            try Self.stockTakeStatuses.require(
                take.status,
                in: [.open],
                to: "take counts",
                field: "stock_take_id",
                id: take.id
            )
            let listed = Set(take.skuIDs)
            let time = transaction.now
            var response = RecordStockCountsResponse()
            for (index, count) in request.counts.enumerated() {
                let level = try await transaction.get(
                    InventoryTables.levels,
                    [.string(take.locationID), .string(count.skuID)]
                )
                if listed.isEmpty ? level == nil : !listed.contains(count.skuID) {
                    throw RPCError.invalidArgument(
                        field: "counts[\(index)].sku_id",
                        "SKU '\(count.skuID)' is not in stock-take '\(take.id)'"
                            + (listed.isEmpty ? " (no stock level at the location)" : "")
                    )
                }
                let book = level?.onHand ?? 0
                let old = try await transaction.get(
                    InventoryTables.stockTakeLines,
                    [.string(take.id), .string(count.skuID)]
                )
                // Keep the summary current: take the old count out, put the new one in.
                if let old, old.counted {
                    take.countedSkuCount -= 1
                    if old.difference != 0 { take.differenceSkuCount -= 1 }
                    if old.difference > 0 {
                        take.surplusQuantity -= old.difference
                    } else {
                        take.shortageQuantity += old.difference
                    }
                }
                let line = StockTakeLine(
                    stockTakeID: take.id,
                    skuID: count.skuID,
                    counted: true,
                    countedQuantity: count.countedQuantity,
                    bookOnHand: book,
                    difference: count.countedQuantity - book,
                    countRevision: (old?.countRevision ?? 0) + 1,
                    countedBy: actor,
                    countedAt: time
                )
                take.countedSkuCount += 1
                if line.difference != 0 { take.differenceSkuCount += 1 }
                if line.difference > 0 {
                    take.surplusQuantity += line.difference
                } else {
                    take.shortageQuantity -= line.difference
                }
                try await transaction.save(InventoryTables.stockTakeLines, line)
                response.lines.append(line)
            }
            try await transaction.updateVersioned(InventoryTables.stockTakes, &take)
            return response
        }
    }

    public func listStockTakeLines(
        request: ListStockTakeLinesRequest,
        context: RPCServerContext
    ) async throws -> ListStockTakeLinesResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        return try await store.read { reader -> ListStockTakeLinesResponse in
            let take = try await reader.require(InventoryTables.stockTakes, request.stockTakeID, field: "stock_take_id")
            if request.includeUncounted, !request.differencesOnly {
                // Counted lines and the rest of the scope with today's book, by SKU.
                let counted = Dictionary(
                    uniqueKeysWithValues: try await lines(of: take.id, reader).map { ($0.skuID, $0) }
                )
                var all: [StockTakeLine] = []
                for sku in Set(try await scope(of: take, reader)).union(counted.keys).sorted() {
                    if let line = counted[sku] {
                        all.append(line)
                    } else {
                        let level = try await StockBook.level(reader, location: take.locationID, sku: sku)
                        all.append(StockTakeLine(stockTakeID: take.id, skuID: sku, bookOnHand: level.onHand))
                    }
                }
                let page = try Paging.page(all, request: request.page, field: "page", filters: [take.id, "uncounted"])
                return ListStockTakeLinesResponse(stockTakeLines: page.items, nextPageToken: page.nextToken)
            }
            let differencesOnly = request.differencesOnly
            var predicate: (@Sendable (StockTakeLine) -> Bool)?
            if differencesOnly { predicate = { $0.difference != 0 } }
            let query = RecordQuery<StockTakeLine>(
                prefix: [.string(take.id)],
                pageSize: pageSize,
                pageToken: request.page?.pageToken,
                filters: [take.id, "\(differencesOnly)"],
                predicate: predicate
            )
            let page = try await reader.page(InventoryTables.stockTakeLines, query)
            return ListStockTakeLinesResponse(stockTakeLines: page.records, nextPageToken: page.nextPageToken)
        }
    }

    public func postStockTake(request: PostStockTakeRequest, context: RPCServerContext) async throws -> StockTake {
        let id = try Validate.id(request.id, field: "id")
        let actor = try actor(context, request.actor)
        let preview = try await store.read { reader -> (String, [String]) in
            guard let take = try await reader.get(InventoryTables.stockTakes, .string(id)) else { return ("", []) }
            return (take.locationID, try await scope(of: take, reader))
        }
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: Self.stockLocks(preview.1.map { (preview.0, $0) })
        ) { transaction in
            var take = try await transaction.require(
                InventoryTables.stockTakes,
                id,
                field: "id",
                expectedVersion: request.expectedVersion
            )
            guard take.status != .posted else { return take }
            try Self.stockTakeStatuses.check(take.status, .posted, field: "id", id: id)
            let time = transaction.now
            var corrections: [(line: StockTakeLine, delta: Int64)] = []
            let counted = try await lines(of: take.id, transaction)
            for line in counted where line.counted && line.difference != 0 {
                corrections.append((line, line.difference))
            }
            if request.uncountedAsZero {
                let countedSkus = Set(counted.filter(\.counted).map(\.skuID))
                for sku in try await scope(of: take, transaction) where !countedSkus.contains(sku) {
                    let level = try await StockBook.level(transaction, location: take.locationID, sku: sku)
                    guard level.onHand != 0 else { continue }
                    let line = StockTakeLine(
                        stockTakeID: take.id,
                        skuID: sku,
                        counted: true,
                        countedQuantity: 0,
                        bookOnHand: level.onHand,
                        difference: -level.onHand,
                        countRevision: 1,
                        countedBy: actor,
                        countedAt: time
                    )
                    corrections.append((line, -level.onHand))
                }
            }
            // Check every correction before writing any: reserved goods cannot be written off.
            var refused: [String] = []
            for (line, delta) in corrections {
                let level = try await StockBook.level(transaction, location: take.locationID, sku: line.skuID)
                if level.onHand + delta < level.reserved {
                    refused.append(
                        "SKU '\(line.skuID)' (\(level.onHand) on hand, \(level.reserved) reserved, correction \(delta))"
                    )
                }
            }
            guard refused.isEmpty else {
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "id: corrections would take on hand below reserved for \(refused.joined(separator: ", ")); release their reservations first"
                )
            }
            let book = StockBook(
                transaction: transaction,
                actor: actor,
                requestID: request.requestID,
                alerts: alertFeed
            )
            for (line, delta) in corrections {
                let outcome = try await book.apply(
                    StockChange(
                        skuID: line.skuID,
                        locationID: take.locationID,
                        reason: .stockTakeCorrection,
                        onHandDelta: delta,
                        reference: StockReference(kind: .stockTake, id: take.id),
                        note: "counted \(line.countedQuantity), book \(line.bookOnHand)"
                    )
                )
                var posted = line
                posted.ledgerEntryID = outcome.entry.id
                try await transaction.save(InventoryTables.stockTakeLines, posted)
            }
            try Self.stockTakeStatuses.move(&take, to: .posted, field: "id", at: time, actor: actor)
            take.postedAt = time
            try await transaction.updateVersioned(InventoryTables.stockTakes, &take)
            setOpenTakes(
                transaction,
                at: take.locationID,
                try await openTakes(transaction, at: take.locationID).filter { $0 != take.id }
            )
            return take
        }
    }

    public func cancelStockTake(request: CancelStockTakeRequest, context: RPCServerContext) async throws -> StockTake {
        let reason = try Validate.text(request.reason, field: "reason", max: 1024)
        let actor = try actor(context, request.actor)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var take = try await transaction.require(InventoryTables.stockTakes, request.id, field: "id")
            guard take.status != .cancelled else { return take }
            try Self.stockTakeStatuses.move(
                &take,
                to: .cancelled,
                field: "id",
                at: transaction.now,
                actor: actor,
                note: reason
            )
            take.cancelledAt = transaction.now
            try await transaction.updateVersioned(InventoryTables.stockTakes, &take)
            setOpenTakes(
                transaction,
                at: take.locationID,
                try await openTakes(transaction, at: take.locationID).filter { $0 != take.id }
            )
            return take
        }
    }
}
