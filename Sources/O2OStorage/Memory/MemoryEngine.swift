import Synchronization

/// An in-memory engine with the same semantics as the RocksDB engine: atomic
/// batches, snapshots, optimistic transactions with conflict detection. For tests and
/// throwaway runs; nothing survives the process.
public final class MemoryEngine: StorageEngine {
    struct State {
        var root: TreapNode?
        var keyCount = 0
        /// Commits so far; each transaction's snapshot is a sequence number.
        var sequence: UInt64 = 0
        /// The sequence of the last commit that wrote each key, for conflict checks.
        var lastWrite: [StorageBytes: UInt64] = [:]
        /// Snapshot sequences of open transactions, with counts.
        var openTransactions: [UInt64: Int] = [:]
        var closed = false
        var random: UInt64 = 0x9e37_79b9_7f4a_7c15

        mutating func nextPriority() -> UInt64 {
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            return random
        }

        mutating func apply(_ operations: [WriteBatch.Operation]) {
            for operation in operations {
                switch operation {
                case .put(let key, let value):
                    if Treap.get(root, key) == nil { keyCount += 1 }
                    root = Treap.insert(root, key, value, priority: nextPriority())
                case .delete(let key):
                    if Treap.get(root, key) != nil { keyCount -= 1 }
                    root = Treap.remove(root, key)
                }
            }
        }

        /// Forgets write sequences no open transaction can conflict with any more.
        mutating func pruneWrites() {
            guard let oldest = openTransactions.keys.min() else {
                lastWrite.removeAll(keepingCapacity: true)
                return
            }
            if lastWrite.count > 4096 { lastWrite = lastWrite.filter { $0.value > oldest } }
        }
    }

    let state = Mutex(State())

    public init() {}

    private func checkOpen(_ state: State) throws {
        if state.closed { throw StorageError(.closed, "the store is closed") }
    }

    public func get(_ key: StorageBytes) async throws -> StorageBytes? {
        try state.withLock { state in
            try checkOpen(state)
            return Treap.get(state.root, key)
        }
    }

    public func scan(_ range: KeyRange, direction: ScanDirection, limit: Int) async throws -> [KeyValue] {
        let root = try state.withLock { state in
            try checkOpen(state)
            return state.root
        }
        return Treap.scan(root, range, direction: direction, limit: limit)
    }

    public func write(_ batch: WriteBatch) async throws {
        try state.withLock { state in
            try checkOpen(state)
            state.apply(batch.operations)
            state.sequence += 1
            let sequence = state.sequence
            for operation in batch.operations {
                switch operation {
                case .put(let key, _), .delete(let key): state.lastWrite[key] = sequence
                }
            }
            state.pruneWrites()
        }
    }

    public func snapshot() async throws -> any StorageSnapshot {
        let root = try state.withLock { state in
            try checkOpen(state)
            return state.root
        }
        return MemorySnapshot(root: root)
    }

    public func beginTransaction() async throws -> any StorageTransaction {
        let (root, sequence) = try state.withLock { state in
            try checkOpen(state)
            state.openTransactions[state.sequence, default: 0] += 1
            return (state.root, state.sequence)
        }
        return MemoryTransaction(engine: self, root: root, sequence: sequence)
    }

    public func checkpoint(to directory: String) async throws {
        throw StorageError(.invalidArgument, "the memory store cannot take backups: nothing of it is on disk")
    }

    public func approximateSize(of range: KeyRange) async throws -> UInt64 { 0 }

    public func statistics() async throws -> StorageStatistics {
        let keys = state.withLock { $0.keyCount }
        return StorageStatistics(
            engine: "memory",
            sizeBytes: 0,
            approximateKeys: UInt64(keys),
            properties: [("keys", "\(keys)")]
        )
    }

    public func close() async throws {
        state.withLock { $0.closed = true }
    }

    /// A transaction ended: it no longer holds back pruning.
    func transactionEnded(sequence: UInt64) {
        state.withLock { state in
            if let count = state.openTransactions[sequence] {
                state.openTransactions[sequence] = count == 1 ? nil : count - 1
            }
        }
    }
}

/// A view of the engine at one moment: a reference to the root of that moment.
final class MemorySnapshot: StorageSnapshot, @unchecked Sendable {
    // @unchecked: `released` is only a guard against use after release by the single
    // owner; the tree itself is immutable and Sendable.
    private let root: TreapNode?
    private var released = false

    init(root: TreapNode?) {
        self.root = root
    }

    func get(_ key: StorageBytes) async throws -> StorageBytes? {
        guard !released else { throw StorageError(.closed, "the snapshot was released") }
        return Treap.get(root, key)
    }

    func scan(_ range: KeyRange, direction: ScanDirection, limit: Int) async throws -> [KeyValue] {
        guard !released else { throw StorageError(.closed, "the snapshot was released") }
        return Treap.scan(root, range, direction: direction, limit: limit)
    }

    func release() { released = true }
}

/// An optimistic transaction over a snapshot root, with buffered writes.
final class MemoryTransaction: StorageTransaction, @unchecked Sendable {
    // @unchecked: a transaction belongs to the one task that runs it; the engine it
    // commits into is protected by its own mutex.
    private let engine: MemoryEngine
    private let root: TreapNode?
    private let sequence: UInt64
    private var buffer = WriteBuffer()
    private var reads = Set<StorageBytes>()
    private var finished = false

    init(engine: MemoryEngine, root: TreapNode?, sequence: UInt64) {
        self.engine = engine
        self.root = root
        self.sequence = sequence
    }

    deinit {
        if !finished { engine.transactionEnded(sequence: sequence) }
    }

    private func checkOpen() throws {
        if finished { throw StorageError(.closed, "the transaction has ended") }
    }

    func get(_ key: StorageBytes) async throws -> StorageBytes? {
        try checkOpen()
        if let local = buffer.lookup(key) { return local }
        reads.insert(key)
        return Treap.get(root, key)
    }

    func scan(_ range: KeyRange, direction: ScanDirection, limit: Int) async throws -> [KeyValue] {
        try checkOpen()
        let root = self.root
        return try await buffer.mergedScan(range, direction: direction, limit: limit) { limit in
            Treap.scan(root, range, direction: direction, limit: limit)
        }
    }

    func put(_ key: StorageBytes, _ value: StorageBytes) { buffer.put(key, value) }

    func delete(_ key: StorageBytes) { buffer.delete(key) }

    func commit(applied: () -> Void) async throws {
        try checkOpen()
        finished = true
        let sequence = self.sequence
        let buffer = self.buffer
        let reads = self.reads
        try engine.state.withLock { state in
            if let count = state.openTransactions[sequence] {
                state.openTransactions[sequence] = count == 1 ? nil : count - 1
            }
            if state.closed { throw StorageError(.closed, "the store is closed") }
            for key in reads.union(buffer.entries.keys) where (state.lastWrite[key] ?? 0) > sequence {
                throw StorageError(.conflict, "a concurrent transaction changed the same data")
            }
            guard !buffer.isEmpty else { return }
            let operations: [WriteBatch.Operation] = buffer.entries.map { key, value in
                if let value { .put(key, value) } else { .delete(key) }
            }
            state.apply(operations)
            state.sequence += 1
            for key in buffer.entries.keys { state.lastWrite[key] = state.sequence }
            state.pruneWrites()
        }
        applied()
    }

    func rollback() {
        guard !finished else { return }
        finished = true
        engine.transactionEnded(sequence: sequence)
    }
}
