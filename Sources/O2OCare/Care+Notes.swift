public import O2OMessages
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension CareServiceProvider {
    static let maximumNotes = 500

    public func addTicketNote(request: AddTicketNoteRequest, context: RPCServerContext) async throws -> TicketNote {
        let kind = try Validate.known(request.kind, field: "kind", noun: "note kind")
        guard kind != .unspecified else { throw RPCError.invalidArgument(field: "kind", "is required") }
        let text = try Validate.text(request.text, field: "text", min: 1, max: 4_000)
        try RequestIDs.validate(request.requestID)
        let id = try Validate.id(request.ticketID, field: "ticket_id")
        let actor = try context.actor(nil)
        let note = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.ticketLock(id)]
        ) { transaction in
            var ticket = try await transaction.require(CareTables.tickets, id, field: "ticket_id")
            let existing = try await transaction.all(
                CareTables.notes,
                RecordQuery(prefix: [.string(id)], pageSize: 500),
                limit: Self.maximumNotes
            )
            guard existing.count < Self.maximumNotes else {
                throw RPCError(
                    code: .resourceExhausted,
                    message: "ticket_id: ticket '\(id)' has \(Self.maximumNotes) notes, the most it may have"
                )
            }
            let note = TicketNote(
                id: RecordIDs.make(prefix: "tnt"),
                ticketID: id,
                kind: kind,
                text: text,
                author: actor,
                createdAt: transaction.now
            )
            try await transaction.insert(CareTables.notes, note)
            try await TicketBook(provider: self, transaction: transaction, actor: actor).change(
                &ticket,
                kind: .noteAdded
            ) { $0.noteID = note.id }
            return note
        }
        return CareText.shown(note, to: context)
    }

    public func listTicketNotes(
        request: ListTicketNotesRequest,
        context: RPCServerContext
    ) async throws -> ListTicketNotesResponse {
        let kind = try Validate.known(request.kind, field: "kind", noun: "note kind")
        var predicate: (@Sendable (TicketNote) -> Bool)?
        if kind != .unspecified { predicate = { note in note.kind == kind } }
        let page = try await page(
            of: CareTables.tickets,
            request.ticketID,
            field: "ticket_id",
            CareTables.notes,
            page: request.page,
            filters: ["\(kind.rawValue)"],
            predicate: predicate
        )
        return ListTicketNotesResponse(
            notes: page.records.map { CareText.shown($0, to: context) },
            nextPageToken: page.nextPageToken
        )
    }

    public func listTicketHistory(
        request: ListTicketHistoryRequest,
        context: RPCServerContext
    ) async throws -> ListTicketHistoryResponse {
        let page = try await page(
            of: CareTables.tickets,
            request.ticketID,
            field: "ticket_id",
            CareTables.ticketHistory,
            page: request.page
        )
        return ListTicketHistoryResponse(
            entries: page.records.map { CareText.shown($0, to: context) },
            nextPageToken: page.nextPageToken
        )
    }

    public func watchTicketEvents(
        request: WatchTicketEventsRequest,
        responses: RPCResponseWriter<TicketEvent>,
        context: RPCServerContext
    ) async throws {
        let ticketID = request.ticketID.isEmpty ? nil : try Validate.id(request.ticketID, field: "ticket_id")
        let assignee = request.assigneeID.isEmpty ? nil : try Self.assignee(request.assigneeID, field: "assignee_id")
        let kinds = Set(try Validate.known(request.kinds, field: "kinds", noun: "history kind"))
        let afterSales = request.includeAfterSales
        func wanted(_ event: TicketEvent) -> Bool {
            switch event.entry {
            case .ticketEntry(let entry)?:
                return (ticketID == nil || entry.ticketID == ticketID!)
                    && (assignee == nil || entry.assigneeID == assignee!)
                    && (kinds.isEmpty || kinds.contains(entry.kind))
            case .afterSalesEntry(let entry)?:
                return afterSales && assignee == nil && (ticketID == nil || entry.ticketID == ticketID!)
            case nil:
                return false
            }
        }
        try await events.watch(
            resumeCursor: request.resumeCursor,
            wanted: wanted,
            marker: { TicketEvent(cursor: $0) },
            write: { event in
                var shown = event
                switch event.entry {
                case .ticketEntry(let entry)?: shown.entry = .ticketEntry(CareText.shown(entry, to: context))
                case .afterSalesEntry(let entry)?: shown.entry = .afterSalesEntry(CareText.shown(entry, to: context))
                case nil: break
                }
                shown.ticket = event.ticket.map { CareText.shown($0, to: context) }
                try await responses.write(shown)
            }
        )
    }
}
