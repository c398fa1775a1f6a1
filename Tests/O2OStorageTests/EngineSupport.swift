import Foundation
import O2OStorage
import Testing

/// The engines every conformance test runs against.
enum EngineKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case rocksdb

    var testDescription: String { rawValue }

    /// A fresh engine (RocksDB in a new temporary directory); `body` runs with it and
    /// the engine is closed and its directory removed afterwards.
    func withEngine<Result>(
        sync: SyncPolicy = .none,
        _ body: (any StorageEngine) async throws -> Result
    ) async throws -> Result {
        switch self {
        case .memory:
            let engine = MemoryEngine()
            let result = try await body(engine)
            try await engine.close()
            return result
        case .rocksdb:
            let directory = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let engine = try RocksDBEngine(path: directory, syncPolicy: sync, threads: 4)
            do {
                let result = try await body(engine)
                try await engine.close()
                return result
            } catch {
                try? await engine.close()
                throw error
            }
        }
    }
}

func temporaryDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("o2o-storage-\(UUID().uuidString)").path
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
