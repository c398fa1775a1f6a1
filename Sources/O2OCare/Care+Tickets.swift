public import O2OMessages
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension CareServiceProvider {
    /// How far back a complaint may be logged (a call noted afterwards).
    static let maximumBackdatingSeconds: Int64 = 30 * 86_400
    static let maximumLabels = 20
    static let maximumLinkedCases = 100

    static func assignee(_ value: String, field: String) throws -> String {
        let name = try Validate.text(value, field: field, max: 64)
        guard name.unicodeScalars.allSatisfy({ !$0.properties.isWhitespace }) || name.isEmpty else {
            throw RPCError.invalidArgument(field: field, "a staff principal name has no spaces")
        }
        return name
    }

    public func createTicket(request: CreateTicketRequest, context: RPCServerContext) async throws -> Ticket {
        try RequestIDs.validate(request.requestID)
        let customerID = try Validate.id(request.customerID, field: "customer_id")
        let orderID = request.orderID.isEmpty ? "" : try Validate.id(request.orderID, field: "order_id")
        let channel = try Validate.known(request.channel, field: "channel", noun: "channel")
        let category = try Validate.known(request.category, field: "category", noun: "category")
        let severity = try Validate.known(request.severity, field: "severity", noun: "severity")
        if channel == .unspecified { throw RPCError.invalidArgument(field: "channel", "is required") }
        if category == .unspecified { throw RPCError.invalidArgument(field: "category", "is required") }
        if severity == .unspecified { throw RPCError.invalidArgument(field: "severity", "is required") }
        let subject = try Validate.text(request.subject, field: "subject", min: 1, max: 200)
        let description = try Validate.text(request.description, field: "description", max: 4_000)
        let assignee = try Self.assignee(request.assigneeID, field: "assignee_id")
        let related =
            request.relatedTicketID.isEmpty ? "" : try Validate.id(request.relatedTicketID, field: "related_ticket_id")
        let labels = try Validate.labels(request.labels, field: "labels", maxCount: Self.maximumLabels)
        let now = store.now()
        var received = now
        if let given = request.receivedAt {
            received = try Validate.timestamp(given, field: "received_at")
            guard Timestamps.nanos(received) <= Timestamps.nanos(now) else {
                throw RPCError.invalidArgument(field: "received_at", "must not be in the future")
            }
            let earliest = Timestamps.adding(seconds: -Self.maximumBackdatingSeconds, to: now)
            guard Timestamps.nanos(received) >= Timestamps.nanos(earliest) else {
                throw RPCError.invalidArgument(field: "received_at", "must be at most 30 days ago")
            }
        }
        let actor = try context.actor(nil)
        let ticket = try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            _ = try await customer(customerID, field: "customer_id", in: transaction)
            if !orderID.isEmpty {
                _ = try await order(orderID, of: customerID, field: "order_id", in: transaction)
            }
            if !related.isEmpty {
                let earlier = try await transaction.require(CareTables.tickets, related, field: "related_ticket_id")
                guard earlier.customerID == customerID else {
                    throw RPCError.invalidArgument(
                        field: "related_ticket_id",
                        "ticket '\(related)' belongs to another customer"
                    )
                }
            }
            var ticket = Ticket(
                id: RecordIDs.make(prefix: "tkt"),
                customerID: customerID,
                orderID: orderID,
                channel: channel,
                category: category,
                severity: severity,
                subject: subject,
                description: description,
                assigneeID: assignee,
                relatedTicketID: related,
                labels: labels,
                createdAt: received
            )
            try await TicketBook(provider: self, transaction: transaction, actor: actor).create(&ticket)
            return ticket
        }
        return CareText.shown(ticket, to: context)
    }

    public func getTicket(request: GetTicketRequest, context: RPCServerContext) async throws -> Ticket {
        let id = try Validate.id(request.ticketID, field: "ticket_id")
        return CareText.shown(try await store.latest.require(CareTables.tickets, id, field: "ticket_id"), to: context)
    }

    public func listTickets(request: ListTicketsRequest, context: RPCServerContext) async throws -> ListTicketsResponse
    {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let statuses = Set(try Validate.known(request.statuses, field: "statuses", noun: "status"))
        let customerID = request.customerID.isEmpty ? nil : try Validate.id(request.customerID, field: "customer_id")
        let orderID = request.orderID.isEmpty ? nil : try Validate.id(request.orderID, field: "order_id")
        let assignee = request.assigneeID.isEmpty ? nil : try Self.assignee(request.assigneeID, field: "assignee_id")
        if assignee != nil, request.unassignedOnly {
            throw RPCError.invalidArgument(field: "unassigned_only", "cannot be combined with assignee_id")
        }
        let unassigned = request.unassignedOnly
        let severity = try Validate.known(request.severity, field: "severity", noun: "severity")
        let category = try Validate.known(request.category, field: "category", noun: "category")
        let channel = try Validate.known(request.channel, field: "channel", noun: "channel")
        let breached = request.breachedOnly
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let order = try Validate.known(request.sortOrder, field: "sort_order", noun: "sort order")
        let predicate: @Sendable (Ticket) -> Bool = { ticket in
            let created = Timestamps.nanos(ticket.createdAt)
            return (statuses.isEmpty || statuses.contains(ticket.status))
                && (customerID == nil || ticket.customerID == customerID!)
                && (orderID == nil || ticket.orderID == orderID!)
                && (assignee == nil || ticket.assigneeID == assignee!)
                && (!unassigned || ticket.assigneeID.isEmpty)
                && (severity == .unspecified || ticket.severity == severity)
                && (category == .unspecified || ticket.category == category)
                && (channel == .unspecified || ticket.channel == channel)
                && (!breached || ticket.acknowledgeBreached || ticket.resolveBreached)
                && (start.map { created >= $0 } ?? true) && (end.map { created < $0 } ?? true)
        }
        // The most selective index given; one status can be read from its own list.
        var index: RecordIndex<Ticket>?
        var prefix: KeyTuple = []
        if let customerID {
            (index, prefix) = (CareTables.ticketCustomer, [.string(customerID)])
        } else if let orderID {
            (index, prefix) = (CareTables.ticketOrder, [.string(orderID)])
        } else if let assignee {
            (index, prefix) = (CareTables.ticketAssignee, [.string(assignee)])
        } else if statuses.count == 1, let status = statuses.first {
            (index, prefix) = (CareTables.ticketStatus, [.int(Int64(status.rawValue))])
        }
        let filters = [
            statuses.map { "\($0.rawValue)" }.sorted().joined(separator: ","), customerID ?? "", orderID ?? "",
            assignee ?? "", "\(unassigned)", "\(severity.rawValue)", "\(category.rawValue)", "\(channel.rawValue)",
            "\(breached)", "\(start ?? -1)", "\(end ?? -1)", "\(order.rawValue)",
        ]
        let page = try await store.read { reader in
            try await reader.page(
                CareTables.tickets,
                RecordQuery(
                    index: index,
                    prefix: prefix,
                    direction: order == .ascending ? .forward : .reverse,
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: filters,
                    predicate: predicate
                )
            )
        }
        return ListTicketsResponse(
            tickets: page.records.map { CareText.shown($0, to: context) },
            nextPageToken: page.nextPageToken
        )
    }

    /// A change of one ticket under a request id: read again in the transaction
    /// (NOT_FOUND, then the expected version), changed through the book.
    func changeTicket<Request: O2OMessage>(
        _ context: RPCServerContext,
        requestID: String,
        request: Request,
        ticketID: String,
        expectedVersion: Int64? = nil,
        extraLocks: [String] = [],
        _ body: (inout Ticket, TicketBook) async throws -> Void
    ) async throws -> Ticket {
        try RequestIDs.validate(requestID)
        let id = try Validate.id(ticketID, field: "ticket_id")
        let actor = try context.actor(nil)
        let ticket = try await store.mutation(
            context,
            requestID: requestID,
            request: request,
            locking: [Self.ticketLock(id)] + extraLocks
        ) { transaction in
            var ticket = try await transaction.require(
                CareTables.tickets,
                id,
                field: "ticket_id",
                expectedVersion: expectedVersion
            )
            try await body(&ticket, TicketBook(provider: self, transaction: transaction, actor: actor))
            return ticket
        }
        return CareText.shown(ticket, to: context)
    }

    static func refuseClosed(_ ticket: Ticket, to action: String) throws {
        guard ticket.status != .closed else {
            throw RPCError(
                code: .failedPrecondition,
                message: "ticket_id: ticket '\(ticket.id)' is CLOSED and cannot \(action); a new complaint about "
                    + "the same matter is a new ticket with related_ticket_id"
            )
        }
    }

    public func updateTicket(request: UpdateTicketRequest, context: RPCServerContext) async throws -> Ticket {
        let subject = try request.subject.map { try Validate.text($0, field: "subject", min: 1, max: 200) }
        let description = try request.description.map {
            try Validate.text($0, field: "description", max: 4_000)
        }
        let category = try request.category.map { try Validate.known($0, field: "category", noun: "category") }
        if category == .unspecified { throw RPCError.invalidArgument(field: "category", "must not be UNSPECIFIED") }
        let severity = try request.severity.map { try Validate.known($0, field: "severity", noun: "severity") }
        if severity == .unspecified { throw RPCError.invalidArgument(field: "severity", "must not be UNSPECIFIED") }
        let orderID = try request.orderID.map { $0.isEmpty ? "" : try Validate.id($0, field: "order_id") }
        let labels =
            request.replaceLabels
            ? try Validate.labels(request.labels, field: "labels", maxCount: Self.maximumLabels) : nil
        if !request.replaceLabels, !request.labels.isEmpty {
            throw RPCError.invalidArgument(field: "labels", "are used only with replace_labels")
        }
        let note = try Validate.text(request.note, field: "note", max: 500)
        return try await changeTicket(
            context,
            requestID: request.requestID,
            request: request,
            ticketID: request.ticketID,
            expectedVersion: request.expectedVersion
        ) { ticket, book in
            try Self.refuseClosed(ticket, to: "be changed")
            var changed: [String] = []
            if let subject, subject != ticket.subject {
                ticket.subject = subject
                changed.append("subject")
            }
            if let description, description != ticket.description {
                ticket.description = description
                changed.append("description")
            }
            if let category, category != ticket.category {
                ticket.category = category
                changed.append("category")
            }
            if let orderID, orderID != ticket.orderID {
                if !orderID.isEmpty {
                    _ = try await order(orderID, of: ticket.customerID, field: "order_id", in: book.transaction)
                }
                ticket.orderID = orderID
                changed.append("order_id")
            }
            if let labels, labels != ticket.labels {
                ticket.labels = labels
                changed.append("labels")
            }
            if let severity, severity != ticket.severity {
                try await book.regrade(&ticket, to: severity)
                changed.append("severity")
            }
            // Nothing different: the ticket stays as it is, without an entry.
            guard !changed.isEmpty else { return }
            try await book.change(&ticket, kind: .updated, note: note) { $0.changedFields = changed }
        }
    }

    public func assignTicket(request: AssignTicketRequest, context: RPCServerContext) async throws -> Ticket {
        let assignee = try Self.assignee(request.assigneeID, field: "assignee_id")
        let note = try Validate.text(request.note, field: "note", max: 500)
        return try await changeTicket(
            context,
            requestID: request.requestID,
            request: request,
            ticketID: request.ticketID,
            expectedVersion: request.expectedVersion
        ) { ticket, book in
            try Self.refuseClosed(ticket, to: "be assigned")
            if assignee.isEmpty, ticket.status == .investigating {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "assignee_id: ticket '\(ticket.id)' is INVESTIGATING and needs an assignee; assign "
                        + "someone else instead"
                )
            }
            guard assignee != ticket.assigneeID else { return }
            let previous = ticket.assigneeID
            ticket.assigneeID = assignee
            try await book.change(&ticket, kind: .assigned, note: note) { $0.previousAssigneeID = previous }
        }
    }

    public func transitionTicket(request: TransitionTicketRequest, context: RPCServerContext) async throws -> Ticket {
        let to = try Validate.known(request.toStatus, field: "to_status", noun: "status")
        guard to != .unspecified else { throw RPCError.invalidArgument(field: "to_status", "is required") }
        let note = try Validate.text(request.note, field: "note", max: 1_000)
        let resolution = try Validate.text(request.resolution, field: "resolution", max: 4_000)
        if !resolution.isEmpty, to != .resolved {
            throw RPCError.invalidArgument(field: "resolution", "is given only when resolving a ticket")
        }
        if let score = request.satisfactionScore, !(1...5).contains(score) {
            throw RPCError.invalidArgument(field: "satisfaction_score", "must be 1 to 5, got \(score)")
        }
        let comment = try Validate.text(request.satisfactionComment, field: "satisfaction_comment", max: 1_000)
        if !comment.isEmpty, request.satisfactionScore == nil {
            throw RPCError.invalidArgument(field: "satisfaction_comment", "is given only with satisfaction_score")
        }
        let move = TicketMove(
            to: to,
            note: note,
            resolution: resolution,
            score: request.satisfactionScore,
            comment: comment
        )
        return try await changeTicket(
            context,
            requestID: request.requestID,
            request: request,
            ticketID: request.ticketID,
            expectedVersion: request.expectedVersion
        ) { ticket, book in
            try await book.move(&ticket, move)
        }
    }

    public func recordTicketSatisfaction(
        request: RecordTicketSatisfactionRequest,
        context: RPCServerContext
    ) async throws -> Ticket {
        let score = request.satisfactionScore
        guard (1...5).contains(score) else {
            throw RPCError.invalidArgument(field: "satisfaction_score", "must be 1 to 5, got \(score)")
        }
        let comment = try Validate.text(request.satisfactionComment, field: "satisfaction_comment", max: 1_000)
        return try await changeTicket(
            context,
            requestID: request.requestID,
            request: request,
            ticketID: request.ticketID
        ) { ticket, book in
            guard ticket.status == .closed else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "ticket_id: ticket '\(ticket.id)' is \(ticket.status.displayName); a satisfaction "
                        + "score is recorded after closing"
                )
            }
            guard ticket.satisfactionScore == 0 else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "ticket_id: ticket '\(ticket.id)' already has a satisfaction score "
                        + "(\(ticket.satisfactionScore))"
                )
            }
            ticket.satisfactionScore = score
            ticket.satisfactionComment = comment
            try await book.change(&ticket, kind: .satisfactionRecorded) { $0.satisfactionScore = score }
        }
    }
}
