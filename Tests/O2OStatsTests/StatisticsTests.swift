import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

extension O2OServiceClients {
    /// Checks the kept figures of `days` against a recount from the records.
    func verify(
        _ days: StatisticsDayRange,
        repair: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> VerifyStatisticsResponse {
        let response = try await statistics.verifyStatistics(VerifyStatisticsRequest(days: days, repair: repair))
        #expect(response.consistent, "\(response.differences.prefix(10))", sourceLocation: sourceLocation)
        return response
    }

    func sales(_ days: StatisticsDayRange, location: String = "") async throws -> SalesStatistics {
        try await statistics.getSalesStatistics(GetSalesStatisticsRequest(days: days, locationID: location))
    }
}

func date(_ year: Int32, _ month: Int32, _ day: Int32) -> CalendarDate {
    CalendarDate(year: year, month: month, day: day)
}

/// The UTC date `days` days from `time`.
func utcDate(_ time: Timestamp, plusDays days: Int64 = 0) -> CalendarDate {
    let seconds = time.seconds + days * 86_400
    let date = Date(timeIntervalSince1970: TimeInterval(seconds))
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let parts = calendar.dateComponents([.year, .month, .day], from: date)
    return CalendarDate(year: Int32(parts.year!), month: Int32(parts.month!), day: Int32(parts.day!))
}

@Suite("Statistics")
struct StatisticsTests {
    @Test(
        "random orders, payments, refunds, cancellations and tickets over days: the kept figures equal a recount from the records after every step, in four time zones, and the locations add up to the platform",
        arguments: StoreKind.allCases
    )
    func randomHistories(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            var random = SeededRandom(seed: kind == .memory ? 0x57A7 : 0x5EED)
            func pick(_ count: Int) -> Int { Int.random(in: 0..<count, using: &random) }
            let start = harness.clock.clock.now()
            var orders: [Order] = []
            var tickets: [Ticket] = []
            // What the test itself expects of the platform totals.
            var placed: Int64 = 0
            var paid: Set<String> = []
            var gross: Int64 = 0
            var cancelled: Int64 = 0
            var refunded: Int64 = 0
            let zones = ["Asia/Shanghai", "America/New_York", "Asia/Kathmandu", "UTC"]

            for step in 0..<120 {
                switch pick(11) {
                case 0, 1:
                    let quantities = pick(2) == 0 ? [Int64(1 + pick(3))] : [Int64(1 + pick(3)), Int64(1 + pick(2))]
                    let order: Order
                    do {
                        order = try await shop.order(
                            client,
                            quantities,
                            fulfillment: pick(3) == 0 ? shop.pickup() : nil
                        )
                    } catch let error as RPCError where error.code == .failedPrecondition {
                        continue  // the pickup store's two units of each SKU are gone
                    }
                    orders.append(order)
                    placed += 1
                    // Most are paid at once; the rest wait, and the sweep cancels them
                    // once the clock passes their deadline.
                    guard pick(4) != 0, let current = Optional(try await client.fetch(order)) else { continue }
                    try await client.pay(current)
                    paid.insert(order.id)
                    gross += current.amounts?.payableTotal?.minorUnits ?? 0
                case 2, 3:
                    guard let order = orders.last else { continue }
                    let current = try await client.fetch(order)
                    guard current.status == .pendingPayment else { continue }
                    try await client.pay(current)
                    paid.insert(order.id)
                    gross += current.amounts?.payableTotal?.minorUnits ?? 0
                case 4:
                    guard let order = orders.randomElement(using: &random) else { continue }
                    let current = try await client.fetch(order)
                    guard [.pendingPayment, .paid].contains(current.status) else { continue }
                    _ = try await client.order.cancelOrder(
                        CancelOrderRequest(requestID: rid(), orderID: order.id, reason: "changed mind \(step)")
                    )
                    if current.status == .pendingPayment { cancelled += 1 }
                case 5:
                    // A refund of some lines, an amount, or everything; it succeeds or fails.
                    guard let order = orders.randomElement(using: &random) else { continue }
                    let current = try await client.fetch(order)
                    guard [.paid, .fulfilling].contains(current.status) else { continue }
                    let scope: CreateRefundRequest.Scope
                    switch pick(3) {
                    case 0:
                        let line = current.lines[pick(current.lines.count)]
                        guard line.quantity - line.refundedQuantity > 0 else { continue }
                        scope = .lines(
                            RefundLineSelectionList(lines: [RefundLineSelection(lineID: line.lineID, quantity: 1)])
                        )
                    case 1:
                        scope = .amount(Money(minorUnits: 1 + Int64(pick(300)), currency: "CNY"))
                    default:
                        scope = .wholeOrder(true)
                    }
                    do {
                        _ = try await client.order.createRefund(
                            CreateRefundRequest(
                                requestID: rid(),
                                orderID: order.id,
                                scope: scope,
                                reason: pick(2) == 0 ? .other : .priceAdjustment,
                                note: "goodwill \(step)"
                            )
                        )
                    } catch let error as RPCError where [.failedPrecondition, .invalidArgument].contains(error.code) {
                        continue
                    }
                case 6:
                    // Pending refunds get their channel's answer.
                    for order in orders {
                        for refund in try await client.refunds(of: order) where refund.status == .pending {
                            let outcome: RefundStatus = pick(4) == 0 ? .failed : .succeeded
                            _ = try await client.refunded(refund, outcome: outcome)
                            if outcome == .succeeded, ![.latePayment, .duplicatePayment].contains(refund.reason) {
                                refunded += refund.amount?.minorUnits ?? 0
                            }
                        }
                    }
                case 7, 10:
                    let ticket = try await client.care.createTicket(
                        CreateTicketRequest(
                            requestID: rid(),
                            customerID: shop.customer.id,
                            channel: .phone,
                            category: .productQuality,
                            severity: [.low, .medium, .high, .critical][pick(4)],
                            subject: "包裹破损 parcel damaged"
                        )
                    )
                    tickets.append(ticket)
                case 8:
                    guard let ticket = tickets.randomElement(using: &random) else { continue }
                    let to: TicketStatus = [.acknowledged, .resolved, .closed, .reopened][pick(4)]
                    let current = try await client.care.getTicket(GetTicketRequest(ticketID: ticket.id))
                    _ = try? await client.care.transitionTicket(
                        TransitionTicketRequest(
                            requestID: rid(),
                            ticketID: ticket.id,
                            toStatus: to,
                            note: "step \(step)",
                            resolution: to == .resolved ? "replaced" : "",
                            satisfactionScore: to == .closed && current.status == .resolved && pick(2) == 0
                                ? Int32(1 + pick(5)) : nil
                        )
                    )
                    if current.status == .closed, current.satisfactionScore == 0, pick(2) == 0 {
                        _ = try? await client.care.recordTicketSatisfaction(
                            RecordTicketSatisfactionRequest(
                                requestID: rid(),
                                ticketID: ticket.id,
                                satisfactionScore: Int32(1 + pick(5))
                            )
                        )
                    }
                default:
                    // Time passes: hours, or a day; the sweeps run.
                    harness.clock.advance(seconds: pick(4) == 0 ? 86_400 : Int64(1 + pick(6)) * 3_600)
                    while try await harness.platform.care.provider.sweepBreaches().moreRemaining {}
                    let swept = try await client.order.sweepOverdueOrders(SweepOverdueOrdersRequest(requestID: rid()))
                    cancelled += Int64(swept.cancelledOrderIDs.count)
                }

                let now = harness.clock.clock.now()
                let zone = zones[step % zones.count]
                let days = StatisticsDayRange(
                    firstDay: utcDate(start, plusDays: -1),
                    lastDay: utcDate(now, plusDays: 1),
                    timeZone: zone
                )
                let check = try await client.verify(days)
                #expect(check.ordersChecked == Int64(orders.count))
                #expect(check.ticketsChecked == Int64(tickets.count))

                let platform = try await client.sales(days)
                #expect(platform.timeZone == zone)
                #expect(platform.days.count == platform.days.compactMap(\.day).count)
                let totals = try #require(platform.totals)
                #expect(totals.ordersPlaced == placed, "step \(step)")
                #expect(totals.ordersPaid == Int64(paid.count), "step \(step)")
                #expect(totals.grossSales?.minorUnits == gross, "step \(step)")
                #expect(totals.ordersCancelled == cancelled, "step \(step)")
                #expect(totals.refundTotal?.minorUnits == refunded, "step \(step)")
                #expect(
                    totals.netSales?.minorUnits == gross - refunded
                        && totals.averageOrderValue?.minorUnits == (paid.isEmpty ? 0 : gross / Int64(paid.count))
                )
                // Every fen of the platform is at exactly one location.
                let warehouse = try #require(try await client.sales(days, location: shop.warehouse.id).totals)
                let store = try #require(try await client.sales(days, location: shop.store.id).totals)
                for figure in [\DailySalesBucket.grossSales, \.discountTotal, \.refundTotal] {
                    #expect(
                        (warehouse[keyPath: figure]?.minorUnits ?? 0) + (store[keyPath: figure]?.minorUnits ?? 0)
                            == totals[keyPath: figure]?.minorUnits ?? 0,
                        "step \(step)"
                    )
                }
                #expect(warehouse.unitsSold + store.unitsSold == totals.unitsSold)
                // Every order is in exactly one channel: the channels add up, counts too.
                var channels: [DailySalesBucket] = []
                for channel in [SalesChannel.delivery, .storePickup, .storeDelivery] {
                    channels.append(
                        try #require(
                            try await client.statistics.getSalesStatistics(
                                GetSalesStatisticsRequest(days: days, channel: channel)
                            ).totals
                        )
                    )
                }
                for figure in [\DailySalesBucket.ordersPlaced, \.ordersPaid, \.ordersCancelled, \.unitsSold] {
                    #expect(
                        channels.map { $0[keyPath: figure] }.reduce(0, +) == totals[keyPath: figure],
                        "step \(step)"
                    )
                }
                for figure in [\DailySalesBucket.grossSales, \.refundTotal] {
                    #expect(
                        channels.map { $0[keyPath: figure]?.minorUnits ?? 0 }.reduce(0, +)
                            == totals[keyPath: figure]?.minorUnits ?? 0,
                        "step \(step)"
                    )
                }
            }
            // The history had something of everything.
            #expect(
                paid.count >= 5 && cancelled >= 2 && refunded > 0 && tickets.count >= 5,
                "\(paid.count) \(cancelled) \(refunded)"
            )
            // Rebuilt from the records, the figures are the same.
            let all = StatisticsDayRange(
                firstDay: utcDate(start, plusDays: -1),
                lastDay: utcDate(harness.clock.clock.now(), plusDays: 1)
            )
            let before = try await client.sales(all)
            let tops = try await client.statistics.listTopSellingProducts(
                ListTopSellingProductsRequest(days: all, grouping: .sku)
            )
            let repaired = try await client.verify(all, repair: true)
            #expect(repaired.repaired)
            #expect(try await client.sales(all).days == before.days)
            let topsAfter = try await client.statistics.listTopSellingProducts(
                ListTopSellingProductsRequest(days: all, grouping: .sku)
            )
            #expect(topsAfter.products == tops.products)
        }
    }

    @Test("a day is a calendar day of the time zone asked for: an order at 00:10 in Shanghai is the day before in UTC")
    func timeZones() async throws {
        try await ServiceHarness.run(.memory) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            // 2026-12-01 00:10 in Shanghai is 2026-11-30 16:10 UTC.
            let target: Int64 = 1_796_055_000
            harness.clock.advance(seconds: target - harness.clock.clock.now().seconds)
            let order = try await shop.order(client, [1])
            try await client.pay(order)
            func paid(_ day: CalendarDate, _ zone: String) async throws -> Int64 {
                let range = StatisticsDayRange(firstDay: day, lastDay: day, timeZone: zone)
                return try await client.sales(range).days.first?.ordersPaid ?? -1
            }
            #expect(try await paid(date(2026, 12, 1), "") == 1)
            #expect(try await paid(date(2026, 11, 30), "") == 0)
            #expect(try await paid(date(2026, 11, 30), "UTC") == 1)
            #expect(try await paid(date(2026, 11, 30), "Europe/Berlin") == 1)
            // Kathmandu is UTC+5:45: 21:55 on the 30th.
            #expect(try await paid(date(2026, 11, 30), "Asia/Kathmandu") == 1)
            // Auckland (UTC+13 in summer): 05:10 on 1 December.
            #expect(try await paid(date(2026, 12, 1), "Pacific/Auckland") == 1)

            // Every day of the range is there, zeros included; the totals sum them.
            let week = try await client.sales(
                StatisticsDayRange(firstDay: date(2026, 11, 28), lastDay: date(2026, 12, 4))
            )
            #expect(week.days.map(\.day) == (28...30).map { date(2026, 11, $0) } + (1...4).map { date(2026, 12, $0) })
            #expect(week.days.map(\.ordersPaid) == [0, 0, 0, 1, 0, 0, 0])
            #expect(week.totals?.ordersPaid == 1 && week.totals?.day == nil)
            #expect(week.timeZone == "Asia/Shanghai")
            let top = try await client.statistics.listTopSellingProducts(
                ListTopSellingProductsRequest(
                    days: StatisticsDayRange(firstDay: date(2026, 12, 1), lastDay: date(2026, 12, 1))
                )
            )
            #expect(top.products.count == 1)
            #expect(top.products.first?.rank == 1 && top.products.first?.unitsSold == 1)
            #expect(top.products.first?.name == "龙井 Longjing" && top.products.first?.skuID == "")
            #expect(top.products.first?.orderCount == 1)
            // A DST zone: New York's 2026-11-01 has 25 hours; the order is not in it.
            #expect(try await paid(date(2026, 11, 1), "America/New_York") == 0)
            _ = try await client.verify(
                StatisticsDayRange(
                    firstDay: date(2026, 10, 30),
                    lastDay: date(2026, 12, 2),
                    timeZone: "America/New_York"
                )
            )
        }
    }

    @Test("ranges, zones, limits and locations are checked, naming the field")
    func refusals() async throws {
        try await ServiceHarness.run(.memory) { harness in
            let client = harness.client
            func range(_ first: CalendarDate?, _ last: CalendarDate?, zone: String = "") -> StatisticsDayRange {
                StatisticsDayRange(firstDay: first, lastDay: last, timeZone: zone)
            }
            let cases: [(StatisticsDayRange?, String)] = [
                (nil, "days"),
                (range(nil, date(2026, 1, 1)), "days.first_day"),
                (range(date(2026, 1, 2), date(2026, 1, 1)), "days.last_day"),
                (range(date(2025, 1, 1), date(2026, 1, 3)), "days.last_day"),
                (range(date(2026, 2, 30), date(2026, 3, 1)), "days.first_day"),
                (range(date(2026, 1, 1), date(2026, 1, 2), zone: "Mars/Olympus"), "days.time_zone"),
                (range(date(2026, 1, 1), date(2026, 1, 2), zone: "Asia/Shang\u{0}hai"), "days.time_zone"),
                // Unknown, or days that do not start on a quarter hour: refused either way.
                (range(date(2026, 1, 1), date(2026, 1, 2), zone: "GMT+05:07"), "days.time_zone"),
                (range(date(1900, 1, 1), date(1900, 1, 2), zone: "Asia/Kathmandu"), "days.time_zone"),
            ]
            for (days, field) in cases {
                await expectStatus(.invalidArgument, containing: field) {
                    _ = try await client.sales(days ?? StatisticsDayRange())
                }
                await expectStatus(.invalidArgument, containing: field) {
                    _ = try await client.statistics.getTicketStatistics(GetTicketStatisticsRequest(days: days))
                }
            }
            // 366 days after the first is the most.
            let year = try await client.sales(range(date(2024, 1, 1), date(2025, 1, 1)))
            #expect(year.days.count == 367)
            let day = range(date(2026, 1, 1), date(2026, 1, 1))
            for limit in [-1, 101] {
                await expectStatus(.invalidArgument, containing: "limit") {
                    _ = try await client.statistics.listTopSellingProducts(
                        ListTopSellingProductsRequest(days: day, limit: Int32(limit))
                    )
                }
            }
            await expectStatus(.notFound, containing: "location_id") {
                _ = try await client.sales(day, location: "loc_nowhere")
            }
            await expectStatus(.invalidArgument, containing: "channel") {
                _ = try await client.statistics.getSalesStatistics(
                    GetSalesStatisticsRequest(days: day, locationID: "loc_any", channel: .delivery)
                )
            }
            await expectStatus(.invalidArgument, containing: "metric") {
                _ = try await client.statistics.listTopSellingProducts(
                    ListTopSellingProductsRequest(days: day, metric: TopSellingMetric(rawValue: 9))
                )
            }
        }
    }

    @Test("tickets per day: created, moved, open at the end of each day, SLA breaches on their deadline's day, scores")
    func tickets() async throws {
        try await ServiceHarness.run(.rocksdb) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            // 2026-12-01 09:00 in Shanghai.
            harness.clock.advance(seconds: 1_796_086_800 - harness.clock.clock.now().seconds)
            var made: [Ticket] = []
            for severity in [TicketSeverity.low, .critical, .critical] {
                made.append(
                    try await client.care.createTicket(
                        CreateTicketRequest(
                            requestID: rid(),
                            customerID: shop.customer.id,
                            channel: .online,
                            category: .delivery,
                            severity: severity,
                            subject: "迟到 late"
                        )
                    )
                )
            }
            for (ticket, to) in [(made[0], TicketStatus.acknowledged), (made[0], .resolved), (made[0], .closed)] {
                _ = try await client.care.transitionTicket(
                    TransitionTicketRequest(
                        requestID: rid(),
                        ticketID: ticket.id,
                        toStatus: to,
                        resolution: to == .resolved ? "sent again" : "",
                        satisfactionScore: to == .closed ? 4 : nil
                    )
                )
            }
            // A day later the critical tickets have missed both deadlines (due on the
            // 1st, swept on the 2nd).
            harness.clock.advance(seconds: 86_400)
            while try await harness.platform.care.provider.sweepBreaches().moreRemaining {}
            let stats = try await client.statistics.getTicketStatistics(
                GetTicketStatisticsRequest(
                    days: StatisticsDayRange(firstDay: date(2026, 12, 1), lastDay: date(2026, 12, 2))
                )
            )
            let first = stats.days[0]
            #expect(first.ticketsCreated == 3 && first.ticketsResolved == 1 && first.ticketsClosed == 1)
            #expect(first.openTicketsAtEnd == 2 && stats.days[1].openTicketsAtEnd == 2)
            #expect(first.satisfactionResponses == 1 && first.averageSatisfactionCenti == 400)
            let breaches = stats.days.map(\.slaBreaches).reduce(0, +)
            #expect(breaches == (stats.totals?.slaBreaches ?? -1))
            #expect(stats.totals?.acknowledgeBreaches == 2)
            #expect(stats.totals?.openTicketsAtEnd == 2)
            _ = try await client.verify(StatisticsDayRange(firstDay: date(2026, 11, 30), lastDay: date(2026, 12, 3)))
        }
    }

    @Test("VerifyStatistics needs the admin role; readonly callers read the figures")
    func roles() async throws {
        let tokens: [String: RPCPrincipal] = [
            "admin-token-0123456789": RPCPrincipal(name: "ops", role: .admin),
            "readonly-token-0123456789": RPCPrincipal(name: "viewer", role: .readonly),
            "service-token-0123456789": RPCPrincipal(name: "app", role: .service),
        ]
        try await ServiceHarness.run(.memory, tokens: tokens) { harness in
            let days = StatisticsDayRange(firstDay: date(2026, 1, 1), lastDay: date(2026, 1, 7))
            _ = try await harness.client.verify(days)
            for token in ["readonly-token-0123456789", "service-token-0123456789"] {
                try await harness.withClient(token: token) { client in
                    let count = try await client.sales(days).days.count
                    #expect(count == 7)
                    await expectStatus(.permissionDenied) {
                        _ = try await client.statistics.verifyStatistics(VerifyStatisticsRequest(days: days))
                    }
                }
            }
        }
    }

    @Test("the demo shop's figures agree with its records, and its best sellers have names")
    func demo() async throws {
        try await ServiceHarness.run(.memory, demo: true) { harness in
            let now = harness.clock.clock.now()
            let days = StatisticsDayRange(firstDay: utcDate(now, plusDays: -30), lastDay: utcDate(now, plusDays: 1))
            let check = try await harness.client.verify(days)
            #expect(check.ordersChecked > 0 && check.ticketsChecked > 0)
            let sales = try await harness.client.sales(days)
            #expect((sales.totals?.ordersPaid ?? 0) > 0)
            let top = try await harness.client.statistics.listTopSellingProducts(
                ListTopSellingProductsRequest(days: days)
            )
            #expect(top.products.count == 10)
            #expect(top.products.allSatisfy { !$0.name.isEmpty })
            #expect(top.products.map(\.rank) == Array(1...10))
        }
    }
}
