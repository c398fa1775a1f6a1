import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension InventoryServiceProvider {
    public func listStockLedgerEntries(
        request: ListStockLedgerEntriesRequest,
        context: RPCServerContext
    ) async throws -> ListStockLedgerEntriesResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let locationID = try request.locationID.map { try Validate.id($0, field: "location_id") }
        let sku = try request.skuID.map { try skuID($0, field: "sku_id") }
        if sku != nil, locationID == nil { throw RPCError.invalidArgument(field: "sku_id", "requires location_id") }
        var reference: StockReference?
        if let given = request.reference, given.kind != .unspecified || !given.id.isEmpty {
            try Validate.known(given.kind, field: "reference.kind", noun: "kind")
            guard given.kind != .unspecified else {
                throw RPCError.invalidArgument(field: "reference.kind", "is required with reference.id")
            }
            reference = StockReference(
                kind: given.kind,
                id: try Validate.text(given.id, field: "reference.id", min: 1, max: 64)
            )
        }
        guard locationID != nil || reference != nil else {
            throw RPCError.invalidArgument(field: "location_id", "location_id or reference is required")
        }
        try Validate.known(request.reasons, field: "reasons", noun: "reason")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let descending = try Validate.known(request.order, field: "order", noun: "order") != .ascending
        let reasons = Set(request.reasons)
        let filters = [
            locationID ?? "", sku ?? "", reference.map { "\($0.kind.rawValue)/\($0.id)" } ?? "",
            request.reasons.map { "\($0.rawValue)" }.joined(separator: ","), "\(start ?? -1)", "\(end ?? -1)",
            "\(descending)",
        ]
        let reasonFilter: @Sendable (StockLedgerEntry) -> Bool = { reasons.isEmpty || reasons.contains($0.reason) }
        let timeFilter: @Sendable (StockLedgerEntry) -> Bool = { entry in
            let time = InventoryTables.nanos(entry.createdAt)
            return (start.map { time >= $0 } ?? true) && (end.map { time < $0 } ?? true)
        }
        let direction: ScanDirection = descending ? .reverse : .forward
        return try await store.read { reader in
            if let locationID {
                _ = try await reader.require(InventoryTables.locations, locationID, field: "location_id")
            }
            let query: RecordQuery<StockLedgerEntry>
            if let locationID, let sku {
                // The pair's entries in sequence order, which is time order.
                let referenceFilter = reference
                query = RecordQuery(
                    prefix: [.string(locationID), .string(sku)],
                    direction: direction,
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: filters,
                    predicate: { entry in
                        reasonFilter(entry) && timeFilter(entry)
                            && (referenceFilter.map { Self.matches(entry, $0) } ?? true)
                    }
                )
            } else if let reference {
                let byOrder = reference.kind == .order
                query = RecordQuery(
                    index: byOrder ? InventoryTables.ledgerOrder : InventoryTables.ledgerReference,
                    prefix: byOrder
                        ? [.string(reference.id)] : [.int(Int64(reference.kind.rawValue)), .string(reference.id)],
                    lowerBound: start.map { [.int($0)] },
                    upperBound: end.map { [.int($0)] },
                    direction: direction,
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: filters,
                    predicate: { entry in reasonFilter(entry) && (locationID == nil || entry.locationID == locationID!)
                    }
                )
            } else {
                query = RecordQuery(
                    index: InventoryTables.ledgerLocationTime,
                    prefix: [.string(locationID!)],
                    lowerBound: start.map { [.int($0)] },
                    upperBound: end.map { [.int($0)] },
                    direction: direction,
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: filters,
                    predicate: reasons.isEmpty ? nil : reasonFilter
                )
            }
            let page = try await reader.page(InventoryTables.ledger, query)
            return ListStockLedgerEntriesResponse(entries: page.records, nextPageToken: page.nextPageToken)
        }
    }

    private static func matches(_ entry: StockLedgerEntry, _ reference: StockReference) -> Bool {
        reference.kind == .order ? entry.orderID == reference.id : entry.reference == reference
    }

    public func adjustStock(request: AdjustStockRequest, context: RPCServerContext) async throws -> AdjustStockResponse
    {
        let locationID = try Validate.id(request.locationID, field: "location_id")
        switch request.reason {
        case .sale, .return, .damage, .manualAdjustment: break
        case .unspecified:
            throw RPCError.invalidArgument(field: "reason", "is required: SALE, RETURN, DAMAGE or MANUAL_ADJUSTMENT")
        default:
            throw RPCError.invalidArgument(
                field: "reason",
                "\(request.reason.displayName) has its own method; AdjustStock takes SALE, RETURN, DAMAGE or MANUAL_ADJUSTMENT"
            )
        }
        try perSkuLines(request.lines, field: "lines", max: 200, sku: \.skuID) { line, path in
            let delta = line.quantityDelta
            guard delta != 0, delta.magnitude <= 1_000_000 else {
                throw RPCError.invalidArgument(
                    field: "\(path).quantity_delta",
                    "must be non-zero and at most 1000000 either way, got \(delta)"
                )
            }
            if (request.reason == .sale || request.reason == .damage) && delta > 0 {
                throw RPCError.invalidArgument(
                    field: "\(path).quantity_delta",
                    "must be negative for \(request.reason.displayName)"
                )
            }
            if request.reason == .return && delta < 0 {
                throw RPCError.invalidArgument(field: "\(path).quantity_delta", "must be positive for RETURN")
            }
        }
        let note = try Validate.text(request.note, field: "note", max: 1024)
        if request.reason == .manualAdjustment, note.isEmpty {
            throw RPCError.invalidArgument(field: "note", "is required for MANUAL_ADJUSTMENT")
        }
        var reference: StockReference?
        if let given = request.reference, given.kind != .unspecified || !given.id.isEmpty {
            try Validate.known(given.kind, field: "reference.kind", noun: "kind")
            guard given.kind != .unspecified else {
                throw RPCError.invalidArgument(field: "reference.kind", "is required with reference.id")
            }
            reference = StockReference(
                kind: given.kind,
                id: try Validate.text(given.id, field: "reference.id", min: 1, max: 64)
            )
        }
        let orderID = try Validate.text(request.orderID, field: "order_id", max: 64)
        let actor = try actor(context, request.actor)
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: Self.stockLocks(request.lines.map { (locationID, $0.skuID) })
        ) { transaction in
            _ = try await transaction.require(InventoryTables.locations, locationID, field: "location_id")
            let book = StockBook(
                transaction: transaction,
                actor: actor,
                requestID: request.requestID,
                alerts: alertFeed
            )
            var response = AdjustStockResponse()
            for (index, line) in request.lines.enumerated() {
                try await requireCatalogSku(transaction, line.skuID, field: "lines[\(index)].sku_id")
                let level = try await StockBook.level(transaction, location: locationID, sku: line.skuID)
                if level.onHand + line.quantityDelta < level.reserved {
                    throw RPCError(
                        code: .failedPrecondition,
                        message:
                            "lines[\(index)].quantity_delta: SKU '\(line.skuID)' has \(level.available) available "
                            + "(\(level.onHand) on hand, \(level.reserved) reserved); cannot change on hand by \(line.quantityDelta)",
                        fieldViolations: [
                            .init(
                                field: "lines[\(index)].quantity_delta",
                                description: "only \(level.available) available"
                            )
                        ]
                    )
                }
                let outcome = try await book.apply(
                    StockChange(
                        skuID: line.skuID,
                        locationID: locationID,
                        reason: request.reason,
                        onHandDelta: line.quantityDelta,
                        reference: reference,
                        orderID: orderID,
                        note: note
                    )
                )
                response.entries.append(outcome.entry)
                response.stockLevels.append(outcome.level)
            }
            return response
        }
    }

    func checkStockLedger(_ request: CheckStockLedgerRequest) async throws -> CheckStockLedgerResponse {
        let locationID = try request.locationID.map { try Validate.id($0, field: "location_id") }
        let sku = try request.skuID.map { try skuID($0, field: "sku_id") }
        guard (0...10_000).contains(request.maxDiscrepancies) else {
            throw RPCError.invalidArgument(
                field: "max_discrepancies",
                "must be 1 to 10000, got \(request.maxDiscrepancies)"
            )
        }
        let limit = request.maxDiscrepancies == 0 ? 1000 : Int(request.maxDiscrepancies)
        return try await store.read { reader in
            if let locationID {
                _ = try await reader.require(InventoryTables.locations, locationID, field: "location_id")
            }
            // What the active reservations hold, per pair.
            var held: [[String]: Int64] = [:]
            let active = RecordQuery<StockReservation>(index: InventoryTables.reservationActiveExpiry, pageSize: 500)
            for reservation in try await reader.all(InventoryTables.reservations, active, limit: .max)
            where reservation.status == .active {
                for line in reservation.lines {
                    held[[reservation.locationID, line.skuID], default: 0] += line.quantity
                }
            }

            var response = CheckStockLedgerResponse(checkedAt: store.now())
            let levels: RecordQuery<StockLevel> =
                if let sku {
                    RecordQuery(
                        index: InventoryTables.levelSku,
                        prefix: locationID.map { [.string(sku), .string($0)] } ?? [.string(sku)],
                        pageSize: 500
                    )
                } else {
                    RecordQuery(prefix: locationID.map { [.string($0)] } ?? [], pageSize: 500)
                }
            try await reader.forEachPage(InventoryTables.levels, levels) { page in
                for level in page {
                    response.checkedCount += 1
                    var onHand: Int64 = 0
                    var reserved: Int64 = 0
                    var expected: Int64 = 1
                    var broken = false
                    let entries = RecordQuery<StockLedgerEntry>(
                        prefix: [.string(level.locationID), .string(level.skuID)],
                        pageSize: 500
                    )
                    try await reader.forEachPage(InventoryTables.ledger, entries) { entries in
                        for entry in entries {
                            onHand += entry.onHandDelta
                            reserved += entry.reservedDelta
                            if entry.sequence != expected { broken = true }
                            expected += 1
                        }
                    }
                    if expected - 1 != level.ledgerSequence { broken = true }
                    let active = held[[level.locationID, level.skuID]] ?? 0
                    let consistent =
                        onHand == level.onHand && reserved == level.reserved && active == level.reserved && !broken
                        && level.available == level.onHand - level.reserved
                    guard !consistent else { continue }
                    response.discrepancyCount += 1
                    if response.discrepancies.count < limit {
                        response.discrepancies.append(
                            StockLedgerDiscrepancy(
                                skuID: level.skuID,
                                locationID: level.locationID,
                                onHand: level.onHand,
                                ledgerOnHand: onHand,
                                reserved: level.reserved,
                                ledgerReserved: reserved,
                                activeReservationQuantity: active,
                                sequenceBroken: broken
                            )
                        )
                    } else {
                        response.truncated = true
                    }
                }
            }
            return response
        }
    }
}
