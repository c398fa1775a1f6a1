import Foundation
import O2OStorage
import O2OTestSupport
import Testing

@Suite("RocksDB engine")
struct RocksDBTests {
    @Test("data survives closing and reopening")
    func reopen() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try RocksDBEngine(path: directory, syncPolicy: .always, threads: 2)
        var batch = WriteBatch()
        batch.put(bytes("kept"), bytes("yes"))
        try await first.write(batch)
        try await first.close()
        let second = try RocksDBEngine(path: directory, syncPolicy: .always, threads: 2)
        #expect(try await second.get(bytes("kept")) == bytes("yes"))
        try await second.close()
    }

    @Test("a directory in use is refused with a clear error")
    func locked() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try RocksDBEngine(path: directory, syncPolicy: .none, threads: 2)
        do {
            _ = try RocksDBEngine(path: directory, syncPolicy: .none, threads: 2)
            Issue.record("opening twice should fail")
        } catch let error as StorageError {
            #expect(error.code == .locked)
            #expect(error.message == "the data directory is in use by another process")
        }
        try await first.close()
    }

    @Test("a directory that is not a database, or a file, is refused")
    func notADatabase() throws {
        let directory = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("hello".utf8).write(to: URL(fileURLWithPath: directory + "/notes.txt"))
        do {
            _ = try RocksDBEngine(path: directory, syncPolicy: .none, threads: 1)
            Issue.record("expected a refusal")
        } catch let error as StorageError {
            #expect(error.code == .notADatabase)
            #expect(
                error.message == "\(directory) is not an O2O data directory: it holds 1 file(s) but no RocksDB database"
            )
        }
        do {
            _ = try RocksDBEngine(path: directory + "/notes.txt", syncPolicy: .none, threads: 1)
            Issue.record("expected a refusal")
        } catch let error as StorageError {
            #expect(error.message == "\(directory)/notes.txt is not a directory")
        }
    }

    @Test("online backup (checkpoint) holds every acknowledged write and opens as a database")
    func checkpoint() async throws {
        let directory = temporaryDirectory()
        let backup = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: backup)
        }
        let engine = try RocksDBEngine(path: directory, syncPolicy: .group, threads: 2)
        var batch = WriteBatch()
        for index in 0..<1000 { batch.put(bytes("key \(index)"), bytes("value \(index)")) }
        try await engine.write(batch)
        try await engine.checkpoint(to: backup)
        await #expect(throws: StorageError.self) { try await engine.checkpoint(to: backup) }
        try await engine.close()
        let restored = try RocksDBEngine(path: backup, syncPolicy: .none, threads: 1)
        #expect(try await restored.scan(.all, direction: .forward, limit: 2000).count == 1000)
        #expect(try await restored.approximateSize(of: .all) >= 0)
        try await restored.close()
    }

    @Test("group commit: concurrent writers all return durable writes")
    func groupCommit() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let engine = try RocksDBEngine(path: directory, syncPolicy: .group, threads: 4)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for index in 0..<20 {
                        try await engine.withTransaction { transaction in
                            transaction.put(bytes("w\(writer)-\(index)"), bytes("x"))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await engine.scan(.all, direction: .forward, limit: 1000).count == 320)
        try await engine.close()
    }

    @Test("durability: SIGKILL in the middle of writing; every acknowledged batch is there, none half applied")
    func durability() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let torture = ChildProcess.executable("o2o-storage-torture")
        var acknowledged: [String: Int] = [:]
        for run in 0..<20 {
            let name = "r\(run)"
            let child = try ChildProcess(torture, [directory, name])
            // Kill only once it is writing, whatever the speed of the machine: after its
            // first acknowledged batch, then after a random number of further ones or a
            // random short delay, so that the kill lands in the middle of a write.
            guard try await child.waitForOutput("ack \(name) 1\n") != nil else {
                Issue.record("run \(name): no acknowledged write: \(child.standardOutput) \(child.standardError)")
                _ = try await child.stop(signal: SIGKILL)
                continue
            }
            if Bool.random() {
                _ = try await child.waitForLines(startingWith: "ack ", count: 1 + Int.random(in: 1...50))
            } else {
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...20)))
            }
            #expect(try await child.stop(signal: SIGKILL) == SIGKILL, "run \(name) was still writing when killed")
            for line in child.standardOutput.split(separator: "\n") where line.hasPrefix("ack \(name) ") {
                acknowledged[name] = max(acknowledged[name] ?? 0, Int(line.split(separator: " ")[2]) ?? 0)
            }
        }
        #expect(acknowledged.count == 20, "every run acknowledged writes before it was killed")
        let engine = try RocksDBEngine(path: directory, syncPolicy: .none, threads: 2)
        for run in 0..<20 {
            let name = "r\(run)"
            let last =
                try await engine.get(bytes("last/\(name)")).flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
            #expect(
                last >= acknowledged[name] ?? 0,
                "run \(name): acknowledged \(acknowledged[name] ?? 0), found \(last)"
            )
            let records = try await engine.scan(prefix: bytes("rec/\(name)/"), limit: 1_000_000)
            let index = try await engine.scan(prefix: bytes("idx/\(name)/"), limit: 1_000_000)
            // Every batch wrote all three keys together: counts agree with the last number.
            #expect(records.count == last, "run \(name): \(records.count) records, last \(last)")
            #expect(index.count == last, "run \(name): \(index.count) index entries, last \(last)")
        }
        try await engine.close()
    }
}
