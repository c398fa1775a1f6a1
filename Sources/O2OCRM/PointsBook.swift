import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

/// The only code that changes points. Inside the caller's transaction, which has read
/// the customer record (so concurrent changes of one customer conflict and run one
/// after the other), it appends the ledger entry with the balance after it, keeps the
/// customer's balance equal to the sum of the ledger, and keeps the lots — what each
/// earning has left unspent and unexpired — adding up to the balance. A spend larger
/// than the balance throws before anything is written; only a refund reversal may
/// take the balance below zero, and later earnings pay that back first.
struct PointsBook {
    let transaction: ServiceTransaction
    let actor: ChangeActor

    /// Adds points: an EARN, a positive ADJUST or a returned redemption. `lots` says
    /// how the new points expire (one lot per expiry, for a returned redemption).
    @discardableResult
    func add(
        to customer: inout Customer,
        reason: PointsReason,
        lots: [(points: Int64, expiresAt: Timestamp?)],
        orderID: String = "",
        relatedEntryID: String = "",
        note: String = "",
        field: String
    ) async throws -> PointsEntry {
        var total: Int64 = 0
        for lot in lots { total = try Checked.add(total, lot.points, field: field) }
        precondition(total > 0, "adding points needs a positive amount")
        let entry = try await append(
            to: &customer,
            reason: reason,
            points: total,
            orderID: orderID,
            expiresAt: lots.count == 1 ? lots[0].expiresAt : nil,
            relatedEntryID: relatedEntryID,
            note: note,
            field: field
        )
        // A negative balance (points taken back after they were spent) is paid back
        // first; only the rest stays spendable.
        var debt = max(0, -(customer.pointsBalance - total))
        for lot in Self.mergedByExpiry(lots) {
            let covered = min(debt, lot.points)
            debt -= covered
            guard lot.points - covered > 0 else { continue }
            try await transaction.insert(
                CRMTables.lots,
                PointsLot(
                    customerID: customer.id,
                    entryID: entry.id,
                    remaining: lot.points - covered,
                    expiresAt: lot.expiresAt,
                    createdAt: transaction.now
                )
            )
        }
        return entry
    }

    /// One lot per expiry: a returned redemption that took from two lots expiring at
    /// the same moment gives back one lot (a lot is keyed by its entry and expiry).
    private static func mergedByExpiry(
        _ lots: [(points: Int64, expiresAt: Timestamp?)]
    ) -> [(points: Int64, expiresAt: Timestamp?)] {
        var merged: [(points: Int64, expiresAt: Timestamp?)] = []
        for lot in lots {
            let key = lot.expiresAt.map { Timestamps.nanos($0) }
            if let index = merged.firstIndex(where: { $0.expiresAt.map { Timestamps.nanos($0) } == key }) {
                // The sum of all lots was checked above, so a part of it cannot overflow.
                merged[index].points += lot.points
            } else {
                merged.append(lot)
            }
        }
        return merged
    }

    /// Removes points: a REDEEM, a negative ADJUST or a take-back of earned points.
    /// Spends the lots that expire soonest (the lot of `preferredEntryID` first, for a
    /// take-back); returns what it took from each. Below zero only when
    /// `allowNegative` (a reversal of points already spent).
    func remove(
        from customer: inout Customer,
        reason: PointsReason,
        points: Int64,
        orderID: String = "",
        relatedEntryID: String = "",
        preferredEntryID: String = "",
        note: String = "",
        allowNegative: Bool = false,
        field: String
    ) async throws -> (entry: PointsEntry, taken: [RedeemedLot]) {
        precondition(points > 0, "removing points needs a positive amount")
        guard allowNegative || points <= customer.pointsBalance else {
            throw RPCError(
                code: .failedPrecondition,
                message: "\(field): customer '\(customer.id)' has \(customer.pointsBalance) points, \(points) needed"
            )
        }
        var taken: [RedeemedLot] = []
        var left = points
        var lots = try await openLots(customer.id)
        if let preferred = lots.firstIndex(where: { $0.entryID == preferredEntryID }) {
            lots.insert(lots.remove(at: preferred), at: 0)
        }
        for var lot in lots where left > 0 {
            let part = min(left, lot.remaining)
            left -= part
            taken.append(RedeemedLot(entryID: lot.entryID, points: part, expiresAt: lot.expiresAt))
            lot.remaining -= part
            if lot.remaining == 0 {
                try await transaction.delete(CRMTables.lots, CRMTables.lots.primaryKey(lot))
            } else {
                try await transaction.update(CRMTables.lots, lot)
            }
        }
        let entry = try await append(
            to: &customer,
            reason: reason,
            points: -points,
            orderID: orderID,
            expiresAt: nil,
            relatedEntryID: relatedEntryID,
            note: note,
            field: field
        )
        return (entry, taken)
    }

    /// Writes off what is left of an expired lot (an EXPIRE entry).
    func expire(_ lot: PointsLot, of customer: inout Customer) async throws -> PointsEntry {
        try await transaction.delete(CRMTables.lots, CRMTables.lots.primaryKey(lot))
        return try await append(
            to: &customer,
            reason: .expire,
            points: -lot.remaining,
            orderID: "",
            expiresAt: nil,
            relatedEntryID: lot.entryID,
            note: "",
            field: "points"
        )
    }

    /// A customer's unspent lots, in the order they are spent.
    func openLots(_ customerID: String) async throws -> [PointsLot] {
        try await transaction.all(
            CRMTables.lots,
            RecordQuery(prefix: [.string(customerID)], pageSize: 500),
            limit: .max
        )
    }

    private func append(
        to customer: inout Customer,
        reason: PointsReason,
        points: Int64,
        orderID: String,
        expiresAt: Timestamp?,
        relatedEntryID: String,
        note: String,
        field: String
    ) async throws -> PointsEntry {
        let balance = try Checked.add(customer.pointsBalance, points, field: field)
        let entry = PointsEntry(
            id: RecordIDs.make(prefix: "pte"),
            customerID: customer.id,
            reason: reason,
            points: points,
            balanceAfter: balance,
            orderID: orderID,
            expiresAt: expiresAt,
            relatedEntryID: relatedEntryID,
            note: note,
            actor: actor,
            createdAt: transaction.now
        )
        try await transaction.insert(CRMTables.entries, entry)
        customer.pointsBalance = balance
        return entry
    }
}

extension PointsBook {
    /// Writes off every lot of the customer whose expiry has passed, so that a spend
    /// never uses expired points even before the sweeper came by.
    @discardableResult
    func expireDue(_ customer: inout Customer) async throws -> [PointsEntry] {
        let now = Timestamps.nanos(transaction.now)
        var written: [PointsEntry] = []
        for lot in try await openLots(customer.id) {
            // Lots come soonest expiry first: stop at the first that is still good.
            guard let expiry = lot.expiresAt, Timestamps.nanos(expiry) <= now else { break }
            written.append(try await expire(lot, of: &customer))
        }
        return written
    }
}
