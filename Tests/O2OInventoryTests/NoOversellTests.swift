import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

/// The promise the inventory makes: never reserve what is not there, however many
/// callers compete, and keep the ledger and the levels in agreement.
@Suite("Inventory never oversells")
struct NoOversellTests {
    @Test("200 callers for the last 50 units: exactly 50 reserved", arguments: StoreKind.allCases)
    func lastUnits(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let location = try await harness.location("WH-1")
            let sku = try await harness.skus(1)[0]
            try await harness.stock(sku, at: location.id, 50)
            let outcomes = try await withThrowingTaskGroup(of: RPCStatusCode?.self) { group in
                for caller in 0..<200 {
                    group.addTask {
                        do {
                            _ = try await harness.inventory.reserveStock(
                                ReserveStockRequest(
                                    requestID: rid(),
                                    orderID: "order-\(caller)",
                                    lines: [StockBasketLine(skuID: sku, quantity: 1)],
                                    placement: .locationID(location.id)
                                )
                            )
                            return nil
                        } catch let error as RPCError {
                            return error.code
                        }
                    }
                }
                var outcomes: [RPCStatusCode?] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            #expect(outcomes.filter { $0 == nil }.count == 50)
            #expect(
                outcomes.compactMap { $0 }.allSatisfy { $0 == .failedPrecondition },
                "\(Set(outcomes.compactMap { $0?.name }))"
            )
            let level = try await harness.level(sku, at: location.id)
            #expect(level.onHand == 50 && level.reserved == 50 && level.available == 0)
            try await harness.expectLedgerConsistent()
        }
    }

    @Test(
        "overlapping baskets from 200 callers: never more than there is, all or nothing",
        arguments: StoreKind.allCases
    )
    func overlappingBaskets(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let location = try await harness.location("WH-1")
            let skus = try await harness.skus(3)
            let initial: [Int64] = [50, 30, 20]
            for (sku, quantity) in zip(skus, initial) { try await harness.stock(sku, at: location.id, quantity) }
            // Baskets as quantities of the three SKUs.
            let baskets: [[Int64]] = [[1, 0, 0], [1, 1, 0], [0, 2, 1], [2, 0, 1], [1, 1, 1], [0, 0, 3]]
            // Each caller reports its basket and whether it got it.
            let outcomes = try await withThrowingTaskGroup(of: (choice: Int, won: Bool).self) { group in
                for caller in 0..<200 {
                    let choice = caller % baskets.count
                    group.addTask {
                        let lines = zip(skus, baskets[choice]).filter { $0.1 > 0 }.map {
                            StockBasketLine(skuID: $0.0, quantity: $0.1)
                        }
                        do {
                            let response = try await harness.inventory.reserveStock(
                                ReserveStockRequest(
                                    requestID: rid(),
                                    orderID: "order-\(caller)",
                                    lines: lines,
                                    placement: .locationID(location.id)
                                )
                            )
                            #expect(response.reservations.count == 1 && response.reservations[0].lines == lines)
                            return (choice, true)
                        } catch let error as RPCError {
                            #expect(error.code == .failedPrecondition, "\(error)")
                            return (choice, false)
                        }
                    }
                }
                var outcomes: [(choice: Int, won: Bool)] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let won = outcomes.filter(\.won).map { baskets[$0.choice] }
            let failedKinds = Set(outcomes.filter { !$0.won }.map(\.choice))
            let reservedBySku = (0..<3).map { index in won.reduce(Int64(0)) { $0 + $1[index] } }
            var available: [Int64] = []
            for (index, sku) in skus.enumerated() {
                let level = try await harness.level(sku, at: location.id)
                #expect(level.onHand == initial[index], "nothing left the shelf")
                #expect(level.reserved == reservedBySku[index], "reserved equals what the winners hold")
                #expect(level.available >= 0 && level.available == initial[index] - reservedBySku[index])
                available.append(level.available)
            }
            // Stock only went down during the storm: a basket refused then cannot fit now.
            for choice in failedKinds {
                #expect(
                    zip(baskets[choice], available).contains { $0 > $1 },
                    "basket \(baskets[choice]) was refused but fits \(available)"
                )
            }
            try await harness.expectLedgerConsistent()
        }
    }

    @Test("commits and releases racing on one reservation: exactly one wins", arguments: StoreKind.allCases)
    func racingCloses(kind: StoreKind) async throws {
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
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<40 {
                    group.addTask {
                        do {
                            if caller % 2 == 0 {
                                _ = try await harness.inventory.commitStockReservation(
                                    CommitStockReservationRequest(requestID: rid(), reservationID: reservation.id)
                                )
                            } else {
                                _ = try await harness.inventory.releaseStockReservation(
                                    ReleaseStockReservationRequest(
                                        requestID: rid(),
                                        reservationID: reservation.id,
                                        reason: "race"
                                    )
                                )
                            }
                        } catch let error as RPCError {
                            #expect(error.code == .failedPrecondition, "\(error)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = try await harness.inventory.getStockReservation(GetStockReservationRequest(id: reservation.id))
            let level = try await harness.level(sku, at: location.id)
            #expect(level.reserved == 0)
            #expect(level.onHand == (final.status == .committed ? 6 : 10))
            let entries = try await harness.inventory.listStockLedgerEntries(
                ListStockLedgerEntriesRequest(reference: StockReference(kind: .reservation, id: reservation.id))
            ).entries
            #expect(entries.count == 2, "one RESERVATION and one closing entry: \(entries.map(\.reason))")
            try await harness.expectLedgerConsistent()
        }
    }
}
