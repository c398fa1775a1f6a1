import O2OMessages
import O2ORPC
import O2OStorage

extension InventoryServiceProvider {
    /// A page of a table, newest first (ids sort by creation time): through the first
    /// index given a value, else the whole table.
    func newestFirst<Record>(
        _ table: RecordTable<Record>,
        by choices: [(index: RecordIndex<Record>, value: String?)],
        page: PageRequest?,
        filters: [String],
        predicate: (@Sendable (Record) -> Bool)?
    ) async throws -> RecordPage<Record> {
        let pageSize = try Paging.pageSize(page, field: "page")
        let query: RecordQuery<Record>
        if let choice = choices.first(where: { $0.value != nil }) {
            query = RecordQuery(
                index: choice.index,
                prefix: [.string(choice.value!)],
                direction: .reverse,
                pageSize: pageSize,
                pageToken: page?.pageToken,
                filters: filters,
                predicate: predicate
            )
        } else {
            query = RecordQuery(
                direction: .reverse,
                pageSize: pageSize,
                pageToken: page?.pageToken,
                filters: filters,
                predicate: predicate
            )
        }
        return try await store.read { try await $0.page(table, query) }
    }

    func requireSupplier(_ reader: some RecordReading, _ id: String, field: String) async throws -> Supplier {
        let id = try Validate.id(id, field: field)
        guard let supplier = try await reader.get(CatalogTables.suppliers, .string(id)) else {
            throw RPCError(code: .notFound, message: "\(field): no supplier '\(id)'")
        }
        return supplier
    }

    func requireCatalogSku(_ reader: some RecordReading, _ id: String, field: String) async throws {
        guard try await reader.get(CatalogTables.skus, .string(id)) != nil else {
            throw RPCError(code: .notFound, message: "\(field): the catalog has no SKU '\(id)'")
        }
    }

    func requirePurchaseOrder(_ reader: some RecordReading, _ id: String, field: String) async throws -> PurchaseOrder {
        let id = try Validate.id(id, field: field)
        guard let order = try await reader.get(InventoryTables.purchaseOrders, .string(id)) else {
            throw RPCError(code: .notFound, message: "\(field): no purchase order '\(id)'")
        }
        return order
    }

    /// Checked purchase order lines with their costs.
    private func purchaseLines(_ drafts: [PurchaseOrderLineDraft], field: String) throws -> [PurchaseOrderLine] {
        try perSkuLines(drafts, field: field, max: 200, sku: \.skuID) { draft, path in
            guard (1...1_000_000).contains(draft.orderedQuantity) else {
                throw RPCError.invalidArgument(
                    field: "\(path).ordered_quantity",
                    "must be 1 to 1000000, got \(draft.orderedQuantity)"
                )
            }
        }
        return try drafts.enumerated().map { index, draft in
            let cost = try Validate.money(draft.unitCost, field: "\(field)[\(index)].unit_cost", currency: currency)!
            return PurchaseOrderLine(
                skuID: draft.skuID,
                orderedQuantity: draft.orderedQuantity,
                unitCost: cost,
                lineCost: Money(minorUnits: cost.minorUnits * draft.orderedQuantity, currency: currency)
            )
        }
    }

    private func total(_ lines: [PurchaseOrderLine]) -> Money {
        Money(minorUnits: lines.reduce(0) { $0 + ($1.lineCost?.minorUnits ?? 0) }, currency: currency)
    }

    private func change(
        _ order: inout PurchaseOrder,
        to status: PurchaseOrderStatus,
        actor: ChangeActor,
        note: String = "",
        at time: Timestamp
    ) {
        order.statusHistory.append(
            PurchaseOrderStatusChange(
                fromStatus: order.status,
                toStatus: status,
                changedAt: time,
                actor: actor,
                note: note
            )
        )
        order.status = status
        order.updatedAt = time
        order.version += 1
    }

    func createPurchaseOrderImpl(
        _ request: CreatePurchaseOrderRequest,
        _ context: RPCServerContext
    ) async throws -> PurchaseOrder {
        let lines = try purchaseLines(request.lines, field: "lines")
        let date = try request.expectedDeliveryDate.map { try Validate.date($0, field: "expected_delivery_date") }
        let reference = try Validate.text(request.supplierReference, field: "supplier_reference", max: 64)
        let note = try Validate.text(request.note, field: "note", max: 1024)
        let actor = try actor(context, request.actor)
        let (order, _) = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            let supplier = try await requireSupplier(transaction, request.supplierID, field: "supplier_id")
            let location = try await requireLocation(transaction, request.locationID, field: "location_id")
            for (index, line) in lines.enumerated() {
                try await requireCatalogSku(transaction, line.skuID, field: "lines[\(index)].sku_id")
            }
            let time = now()
            var order = PurchaseOrder(
                id: RecordIDs.make(prefix: "po"),
                supplierID: supplier.id,
                locationID: location.id,
                status: .unspecified,
                lines: lines,
                totalCost: total(lines),
                expectedDeliveryDate: date,
                supplierReference: reference,
                note: note,
                createdBy: actor,
                createdAt: time,
                updatedAt: time,
                version: 0
            )
            change(&order, to: .draft, actor: actor, at: time)
            try await transaction.insert(InventoryTables.purchaseOrders, order)
            return order
        }
        return order
    }

    func getPurchaseOrderImpl(_ request: GetPurchaseOrderRequest) async throws -> PurchaseOrder {
        try await requirePurchaseOrder(store.latest, request.id, field: "id")
    }

    func listPurchaseOrdersImpl(_ request: ListPurchaseOrdersRequest) async throws -> ListPurchaseOrdersResponse {
        let supplier = try request.supplierID.map { try Validate.id($0, field: "supplier_id") }
        let location = try request.locationID.map { try Validate.id($0, field: "location_id") }
        for (index, status) in request.statuses.enumerated() {
            if case .unrecognized(let number) = status {
                throw RPCError.invalidArgument(field: "statuses[\(index)]", "unknown status \(number)")
            }
        }
        let statuses = Set(request.statuses)
        let start = request.created?.start.map(InventoryTables.nanos)
        let end = request.created?.end.map(InventoryTables.nanos)
        let page = try await newestFirst(
            InventoryTables.purchaseOrders,
            by: [
                (InventoryTables.purchaseOrders.indexes[0], supplier),
                (InventoryTables.purchaseOrders.indexes[1], location),
            ],
            page: request.page,
            filters: [
                supplier ?? "", location ?? "", request.statuses.map { "\($0.rawValue)" }.joined(separator: ","),
                "\(start ?? -1)", "\(end ?? -1)",
            ],
            predicate: { order in
                let time = InventoryTables.nanos(order.createdAt)
                return (statuses.isEmpty || statuses.contains(order.status))
                    && (location == nil || order.locationID == location!)
                    && (start.map { time >= $0 } ?? true) && (end.map { time < $0 } ?? true)
            }
        )
        return ListPurchaseOrdersResponse(purchaseOrders: page.records, nextPageToken: page.nextPageToken)
    }

    func updatePurchaseOrderImpl(
        _ request: UpdatePurchaseOrderRequest,
        _ context: RPCServerContext
    ) async throws -> PurchaseOrder {
        let lines = try request.lines.map { try purchaseLines($0.lines, field: "lines.lines") }
        let date = try request.expectedDeliveryDate.map { try Validate.date($0, field: "expected_delivery_date") }
        let reference = try request.supplierReference.map {
            try Validate.text($0, field: "supplier_reference", max: 64)
        }
        let note = try request.note.map { try Validate.text($0, field: "note", max: 1024) }
        _ = try actor(context, request.actor)
        let (order, _) = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            var order = try await requirePurchaseOrder(transaction, request.id, field: "id")
            try Validate.version(
                request.expectedVersion,
                actual: order.version,
                subject: "purchase order '\(order.id)'"
            )
            guard order.status == .draft else {
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "id: purchase order '\(order.id)' is \(order.status.displayName); only a DRAFT can be changed"
                )
            }
            if let supplier = request.supplierID {
                order.supplierID = try await requireSupplier(transaction, supplier, field: "supplier_id").id
            }
            if let location = request.locationID {
                order.locationID = try await requireLocation(transaction, location, field: "location_id").id
            }
            if let lines {
                for (index, line) in lines.enumerated() {
                    try await requireCatalogSku(transaction, line.skuID, field: "lines.lines[\(index)].sku_id")
                }
                order.lines = lines
                order.totalCost = total(lines)
            }
            if let date { order.expectedDeliveryDate = date }
            if let reference { order.supplierReference = reference }
            if let note { order.note = note }
            order.updatedAt = now()
            order.version += 1
            try await transaction.update(InventoryTables.purchaseOrders, order)
            return order
        }
        return order
    }

    func submitPurchaseOrderImpl(
        _ request: SubmitPurchaseOrderRequest,
        _ context: RPCServerContext
    ) async throws -> PurchaseOrder {
        let actor = try actor(context, request.actor)
        let (order, _) = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            var order = try await requirePurchaseOrder(transaction, request.id, field: "id")
            try Validate.version(
                request.expectedVersion,
                actual: order.version,
                subject: "purchase order '\(order.id)'"
            )
            switch order.status {
            case .submitted: return order
            case .draft: break
            default:
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "id: purchase order '\(order.id)' is \(order.status.displayName); only a DRAFT can be submitted"
                )
            }
            let time = now()
            change(&order, to: .submitted, actor: actor, at: time)
            order.submittedAt = time
            try await transaction.update(InventoryTables.purchaseOrders, order)
            return order
        }
        return order
    }

    func cancelPurchaseOrderImpl(
        _ request: CancelPurchaseOrderRequest,
        _ context: RPCServerContext
    ) async throws -> PurchaseOrder {
        let reason = try Validate.text(request.reason, field: "reason", min: 1, max: 1024)
        let actor = try actor(context, request.actor)
        let (order, _) = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            var order = try await requirePurchaseOrder(transaction, request.id, field: "id")
            try Validate.version(
                request.expectedVersion,
                actual: order.version,
                subject: "purchase order '\(order.id)'"
            )
            switch order.status {
            case .cancelled: return order
            case .received:
                throw RPCError(
                    code: .failedPrecondition,
                    message: "id: purchase order '\(order.id)' is RECEIVED and cannot be cancelled"
                )
            default: break
            }
            let time = now()
            change(&order, to: .cancelled, actor: actor, note: reason, at: time)
            order.cancelledAt = time
            try await transaction.update(InventoryTables.purchaseOrders, order)
            return order
        }
        return order
    }

    func receivePurchaseOrderImpl(
        _ request: ReceivePurchaseOrderRequest,
        _ context: RPCServerContext
    ) async throws -> ReceivePurchaseOrderResponse {
        let id = try Validate.id(request.purchaseOrderID, field: "purchase_order_id")
        try perSkuLines(request.lines, field: "lines", max: 200, sku: \.skuID) { line, path in
            guard line.quantity >= 1 else {
                throw RPCError.invalidArgument(field: "\(path).quantity", "must be 1 or more, got \(line.quantity)")
            }
        }
        let note = try Validate.text(request.note, field: "note", max: 1024)
        let actor = try actor(context, request.actor)
        let location = try await store.latest.get(InventoryTables.purchaseOrders, .string(id))?.locationID ?? ""
        let (response, replayed) = try await withStockLocks(request.lines.map { (location, $0.skuID) }) { release in
            try await store.mutation(context, requestID: request.requestID, request: request, applied: { release() }) {
                transaction in
                var order = try await requirePurchaseOrder(transaction, id, field: "purchase_order_id")
                guard order.status == .submitted || order.status == .partiallyReceived else {
                    throw RPCError(
                        code: .failedPrecondition,
                        message:
                            "purchase_order_id: purchase order '\(id)' is \(order.status.displayName); deliveries are booked against SUBMITTED or PARTIALLY_RECEIVED orders"
                    )
                }
                let time = now()
                let book = StockBook(transaction: transaction, actor: actor, requestID: request.requestID, now: time)
                var response = ReceivePurchaseOrderResponse()
                for (index, receipt) in request.lines.enumerated() {
                    guard let lineIndex = order.lines.firstIndex(where: { $0.skuID == receipt.skuID }) else {
                        throw RPCError.invalidArgument(
                            field: "lines[\(index)].sku_id",
                            "SKU '\(receipt.skuID)' is not on purchase order '\(id)'"
                        )
                    }
                    let open = order.lines[lineIndex].orderedQuantity - order.lines[lineIndex].receivedQuantity
                    guard receipt.quantity <= open else {
                        throw RPCError(
                            code: .failedPrecondition,
                            message:
                                "lines[\(index)].quantity: over-receipt of SKU '\(receipt.skuID)': \(receipt.quantity) received, \(open) still expected",
                            fieldViolations: [.init(field: "lines[\(index)].quantity", description: "at most \(open)")]
                        )
                    }
                    order.lines[lineIndex].receivedQuantity += receipt.quantity
                    let outcome = try await book.apply(
                        StockChange(
                            skuID: receipt.skuID,
                            locationID: order.locationID,
                            reason: .receive,
                            onHandDelta: receipt.quantity,
                            reference: StockReference(kind: .purchaseOrder, id: id),
                            note: note
                        )
                    )
                    response.entries.append(outcome.entry)
                }
                let complete = order.lines.allSatisfy { $0.receivedQuantity == $0.orderedQuantity }
                let next: PurchaseOrderStatus = complete ? .received : .partiallyReceived
                if next != order.status {
                    change(&order, to: next, actor: actor, note: note, at: time)
                } else {
                    order.updatedAt = time
                    order.version += 1
                }
                if complete { order.receivedAt = time }
                try await transaction.update(InventoryTables.purchaseOrders, order)
                response.purchaseOrder = order
                return response
            }
        }
        if !replayed { alertFeed.publish() }
        return response
    }
}
