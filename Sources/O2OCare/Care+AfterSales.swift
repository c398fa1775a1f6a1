import O2OInventory
public import O2OMessages
import O2OOrders
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension CareServiceProvider {
    public func createAfterSalesCase(
        request: CreateAfterSalesCaseRequest,
        context: RPCServerContext
    ) async throws -> AfterSalesCase {
        try RequestIDs.validate(request.requestID)
        let kind = try Validate.known(request.kind, field: "kind", noun: "kind")
        guard kind != .unspecified else { throw RPCError.invalidArgument(field: "kind", "is required") }
        let customerID = try Validate.id(request.customerID, field: "customer_id")
        let orderID = try Validate.id(request.orderID, field: "order_id")
        let ticketID = request.ticketID.isEmpty ? "" : try Validate.id(request.ticketID, field: "ticket_id")
        let description = try Validate.text(request.description, field: "description", max: 2_000)
        guard (1...50).contains(request.lines.count) else {
            throw RPCError.invalidArgument(field: "lines", "must be 1 to 50 lines, got \(request.lines.count)")
        }
        var lines: [AfterSalesLine] = []
        for (index, input) in request.lines.enumerated() {
            let path = "lines[\(index)]"
            let sku = try Validate.id(input.skuID, field: "\(path).sku_id")
            guard !lines.contains(where: { $0.skuID == sku }) else {
                throw RPCError.invalidArgument(field: "\(path).sku_id", "'\(sku)' is there twice")
            }
            guard (1...10_000).contains(input.quantity) else {
                throw RPCError.invalidArgument(field: "\(path).quantity", "must be 1 to 10000, got \(input.quantity)")
            }
            let reason = try Validate.known(input.reason, field: "\(path).reason", noun: "reason")
            guard reason != .unspecified else { throw RPCError.invalidArgument(field: "\(path).reason", "is required") }
            let detail = try Validate.text(input.reasonDetail, field: "\(path).reason_detail", max: 1_000)
            if reason == .other, detail.isEmpty {
                throw RPCError.invalidArgument(field: "\(path).reason_detail", "is required for OTHER")
            }
            let exchange =
                kind == .exchange && !input.exchangeSkuID.isEmpty
                ? try Validate.id(input.exchangeSkuID, field: "\(path).exchange_sku_id") : ""
            lines.append(
                AfterSalesLine(
                    lineNumber: Int32(index + 1),
                    skuID: sku,
                    quantity: input.quantity,
                    reason: reason,
                    reasonDetail: detail,
                    exchangeSkuID: exchange
                )
            )
        }
        let actor = try context.actor(nil)
        var locks = [Self.claimsLock(orderID)]
        if !ticketID.isEmpty { locks.append(Self.ticketLock(ticketID)) }
        let item = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: locks
        ) { transaction in
            _ = try await customer(customerID, field: "customer_id", in: transaction)
            let order = try await order(orderID, of: customerID, field: "order_id", in: transaction)
            guard order.status == .delivered || order.status == .completed else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(orderID)' is \(order.status.displayName); after-sales cases are "
                        + "opened for DELIVERED or COMPLETED orders"
                )
            }
            var bought: [String: Int64] = [:]
            for line in order.lines {
                bought[line.skuID] = try Checked.add(bought[line.skuID] ?? 0, line.quantity, field: "quantity")
            }
            for (index, line) in lines.enumerated() {
                guard bought[line.skuID] != nil else {
                    throw RPCError.invalidArgument(
                        field: "lines[\(index)].sku_id",
                        "SKU '\(line.skuID)' is not on order '\(orderID)'"
                    )
                }
                if !line.exchangeSkuID.isEmpty, try await catalog.sku(line.exchangeSkuID, in: transaction) == nil {
                    throw RPCError(
                        code: .notFound,
                        message: "lines[\(index)].exchange_sku_id: no SKU '\(line.exchangeSkuID)'"
                    )
                }
            }
            var item = AfterSalesCase(
                id: RecordIDs.make(prefix: "asc"),
                kind: kind,
                customerID: customerID,
                orderID: orderID,
                ticketID: ticketID,
                lines: lines,
                description: description
            )
            let book = AfterSalesBook(provider: self, transaction: transaction, actor: actor)
            try await book.create(&item, bought: bought)
            if !ticketID.isEmpty {
                var ticket = try await transaction.require(CareTables.tickets, ticketID, field: "ticket_id")
                guard ticket.customerID == customerID else {
                    throw RPCError.invalidArgument(
                        field: "ticket_id",
                        "ticket '\(ticketID)' belongs to another customer"
                    )
                }
                try Self.refuseClosed(ticket, to: "take an after-sales case")
                guard ticket.afterSalesCaseIDs.count < Self.maximumLinkedCases else {
                    throw RPCError(
                        code: .resourceExhausted,
                        message: "ticket_id: ticket '\(ticketID)' has \(Self.maximumLinkedCases) after-sales cases, "
                            + "the most it may have"
                    )
                }
                ticket.afterSalesCaseIDs.append(item.id)
                try await TicketBook(provider: self, transaction: transaction, actor: actor).change(
                    &ticket,
                    kind: .afterSalesLinked
                ) { $0.afterSalesCaseID = item.id }
            }
            return item
        }
        return CareText.shown(item, to: context)
    }

    public func getAfterSalesCase(
        request: GetAfterSalesCaseRequest,
        context: RPCServerContext
    ) async throws -> AfterSalesCase {
        let id = try Validate.id(request.caseID, field: "case_id")
        return CareText.shown(try await store.latest.require(CareTables.cases, id, field: "case_id"), to: context)
    }

    public func listAfterSalesCases(
        request: ListAfterSalesCasesRequest,
        context: RPCServerContext
    ) async throws -> ListAfterSalesCasesResponse {
        _ = try Paging.pageSize(request.page, field: "page")
        let statuses = Set(try Validate.known(request.statuses, field: "statuses", noun: "status"))
        let kind = try Validate.known(request.kind, field: "kind", noun: "kind")
        let customerID = request.customerID.isEmpty ? nil : try Validate.id(request.customerID, field: "customer_id")
        let orderID = request.orderID.isEmpty ? nil : try Validate.id(request.orderID, field: "order_id")
        let ticketID = request.ticketID.isEmpty ? nil : try Validate.id(request.ticketID, field: "ticket_id")
        let locationID =
            request.returnLocationID.isEmpty
            ? nil : try Validate.id(request.returnLocationID, field: "return_location_id")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let predicate: @Sendable (AfterSalesCase) -> Bool = { item in
            let created = Timestamps.nanos(item.createdAt)
            return (statuses.isEmpty || statuses.contains(item.status))
                && (kind == .unspecified || item.kind == kind)
                && (customerID == nil || item.customerID == customerID!)
                && (orderID == nil || item.orderID == orderID!)
                && (ticketID == nil || item.ticketID == ticketID!)
                && (locationID == nil || item.returnLocationID == locationID!)
                && (start.map { created >= $0 } ?? true) && (end.map { created < $0 } ?? true)
        }
        let filters = [
            statuses.map { "\($0.rawValue)" }.sorted().joined(separator: ","), "\(kind.rawValue)", customerID ?? "",
            orderID ?? "", ticketID ?? "", locationID ?? "", "\(start ?? -1)", "\(end ?? -1)",
        ]
        let page = try await store.newestFirst(
            CareTables.cases,
            by: [
                (CareTables.caseOrder, orderID), (CareTables.caseTicket, ticketID),
                (CareTables.caseCustomer, customerID), (CareTables.caseLocation, locationID),
            ],
            page: request.page,
            filters: filters,
            predicate: predicate
        )
        return ListAfterSalesCasesResponse(
            cases: page.records.map { CareText.shown($0, to: context) },
            nextPageToken: page.nextPageToken
        )
    }

    public func listAfterSalesHistory(
        request: ListAfterSalesHistoryRequest,
        context: RPCServerContext
    ) async throws -> ListAfterSalesHistoryResponse {
        let page = try await page(
            of: CareTables.cases,
            request.caseID,
            field: "case_id",
            CareTables.caseHistory,
            page: request.page
        )
        return ListAfterSalesHistoryResponse(
            entries: page.records.map { CareText.shown($0, to: context) },
            nextPageToken: page.nextPageToken
        )
    }

    /// A change of one case under a request id: read again in the transaction
    /// (NOT_FOUND, then the expected version), changed through the book.
    func changeCase<Request: O2OMessage>(
        _ context: RPCServerContext,
        requestID: String,
        request: Request,
        caseID: String,
        expectedVersion: Int64? = nil,
        extraLocks: (AfterSalesCase) async throws -> [String] = { _ in [] },
        _ body: (inout AfterSalesCase, AfterSalesBook) async throws -> Void
    ) async throws -> AfterSalesCase {
        try RequestIDs.validate(requestID)
        let id = try Validate.id(caseID, field: "case_id")
        let actor = try context.actor(nil)
        let current = try await store.latest.require(CareTables.cases, id, field: "case_id")
        let item = try await store.mutation(
            context,
            requestID: requestID,
            request: request,
            locking: [Self.caseLock(id), Self.claimsLock(current.orderID)] + (try await extraLocks(current))
        ) { transaction in
            var item = try await transaction.require(
                CareTables.cases,
                id,
                field: "case_id",
                expectedVersion: expectedVersion
            )
            try await body(&item, AfterSalesBook(provider: self, transaction: transaction, actor: actor))
            return item
        }
        return CareText.shown(item, to: context)
    }

    /// An inventory location a case's goods go back to: NOT_FOUND otherwise.
    func requireLocation(_ id: String, field: String, in reader: some RecordReading) async throws {
        guard try await locations.location(id, in: reader) != nil else {
            throw RPCError(code: .notFound, message: "\(field): no stock location '\(id)'")
        }
    }

    public func approveAfterSalesCase(
        request: ApproveAfterSalesCaseRequest,
        context: RPCServerContext
    ) async throws -> AfterSalesCase {
        let method = try Validate.known(request.returnMethod, field: "return_method", noun: "return method")
        let skip = request.skipItemReturn
        let locationID =
            request.returnLocationID.isEmpty
            ? "" : try Validate.id(request.returnLocationID, field: "return_location_id")
        if !skip {
            guard method != .unspecified else {
                throw RPCError.invalidArgument(field: "return_method", "is required unless skip_item_return")
            }
            guard !locationID.isEmpty else {
                throw RPCError.invalidArgument(field: "return_location_id", "is required unless skip_item_return")
            }
        } else if method != .unspecified {
            throw RPCError.invalidArgument(field: "return_method", "must be empty with skip_item_return")
        }
        let note = try Validate.text(request.note, field: "note", max: 1_000)
        return try await changeCase(
            context,
            requestID: request.requestID,
            request: request,
            caseID: request.caseID,
            expectedVersion: request.expectedVersion
        ) { item, book in
            if !locationID.isEmpty {
                try await requireLocation(locationID, field: "return_location_id", in: book.transaction)
            }
            item.returnMethod = method
            item.skipItemReturn = skip
            item.returnLocationID = locationID
            book.decide(&item, note: note)
            try await book.move(
                &item,
                to: .approved,
                summary: skip ? "approved without return" : "approved, \(method.displayName.lowercased())",
                note: note
            )
        }
    }

    public func rejectAfterSalesCase(
        request: RejectAfterSalesCaseRequest,
        context: RPCServerContext
    ) async throws -> AfterSalesCase {
        let note = try Validate.text(request.note, field: "note", min: 1, max: 1_000)
        return try await changeCase(
            context,
            requestID: request.requestID,
            request: request,
            caseID: request.caseID,
            expectedVersion: request.expectedVersion
        ) { item, book in
            let inspected = item.status == .inspected
            book.decide(&item, note: note)
            try await book.move(
                &item,
                to: .rejected,
                summary: inspected ? "rejected after inspection; goods go back to the customer" : "rejected",
                note: note
            )
        }
    }

    public func cancelAfterSalesCase(
        request: CancelAfterSalesCaseRequest,
        context: RPCServerContext
    ) async throws -> AfterSalesCase {
        let note = try Validate.text(request.note, field: "note", max: 1_000)
        return try await changeCase(
            context,
            requestID: request.requestID,
            request: request,
            caseID: request.caseID
        ) { item, book in
            try await book.move(&item, to: .cancelled, summary: "cancelled by the customer", note: note)
        }
    }

    static func requireReturn(_ item: AfterSalesCase, to action: String) throws {
        try AfterSalesBook.machine.require(item.status, in: [.approved], to: action, field: "case_id", id: item.id)
        guard !item.skipItemReturn else {
            throw RPCError(
                code: .failedPrecondition,
                message: "case_id: after-sales case '\(item.id)' was approved without return; no goods come back"
            )
        }
    }

    public func recordAfterSalesReturnShipment(
        request: RecordAfterSalesReturnShipmentRequest,
        context: RPCServerContext
    ) async throws -> AfterSalesCase {
        let carrier = try Validate.text(request.carrier, field: "carrier", min: 1, max: 64)
        let tracking = try Validate.text(request.trackingNumber, field: "tracking_number", min: 1, max: 64)
        return try await changeCase(
            context,
            requestID: request.requestID,
            request: request,
            caseID: request.caseID
        ) { item, book in
            try Self.requireReturn(item, to: "record a return shipment")
            item.returnCarrier = carrier
            item.returnTrackingNumber = tracking
            try await book.change(&item, summary: "return shipment \(carrier) \(tracking)")
        }
    }

    public func receiveAfterSalesItems(
        request: ReceiveAfterSalesItemsRequest,
        context: RPCServerContext
    ) async throws -> AfterSalesCase {
        let locationID = request.locationID.isEmpty ? "" : try Validate.id(request.locationID, field: "location_id")
        let note = try Validate.text(request.note, field: "note", max: 1_000)
        var received: [Int32: Int64] = [:]
        for (index, line) in request.lines.enumerated() {
            guard received[line.lineNumber] == nil else {
                throw RPCError.invalidArgument(
                    field: "lines[\(index)].line_number",
                    "line \(line.lineNumber) is there twice"
                )
            }
            guard line.quantity >= 0 else {
                throw RPCError.invalidArgument(field: "lines[\(index)].quantity", "must be 0 or more")
            }
            received[line.lineNumber] = line.quantity
        }
        return try await changeCase(
            context,
            requestID: request.requestID,
            request: request,
            caseID: request.caseID
        ) { item, book in
            try Self.requireReturn(item, to: "receive goods")
            for (index, line) in request.lines.enumerated() {
                guard let claimed = item.lines.first(where: { $0.lineNumber == line.lineNumber }) else {
                    throw RPCError.invalidArgument(
                        field: "lines[\(index)].line_number",
                        "after-sales case '\(item.id)' has no line \(line.lineNumber)"
                    )
                }
                guard line.quantity <= claimed.quantity else {
                    throw RPCError.invalidArgument(
                        field: "lines[\(index)].quantity",
                        "line \(line.lineNumber) claims \(claimed.quantity) units, not \(line.quantity)"
                    )
                }
            }
            if !locationID.isEmpty {
                try await requireLocation(locationID, field: "location_id", in: book.transaction)
                item.returnLocationID = locationID
            }
            var units: Int64 = 0
            for index in item.lines.indices {
                let quantity = received[item.lines[index].lineNumber] ?? item.lines[index].quantity
                item.lines[index].inspection = AfterSalesInspection(receivedQuantity: quantity)
                units += quantity
            }
            item.receivedAt = book.now
            try await book.move(
                &item,
                to: .itemsReceived,
                summary: "received \(units) units at \(item.returnLocationID)",
                note: note
            )
        }
    }

    public func inspectAfterSalesItems(
        request: InspectAfterSalesItemsRequest,
        context: RPCServerContext
    ) async throws -> AfterSalesCase {
        for (index, line) in request.lines.enumerated() {
            guard line.sellableQuantity >= 0 else {
                throw RPCError.invalidArgument(field: "lines[\(index)].sellable_quantity", "must be 0 or more")
            }
            guard line.damagedQuantity >= 0 else {
                throw RPCError.invalidArgument(field: "lines[\(index)].damaged_quantity", "must be 0 or more")
            }
            _ = try Validate.text(line.notes, field: "lines[\(index)].notes", max: 2_000)
        }
        return try await changeCase(
            context,
            requestID: request.requestID,
            request: request,
            caseID: request.caseID
        ) { item, book in
            try AfterSalesBook.machine.check(item.status, .inspected, field: "case_id", id: item.id)
            var seen = Set<Int32>()
            var (sellable, damaged): (Int64, Int64) = (0, 0)
            for (index, result) in request.lines.enumerated() {
                let path = "lines[\(index)]"
                guard seen.insert(result.lineNumber).inserted else {
                    throw RPCError.invalidArgument(
                        field: "\(path).line_number",
                        "line \(result.lineNumber) is there twice"
                    )
                }
                guard let slot = item.lines.firstIndex(where: { $0.lineNumber == result.lineNumber }) else {
                    throw RPCError.invalidArgument(
                        field: "\(path).line_number",
                        "after-sales case '\(item.id)' has no line \(result.lineNumber)"
                    )
                }
                let arrived = item.lines[slot].inspection?.receivedQuantity ?? 0
                guard arrived > 0 else {
                    throw RPCError.invalidArgument(
                        field: "\(path).line_number",
                        "no goods of line \(result.lineNumber) arrived; there is nothing to inspect"
                    )
                }
                let (total, overflow) = result.sellableQuantity.addingReportingOverflow(result.damagedQuantity)
                guard !overflow, total == arrived else {
                    throw RPCError.invalidArgument(
                        field: "\(path).damaged_quantity",
                        "sellable and damaged units must add up to the \(arrived) received"
                    )
                }
                item.lines[slot].inspection = AfterSalesInspection(
                    receivedQuantity: arrived,
                    sellableQuantity: result.sellableQuantity,
                    damagedQuantity: result.damagedQuantity,
                    claimConfirmed: result.claimConfirmed,
                    notes: result.notes,
                    inspectedBy: book.actor,
                    inspectedAt: book.now
                )
                sellable += result.sellableQuantity
                damaged += result.damagedQuantity
            }
            for line in item.lines where (line.inspection?.receivedQuantity ?? 0) > 0 && !seen.contains(line.lineNumber)
            {
                throw RPCError.invalidArgument(
                    field: "lines",
                    "line \(line.lineNumber) received goods and needs an inspection result"
                )
            }
            try await book.move(&item, to: .inspected, summary: "inspected: \(sellable) sellable, \(damaged) damaged")
        }
    }
}
