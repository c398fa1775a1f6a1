import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

/// A location that could serve a basket, with what it has of each line.
struct BasketCandidate {
    var location: StockLocation
    var distance: Int64
    /// Available units per basket line, in line order.
    var available: [Int64]

    func fills(_ lines: [StockBasketLine]) -> Bool {
        zip(lines, available).allSatisfy { $0.quantity <= $1 }
    }

    func fillsAny(_ lines: [StockBasketLine]) -> Bool {
        available.contains { $0 > 0 }
    }
}

/// Where to take a basket from: one or more locations and their lines.
struct BasketPlan {
    var parts: [(candidate: BasketCandidate, lines: [StockBasketLine])]
    var unfilled: [StockBasketLine]
}

/// Chooses locations for a basket that no single location fills.
enum SplitPlanner {
    /// At most this many of the nearest useful locations are combined.
    static let consideredLocations = 12

    /// The split with the fewest locations, then the shortest total distance; when no
    /// combination of at most `maxParts` locations fills the basket, the nearest ones
    /// take what they can and the rest is unfilled.
    static func plan(_ lines: [StockBasketLine], candidates: [BasketCandidate], maxParts: Int) -> BasketPlan {
        let useful = Array(candidates.filter { $0.fillsAny(lines) }.prefix(consideredLocations))
        if useful.count >= 2 {
            for size in 2...min(maxParts, useful.count) {
                var best: (indices: [Int], distance: Int64)?
                forEachCombination(of: useful.count, size: size) { indices in
                    let covers = lines.indices.allSatisfy { line in
                        indices.reduce(Int64(0)) { $0 + useful[$1].available[line] } >= lines[line].quantity
                    }
                    guard covers else { return }
                    let distance = indices.reduce(Int64(0)) { $0 + useful[$1].distance }
                    if best == nil || distance < best!.distance { best = (indices, distance) }
                }
                if let best { return allocate(lines, from: best.indices.map { useful[$0] }) }
            }
        }
        return allocate(lines, from: Array(useful.prefix(maxParts)))
    }

    /// Takes each line from the given locations nearest first.
    static func allocate(_ lines: [StockBasketLine], from locations: [BasketCandidate]) -> BasketPlan {
        let ordered = locations.sorted { $0.distance < $1.distance }
        var parts = ordered.map { (candidate: $0, lines: [StockBasketLine]()) }
        var unfilled: [StockBasketLine] = []
        for (index, line) in lines.enumerated() {
            var missing = line.quantity
            for part in parts.indices where missing > 0 {
                let take = min(missing, parts[part].candidate.available[index])
                if take > 0 {
                    parts[part].lines.append(StockBasketLine(skuID: line.skuID, quantity: take))
                    missing -= take
                }
            }
            if missing > 0 { unfilled.append(StockBasketLine(skuID: line.skuID, quantity: missing)) }
        }
        return BasketPlan(parts: parts.filter { !$0.lines.isEmpty }, unfilled: unfilled)
    }

    /// Calls `body` with every increasing sequence of `size` indices below `count`.
    static func forEachCombination(of count: Int, size: Int, _ body: ([Int]) -> Void) {
        var indices = Array(0..<size)
        while true {
            body(indices)
            var position = size - 1
            while position >= 0, indices[position] == count - size + position { position -= 1 }
            if position < 0 { return }
            indices[position] += 1
            for next in (position + 1)..<size { indices[next] = indices[next - 1] + 1 }
        }
    }
}

extension InventoryServiceProvider {
    /// Checked sourcing criteria.
    struct Sourcing {
        var near: GeoPoint
        var radius: Int64
        var mode: StockFulfillmentMode
        var kinds: [StockLocationKind]
        var locationIDs: Set<String>
        var allowSplit: Bool
        var maxParts: Int
    }

    func sourcing(_ criteria: StockSourcingCriteria?, field: String) throws -> Sourcing {
        guard let criteria else { throw RPCError.invalidArgument(field: field, "is required") }
        let near = try Validate.point(criteria.near, field: "\(field).near")
        guard (0...1_000_000).contains(criteria.radiusMeters) else {
            throw RPCError.invalidArgument(
                field: "\(field).radius_meters",
                "must be 0 to 1000000 metres, got \(criteria.radiusMeters)"
            )
        }
        try validateMode(criteria.fulfillmentMode, field: "\(field).fulfillment_mode")
        try validateKinds(criteria.locationKinds, field: "\(field).location_kinds")
        guard criteria.locationIDs.count <= 100 else {
            throw RPCError.invalidArgument(
                field: "\(field).location_ids",
                "at most 100, got \(criteria.locationIDs.count)"
            )
        }
        for (index, id) in criteria.locationIDs.enumerated() {
            _ = try Validate.id(id, field: "\(field).location_ids[\(index)]")
        }
        guard criteria.maxSplitLocations == 0 || (2...10).contains(criteria.maxSplitLocations) else {
            throw RPCError.invalidArgument(
                field: "\(field).max_split_locations",
                "must be 2 to 10, got \(criteria.maxSplitLocations)"
            )
        }
        return Sourcing(
            near: near,
            radius: criteria.radiusMeters,
            mode: criteria.fulfillmentMode,
            kinds: criteria.locationKinds,
            locationIDs: Set(criteria.locationIDs),
            allowSplit: criteria.allowSplit,
            maxParts: criteria.maxSplitLocations == 0 ? 3 : Int(criteria.maxSplitLocations)
        )
    }

    /// The serving locations nearest first, with what each has of every line. Inside a
    /// transaction these reads are conflict-checked, so a plan made from them holds at
    /// commit or the transaction retries.
    func candidates(
        _ reader: some RecordReading,
        lines: [StockBasketLine],
        sourcing: Sourcing
    ) async throws -> [BasketCandidate] {
        let serving = servingLocations(
            try await allLocations(reader),
            near: sourcing.near,
            radius: sourcing.radius,
            mode: sourcing.mode,
            kinds: sourcing.kinds,
            only: sourcing.locationIDs
        )
        var result: [BasketCandidate] = []
        for (location, distance) in serving {
            let levels = try await reader.get(
                InventoryTables.levels,
                lines.map { [.string(location.id), .string($0.skuID)] }
            )
            result.append(
                BasketCandidate(location: location, distance: distance, available: levels.map { $0?.available ?? 0 })
            )
        }
        return result
    }

    public func checkBasketAvailability(
        request: CheckBasketAvailabilityRequest,
        context: RPCServerContext
    ) async throws -> CheckBasketAvailabilityResponse {
        try await basketAvailability(request)
    }

    /// Where a basket can be filled now (CheckBasketAvailability), for the inventory's
    /// service and for other domains' quotes.
    package func basketAvailability(
        _ request: CheckBasketAvailabilityRequest
    ) async throws -> CheckBasketAvailabilityResponse {
        let lines = try basketLines(request.lines, field: "lines")
        let sourcing = try sourcing(request.criteria, field: "criteria")
        guard (0...50).contains(request.maxCandidates) else {
            throw RPCError.invalidArgument(field: "max_candidates", "must be 1 to 50, got \(request.maxCandidates)")
        }
        let limit = request.maxCandidates == 0 ? 10 : Int(request.maxCandidates)
        let all = try await store.read { try await candidates($0, lines: lines, sourcing: sourcing) }
        var response = CheckBasketAvailabilityResponse()
        for candidate in all where candidate.fillsAny(lines) {
            let fills = candidate.fills(lines)
            if request.fullOnly, !fills { continue }
            response.candidates.append(
                StockLocationBasketAvailability(
                    stockLocation: candidate.location,
                    distanceMeters: candidate.distance,
                    fillsAll: fills,
                    lines: zip(lines, candidate.available).map {
                        StockBasketLineAvailability(
                            skuID: $0.skuID,
                            requestedQuantity: $0.quantity,
                            availableQuantity: $1
                        )
                    }
                )
            )
            if response.candidates.count == limit { break }
        }
        let single = all.contains { $0.fills(lines) }
        response.fullyAvailable = single
        if !single, sourcing.allowSplit {
            let plan = SplitPlanner.plan(lines, candidates: all, maxParts: sourcing.maxParts)
            response.bestSplit = StockSplitPlan(
                parts: plan.parts.map {
                    StockSplitPart(
                        locationID: $0.candidate.location.id,
                        distanceMeters: $0.candidate.distance,
                        lines: $0.lines
                    )
                },
                unfilledLines: plan.unfilled,
                totalDistanceMeters: plan.parts.reduce(0) { $0 + $1.candidate.distance }
            )
            response.fullyAvailable = plan.unfilled.isEmpty && !plan.parts.isEmpty
        }
        return response
    }
}
