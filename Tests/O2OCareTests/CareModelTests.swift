import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

/// What the model expects of one ticket.
private struct TicketModel {
    var ticket: Ticket
    var status: TicketStatus
    /// The deadlines still running, by kind.
    var clocks: [SlaBreachKind: Int64] = [:]
    var acknowledgeBreached = false
    var resolveBreached = false
    var breaches = 0
}

/// What the model expects of one after-sales case.
private struct CaseModel {
    var item: AfterSalesCase
    var status: AfterSalesStatus
}

@Suite("Care under random histories")
struct CareModelTests {
    /// The allowed ticket moves, written out again from care.proto's table.
    private static let ticketMoves: [TicketStatus: Set<TicketStatus>] = [
        .received: [.acknowledged, .closed],
        .acknowledged: [.investigating, .resolved, .closed],
        .investigating: [.resolved],
        .resolved: [.closed, .reopened],
        .reopened: [.investigating, .resolved],
    ]
    private static let caseMoves: [AfterSalesStatus: Set<AfterSalesStatus>] = [
        .requested: [.approved, .rejected, .cancelled],
        .approved: [.itemsReceived, .cancelled, .completed],
        .itemsReceived: [.inspected],
        .inspected: [.completed, .rejected],
    ]

    @Test(
        "random ticket and after-sales steps with clock jumps match the model after every step",
        arguments: StoreKind.allCases
    )
    func randomHistories(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            var random = SeededRandom(seed: kind == .memory ? 0xCA5E : 0x7E57)
            func pick(_ count: Int) -> Int { Int.random(in: 0..<count, using: &random) }
            var tickets: [TicketModel] = []
            var cases: [CaseModel] = []
            var orders: [Order] = []
            for _ in 0..<3 { orders.append(try await shop.delivered(client, [3, 2], now: harness.clock.clock.now())) }
            let severities: [TicketSeverity] = [.low, .medium, .high, .critical]
            let targets: [TicketStatus] = [.acknowledged, .investigating, .resolved, .closed, .reopened]
            var replays: [(request: TransitionTicketRequest, answer: Ticket)] = []

            func checkTickets() async throws {
                for model in tickets {
                    let ticket = try await client.fetch(model.ticket)
                    #expect(ticket.status == model.status, "\(ticket.id)")
                    #expect(ticket.acknowledgeBreached == model.acknowledgeBreached, "\(ticket.id)")
                    #expect(ticket.resolveBreached == model.resolveBreached, "\(ticket.id)")
                    let history = try await client.ticketHistory(ticket)
                    #expect(history.map(\.sequence) == Array(1...Int64(history.count)))
                    #expect(Int64(history.count) == ticket.version, "one entry per change")
                    let breaches = try await client.care.listSlaBreaches(ListSlaBreachesRequest(ticketID: ticket.id))
                        .breaches
                    #expect(breaches.count == model.breaches, "\(ticket.id): each breach once")
                    #expect(history.filter { $0.kind == .slaBreached }.count == model.breaches)
                }
            }

            func checkCases() async throws {
                for order in orders {
                    let listed = try await client.care.listAfterSalesCases(
                        ListAfterSalesCasesRequest(orderID: order.id)
                    ).cases
                    // Claims never exceed what was bought.
                    for line in order.lines {
                        let claimed = listed.filter { ![.rejected, .cancelled].contains($0.status) }
                            .flatMap(\.lines).filter { $0.skuID == line.skuID }.map(\.quantity).reduce(0, +)
                        #expect(claimed <= line.quantity, "SKU \(line.skuID) of \(order.id)")
                    }
                    // One refund per completed return, never more than paid.
                    let refunds = try await client.refunds(of: order)
                    for item in listed {
                        let own = refunds.filter { $0.afterSalesCaseID == item.id }
                        #expect(own.count == (item.status == .completed && item.kind == .return ? 1 : 0))
                    }
                    let paid = order.amounts?.paidAmount?.minorUnits ?? 0
                    #expect(refunds.map { $0.amount?.minorUnits ?? 0 }.reduce(0, +) <= paid)
                }
                for model in cases {
                    let item = try await client.care.getAfterSalesCase(GetAfterSalesCaseRequest(caseID: model.item.id))
                    #expect(item.status == model.status, "\(item.id)")
                    let history = try await client.caseHistory(item)
                    #expect(history.map(\.sequence) == Array(1...Int64(history.count)))
                    #expect(Int64(history.count) == item.version)
                    // Restocked once, and only the sellable units of completed returns and
                    // exchanges.
                    let ledger = try await client.inventory.listStockLedgerEntries(
                        ListStockLedgerEntriesRequest(reference: StockReference(kind: .afterSalesRequest, id: item.id))
                    ).entries
                    let restocked = ledger.map(\.onHandDelta).reduce(0, +)
                    let expected =
                        item.status == .completed && item.kind != .repair
                        ? item.lines.map { $0.inspection?.sellableQuantity ?? 0 }.reduce(0, +) : 0
                    #expect(restocked == expected, "\(item.id)")
                    #expect(item.lines.map(\.restockedQuantity).reduce(0, +) == expected)
                }
                try await client.expectLedgersConsistent()
            }

            func refresh(_ index: Int, _ ticket: Ticket) {
                tickets[index].ticket = ticket
                tickets[index].status = ticket.status
                tickets[index].clocks = tickets[index].clocks.mapValues { _ in 0 }
                if tickets[index].clocks[.acknowledge] != nil {
                    tickets[index].clocks[.acknowledge] = ticket.acknowledgeDueAt?.seconds ?? 0
                }
                if tickets[index].clocks[.resolve] != nil {
                    tickets[index].clocks[.resolve] = ticket.resolveDueAt?.seconds ?? 0
                }
            }

            for step in 0..<220 {
                switch pick(12) {
                case 0, 1:
                    let ticket = try await client.ticket(
                        shop.customer,
                        order: pick(2) == 0 ? orders[pick(orders.count)] : nil,
                        severity: severities[pick(4)]
                    )
                    tickets.append(
                        TicketModel(
                            ticket: ticket,
                            status: .received,
                            clocks: [
                                .acknowledge: ticket.acknowledgeDueAt?.seconds ?? 0,
                                .resolve: ticket.resolveDueAt?.seconds ?? 0,
                            ]
                        )
                    )
                case 2, 3, 4:
                    guard !tickets.isEmpty else { continue }
                    let index = pick(tickets.count)
                    let model = tickets[index]
                    let to = targets[pick(targets.count)]
                    let allowed = Self.ticketMoves[model.status]?.contains(to) ?? false
                    let needsAssignee = to == .investigating && model.ticket.assigneeID.isEmpty
                    let request = TransitionTicketRequest(
                        requestID: rid(),
                        ticketID: model.ticket.id,
                        toStatus: to,
                        note: "step \(step)",
                        resolution: to == .resolved ? "done at step \(step)" : ""
                    )
                    do {
                        let ticket = try await client.care.transitionTicket(request)
                        #expect(allowed && !needsAssignee, "\(model.status) → \(to) passed")
                        replays.append((request, ticket))
                        switch to {
                        case .acknowledged: tickets[index].clocks[.acknowledge] = nil
                        case .resolved: tickets[index].clocks[.resolve] = nil
                        case .closed: tickets[index].clocks = [:]
                        case .reopened: tickets[index].clocks[.resolve] = ticket.resolveDueAt?.seconds ?? 0
                        default: break
                        }
                        refresh(index, ticket)
                    } catch let error as RPCError {
                        #expect(!allowed || needsAssignee, "\(model.status) → \(to) refused: \(error.message)")
                        #expect(error.code == .failedPrecondition)
                    }
                case 5:
                    guard !tickets.isEmpty else { continue }
                    let index = pick(tickets.count)
                    guard tickets[index].status != .closed else { continue }
                    let ticket = try await client.assign(tickets[index].ticket, to: "agent-\(pick(3))")
                    refresh(index, ticket)
                case 6:
                    guard !tickets.isEmpty else { continue }
                    let index = pick(tickets.count)
                    guard tickets[index].status != .closed else { continue }
                    let ticket = try await client.care.updateTicket(
                        UpdateTicketRequest(
                            requestID: rid(),
                            ticketID: tickets[index].ticket.id,
                            severity: severities[pick(4)]
                        )
                    )
                    refresh(index, ticket)
                case 7:
                    // The clock jumps, then the sweep runs.
                    harness.clock.advance(seconds: Int64(pick(4)) * 1_800 + Int64(pick(600)))
                    let before = harness.clock.clock.now().seconds
                    _ = try await harness.sweepBreaches()
                    let after = harness.clock.clock.now().seconds
                    for index in tickets.indices where !tickets[index].clocks.isEmpty {
                        let id = tickets[index].ticket.id
                        let recorded = try await client.care.listSlaBreaches(ListSlaBreachesRequest(ticketID: id))
                            .breaches
                        for (kind, due) in tickets[index].clocks {
                            let breached = recorded.contains { $0.kind == kind && $0.dueAt?.seconds == due }
                            if due < before { #expect(breached, "\(id) \(kind) due \(due), swept at \(before)") }
                            if due > after + 1 { #expect(!breached, "\(id) \(kind) due \(due), swept at \(after)") }
                            guard breached else { continue }
                            tickets[index].clocks[kind] = nil
                            tickets[index].breaches += 1
                            if kind == .acknowledge {
                                tickets[index].acknowledgeBreached = true
                            } else {
                                tickets[index].resolveBreached = true
                            }
                        }
                        tickets[index].ticket = try await client.fetch(tickets[index].ticket)
                    }
                case 8:
                    // A retry of an earlier move answers the same and changes nothing.
                    guard let replay = replays.randomElement(using: &random) else { continue }
                    let version = try await client.fetch(replay.answer).version
                    #expect(try await client.care.transitionTicket(replay.request) == replay.answer)
                    #expect(try await client.fetch(replay.answer).version == version)
                case 9:
                    let order = orders[pick(orders.count)]
                    let line = order.lines[pick(order.lines.count)]
                    let kinds: [AfterSalesKind] = [.return, .exchange, .repair]
                    let quantity = Int64(pick(3) + 1)
                    let claimed = cases.filter {
                        $0.item.orderID == order.id && ![.rejected, .cancelled].contains($0.status)
                    }.flatMap(\.item.lines).filter { $0.skuID == line.skuID }.map(\.quantity).reduce(0, +)
                    do {
                        let item = try await client.afterSales(
                            kinds[pick(3)],
                            order,
                            [(line.skuID, quantity)]
                        )
                        #expect(claimed + quantity <= line.quantity, "over-claim passed")
                        cases.append(CaseModel(item: item, status: .requested))
                    } catch let error as RPCError where error.code == .failedPrecondition {
                        #expect(claimed + quantity > line.quantity, "refused: \(error.message)")
                    }
                default:
                    guard !cases.isEmpty else { continue }
                    let index = pick(cases.count)
                    let model = cases[index]
                    let item = try await client.care.getAfterSalesCase(GetAfterSalesCaseRequest(caseID: model.item.id))
                    let to: AfterSalesStatus
                    var result: AfterSalesCase?
                    let status = item.status
                    func passes(_ to: AfterSalesStatus) -> Bool {
                        switch to {
                        case .approved: status == .requested
                        case .rejected: status == .requested || status == .inspected
                        case .cancelled: status == .requested || status == .approved
                        case .itemsReceived: status == .approved && !item.skipItemReturn
                        case .inspected: status == .itemsReceived
                        default: status == .inspected || (status == .approved && item.skipItemReturn)
                        }
                    }
                    // Mostly the case's next step, so cases get through; sometimes any.
                    let natural: Int? =
                        switch item.status {
                        case .requested: 0
                        case .approved: item.skipItemReturn ? 5 : 3
                        case .itemsReceived: 4
                        case .inspected: 5
                        default: nil
                        }
                    let choice = pick(3) > 0 ? natural ?? pick(6) : pick(6)
                    let attempted: AfterSalesStatus = [
                        .approved, .rejected, .cancelled, .itemsReceived, .inspected, .completed,
                    ][choice]
                    do {
                        switch choice {
                        case 0:
                            to = .approved
                            result = try await client.approve(
                                item,
                                at: pick(3) == 0 ? nil : (pick(2) == 0 ? shop.warehouse : shop.store)
                            )
                        case 1:
                            to = .rejected
                            result = try await client.care.rejectAfterSalesCase(
                                RejectAfterSalesCaseRequest(requestID: rid(), caseID: item.id, note: "no")
                            )
                        case 2:
                            to = .cancelled
                            result = try await client.care.cancelAfterSalesCase(
                                CancelAfterSalesCaseRequest(requestID: rid(), caseID: item.id)
                            )
                        case 3:
                            to = .itemsReceived
                            result = try await client.care.receiveAfterSalesItems(
                                ReceiveAfterSalesItemsRequest(requestID: rid(), caseID: item.id)
                            )
                        case 4:
                            to = .inspected
                            let good = Int64(pick(Int(item.lines[0].quantity) + 1))
                            result = try await client.care.inspectAfterSalesItems(
                                InspectAfterSalesItemsRequest(
                                    requestID: rid(),
                                    caseID: item.id,
                                    lines: [
                                        AfterSalesInspectedLine(
                                            lineNumber: 1,
                                            sellableQuantity: good,
                                            damagedQuantity: max(
                                                0,
                                                (item.lines[0].inspection?.receivedQuantity ?? 0) - good
                                            )
                                        )
                                    ]
                                )
                            )
                        default:
                            to = .completed
                            let request = ResolveAfterSalesCaseRequest(
                                requestID: rid(),
                                caseID: item.id,
                                refundAmount: item.kind == .return ? cny(100) : nil,
                                repairNotes: item.kind == .repair ? "fixed" : ""
                            )
                            result = try await client.care.resolveAfterSalesCase(request)
                            // A retry restocks and refunds nothing twice.
                            #expect(try await client.care.resolveAfterSalesCase(request) == result)
                        }
                        let allowed = Self.caseMoves[status]?.contains(to) ?? false
                        #expect(allowed && passes(to), "\(status) → \(to) passed")
                        cases[index].status = result?.status ?? model.status
                        cases[index].item = result ?? model.item
                    } catch let error as RPCError {
                        #expect(error.code == .failedPrecondition, "\(error.message)")
                        #expect(!passes(attempted), "\(status) → \(attempted) refused: \(error.message)")
                    }
                }
                try await checkTickets()
                if step % 4 == 0 { try await checkCases() }
            }
            try await checkCases()
            #expect(cases.contains { $0.status == .completed }, "the walk completed some cases")
            #expect(tickets.contains { $0.breaches > 0 }, "the walk breached some deadlines")
        }
    }
}
