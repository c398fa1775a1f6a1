import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CrmServiceProvider {
    public func addInteractionNote(
        request: AddInteractionNoteRequest,
        context: RPCServerContext
    ) async throws -> InteractionNote {
        try Validate.known(request.channel, field: "channel", noun: "channel")
        guard request.channel != .unspecified else { throw RPCError.invalidArgument(field: "channel", "is required") }
        let text = try Validate.text(request.text, field: "text", min: 1, max: 4000)
        let orderID = request.orderID.isEmpty ? "" : try Validate.id(request.orderID, field: "order_id")
        let ticketID = request.ticketID.isEmpty ? "" : try Validate.id(request.ticketID, field: "ticket_id")
        let occurred = try request.occurredAt.map { try Validate.timestamp($0, field: "occurred_at") }
        let note = try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let customer = try await changeableCustomer(transaction, request.customerID)
            if let occurred, Timestamps.nanos(occurred) > Timestamps.nanos(transaction.now) {
                throw RPCError.invalidArgument(field: "occurred_at", "must not be in the future")
            }
            let note = InteractionNote(
                id: RecordIDs.make(prefix: "not"),
                customerID: customer.id,
                channel: request.channel,
                text: text,
                orderID: orderID,
                ticketID: ticketID,
                author: actor(context),
                occurredAt: occurred ?? transaction.now,
                createdAt: transaction.now
            )
            try await transaction.insert(CRMTables.notes, note)
            return note
        }
        return PersonalData.shown(note, to: context)
    }

    public func listInteractionNotes(
        request: ListInteractionNotesRequest,
        context: RPCServerContext
    ) async throws -> ListInteractionNotesResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let channel = try Validate.known(request.channel, field: "channel", noun: "channel")
        let orderID = request.orderID
        let ticketID = request.ticketID
        let predicate: @Sendable (InteractionNote) -> Bool = { note in
            (channel == .unspecified || note.channel == channel) && (orderID.isEmpty || note.orderID == orderID)
                && (ticketID.isEmpty || note.ticketID == ticketID)
        }
        let page = try await store.read { reader in
            let customer = try await reader.require(CRMTables.customers, request.customerID, field: "customer_id")
            return try await reader.page(
                CRMTables.notes,
                RecordQuery(
                    prefix: [.string(customer.id)],
                    direction: .reverse,
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: [customer.id, "\(channel.rawValue)", orderID, ticketID],
                    predicate: predicate
                )
            )
        }
        return ListInteractionNotesResponse(
            notes: page.records.map { PersonalData.shown($0, to: context) },
            nextPageToken: page.nextPageToken
        )
    }

    public func getCustomer360(request: GetCustomer360Request, context: RPCServerContext) async throws -> Customer360 {
        guard (0...50).contains(request.recentLimit) else {
            throw RPCError.invalidArgument(field: "recent_limit", "must be 0 to 50, got \(request.recentLimit)")
        }
        let recent = request.recentLimit == 0 ? 10 : Int(request.recentLimit)
        var view = try await store.read { reader -> Customer360 in
            let customer = try await reader.require(CRMTables.customers, request.customerID, field: "customer_id")
            let settings = try await settings(reader)
            var view = Customer360(
                customer: PersonalData.shown(customer, to: context),
                tier: customer.tierID.isEmpty ? nil : try await reader.get(CRMTables.tiers, .string(customer.tierID)),
                pointsBalance: customer.pointsBalance,
                totalSpend: Money(minorUnits: 0, currency: settings.currency),
                averageOrderValue: Money(minorUnits: 0, currency: settings.currency),
                segmentIDs: try await segments(of: customer.id, in: reader),
                computedAt: store.now()
            )
            let soon = Timestamps.nanos(store.now()) &+ 30 * 86_400_000_000_000
            for lot in try await reader.all(
                CRMTables.lots,
                RecordQuery(prefix: [.string(customer.id)], upperBound: [.int(soon)], pageSize: 500),
                limit: .max
            ) {
                view.pointsExpiringSoon += lot.remaining
            }
            view.lastInteractionAt =
                try await reader.page(
                    CRMTables.notes,
                    RecordQuery(
                        index: CRMTables.noteOccurred,
                        prefix: [.string(customer.id)],
                        direction: .reverse,
                        pageSize: 1
                    )
                ).records.first?.occurredAt
            return view
        }
        if let orderSource {
            let orders = try await orderSource.figures(customerID: request.customerID, recentLimit: recent)
            view.ordersIncluded = true
            view.orderCount = orders.orderCount
            view.totalSpend?.minorUnits = orders.totalSpend
            view.averageOrderValue?.minorUnits =
                orders.paidOrderCount > 0 ? orders.totalSpend / orders.paidOrderCount : 0
            view.lastOrderAt = orders.lastOrderAt
            view.openOrderCount = orders.openOrderCount
            view.recentOrderIDs = Array(orders.recentOrderIDs.prefix(recent))
        }
        if let ticketSource {
            let tickets = try await ticketSource.figures(customerID: request.customerID, recentLimit: recent)
            view.ticketsIncluded = true
            view.openTicketCount = tickets.openTicketCount
            view.totalTicketCount = tickets.totalTicketCount
            view.openAfterSalesCount = tickets.openAfterSalesCount
            view.recentTicketIDs = Array(tickets.recentTicketIDs.prefix(recent))
        }
        return view
    }
}
