import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension InventoryServiceProvider {
    static let defaultReservationTTL: Int64 = 900

    /// FAILED_PRECONDITION naming each line a location cannot fill.
    func shortage(_ lines: [StockBasketLine], available: [Int64], at location: String) -> RPCError {
        var violations: [RPCError.FieldViolation] = []
        var parts: [String] = []
        for (index, (line, have)) in zip(lines, available).enumerated() where have < line.quantity {
            let text = "SKU '\(line.skuID)' wants \(line.quantity), \(max(0, have)) available"
            violations.append(.init(field: "lines[\(index)].quantity", description: text))
            parts.append(text)
        }
        return RPCError(
            code: .failedPrecondition,
            message: "lines: not enough stock at location '\(location)': \(parts.joined(separator: "; "))",
            fieldViolations: violations
        )
    }

    public func reserveStock(
        request: ReserveStockRequest,
        context: RPCServerContext
    ) async throws -> ReserveStockResponse {
        let orderID = try Validate.text(request.orderID, field: "order_id", min: 1, max: 64)
        let lines = try basketLines(request.lines, field: "lines")
        let ttl = request.ttlSeconds == 0 ? Self.defaultReservationTTL : Int64(request.ttlSeconds)
        guard (60...604_800).contains(ttl) else {
            throw RPCError.invalidArgument(
                field: "ttl_seconds",
                "must be 60 to 604800 seconds, got \(request.ttlSeconds)"
            )
        }
        let actor = try actor(context, request.actor)
        let placement: StockPlacement
        switch request.placement {
        case .locationID(let id)?: placement = .location(try Validate.id(id, field: "location_id"))
        case .criteria(let criteria)?: placement = .criteria(criteria)
        case nil: throw RPCError.invalidArgument(field: "location_id", "location_id or criteria is required")
        }
        let plan = try planned(placement, field: "criteria")
        let draft = ReservationDraft(orderID: orderID, ttl: ttl, requestID: request.requestID, actor: actor)
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: try await reservationLocks(lines, plan)
        ) { transaction in
            ReserveStockResponse(reservations: try await reserve(lines, plan, draft: draft, in: transaction))
        }
    }

    /// A placement with its criteria checked.
    enum PlannedPlacement {
        case location(String)
        case sourcing(Sourcing)
    }

    func planned(_ placement: StockPlacement, field: String) throws -> PlannedPlacement {
        switch placement {
        case .location(let id): .location(id)
        case .criteria(let criteria): .sourcing(try sourcing(criteria, field: field))
        }
    }

    /// The stock locks a reservation of `lines` takes: at the location, or at every
    /// location a plan from the latest data would draw on (the plan is made again
    /// inside the transaction, from conflict-checked reads).
    func reservationLocks(_ lines: [StockBasketLine], _ placement: PlannedPlacement) async throws -> [String] {
        switch placement {
        case .location(let id):
            return Self.stockLocks(lines.map { (id, $0.skuID) })
        case .sourcing(let sourcing):
            let preview = try await store.read { try await candidates($0, lines: lines, sourcing: sourcing) }
            return Self.stockLocks(preview.flatMap { candidate in lines.map { (candidate.location.id, $0.skuID) } })
        }
    }

    /// Reserves `lines` in `transaction`: at the location, or at the nearest one that
    /// has the whole basket, or (when allowed) split over the fewest nearby ones.
    func reserve(
        _ lines: [StockBasketLine],
        _ placement: PlannedPlacement,
        draft: ReservationDraft,
        in transaction: ServiceTransaction
    ) async throws -> [StockReservation] {
        switch placement {
        case .location(let locationID):
            let location = try await transaction.require(InventoryTables.locations, locationID, field: "location_id")
            guard location.status == .open else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "location_id: location '\(location.code)' is \(location.status.displayName)"
                )
            }
            let levels = try await transaction.get(
                InventoryTables.levels,
                lines.map { [.string(locationID), .string($0.skuID)] }
            )
            let available = levels.map { $0?.available ?? 0 }
            guard zip(lines, available).allSatisfy({ $0.quantity <= $1 }) else {
                throw shortage(lines, available: available, at: location.id)
            }
            return [try await reserve(transaction, lines: lines, at: location.id, distance: 0, draft: draft)]
        case .sourcing(let sourcing):
            let all = try await candidates(transaction, lines: lines, sourcing: sourcing)
            if let single = all.first(where: { $0.fills(lines) }) {
                return [
                    try await reserve(
                        transaction,
                        lines: lines,
                        at: single.location.id,
                        distance: single.distance,
                        draft: draft
                    )
                ]
            }
            if sourcing.allowSplit {
                let plan = SplitPlanner.plan(lines, candidates: all, maxParts: sourcing.maxParts)
                if plan.unfilled.isEmpty, !plan.parts.isEmpty {
                    var reservations: [StockReservation] = []
                    for part in plan.parts {
                        reservations.append(
                            try await reserve(
                                transaction,
                                lines: part.lines,
                                at: part.candidate.location.id,
                                distance: part.candidate.distance,
                                draft: draft
                            )
                        )
                    }
                    return reservations
                }
            }
            throw basketShortage(lines, candidates: all, split: sourcing.allowSplit)
        }
    }

    /// FAILED_PRECONDITION for a basket no location (or split) can fill: each line with
    /// the most any one candidate has.
    private func basketShortage(_ lines: [StockBasketLine], candidates: [BasketCandidate], split: Bool) -> RPCError {
        guard !candidates.isEmpty else {
            return RPCError(code: .failedPrecondition, message: "criteria: no open location matches the criteria")
        }
        var violations: [RPCError.FieldViolation] = []
        for (index, line) in lines.enumerated() {
            let best = candidates.map { $0.available[index] }.max() ?? 0
            let total = candidates.reduce(Int64(0)) { $0 + max(0, $1.available[index]) }
            let have = split ? total : best
            if have < line.quantity {
                violations.append(
                    .init(
                        field: "lines[\(index)].quantity",
                        description: "SKU '\(line.skuID)' wants \(line.quantity), \(have) available"
                    )
                )
            }
        }
        let detail =
            violations.isEmpty
            ? "no single location has the whole basket"
                + (split ? " and no split within the limit fills it" : " (allow_split is off)")
            : violations.map(\.description).joined(separator: "; ")
        return RPCError(
            code: .failedPrecondition,
            message: "lines: not enough stock near the given point: \(detail)",
            fieldViolations: violations
        )
    }

    /// What every reservation of one call shares.
    struct ReservationDraft {
        var orderID: String
        var ttl: Int64
        var requestID: String
        var actor: ChangeActor
    }

    /// Reserves lines at a location in the transaction: ledger entries and the record.
    private func reserve(
        _ transaction: ServiceTransaction,
        lines: [StockBasketLine],
        at location: String,
        distance: Int64,
        draft: ReservationDraft
    ) async throws -> StockReservation {
        let time = transaction.now
        let id = RecordIDs.make(prefix: "rsv")
        let book = StockBook(
            transaction: transaction,
            actor: draft.actor,
            requestID: draft.requestID,
            alerts: alertFeed
        )
        for line in lines {
            _ = try await book.apply(
                StockChange(
                    skuID: line.skuID,
                    locationID: location,
                    reason: .reservation,
                    reservedDelta: line.quantity,
                    reference: StockReference(kind: .reservation, id: id),
                    orderID: draft.orderID
                )
            )
        }
        let reservation = StockReservation(
            id: id,
            orderID: draft.orderID,
            locationID: location,
            lines: lines,
            status: .active,
            expiresAt: Timestamps.adding(seconds: draft.ttl, to: time),
            requestID: draft.requestID,
            createdBy: draft.actor,
            createdAt: time,
            updatedAt: time,
            distanceMeters: distance,
            version: 1
        )
        try await transaction.insert(InventoryTables.reservations, reservation)
        return reservation
    }

    /// Ends an ACTIVE reservation in the transaction: commit (stock leaves), release or
    /// expiry (reserved drops).
    func close(
        _ reservation: StockReservation,
        as status: StockReservationStatus,
        in transaction: ServiceTransaction,
        actor: ChangeActor,
        requestID: String,
        note: String
    ) async throws -> StockReservation {
        let time = transaction.now
        let book = StockBook(transaction: transaction, actor: actor, requestID: requestID, alerts: alertFeed)
        let reason: StockChangeReason =
            status == .committed ? .reservationCommit : (status == .expired ? .reservationExpiry : .reservationRelease)
        for line in reservation.lines {
            _ = try await book.apply(
                StockChange(
                    skuID: line.skuID,
                    locationID: reservation.locationID,
                    reason: reason,
                    onHandDelta: status == .committed ? -line.quantity : 0,
                    reservedDelta: -line.quantity,
                    reference: StockReference(kind: .reservation, id: reservation.id),
                    orderID: reservation.orderID,
                    note: note
                )
            )
        }
        var closed = reservation
        try Self.reservationStatuses.move(&closed, to: status, field: "reservation_id", at: time, actor: actor)
        closed.closedBy = actor
        if status == .committed {
            closed.committedAt = time
        } else {
            closed.releasedAt = time
            closed.releaseReason = note
        }
        try await transaction.updateVersioned(InventoryTables.reservations, &closed)
        return closed
    }

    /// The life of a reservation: active until committed (the goods left), released
    /// or expired (the goods are free again).
    static let reservationStatuses = StatusMachine<StockReservationStatus>(
        "reservation",
        [.active: [.committed, .released, .expired]]
    )

    /// The stock locks of a reservation's lines.
    package func reservationLocks(_ reservationID: String) async throws -> [String] {
        guard let reservation = try await store.latest.get(InventoryTables.reservations, .string(reservationID)) else {
            return []
        }
        return Self.stockLocks(reservation.lines.map { (reservation.locationID, $0.skuID) })
    }

    /// Commits an ACTIVE reservation (its goods leave) in `transaction`; a committed
    /// one is returned as it is.
    func commitReservation(
        _ id: String,
        actor: ChangeActor,
        requestID: String,
        note: String,
        in transaction: ServiceTransaction
    ) async throws -> StockReservation {
        let reservation = try await transaction.require(InventoryTables.reservations, id, field: "reservation_id")
        switch reservation.status {
        case .committed:
            return reservation
        case .released, .expired:
            throw RPCError(
                code: .failedPrecondition,
                message:
                    "reservation_id: reservation '\(id)' is \(reservation.status.displayName) and cannot be committed"
            )
        default:
            if Timestamps.isPast(reservation.expiresAt, now: transaction.now) {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "reservation_id: reservation '\(id)' expired and cannot be committed"
                )
            }
            return try await close(
                reservation,
                as: .committed,
                in: transaction,
                actor: actor,
                requestID: requestID,
                note: note
            )
        }
    }

    /// Releases an ACTIVE reservation (its goods are free again) in `transaction`; a
    /// released or expired one is returned as it is.
    func releaseReservation(
        _ id: String,
        actor: ChangeActor,
        requestID: String,
        reason: String,
        in transaction: ServiceTransaction
    ) async throws -> StockReservation {
        let reservation = try await transaction.require(InventoryTables.reservations, id, field: "reservation_id")
        switch reservation.status {
        case .released, .expired:
            return reservation
        case .committed:
            throw RPCError(
                code: .failedPrecondition,
                message: "reservation_id: reservation '\(id)' is COMMITTED and cannot be released"
            )
        default:
            return try await close(
                reservation,
                as: .released,
                in: transaction,
                actor: actor,
                requestID: requestID,
                note: reason
            )
        }
    }

    public func commitStockReservation(
        request: CommitStockReservationRequest,
        context: RPCServerContext
    ) async throws -> StockReservation {
        let id = try Validate.id(request.reservationID, field: "reservation_id")
        let note = try Validate.text(request.note, field: "note", max: 256)
        let actor = try actor(context, request.actor)
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: try await reservationLocks(id)
        ) { transaction in
            try await commitReservation(id, actor: actor, requestID: request.requestID, note: note, in: transaction)
        }
    }

    public func releaseStockReservation(
        request: ReleaseStockReservationRequest,
        context: RPCServerContext
    ) async throws -> StockReservation {
        let id = try Validate.id(request.reservationID, field: "reservation_id")
        let reason = try Validate.text(request.reason, field: "reason", max: 256)
        let actor = try actor(context, request.actor)
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: try await reservationLocks(id)
        ) { transaction in
            try await releaseReservation(
                id,
                actor: actor,
                requestID: request.requestID,
                reason: reason,
                in: transaction
            )
        }
    }

    public func extendStockReservation(
        request: ExtendStockReservationRequest,
        context: RPCServerContext
    ) async throws -> StockReservation {
        let id = try Validate.id(request.reservationID, field: "reservation_id")
        guard (60...2_592_000).contains(request.ttlSeconds) else {
            throw RPCError.invalidArgument(
                field: "ttl_seconds",
                "must be 60 to 2592000 seconds, got \(request.ttlSeconds)"
            )
        }
        _ = try actor(context, request.actor)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            try await extendReservation(id, ttlSeconds: Int64(request.ttlSeconds), in: transaction)
        }
    }

    /// Moves an ACTIVE reservation's expiry to `ttlSeconds` from now.
    func extendReservation(
        _ id: String,
        ttlSeconds: Int64,
        in transaction: ServiceTransaction
    ) async throws -> StockReservation {
        var reservation = try await transaction.require(InventoryTables.reservations, id, field: "reservation_id")
        let time = transaction.now
        guard reservation.status == .active, !Timestamps.isPast(reservation.expiresAt, now: time) else {
            let state = reservation.status == .active ? "expired" : reservation.status.displayName
            throw RPCError(
                code: .failedPrecondition,
                message: "reservation_id: reservation '\(id)' is \(state); only an active one can be extended"
            )
        }
        reservation.expiresAt = Timestamps.adding(seconds: ttlSeconds, to: time)
        try await transaction.updateVersioned(InventoryTables.reservations, &reservation)
        return reservation
    }

    public func listStockReservations(
        request: ListStockReservationsRequest,
        context: RPCServerContext
    ) async throws -> ListStockReservationsResponse {
        _ = try Paging.pageSize(request.page, field: "page")
        let orderID = try request.orderID.map { try Validate.text($0, field: "order_id", min: 1, max: 64) }
        let locationID = try request.locationID.map { try Validate.id($0, field: "location_id") }
        let status = try Validate.known(request.status, field: "status", noun: "status")
        var predicate: (@Sendable (StockReservation) -> Bool)?
        if status != .unspecified || (orderID != nil && locationID != nil) {
            predicate = { reservation in
                (status == .unspecified || reservation.status == status)
                    && (locationID == nil || reservation.locationID == locationID!)
            }
        }
        let filters = [orderID ?? "", locationID ?? "", "\(status.rawValue)"]
        // Through the order's index, else the location's, else by primary key.
        let page = try await store.newestFirst(
            InventoryTables.reservations,
            by: [(InventoryTables.reservationOrder, orderID), (InventoryTables.reservationLocation, locationID)],
            page: request.page,
            filters: filters,
            predicate: predicate
        )
        return ListStockReservationsResponse(stockReservations: page.records, nextPageToken: page.nextPageToken)
    }

    // MARK: - Expiry

    /// Moves ACTIVE reservations whose expiry passed to EXPIRED, at most `limit`, in one
    /// transaction; returns their ids and whether more remain.
    /// - Parameter remember: The call to remember the answer for, under its request id.
    func sweepExpired(
        limit: Int,
        requestID: String,
        remember: (context: RPCServerContext, request: SweepExpiredStockReservationsRequest)? = nil
    ) async throws -> SweepExpiredStockReservationsResponse {
        let cutoff = InventoryTables.nanos(store.now())
        let due = try await store.read { reader in
            try await reader.page(
                InventoryTables.reservations,
                RecordQuery(
                    index: InventoryTables.reservationActiveExpiry,
                    upperBound: [.int(cutoff + 1)],
                    pageSize: limit + 1
                )
            ).records
        }
        guard !due.isEmpty else { return SweepExpiredStockReservationsResponse() }
        let batch = Array(due.prefix(limit))
        let sweep = { (transaction: ServiceTransaction) async throws -> SweepExpiredStockReservationsResponse in
            var response = SweepExpiredStockReservationsResponse(moreRemaining: due.count > limit)
            for candidate in batch {
                // Read again inside the transaction: it may have been committed or released since.
                guard let reservation = try await transaction.get(InventoryTables.reservations, .string(candidate.id)),
                    reservation.status == .active, Timestamps.isPast(reservation.expiresAt, now: transaction.now)
                else { continue }
                _ = try await self.close(
                    reservation,
                    as: .expired,
                    in: transaction,
                    actor: .system,
                    requestID: requestID,
                    note: "expired"
                )
                response.reservationIDs.append(reservation.id)
            }
            return response
        }
        let locks = Self.stockLocks(
            batch.flatMap { reservation in reservation.lines.map { (reservation.locationID, $0.skuID) } }
        )
        let response =
            if let remember {
                try await store.mutation(
                    remember.context,
                    requestID: requestID,
                    request: remember.request,
                    locking: locks,
                    sweep
                )
            } else {
                try await store.transaction(locking: locks, sweep)
            }
        if !response.reservationIDs.isEmpty {
            logger.info("expired stock reservations released", metadata: ["count": "\(response.reservationIDs.count)"])
        }
        return response
    }

    func sweepExpiredStockReservations(
        _ request: SweepExpiredStockReservationsRequest,
        _ context: RPCServerContext
    ) async throws -> SweepExpiredStockReservationsResponse {
        try RequestIDs.validate(request.requestID)
        guard (0...10_000).contains(request.maxCount) else {
            throw RPCError.invalidArgument(field: "max_count", "must be 1 to 10000, got \(request.maxCount)")
        }
        let limit = request.maxCount == 0 ? 1000 : Int(request.maxCount)
        if let earlier = try await store.rememberedResult(
            context,
            requestID: request.requestID,
            request: request,
            as: SweepExpiredStockReservationsResponse.self
        ) {
            return earlier
        }
        return try await sweepExpired(limit: limit, requestID: request.requestID, remember: (context, request))
    }
}
