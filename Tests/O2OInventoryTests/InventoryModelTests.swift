import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

/// Random sequences of inventory operations, checked after every step against a plain
/// model of what the stock must be.
@Suite("Inventory against a model")
struct InventoryModelTests {
    struct Pair: Hashable {
        var location: String
        var sku: String
    }

    struct ModelReservation {
        var id: String
        var location: String
        var lines: [StockBasketLine]
        var status: StockReservationStatus
        /// Its expiry passed, but no sweep has run since.
        var overdue = false
    }

    @Test("random reserve, commit, release, expiry, receipts and sales match the model", arguments: StoreKind.allCases)
    func randomSequences(kind: StoreKind) async throws {
        let seed = UInt64.random(in: 1...UInt64.max)
        var random = SeededRandom(seed: seed)
        try await ServiceHarness.run(kind) { harness in
            let locations = [try await harness.location("A").id, try await harness.location("B").id]
            let skus = try await harness.skus(3)
            var onHand: [Pair: Int64] = [:]
            var reserved: [Pair: Int64] = [:]
            var reservations: [ModelReservation] = []
            let steps = 250

            func expectMatches(_ step: Int, _ what: String) async throws {
                for location in locations {
                    for sku in skus {
                        let pair = Pair(location: location, sku: sku)
                        let level = try await harness.level(sku, at: location)
                        let (h, r) = (onHand[pair] ?? 0, reserved[pair] ?? 0)
                        #expect(
                            level.onHand == h && level.reserved == r && level.available == h - r,
                            "seed \(seed) step \(step) (\(what)): \(sku)@\(location) is \(level.onHand)/\(level.reserved), model \(h)/\(r)"
                        )
                    }
                }
            }

            for step in 0..<steps {
                let pair = Pair(
                    location: locations.randomElement(using: &random)!,
                    sku: skus.randomElement(using: &random)!
                )
                var what = ""
                switch Int.random(in: 0..<10, using: &random) {
                case 0, 1:
                    let quantity = Int64.random(in: 1...10, using: &random)
                    what = "receive \(quantity)"
                    try await harness.stock(pair.sku, at: pair.location, quantity)
                    onHand[pair, default: 0] += quantity
                case 2:
                    let quantity = Int64.random(in: 1...6, using: &random)
                    what = "sell \(quantity)"
                    let request = AdjustStockRequest(
                        requestID: rid(),
                        locationID: pair.location,
                        reason: .sale,
                        lines: [StockAdjustmentLine(skuID: pair.sku, quantityDelta: -quantity)]
                    )
                    if (onHand[pair] ?? 0) - quantity >= (reserved[pair] ?? 0) {
                        _ = try await harness.inventory.adjustStock(request)
                        onHand[pair, default: 0] -= quantity
                    } else {
                        await expectStatus(.failedPrecondition) { _ = try await harness.inventory.adjustStock(request) }
                    }
                case 3, 4:
                    let chosen = Array(skus.shuffled(using: &random).prefix(Int.random(in: 1...3, using: &random)))
                    let lines = chosen.map {
                        StockBasketLine(skuID: $0, quantity: Int64.random(in: 1...5, using: &random))
                    }
                    what = "reserve \(lines.map(\.quantity))"
                    let request = ReserveStockRequest(
                        requestID: rid(),
                        orderID: "order-\(step)",
                        lines: lines,
                        placement: .locationID(pair.location),
                        ttlSeconds: Int32.random(in: 3_600...7_200, using: &random)
                    )
                    let fits = lines.allSatisfy { line in
                        let key = Pair(location: pair.location, sku: line.skuID)
                        return (onHand[key] ?? 0) - (reserved[key] ?? 0) >= line.quantity
                    }
                    if fits {
                        let made = try await harness.inventory.reserveStock(request).reservations[0]
                        for line in lines {
                            reserved[Pair(location: pair.location, sku: line.skuID), default: 0] += line.quantity
                        }
                        reservations.append(
                            ModelReservation(id: made.id, location: pair.location, lines: lines, status: .active)
                        )
                        // A retry with the same request id returns the same and reserves nothing.
                        #expect(try await harness.inventory.reserveStock(request).reservations[0] == made)
                    } else {
                        await expectStatus(.failedPrecondition) {
                            _ = try await harness.inventory.reserveStock(request)
                        }
                    }
                case 5:
                    guard let index = reservations.indices.randomElement(using: &random) else { continue }
                    let reservation = reservations[index]
                    what = "commit \(reservation.status.protoValueName ?? "")\(reservation.overdue ? " overdue" : "")"
                    let request = CommitStockReservationRequest(requestID: rid(), reservationID: reservation.id)
                    switch reservation.status {
                    case .active where !reservation.overdue:
                        #expect(try await harness.inventory.commitStockReservation(request).status == .committed)
                        for line in reservation.lines {
                            let key = Pair(location: reservation.location, sku: line.skuID)
                            onHand[key, default: 0] -= line.quantity
                            reserved[key, default: 0] -= line.quantity
                        }
                        reservations[index].status = .committed
                    case .committed:
                        #expect(try await harness.inventory.commitStockReservation(request).status == .committed)
                    default:
                        await expectStatus(.failedPrecondition) {
                            _ = try await harness.inventory.commitStockReservation(request)
                        }
                    }
                case 6:
                    guard let index = reservations.indices.randomElement(using: &random) else { continue }
                    let reservation = reservations[index]
                    what = "release \(reservation.status.protoValueName ?? "")"
                    let request = ReleaseStockReservationRequest(
                        requestID: rid(),
                        reservationID: reservation.id,
                        reason: "test"
                    )
                    switch reservation.status {
                    case .active:
                        #expect(try await harness.inventory.releaseStockReservation(request).status == .released)
                        for line in reservation.lines {
                            reserved[Pair(location: reservation.location, sku: line.skuID), default: 0] -= line.quantity
                        }
                        reservations[index].status = .released
                    case .committed:
                        await expectStatus(.failedPrecondition) {
                            _ = try await harness.inventory.releaseStockReservation(request)
                        }
                    default:
                        #expect(
                            try await harness.inventory.releaseStockReservation(request).status == reservation.status
                        )
                    }
                case 7:
                    // Far past every expiry: every active reservation is now overdue.
                    what = "clock +10000 s"
                    harness.clock.advance(seconds: 10_000)
                    for index in reservations.indices where reservations[index].status == .active {
                        reservations[index].overdue = true
                    }
                case 8:
                    what = "sweep"
                    let swept = try await harness.admin.sweepExpiredStockReservations(
                        SweepExpiredStockReservationsRequest(requestID: rid())
                    )
                    var expected: Set<String> = []
                    for index in reservations.indices
                    where reservations[index].status == .active && reservations[index].overdue {
                        expected.insert(reservations[index].id)
                        reservations[index].status = .expired
                        for line in reservations[index].lines {
                            reserved[Pair(location: reservations[index].location, sku: line.skuID), default: 0] -=
                                line.quantity
                        }
                    }
                    #expect(Set(swept.reservationIDs) == expected, "seed \(seed) step \(step)")
                default:
                    guard let index = reservations.indices.randomElement(using: &random) else { continue }
                    let reservation = reservations[index]
                    what = "extend"
                    let request = ExtendStockReservationRequest(
                        requestID: rid(),
                        reservationID: reservation.id,
                        ttlSeconds: 3_600
                    )
                    if reservation.status == .active, !reservation.overdue {
                        #expect(try await harness.inventory.extendStockReservation(request).status == .active)
                    } else {
                        await expectStatus(.failedPrecondition) {
                            _ = try await harness.inventory.extendStockReservation(request)
                        }
                    }
                }
                try await expectMatches(step, what)
                if step % 50 == 49 { try await harness.expectLedgerConsistent() }
            }
            try await harness.expectLedgerConsistent()
        }
    }
}
