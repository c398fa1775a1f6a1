import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Synchronization
import Testing

extension O2OServiceClients {
    func afterSales(
        _ kind: AfterSalesKind,
        _ order: Order,
        _ lines: [(sku: String, quantity: Int64)],
        ticket: Ticket? = nil,
        exchangeTo: String = "",
        requestID: String = rid()
    ) async throws -> AfterSalesCase {
        try await care.createAfterSalesCase(
            CreateAfterSalesCaseRequest(
                requestID: requestID,
                kind: kind,
                customerID: order.customerID,
                orderID: order.id,
                ticketID: ticket?.id ?? "",
                lines: lines.map {
                    AfterSalesLineInput(
                        skuID: $0.sku,
                        quantity: $0.quantity,
                        reason: .defective,
                        exchangeSkuID: exchangeTo
                    )
                }
            )
        )
    }

    func approve(_ item: AfterSalesCase, at location: StockLocation?) async throws -> AfterSalesCase {
        try await care.approveAfterSalesCase(
            ApproveAfterSalesCaseRequest(
                requestID: rid(),
                caseID: item.id,
                returnMethod: location == nil ? .unspecified : .customerShips,
                returnLocationID: location?.id ?? "",
                skipItemReturn: location == nil
            )
        )
    }

    /// Receives every claimed unit and inspects them as `sellable` (the rest damaged).
    func receiveAndInspect(_ item: AfterSalesCase, sellable: [Int64]) async throws -> AfterSalesCase {
        _ = try await care.receiveAfterSalesItems(ReceiveAfterSalesItemsRequest(requestID: rid(), caseID: item.id))
        return try await care.inspectAfterSalesItems(
            InspectAfterSalesItemsRequest(
                requestID: rid(),
                caseID: item.id,
                lines: zip(item.lines, sellable).map { line, good in
                    AfterSalesInspectedLine(
                        lineNumber: line.lineNumber,
                        sellableQuantity: good,
                        damagedQuantity: line.quantity - good,
                        claimConfirmed: true
                    )
                }
            )
        )
    }

    func caseHistory(_ item: AfterSalesCase) async throws -> [AfterSalesHistoryEntry] {
        try await care.listAfterSalesHistory(ListAfterSalesHistoryRequest(caseID: item.id)).entries
    }
}

@Suite("After-sales cases")
struct AfterSalesTests {
    @Test(
        "a return: approved, shipped back, received, inspected, refunded to the payment and restocked, once",
        arguments: StoreKind.allCases
    )
    func returnFlow(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let now = harness.clock.clock.now()
            let undelivered = try await shop.order(client, [1, 0].filter { $0 > 0 })
            await expectStatus(.failedPrecondition, containing: "DELIVERED or COMPLETED") {
                _ = try await client.afterSales(.return, undelivered, [(shop.skus[0], 1)])
            }
            let order = try await shop.delivered(client, [3, 1], now: now)
            #expect(order.status == .delivered)
            _ = try await client.order.completeOrder(CompleteOrderRequest(requestID: rid(), orderID: order.id))
            let pointsAfterOrder = try await client.points(shop.customer)
            await expectStatus(.invalidArgument, containing: "is not on order") {
                _ = try await client.afterSales(.return, order, [("sku_none", 1)])
            }
            await expectStatus(.failedPrecondition, containing: "3 of the 3 units") {
                _ = try await client.afterSales(.return, order, [(shop.skus[0], 4)])
            }
            let ticket = try await client.ticket(shop.customer, order: order)
            let item = try await client.afterSales(.return, order, [(shop.skus[0], 2)], ticket: ticket)
            #expect(item.status == .requested && item.lines[0].lineNumber == 1)
            #expect(try await client.fetch(ticket).afterSalesCaseIDs == [item.id])
            #expect(try await client.ticketHistory(ticket).last?.kind == .afterSalesLinked)
            await expectStatus(.failedPrecondition, containing: "1 of the 3 units") {
                _ = try await client.afterSales(.exchange, order, [(shop.skus[0], 2)])
            }
            await expectStatus(.invalidArgument, containing: "return_method") {
                _ = try await client.care.approveAfterSalesCase(
                    ApproveAfterSalesCaseRequest(requestID: rid(), caseID: item.id, returnLocationID: shop.store.id)
                )
            }
            var approved = try await client.approve(item, at: shop.store)
            #expect(approved.status == .approved && approved.returnLocationID == shop.store.id)
            await expectStatus(.failedPrecondition, containing: "waits for the goods") {
                _ = try await client.care.resolveAfterSalesCase(
                    ResolveAfterSalesCaseRequest(requestID: rid(), caseID: item.id, refundAmount: cny(100))
                )
            }
            approved = try await client.care.recordAfterSalesReturnShipment(
                RecordAfterSalesReturnShipmentRequest(
                    requestID: rid(),
                    caseID: item.id,
                    carrier: "SF",
                    trackingNumber: "SF998877"
                )
            )
            #expect(approved.status == .approved && approved.returnTrackingNumber == "SF998877")
            await expectStatus(.invalidArgument, containing: "claims 2 units") {
                _ = try await client.care.receiveAfterSalesItems(
                    ReceiveAfterSalesItemsRequest(
                        requestID: rid(),
                        caseID: item.id,
                        lines: [AfterSalesReceivedLine(lineNumber: 1, quantity: 3)]
                    )
                )
            }
            let received = try await client.care.receiveAfterSalesItems(
                ReceiveAfterSalesItemsRequest(requestID: rid(), caseID: item.id)
            )
            #expect(received.status == .itemsReceived && received.lines[0].inspection?.receivedQuantity == 2)
            await expectStatus(.invalidArgument, containing: "add up to the 2 received") {
                _ = try await client.care.inspectAfterSalesItems(
                    InspectAfterSalesItemsRequest(
                        requestID: rid(),
                        caseID: item.id,
                        lines: [AfterSalesInspectedLine(lineNumber: 1, sellableQuantity: 1, damagedQuantity: 0)]
                    )
                )
            }
            let inspected = try await client.receiveAndInspectOnly(item, sellable: [1])
            #expect(inspected.status == .inspected && inspected.lines[0].inspection?.damagedQuantity == 1)

            // What two units of a 100.00 line are worth is the most they get back.
            let line = order.lines.first { $0.skuID == shop.skus[0] }!
            let worth = (line.total?.minorUnits ?? 0) * 2 / 3
            await expectStatus(.failedPrecondition, containing: "paid for the returned units") {
                _ = try await client.care.resolveAfterSalesCase(
                    ResolveAfterSalesCaseRequest(requestID: rid(), caseID: item.id, refundAmount: cny(worth + 1))
                )
            }
            let before = try await client.level(shop.skus[0], at: shop.store)
            let resolveID = rid()
            let resolve = ResolveAfterSalesCaseRequest(
                requestID: resolveID,
                caseID: item.id,
                refundAmount: cny(worth),
                note: "七天无理由"
            )
            let done = try await client.care.resolveAfterSalesCase(resolve)
            #expect(done.status == .completed && done.lines[0].restockedQuantity == 1)
            #expect(done.resolution?.refundAmount?.minorUnits == worth)
            #expect(try await client.care.resolveAfterSalesCase(resolve) == done, "a retry is the same answer")
            let after = try await client.level(shop.skus[0], at: shop.store)
            #expect(after.onHand == before.onHand + 1, "one sellable unit back, once; the damaged one is not")
            let ledger = try await client.inventory.listStockLedgerEntries(
                ListStockLedgerEntriesRequest(
                    locationID: shop.store.id,
                    skuID: shop.skus[0],
                    reference: StockReference(kind: .afterSalesRequest, id: item.id)
                )
            ).entries
            #expect(ledger.map(\.reason) == [.return] && ledger.map(\.onHandDelta) == [1])

            let refunds = try await client.refunds(of: order)
            #expect(refunds.count == 1)
            let refund = refunds[0]
            #expect(refund.reason == .afterSalesReturn && refund.afterSalesCaseID == item.id)
            #expect(refund.amount?.minorUnits == worth && refund.status == .pending)
            #expect(refund.lines.map(\.quantity) == [2] && refund.paymentID == done.resolution?.paymentID)
            _ = try await client.refunded(refund)
            let points = try await client.points(shop.customer)
            #expect(points < pointsAfterOrder, "points earned on the returned units are reversed")
            let history = try await client.caseHistory(item)
            #expect(
                history.map(\.toStatus) == [.requested, .approved, .approved, .itemsReceived, .inspected, .completed]
            )
            #expect(history.map(\.sequence) == [1, 2, 3, 4, 5, 6])
            #expect(history.last?.summary == "refund \(PriceFormat.yuan(worth)) CNY")
            try await client.expectLedgersConsistent()
        }
    }

    @Test(
        "an exchange ships a zero-priced replacement; a repair records its outcome; reject and cancel free the units",
        arguments: StoreKind.allCases
    )
    func exchangeAndRepair(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let order = try await shop.delivered(client, [2, 2], now: harness.clock.clock.now())
            // Exchange one unit of the big pack for a small one.
            let exchange = try await client.afterSales(.exchange, order, [(shop.skus[0], 1)], exchangeTo: shop.skus[1])
            _ = try await client.approve(exchange, at: shop.warehouse)
            _ = try await client.receiveAndInspectOnly(exchange, sellable: [1])
            let reserved = try await client.level(shop.skus[1], at: shop.warehouse).reserved
            let exchanged = try await client.care.resolveAfterSalesCase(
                ResolveAfterSalesCaseRequest(requestID: rid(), caseID: exchange.id)
            )
            let replacementID = exchanged.resolution?.replacementOrderID ?? ""
            let replacement = try await client.order.getOrder(GetOrderRequest(id: replacementID))
            #expect(replacement.status == .paid && replacement.amounts?.payableTotal?.minorUnits == 0)
            #expect(replacement.replacementForOrderID == order.id && replacement.afterSalesCaseID == exchange.id)
            #expect(replacement.lines.map(\.skuID) == [shop.skus[1]] && replacement.lines[0].quantity == 1)
            #expect(try await client.level(shop.skus[1], at: shop.warehouse).reserved == reserved + 1)

            // A repair without return: approved, then resolved with what was done.
            let repair = try await client.afterSales(.repair, order, [(shop.skus[1], 1)])
            _ = try await client.approve(repair, at: nil)
            await expectStatus(.invalidArgument, containing: "repair_notes") {
                _ = try await client.care.resolveAfterSalesCase(
                    ResolveAfterSalesCaseRequest(requestID: rid(), caseID: repair.id)
                )
            }
            let repaired = try await client.care.resolveAfterSalesCase(
                ResolveAfterSalesCaseRequest(requestID: rid(), caseID: repair.id, repairNotes: "上门更换密封圈")
            )
            #expect(repaired.status == .completed && repaired.resolution?.repairNotes == "上门更换密封圈")

            // Units of rejected and cancelled cases can be claimed again.
            let first = try await client.afterSales(.return, order, [(shop.skus[1], 1)])
            await expectStatus(.failedPrecondition, containing: "0 of the 2 units") {
                _ = try await client.afterSales(.return, order, [(shop.skus[1], 1)])
            }
            await expectStatus(.invalidArgument, containing: "note") {
                _ = try await client.care.rejectAfterSalesCase(
                    RejectAfterSalesCaseRequest(requestID: rid(), caseID: first.id)
                )
            }
            let rejected = try await client.care.rejectAfterSalesCase(
                RejectAfterSalesCaseRequest(requestID: rid(), caseID: first.id, note: "超过七天")
            )
            #expect(rejected.status == .rejected)
            let second = try await client.afterSales(.return, order, [(shop.skus[1], 1)])
            let cancelled = try await client.care.cancelAfterSalesCase(
                CancelAfterSalesCaseRequest(requestID: rid(), caseID: second.id, note: "不退了")
            )
            #expect(cancelled.status == .cancelled)
            await expectStatus(.failedPrecondition, containing: "CANCELLED and cannot become APPROVED (it is final)") {
                _ = try await client.approve(second, at: nil)
            }
            _ = try await client.afterSales(.return, order, [(shop.skus[1], 1)])
            let listed = try await client.care.listAfterSalesCases(ListAfterSalesCasesRequest(orderID: order.id)).cases
            #expect(listed.count == 5 && listed.first?.status == .requested, "newest first")
            try await client.expectLedgersConsistent()
        }
    }

    @Test("cases racing for the same units: exactly what was bought passes", arguments: StoreKind.allCases)
    func racingClaims(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let order = try await shop.delivered(client, [5, 0].filter { $0 > 0 }, now: harness.clock.clock.now())
            let sku = shop.skus[0]
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await client.afterSales(.return, order, [(sku, 1)])
                            return true
                        } catch let error as RPCError where error.code == .failedPrecondition {
                            return false
                        }
                    }
                }
                var outcomes: [Bool] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            #expect(outcomes.filter { $0 }.count == 5 && outcomes.filter { !$0 }.count == 35)
            let cases = try await client.care.listAfterSalesCases(ListAfterSalesCasesRequest(orderID: order.id)).cases
            #expect(cases.map { $0.lines[0].quantity }.reduce(0, +) == 5)
        }
    }
}

extension O2OServiceClients {
    /// Receives every claimed unit of an approved case and inspects them.
    func receiveAndInspectOnly(_ item: AfterSalesCase, sellable: [Int64]) async throws -> AfterSalesCase {
        let current = try await care.getAfterSalesCase(GetAfterSalesCaseRequest(caseID: item.id))
        if current.status == .approved {
            return try await receiveAndInspect(current, sellable: sellable)
        }
        return try await care.inspectAfterSalesItems(
            InspectAfterSalesItemsRequest(
                requestID: rid(),
                caseID: item.id,
                lines: zip(current.lines, sellable).map { line, good in
                    AfterSalesInspectedLine(
                        lineNumber: line.lineNumber,
                        sellableQuantity: good,
                        damagedQuantity: (line.inspection?.receivedQuantity ?? line.quantity) - good,
                        claimConfirmed: true
                    )
                }
            )
        )
    }
}

/// Money as the history summaries write it.
enum PriceFormat {
    static func yuan(_ fen: Int64) -> String {
        "\(fen / 100).\(fen % 100 < 10 ? "0" : "")\(fen % 100)"
    }
}
