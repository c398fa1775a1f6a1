import Foundation
import O2OStorage
import Synchronization
import Testing

/// One suite every engine must pass, written once and run against each.
@Suite("Engine conformance")
struct ConformanceTests {
    @Test("keys are ordered byte-wise", arguments: EngineKind.allCases)
    func ordering(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            let keys: [[UInt8]] = [
                [0x00], [0x00, 0x00], [0x01], [0x7f], [0x80], [0xff], [0xff, 0x00], bytes("a"), bytes("ab"), bytes("b"),
            ]
            var batch = WriteBatch()
            for key in keys.shuffled() { batch.put(key, key) }
            try await engine.write(batch)
            let scanned = try await engine.scan(.all, direction: .forward, limit: 100).map(\.key)
            let expected = keys.sorted { compareBytes($0, $1) < 0 }
            #expect(scanned == expected)
            #expect(scanned.first == [0x00])
            #expect(scanned.last == [0xff, 0x00])
            let reversed = try await engine.scan(.all, direction: .reverse, limit: 100).map(\.key)
            #expect(reversed == expected.reversed())
        }
    }

    @Test("scan bounds, limits, prefixes and reverse scans", arguments: EngineKind.allCases)
    func scans(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            var batch = WriteBatch()
            for index in 0..<100 { batch.put(bytes("k\(String(format: "%03d", index))"), bytes("\(index)")) }
            batch.put(bytes("l000"), bytes("other"))
            try await engine.write(batch)
            let range = KeyRange(lower: bytes("k010"), upper: bytes("k020"))
            let forward = try await engine.scan(range, direction: .forward, limit: 100)
            #expect(forward.map(\.key) == (10..<20).map { bytes("k\(String(format: "%03d", $0))") })
            let reverse = try await engine.scan(range, direction: .reverse, limit: 3)
            #expect(reverse.map(\.key) == [bytes("k019"), bytes("k018"), bytes("k017")])
            #expect(try await engine.scan(range, direction: .forward, limit: 0).isEmpty)
            let prefixed = try await engine.scan(prefix: bytes("k09"), limit: 100)
            #expect(prefixed.count == 10)
            #expect(try await engine.scan(prefix: bytes("l"), limit: 100).map(\.value) == [bytes("other")])
            #expect(try await engine.scan(KeyRange(lower: bytes("z")), direction: .forward, limit: 10).isEmpty)
            #expect(
                try await engine.scan(KeyRange(upper: bytes("k001")), direction: .reverse, limit: 10).map(\.key) == [
                    bytes("k000")
                ]
            )
            let lastTwo = try await engine.scan(.all, direction: .reverse, limit: 2).map(\.key)
            #expect(lastTwo == [bytes("l000"), bytes("k099")])
        }
    }

    @Test("get, multi-get, delete, empty keys and values, 1 MB values", arguments: EngineKind.allCases)
    func pointOperations(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            let big = [UInt8]((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            var batch = WriteBatch()
            batch.put([], bytes("empty key"))
            batch.put(bytes("empty value"), [])
            batch.put(bytes("big"), big)
            try await engine.write(batch)
            #expect(try await engine.get([]) == bytes("empty key"))
            #expect(try await engine.get(bytes("empty value")) == [])
            #expect(try await engine.get(bytes("missing")) == nil)
            #expect(try await engine.get(bytes("big")) == big)
            let values = try await engine.multiGet([bytes("big"), bytes("missing"), []])
            #expect(values.count == 3)
            #expect(values[1] == nil)
            #expect(values[2] == bytes("empty key"))
            var delete = WriteBatch()
            delete.delete(bytes("big"))
            delete.delete(bytes("never there"))
            try await engine.write(delete)
            #expect(try await engine.get(bytes("big")) == nil)
        }
    }

    @Test("a batch applies all of its writes or none", arguments: EngineKind.allCases)
    func batchAtomicity(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            // Concurrent readers never see half of a batch.
            let seenHalf = Flag()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for round in 0..<200 {
                        var batch = WriteBatch()
                        batch.put(bytes("a"), bytes("\(round)"))
                        batch.put(bytes("b"), bytes("\(round)"))
                        try await engine.write(batch)
                    }
                }
                group.addTask {
                    for _ in 0..<200 {
                        let snapshot = try await engine.snapshot()
                        let a = try await snapshot.get(bytes("a"))
                        let b = try await snapshot.get(bytes("b"))
                        snapshot.release()
                        if a != b { seenHalf.value.store(true, ordering: .relaxed) }
                    }
                }
                try await group.waitForAll()
            }
            let sawHalf = seenHalf.value.load(ordering: .relaxed)
            #expect(!sawHalf)
        }
    }

    @Test("snapshots do not see later writes", arguments: EngineKind.allCases)
    func snapshotIsolation(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            var batch = WriteBatch()
            batch.put(bytes("x"), bytes("1"))
            try await engine.write(batch)
            let snapshot = try await engine.snapshot()
            var later = WriteBatch()
            later.put(bytes("x"), bytes("2"))
            later.put(bytes("y"), bytes("new"))
            try await engine.write(later)
            #expect(try await snapshot.get(bytes("x")) == bytes("1"))
            #expect(try await snapshot.get(bytes("y")) == nil)
            #expect(try await snapshot.scan(.all, direction: .forward, limit: 10).count == 1)
            #expect(try await engine.get(bytes("x")) == bytes("2"))
            snapshot.release()
            await #expect(throws: StorageError.self) { _ = try await snapshot.get(bytes("x")) }
        }
    }

    @Test("transactions read their own writes, scan merged, and commit atomically", arguments: EngineKind.allCases)
    func transactions(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            var batch = WriteBatch()
            for key in ["a", "b", "c", "d"] { batch.put(bytes(key), bytes(key)) }
            try await engine.write(batch)
            let transaction = try await engine.beginTransaction()
            transaction.put(bytes("b"), bytes("B"))
            transaction.delete(bytes("c"))
            transaction.put(bytes("e"), bytes("E"))
            #expect(try await transaction.get(bytes("b")) == bytes("B"))
            #expect(try await transaction.get(bytes("c")) == nil)
            let merged = try await transaction.scan(.all, direction: .forward, limit: 10)
            #expect(merged.map(\.key) == [bytes("a"), bytes("b"), bytes("d"), bytes("e")])
            #expect(merged.map(\.value) == [bytes("a"), bytes("B"), bytes("d"), bytes("E")])
            let limited = try await transaction.scan(.all, direction: .reverse, limit: 2)
            #expect(limited.map(\.key) == [bytes("e"), bytes("d")])
            // Not visible outside before commit.
            #expect(try await engine.get(bytes("e")) == nil)
            try await transaction.commit()
            #expect(try await engine.get(bytes("b")) == bytes("B"))
            #expect(try await engine.get(bytes("c")) == nil)
            #expect(try await engine.get(bytes("e")) == bytes("E"))

            let abandoned = try await engine.beginTransaction()
            abandoned.put(bytes("z"), bytes("z"))
            abandoned.rollback()
            #expect(try await engine.get(bytes("z")) == nil)
        }
    }

    @Test(
        "a transaction whose read was changed by another commit fails with a conflict",
        arguments: EngineKind.allCases
    )
    func conflicts(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            var batch = WriteBatch()
            batch.put(bytes("stock"), bytes("10"))
            try await engine.write(batch)
            let first = try await engine.beginTransaction()
            let second = try await engine.beginTransaction()
            _ = try await first.get(bytes("stock"))
            _ = try await second.get(bytes("stock"))
            first.put(bytes("stock"), bytes("9"))
            second.put(bytes("stock"), bytes("8"))
            try await first.commit()
            do {
                try await second.commit()
                Issue.record("the second commit should conflict")
            } catch let error as StorageError {
                #expect(error.code == .conflict)
            }
            #expect(try await engine.get(bytes("stock")) == bytes("9"))
            // Writes alone conflict too (write-write).
            let third = try await engine.beginTransaction()
            third.put(bytes("stock"), bytes("7"))
            var outside = WriteBatch()
            outside.put(bytes("stock"), bytes("6"))
            try await engine.write(outside)
            await #expect(throws: StorageError.self) { try await third.commit() }
            // Disjoint transactions both commit.
            let left = try await engine.beginTransaction()
            let right = try await engine.beginTransaction()
            left.put(bytes("l"), bytes("1"))
            right.put(bytes("r"), bytes("1"))
            try await left.commit()
            try await right.commit()
        }
    }

    @Test(
        "no lost updates: 16 tasks × 500 read-modify-write increments end at exactly 8,000",
        arguments: EngineKind.allCases
    )
    func noLostUpdates(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        for _ in 0..<500 {
                            try await engine.withTransaction(maxAttempts: 1000) { transaction in
                                let current =
                                    try await transaction.get(bytes("counter")).flatMap {
                                        Int(String(decoding: $0, as: UTF8.self))
                                    } ?? 0
                                transaction.put(bytes("counter"), bytes("\(current + 1)"))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await engine.get(bytes("counter")) == bytes("8000"))
        }
    }

    @Test("many keys", arguments: EngineKind.allCases)
    func manyKeys(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            var generator = SystemRandomNumberGenerator()
            var keys = Set<[UInt8]>()
            for chunk in 0..<20 {
                var batch = WriteBatch()
                for _ in 0..<2500 {
                    let key = (0..<Int.random(in: 1...24, using: &generator)).map { _ in
                        UInt8.random(in: 0...255, using: &generator)
                    }
                    keys.insert(key)
                    batch.put(key, bytes("\(chunk)"))
                }
                try await engine.write(batch)
            }
            let all = try await engine.scan(.all, direction: .forward, limit: 100_000)
            #expect(all.count == keys.count)
            #expect(all.map(\.key) == keys.sorted { compareBytes($0, $1) < 0 })
            let statistics = try await engine.statistics()
            #expect(statistics.approximateKeys > 0)
        }
    }
}

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
