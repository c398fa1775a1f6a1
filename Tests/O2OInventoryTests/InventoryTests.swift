import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Synchronization
import Testing

@Suite("Inventory service end to end")
struct InventoryTests {
    @Test("bad input: the right status naming the field, and nothing changes", arguments: StoreKind.allCases)
    func badInput(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let location = try await harness.location("WH-1")
            let sku = try await harness.skus(1)[0]
            try await harness.stock(sku, at: location.id, 10)
            let reservation = try await harness.inventory.reserveStock(
                ReserveStockRequest(
                    requestID: rid(),
                    orderID: "o-1",
                    lines: [StockBasketLine(skuID: sku, quantity: 4)],
                    placement: .locationID(location.id)
                )
            ).reservations[0]
            let before = try await harness.level(sku, at: location.id)
            let ledgerBefore = try await harness.inventory.listStockLedgerEntries(
                ListStockLedgerEntriesRequest(page: PageRequest(pageSize: 500), locationID: location.id)
            ).entries.count
            func reserve(_ lines: [StockBasketLine], at id: String? = nil) -> ReserveStockRequest {
                ReserveStockRequest(
                    requestID: rid(),
                    orderID: "o-2",
                    lines: lines,
                    placement: .locationID(id ?? location.id)
                )
            }

            await expectStatus(.invalidArgument, containing: "lines[0].quantity") {
                _ = try await harness.inventory.reserveStock(reserve([StockBasketLine(skuID: sku, quantity: 0)]))
            }
            await expectStatus(.invalidArgument, containing: "lines[0].quantity") {
                _ = try await harness.inventory.reserveStock(reserve([StockBasketLine(skuID: sku, quantity: -3)]))
            }
            await expectStatus(.invalidArgument, containing: "lines[1].sku_id") {
                _ = try await harness.inventory.reserveStock(
                    reserve([StockBasketLine(skuID: sku, quantity: 1), StockBasketLine(skuID: sku, quantity: 1)])
                )
            }
            await expectStatus(.notFound, containing: "location_id") {
                _ = try await harness.inventory.reserveStock(
                    reserve([StockBasketLine(skuID: sku, quantity: 1)], at: "loc_missing")
                )
            }
            let short = await expectStatus(.failedPrecondition, containing: "wants 7, 6 available") {
                _ = try await harness.inventory.reserveStock(reserve([StockBasketLine(skuID: sku, quantity: 7)]))
            }
            #expect(short?.fieldViolations.map(\.field) == ["lines[0].quantity"])
            await expectStatus(.failedPrecondition, containing: "wants 1, 0 available") {
                _ = try await harness.inventory.reserveStock(
                    reserve([StockBasketLine(skuID: "sku_never_stocked", quantity: 1)])
                )
            }
            await expectStatus(.notFound, containing: "lines[0].sku_id") {
                _ = try await harness.inventory.adjustStock(
                    AdjustStockRequest(
                        requestID: rid(),
                        locationID: location.id,
                        reason: .return,
                        lines: [StockAdjustmentLine(skuID: "sku_unknown", quantityDelta: 2)]
                    )
                )
            }
            await expectStatus(.invalidArgument, containing: "lines[0].quantity_delta") {
                _ = try await harness.inventory.adjustStock(
                    AdjustStockRequest(
                        requestID: rid(),
                        locationID: location.id,
                        reason: .sale,
                        lines: [StockAdjustmentLine(skuID: sku, quantityDelta: 2)]
                    )
                )
            }
            // Time filters are checked like every timestamp a caller sends.
            await expectStatus(.invalidArgument, containing: "created.start.nanos") {
                _ = try await harness.inventory.listStockLedgerEntries(
                    ListStockLedgerEntriesRequest(
                        locationID: location.id,
                        created: TimeRange(start: Timestamp(seconds: 1_800_000_000, nanos: 2_000_000_000))
                    )
                )
            }
            await expectStatus(.invalidArgument, containing: "created.end.seconds") {
                _ = try await harness.inventory.listStockLedgerEntries(
                    ListStockLedgerEntriesRequest(
                        locationID: location.id,
                        created: TimeRange(end: Timestamp(seconds: 9_300_000_000_000))
                    )
                )
            }
            // The smallest Int64 has no positive counterpart: its size is still checked.
            await expectStatus(.invalidArgument, containing: "lines[0].quantity_delta") {
                _ = try await harness.inventory.adjustStock(
                    AdjustStockRequest(
                        requestID: rid(),
                        locationID: location.id,
                        reason: .manualAdjustment,
                        lines: [StockAdjustmentLine(skuID: sku, quantityDelta: .min)],
                        note: "edge"
                    )
                )
            }
            await expectStatus(.invalidArgument, containing: "reason") {
                _ = try await harness.inventory.adjustStock(
                    AdjustStockRequest(
                        requestID: rid(),
                        locationID: location.id,
                        reason: .receive,
                        lines: [StockAdjustmentLine(skuID: sku, quantityDelta: 2)]
                    )
                )
            }
            await expectStatus(.invalidArgument, containing: "note") {
                _ = try await harness.inventory.adjustStock(
                    AdjustStockRequest(
                        requestID: rid(),
                        locationID: location.id,
                        reason: .manualAdjustment,
                        lines: [StockAdjustmentLine(skuID: sku, quantityDelta: 2)]
                    )
                )
            }
            // Reserved goods cannot be sold or written off.
            await expectStatus(.failedPrecondition, containing: "6 available") {
                _ = try await harness.inventory.adjustStock(
                    AdjustStockRequest(
                        requestID: rid(),
                        locationID: location.id,
                        reason: .damage,
                        lines: [StockAdjustmentLine(skuID: sku, quantityDelta: -7)]
                    )
                )
            }
            await expectStatus(.invalidArgument, containing: "ttl_seconds") {
                var request = reserve([StockBasketLine(skuID: sku, quantity: 1)])
                request.ttlSeconds = 30
                _ = try await harness.inventory.reserveStock(request)
            }
            await expectStatus(.invalidArgument, containing: "request_id") {
                var request = reserve([StockBasketLine(skuID: sku, quantity: 1)])
                request.requestID = ""
                _ = try await harness.inventory.reserveStock(request)
            }
            // A second line that does not fit undoes the first: all or nothing.
            let other = try await harness.skus(1)[0]
            await expectStatus(.failedPrecondition) {
                _ = try await harness.inventory.reserveStock(
                    reserve([StockBasketLine(skuID: sku, quantity: 2), StockBasketLine(skuID: other, quantity: 1)])
                )
            }
            // Releases twice: the second returns it unchanged; then commit is refused.
            let released = try await harness.inventory.releaseStockReservation(
                ReleaseStockReservationRequest(requestID: rid(), reservationID: reservation.id, reason: "cancelled")
            )
            #expect(released.status == .released && released.releaseReason == "cancelled")
            #expect(
                try await harness.inventory.releaseStockReservation(
                    ReleaseStockReservationRequest(requestID: rid(), reservationID: reservation.id)
                ) == released
            )
            await expectStatus(.failedPrecondition, containing: "RELEASED") {
                _ = try await harness.inventory.commitStockReservation(
                    CommitStockReservationRequest(requestID: rid(), reservationID: reservation.id)
                )
            }
            await expectStatus(.notFound, containing: "reservation_id") {
                _ = try await harness.inventory.commitStockReservation(
                    CommitStockReservationRequest(requestID: rid(), reservationID: "rsv_missing")
                )
            }
            let after = try await harness.level(sku, at: location.id)
            #expect(
                after.onHand == before.onHand && after.reserved == before.reserved - 4,
                "only the release changed the stock"
            )
            let ledgerAfter = try await harness.inventory.listStockLedgerEntries(
                ListStockLedgerEntriesRequest(page: PageRequest(pageSize: 500), locationID: location.id)
            ).entries.count
            #expect(ledgerAfter == ledgerBefore + 1, "one RESERVATION_RELEASE entry, nothing else")
            try await harness.expectLedgerConsistent()
        }
    }

    @Test(
        "an expired reservation cannot be committed; the sweep releases it and records why",
        arguments: StoreKind.allCases
    )
    func expiry(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let location = try await harness.location("WH-1")
            let sku = try await harness.skus(1)[0]
            try await harness.stock(sku, at: location.id, 5)
            let reservation = try await harness.inventory.reserveStock(
                ReserveStockRequest(
                    requestID: rid(),
                    orderID: "o-1",
                    lines: [StockBasketLine(skuID: sku, quantity: 5)],
                    placement: .locationID(location.id),
                    ttlSeconds: 60
                )
            ).reservations[0]
            harness.clock.advance(seconds: 61)
            await expectStatus(.failedPrecondition, containing: "expired") {
                _ = try await harness.inventory.commitStockReservation(
                    CommitStockReservationRequest(requestID: rid(), reservationID: reservation.id)
                )
            }
            await expectStatus(.failedPrecondition, containing: "expired") {
                _ = try await harness.inventory.extendStockReservation(
                    ExtendStockReservationRequest(requestID: rid(), reservationID: reservation.id, ttlSeconds: 600)
                )
            }
            let sweepRequest = SweepExpiredStockReservationsRequest(requestID: "sweep-1")
            let swept = try await harness.admin.sweepExpiredStockReservations(sweepRequest)
            #expect(swept.reservationIDs == [reservation.id] && !swept.moreRemaining)
            #expect(
                try await harness.admin.sweepExpiredStockReservations(sweepRequest) == swept,
                "a retry answers the same"
            )
            let expired = try await harness.inventory.getStockReservation(
                GetStockReservationRequest(id: reservation.id)
            )
            #expect(
                expired.status == .expired && expired.releaseReason == "expired"
                    && expired.closedBy?.principal == "system"
            )
            #expect(try await harness.level(sku, at: location.id).available == 5)
            let entries = try await harness.inventory.listStockLedgerEntries(
                ListStockLedgerEntriesRequest(locationID: location.id, skuID: sku, order: .ascending)
            ).entries
            #expect(entries.map(\.reason) == [.return, .reservation, .reservationExpiry])
            #expect(entries.map(\.sequence) == [1, 2, 3])
            try await harness.expectLedgerConsistent()
        }
    }

    @Test("proximity: nearest location that fills the basket, else the best split", arguments: StoreKind.allCases)
    func proximity(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            // A customer at People's Square; stores 1, 3 and 8 km away, a warehouse 30 km.
            let customer = GeoPoint(latitude: 31.2336, longitude: 121.4752)
            let near = try await harness.location(
                "ST-NEAR",
                latitude: 31.2426,
                longitude: 121.4752,
                kind: .store,
                ships: true,
                pickup: true,
                radius: 5000
            )
            let mid = try await harness.location(
                "ST-MID",
                latitude: 31.2606,
                longitude: 121.4752,
                kind: .store,
                ships: false,
                pickup: true
            )
            let far = try await harness.location(
                "ST-FAR",
                latitude: 31.3056,
                longitude: 121.4752,
                kind: .store,
                ships: true,
                pickup: true,
                radius: 5000
            )
            let warehouse = try await harness.location("WH-OUT", latitude: 31.5036, longitude: 121.4752)
            let skus = try await harness.skus(2)
            try await harness.stock(skus[0], at: near.id, 2)
            try await harness.stock(skus[1], at: mid.id, 5)
            try await harness.stock(skus[0], at: mid.id, 1)
            try await harness.stock(skus[0], at: far.id, 9)
            try await harness.stock(skus[1], at: far.id, 9)
            try await harness.stock(skus[0], at: warehouse.id, 100)
            try await harness.stock(skus[1], at: warehouse.id, 100)

            let nearby = try await harness.inventory.findNearbyStockLocations(
                FindNearbyStockLocationsRequest(near: customer, fulfillmentMode: .pickup)
            )
            #expect(nearby.locations.map(\.stockLocation?.code) == ["ST-NEAR", "ST-MID", "ST-FAR"])
            #expect(abs(nearby.locations[0].distanceMeters - 1001) < 5)

            let basket = [StockBasketLine(skuID: skus[0], quantity: 3), StockBasketLine(skuID: skus[1], quantity: 2)]
            let pickup = StockSourcingCriteria(near: customer, radiusMeters: 10_000, fulfillmentMode: .pickup)
            let availability = try await harness.inventory.checkBasketAvailability(
                CheckBasketAvailabilityRequest(lines: basket, criteria: pickup)
            )
            #expect(availability.candidates.map(\.stockLocation?.code) == ["ST-NEAR", "ST-MID", "ST-FAR"])
            #expect(availability.candidates.map(\.fillsAll) == [false, false, true] && availability.fullyAvailable)

            // Whole basket: the nearest that fills it is 8 km away.
            let whole = try await harness.inventory.reserveStock(
                ReserveStockRequest(requestID: rid(), orderID: "o-1", lines: basket, placement: .criteria(pickup))
            )
            #expect(whole.reservations.map(\.locationID) == [far.id])

            // Within 4 km nobody has it all, and ST-NEAR plus ST-MID together do.
            var split = pickup
            split.radiusMeters = 4000
            split.allowSplit = true
            let plan = try await harness.inventory.checkBasketAvailability(
                CheckBasketAvailabilityRequest(lines: basket, criteria: split)
            )
            #expect(
                plan.bestSplit?.parts.map(\.locationID) == [near.id, mid.id] && plan.bestSplit?.unfilledLines == []
                    && plan.fullyAvailable
            )
            let parts = try await harness.inventory.reserveStock(
                ReserveStockRequest(requestID: rid(), orderID: "o-2", lines: basket, placement: .criteria(split))
            )
            #expect(parts.reservations.map(\.locationID) == [near.id, mid.id])
            #expect(parts.reservations[0].lines == [StockBasketLine(skuID: skus[0], quantity: 2)])
            #expect(
                parts.reservations[1].lines == [
                    StockBasketLine(skuID: skus[0], quantity: 1), StockBasketLine(skuID: skus[1], quantity: 2),
                ]
            )

            // Nothing left near: a clear refusal; shipping reaches the warehouse.
            var noSplit = split
            noSplit.allowSplit = false
            await expectStatus(.failedPrecondition, containing: "not enough stock near") {
                _ = try await harness.inventory.reserveStock(
                    ReserveStockRequest(requestID: rid(), orderID: "o-3", lines: basket, placement: .criteria(noSplit))
                )
            }
            let shipped = try await harness.inventory.reserveStock(
                ReserveStockRequest(
                    requestID: rid(),
                    orderID: "o-4",
                    lines: basket,
                    placement: .criteria(StockSourcingCriteria(near: customer, fulfillmentMode: .ship))
                )
            )
            #expect(shipped.reservations.map(\.locationID) == [warehouse.id], "ST-FAR ships only within 5 km")
            try await harness.expectLedgerConsistent()
        }
    }

    @Test(
        "low-stock alerts: recorded on crossing, listed, streamed, resumed from a cursor",
        arguments: StoreKind.allCases
    )
    func alerts(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let location = try await harness.location("WH-1")
            let sku = try await harness.skus(1)[0]
            try await harness.stock(sku, at: location.id, 10)
            _ = try await harness.inventory.setReorderThresholds(
                SetReorderThresholdsRequest(
                    requestID: rid(),
                    settings: [ReorderThresholdSetting(skuID: sku, locationID: location.id, reorderThreshold: 5)]
                )
            )
            let live = Atomic<Bool>(false)
            let watcher = Task {
                try await harness.inventory.watchStockAlerts(WatchStockAlertsRequest(skuIDs: [sku])) { responses in
                    var first: WatchStockAlertsResponse?
                    var seen: [StockAlert] = []
                    for try await response in responses {
                        if first == nil { first = response }
                        live.store(true, ordering: .relaxed)
                        seen += response.alerts
                        if seen.count >= 3 { break }
                    }
                    return (first, seen)
                }
            }
            // The watch answers at once with a heartbeat: from then on it sees every alert.
            try await waitUntil("the watch's first heartbeat") { live.load(ordering: .relaxed) }
            func reserve(_ quantity: Int64) async throws -> StockReservation {
                try await harness.inventory.reserveStock(
                    ReserveStockRequest(
                        requestID: rid(),
                        orderID: "o",
                        lines: [StockBasketLine(skuID: sku, quantity: quantity)],
                        placement: .locationID(location.id)
                    )
                ).reservations[0]
            }
            _ = try await reserve(3)  // 7 available: no alert
            let low = try await reserve(4)  // 3 available: LOW_STOCK
            _ = try await reserve(3)  // 0 available: OUT_OF_STOCK
            _ = try await harness.inventory.releaseStockReservation(
                ReleaseStockReservationRequest(requestID: rid(), reservationID: low.id)
            )  // 4: LOW_STOCK again
            let (heartbeat, streamed) = try await watcher.value
            #expect(heartbeat?.alerts == [] && heartbeat?.cursor.isEmpty == false, "a heartbeat with a cursor first")
            #expect(streamed.map(\.kind) == [.lowStock, .outOfStock, .lowStock])
            #expect(streamed.map(\.available) == [3, 0, 4])

            let listed = try await harness.inventory.listStockAlerts(ListStockAlertsRequest(locationID: location.id))
            #expect(listed.stockAlerts.map(\.kind) == [.lowStock, .outOfStock, .lowStock], "newest first")
            // Resuming after the first alert replays the other two.
            let resumed = try await harness.inventory.watchStockAlerts(
                WatchStockAlertsRequest(resumeCursor: streamed[0].cursor)
            ) { responses in
                var seen: [StockAlert] = []
                for try await response in responses {
                    seen += response.alerts
                    if seen.count >= 2 { break }
                }
                return seen
            }
            #expect(resumed.map(\.id) == streamed.dropFirst().map(\.id))
            // Resuming from the first heartbeat replays everything since the watch began.
            let sinceStart = try await harness.inventory.watchStockAlerts(
                WatchStockAlertsRequest(resumeCursor: heartbeat?.cursor ?? "")
            ) { responses in
                var seen: [StockAlert] = []
                for try await response in responses {
                    seen += response.alerts
                    if seen.count >= 3 { break }
                }
                return seen
            }
            #expect(sinceStart.map(\.id) == streamed.map(\.id))
            await expectStatus(.invalidArgument, containing: "resume_cursor") {
                _ = try await harness.inventory.watchStockAlerts(WatchStockAlertsRequest(resumeCursor: "garbage")) {
                    responses in
                    for try await _ in responses {}
                }
            }
        }
    }

    @Test(
        "locations: codes unique, closed locations refuse reservations, listing and updates",
        arguments: StoreKind.allCases
    )
    func locations(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let store = try await harness.location("ST-1", kind: .store, ships: false, pickup: true)
            await expectStatus(.alreadyExists, containing: "stock_location.code") {
                _ = try await harness.location("st-1")
            }
            await expectStatus(.invalidArgument, containing: "stock_location.coordinates") {
                _ = try await harness.location("ST-2", latitude: 91)
            }
            await expectStatus(.invalidArgument, containing: "stock_location.kind") {
                _ = try await harness.inventory.createStockLocation(
                    CreateStockLocationRequest(
                        requestID: rid(),
                        stockLocation: StockLocation(
                            code: "X",
                            name: "X",
                            coordinates: GeoPoint(latitude: 1, longitude: 1)
                        )
                    )
                )
            }
            let closed = try await harness.inventory.updateStockLocation(
                UpdateStockLocationRequest(
                    requestID: rid(),
                    id: store.id,
                    expectedVersion: 1,
                    status: .temporarilyClosed
                )
            )
            #expect(closed.version == 2 && closed.status == .temporarilyClosed)
            await expectStatus(.failedPrecondition, containing: "version") {
                _ = try await harness.inventory.updateStockLocation(
                    UpdateStockLocationRequest(requestID: rid(), id: store.id, expectedVersion: 1, name: "x")
                )
            }
            let sku = try await harness.skus(1)[0]
            try await harness.stock(sku, at: store.id, 3)
            await expectStatus(.failedPrecondition, containing: "TEMPORARILY_CLOSED") {
                _ = try await harness.inventory.reserveStock(
                    ReserveStockRequest(
                        requestID: rid(),
                        orderID: "o",
                        lines: [StockBasketLine(skuID: sku, quantity: 1)],
                        placement: .locationID(store.id)
                    )
                )
            }
            _ = try await harness.location("WH-1")
            let warehouses = try await harness.inventory.listStockLocations(ListStockLocationsRequest(kind: .warehouse))
            #expect(warehouses.stockLocations.map(\.code) == ["WH-1"])
            let summaries = try await harness.inventory.batchGetSkuStockSummaries(
                BatchGetSkuStockSummariesRequest(skuIDs: [sku, "sku_none"])
            )
            #expect(
                summaries.summaries.map(\.onHand) == [3, 0] && summaries.summaries[0].pickupAvailable == 0,
                "a closed store does not count"
            )
        }
    }
}
