import Foundation
import O2OStorage
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

    @Test("durability: killed with SIGKILL at random moments, every acknowledged batch is there, none half applied")
    func durability() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let torture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/o2o-storage-torture").path
        let binary = FileManager.default.fileExists(atPath: torture) ? torture : Self.locateTorture()
        var acknowledged: [String: Int] = [:]
        for run in 0..<20 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = [directory, "r\(run)"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            // Let it get going, then kill it somewhere in the middle of its writes.
            try await Task.sleep(for: .milliseconds(Int.random(in: 80...400)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("ack ") {
                let parts = line.split(separator: " ")
                acknowledged[String(parts[1])] = max(acknowledged[String(parts[1])] ?? 0, Int(parts[2]) ?? 0)
            }
        }
        #expect(acknowledged.count >= 10, "the child acknowledged writes in most runs")
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

    static func locateTorture() -> String {
        let build = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build").path
        let candidates = (try? FileManager.default.subpathsOfDirectory(atPath: build)) ?? []
        return candidates.first { $0.hasSuffix("/o2o-storage-torture") && !$0.contains(".dSYM") }.map {
            build + "/" + $0
        } ?? "o2o-storage-torture"
    }
}
