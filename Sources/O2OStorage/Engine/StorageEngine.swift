/// A key or a value: raw bytes, ordered byte-wise (shorter first on a common prefix).
public typealias StorageBytes = [UInt8]

/// One key and its value.
public struct KeyValue: Sendable, Hashable {
    public var key: StorageBytes
    public var value: StorageBytes

    public init(key: StorageBytes, value: StorageBytes) {
        self.key = key
        self.value = value
    }
}

/// A range of keys: `lower` inclusive, `upper` exclusive; nil is unbounded.
public struct KeyRange: Sendable, Hashable {
    public var lower: StorageBytes?
    public var upper: StorageBytes?

    public init(lower: StorageBytes? = nil, upper: StorageBytes? = nil) {
        self.lower = lower
        self.upper = upper
    }

    /// Every key that starts with `prefix`.
    public static func prefix(_ prefix: StorageBytes) -> KeyRange {
        KeyRange(lower: prefix, upper: successor(ofPrefix: prefix))
    }

    /// Every key.
    public static let all = KeyRange()

    /// The smallest key greater than every key starting with `prefix`; nil when there
    /// is none (the prefix is all 0xFF).
    public static func successor(ofPrefix prefix: StorageBytes) -> StorageBytes? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }

    public func contains(_ key: StorageBytes) -> Bool {
        if let lower, compareBytes(key, lower) < 0 { return false }
        if let upper, compareBytes(key, upper) >= 0 { return false }
        return true
    }
}

/// Which way a scan goes.
public enum ScanDirection: Sendable, Hashable {
    case forward
    case reverse
}

/// Writes applied together or not at all.
public struct WriteBatch: Sendable, Hashable {
    public enum Operation: Sendable, Hashable {
        case put(StorageBytes, StorageBytes)
        case delete(StorageBytes)
    }

    public private(set) var operations: [Operation] = []

    public init() {}

    public mutating func put(_ key: StorageBytes, _ value: StorageBytes) { operations.append(.put(key, value)) }
    public mutating func delete(_ key: StorageBytes) { operations.append(.delete(key)) }

    public var isEmpty: Bool { operations.isEmpty }
    public var count: Int { operations.count }
}

/// When an acknowledged write is durable.
public enum SyncPolicy: String, Sendable, Hashable, CaseIterable {
    /// Each commit is fsync'ed before it returns: survives a power loss.
    case always
    /// Commits from concurrent writers share one fsync, and return only after it:
    /// survives a power loss, at a fraction of the fsyncs.
    case group
    /// Commits reach the operating system but are not fsync'ed: survive a crash of the
    /// process, not of the machine.
    case none
}

/// Reads: what an engine, a snapshot and a transaction share.
public protocol StorageReader: Sendable {
    /// The value of a key, or nil.
    func get(_ key: StorageBytes) async throws -> StorageBytes?
    /// The values of several keys, in order.
    func multiGet(_ keys: [StorageBytes]) async throws -> [StorageBytes?]
    /// Up to `limit` entries in `range`, in key order (`.forward`) or reverse.
    func scan(_ range: KeyRange, direction: ScanDirection, limit: Int) async throws -> [KeyValue]
}

extension StorageReader {
    public func multiGet(_ keys: [StorageBytes]) async throws -> [StorageBytes?] {
        var values: [StorageBytes?] = []
        values.reserveCapacity(keys.count)
        for key in keys { values.append(try await get(key)) }
        return values
    }

    /// Entries whose keys start with `prefix`.
    public func scan(prefix: StorageBytes, direction: ScanDirection = .forward, limit: Int) async throws -> [KeyValue] {
        try await scan(.prefix(prefix), direction: direction, limit: limit)
    }
}

/// A consistent, read-only view of the engine at one moment.
public protocol StorageSnapshot: StorageReader {
    /// Frees the snapshot; reads afterwards fail.
    func release()
}

/// An optimistic transaction: reads see one snapshot plus the transaction's own
/// writes; keys it read (point reads) or wrote are checked at commit, and if another
/// commit changed one of them since the transaction began, `commit` throws a
/// `StorageError` with code `.conflict` and nothing is written.
///
/// Range scans inside a transaction are not checked for conflicts (no phantom
/// protection): guard invariants with point reads of the keys that hold them.
public protocol StorageTransaction: StorageReader, AnyObject {
    func put(_ key: StorageBytes, _ value: StorageBytes)
    func delete(_ key: StorageBytes)
    /// Applies every write atomically, or throws `.conflict` and applies none. Once
    /// the writes are applied — visible to every later read — `applied` runs; then the
    /// call waits until they are as durable as the engine's sync policy promises.
    /// Callers that serialise work on the same data can let the next one in from
    /// `applied` instead of after the fsync: the log is sequential, so a later commit
    /// is never durable without the earlier ones.
    func commit(applied: () -> Void) async throws
    /// Drops the writes. A transaction that is neither committed nor rolled back is
    /// rolled back when released.
    func rollback()
}

/// An ordered key-value store: the seam between the record layer and an engine
/// (RocksDB on disk, memory for tests; later a networked database).
///
/// Every method may be called concurrently. Engines never run blocking work on the
/// caller's thread.
public protocol StorageEngine: StorageReader {
    /// Applies the batch atomically.
    func write(_ batch: WriteBatch) async throws
    /// A consistent view of this moment.
    func snapshot() async throws -> any StorageSnapshot
    /// A new optimistic transaction.
    func beginTransaction() async throws -> any StorageTransaction
    /// Writes an online backup into `directory`, which must not exist.
    func checkpoint(to directory: String) async throws
    /// Approximate bytes the keys of `range` take on disk (0 for memory).
    func approximateSize(of range: KeyRange) async throws -> UInt64
    /// Engine figures for the admin service.
    func statistics() async throws -> StorageStatistics
    /// Flushes and closes; later calls fail with `.closed`.
    func close() async throws
}

/// What an engine reports about itself.
public struct StorageStatistics: Sendable, Hashable {
    /// "rocksdb" or "memory".
    public var engine: String
    /// Approximate bytes on disk.
    public var sizeBytes: UInt64
    /// Approximate number of keys.
    public var approximateKeys: UInt64
    /// Engine-specific figures by name.
    public var properties: [(name: String, value: String)]

    public init(engine: String, sizeBytes: UInt64, approximateKeys: UInt64, properties: [(name: String, value: String)])
    {
        self.engine = engine
        self.sizeBytes = sizeBytes
        self.approximateKeys = approximateKeys
        self.properties = properties
    }

    public static func == (lhs: StorageStatistics, rhs: StorageStatistics) -> Bool {
        lhs.engine == rhs.engine && lhs.sizeBytes == rhs.sizeBytes && lhs.approximateKeys == rhs.approximateKeys
            && lhs.properties.map(\.name) == rhs.properties.map(\.name)
            && lhs.properties.map(\.value) == rhs.properties.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(engine)
        hasher.combine(sizeBytes)
        hasher.combine(approximateKeys)
    }
}

extension StorageEngine {
    /// Runs `body` in a transaction and commits it; on a conflict, starts over with a
    /// new transaction, up to `maxAttempts` times, backing off in between.
    /// - Throws: what `body` throws (after rolling back), or the last conflict.
    public func withTransaction<Result: Sendable>(
        maxAttempts: Int = 10,
        applied: () -> Void = {},
        _ body: (any StorageTransaction) async throws -> Result
    ) async throws -> Result {
        var attempt = 1
        while true {
            let transaction = try await beginTransaction()
            let result: Result
            do {
                result = try await body(transaction)
            } catch {
                transaction.rollback()
                throw error
            }
            do {
                try await transaction.commit(applied: applied)
                return result
            } catch let error as StorageError where error.code == .conflict && attempt < maxAttempts {
                // Exponential backoff with jitter: 0.1 ms, 0.2 ms, … capped at 20 ms.
                let ceiling = min(20_000, 100 << min(attempt, 8))
                try await Task.sleep(for: .microseconds(Int.random(in: ceiling / 2...ceiling)))
                attempt += 1
            }
        }
    }
}

extension StorageTransaction {
    /// Commits and waits for durability.
    public func commit() async throws { try await commit(applied: {}) }
}

/// Byte-wise comparison: negative, zero or positive.
@inline(__always)
public func compareBytes(_ lhs: StorageBytes, _ rhs: StorageBytes) -> Int {
    lhs.withUnsafeBufferPointer { left in
        rhs.withUnsafeBufferPointer { right in
            let common = min(left.count, right.count)
            if common > 0 {
                let result = memcmp(left.baseAddress!, right.baseAddress!, common)
                if result != 0 { return Int(result) }
            }
            return left.count - right.count
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
