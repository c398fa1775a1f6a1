import O2OMessages
import O2ORPC
import O2OStorage

extension InventoryServiceProvider {
    static let defaultReservationTTL: Int64 = 900

    func requireReservation(_ reader: some RecordReading, _ id: String, field: String) async throws -> StockReservation
    {
        let id = try Validate.id(id, field: field)
        guard let reservation = try await reader.get(InventoryTables.reservations, .string(id)) else {
            throw RPCError(code: .notFound, message: "\(field): no stock reservation '\(id)'")
        }
        return reservation
    }

    static func adding(seconds: Int64, to time: Timestamp) -> Timestamp {
        Timestamp(seconds: time.seconds + seconds, nanos: time.nanos)
    }

    static func isPast(_ time: Timestamp?, now: Timestamp) -> Bool {
        guard let time else { return false }
        return InventoryTables.nanos(time) <= InventoryTables.nanos(now)
    }

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

    func reserveStockImpl(
        _ request: ReserveStockRequest,
        _ context: RPCServerContext
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
        let build = ReservationDraft(orderID: orderID, ttl: ttl, requestID: request.requestID, actor: actor)
        let response: ReserveStockResponse
        let replayed: Bool
        switch request.placement {
        case .locationID(let id)?:
            let locationID = try Validate.id(id, field: "location_id")
            (response, replayed) = try await withStockLocks(lines.map { (locationID, $0.skuID) }) { release in
                try await store.mutation(
                    context,
                    requestID: request.requestID,
                    request: request,
                    applied: { release() }
                ) { transaction in
                    let location = try await requireLocation(transaction, locationID, field: "location_id")
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
                    let reservation = try await reserve(
                        transaction,
                        lines: lines,
                        at: location.id,
                        distance: 0,
                        draft: build
                    )
                    return ReserveStockResponse(reservations: [reservation])
                }
            }
        case .criteria(let criteria)?:
            let sourcing = try sourcing(criteria, field: "criteria")
            // Lock what a plan from the latest data would take; the plan is made again
            // inside the transaction, from conflict-checked reads.
            let preview = try await store.read { try await candidates($0, lines: lines, sourcing: sourcing) }
            let lockPairs = preview.flatMap { candidate in lines.map { (candidate.location.id, $0.skuID) } }
            (response, replayed) = try await withStockLocks(lockPairs) { release in
                try await store.mutation(
                    context,
                    requestID: request.requestID,
                    request: request,
                    applied: { release() }
                ) { transaction in
                    let all = try await candidates(transaction, lines: lines, sourcing: sourcing)
                    if let single = all.first(where: { $0.fills(lines) }) {
                        let reservation = try await reserve(
                            transaction,
                            lines: lines,
                            at: single.location.id,
                            distance: single.distance,
                            draft: build
                        )
                        return ReserveStockResponse(reservations: [reservation])
                    }
                    if sourcing.allowSplit {
                        let plan = SplitPlanner.plan(lines, candidates: all, maxParts: sourcing.maxParts)
                        if plan.unfilled.isEmpty, !plan.parts.isEmpty {
                            var response = ReserveStockResponse()
                            for part in plan.parts {
                                response.reservations.append(
                                    try await reserve(
                                        transaction,
                                        lines: part.lines,
                                        at: part.candidate.location.id,
                                        distance: part.candidate.distance,
                                        draft: build
                                    )
                                )
                            }
                            return response
                        }
                    }
                    throw basketShortage(lines, candidates: all, split: sourcing.allowSplit)
                }
            }
        case nil:
            throw RPCError.invalidArgument(field: "location_id", "location_id or criteria is required")
        }
        if !replayed { alertFeed.publish() }
        return response
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
        _ transaction: RecordTransaction,
        lines: [StockBasketLine],
        at location: String,
        distance: Int64,
        draft: ReservationDraft
    ) async throws -> StockReservation {
        let time = now()
        let id = RecordIDs.make(prefix: "rsv")
        let book = StockBook(transaction: transaction, actor: draft.actor, requestID: draft.requestID, now: time)
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
            expiresAt: Self.adding(seconds: draft.ttl, to: time),
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
        in transaction: RecordTransaction,
        actor: ChangeActor,
        requestID: String,
        note: String
    ) async throws -> StockReservation {
        let time = now()
        let book = StockBook(transaction: transaction, actor: actor, requestID: requestID, now: time)
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
        closed.status = status
        closed.updatedAt = time
        closed.closedBy = actor
        if status == .committed {
            closed.committedAt = time
        } else {
            closed.releasedAt = time
            closed.releaseReason = note
        }
        closed.version += 1
        try await transaction.update(InventoryTables.reservations, closed)
        return closed
    }

    /// The stock pairs of a reservation, for its locks.
    private func pairs(of reservationID: String) async throws -> [(location: String, sku: String)] {
        guard let reservation = try await store.latest.get(InventoryTables.reservations, .string(reservationID)) else {
            return []
        }
        return reservation.lines.map { (reservation.locationID, $0.skuID) }
    }

    func commitStockReservationImpl(
        _ request: CommitStockReservationRequest,
        _ context: RPCServerContext
    ) async throws -> StockReservation {
        let id = try Validate.id(request.reservationID, field: "reservation_id")
        let note = try Validate.text(request.note, field: "note", max: 256)
        let actor = try actor(context, request.actor)
        let (reservation, _) = try await withStockLocks(try await pairs(of: id)) { release in
            try await store.mutation(context, requestID: request.requestID, request: request, applied: { release() }) {
                transaction in
                let reservation = try await requireReservation(transaction, id, field: "reservation_id")
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
                    if Self.isPast(reservation.expiresAt, now: now()) {
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
                        requestID: request.requestID,
                        note: note
                    )
                }
            }
        }
        alertFeed.publish()
        return reservation
    }

    func releaseStockReservationImpl(
        _ request: ReleaseStockReservationRequest,
        _ context: RPCServerContext
    ) async throws -> StockReservation {
        let id = try Validate.id(request.reservationID, field: "reservation_id")
        let reason = try Validate.text(request.reason, field: "reason", max: 256)
        let actor = try actor(context, request.actor)
        let (reservation, _) = try await withStockLocks(try await pairs(of: id)) { release in
            try await store.mutation(context, requestID: request.requestID, request: request, applied: { release() }) {
                transaction in
                let reservation = try await requireReservation(transaction, id, field: "reservation_id")
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
                        requestID: request.requestID,
                        note: reason
                    )
                }
            }
        }
        alertFeed.publish()
        return reservation
    }

    func extendStockReservationImpl(
        _ request: ExtendStockReservationRequest,
        _ context: RPCServerContext
    ) async throws -> StockReservation {
        let id = try Validate.id(request.reservationID, field: "reservation_id")
        guard (60...2_592_000).contains(request.ttlSeconds) else {
            throw RPCError.invalidArgument(
                field: "ttl_seconds",
                "must be 60 to 2592000 seconds, got \(request.ttlSeconds)"
            )
        }
        _ = try actor(context, request.actor)
        let (reservation, _) = try await store.mutation(context, requestID: request.requestID, request: request) {
            transaction in
            var reservation = try await requireReservation(transaction, id, field: "reservation_id")
            let time = now()
            guard reservation.status == .active, !Self.isPast(reservation.expiresAt, now: time) else {
                let state = reservation.status == .active ? "expired" : reservation.status.displayName
                throw RPCError(
                    code: .failedPrecondition,
                    message: "reservation_id: reservation '\(id)' is \(state); only an active one can be extended"
                )
            }
            reservation.expiresAt = Self.adding(seconds: Int64(request.ttlSeconds), to: time)
            reservation.updatedAt = time
            reservation.version += 1
            try await transaction.update(InventoryTables.reservations, reservation)
            return reservation
        }
        return reservation
    }

    func listStockReservationsImpl(
        _ request: ListStockReservationsRequest
    ) async throws -> ListStockReservationsResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let orderID = try request.orderID.map { try Validate.text($0, field: "order_id", min: 1, max: 64) }
        let locationID = try request.locationID.map { try Validate.id($0, field: "location_id") }
        if case .unrecognized(let number) = request.status {
            throw RPCError.invalidArgument(field: "status", "unknown status \(number)")
        }
        let status = request.status
        var predicate: (@Sendable (StockReservation) -> Bool)?
        if status != .unspecified || (orderID != nil && locationID != nil) {
            predicate = { reservation in
                (status == .unspecified || reservation.status == status)
                    && (locationID == nil || reservation.locationID == locationID!)
            }
        }
        let filters = [orderID ?? "", locationID ?? "", "\(status.rawValue)"]
        // Through the order's index, else the location's, else by primary key; newest first.
        let (index, prefix): (RecordIndex<StockReservation>?, KeyTuple) =
            if let orderID {
                (InventoryTables.reservations.indexes[0], [.string(orderID)])
            } else if let locationID {
                (InventoryTables.reservations.indexes[1], [.string(locationID)])
            } else {
                (nil, [])
            }
        let query = RecordQuery(
            index: index,
            prefix: prefix,
            direction: .reverse,
            pageSize: pageSize,
            pageToken: request.page?.pageToken,
            filters: filters,
            predicate: predicate
        )
        let page = try await store.read { try await $0.page(InventoryTables.reservations, query) }
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
        let cutoff = InventoryTables.nanos(now())
        let due = try await store.read { reader in
            try await reader.page(
                InventoryTables.reservations,
                RecordQuery(
                    index: InventoryTables.reservations.indexes[2],
                    upperBound: [.int(cutoff + 1)],
                    pageSize: limit + 1
                )
            ).records
        }
        guard !due.isEmpty else { return SweepExpiredStockReservationsResponse() }
        let batch = Array(due.prefix(limit))
        let system = ChangeActor(principal: "system", role: "system")
        let sweep = { (transaction: RecordTransaction) async throws -> SweepExpiredStockReservationsResponse in
            var response = SweepExpiredStockReservationsResponse(moreRemaining: due.count > limit)
            for candidate in batch {
                // Read again inside the transaction: it may have been committed or released since.
                guard let reservation = try await transaction.get(InventoryTables.reservations, .string(candidate.id)),
                    reservation.status == .active, Self.isPast(reservation.expiresAt, now: self.now())
                else { continue }
                _ = try await self.close(
                    reservation,
                    as: .expired,
                    in: transaction,
                    actor: system,
                    requestID: requestID,
                    note: "expired"
                )
                response.reservationIDs.append(reservation.id)
            }
            return response
        }
        let pairs = batch.flatMap { reservation in reservation.lines.map { (reservation.locationID, $0.skuID) } }
        let response = try await withStockLocks(pairs) { release in
            if let remember {
                return try await store.mutation(
                    remember.context,
                    requestID: requestID,
                    request: remember.request,
                    applied: { release() },
                    sweep
                ).response
            }
            return try await store.transaction(applied: { release() }, sweep)
        }
        if !response.reservationIDs.isEmpty {
            alertFeed.publish()
            logger.info("expired stock reservations released", metadata: ["count": "\(response.reservationIDs.count)"])
        }
        return response
    }

    func sweepExpiredStockReservationsImpl(
        _ request: SweepExpiredStockReservationsRequest,
        _ context: RPCServerContext
    ) async throws -> SweepExpiredStockReservationsResponse {
        try RequestIDs.validate(request.requestID)
        guard (0...10_000).contains(request.maxCount) else {
            throw RPCError.invalidArgument(field: "max_count", "must be 1 to 10000, got \(request.maxCount)")
        }
        let limit = request.maxCount == 0 ? 1000 : Int(request.maxCount)
        if let earlier = try await store.transaction({ transaction in
            try await transaction.rememberedResult(
                scope: context.method.path,
                requestID: request.requestID,
                request: request,
                as: SweepExpiredStockReservationsResponse.self
            )
        }) {
            return earlier
        }
        return try await sweepExpired(limit: limit, requestID: request.requestID, remember: (context, request))
    }

    /// The background sweeper: releases expired reservations every `interval` until
    /// the task is cancelled.
    public func runExpirySweeper(interval: Duration = .seconds(5)) async {
        while !Task.isCancelled {
            do {
                var more = true
                while more, !Task.isCancelled {
                    more = try await sweepExpired(limit: 500, requestID: "").moreRemaining
                }
            } catch {
                logger.warning("reservation expiry sweep failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
