public import Logging
import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// Complaints and after-sales for the demo shop, over the demo orders, as the
/// hotline, the online service desk and the returns counter would record them:
/// 300 tickets from every channel in every state (some logged days after the call,
/// so their SLA deadlines have passed and the breach sweep records them), and 80
/// after-sales cases — returns, exchanges and repairs — in every state, some opened
/// from a ticket. Request ids are derived from the shop, so loading again changes
/// nothing.
public enum DemoCare {
    static let markerKey: [UInt8] = [0x30] + Array("demo-care/v1".utf8)
    static let ticketCount = 300
    static let caseCount = 80

    static let subjects: [(TicketCategory, String, String)] = [
        (.productQuality, "茶叶受潮结块 Tea arrived damp", "打开包装发现茶叶结块，有霉味。"),
        (.wrongOrMissingItem, "少发一盒 One box missing", "订单两盒，只收到一盒。"),
        (.delivery, "配送超时 Delivery late", "说好下午送到，晚上九点还没到。"),
        (.payment, "重复扣款 Charged twice", "微信支付扣了两次钱。"),
        (.service, "门店店员态度差 Rude staff", "在门店询问时店员不耐烦。"),
        (.pricing, "优惠券没生效 Coupon not applied", "满减券在结算时没有抵扣。"),
        (.afterSales, "申请退货 Want to return", "不合口味，想退货。"),
        (.inquiry, "发票怎么开 How to get an invoice", "请问电子发票在哪里下载？"),
        (.other, "建议增加包装选项 Gift wrapping", "希望可以选择礼品包装。"),
    ]

    /// Where a ticket of the demo ends up.
    enum TicketTarget: CaseIterable {
        case received, acknowledged, investigating, resolved, closed, reopened
    }

    /// Where a case of the demo ends up.
    enum CaseTarget: CaseIterable {
        case requested, approved, received, inspected, completed, rejected, cancelled
    }

    /// Loads tickets and cases once the orders are there; returns how many tickets
    /// and cases were recorded.
    @discardableResult
    public static func load(
        into store: ServiceStore,
        services: [any RPCService],
        logger: Logger
    ) async throws -> (tickets: Int, cases: Int) {
        if try await store.records.engine.get(markerKey) != nil { return (0, 0) }
        guard try await store.records.engine.get(DemoOrders.markerKey) != nil else { return (0, 0) }
        let shop = DemoShop(services: services, logger: logger)
        var random = DemoRandom(seed: 20_261_203)
        var done: [Order] = []
        var token = ""
        repeat {
            let page = try await shop.order.listOrders(
                ListOrdersRequest(
                    page: PageRequest(pageSize: 500, pageToken: token),
                    statuses: [.delivered, .completed],
                    sortOrder: .ascending
                )
            )
            done += page.orders
            token = page.nextPageToken
        } while !token.isEmpty
        guard !done.isEmpty else { return (0, 0) }
        let staff = ["li.na", "wang.fang", "zhang.wei", "chen.jing", ""]
        let now = store.now()
        var tickets: [Ticket] = []
        for index in 0..<ticketCount {
            let order = done[(index * 7) % done.count]
            let (category, subject, description) = subjects[index % subjects.count]
            let channels: [TicketChannel] = [.phone, .online, .online, .email, .social, .store]
            let severities: [TicketSeverity] = [.low, .medium, .medium, .medium, .high, .critical]
            // Most complaints are logged as they come in; some days later.
            let back = index % 4 == 0 ? Int64(3_600 + random.next(below: 5 * 86_400)) : Int64(random.next(below: 600))
            var ticket = try await shop.care.createTicket(
                CreateTicketRequest(
                    requestID: "demo-ticket-\(index)",
                    customerID: order.customerID,
                    orderID: index % 5 == 4 ? "" : order.id,
                    channel: channels[index % channels.count],
                    category: category,
                    severity: severities[random.next(below: severities.count)],
                    subject: subject,
                    description: description,
                    assigneeID: staff[index % staff.count],
                    receivedAt: Timestamps.adding(seconds: -back, to: now)
                )
            )
            ticket = try await advance(ticket, to: TicketTarget.allCases[index % 6], index: index, shop: shop)
            tickets.append(ticket)
        }
        var cases = 0
        for index in 0..<caseCount {
            let order = done[(index * 13 + 5) % done.count]
            guard let line = order.lines.first else { continue }
            let kinds: [AfterSalesKind] = [.return, .return, .exchange, .repair]
            let kind = kinds[index % kinds.count]
            let reasons: [AfterSalesReason] = [.defective, .damagedInTransit, .changedMind, .notAsDescribed]
            let linked = tickets.first {
                $0.orderID == order.id && $0.status != .closed && $0.afterSalesCaseIDs.isEmpty
            }
            let item: AfterSalesCase
            do {
                item = try await shop.care.createAfterSalesCase(
                    CreateAfterSalesCaseRequest(
                        requestID: "demo-case-\(index)",
                        kind: kind,
                        customerID: order.customerID,
                        orderID: order.id,
                        ticketID: linked?.id ?? "",
                        lines: [
                            AfterSalesLineInput(
                                skuID: line.skuID,
                                quantity: 1,
                                reason: reasons[index % reasons.count]
                            )
                        ],
                        description: "demo after-sales request \(index)"
                    )
                )
            } catch let error as RPCError where error.code == .failedPrecondition {
                continue  // Its units are claimed by an earlier case.
            }
            let location =
                line.fulfillmentLocationID.isEmpty
                ? order.fulfillmentParts.first?.locationID ?? "" : line.fulfillmentLocationID
            try await advance(
                item,
                line: line,
                returnTo: location,
                to: CaseTarget.allCases[index % 7],
                index: index,
                shop: shop
            )
            cases += 1
        }
        try await store.transaction { $0.putRaw(markerKey, Array("loaded".utf8)) }
        logger.info("demo tickets loaded", metadata: ["tickets": "\(tickets.count)", "cases": "\(cases)"])
        return (tickets.count, cases)
    }

    private static func advance(
        _ ticket: Ticket,
        to target: TicketTarget,
        index: Int,
        shop: DemoShop
    ) async throws
        -> Ticket
    {
        let key = "demo-ticket-\(index)"
        var ticket = ticket
        func move(
            _ to: TicketStatus,
            _ step: String,
            note: String = "",
            resolution: String = "",
            score: Int32? = nil
        )
            async throws
        {
            ticket = try await shop.care.transitionTicket(
                TransitionTicketRequest(
                    requestID: "\(key)-\(step)",
                    ticketID: ticket.id,
                    toStatus: to,
                    note: note,
                    resolution: resolution,
                    satisfactionScore: score
                )
            )
        }
        if target == .received { return ticket }
        move: do {
            try await move(.acknowledged, "ack", note: "已致电客户 called the customer back")
            if target == .acknowledged { break move }
            if ticket.assigneeID.isEmpty {
                ticket = try await shop.care.assignTicket(
                    AssignTicketRequest(requestID: "\(key)-assign", ticketID: ticket.id, assigneeID: "li.na")
                )
            }
            try await move(.investigating, "investigate")
            if target == .investigating { break move }
            try await move(.resolved, "resolve", resolution: "已补发并致歉 sent a replacement and apologised")
            if target == .resolved { break move }
            if target == .reopened {
                try await move(.reopened, "reopen", note: "客户不满意 the customer is not satisfied")
                break move
            }
            try await move(.closed, "close", score: Int32(1 + index % 5))
        }
        if index % 3 == 0 {
            _ = try await shop.care.addTicketNote(
                AddTicketNoteRequest(
                    requestID: "\(key)-note",
                    ticketID: ticket.id,
                    kind: index % 2 == 0 ? .internal : .remediation,
                    text: index % 2 == 0 ? "已联系仓库核实 asked the warehouse" : "加强出库前检查 check before dispatch"
                )
            )
        }
        return ticket
    }

    private static func advance(
        _ item: AfterSalesCase,
        line: OrderLine,
        returnTo location: String,
        to target: CaseTarget,
        index: Int,
        shop: DemoShop
    ) async throws {
        let key = "demo-case-\(index)"
        let care = shop.care
        switch target {
        case .requested: return
        case .cancelled:
            _ = try await care.cancelAfterSalesCase(
                CancelAfterSalesCaseRequest(requestID: "\(key)-cancel", caseID: item.id, note: "不需要了 no longer needed")
            )
            return
        case .rejected where index % 2 == 0:
            _ = try await care.rejectAfterSalesCase(
                RejectAfterSalesCaseRequest(requestID: "\(key)-reject", caseID: item.id, note: "超过七天退货期 past 7 days")
            )
            return
        default: break
        }
        // Repairs of every other case are done at the customer's place.
        let onSite = item.kind == .repair && index % 2 == 0
        _ = try await care.approveAfterSalesCase(
            ApproveAfterSalesCaseRequest(
                requestID: "\(key)-approve",
                caseID: item.id,
                returnMethod: onSite ? .unspecified : .courierPickup,
                returnLocationID: onSite ? "" : location,
                skipItemReturn: onSite
            )
        )
        if target == .approved { return }
        if !onSite {
            _ = try await care.recordAfterSalesReturnShipment(
                RecordAfterSalesReturnShipmentRequest(
                    requestID: "\(key)-parcel",
                    caseID: item.id,
                    carrier: "SF",
                    trackingNumber: "SF\(8_000_000_000 + index)"
                )
            )
            _ = try await care.receiveAfterSalesItems(
                ReceiveAfterSalesItemsRequest(requestID: "\(key)-receive", caseID: item.id)
            )
            if target == .received { return }
            let sellable: Int64 = index % 3 == 0 ? 0 : 1
            _ = try await care.inspectAfterSalesItems(
                InspectAfterSalesItemsRequest(
                    requestID: "\(key)-inspect",
                    caseID: item.id,
                    lines: [
                        AfterSalesInspectedLine(
                            lineNumber: 1,
                            sellableQuantity: sellable,
                            damagedQuantity: 1 - sellable,
                            claimConfirmed: index % 5 != 0,
                            notes: sellable == 1 ? "包装完好 packaging intact" : "包装破损 packaging torn"
                        )
                    ]
                )
            )
            if target == .inspected { return }
            if target == .rejected {
                _ = try await care.rejectAfterSalesCase(
                    RejectAfterSalesCaseRequest(
                        requestID: "\(key)-reject",
                        caseID: item.id,
                        note: "检测无质量问题 no defect found; sent back"
                    )
                )
                return
            }
        }
        // One unit's share of the line is what a return gives back.
        let share = (line.total?.minorUnits ?? 0) / max(1, line.quantity)
        _ = try await care.resolveAfterSalesCase(
            ResolveAfterSalesCaseRequest(
                requestID: "\(key)-resolve",
                caseID: item.id,
                refundAmount: item.kind == .return
                    ? Money(minorUnits: share, currency: line.total?.currency ?? "CNY")
                    : nil,
                repairNotes: item.kind == .repair ? "更换滤网 replaced the filter" : ""
            )
        )
    }
}
