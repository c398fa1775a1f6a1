import O2OInventory
public import O2OMessages
import O2OOrders
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension CareServiceProvider {
    /// The units a case resolves per line: those received when the goods came back,
    /// else those claimed.
    static func units(of line: AfterSalesLine) -> Int64 {
        line.inspection?.receivedQuantity ?? line.quantity
    }

    public func resolveAfterSalesCase(
        request: ResolveAfterSalesCaseRequest,
        context: RPCServerContext
    ) async throws -> AfterSalesCase {
        try RequestIDs.validate(request.requestID)
        let caseID = try Validate.id(request.caseID, field: "case_id")
        let paymentID = request.paymentID.isEmpty ? nil : try Validate.id(request.paymentID, field: "payment_id")
        let amount = try Validate.money(
            request.refundAmount,
            field: "refund_amount",
            currency: currency,
            required: false
        )
        let repairNotes = try Validate.text(request.repairNotes, field: "repair_notes", max: 2_000)
        let carrier = try Validate.text(request.repairReturnCarrier, field: "repair_return_carrier", max: 64)
        let tracking = try Validate.text(
            request.repairReturnTrackingNumber,
            field: "repair_return_tracking_number",
            max: 64
        )
        let note = try Validate.text(request.note, field: "note", max: 1_000)
        // A retry finds its answer before any stock is planned.
        if let earlier = try await store.rememberedResult(
            context,
            requestID: request.requestID,
            request: request,
            as: AfterSalesCase.self
        ) {
            return CareText.shown(earlier, to: context)
        }
        let current = try await store.latest.require(CareTables.cases, caseID, field: "case_id")
        switch current.kind {
        case .return:
            guard let amount else {
                throw RPCError.invalidArgument(field: "refund_amount", "is required to resolve a RETURN")
            }
            guard amount.minorUnits > 0 else {
                throw RPCError.invalidArgument(field: "refund_amount.minor_units", "must be more than 0")
            }
        default:
            if amount != nil || paymentID != nil {
                throw RPCError.invalidArgument(
                    field: amount != nil ? "refund_amount" : "payment_id",
                    "is given only to resolve a RETURN"
                )
            }
        }
        if current.kind == .repair {
            guard !repairNotes.isEmpty else {
                throw RPCError.invalidArgument(field: "repair_notes", "is required to resolve a REPAIR")
            }
        } else if !repairNotes.isEmpty || !carrier.isEmpty || !tracking.isEmpty {
            throw RPCError.invalidArgument(
                field: !repairNotes.isEmpty ? "repair_notes" : "repair_return_carrier",
                "is given only to resolve a REPAIR"
            )
        }
        // Where the replacement goods come from is planned before the change, which
        // reserves them.
        var replacement: ReplacementPlan?
        if current.kind == .exchange, Self.resolvable(current) {
            let lines = current.lines.compactMap { line -> StockBasketLine? in
                let units = Self.units(of: line)
                guard units > 0 else { return nil }
                return StockBasketLine(
                    skuID: line.exchangeSkuID.isEmpty ? line.skuID : line.exchangeSkuID,
                    quantity: units
                )
            }
            if !lines.isEmpty {
                replacement = try await orders.planReplacement(
                    originalOrderID: current.orderID,
                    caseID: current.id,
                    lines: lines
                )
            }
        }
        let restocked = Self.sellable(current)
        let plan = replacement
        let actor = try context.actor(nil)
        var locks = [Self.caseLock(caseID), Self.claimsLock(current.orderID)]
        locks += try await orders.orderLocks(current.orderID)
        locks += plan?.locks ?? []
        if !current.returnLocationID.isEmpty {
            locks += returns.restockLocks(restocked.map(\.skuID), locationID: current.returnLocationID)
        }
        let item = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: locks
        ) { transaction in
            var item = try await transaction.require(
                CareTables.cases,
                caseID,
                field: "case_id",
                expectedVersion: request.expectedVersion
            )
            try AfterSalesBook.machine.check(item.status, .completed, field: "case_id", id: item.id)
            guard Self.resolvable(item) else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "case_id: after-sales case '\(item.id)' is APPROVED and waits for the goods "
                        + "(ReceiveAfterSalesItems, InspectAfterSalesItems); only a case approved with "
                        + "skip_item_return is resolved without them"
                )
            }
            var resolution = AfterSalesResolution(resolvedBy: actor, resolvedAt: transaction.now)
            let summary: String
            switch item.kind {
            case .return:
                let order = try await order(item.orderID, of: item.customerID, field: "case_id", in: transaction)
                var units: [(lineID: String, quantity: Int64)] = []
                for line in item.lines where Self.units(of: line) > 0 {
                    guard let orderLine = order.lines.first(where: { $0.skuID == line.skuID }) else { continue }
                    units.append((orderLine.lineID, Self.units(of: line)))
                }
                guard !units.isEmpty else {
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "case_id: no goods of after-sales case '\(item.id)' came back; there is nothing "
                            + "to refund (reject the case, or refund the order directly)"
                    )
                }
                let value = amount?.minorUnits ?? 0
                let refund = try await orders.refundReturn(
                    orderID: item.orderID,
                    paymentID: paymentID,
                    units: units,
                    amount: value,
                    caseID: item.id,
                    note: note,
                    actor: actor,
                    requestID: request.requestID,
                    in: transaction
                )
                resolution.refundAmount = Money(minorUnits: value, currency: currency)
                resolution.paymentID = refund.paymentID
                resolution.refundID = refund.id
                summary = "refund \(Self.format(value)) \(currency)"
            case .exchange:
                guard let plan else {
                    throw RPCError(
                        code: .failedPrecondition,
                        message: "case_id: no goods of after-sales case '\(item.id)' came back; there is nothing "
                            + "to exchange"
                    )
                }
                let replacement = try await orders.placeReplacement(
                    plan,
                    actor: actor,
                    requestID: request.requestID,
                    in: transaction
                )
                resolution.replacementOrderID = replacement.id
                summary = "replacement order \(replacement.orderNumber)"
            default:
                resolution.repairNotes = repairNotes
                resolution.repairReturnCarrier = carrier
                resolution.repairReturnTrackingNumber = tracking
                summary = carrier.isEmpty ? "repaired" : "repaired, sent back \(carrier) \(tracking)"
            }
            // Sellable returned goods go back on the shelf where they arrived.
            let sellable = Self.sellable(item)
            if item.kind != .repair, !sellable.isEmpty {
                _ = try await returns.restock(
                    sellable,
                    locationID: item.returnLocationID,
                    caseID: item.id,
                    orderID: item.orderID,
                    note: "after-sales case \(item.id)",
                    actor: actor,
                    requestID: request.requestID,
                    in: transaction
                )
                for index in item.lines.indices {
                    item.lines[index].restockedQuantity = item.lines[index].inspection?.sellableQuantity ?? 0
                }
            }
            item.resolution = resolution
            try await AfterSalesBook(provider: self, transaction: transaction, actor: actor).move(
                &item,
                to: .completed,
                summary: summary,
                note: note
            )
            return item
        }
        return CareText.shown(item, to: context)
    }

    /// Whether a case may be resolved now: inspected, or approved without return.
    static func resolvable(_ item: AfterSalesCase) -> Bool {
        item.status == .inspected || (item.status == .approved && item.skipItemReturn)
    }

    /// The sellable units an inspected case puts back into stock, per SKU.
    static func sellable(_ item: AfterSalesCase) -> [StockBasketLine] {
        item.lines.compactMap { line in
            let units = line.inspection?.sellableQuantity ?? 0
            return units > 0 ? StockBasketLine(skuID: line.skuID, quantity: units) : nil
        }
    }
}
