internal import CRocksDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Turns RocksDB's error out-parameter (a malloc'ed string, or NULL) into a thrown
/// `StorageError`, freeing the string. The one place RocksDB's error text is read.
enum RocksDBErrors {
    /// Runs `body` with an error slot and throws what RocksDB put there.
    static func check<Result>(
        _ what: String,
        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Result
    ) throws(StorageError) -> Result {
        var error: UnsafeMutablePointer<CChar>?
        let result = body(&error)
        if let error {
            let text = String(cString: error)
            rocksdb_free(error)
            throw classify(text, while: what)
        }
        return result
    }

    static func classify(_ text: String, while what: String) -> StorageError {
        if text.hasPrefix("Resource busy") {
            return StorageError(.conflict, "a concurrent transaction changed the same data", detail: text)
        }
        if text.contains("While lock file") || text.contains("lock hold by current process") {
            return StorageError(.locked, "the data directory is in use by another process", detail: text)
        }
        if text.hasPrefix("Operation timed out") || text.hasPrefix("Timed out") {
            return StorageError(.timedOut, "the store timed out while \(what)", detail: text)
        }
        if text.hasPrefix("Corruption") {
            return StorageError(.corruption, "the store found corrupt data while \(what)", detail: text)
        }
        if text.hasPrefix("Invalid argument") {
            return StorageError(.invalidArgument, "the store refused an argument while \(what)", detail: text)
        }
        return StorageError(.io, "the store failed while \(what)", detail: text)
    }
}

/// Owns the RocksDB options, table options and cache of one database.
final class RocksDBOptions: @unchecked Sendable {
    // @unchecked: the handles are created once and only read after; RocksDB's option
    // objects are safe to share read-only.
    let options: OpaquePointer
    private let tableOptions: OpaquePointer
    private let cache: OpaquePointer

    init(cacheBytes: Int) {
        options = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_increase_parallelism(options, 2)
        // Block compression with zstd: retail records are text-heavy and compress well.
        rocksdb_options_set_compression(options, Int32(rocksdb_zstd_compression))
        tableOptions = rocksdb_block_based_options_create()
        // Few, large cache shards: a block bigger than a shard's share cannot stay in
        // the cache and is read from disk on every access.
        let cacheOptions = rocksdb_lru_cache_options_create()
        rocksdb_lru_cache_options_set_capacity(cacheOptions, cacheBytes)
        rocksdb_lru_cache_options_set_num_shard_bits(cacheOptions, 4)
        cache = rocksdb_cache_create_lru_opts(cacheOptions)
        rocksdb_lru_cache_options_destroy(cacheOptions)
        rocksdb_block_based_options_set_block_cache(tableOptions, cache)
        // Whole-key bloom filters: point reads of keys that do not exist (unique index
        // probes, idempotency keys) skip the data blocks. The policy is owned by the
        // table options from here on.
        rocksdb_block_based_options_set_filter_policy(tableOptions, rocksdb_filterpolicy_create_bloom(10))
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(tableOptions, 1)
        // Filters and indexes in 4 KiB partitions under a small pinned top level: a big
        // file's filter would otherwise be one block of megabytes, evicted and read
        // again (with its checksum) by every point read — measured as 2 ms per
        // reservation on a hot SKU before this.
        rocksdb_block_based_options_set_partition_filters(tableOptions, 1)
        rocksdb_block_based_options_set_index_type(tableOptions, 2)  // kTwoLevelIndexSearch
        rocksdb_block_based_options_set_metadata_block_size(tableOptions, 4096)
        rocksdb_block_based_options_set_pin_top_level_index_and_filter(tableOptions, 1)
        rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(tableOptions, 1)
        rocksdb_options_set_block_based_table_factory(options, tableOptions)
    }

    deinit {
        rocksdb_options_destroy(options)
        rocksdb_block_based_options_destroy(tableOptions)
        rocksdb_cache_destroy(cache)
    }
}

/// Owns an open optimistic-transaction database and its base-database view.
final class RocksDBDatabase: @unchecked Sendable {
    // @unchecked: RocksDB database handles are thread-safe; `close` is called once, by
    // the engine, after it has stopped handing the handle to new operations.
    let transactionDB: OpaquePointer
    let db: OpaquePointer
    let options: RocksDBOptions
    let readOptions: OpaquePointer
    /// Reads that may only use the memtables and the block cache: they never wait for
    /// the disk, so they can run on the caller's thread (see `RocksDBEngine.get`).
    let cacheOnlyReadOptions: OpaquePointer
    /// sync = 1: every commit fsync'ed.
    let syncWriteOptions: OpaquePointer
    /// sync = 0: to the operating system only.
    let asyncWriteOptions: OpaquePointer
    let transactionOptions: OpaquePointer
    private var closed = false

    init(path: String, options: RocksDBOptions) throws(StorageError) {
        self.options = options
        let handle = try RocksDBErrors.check("opening \(path)") { error in
            rocksdb_optimistictransactiondb_open(options.options, path, error)
        }
        guard let handle else { throw StorageError(.io, "could not open the store at \(path)") }
        transactionDB = handle
        db = rocksdb_optimistictransactiondb_get_base_db(handle)
        readOptions = rocksdb_readoptions_create()
        cacheOnlyReadOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_read_tier(cacheOnlyReadOptions, 1)  // kBlockCacheTier
        syncWriteOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(syncWriteOptions, 1)
        asyncWriteOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(asyncWriteOptions, 0)
        transactionOptions = rocksdb_optimistictransaction_options_create()
        rocksdb_optimistictransaction_options_set_set_snapshot(transactionOptions, 1)
    }

    func close() {
        guard !closed else { return }
        closed = true
        rocksdb_optimistictransactiondb_close_base_db(db)
        rocksdb_optimistictransactiondb_close(transactionDB)
    }

    deinit {
        close()
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_readoptions_destroy(cacheOnlyReadOptions)
        rocksdb_writeoptions_destroy(syncWriteOptions)
        rocksdb_writeoptions_destroy(asyncWriteOptions)
        rocksdb_optimistictransaction_options_destroy(transactionOptions)
    }
}

/// Owns a RocksDB snapshot.
final class RocksDBSnapshotHandle: @unchecked Sendable {
    // @unchecked: a snapshot handle is immutable; release happens once, guarded by the
    // owner.
    let database: RocksDBDatabase
    let snapshot: OpaquePointer
    let readOptions: OpaquePointer
    let cacheOnlyReadOptions: OpaquePointer

    init(database: RocksDBDatabase) {
        self.database = database
        snapshot = rocksdb_create_snapshot(database.db)
        readOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_snapshot(readOptions, snapshot)
        cacheOnlyReadOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_snapshot(cacheOnlyReadOptions, snapshot)
        rocksdb_readoptions_set_read_tier(cacheOnlyReadOptions, 1)
    }

    deinit {
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_readoptions_destroy(cacheOnlyReadOptions)
        rocksdb_release_snapshot(database.db, snapshot)
    }
}

/// Owns an optimistic transaction.
final class RocksDBTransactionHandle: @unchecked Sendable {
    // @unchecked: a transaction is driven by one task at a time; RocksDB calls on it
    // run one after another on the storage thread pool.
    let database: RocksDBDatabase
    let transaction: OpaquePointer
    /// Reads of the transaction see its snapshot.
    let readOptions: OpaquePointer
    /// The same, from the memtables and block cache only.
    let cacheOnlyReadOptions: OpaquePointer
    private let snapshot: OpaquePointer?

    init(database: RocksDBDatabase, sync: Bool) {
        self.database = database
        transaction = rocksdb_optimistictransaction_begin(
            database.transactionDB,
            sync ? database.syncWriteOptions : database.asyncWriteOptions,
            database.transactionOptions,
            nil
        )
        readOptions = rocksdb_readoptions_create()
        cacheOnlyReadOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_read_tier(cacheOnlyReadOptions, 1)
        snapshot = rocksdb_transaction_get_snapshot(transaction)
        if let snapshot {
            rocksdb_readoptions_set_snapshot(readOptions, snapshot)
            rocksdb_readoptions_set_snapshot(cacheOnlyReadOptions, snapshot)
        }
    }

    deinit {
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_readoptions_destroy(cacheOnlyReadOptions)
        if let snapshot { rocksdb_free(UnsafeMutableRawPointer(snapshot)) }
        rocksdb_transaction_destroy(transaction)
    }
}

/// Copies RocksDB's malloc'ed value into Swift and frees it.
func takeValue(_ pointer: UnsafeMutablePointer<CChar>?, length: Int) -> StorageBytes? {
    guard let pointer else { return nil }
    defer { rocksdb_free(pointer) }
    return StorageBytes(UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: length))
}

/// The result of a read that may only use memory.
enum CachedRead {
    case value(StorageBytes?)
    /// The data is not in memory: read it on the thread pool.
    case needsDisk
}

/// Runs a cache-only read; "Result incomplete" means the data is on disk only.
func cachedRead(
    _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, UnsafeMutablePointer<Int>) -> UnsafeMutablePointer<
        CChar
    >?
) throws(StorageError) -> CachedRead {
    var error: UnsafeMutablePointer<CChar>?
    var length = 0
    let value = body(&error, &length)
    if let error {
        let text = String(cString: error)
        rocksdb_free(error)
        if text.hasPrefix("Result incomplete") { return .needsDisk }
        throw RocksDBErrors.classify(text, while: "reading")
    }
    return .value(takeValue(value, length: length))
}
