import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension InventoryServiceProvider {
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
                lineCost: Money(
                    minorUnits: try Checked.multiply(
                        cost.minorUnits,
                        draft.orderedQuantity,
                        field: "\(field)[\(index)].unit_cost"
                    ),
                    currency: currency
                )
            )
        }
    }

    /// The order's total; INVALID_ARGUMENT when the lines together cost more than a
    /// price can say.
    private func total(_ lines: [PurchaseOrderLine], field: String) throws -> Money {
        Money(
            minorUnits: try Checked.sum(lines.map { $0.lineCost?.minorUnits ?? 0 }, field: "\(field): total cost"),
            currency: currency
        )
    }

    /// The life of a purchase order: a draft is submitted (or dropped), deliveries
    /// are booked against it until all arrived; anything not yet received can be
    /// cancelled.
    static let purchaseOrderStatuses = StatusMachine<PurchaseOrderStatus>(
        "purchase order",
        [
            .draft: [.submitted, .cancelled], .submitted: [.partiallyReceived, .received, .cancelled],
            .partiallyReceived: [.received, .cancelled],
        ]
    )

    public func createPurchaseOrder(
        request: CreatePurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> PurchaseOrder {
        let lines = try purchaseLines(request.lines, field: "lines")
        let date = try request.expectedDeliveryDate.map { try Validate.date($0, field: "expected_delivery_date") }
        let reference = try Validate.text(request.supplierReference, field: "supplier_reference", max: 64)
        let note = try Validate.text(request.note, field: "note", max: 1024)
        let actor = try actor(context, request.actor)
        let order = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            let supplier = try await self.supplier(transaction, request.supplierID, field: "supplier_id")
            let location = try await transaction.require(
                InventoryTables.locations,
                request.locationID,
                field: "location_id"
            )
            for (index, line) in lines.enumerated() {
                try await requireCatalogSku(transaction, line.skuID, field: "lines[\(index)].sku_id")
            }
            let time = transaction.now
            var order = PurchaseOrder(
                id: RecordIDs.make(prefix: "po"),
                supplierID: supplier.id,
                locationID: location.id,
                status: .unspecified,
                lines: lines,
                totalCost: try total(lines, field: "lines"),
                expectedDeliveryDate: date,
                supplierReference: reference,
                note: note,
                createdBy: actor,
                createdAt: time,
                updatedAt: time,
                version: 1
            )
            Self.purchaseOrderStatuses.start(&order, at: .draft, time: time, actor: actor)
            try await transaction.insert(InventoryTables.purchaseOrders, order)
            return order
        }
        return order
    }

    public func getPurchaseOrder(
        request: GetPurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> PurchaseOrder {
        try await store.latest.require(InventoryTables.purchaseOrders, request.id, field: "id")
    }

    public func listPurchaseOrders(
        request: ListPurchaseOrdersRequest,
        context: RPCServerContext
    ) async throws -> ListPurchaseOrdersResponse {
        let supplier = try request.supplierID.map { try Validate.id($0, field: "supplier_id") }
        let location = try request.locationID.map { try Validate.id($0, field: "location_id") }
        try Validate.known(request.statuses, field: "statuses", noun: "status")
        let statuses = Set(request.statuses)
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let page = try await store.newestFirst(
            InventoryTables.purchaseOrders,
            by: [
                (InventoryTables.purchaseOrderSupplier, supplier),
                (InventoryTables.purchaseOrderLocation, location),
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

    public func updatePurchaseOrder(
        request: UpdatePurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> PurchaseOrder {
        let lines = try request.lines.map { try purchaseLines($0.lines, field: "lines.lines") }
        let date = try request.expectedDeliveryDate.map { try Validate.date($0, field: "expected_delivery_date") }
        let reference = try request.supplierReference.map {
            try Validate.text($0, field: "supplier_reference", max: 64)
        }
        let note = try request.note.map { try Validate.text($0, field: "note", max: 1024) }
        _ = try actor(context, request.actor)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            try await transaction.modify(
                InventoryTables.purchaseOrders,
                request.id,
                field: "id",
                expectedVersion: request.expectedVersion
            ) { order in
                try Self.purchaseOrderStatuses.require(
                    order.status,
                    in: [.draft],
                    to: "be changed",
                    field: "id",
                    id: order.id
                )
                if let supplier = request.supplierID {
                    order.supplierID = try await self.supplier(transaction, supplier, field: "supplier_id").id
                }
                if let location = request.locationID {
                    order.locationID = try await transaction.require(
                        InventoryTables.locations,
                        location,
                        field: "location_id"
                    ).id
                }
                if let lines {
                    for (index, line) in lines.enumerated() {
                        try await requireCatalogSku(transaction, line.skuID, field: "lines.lines[\(index)].sku_id")
                    }
                    order.lines = lines
                    order.totalCost = try total(lines, field: "lines.lines")
                }
                if let date { order.expectedDeliveryDate = date }
                if let reference { order.supplierReference = reference }
                if let note { order.note = note }
            }
        }
    }

    public func submitPurchaseOrder(
        request: SubmitPurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> PurchaseOrder {
        let actor = try actor(context, request.actor)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var order = try await transaction.require(
                InventoryTables.purchaseOrders,
                request.id,
                field: "id",
                expectedVersion: request.expectedVersion
            )
            guard order.status != .submitted else { return order }
            try Self.purchaseOrderStatuses.move(&order, to: .submitted, field: "id", at: transaction.now, actor: actor)
            order.submittedAt = transaction.now
            try await transaction.updateVersioned(InventoryTables.purchaseOrders, &order)
            return order
        }
    }

    public func cancelPurchaseOrder(
        request: CancelPurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> PurchaseOrder {
        let reason = try Validate.text(request.reason, field: "reason", min: 1, max: 1024)
        let actor = try actor(context, request.actor)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var order = try await transaction.require(
                InventoryTables.purchaseOrders,
                request.id,
                field: "id",
                expectedVersion: request.expectedVersion
            )
            guard order.status != .cancelled else { return order }
            try Self.purchaseOrderStatuses.move(
                &order,
                to: .cancelled,
                field: "id",
                at: transaction.now,
                actor: actor,
                note: reason
            )
            order.cancelledAt = transaction.now
            try await transaction.updateVersioned(InventoryTables.purchaseOrders, &order)
            return order
        }
    }

    public func receivePurchaseOrder(
        request: ReceivePurchaseOrderRequest,
        context: RPCServerContext
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
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: Self.stockLocks(request.lines.map { (location, $0.skuID) })
        ) { transaction in
            var order = try await transaction.require(InventoryTables.purchaseOrders, id, field: "purchase_order_id")
            try Self.purchaseOrderStatuses.require(
                order.status,
                in: [.submitted, .partiallyReceived],
                to: "take deliveries",
                field: "purchase_order_id",
                id: id
            )
            let time = transaction.now
            let book = StockBook(
                transaction: transaction,
                actor: actor,
                requestID: request.requestID,
                alerts: alertFeed
            )
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
                try Self.purchaseOrderStatuses.move(
                    &order,
                    to: next,
                    field: "purchase_order_id",
                    at: time,
                    actor: actor,
                    note: note
                )
            }
            if complete { order.receivedAt = time }
            try await transaction.updateVersioned(InventoryTables.purchaseOrders, &order)
            response.purchaseOrder = order
            return response
        }
    }
}
