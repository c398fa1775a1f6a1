import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

/// The one place an after-sales case changes: the transition table of
/// AfterSalesStatus, the units its order's cases claim (taken on creation, given
/// back when a case is rejected or cancelled), and exactly one history entry (with
/// its event) per change, whose sequence is the case's new version.
struct AfterSalesBook {
    let provider: CareServiceProvider
    let transaction: ServiceTransaction
    let actor: ChangeActor

    /// The transition table of AfterSalesStatus (care.proto).
    static let machine = StatusMachine<AfterSalesStatus>(
        "after-sales case",
        [
            .requested: [.approved, .rejected, .cancelled],
            .approved: [.itemsReceived, .cancelled, .completed],
            .itemsReceived: [.inspected],
            .inspected: [.completed, .rejected],
        ]
    )

    /// States whose units count against what may still be claimed.
    static let claimingStates: Set<AfterSalesStatus> = [
        .requested, .approved, .itemsReceived, .inspected, .completed,
    ]
    static let openStates: Set<AfterSalesStatus> = [.requested, .approved, .itemsReceived, .inspected]

    var now: Timestamp { transaction.now }

    /// What `order`'s other cases claim, per SKU.
    func claims(of orderID: String) async throws -> AfterSalesClaims {
        try await transaction.get(CareTables.claims, .string(orderID)) ?? AfterSalesClaims(orderID: orderID)
    }

    /// Records a new case with its first entry, after taking its units from what the
    /// order's bought units leave: FAILED_PRECONDITION naming the line otherwise.
    func create(_ item: inout AfterSalesCase, bought: [String: Int64]) async throws {
        var claims = try await claims(of: item.orderID)
        for (index, line) in item.lines.enumerated() {
            let taken = claims.claimedUnits[line.skuID] ?? 0
            let left = (bought[line.skuID] ?? 0) - taken
            guard line.quantity <= left else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "lines[\(index)].quantity: \(max(0, left)) of the \(bought[line.skuID] ?? 0) units of "
                        + "SKU '\(line.skuID)' bought can still be claimed (\(taken) in other cases), not "
                        + "\(line.quantity)"
                )
            }
            claims.claimedUnits[line.skuID] = try Checked.add(taken, line.quantity, field: "quantity")
        }
        try await transaction.save(CareTables.claims, claims)
        item.status = .requested
        item.version = 1
        item.createdAt = now
        item.updatedAt = now
        try await transaction.insert(CareTables.cases, item)
        try await append(
            entry(item, from: .unspecified, summary: "\(item.kind.displayName.lowercased()) requested"),
            item
        )
    }

    /// Moves `item` to `status` after checking the table, giving its units back when
    /// it ends without completing, and writes it with its entry.
    func move(
        _ item: inout AfterSalesCase,
        to status: AfterSalesStatus,
        summary: String,
        note: String = ""
    )
        async throws
    {
        let from = item.status
        try Self.machine.check(from, status, field: "case_id", id: item.id)
        item.status = status
        if !Self.claimingStates.contains(status) { try await release(item) }
        var entry = entry(item, from: from, summary: summary)
        entry.note = note
        try await write(&item, entry)
    }

    /// Records who approved or rejected the case, when, and why.
    func decide(_ item: inout AfterSalesCase, note: String) {
        item.decisionNote = note
        item.decidedBy = actor
        item.decidedAt = now
    }

    /// Writes a change that keeps the state (a return shipment) with its entry.
    func change(_ item: inout AfterSalesCase, summary: String, note: String = "") async throws {
        var entry = entry(item, from: item.status, summary: summary)
        entry.note = note
        try await write(&item, entry)
    }

    private func release(_ item: AfterSalesCase) async throws {
        var claims = try await claims(of: item.orderID)
        for line in item.lines {
            let left = (claims.claimedUnits[line.skuID] ?? 0) - line.quantity
            claims.claimedUnits[line.skuID] = left > 0 ? left : nil
        }
        try await transaction.save(CareTables.claims, claims)
    }

    private func entry(_ item: AfterSalesCase, from: AfterSalesStatus, summary: String) -> AfterSalesHistoryEntry {
        AfterSalesHistoryEntry(
            id: RecordIDs.make(prefix: "ahe"),
            caseID: item.id,
            ticketID: item.ticketID,
            sequence: item.version,
            fromStatus: from,
            toStatus: item.status,
            summary: String(summary.prefix(200)),
            actor: actor,
            createdAt: now
        )
    }

    private func write(_ item: inout AfterSalesCase, _ entry: AfterSalesHistoryEntry) async throws {
        try await transaction.updateVersioned(CareTables.cases, &item)
        var entry = entry
        entry.sequence = item.version
        try await append(entry, item)
    }

    private func append(_ entry: AfterSalesHistoryEntry, _ item: AfterSalesCase) async throws {
        try await transaction.insert(CareTables.caseHistory, entry)
        try await provider.events.record(TicketEvent(entry: .afterSalesEntry(entry)), in: transaction)
    }
}
