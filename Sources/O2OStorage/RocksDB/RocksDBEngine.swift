internal import CRocksDB
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The RocksDB engine: an optimistic-transaction database over RocksDB's C API, zstd
/// block compression, bloom filters, and the operator's WAL sync policy. Every RocksDB
/// call runs on the engine's own thread pool, never on the caller's thread.
public final class RocksDBEngine: StorageEngine {
    /// The directory.
    public let path: String
    /// When commits are durable.
    public let syncPolicy: SyncPolicy

    private let database: RocksDBDatabase
    private let pool: NIOThreadPool
    private let groupCommit: GroupCommitter?
    private let closed = Atomic<Bool>(false)
    /// Operations running now; `close` waits for them before it closes the database.
    private let inFlight = Atomic<Int>(0)

    /// Opens (or creates) the database in `path`.
    /// - Parameters:
    ///   - path: The data directory. Created when missing; refused when it holds files
    ///     that are not a RocksDB database, or when another process has it open.
    ///   - syncPolicy: When commits are durable.
    ///   - cacheBytes: Block cache size.
    ///   - threads: Threads that run RocksDB calls (they may block on fsync).
    public init(path: String, syncPolicy: SyncPolicy, cacheBytes: Int = 64 << 20, threads: Int = 8) throws {
        self.path = path
        self.syncPolicy = syncPolicy
        try Self.checkDirectory(path)
        database = try RocksDBDatabase(path: path, options: RocksDBOptions(cacheBytes: cacheBytes))
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        groupCommit = syncPolicy == .group ? GroupCommitter(database: database, pool: pool) : nil
    }

    /// Refuses a directory that is a file, or holds files but no RocksDB database.
    private static func checkDirectory(_ path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            guard errno == ENOENT else {
                throw StorageError(.io, "cannot use \(path) as the data directory: \(String(cString: strerror(errno)))")
            }
            return
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw StorageError(.notADatabase, "\(path) is not a directory")
        }
        guard let directory = opendir(path) else {
            throw StorageError(.io, "cannot read the data directory \(path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        if !names.isEmpty && !names.contains("CURRENT") {
            throw StorageError(
                .notADatabase,
                "\(path) is not an O2O data directory: it holds \(names.count) file(s) but no RocksDB database"
            )
        }
    }

    /// Runs a blocking RocksDB call on the engine's threads.
    private func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try enter()
        defer { leave() }
        return try await pool.runIfActive(body)
    }

    /// Runs a non-blocking RocksDB call on the caller's thread.
    func inline<Result>(_ body: () throws -> Result) throws -> Result {
        try enter()
        defer { leave() }
        return try body()
    }

    private func enter() throws {
        inFlight.add(1, ordering: .acquiring)
        if closed.load(ordering: .acquiring) {
            inFlight.subtract(1, ordering: .releasing)
            throw StorageError(.closed, "the store is closed")
        }
    }

    private func leave() {
        inFlight.subtract(1, ordering: .releasing)
    }

    // MARK: - Reads

    /// Reads first try the memtables and the block cache on the caller's thread: such
    /// a read never waits for the disk (RocksDB answers "incomplete" instead), so it is
    /// safe even on an event loop, and hot data costs no thread hop. Only a miss goes
    /// to the thread pool.
    public func get(_ key: StorageBytes) async throws -> StorageBytes? {
        let database = self.database
        if case .value(let value) = try inline({ try Self.cachedGet(database.db, database.cacheOnlyReadOptions, key) })
        {
            return value
        }
        return try await run { try Self.get(database.db, database.readOptions, key) }
    }

    static func cachedGet(_ db: OpaquePointer, _ readOptions: OpaquePointer, _ key: StorageBytes) throws -> CachedRead {
        try key.withUnsafeBufferPointer { key in
            try cachedRead { error, length in
                rocksdb_get(
                    db,
                    readOptions,
                    UnsafeRawPointer(key.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) },
                    key.count,
                    length,
                    error
                )
            }
        }
    }

    static func get(_ db: OpaquePointer, _ readOptions: OpaquePointer, _ key: StorageBytes) throws -> StorageBytes? {
        var length = 0
        let value = try key.withUnsafeBufferPointer { key in
            try RocksDBErrors.check("reading") { error in
                rocksdb_get(
                    db,
                    readOptions,
                    UnsafeRawPointer(key.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) },
                    key.count,
                    &length,
                    error
                )
            }
        }
        return takeValue(value, length: length)
    }

    public func multiGet(_ keys: [StorageBytes]) async throws -> [StorageBytes?] {
        guard !keys.isEmpty else { return [] }
        let database = self.database
        // From memory where possible; the rest in one trip to the thread pool.
        var values: [StorageBytes?] = []
        values.reserveCapacity(keys.count)
        var missing: [Int] = []
        try inline {
            for (index, key) in keys.enumerated() {
                switch try Self.cachedGet(database.db, database.cacheOnlyReadOptions, key) {
                case .value(let value): values.append(value)
                case .needsDisk:
                    values.append(nil)
                    missing.append(index)
                }
            }
        }
        guard !missing.isEmpty else { return values }
        let missingKeys = missing.map { keys[$0] }
        let found = try await run { try Self.multiGet(database.db, database.readOptions, missingKeys) }
        for (index, value) in zip(missing, found) { values[index] = value }
        return values
    }

    static func multiGet(
        _ db: OpaquePointer,
        _ readOptions: OpaquePointer,
        _ keys: [StorageBytes]
    ) throws -> [StorageBytes?] {
        let count = keys.count
        var values = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        var valueLengths = [Int](repeating: 0, count: count)
        var errors = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        let keyLengths = keys.map(\.count)
        // Key pointers stay valid while the copies below live.
        let keyCopies = keys.map { key -> UnsafeMutablePointer<CChar> in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, key.count))
            key.withUnsafeBytes { raw in
                if let base = raw.baseAddress {
                    UnsafeMutableRawPointer(copy).copyMemory(from: base, byteCount: key.count)
                }
            }
            return copy
        }
        defer { for copy in keyCopies { copy.deallocate() } }
        var keyPointers = keyCopies.map { UnsafePointer<CChar>?($0) }
        rocksdb_multi_get(db, readOptions, count, &keyPointers, keyLengths, &values, &valueLengths, &errors)
        var result: [StorageBytes?] = []
        var firstError: StorageError?
        for index in 0..<count {
            if let error = errors[index] {
                if firstError == nil { firstError = RocksDBErrors.classify(String(cString: error), while: "reading") }
                rocksdb_free(error)
            }
            result.append(takeValue(values[index], length: valueLengths[index]))
        }
        if let firstError { throw firstError }
        return result
    }

    public func scan(_ range: KeyRange, direction: ScanDirection, limit: Int) async throws -> [KeyValue] {
        let database = self.database
        return try await run {
            let readOptions = rocksdb_readoptions_create()!
            defer { rocksdb_readoptions_destroy(readOptions) }
            return try Self.scan(readOptions: readOptions, range: range, direction: direction, limit: limit) {
                options in
                rocksdb_create_iterator(database.db, options)
            }
        }
    }

    /// A bounded scan with an iterator made by `makeIterator` from read options that
    /// carry the range's bounds.
    static func scan(
        readOptions: OpaquePointer,
        range: KeyRange,
        direction: ScanDirection,
        limit: Int,
        makeIterator: (OpaquePointer) -> OpaquePointer?
    ) throws -> [KeyValue] {
        guard limit > 0 else { return [] }
        // The bounds must outlive the iterator: keep them in buffers for the whole scan.
        let lower = range.lower ?? []
        let upper = range.upper ?? []
        return try lower.withUnsafeBufferPointer { lowerBuffer in
            try upper.withUnsafeBufferPointer { upperBuffer in
                let lowerPointer = UnsafeRawPointer(lowerBuffer.baseAddress).map {
                    $0.assumingMemoryBound(to: CChar.self)
                }
                let upperPointer = UnsafeRawPointer(upperBuffer.baseAddress).map {
                    $0.assumingMemoryBound(to: CChar.self)
                }
                if range.lower != nil, let lowerPointer {
                    rocksdb_readoptions_set_iterate_lower_bound(readOptions, lowerPointer, lower.count)
                }
                if range.upper != nil, let upperPointer {
                    rocksdb_readoptions_set_iterate_upper_bound(readOptions, upperPointer, upper.count)
                }
                guard let iterator = makeIterator(readOptions) else { return [] }
                defer { rocksdb_iter_destroy(iterator) }
                switch direction {
                case .forward:
                    if range.lower != nil, let lowerPointer {
                        rocksdb_iter_seek(iterator, lowerPointer, lower.count)
                    } else {
                        rocksdb_iter_seek_to_first(iterator)
                    }
                case .reverse:
                    rocksdb_iter_seek_to_last(iterator)
                }
                var result: [KeyValue] = []
                while rocksdb_iter_valid(iterator) != 0, result.count < limit {
                    var keyLength = 0
                    var valueLength = 0
                    let keyPointer = rocksdb_iter_key(iterator, &keyLength)!
                    let valuePointer = rocksdb_iter_value(iterator, &valueLength)
                    let key = StorageBytes(UnsafeRawBufferPointer(start: keyPointer, count: keyLength))
                    if range.contains(key) {
                        let value =
                            valuePointer.map { StorageBytes(UnsafeRawBufferPointer(start: $0, count: valueLength)) }
                            ?? []
                        result.append(KeyValue(key: key, value: value))
                    } else if direction == .forward ? range.upper != nil : range.lower != nil {
                        // Past the far bound: done (bounds are enforced by RocksDB too).
                        break
                    }
                    if direction == .forward { rocksdb_iter_next(iterator) } else { rocksdb_iter_prev(iterator) }
                }
                try RocksDBErrors.check("scanning") { error in rocksdb_iter_get_error(iterator, error) }
                return result
            }
        }
    }

    // MARK: - Writes

    public func write(_ batch: WriteBatch) async throws {
        guard !batch.isEmpty else { return }
        let database = self.database
        let sync = syncPolicy == .always
        try await run {
            let writeBatch = rocksdb_writebatch_create()!
            defer { rocksdb_writebatch_destroy(writeBatch) }
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value):
                    key.withUnsafeBytes { key in
                        value.withUnsafeBytes { value in
                            rocksdb_writebatch_put(
                                writeBatch,
                                key.baseAddress?.assumingMemoryBound(to: CChar.self),
                                key.count,
                                value.baseAddress?.assumingMemoryBound(to: CChar.self),
                                value.count
                            )
                        }
                    }
                case .delete(let key):
                    key.withUnsafeBytes { key in
                        rocksdb_writebatch_delete(
                            writeBatch,
                            key.baseAddress?.assumingMemoryBound(to: CChar.self),
                            key.count
                        )
                    }
                }
            }
            try RocksDBErrors.check("writing") { error in
                rocksdb_write(
                    database.db,
                    sync ? database.syncWriteOptions : database.asyncWriteOptions,
                    writeBatch,
                    error
                )
            }
        }
        try await groupCommit?.waitUntilDurable()
    }

    public func snapshot() async throws -> any StorageSnapshot {
        guard !closed.load(ordering: .relaxed) else { throw StorageError(.closed, "the store is closed") }
        return RocksDBSnapshot(engine: self, handle: RocksDBSnapshotHandle(database: database))
    }

    public func beginTransaction() async throws -> any StorageTransaction {
        guard !closed.load(ordering: .relaxed) else { throw StorageError(.closed, "the store is closed") }
        return RocksDBTransaction(
            engine: self,
            handle: RocksDBTransactionHandle(database: database, sync: syncPolicy == .always)
        )
    }

    /// Runs a RocksDB call for a snapshot or transaction of this engine.
    func runBlocking<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await run(body)
    }

    /// After a transaction committed: wait for the shared fsync under `group`.
    func committed() async throws {
        try await groupCommit?.waitUntilDurable()
    }

    // MARK: - Administration

    public func checkpoint(to directory: String) async throws {
        let database = self.database
        try await run {
            var status = stat()
            if stat(directory, &status) == 0 {
                throw StorageError(.alreadyExists, "the backup directory \(directory) exists already")
            }
            let checkpoint = try RocksDBErrors.check("preparing a backup") { error in
                rocksdb_optimistictransactiondb_checkpoint_object_create(database.transactionDB, error)
            }
            guard let checkpoint else { throw StorageError(.io, "could not prepare a backup") }
            defer { rocksdb_checkpoint_object_destroy(checkpoint) }
            try RocksDBErrors.check("writing a backup to \(directory)") { error in
                rocksdb_checkpoint_create(checkpoint, directory, 0, error)
            }
        }
    }

    public func approximateSize(of range: KeyRange) async throws -> UInt64 {
        let database = self.database
        return try await run {
            let start = range.lower ?? []
            let limit = range.upper ?? [UInt8](repeating: 0xff, count: 32)
            var size: UInt64 = 0
            try start.withUnsafeBufferPointer { start in
                try limit.withUnsafeBufferPointer { limit in
                    var starts: [UnsafePointer<CChar>?] = [
                        UnsafeRawPointer(start.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) }
                    ]
                    var limits: [UnsafePointer<CChar>?] = [
                        UnsafeRawPointer(limit.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) }
                    ]
                    var startLengths = [start.count]
                    var limitLengths = [limit.count]
                    try RocksDBErrors.check("measuring") { error in
                        rocksdb_approximate_sizes(
                            database.db,
                            1,
                            &starts,
                            &startLengths,
                            &limits,
                            &limitLengths,
                            &size,
                            error
                        )
                    }
                }
            }
            return size
        }
    }

    public func statistics() async throws -> StorageStatistics {
        let database = self.database
        return try await run {
            func property(_ name: String) -> String {
                guard let value = rocksdb_property_value(database.db, name) else { return "" }
                defer { rocksdb_free(value) }
                return String(cString: value)
            }
            let names = [
                "rocksdb.estimate-num-keys", "rocksdb.total-sst-files-size", "rocksdb.cur-size-all-mem-tables",
                "rocksdb.estimate-live-data-size", "rocksdb.num-running-compactions", "rocksdb.num-running-flushes",
                "rocksdb.block-cache-usage", "rocksdb.num-snapshots",
            ]
            let properties = names.map { (name: $0, value: property($0)) }
            let sst = UInt64(property("rocksdb.total-sst-files-size")) ?? 0
            let memtables = UInt64(property("rocksdb.cur-size-all-mem-tables")) ?? 0
            return StorageStatistics(
                engine: "rocksdb",
                sizeBytes: sst + memtables,
                approximateKeys: UInt64(property("rocksdb.estimate-num-keys")) ?? 0,
                properties: properties
            )
        }
    }

    public func close() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        while inFlight.load(ordering: .acquiring) > 0 { try? await Task.sleep(for: .milliseconds(1)) }
        let database = self.database
        try await pool.runIfActive { database.close() }
        try await pool.shutdownGracefully()
    }
}

/// A RocksDB snapshot.
final class RocksDBSnapshot: StorageSnapshot, @unchecked Sendable {
    // @unchecked: `handle` is released once by `release`, by the snapshot's one owner;
    // reads go through the engine's thread pool.
    private let engine: RocksDBEngine
    private var handle: RocksDBSnapshotHandle?

    init(engine: RocksDBEngine, handle: RocksDBSnapshotHandle) {
        self.engine = engine
        self.handle = handle
    }

    private func currentHandle() throws -> RocksDBSnapshotHandle {
        guard let handle else { throw StorageError(.closed, "the snapshot was released") }
        return handle
    }

    func get(_ key: StorageBytes) async throws -> StorageBytes? {
        let handle = try currentHandle()
        if case .value(let value) = try engine.inline({
            try RocksDBEngine.cachedGet(handle.database.db, handle.cacheOnlyReadOptions, key)
        }) {
            return value
        }
        return try await engine.runBlocking { try RocksDBEngine.get(handle.database.db, handle.readOptions, key) }
    }

    func multiGet(_ keys: [StorageBytes]) async throws -> [StorageBytes?] {
        guard !keys.isEmpty else { return [] }
        let handle = try currentHandle()
        return try await engine.runBlocking { try RocksDBEngine.multiGet(handle.database.db, handle.readOptions, keys) }
    }

    func scan(_ range: KeyRange, direction: ScanDirection, limit: Int) async throws -> [KeyValue] {
        let handle = try currentHandle()
        return try await engine.runBlocking {
            let readOptions = rocksdb_readoptions_create()!
            defer { rocksdb_readoptions_destroy(readOptions) }
            rocksdb_readoptions_set_snapshot(readOptions, handle.snapshot)
            return try RocksDBEngine.scan(readOptions: readOptions, range: range, direction: direction, limit: limit) {
                rocksdb_create_iterator(handle.database.db, $0)
            }
        }
    }

    func release() {
        handle = nil
    }
}

/// An optimistic RocksDB transaction. Writes are buffered in Swift and handed to
/// RocksDB at commit, so that writing never blocks; point reads go through
/// GetForUpdate, so RocksDB checks them for conflicts at commit.
final class RocksDBTransaction: StorageTransaction, @unchecked Sendable {
    // @unchecked: a transaction belongs to the one task that runs it.
    private let engine: RocksDBEngine
    private var handle: RocksDBTransactionHandle?
    private var buffer = WriteBuffer()

    init(engine: RocksDBEngine, handle: RocksDBTransactionHandle) {
        self.engine = engine
        self.handle = handle
    }

    private func currentHandle() throws -> RocksDBTransactionHandle {
        guard let handle else { throw StorageError(.closed, "the transaction has ended") }
        return handle
    }

    func get(_ key: StorageBytes) async throws -> StorageBytes? {
        let handle = try currentHandle()
        if let local = buffer.lookup(key) { return local }
        let cached = try engine.inline {
            try key.withUnsafeBufferPointer { key in
                try cachedRead { error, length in
                    rocksdb_transaction_get_for_update(
                        handle.transaction,
                        handle.cacheOnlyReadOptions,
                        UnsafeRawPointer(key.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) },
                        key.count,
                        length,
                        1,
                        error
                    )
                }
            }
        }
        if case .value(let value) = cached { return value }
        return try await engine.runBlocking {
            var length = 0
            let value = try key.withUnsafeBufferPointer { key in
                try RocksDBErrors.check("reading") { error in
                    rocksdb_transaction_get_for_update(
                        handle.transaction,
                        handle.readOptions,
                        UnsafeRawPointer(key.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) },
                        key.count,
                        &length,
                        1,
                        error
                    )
                }
            }
            return takeValue(value, length: length)
        }
    }

    func scan(_ range: KeyRange, direction: ScanDirection, limit: Int) async throws -> [KeyValue] {
        let handle = try currentHandle()
        let engine = self.engine
        return try await buffer.mergedScan(range, direction: direction, limit: limit) { limit in
            try await engine.runBlocking {
                let readOptions = rocksdb_readoptions_create()!
                defer { rocksdb_readoptions_destroy(readOptions) }
                if let snapshot = rocksdb_transaction_get_snapshot(handle.transaction) {
                    rocksdb_readoptions_set_snapshot(readOptions, snapshot)
                    defer { rocksdb_free(UnsafeMutableRawPointer(snapshot)) }
                    return try RocksDBEngine.scan(
                        readOptions: readOptions,
                        range: range,
                        direction: direction,
                        limit: limit
                    ) {
                        rocksdb_transaction_create_iterator(handle.transaction, $0)
                    }
                }
                return try RocksDBEngine.scan(
                    readOptions: readOptions,
                    range: range,
                    direction: direction,
                    limit: limit
                ) {
                    rocksdb_transaction_create_iterator(handle.transaction, $0)
                }
            }
        }
    }

    func put(_ key: StorageBytes, _ value: StorageBytes) { buffer.put(key, value) }

    func delete(_ key: StorageBytes) { buffer.delete(key) }

    func commit(applied: () -> Void) async throws {
        let handle = try currentHandle()
        self.handle = nil
        let buffer = self.buffer
        try await engine.runBlocking {
            for (key, value) in buffer.entries {
                try key.withUnsafeBytes { key in
                    let keyPointer = key.baseAddress?.assumingMemoryBound(to: CChar.self)
                    if let value {
                        try value.withUnsafeBytes { value in
                            try RocksDBErrors.check("writing") { error in
                                rocksdb_transaction_put(
                                    handle.transaction,
                                    keyPointer,
                                    key.count,
                                    value.baseAddress?.assumingMemoryBound(to: CChar.self),
                                    value.count,
                                    error
                                )
                            }
                        }
                    } else {
                        try RocksDBErrors.check("deleting") { error in
                            rocksdb_transaction_delete(handle.transaction, keyPointer, key.count, error)
                        }
                    }
                }
            }
            try RocksDBErrors.check("committing") { error in rocksdb_transaction_commit(handle.transaction, error) }
        }
        applied()
        if !buffer.isEmpty { try await engine.committed() }
    }

    func rollback() {
        handle = nil
    }
}

/// Group commit: writers write without fsync, then wait here; one fsync of the WAL at
/// a time covers every write made before it started, and wakes all of their writers.
final class GroupCommitter: Sendable {
    private struct State {
        /// Tickets handed out (one per write waiting to be durable).
        var requested: UInt64 = 0
        /// Every ticket up to this one is durable.
        var durable: UInt64 = 0
        var syncing = false
        var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let state = Mutex(State())
    private let database: RocksDBDatabase
    private let pool: NIOThreadPool

    init(database: RocksDBDatabase, pool: NIOThreadPool) {
        self.database = database
        self.pool = pool
    }

    /// Returns once an fsync that started after this call has finished.
    func waitUntilDurable() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startSync = state.withLock { state -> Bool in
                state.requested += 1
                state.waiters.append((state.requested, continuation))
                guard !state.syncing else { return false }
                state.syncing = true
                return true
            }
            if startSync { syncLoop() }
        }
    }

    private func syncLoop() {
        let database = self.database
        pool.submit { [self] _ in
            while true {
                let target = state.withLock { $0.requested }
                var failure: (any Error)?
                do {
                    try RocksDBErrors.check("syncing the write-ahead log") { error in
                        rocksdb_flush_wal(database.db, 1, error)
                    }
                } catch {
                    failure = error
                }
                let ready = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
                    state.durable = max(state.durable, target)
                    let ready = state.waiters.filter { $0.ticket <= target }.map(\.continuation)
                    state.waiters.removeAll { $0.ticket <= target }
                    if state.requested == target { state.syncing = false }
                    return ready
                }
                for continuation in ready {
                    if let failure { continuation.resume(throwing: failure) } else { continuation.resume() }
                }
                if state.withLock({ !$0.syncing }) { return }
            }
        }
    }
}
