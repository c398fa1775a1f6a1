import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Synchronization
import Testing

func cny(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: "CNY") }

extension O2OServiceClients {
    func ticket(
        _ customer: Customer,
        order: Order? = nil,
        channel: TicketChannel = .phone,
        severity: TicketSeverity = .medium,
        subject: String = "包裹破损 parcel damaged",
        description: String = "",
        assignee: String = "",
        receivedAt: Timestamp? = nil,
        requestID: String = rid()
    ) async throws -> Ticket {
        try await care.createTicket(
            CreateTicketRequest(
                requestID: requestID,
                customerID: customer.id,
                orderID: order?.id ?? "",
                channel: channel,
                category: .productQuality,
                severity: severity,
                subject: subject,
                description: description,
                assigneeID: assignee,
                receivedAt: receivedAt
            )
        )
    }

    @discardableResult
    func move(
        _ ticket: Ticket,
        to status: TicketStatus,
        note: String = "",
        resolution: String = "",
        score: Int32? = nil
    ) async throws -> Ticket {
        try await care.transitionTicket(
            TransitionTicketRequest(
                requestID: rid(),
                ticketID: ticket.id,
                toStatus: status,
                note: note,
                resolution: resolution,
                satisfactionScore: score
            )
        )
    }

    @discardableResult
    func assign(_ ticket: Ticket, to person: String) async throws -> Ticket {
        try await care.assignTicket(AssignTicketRequest(requestID: rid(), ticketID: ticket.id, assigneeID: person))
    }

    func ticketHistory(_ ticket: Ticket) async throws -> [TicketHistoryEntry] {
        try await care.listTicketHistory(ListTicketHistoryRequest(ticketID: ticket.id)).entries
    }

    func fetch(_ ticket: Ticket) async throws -> Ticket {
        try await care.getTicket(GetTicketRequest(ticketID: ticket.id))
    }
}

extension ServiceHarness {
    /// Runs the breach sweep until it has nothing left; returns how many it recorded.
    @discardableResult
    func sweepBreaches() async throws -> Int {
        var total = 0
        var more = true
        while more {
            let round = try await platform.care.provider.sweepBreaches()
            total += round.recorded
            more = round.moreRemaining
        }
        return total
    }
}

@Suite("Complaint tickets")
struct TicketTests {
    @Test(
        "tickets from every channel, checked against customer and order, along the transition table",
        arguments: StoreKind.allCases
    )
    func workflow(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let order = try await shop.order(client, [1, 0].filter { $0 > 0 })
            for channel in [TicketChannel.phone, .online, .email, .social, .store] {
                let ticket = try await client.ticket(shop.customer, order: order, channel: channel)
                #expect(ticket.status == .received && ticket.channel == channel && ticket.orderID == order.id)
            }
            await expectStatus(.notFound, containing: "customer_id") {
                _ = try await client.care.createTicket(
                    CreateTicketRequest(
                        requestID: rid(),
                        customerID: "cus_none",
                        channel: .phone,
                        category: .other,
                        severity: .low,
                        subject: "x"
                    )
                )
            }
            await expectStatus(.notFound, containing: "order_id") {
                _ = try await client.care.createTicket(
                    CreateTicketRequest(
                        requestID: rid(),
                        customerID: shop.customer.id,
                        orderID: "ord_none",
                        channel: .phone,
                        category: .other,
                        severity: .low,
                        subject: "x"
                    )
                )
            }
            let other = try await client.crm.createCustomer(
                CreateCustomerRequest(requestID: rid(), displayName: "别人", email: "other-\(rid())@example.com")
            )
            await expectStatus(.invalidArgument, containing: "belongs to another customer") {
                _ = try await client.ticket(other, order: order)
            }
            await expectStatus(.invalidArgument, containing: "channel") {
                _ = try await client.ticket(shop.customer, channel: .unspecified)
            }
            await expectStatus(.invalidArgument, containing: "subject") {
                _ = try await client.ticket(shop.customer, subject: "")
            }
            await expectStatus(.invalidArgument, containing: "received_at") {
                _ = try await client.ticket(
                    shop.customer,
                    receivedAt: Timestamp(seconds: harness.clock.clock.now().seconds + 3_600)
                )
            }

            // A retry with the same request id is the same ticket.
            let id = rid()
            var ticket = try await client.ticket(shop.customer, order: order, requestID: id)
            #expect(try await client.ticket(shop.customer, order: order, requestID: id).id == ticket.id)

            // Refused moves name both states and what is possible.
            await expectStatus(.failedPrecondition, containing: "RECEIVED and cannot become RESOLVED") {
                try await client.move(ticket, to: .resolved, resolution: "refunded")
            }
            await expectStatus(.invalidArgument, containing: "note") {
                try await client.move(ticket, to: .closed)
            }
            ticket = try await client.move(ticket, to: .acknowledged)
            #expect(ticket.acknowledgedAt != nil)
            await expectStatus(.failedPrecondition, containing: "needs an assignee") {
                try await client.move(ticket, to: .investigating)
            }
            ticket = try await client.assign(ticket, to: "li.na")
            ticket = try await client.move(ticket, to: .investigating)
            await expectStatus(.failedPrecondition, containing: "INVESTIGATING") {
                try await client.assign(ticket, to: "")
            }
            await expectStatus(.invalidArgument, containing: "resolution") {
                try await client.move(ticket, to: .resolved)
            }
            await expectStatus(.invalidArgument, containing: "satisfaction_score") {
                try await client.move(ticket, to: .resolved, resolution: "sent a new one", score: 5)
            }
            ticket = try await client.move(ticket, to: .resolved, resolution: "sent a new one")
            await expectStatus(.failedPrecondition, containing: "recorded after closing") {
                _ = try await client.care.recordTicketSatisfaction(
                    RecordTicketSatisfactionRequest(requestID: rid(), ticketID: ticket.id, satisfactionScore: 4)
                )
            }
            // Reopened: a new resolve deadline from the reopening.
            await expectStatus(.invalidArgument, containing: "note") {
                try await client.move(ticket, to: .reopened)
            }
            harness.clock.advance(seconds: 3_600)
            ticket = try await client.move(ticket, to: .reopened, note: "still broken")
            #expect(ticket.reopenCount == 1)
            let reopened = try await client.ticketHistory(ticket).last?.createdAt?.seconds ?? 0
            #expect(ticket.resolveDueAt?.seconds == reopened + 3 * 86_400)
            ticket = try await client.move(ticket, to: .resolved, resolution: "refunded instead")
            ticket = try await client.move(ticket, to: .closed)
            #expect(ticket.closedAt != nil && ticket.satisfactionScore == 0)
            ticket = try await client.care.recordTicketSatisfaction(
                RecordTicketSatisfactionRequest(
                    requestID: rid(),
                    ticketID: ticket.id,
                    satisfactionScore: 4,
                    satisfactionComment: "ok"
                )
            )
            #expect(ticket.satisfactionScore == 4)
            await expectStatus(.failedPrecondition, containing: "already has a satisfaction score") {
                _ = try await client.care.recordTicketSatisfaction(
                    RecordTicketSatisfactionRequest(requestID: rid(), ticketID: ticket.id, satisfactionScore: 2)
                )
            }
            // CLOSED is final, but still takes notes.
            await expectStatus(.failedPrecondition, containing: "CLOSED and cannot become REOPENED (it is final)") {
                try await client.move(ticket, to: .reopened, note: "again")
            }
            await expectStatus(.failedPrecondition, containing: "CLOSED") {
                _ = try await client.care.updateTicket(
                    UpdateTicketRequest(requestID: rid(), ticketID: ticket.id, subject: "new")
                )
            }
            let note = try await client.care.addTicketNote(
                AddTicketNoteRequest(requestID: rid(), ticketID: ticket.id, kind: .remediation, text: "培训快递员")
            )
            #expect(note.ticketID == ticket.id)
            let history = try await client.ticketHistory(ticket)
            #expect(history.map(\.sequence) == Array(1...Int64(history.count)), "consecutive from 1")
            #expect(history.last?.kind == .noteAdded && history.last?.noteID == note.id)
            #expect(history.map(\.kind).contains(.satisfactionRecorded))
            #expect(try await client.fetch(ticket).version == Int64(history.count), "one entry per change")
            let notes = try await client.care.listTicketNotes(ListTicketNotesRequest(ticketID: ticket.id)).notes
            #expect(notes.map(\.text) == ["培训快递员"])

            // Lists: by customer, by status, unassigned.
            let listed = try await client.care.listTickets(
                ListTicketsRequest(statuses: [.received], customerID: shop.customer.id)
            ).tickets
            #expect(listed.count == 5)
            let closed = try await client.care.listTickets(ListTicketsRequest(statuses: [.closed])).tickets
            #expect(closed.map(\.id) == [ticket.id])
            let assigned = try await client.care.listTickets(ListTicketsRequest(assigneeID: "li.na")).tickets
            #expect(assigned.map(\.id) == [ticket.id])
        }
    }

    @Test(
        "SLA deadlines from the severity's policy; the sweep records each breach once; a breach stays",
        arguments: StoreKind.allCases
    )
    func sla(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let policies = try await client.care.listSlaPolicies(ListSlaPoliciesRequest()).policies
            #expect(policies.map(\.severity) == [.low, .medium, .high, .critical])
            #expect(policies.map(\.acknowledgeWithinSeconds) == [86_400, 28_800, 7_200, 1_800])
            #expect(policies.allSatisfy { $0.version == 0 })
            await expectStatus(.invalidArgument, containing: "resolve_within_seconds") {
                _ = try await client.care.setSlaPolicy(
                    SetSlaPolicyRequest(
                        requestID: rid(),
                        policy: SlaPolicy(severity: .high, acknowledgeWithinSeconds: 600, resolveWithinSeconds: 300)
                    )
                )
            }
            let policy = try await client.care.setSlaPolicy(
                SetSlaPolicyRequest(
                    requestID: rid(),
                    policy: SlaPolicy(severity: .high, acknowledgeWithinSeconds: 600, resolveWithinSeconds: 3_600)
                )
            )
            #expect(policy.version == 1)
            var high = try await client.ticket(shop.customer, severity: .high)
            let start = high.createdAt?.seconds ?? 0
            #expect(high.acknowledgeDueAt?.seconds == start + 600 && high.resolveDueAt?.seconds == start + 3_600)
            let low = try await client.ticket(shop.customer, severity: .low)
            // Logged afterwards: the clocks run from the call, already 2 h late.
            let now = harness.clock.clock.now().seconds
            let late = try await client.ticket(
                shop.customer,
                severity: .critical,
                receivedAt: Timestamp(seconds: now - 7_200)
            )
            #expect(late.acknowledgeDueAt?.seconds == now - 7_200 + 1_800)

            #expect(try await harness.sweepBreaches() == 1, "only the backdated ticket's acknowledgement is due")
            harness.clock.advance(seconds: 601)
            #expect(try await harness.sweepBreaches() == 1, "the high ticket's acknowledgement")
            #expect(try await harness.sweepBreaches() == 0, "each breach once")
            high = try await client.fetch(high)
            #expect(high.acknowledgeBreached && !high.resolveBreached)
            // Acknowledged late: the breach gets its met time and stays.
            high = try await client.move(high, to: .acknowledged)
            #expect(high.acknowledgeBreached)
            var breaches = try await client.care.listSlaBreaches(ListSlaBreachesRequest(ticketID: high.id)).breaches
            #expect(breaches.count == 1 && breaches[0].metAt != nil && breaches[0].severity == .high)

            // A severity change re-grades the running resolve clock from its start.
            high = try await client.care.updateTicket(
                UpdateTicketRequest(requestID: rid(), ticketID: high.id, severity: .medium, note: "calmer")
            )
            #expect(high.resolveDueAt?.seconds == start + 3 * 86_400)
            #expect(high.acknowledgeDueAt?.seconds == start + 600, "the met deadline is kept")
            high = try await client.care.updateTicket(
                UpdateTicketRequest(requestID: rid(), ticketID: high.id, severity: .high)
            )
            #expect(high.resolveDueAt?.seconds == start + 3_600)

            harness.clock.advance(seconds: 3_000)
            // The high resolve (1 h) and the critical one (8 h from 2 h ago) are not both
            // due yet: only the high one.
            #expect(try await harness.sweepBreaches() == 1)
            high = try await client.assign(high, to: "wang.fang")
            high = try await client.move(high, to: .investigating)
            high = try await client.move(high, to: .resolved, resolution: "replaced")
            #expect(high.resolveBreached, "stays breached after resolving")
            harness.clock.advance(seconds: 86_400)
            _ = try await harness.sweepBreaches()
            breaches = try await client.care.listSlaBreaches(ListSlaBreachesRequest()).breaches
            let dues = breaches.map { $0.dueAt?.seconds ?? 0 }
            #expect(dues == dues.sorted(by: >), "latest deadline first")
            #expect(breaches.filter { $0.ticketID == low.id }.map(\.kind) == [.acknowledge], "low: 24 h passed")
            let unmet = try await client.care.listSlaBreaches(ListSlaBreachesRequest(unmetOnly: true)).breaches
            #expect(unmet.allSatisfy { $0.metAt == nil } && !unmet.contains { $0.ticketID == high.id })
            let paged = try await client.care.listSlaBreaches(ListSlaBreachesRequest(page: PageRequest(pageSize: 2)))
            #expect(paged.breaches.count == 2 && !paged.nextPageToken.isEmpty)
            let history = try await client.ticketHistory(high)
            #expect(history.filter { $0.kind == .slaBreached }.map(\.slaBreachKind) == [.acknowledge, .resolve])
            #expect(history.filter { $0.kind == .slaBreached }.allSatisfy { $0.actor?.principal == "system" })
            let breached = try await client.care.listTickets(ListTicketsRequest(breachedOnly: true)).tickets
            #expect(Set(breached.map(\.id)) == Set([high.id, low.id, late.id]))
        }
    }

    @Test("the event stream delivers ticket and case entries and resumes after a cursor", arguments: StoreKind.allCases)
    func events(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let live = Atomic<Bool>(false)
            let watcher = Task {
                try await client.care.watchTicketEvents(WatchTicketEventsRequest()) { responses in
                    var seen: [TicketEvent] = []
                    for try await event in responses {
                        live.store(true, ordering: .relaxed)
                        seen.append(event)
                        if seen.count >= 4 { break }
                    }
                    return seen
                }
            }
            try await waitUntil("the watch's first message") { live.load(ordering: .relaxed) }
            let ticket = try await client.ticket(shop.customer)
            try await client.move(ticket, to: .acknowledged)
            try await client.assign(ticket, to: "li.na")
            let all = try await watcher.value
            #expect(all[0].entry == nil && !all[0].cursor.isEmpty, "the cursor first")
            let seen = all.dropFirst().compactMap { event -> TicketHistoryEntry? in
                if case .ticketEntry(let entry)? = event.entry { return entry }
                return nil
            }
            #expect(seen.map(\.kind) == [.created, .statusChanged, .assigned])
            #expect(seen.map(\.sequence) == [1, 2, 3])
            #expect(all.last?.ticket?.assigneeID == "li.na")
            let replay = try await client.care.watchTicketEvents(
                WatchTicketEventsRequest(resumeCursor: all[1].cursor, assigneeID: "li.na")
            ) { responses -> TicketEvent? in
                for try await event in responses where event.entry != nil { return event }
                return nil
            }
            #expect(replay?.cursor == all[3].cursor, "only the entry after the change to li.na")
            await expectStatus(.invalidArgument, containing: "resume_cursor") {
                try await client.care.watchTicketEvents(WatchTicketEventsRequest(resumeCursor: "oe1")) { responses in
                    for try await _ in responses {}
                }
            }
        }
    }

    @Test(
        "ticket texts never reach the logs; readonly callers get them hidden; the 360 view counts open tickets",
        arguments: StoreKind.allCases
    )
    func personalData(kind: StoreKind) async throws {
        let log = CapturedLog()
        let secrets = ["13912345678", "住在幸福路 9 号", "银行卡 6222 0000", "打电话给 13912345678"]
        let tokens: [String: RPCPrincipal] = [
            "admin-token-0123456789": RPCPrincipal(name: "boss", role: .admin),
            "reader-token-0123456789": RPCPrincipal(name: "viewer", role: .readonly),
        ]
        try await ServiceHarness.run(kind, tokens: tokens, logger: log.logger) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            var ticket = try await client.ticket(shop.customer, description: secrets[0] + " " + secrets[1])
            _ = try await client.care.addTicketNote(
                AddTicketNoteRequest(requestID: rid(), ticketID: ticket.id, kind: .customerMessage, text: secrets[2])
            )
            ticket = try await client.move(ticket, to: .closed, note: secrets[3])
            // Failing calls are logged too.
            await expectStatus(.invalidArgument) {
                _ = try await client.care.addTicketNote(
                    AddTicketNoteRequest(requestID: rid(), ticketID: ticket.id, kind: .unspecified, text: secrets[2])
                )
            }
            try await harness.withClient(token: "reader-token-0123456789") { reader in
                let seen = try await reader.care.getTicket(GetTicketRequest(ticketID: ticket.id))
                #expect(seen.description == "(hidden)" && seen.subject == ticket.subject)
                let notes = try await reader.care.listTicketNotes(ListTicketNotesRequest(ticketID: ticket.id)).notes
                #expect(notes.map(\.text) == ["(hidden)"])
                let history = try await reader.care.listTicketHistory(ListTicketHistoryRequest(ticketID: ticket.id))
                #expect(!history.entries.contains { $0.note == secrets[3] })
            }
            let full = try await client.fetch(ticket)
            #expect(full.description == secrets[0] + " " + secrets[1])
            _ = try await client.ticket(shop.customer)
            let view = try await client.crm.getCustomer360(GetCustomer360Request(customerID: shop.customer.id))
            #expect(view.ticketsIncluded && view.openTicketCount == 1 && view.totalTicketCount == 2)
        }
        let text = log.text
        #expect(!text.isEmpty, "the calls were logged")
        for secret in secrets { #expect(!text.contains(secret), "'\(secret)' in the log") }
    }
}
