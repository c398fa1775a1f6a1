import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension InventoryServiceProvider {
    /// The life of a transfer: requested, then shipped (stock leaves the source) and
    /// received (stock arrives), or cancelled before it ships.
    static let transferStatuses = StatusMachine<StockTransferStatus>(
        "stock transfer",
        [.requested: [.inTransit, .cancelled], .inTransit: [.received]]
    )

    public func createStockTransfer(
        request: CreateStockTransferRequest,
        context: RPCServerContext
    ) async throws -> StockTransfer {
        let from = try Validate.id(request.fromLocationID, field: "from_location_id")
        let to = try Validate.id(request.toLocationID, field: "to_location_id")
        guard from != to else {
            throw RPCError.invalidArgument(field: "to_location_id", "must differ from from_location_id")
        }
        let lines = try basketLines(request.lines, field: "lines", max: 200)
        let note = try Validate.text(request.note, field: "note", max: 1024)
        let actor = try actor(context, request.actor)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            _ = try await transaction.require(InventoryTables.locations, from, field: "from_location_id")
            _ = try await transaction.require(InventoryTables.locations, to, field: "to_location_id")
            let time = transaction.now
            var transfer = StockTransfer(
                id: RecordIDs.make(prefix: "trf"),
                fromLocationID: from,
                toLocationID: to,
                status: .unspecified,
                lines: lines.map { StockTransferLine(skuID: $0.skuID, quantity: $0.quantity) },
                note: note,
                createdBy: actor,
                createdAt: time,
                updatedAt: time,
                version: 1
            )
            Self.transferStatuses.start(&transfer, at: .requested, time: time, actor: actor, note: note)
            try await transaction.insert(InventoryTables.transfers, transfer)
            return transfer
        }
    }

    public func getStockTransfer(
        request: GetStockTransferRequest,
        context: RPCServerContext
    ) async throws -> StockTransfer {
        try await store.latest.require(InventoryTables.transfers, request.id, field: "id")
    }

    public func listStockTransfers(
        request: ListStockTransfersRequest,
        context: RPCServerContext
    ) async throws -> ListStockTransfersResponse {
        let from = try request.fromLocationID.map { try Validate.id($0, field: "from_location_id") }
        let to = try request.toLocationID.map { try Validate.id($0, field: "to_location_id") }
        let status = try Validate.known(request.status, field: "status", noun: "status")
        let page = try await store.newestFirst(
            InventoryTables.transfers,
            by: [(InventoryTables.transferFrom, from), (InventoryTables.transferTo, to)],
            page: request.page,
            filters: [from ?? "", to ?? "", "\(status.rawValue)"],
            predicate: { transfer in
                (status == .unspecified || transfer.status == status) && (to == nil || transfer.toLocationID == to!)
            }
        )
        return ListStockTransfersResponse(stockTransfers: page.records, nextPageToken: page.nextPageToken)
    }

    public func shipStockTransfer(
        request: ShipStockTransferRequest,
        context: RPCServerContext
    ) async throws -> StockTransfer {
        let id = try Validate.id(request.id, field: "id")
        let reference = try Validate.text(request.shippingReference, field: "shipping_reference", max: 64)
        let actor = try actor(context, request.actor)
        let preview = try await store.latest.get(InventoryTables.transfers, .string(id))
        let pairs = preview.map { transfer in transfer.lines.map { (transfer.fromLocationID, $0.skuID) } } ?? []
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: Self.stockLocks(pairs)
        ) { transaction in
            var transfer = try await transaction.require(InventoryTables.transfers, id, field: "id")
            guard transfer.status != .inTransit else { return transfer }
            try Self.transferStatuses.check(transfer.status, .inTransit, field: "id", id: id)
            let lines = transfer.lines.map { StockBasketLine(skuID: $0.skuID, quantity: $0.quantity) }
            let levels = try await transaction.get(
                InventoryTables.levels,
                lines.map { [.string(transfer.fromLocationID), .string($0.skuID)] }
            )
            let available = levels.map { $0?.available ?? 0 }
            guard zip(lines, available).allSatisfy({ $0.quantity <= $1 }) else {
                throw shortage(lines, available: available, at: transfer.fromLocationID)
            }
            let time = transaction.now
            let book = StockBook(
                transaction: transaction,
                actor: actor,
                requestID: request.requestID,
                alerts: alertFeed
            )
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
            try Self.transferStatuses.move(
                &transfer,
                to: .inTransit,
                field: "id",
                at: time,
                actor: actor,
                note: reference
            )
            transfer.shippingReference = reference
            transfer.shippedAt = time
            try await transaction.updateVersioned(InventoryTables.transfers, &transfer)
            return transfer
        }
    }

    public func receiveStockTransfer(
        request: ReceiveStockTransferRequest,
        context: RPCServerContext
    ) async throws -> StockTransfer {
        let id = try Validate.id(request.id, field: "id")
        let note = try Validate.text(request.note, field: "note", max: 1024)
        let actor = try actor(context, request.actor)
        let preview = try await store.latest.get(InventoryTables.transfers, .string(id))
        let pairs = preview.map { transfer in transfer.lines.map { (transfer.toLocationID, $0.skuID) } } ?? []
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: Self.stockLocks(pairs)
        ) { transaction in
            var transfer = try await transaction.require(InventoryTables.transfers, id, field: "id")
            guard transfer.status != .received else { return transfer }
            try Self.transferStatuses.check(transfer.status, .received, field: "id", id: id)
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
            let time = transaction.now
            let book = StockBook(
                transaction: transaction,
                actor: actor,
                requestID: request.requestID,
                alerts: alertFeed
            )
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
            try Self.transferStatuses.move(&transfer, to: .received, field: "id", at: time, actor: actor, note: note)
            transfer.receivedAt = time
            try await transaction.updateVersioned(InventoryTables.transfers, &transfer)
            return transfer
        }
    }

    public func cancelStockTransfer(
        request: CancelStockTransferRequest,
        context: RPCServerContext
    ) async throws -> StockTransfer {
        let reason = try Validate.text(request.reason, field: "reason", max: 1024)
        let actor = try actor(context, request.actor)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var transfer = try await transaction.require(InventoryTables.transfers, request.id, field: "id")
            guard transfer.status != .cancelled else { return transfer }
            try Self.transferStatuses.move(
                &transfer,
                to: .cancelled,
                field: "id",
                at: transaction.now,
                actor: actor,
                note: reason
            )
            transfer.cancelledAt = transaction.now
            try await transaction.updateVersioned(InventoryTables.transfers, &transfer)
            return transfer
        }
    }
}
