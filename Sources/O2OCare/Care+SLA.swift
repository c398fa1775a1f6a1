public import O2OMessages
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension CareServiceProvider {
    static let severities: [TicketSeverity] = [.low, .medium, .high, .critical]

    public func listSlaPolicies(
        request: ListSlaPoliciesRequest,
        context: RPCServerContext
    ) async throws -> ListSlaPoliciesResponse {
        let policies = try await store.read { reader in
            var policies: [SlaPolicy] = []
            for severity in Self.severities { policies.append(try await policy(severity, in: reader)) }
            return policies
        }
        return ListSlaPoliciesResponse(policies: policies)
    }

    public func setSlaPolicy(request: SetSlaPolicyRequest, context: RPCServerContext) async throws -> SlaPolicy {
        guard let given = request.policy else { throw RPCError.invalidArgument(field: "policy", "is required") }
        let severity = try Validate.known(given.severity, field: "policy.severity", noun: "severity")
        guard severity != .unspecified else {
            throw RPCError.invalidArgument(field: "policy.severity", "is required")
        }
        let acknowledge = given.acknowledgeWithinSeconds
        guard (60...2_592_000).contains(acknowledge) else {
            throw RPCError.invalidArgument(
                field: "policy.acknowledge_within_seconds",
                "must be 60 to 2592000 (30 days), got \(acknowledge)"
            )
        }
        let resolve = given.resolveWithinSeconds
        guard (acknowledge...7_776_000).contains(resolve) else {
            throw RPCError.invalidArgument(
                field: "policy.resolve_within_seconds",
                "must be at least acknowledge_within_seconds (\(acknowledge)) and at most 7776000 (90 days), got "
                    + "\(resolve)"
            )
        }
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: ["care/sla-policy/\(severity.rawValue)"]
        ) { transaction in
            var current = try await policy(severity, in: transaction)
            try Validate.version(
                request.expectedVersion,
                actual: current.version,
                subject: "the \(severity.displayName) SLA policy"
            )
            current.acknowledgeWithinSeconds = acknowledge
            current.resolveWithinSeconds = resolve
            current.version = try Checked.add(current.version, 1, field: "version")
            current.updatedAt = transaction.now
            try await transaction.save(CareTables.policies, current)
            return current
        }
    }

    public func listSlaBreaches(
        request: ListSlaBreachesRequest,
        context: RPCServerContext
    ) async throws -> ListSlaBreachesResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let kind = try Validate.known(request.kind, field: "kind", noun: "breach kind")
        let severity = try Validate.known(request.severity, field: "severity", noun: "severity")
        let assignee = request.assigneeID.isEmpty ? nil : try Self.assignee(request.assigneeID, field: "assignee_id")
        let ticketID = request.ticketID.isEmpty ? nil : try Validate.id(request.ticketID, field: "ticket_id")
        let (start, end) = try Validate.timeRange(request.due, field: "due")
        let unmet = request.unmetOnly
        let predicate: @Sendable (SlaBreach) -> Bool = { breach in
            let due = Timestamps.nanos(breach.dueAt)
            return (kind == .unspecified || breach.kind == kind)
                && (severity == .unspecified || breach.severity == severity)
                && (assignee == nil || breach.assigneeID == assignee!)
                && (ticketID == nil || breach.ticketID == ticketID!)
                && (!unmet || breach.metAt == nil)
                && (start.map { due >= $0 } ?? true) && (end.map { due < $0 } ?? true)
        }
        let filters = [
            "\(kind.rawValue)", "\(severity.rawValue)", assignee ?? "", ticketID ?? "", "\(start ?? -1)",
            "\(end ?? -1)", "\(unmet)",
        ]
        if let ticketID {
            // A ticket has a few breaches: read them all, latest deadline first.
            let all = try await store.read { reader in
                try await reader.all(
                    CareTables.breaches,
                    RecordQuery(index: CareTables.breachTicket, prefix: [.string(ticketID)], pageSize: 100),
                    limit: 10_000
                )
            }
            let sorted = all.filter(predicate).sorted { Timestamps.nanos($0.dueAt) > Timestamps.nanos($1.dueAt) }
            let page = try Paging.page(sorted, request: request.page, field: "page", filters: filters)
            return ListSlaBreachesResponse(breaches: page.items, nextPageToken: page.nextToken)
        }
        let page = try await store.read { reader in
            try await reader.page(
                CareTables.breaches,
                RecordQuery(
                    index: CareTables.breachDue,
                    lowerBound: start.map { [.int($0)] },
                    upperBound: end.map { [.int($0)] },
                    direction: .reverse,
                    pageSize: pageSize,
                    pageToken: request.page?.pageToken,
                    filters: filters,
                    predicate: predicate
                )
            )
        }
        return ListSlaBreachesResponse(breaches: page.records, nextPageToken: page.nextPageToken)
    }

    /// Records the breach of every SLA deadline that passed, at most `limit` per
    /// call: it reads only the clocks due by now (the clock table is ordered by
    /// deadline), never the other open tickets, and each clock is gone in the commit
    /// that records its breach, so a breach is recorded exactly once.
    public func sweepBreaches(limit: Int = 500) async throws -> (recorded: Int, moreRemaining: Bool) {
        let now = store.now()
        let (bound, overflow) = Timestamps.nanos(now).addingReportingOverflow(1)
        let due = try await store.latest.page(
            CareTables.clocks,
            RecordQuery(upperBound: [.int(overflow ? .max : bound)], pageSize: limit)
        ).records
        var recorded = 0
        // A few dozen breaches per commit: far fewer commits than clocks, and no commit
        // holds many tickets' locks for long.
        var start = 0
        while start < due.count {
            let batch = Array(due[start..<min(start + 50, due.count)])
            start += batch.count
            recorded += try await store.transaction(locking: batch.map { Self.ticketLock($0.ticketID) }) {
                transaction in
                var count = 0
                let book = TicketBook(provider: self, transaction: transaction, actor: .system)
                for clock in batch {
                    // Met or recorded since the page was read: nothing to do.
                    guard try await transaction.get(CareTables.clocks, CareTables.clocks.primaryKey(clock)) != nil
                    else { continue }
                    guard var ticket = try await transaction.get(CareTables.tickets, .string(clock.ticketID)) else {
                        try await transaction.delete(CareTables.clocks, CareTables.clocks.primaryKey(clock))
                        continue
                    }
                    _ = try await book.breach(&ticket, clock)
                    count += 1
                }
                return count
            }
        }
        return (recorded, due.count == limit)
    }
}
