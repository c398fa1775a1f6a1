import O2OMessages
package import O2OServiceKit
import O2OStorage

/// Where stock is reserved: at one location, or wherever sourcing criteria find it.
package enum StockPlacement: Sendable {
    case location(String)
    case criteria(StockSourcingCriteria)
}

/// Reserving stock inside another domain's change: checkout reserves the basket in the
/// order's own transaction, so the order and its reservations commit together or not
/// at all. Every change of stock still goes through the inventory's one stock book.
///
/// A caller holds the locks these methods name around its transaction (the
/// mutation's `locking:`), as the inventory's own calls do, and passes its request id
/// and actor for the ledger.
package protocol StockReservations: Sendable {
    /// The locks to hold for reserving `lines` with `placement`.
    func reservationLocks(_ lines: [StockBasketLine], placement: StockPlacement) async throws -> [String]
    /// Reserves `lines` in `transaction`: one reservation per location drawn on.
    /// FAILED_PRECONDITION naming the lines that cannot be filled.
    func reserve(
        _ lines: [StockBasketLine],
        placement: StockPlacement,
        orderID: String,
        ttlSeconds: Int64,
        actor: ChangeActor,
        requestID: String,
        in transaction: ServiceTransaction
    ) async throws -> [StockReservation]
    /// The locks to hold for committing or releasing a reservation.
    func reservationLocks(_ reservationID: String) async throws -> [String]
    /// Commits an active reservation (its goods leave) in `transaction`.
    func commit(
        reservation id: String,
        actor: ChangeActor,
        requestID: String,
        note: String,
        in transaction: ServiceTransaction
    ) async throws -> StockReservation
    /// Moves an active reservation's expiry to `ttlSeconds` from now in `transaction`;
    /// FAILED_PRECONDITION when it is no longer active (released, expired, committed).
    func extend(reservation id: String, ttlSeconds: Int64, in transaction: ServiceTransaction) async throws
    /// Releases an active reservation (its goods are free again) in `transaction`.
    func release(
        reservation id: String,
        actor: ChangeActor,
        requestID: String,
        reason: String,
        in transaction: ServiceTransaction
    ) async throws -> StockReservation
}

extension InventoryServiceProvider: StockReservations {
    package func reservationLocks(_ lines: [StockBasketLine], placement: StockPlacement) async throws -> [String] {
        try await reservationLocks(lines, planned(placement, field: "criteria"))
    }

    package func reserve(
        _ lines: [StockBasketLine],
        placement: StockPlacement,
        orderID: String,
        ttlSeconds: Int64,
        actor: ChangeActor,
        requestID: String,
        in transaction: ServiceTransaction
    ) async throws -> [StockReservation] {
        let lines = try basketLines(lines, field: "lines")
        let draft = ReservationDraft(orderID: orderID, ttl: ttlSeconds, requestID: requestID, actor: actor)
        return try await reserve(lines, planned(placement, field: "criteria"), draft: draft, in: transaction)
    }

    package func commit(
        reservation id: String,
        actor: ChangeActor,
        requestID: String,
        note: String,
        in transaction: ServiceTransaction
    ) async throws -> StockReservation {
        try await commitReservation(id, actor: actor, requestID: requestID, note: note, in: transaction)
    }

    package func extend(reservation id: String, ttlSeconds: Int64, in transaction: ServiceTransaction) async throws {
        _ = try await extendReservation(id, ttlSeconds: ttlSeconds, in: transaction)
    }

    package func release(
        reservation id: String,
        actor: ChangeActor,
        requestID: String,
        reason: String,
        in transaction: ServiceTransaction
    ) async throws -> StockReservation {
        try await releaseReservation(id, actor: actor, requestID: requestID, reason: reason, in: transaction)
    }
}

extension InventoryDomain {
    /// Reserving stock inside another domain's change.
    package var reservations: any StockReservations { provider }
}

/// Reading the inventory's locations inside another domain's transaction (the CRM
/// checks a customer's home store).
package protocol StockLocationReading: Sendable {
    /// The location, or nil.
    func location(_ id: String, in reader: some RecordReading) async throws -> StockLocation?
}

struct InventoryLocations: StockLocationReading {
    func location(_ id: String, in reader: some RecordReading) async throws -> StockLocation? {
        try await reader.get(InventoryTables.locations, .string(id))
    }
}

extension InventoryDomain {
    /// The locations, for other domains.
    package var locations: any StockLocationReading { InventoryLocations() }
}

/// Where a basket could be filled now, for other domains' quotes (reads only).
package protocol StockAvailability: Sendable {
    /// As CheckBasketAvailability answers it; errors name the request's fields.
    func basketAvailability(_ request: CheckBasketAvailabilityRequest) async throws -> CheckBasketAvailabilityResponse
}

extension InventoryServiceProvider: StockAvailability {}

extension InventoryDomain {
    /// Basket availability, for other domains.
    package var availability: any StockAvailability { provider }
}

/// Putting returned goods back into stock inside another domain's change: an
/// after-sales case restocks the sellable units it received in the case's own
/// commit, through the inventory's one stock book (ledger reason RETURN).
package protocol StockReturns: Sendable {
    /// The locks to hold for restocking `skuIDs` at `locationID`.
    func restockLocks(_ skuIDs: [String], locationID: String) -> [String]
    /// Adds `lines` to on hand at `locationID` in `transaction`, one ledger entry per
    /// line with reason RETURN referring to the after-sales case. NOT_FOUND for an
    /// unknown location or SKU.
    func restock(
        _ lines: [StockBasketLine],
        locationID: String,
        caseID: String,
        orderID: String,
        note: String,
        actor: ChangeActor,
        requestID: String,
        in transaction: ServiceTransaction
    ) async throws -> [StockLedgerEntry]
}

extension InventoryServiceProvider: StockReturns {
    package func restockLocks(_ skuIDs: [String], locationID: String) -> [String] {
        Self.stockLocks(skuIDs.map { (locationID, $0) })
    }

    package func restock(
        _ lines: [StockBasketLine],
        locationID: String,
        caseID: String,
        orderID: String,
        note: String,
        actor: ChangeActor,
        requestID: String,
        in transaction: ServiceTransaction
    ) async throws -> [StockLedgerEntry] {
        _ = try await transaction.require(InventoryTables.locations, locationID, field: "location_id")
        let book = StockBook(transaction: transaction, actor: actor, requestID: requestID, alerts: alertFeed)
        var entries: [StockLedgerEntry] = []
        for (index, line) in lines.enumerated() where line.quantity > 0 {
            try await requireCatalogSku(transaction, line.skuID, field: "lines[\(index)].sku_id")
            let outcome = try await book.apply(
                StockChange(
                    skuID: line.skuID,
                    locationID: locationID,
                    reason: .return,
                    onHandDelta: line.quantity,
                    reference: StockReference(kind: .afterSalesRequest, id: caseID),
                    orderID: orderID,
                    note: String(note.prefix(1024))
                )
            )
            entries.append(outcome.entry)
        }
        return entries
    }
}

extension InventoryDomain {
    /// Restocking returned goods, for other domains.
    package var returns: any StockReturns { provider }
}
