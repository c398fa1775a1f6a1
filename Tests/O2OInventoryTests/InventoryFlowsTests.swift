import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

/// Purchase orders, stock-takes and transfers: the flows that move stock through the
/// ledger besides reservations.
@Suite("Inventory flows: procurement, stock-takes, transfers")
struct InventoryFlowsTests {
    @Test(
        "purchase order: draft, submit, partial and full receipt; over-receipt refused",
        arguments: StoreKind.allCases
    )
    func purchaseOrders(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let location = try await harness.location("WH-1")
            let skus = try await harness.skus(2)
            let supplier = try await harness.client.catalog.createSupplier(
                CreateSupplierRequest(requestID: rid(), name: "Supplier \(UUID().uuidString.prefix(6))")
            )
            let cost = Money(minorUnits: 250, currency: "CNY")
            let create = CreatePurchaseOrderRequest(
                requestID: rid(),
                supplierID: supplier.id,
                locationID: location.id,
                lines: [
                    PurchaseOrderLineDraft(skuID: skus[0], orderedQuantity: 10, unitCost: cost),
                    PurchaseOrderLineDraft(skuID: skus[1], orderedQuantity: 5, unitCost: cost),
                ]
            )
            // Each line within the limits, together more than a price can hold.
            let dearest = Money(minorUnits: 1_000_000_000_000, currency: "CNY")
            await expectStatus(.invalidArgument, containing: "lines: total cost") {
                _ = try await harness.inventory.createPurchaseOrder(
                    CreatePurchaseOrderRequest(
                        requestID: rid(),
                        supplierID: supplier.id,
                        locationID: location.id,
                        lines: try await harness.skus(10).map {
                            PurchaseOrderLineDraft(skuID: $0, orderedQuantity: 1_000_000, unitCost: dearest)
                        }
                    )
                )
            }
            let draft = try await harness.inventory.createPurchaseOrder(create)
            #expect(
                draft.status == .draft && draft.totalCost?.minorUnits == 3750
                    && draft.statusHistory.map(\.toStatus) == [.draft]
            )
            await expectStatus(.failedPrecondition, containing: "DRAFT") {
                _ = try await harness.inventory.receivePurchaseOrder(
                    ReceivePurchaseOrderRequest(
                        requestID: rid(),
                        purchaseOrderID: draft.id,
                        lines: [PurchaseOrderReceiptLine(skuID: skus[0], quantity: 1)]
                    )
                )
            }
            await expectStatus(.notFound, containing: "lines[0].sku_id") {
                var bad = create
                bad.requestID = rid()
                bad.lines[0].skuID = "sku_unknown"
                _ = try await harness.inventory.createPurchaseOrder(bad)
            }
            await expectStatus(.invalidArgument, containing: "lines[1].unit_cost.currency") {
                var bad = create
                bad.requestID = rid()
                bad.lines[1].unitCost = Money(minorUnits: 1, currency: "USD")
                _ = try await harness.inventory.createPurchaseOrder(bad)
            }
            let submitted = try await harness.inventory.submitPurchaseOrder(
                SubmitPurchaseOrderRequest(requestID: rid(), id: draft.id, expectedVersion: draft.version)
            )
            #expect(submitted.status == .submitted && submitted.submittedAt != nil)
            await expectStatus(.failedPrecondition, containing: "SUBMITTED") {
                _ = try await harness.inventory.updatePurchaseOrder(
                    UpdatePurchaseOrderRequest(requestID: rid(), id: draft.id, note: "late")
                )
            }

            let delivery = ReceivePurchaseOrderRequest(
                requestID: "delivery-1",
                purchaseOrderID: draft.id,
                lines: [PurchaseOrderReceiptLine(skuID: skus[0], quantity: 6)],
                note: "DN-1"
            )
            let first = try await harness.inventory.receivePurchaseOrder(delivery)
            #expect(first.purchaseOrder?.status == .partiallyReceived && first.entries.map(\.onHandDelta) == [6])
            #expect(
                try await harness.inventory.receivePurchaseOrder(delivery) == first,
                "a retried delivery is booked once"
            )
            #expect(try await harness.level(skus[0], at: location.id).onHand == 6)
            let over = await expectStatus(.failedPrecondition, containing: "over-receipt") {
                _ = try await harness.inventory.receivePurchaseOrder(
                    ReceivePurchaseOrderRequest(
                        requestID: rid(),
                        purchaseOrderID: draft.id,
                        lines: [
                            PurchaseOrderReceiptLine(skuID: skus[1], quantity: 5),
                            PurchaseOrderReceiptLine(skuID: skus[0], quantity: 5),
                        ]
                    )
                )
            }
            #expect(over?.fieldViolations.map(\.field) == ["lines[1].quantity"])
            #expect(try await harness.level(skus[1], at: location.id).onHand == 0, "all lines or none")
            let done = try await harness.inventory.receivePurchaseOrder(
                ReceivePurchaseOrderRequest(
                    requestID: rid(),
                    purchaseOrderID: draft.id,
                    lines: [
                        PurchaseOrderReceiptLine(skuID: skus[1], quantity: 5),
                        PurchaseOrderReceiptLine(skuID: skus[0], quantity: 4),
                    ]
                )
            )
            #expect(done.purchaseOrder?.status == .received && done.purchaseOrder?.receivedAt != nil)
            #expect(
                done.purchaseOrder?.statusHistory.map(\.toStatus) == [
                    .draft, .submitted, .partiallyReceived, .received,
                ]
            )
            await expectStatus(.failedPrecondition, containing: "RECEIVED") {
                _ = try await harness.inventory.cancelPurchaseOrder(
                    CancelPurchaseOrderRequest(requestID: rid(), id: draft.id, reason: "no")
                )
            }
            let entries = try await harness.inventory.listStockLedgerEntries(
                ListStockLedgerEntriesRequest(reference: StockReference(kind: .purchaseOrder, id: draft.id))
            )
            #expect(entries.entries.count == 3 && entries.entries.allSatisfy { $0.reason == .receive })
            let listed = try await harness.inventory.listPurchaseOrders(
                ListPurchaseOrdersRequest(supplierID: supplier.id, statuses: [.received])
            )
            #expect(listed.purchaseOrders.map(\.id) == [draft.id])
            try await harness.expectLedgerConsistent()
        }
    }

    @Test(
        "stock-take: counts against the book at count time, corrections posted in one commit",
        arguments: StoreKind.allCases
    )
    func stockTakes(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let location = try await harness.location("ST-1", kind: .store, pickup: true)
            let skus = try await harness.skus(3)
            for sku in skus { try await harness.stock(sku, at: location.id, 10) }
            let take = try await harness.inventory.openStockTake(
                OpenStockTakeRequest(requestID: rid(), locationID: location.id, skuIDs: [skus[0], skus[1]])
            )
            #expect(take.status == .open)
            await expectStatus(.failedPrecondition, containing: "already being counted") {
                _ = try await harness.inventory.openStockTake(
                    OpenStockTakeRequest(requestID: rid(), locationID: location.id, skuIDs: [skus[1], skus[2]])
                )
            }
            await expectStatus(.failedPrecondition, containing: "already being counted") {
                _ = try await harness.inventory.openStockTake(
                    OpenStockTakeRequest(requestID: rid(), locationID: location.id)
                )
            }
            await expectStatus(.invalidArgument, containing: "counts[0].sku_id") {
                _ = try await harness.inventory.recordStockCounts(
                    RecordStockCountsRequest(
                        requestID: rid(),
                        stockTakeID: take.id,
                        counts: [StockCount(skuID: skus[2], countedQuantity: 1)]
                    )
                )
            }
            _ = try await harness.inventory.recordStockCounts(
                RecordStockCountsRequest(
                    requestID: rid(),
                    stockTakeID: take.id,
                    counts: [
                        StockCount(skuID: skus[0], countedQuantity: 7), StockCount(skuID: skus[1], countedQuantity: 12),
                    ]
                )
            )
            // Stock moves while counting: a sale after the count is kept when posting.
            _ = try await harness.inventory.adjustStock(
                AdjustStockRequest(
                    requestID: rid(),
                    locationID: location.id,
                    reason: .sale,
                    lines: [StockAdjustmentLine(skuID: skus[0], quantityDelta: -2)]
                )
            )
            // A recount replaces the first count.
            let recount = try await harness.inventory.recordStockCounts(
                RecordStockCountsRequest(
                    requestID: rid(),
                    stockTakeID: take.id,
                    counts: [StockCount(skuID: skus[1], countedQuantity: 11)]
                )
            )
            #expect(recount.lines[0].countRevision == 2 && recount.lines[0].difference == 1)
            let counted = try await harness.inventory.getStockTake(GetStockTakeRequest(id: take.id))
            #expect(
                counted.countedSkuCount == 2 && counted.differenceSkuCount == 2 && counted.surplusQuantity == 1
                    && counted.shortageQuantity == 3
            )
            let differences = try await harness.inventory.listStockTakeLines(
                ListStockTakeLinesRequest(stockTakeID: take.id, differencesOnly: true)
            )
            #expect(differences.stockTakeLines.count == 2)

            let posted = try await harness.inventory.postStockTake(PostStockTakeRequest(requestID: rid(), id: take.id))
            #expect(posted.status == .posted && posted.postedAt != nil)
            #expect(try await harness.level(skus[0], at: location.id).onHand == 5, "10 - 2 sold + (7 - 10) counted")
            #expect(try await harness.level(skus[1], at: location.id).onHand == 11)
            #expect(try await harness.level(skus[2], at: location.id).onHand == 10, "outside the count")
            let lines = try await harness.inventory.listStockTakeLines(ListStockTakeLinesRequest(stockTakeID: take.id))
            #expect(lines.stockTakeLines.allSatisfy { !$0.ledgerEntryID.isEmpty })

            // A full count that writes off what nobody found, refused while goods are reserved.
            let full = try await harness.inventory.openStockTake(
                OpenStockTakeRequest(requestID: rid(), locationID: location.id)
            )
            _ = try await harness.inventory.reserveStock(
                ReserveStockRequest(
                    requestID: rid(),
                    orderID: "o",
                    lines: [StockBasketLine(skuID: skus[2], quantity: 1)],
                    placement: .locationID(location.id)
                )
            )
            _ = try await harness.inventory.recordStockCounts(
                RecordStockCountsRequest(
                    requestID: rid(),
                    stockTakeID: full.id,
                    counts: [StockCount(skuID: skus[0], countedQuantity: 5)]
                )
            )
            await expectStatus(.failedPrecondition, containing: "below reserved") {
                _ = try await harness.inventory.postStockTake(
                    PostStockTakeRequest(requestID: rid(), id: full.id, uncountedAsZero: true)
                )
            }
            #expect(try await harness.level(skus[1], at: location.id).onHand == 11, "nothing posted")
            let withUncounted = try await harness.inventory.listStockTakeLines(
                ListStockTakeLinesRequest(stockTakeID: full.id, includeUncounted: true)
            )
            #expect(
                withUncounted.stockTakeLines.count == 3 && withUncounted.stockTakeLines.filter(\.counted).count == 1
            )
            let cancelled = try await harness.inventory.cancelStockTake(
                CancelStockTakeRequest(requestID: rid(), id: full.id, reason: "recount tomorrow")
            )
            #expect(cancelled.status == .cancelled)
            await expectStatus(.failedPrecondition, containing: "CANCELLED") {
                _ = try await harness.inventory.postStockTake(PostStockTakeRequest(requestID: rid(), id: full.id))
            }
            try await harness.expectLedgerConsistent()
        }
    }

    @Test(
        "transfer: ship takes stock out, receipt puts what arrived in, losses stay visible",
        arguments: StoreKind.allCases
    )
    func transfers(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let from = try await harness.location("WH-1")
            let to = try await harness.location("ST-1", kind: .store, pickup: true)
            let skus = try await harness.skus(2)
            try await harness.stock(skus[0], at: from.id, 10)
            try await harness.stock(skus[1], at: from.id, 3)
            await expectStatus(.invalidArgument, containing: "to_location_id") {
                _ = try await harness.inventory.createStockTransfer(
                    CreateStockTransferRequest(
                        requestID: rid(),
                        fromLocationID: from.id,
                        toLocationID: from.id,
                        lines: [StockBasketLine(skuID: skus[0], quantity: 1)]
                    )
                )
            }
            let transfer = try await harness.inventory.createStockTransfer(
                CreateStockTransferRequest(
                    requestID: rid(),
                    fromLocationID: from.id,
                    toLocationID: to.id,
                    lines: [StockBasketLine(skuID: skus[0], quantity: 6), StockBasketLine(skuID: skus[1], quantity: 4)]
                )
            )
            await expectStatus(.failedPrecondition, containing: "wants 4, 3 available") {
                _ = try await harness.inventory.shipStockTransfer(
                    ShipStockTransferRequest(requestID: rid(), id: transfer.id)
                )
            }
            #expect(try await harness.level(skus[0], at: from.id).onHand == 10, "all lines or none")
            try await harness.stock(skus[1], at: from.id, 1)
            let shipped = try await harness.inventory.shipStockTransfer(
                ShipStockTransferRequest(requestID: rid(), id: transfer.id, shippingReference: "SF123")
            )
            #expect(shipped.status == .inTransit && shipped.shippingReference == "SF123")
            #expect(try await harness.level(skus[0], at: from.id).onHand == 4)
            await expectStatus(.failedPrecondition, containing: "IN_TRANSIT") {
                _ = try await harness.inventory.cancelStockTransfer(
                    CancelStockTransferRequest(requestID: rid(), id: transfer.id)
                )
            }
            await expectStatus(.invalidArgument, containing: "missing") {
                _ = try await harness.inventory.receiveStockTransfer(
                    ReceiveStockTransferRequest(
                        requestID: rid(),
                        id: transfer.id,
                        lines: [StockTransferReceiptLine(skuID: skus[0], receivedQuantity: 6)]
                    )
                )
            }
            await expectStatus(.failedPrecondition, containing: "only 6 were shipped") {
                _ = try await harness.inventory.receiveStockTransfer(
                    ReceiveStockTransferRequest(
                        requestID: rid(),
                        id: transfer.id,
                        lines: [
                            StockTransferReceiptLine(skuID: skus[0], receivedQuantity: 7),
                            StockTransferReceiptLine(skuID: skus[1], receivedQuantity: 4),
                        ]
                    )
                )
            }
            let received = try await harness.inventory.receiveStockTransfer(
                ReceiveStockTransferRequest(
                    requestID: rid(),
                    id: transfer.id,
                    lines: [
                        StockTransferReceiptLine(skuID: skus[0], receivedQuantity: 5),
                        StockTransferReceiptLine(skuID: skus[1], receivedQuantity: 4),
                    ],
                    note: "one broken"
                )
            )
            #expect(received.status == .received && received.lines.map(\.receivedQuantity) == [5, 4])
            #expect(try await harness.level(skus[0], at: to.id).onHand == 5)
            #expect(try await harness.level(skus[1], at: to.id).onHand == 4)
            let ledger = try await harness.inventory.listStockLedgerEntries(
                ListStockLedgerEntriesRequest(
                    reference: StockReference(kind: .transfer, id: transfer.id),
                    order: .ascending
                )
            )
            #expect(ledger.entries.map(\.reason) == [.transferOut, .transferOut, .transferIn, .transferIn])
            let incoming = try await harness.inventory.listStockTransfers(
                ListStockTransfersRequest(toLocationID: to.id)
            )
            #expect(incoming.stockTransfers.map(\.id) == [transfer.id])
            try await harness.expectLedgerConsistent()
        }
    }
}
