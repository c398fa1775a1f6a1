import O2OMessages
import O2ORPC
import O2OStorage

extension InventoryServiceProvider {
    func requireTransfer(_ reader: some RecordReading, _ id: String, field: String) async throws -> StockTransfer {
        let id = try Validate.id(id, field: field)
        guard let transfer = try await reader.get(InventoryTables.transfers, .string(id)) else {
            throw RPCError(code: .notFound, message: "\(field): no stock transfer '\(id)'")
        }
        return transfer
    }

    private func change(
        _ transfer: inout StockTransfer,
        to status: StockTransferStatus,
        actor: ChangeActor,
        note: String = "",
        at time: Timestamp
    ) {
        transfer.statusHistory.append(
            StockTransferStatusChange(
                fromStatus: transfer.status,
                toStatus: status,
                changedAt: time,
                actor: actor,
                note: note
            )
        )
        transfer.status = status
        transfer.updatedAt = time
        transfer.version += 1
    }

    func createStockTransferImpl(
        _ request: CreateStockTransferRequest,
        _ context: RPCServerContext
    ) async throws -> StockTransfer {
        let from = try Validate.id(request.fromLocationID, field: "from_location_id")
        let to = try Validate.id(request.toLocationID, field: "to_location_id")
        guard from != to else {
            throw RPCError.invalidArgument(field: "to_location_id", "must differ from from_location_id")
        }
        let lines = try basketLines(request.lines, field: "lines", max: 200)
        let note = try Validate.text(request.note, field: "note", max: 1024)
        let actor = try actor(context, request.actor)
        let (transfer, _) = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            _ = try await requireLocation(transaction, from, field: "from_location_id")
            _ = try await requireLocation(transaction, to, field: "to_location_id")
            let time = now()
            var transfer = StockTransfer(
                id: RecordIDs.make(prefix: "trf"),
                fromLocationID: from,
                toLocationID: to,
                status: .unspecified,
                lines: lines.map { StockTransferLine(skuID: $0.skuID, quantity: $0.quantity) },
                note: note,
                createdBy: actor,
                createdAt: time,
                updatedAt: time
            )
            change(&transfer, to: .requested, actor: actor, note: note, at: time)
            try await transaction.insert(InventoryTables.transfers, transfer)
            return transfer
        }
        return transfer
    }

    func getStockTransferImpl(_ request: GetStockTransferRequest) async throws -> StockTransfer {
        try await requireTransfer(store.latest, request.id, field: "id")
    }

    func listStockTransfersImpl(_ request: ListStockTransfersRequest) async throws -> ListStockTransfersResponse {
        let from = try request.fromLocationID.map { try Validate.id($0, field: "from_location_id") }
        let to = try request.toLocationID.map { try Validate.id($0, field: "to_location_id") }
        if case .unrecognized(let number) = request.status {
            throw RPCError.invalidArgument(field: "status", "unknown status \(number)")
        }
        let status = request.status
        let page = try await newestFirst(
            InventoryTables.transfers,
            by: [(InventoryTables.transfers.indexes[0], from), (InventoryTables.transfers.indexes[1], to)],
            page: request.page,
            filters: [from ?? "", to ?? "", "\(status.rawValue)"],
            predicate: { transfer in
                (status == .unspecified || transfer.status == status) && (to == nil || transfer.toLocationID == to!)
            }
        )
        return ListStockTransfersResponse(stockTransfers: page.records, nextPageToken: page.nextPageToken)
    }

    func shipStockTransferImpl(
        _ request: ShipStockTransferRequest,
        _ context: RPCServerContext
    ) async throws -> StockTransfer {
        let id = try Validate.id(request.id, field: "id")
        let reference = try Validate.text(request.shippingReference, field: "shipping_reference", max: 64)
        let actor = try actor(context, request.actor)
        let preview = try await store.latest.get(InventoryTables.transfers, .string(id))
        let pairs = preview.map { transfer in transfer.lines.map { (transfer.fromLocationID, $0.skuID) } } ?? []
        let (transfer, replayed) = try await withStockLocks(pairs) { release in
            try await store.mutation(context, requestID: request.requestID, request: request, applied: { release() }) {
                transaction in
                var transfer = try await requireTransfer(transaction, id, field: "id")
                switch transfer.status {
                case .inTransit: return transfer
                case .requested: break
                default:
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "id: stock transfer '\(id)' is \(transfer.status.displayName) and cannot be shipped"
                    )
                }
                let lines = transfer.lines.map { StockBasketLine(skuID: $0.skuID, quantity: $0.quantity) }
                let levels = try await transaction.get(
                    InventoryTables.levels,
                    lines.map { [.string(transfer.fromLocationID), .string($0.skuID)] }
                )
                let available = levels.map { $0?.available ?? 0 }
                guard zip(lines, available).allSatisfy({ $0.quantity <= $1 }) else {
                    throw shortage(lines, available: available, at: transfer.fromLocationID)
                }
                let time = now()
                let book = StockBook(transaction: transaction, actor: actor, requestID: request.requestID, now: time)
                for line in lines {
                    _ = try await book.apply(
                        StockChange(
                            skuID: line.skuID,
                            locationID: transfer.fromLocationID,
                            reason: .transferOut,
                            onHandDelta: -line.quantity,
                            reference: StockReference(kind: .transfer, id: id),
                            note: reference
                        )
                    )
                }
                change(&transfer, to: .inTransit, actor: actor, note: reference, at: time)
                transfer.shippingReference = reference
                transfer.shippedAt = time
                try await transaction.update(InventoryTables.transfers, transfer)
                return transfer
            }
        }
        if !replayed { alertFeed.publish() }
        return transfer
    }

    func receiveStockTransferImpl(
        _ request: ReceiveStockTransferRequest,
        _ context: RPCServerContext
    ) async throws -> StockTransfer {
        let id = try Validate.id(request.id, field: "id")
        let note = try Validate.text(request.note, field: "note", max: 1024)
        let actor = try actor(context, request.actor)
        let preview = try await store.latest.get(InventoryTables.transfers, .string(id))
        let pairs = preview.map { transfer in transfer.lines.map { (transfer.toLocationID, $0.skuID) } } ?? []
        let (transfer, replayed) = try await withStockLocks(pairs) { release in
            try await store.mutation(context, requestID: request.requestID, request: request, applied: { release() }) {
                transaction in
                var transfer = try await requireTransfer(transaction, id, field: "id")
                switch transfer.status {
                case .received: return transfer
                case .inTransit: break
                default:
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "id: stock transfer '\(id)' is \(transfer.status.displayName) and cannot be received"
                    )
                }
                // What arrived, per line: all of it, or what the request lists for every line.
                var arrived = transfer.lines.map(\.quantity)
                if !request.lines.isEmpty {
                    var seen: Set<String> = []
                    for (index, receipt) in request.lines.enumerated() {
                        guard let line = transfer.lines.firstIndex(where: { $0.skuID == receipt.skuID }) else {
                            throw RPCError.invalidArgument(
                                field: "lines[\(index)].sku_id",
                                "SKU '\(receipt.skuID)' is not on transfer '\(id)'"
                            )
                        }
                        guard seen.insert(receipt.skuID).inserted else {
                            throw RPCError.invalidArgument(
                                field: "lines[\(index)].sku_id",
                                "SKU '\(receipt.skuID)' appears on more than one line"
                            )
                        }
                        guard receipt.receivedQuantity >= 0 else {
                            throw RPCError.invalidArgument(
                                field: "lines[\(index)].received_quantity",
                                "must be 0 or more, got \(receipt.receivedQuantity)"
                            )
                        }
                        guard receipt.receivedQuantity <= transfer.lines[line].quantity else {
                            throw RPCError(
                                code: .failedPrecondition,
                                message:
                                    "lines[\(index)].received_quantity: \(receipt.receivedQuantity) received, but only \(transfer.lines[line].quantity) were shipped"
                            )
                        }
                        arrived[line] = receipt.receivedQuantity
                    }
                    if let missing = transfer.lines.first(where: { !seen.contains($0.skuID) }) {
                        throw RPCError.invalidArgument(
                            field: "lines",
                            "every line must be listed; SKU '\(missing.skuID)' is missing"
                        )
                    }
                }
                let time = now()
                let book = StockBook(transaction: transaction, actor: actor, requestID: request.requestID, now: time)
                for (index, quantity) in arrived.enumerated() {
                    transfer.lines[index].receivedQuantity = quantity
                    guard quantity > 0 else { continue }
                    _ = try await book.apply(
                        StockChange(
                            skuID: transfer.lines[index].skuID,
                            locationID: transfer.toLocationID,
                            reason: .transferIn,
                            onHandDelta: quantity,
                            reference: StockReference(kind: .transfer, id: id),
                            note: note
                        )
                    )
                }
                change(&transfer, to: .received, actor: actor, note: note, at: time)
                transfer.receivedAt = time
                try await transaction.update(InventoryTables.transfers, transfer)
                return transfer
            }
        }
        if !replayed { alertFeed.publish() }
        return transfer
    }

    func cancelStockTransferImpl(
        _ request: CancelStockTransferRequest,
        _ context: RPCServerContext
    ) async throws -> StockTransfer {
        let reason = try Validate.text(request.reason, field: "reason", max: 1024)
        let actor = try actor(context, request.actor)
        let (transfer, _) = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            var transfer = try await requireTransfer(transaction, request.id, field: "id")
            switch transfer.status {
            case .cancelled: return transfer
            case .requested: break
            default:
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "id: stock transfer '\(transfer.id)' is \(transfer.status.displayName); only a REQUESTED one can be cancelled"
                )
            }
            let time = now()
            change(&transfer, to: .cancelled, actor: actor, note: reason, at: time)
            transfer.cancelledAt = time
            try await transaction.update(InventoryTables.transfers, transfer)
            return transfer
        }
        return transfer
    }
}
