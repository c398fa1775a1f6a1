import ArgumentParser
internal import CRocksDB
import O2OStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Storage engine throughput: point operations through the engine API against the
/// same operations straight through RocksDB's C API (the overhead ratio), and
/// committed transactions per second by sync policy and number of writers.
struct StorageLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Storage engine throughput: engine API against the raw C API, and transactions by sync policy."
    )

    @Option(help: "Scratch directory (created; removed afterwards).") var dir: String = "/tmp/o2o-bench-storage"
    @Option(help: "Point operations per measurement.") var ops: Int = 200_000
    @Option(help: "Seconds per transaction measurement.") var seconds: Double = 5
    @Option(help: "Writer counts for the transaction measurements.") var writers: [Int] = [1, 8, 64]

    func run() async throws {
        system("rm -rf '\(dir)' && mkdir -p '\(dir)'")
        defer { system("rm -rf '\(dir)'") }
        let keys = (0..<ops).map { Array("key-\(String($0 &* 2_654_435_761 % 1_000_003, radix: 16))-\($0)".utf8) }
        let value = [UInt8](repeating: 0x5a, count: 100)

        // Writes, then reads, through the engine API (one caller, one operation at a time).
        let engine = try RocksDBEngine(path: dir + "/engine", syncPolicy: .none)
        var start = nowNanoseconds()
        for key in keys {
            var batch = WriteBatch()
            batch.put(key, value)
            try await engine.write(batch)
        }
        let engineWrites = rate(ops, since: start)
        start = nowNanoseconds()
        for index in 0..<ops {
            _ = try await engine.get(keys[(index &* 7919) % ops])
        }
        let engineReads = rate(ops, since: start)
        try await engine.close()

        // The same through the C API, on the calling thread.
        let (rawWrites, rawReads) = rawRocksDB(path: dir + "/raw", keys: keys, value: value)
        printLine("storage point operations, \(ops) each, 100-byte values, sync none, one caller:")
        printLine(
            "  writes: engine API \(format(engineWrites, 0))/s, C API \(format(rawWrites, 0))/s, ratio \(format(engineWrites / rawWrites, 2))"
        )
        printLine(
            "  reads:  engine API \(format(engineReads, 0))/s, C API \(format(rawReads, 0))/s, ratio \(format(engineReads / rawReads, 2))"
        )

        printLine("committed transactions per second (read one key, write it), distinct keys:")
        for policy in [SyncPolicy.always, .group] {
            for count in writers {
                let path = dir + "/txn-\(policy.rawValue)-\(count)"
                let engine = try RocksDBEngine(path: path, syncPolicy: policy, threads: max(8, min(count, 64)))
                let committed = try await transactions(engine: engine, writers: count, seconds: seconds)
                try await engine.close()
                printLine("  sync \(policy.rawValue), \(count) writers: \(format(committed, 0)) transactions/s")
            }
        }
    }

    private func rate(_ count: Int, since start: UInt64) -> Double {
        Double(count) / (Double(nowNanoseconds() - start) / 1e9)
    }

    private func transactions(engine: RocksDBEngine, writers: Int, seconds: Double) async throws -> Double {
        let end = nowNanoseconds() + UInt64(seconds * 1e9)
        let start = nowNanoseconds()
        let total = try await withThrowingTaskGroup(of: Int.self, returning: Int.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var done = 0
                    while nowNanoseconds() < end {
                        let key = Array("w\(writer)-\(done % 1000)".utf8)
                        try await engine.withTransaction { transaction in
                            let current = try await transaction.get(key)
                            transaction.put(key, (current ?? []).prefix(64) + [1])
                        }
                        done += 1
                    }
                    return done
                }
            }
            var total = 0
            for try await done in group { total += done }
            return total
        }
        return Double(total) / (Double(nowNanoseconds() - start) / 1e9)
    }

    private func rawRocksDB(path: String, keys: [[UInt8]], value: [UInt8]) -> (writes: Double, reads: Double) {
        let options = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_compression(options, Int32(rocksdb_zstd_compression))
        var error: UnsafeMutablePointer<CChar>?
        let db = rocksdb_open(options, path, &error)
        precondition(error == nil, "raw RocksDB open failed")
        let writeOptions = rocksdb_writeoptions_create()
        let readOptions = rocksdb_readoptions_create()
        var start = nowNanoseconds()
        for key in keys {
            key.withUnsafeBytes { key in
                value.withUnsafeBytes { value in
                    rocksdb_put(
                        db,
                        writeOptions,
                        key.baseAddress?.assumingMemoryBound(to: CChar.self),
                        key.count,
                        value.baseAddress?.assumingMemoryBound(to: CChar.self),
                        value.count,
                        &error
                    )
                }
            }
        }
        let writes = rate(keys.count, since: start)
        start = nowNanoseconds()
        for index in 0..<keys.count {
            var length = 0
            let found = keys[(index &* 7919) % keys.count].withUnsafeBytes { key in
                rocksdb_get(
                    db,
                    readOptions,
                    key.baseAddress?.assumingMemoryBound(to: CChar.self),
                    key.count,
                    &length,
                    &error
                )
            }
            // Copy out, as the engine does.
            let copy = found.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: length)) }
            if let found { rocksdb_free(found) }
            _ = copy
        }
        let reads = rate(keys.count, since: start)
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_close(db)
        rocksdb_options_destroy(options)
        return (writes, reads)
    }
}
