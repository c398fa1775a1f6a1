import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage
import Synchronization

/// One change to the stock of a SKU at a location, as the ledger records it.
struct StockChange {
    var skuID: String
    var locationID: String
    var reason: StockChangeReason
    var onHandDelta: Int64 = 0
    var reservedDelta: Int64 = 0
    var reference: StockReference?
    var orderID: String = ""
    var note: String = ""
}

/// The only code that changes on hand or reserved. Inside the caller's transaction it
/// reads the stock level (a conflict-checked read), checks the invariants
/// 0 <= reserved <= on_hand, writes the level, appends the ledger entry with the next
/// sequence number of the pair, and records an alert when available crosses the
/// reorder threshold. Any violation throws before anything is written, and the caller's
/// transaction then writes nothing at all.
struct StockBook {
    let transaction: ServiceTransaction
    let actor: ChangeActor
    let requestID: String
    /// Woken once a change that recorded an alert commits.
    let alerts: ChangeFeed
    var now: Timestamp { transaction.now }

    struct Outcome {
        var level: StockLevel
        var entry: StockLedgerEntry
        var alert: StockAlert?
    }

    /// The current level of a pair, or a zero level for one never seen.
    static func level(_ reader: some RecordReading, location: String, sku: String) async throws -> StockLevel {
        if let level = try await reader.get(InventoryTables.levels, [.string(location), .string(sku)]) { return level }
        return StockLevel(skuID: sku, locationID: location)
    }

    func apply(_ change: StockChange) async throws -> Outcome {
        var level = try await Self.level(transaction, location: change.locationID, sku: change.skuID)
        let before = level
        let onHand = level.onHand + change.onHandDelta
        let reserved = level.reserved + change.reservedDelta
        guard onHand >= 0, reserved >= 0, reserved <= onHand else {
            throw RPCError(
                code: .failedPrecondition,
                message:
                    "SKU '\(change.skuID)' at location '\(change.locationID)': on hand \(level.onHand) and reserved \(level.reserved) "
                    + "cannot change by \(change.onHandDelta) and \(change.reservedDelta) (available would be \(onHand - reserved))"
            )
        }
        if level.createdAt == nil { level.createdAt = now }
        level.onHand = onHand
        level.reserved = reserved
        level.available = onHand - reserved
        level.belowReorderThreshold = level.reorderThreshold > 0 && level.available < level.reorderThreshold
        level.ledgerSequence += 1
        level.updatedAt = now
        level.version += 1
        let entry = StockLedgerEntry(
            id: RecordIDs.make(prefix: "sle"),
            skuID: change.skuID,
            locationID: change.locationID,
            sequence: level.ledgerSequence,
            reason: change.reason,
            onHandDelta: change.onHandDelta,
            reservedDelta: change.reservedDelta,
            onHandAfter: onHand,
            reservedAfter: reserved,
            actor: actor,
            reference: change.reference,
            orderID: change.orderID,
            note: change.note,
            requestID: requestID,
            createdAt: now
        )
        try await transaction.save(InventoryTables.levels, level)
        try await transaction.insert(InventoryTables.ledger, entry)
        let alert = try await Self.recordAlert(
            transaction,
            before: before,
            after: level,
            ledgerEntryID: entry.id,
            alerts: alerts
        )
        return Outcome(level: level, entry: entry, alert: alert)
    }

    /// Where a level stands against its threshold.
    private enum AlertState: Equatable {
        case noThreshold, enough, low, out
    }

    private static func state(_ level: StockLevel) -> AlertState {
        guard level.reorderThreshold > 0 else { return .noThreshold }
        if level.available <= 0 { return .out }
        return level.available < level.reorderThreshold ? .low : .enough
    }

    /// Records an alert when the level crossed a boundary: into LOW_STOCK or
    /// OUT_OF_STOCK, or back to enough (RECOVERED). Alerts take the next number of the
    /// alert stream, which is their cursor. Watchers are woken once the change commits.
    static func recordAlert(
        _ transaction: ServiceTransaction,
        before: StockLevel,
        after: StockLevel,
        ledgerEntryID: String,
        alerts: ChangeFeed
    ) async throws -> StockAlert? {
        let (old, new) = (state(before), state(after))
        let kind: StockAlertKind
        switch new {
        case .noThreshold: return nil
        case .enough:
            guard old == .low || old == .out else { return nil }
            kind = .recovered
        case .low:
            guard old != .low else { return nil }
            kind = .lowStock
        case .out:
            guard old != .out else { return nil }
            kind = .outOfStock
        }
        let sequence = try await transaction.nextValue(of: "stock_alerts")
        let alert = StockAlert(
            id: RecordIDs.make(prefix: "sal"),
            kind: kind,
            skuID: after.skuID,
            locationID: after.locationID,
            onHand: after.onHand,
            reserved: after.reserved,
            available: after.available,
            reorderThreshold: after.reorderThreshold,
            ledgerEntryID: ledgerEntryID,
            createdAt: transaction.now,
            cursor: AlertCursor.make(sequence)
        )
        try await transaction.insert(InventoryTables.alerts, alert)
        transaction.afterCommit { alerts.publish() }
        return alert
    }
}
