import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

/// What a ticket move carries besides its target.
struct TicketMove {
    var to: TicketStatus
    var note = ""
    var resolution = ""
    var score: Int32?
    var comment = ""
}

/// The one place a ticket changes: the transition table of TicketStatus and its
/// conditions, the SLA clocks each state starts and stops, and exactly one history
/// entry (with its event) per change, whose sequence is the ticket's new version.
struct TicketBook {
    let provider: CareServiceProvider
    let transaction: ServiceTransaction
    let actor: ChangeActor

    /// The transition table of TicketStatus (care.proto).
    static let machine = StatusMachine<TicketStatus>(
        "ticket",
        [
            .received: [.acknowledged, .closed],
            .acknowledged: [.investigating, .resolved, .closed],
            .investigating: [.resolved],
            .resolved: [.closed, .reopened],
            .reopened: [.investigating, .resolved],
        ]
    )

    static let openStates: Set<TicketStatus> = [.received, .acknowledged, .investigating, .reopened]

    var now: Timestamp { transaction.now }

    /// Records a new ticket with its CREATED entry and starts both SLA clocks from
    /// its receipt.
    func create(_ ticket: inout Ticket) async throws {
        let policy = try await provider.policy(ticket.severity, in: transaction)
        let start = ticket.createdAt ?? now
        ticket.status = .received
        ticket.acknowledgeDueAt = Timestamps.adding(seconds: policy.acknowledgeWithinSeconds, to: start)
        ticket.resolveDueAt = Timestamps.adding(seconds: policy.resolveWithinSeconds, to: start)
        ticket.version = 1
        ticket.updatedAt = now
        try await transaction.insert(CareTables.tickets, ticket)
        try await startClock(ticket, .acknowledge, due: ticket.acknowledgeDueAt)
        try await startClock(ticket, .resolve, due: ticket.resolveDueAt)
        try await append(entry(ticket, kind: .created, from: .unspecified), ticket: ticket)
    }

    /// Moves `ticket` as `move` asks, after checking the table and its conditions,
    /// with the clocks and fields of the new state.
    func move(_ ticket: inout Ticket, _ move: TicketMove) async throws {
        let from = ticket.status
        let to = move.to
        try Self.machine.check(from, to, field: "to_status", id: ticket.id)
        if move.score != nil, to != .closed {
            throw RPCError.invalidArgument(field: "satisfaction_score", "is given only when closing a ticket")
        }
        switch to {
        case .acknowledged:
            if ticket.acknowledgedAt == nil { ticket.acknowledgedAt = now }
            try await stopClock(ticket, .acknowledge, due: ticket.acknowledgeDueAt)
            if ticket.acknowledgeBreached { try await met(ticket, .acknowledge) }
        case .investigating:
            guard !ticket.assigneeID.isEmpty else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "to_status: ticket '\(ticket.id)' needs an assignee before it is INVESTIGATING "
                        + "(AssignTicket)"
                )
            }
        case .resolved:
            guard !move.resolution.isEmpty else {
                throw RPCError.invalidArgument(field: "resolution", "is required to resolve a ticket")
            }
            ticket.resolution = move.resolution
            ticket.resolvedAt = now
            try await stopClock(ticket, .resolve, due: ticket.resolveDueAt)
            if ticket.resolveBreached { try await met(ticket, .resolve) }
        case .closed:
            if from != .resolved {
                guard !move.note.isEmpty else {
                    throw RPCError.invalidArgument(
                        field: "note",
                        "is required to close a \(from.displayName) ticket (duplicate, spam, withdrawn)"
                    )
                }
                guard move.score == nil else {
                    throw RPCError.invalidArgument(
                        field: "satisfaction_score",
                        "is given only when closing a RESOLVED ticket"
                    )
                }
                try await stopClock(ticket, .acknowledge, due: ticket.acknowledgeDueAt)
                try await stopClock(ticket, .resolve, due: ticket.resolveDueAt)
            }
            ticket.closedAt = now
            if let score = move.score {
                ticket.satisfactionScore = score
                ticket.satisfactionComment = move.comment
            }
        case .reopened:
            guard !move.note.isEmpty else {
                throw RPCError.invalidArgument(
                    field: "note",
                    "is required to reopen a ticket (why the customer is not satisfied)"
                )
            }
            ticket.reopenCount = Int32(clamping: try Checked.add(Int64(ticket.reopenCount), 1, field: "reopen_count"))
            let policy = try await provider.policy(ticket.severity, in: transaction)
            ticket.resolveDueAt = Timestamps.adding(seconds: policy.resolveWithinSeconds, to: now)
            try await startClock(ticket, .resolve, due: ticket.resolveDueAt)
        default:
            break
        }
        ticket.status = to
        var entry = entry(ticket, kind: .statusChanged, from: from)
        entry.note = move.note
        entry.satisfactionScore = to == .closed ? ticket.satisfactionScore : 0
        try await write(&ticket, entry)
    }

    /// Writes a change that keeps the state (assignee, fields, a note, a link) with
    /// the entry `prepare` fills in.
    func change(
        _ ticket: inout Ticket,
        kind: TicketHistoryKind,
        note: String = "",
        _ prepare: (inout TicketHistoryEntry) -> Void = { _ in }
    ) async throws {
        var entry = entry(ticket, kind: kind, from: ticket.status)
        entry.note = note
        prepare(&entry)
        try await write(&ticket, entry)
    }

    /// Re-grades the running SLA clocks after a severity change: each deadline still
    /// running is computed again from its start with the new severity's policy; a
    /// breach already recorded stays.
    func regrade(_ ticket: inout Ticket, to severity: TicketSeverity) async throws {
        ticket.severity = severity
        let policy = try await provider.policy(severity, in: transaction)
        if try await isRunning(ticket, .acknowledge, due: ticket.acknowledgeDueAt) {
            try await stopClock(ticket, .acknowledge, due: ticket.acknowledgeDueAt)
            ticket.acknowledgeDueAt = Timestamps.adding(
                seconds: policy.acknowledgeWithinSeconds,
                to: ticket.createdAt ?? now
            )
            try await startClock(ticket, .acknowledge, due: ticket.acknowledgeDueAt)
        }
        if try await isRunning(ticket, .resolve, due: ticket.resolveDueAt) {
            try await stopClock(ticket, .resolve, due: ticket.resolveDueAt)
            let start = try await resolveClockStart(ticket)
            ticket.resolveDueAt = Timestamps.adding(seconds: policy.resolveWithinSeconds, to: start)
            try await startClock(ticket, .resolve, due: ticket.resolveDueAt)
        }
    }

    /// Records the breach of a clock whose deadline passed (the sweep): the flag on
    /// the ticket, the breach record and the SLA_BREACHED entry, once — the clock is
    /// gone in the same commit.
    func breach(_ ticket: inout Ticket, _ clock: SlaClock) async throws -> SlaBreach {
        try await transaction.delete(CareTables.clocks, CareTables.clocks.primaryKey(clock))
        switch clock.kind {
        case .acknowledge: ticket.acknowledgeBreached = true
        default: ticket.resolveBreached = true
        }
        let breach = SlaBreach(
            id: RecordIDs.make(prefix: "slb"),
            ticketID: ticket.id,
            kind: clock.kind,
            severity: ticket.severity,
            assigneeID: ticket.assigneeID,
            customerID: ticket.customerID,
            dueAt: clock.dueAt,
            detectedAt: now
        )
        try await transaction.insert(CareTables.breaches, breach)
        try await change(&ticket, kind: .slaBreached) { $0.slaBreachKind = clock.kind }
        return breach
    }

    // MARK: SLA clocks

    private func clockKey(_ ticket: Ticket, _ kind: SlaBreachKind, due: Timestamp?) -> KeyTuple {
        [.int(Timestamps.nanos(due)), .string(ticket.id), .int(Int64(kind.rawValue))]
    }

    private func startClock(_ ticket: Ticket, _ kind: SlaBreachKind, due: Timestamp?) async throws {
        try await transaction.save(CareTables.clocks, SlaClock(ticketID: ticket.id, kind: kind, dueAt: due))
    }

    private func stopClock(_ ticket: Ticket, _ kind: SlaBreachKind, due: Timestamp?) async throws {
        try await transaction.delete(CareTables.clocks, clockKey(ticket, kind, due: due))
    }

    private func isRunning(_ ticket: Ticket, _ kind: SlaBreachKind, due: Timestamp?) async throws -> Bool {
        try await transaction.get(CareTables.clocks, clockKey(ticket, kind, due: due)) != nil
    }

    /// The breach of `kind` still unmet gets its met time.
    private func met(_ ticket: Ticket, _ kind: SlaBreachKind) async throws {
        let recorded = try await transaction.all(
            CareTables.breaches,
            RecordQuery(index: CareTables.breachTicket, prefix: [.string(ticket.id)], pageSize: 50),
            limit: 1000
        )
        for var breach in recorded where breach.kind == kind && breach.metAt == nil {
            breach.metAt = now
            try await transaction.update(CareTables.breaches, breach)
        }
    }

    /// When the running resolve deadline started: the last reopening, else receipt.
    private func resolveClockStart(_ ticket: Ticket) async throws -> Timestamp {
        guard ticket.reopenCount > 0 else { return ticket.createdAt ?? now }
        let reopened = try await transaction.page(
            CareTables.ticketHistory,
            RecordQuery(
                prefix: [.string(ticket.id)],
                direction: .reverse,
                pageSize: 1,
                predicate: { $0.kind == .statusChanged && $0.toStatus == .reopened }
            )
        ).records.first
        return reopened?.createdAt ?? ticket.createdAt ?? now
    }

    // MARK: History

    private func entry(_ ticket: Ticket, kind: TicketHistoryKind, from: TicketStatus) -> TicketHistoryEntry {
        TicketHistoryEntry(
            id: RecordIDs.make(prefix: "the"),
            ticketID: ticket.id,
            sequence: ticket.version,
            kind: kind,
            fromStatus: from,
            toStatus: ticket.status,
            assigneeID: ticket.assigneeID,
            actor: actor,
            createdAt: now
        )
    }

    private func write(_ ticket: inout Ticket, _ entry: TicketHistoryEntry) async throws {
        try await transaction.updateVersioned(CareTables.tickets, &ticket)
        var entry = entry
        entry.sequence = ticket.version
        entry.toStatus = ticket.status
        entry.assigneeID = ticket.assigneeID
        try await append(entry, ticket: ticket)
    }

    private func append(_ entry: TicketHistoryEntry, ticket: Ticket) async throws {
        try await transaction.insert(CareTables.ticketHistory, entry)
        try await provider.events.record(TicketEvent(entry: .ticketEntry(entry), ticket: ticket), in: transaction)
    }
}

extension CareServiceProvider {
    /// The server's policy of a severity until someone sets one: LOW 24 h / 7 d,
    /// MEDIUM 8 h / 3 d, HIGH 2 h / 24 h, CRITICAL 30 min / 8 h.
    static func defaultPolicy(_ severity: TicketSeverity) -> SlaPolicy {
        let (acknowledge, resolve): (Int64, Int64) =
            switch severity {
            case .critical: (1_800, 8 * 3_600)
            case .high: (2 * 3_600, 24 * 3_600)
            case .medium: (8 * 3_600, 3 * 86_400)
            default: (24 * 3_600, 7 * 86_400)
            }
        return SlaPolicy(severity: severity, acknowledgeWithinSeconds: acknowledge, resolveWithinSeconds: resolve)
    }

    /// The policy of `severity`: as stored, or the default (version 0).
    func policy(_ severity: TicketSeverity, in reader: some RecordReading) async throws -> SlaPolicy {
        try await reader.get(CareTables.policies, [.int(Int64(severity.rawValue))]) ?? Self.defaultPolicy(severity)
    }
}
