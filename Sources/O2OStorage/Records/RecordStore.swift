public import O2OProtobuf

/// A page of records and the token for the next one.
public struct RecordPage<Record: O2OMessage>: Sendable {
    public var records: [Record]
    /// Empty on the last page.
    public var nextPageToken: String

    public init(records: [Record], nextPageToken: String) {
        self.records = records
        self.nextPageToken = nextPageToken
    }
}

/// Which part of a table a list call reads, and how.
public struct RecordQuery<Record: O2OMessage>: Sendable {
    /// Read through this index; nil reads by primary key.
    public var index: RecordIndex<Record>?
    /// Only keys (of the index, or primary keys) that start with these parts.
    public var prefix: KeyTuple
    /// Only keys from here (inclusive)...
    public var lowerBound: KeyTuple?
    /// ...up to here (exclusive), within the prefix.
    public var upperBound: KeyTuple?
    public var direction: ScanDirection
    /// Records per page, at least 1.
    public var pageSize: Int
    /// The previous page's token; nil or empty for the first page.
    public var pageToken: String?
    /// The call's other filters, so a token only works with the same ones.
    public var filters: [String]
    /// Keeps only records for which it returns true (after the key range).
    public var predicate: (@Sendable (Record) -> Bool)?
    /// Most entries one call examines before it returns a shorter page (with a token
    /// to go on), so a selective predicate cannot make a call unbounded.
    public var examineLimit: Int

    public init(
        index: RecordIndex<Record>? = nil,
        prefix: KeyTuple = [],
        lowerBound: KeyTuple? = nil,
        upperBound: KeyTuple? = nil,
        direction: ScanDirection = .forward,
        pageSize: Int,
        pageToken: String? = nil,
        filters: [String] = [],
        predicate: (@Sendable (Record) -> Bool)? = nil,
        examineLimit: Int = 10_000
    ) {
        self.index = index
        self.prefix = prefix
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        self.direction = direction
        self.pageSize = max(1, pageSize)
        self.pageToken = pageToken
        self.filters = filters
        self.predicate = predicate
        self.examineLimit = examineLimit
    }
}

/// Reads of records: what a snapshot read and a transaction share.
public protocol RecordReading {
    var storage: any StorageReader { get }
}

extension RecordReading {
    /// How many entries of `index` start with `prefix`, at most `limit`: a scan of
    /// the index keys only, no record is read or decoded.
    public func count<Record>(
        _ table: RecordTable<Record>,
        _ index: RecordIndex<Record>,
        prefix: KeyTuple,
        limit: Int
    ) async throws -> Int {
        var range = KeyRange.prefix(table.indexPrefix(index) + prefix.encoded)
        var total = 0
        while total < limit {
            let wanted = min(1_000, limit - total)
            let batch = try await storage.scan(range, direction: .forward, limit: wanted)
            total += batch.count
            guard batch.count == wanted, let last = batch.last else { break }
            range.lower = last.key + [0]
        }
        return total
    }

    /// The record with this primary key.
    public func get<Record>(_ table: RecordTable<Record>, _ key: KeyTuple) async throws -> Record? {
        guard let bytes = try await storage.get(table.recordKey(key)) else { return nil }
        return try Record(serializedBytes: bytes)
    }

    /// The records with these primary keys, in order (nil where missing).
    public func get<Record>(_ table: RecordTable<Record>, _ keys: [KeyTuple]) async throws -> [Record?] {
        let values = try await storage.multiGet(keys.map { table.recordKey($0) })
        return try values.map { try $0.map { try Record(serializedBytes: $0) } }
    }

    /// The record a unique index entry points at.
    public func lookup<Record>(
        _ table: RecordTable<Record>,
        _ index: RecordIndex<Record>,
        _ key: KeyTuple
    ) async throws -> Record? {
        precondition(index.unique, "lookup needs a unique index; \(index.name) is not")
        let entry = table.indexEntry(index, key, primaryKey: [])
        guard let primaryKey = try await storage.get(entry.key) else { return nil }
        guard let bytes = try await storage.get(table.recordPrefix + primaryKey) else { return nil }
        return try Record(serializedBytes: bytes)
    }

    /// A page of records.
    public func page<Record>(
        _ table: RecordTable<Record>,
        _ query: RecordQuery<Record>
    ) async throws -> RecordPage<Record> {
        let prefix = (query.index.map { table.indexPrefix($0) } ?? table.recordPrefix) + query.prefix.encoded
        var range = KeyRange.prefix(prefix)
        if let lower = query.lowerBound { range.lower = prefix + lower.encoded }
        if let upper = query.upperBound { range.upper = prefix + upper.encoded }
        let filterHash = PageTokens.filterHash(
            [table.name, query.index?.name ?? ""] + query.filters + ["\(query.direction)"]
        )
        if let token = query.pageToken, !token.isEmpty {
            let last = try PageTokens.lastKey(from: token, filterHash: filterHash, subject: table.name)
            guard range.contains(last) else {
                throw RecordError(.invalidPageToken, "the page token was issued for other filters", subject: table.name)
            }
            switch query.direction {
            case .forward: range.lower = last + [0]
            case .reverse: range.upper = last
            }
        }
        var records: [Record] = []
        var examined = 0
        var lastKey: [UInt8]?
        var rangeExhausted = false
        var consumedWholeChunk = true
        while records.count < query.pageSize, examined < query.examineLimit, !rangeExhausted {
            let wanted = max(query.pageSize - records.count, 16) * (query.predicate == nil ? 1 : 4)
            let chunk = min(wanted, query.examineLimit - examined)
            let entries = try await storage.scan(range, direction: query.direction, limit: chunk)
            rangeExhausted = entries.count < chunk
            let found: [Record?]
            if query.index == nil {
                found = try entries.map { try Record(serializedBytes: $0.value) }
            } else {
                let keys = entries.map { table.recordPrefix + $0.value }
                found = try await storage.multiGet(keys).map { try $0.map { try Record(serializedBytes: $0) } }
            }
            consumedWholeChunk = true
            for (offset, (entry, record)) in zip(entries, found).enumerated() {
                examined += 1
                lastKey = entry.key
                if let record, query.predicate?(record) ?? true {
                    records.append(record)
                    if records.count == query.pageSize {
                        consumedWholeChunk = offset == entries.count - 1
                        break
                    }
                }
            }
            guard let last = lastKey else { break }
            switch query.direction {
            case .forward: range.lower = last + [0]
            case .reverse: range.upper = last
            }
        }
        // A token whenever entries may remain: the page filled, or the examine limit
        // was reached, before the range ran dry.
        let hasMore = !(rangeExhausted && consumedWholeChunk)
        let token = hasMore ? lastKey.map { PageTokens.make(lastKey: $0, filterHash: filterHash) } ?? "" : ""
        return RecordPage(records: records, nextPageToken: token)
    }
}

/// Snapshot reads: consistent, never conflicting.
public struct RecordSnapshotReader: RecordReading {
    public let storage: any StorageReader
}

/// One atomic unit of record work: reads see a snapshot plus the transaction's own
/// writes; records and their index entries are written together at commit, or not at
/// all. Point reads and all writes are checked for conflicts with concurrent commits.
public final class RecordTransaction: RecordReading {
    private let transaction: any StorageTransaction
    public var storage: any StorageReader { transaction }

    init(transaction: any StorageTransaction) {
        self.transaction = transaction
    }

    /// Adds a record; refuses one whose primary key or unique index key is taken.
    public func insert<Record>(_ table: RecordTable<Record>, _ record: Record) async throws {
        let primaryKey = table.primaryKey(record)
        let key = table.recordKey(primaryKey)
        guard try await transaction.get(key) == nil else {
            throw RecordError(
                .alreadyExists,
                "\(table.name): a record with this key exists already",
                subject: table.name
            )
        }
        try await writeIndexEntries(table, record, primaryKey: primaryKey, except: [])
        transaction.put(key, record.serializedBytes())
    }

    /// Replaces an existing record, moving its index entries.
    public func update<Record>(_ table: RecordTable<Record>, _ record: Record) async throws {
        let primaryKey = table.primaryKey(record)
        let key = table.recordKey(primaryKey)
        guard let oldBytes = try await transaction.get(key) else {
            throw RecordError(.notFound, "\(table.name): no record with this key", subject: table.name)
        }
        let old = try Record(serializedBytes: oldBytes)
        let oldEntries = indexEntries(table, old, primaryKey: primaryKey)
        let newEntries = indexEntries(table, record, primaryKey: primaryKey)
        let keep = Set(oldEntries.map(\.key)).intersection(newEntries.map(\.key))
        for entry in oldEntries where !keep.contains(entry.key) { transaction.delete(entry.key) }
        try await writeIndexEntries(table, record, primaryKey: primaryKey, except: keep)
        transaction.put(key, record.serializedBytes())
    }

    /// Inserts or updates.
    public func save<Record>(_ table: RecordTable<Record>, _ record: Record) async throws {
        if try await transaction.get(table.recordKey(table.primaryKey(record))) == nil {
            try await insert(table, record)
        } else {
            try await update(table, record)
        }
    }

    /// Removes a record and its index entries; returns it, or nil when there was none.
    @discardableResult
    public func delete<Record>(_ table: RecordTable<Record>, _ primaryKey: KeyTuple) async throws -> Record? {
        let key = table.recordKey(primaryKey)
        guard let bytes = try await transaction.get(key) else { return nil }
        let old = try Record(serializedBytes: bytes)
        for entry in indexEntries(table, old, primaryKey: primaryKey) { transaction.delete(entry.key) }
        transaction.delete(key)
        return old
    }

    private func indexEntries<Record>(
        _ table: RecordTable<Record>,
        _ record: Record,
        primaryKey: KeyTuple
    ) -> [(key: [UInt8], value: [UInt8], index: RecordIndex<Record>, indexKey: KeyTuple)] {
        table.indexes.flatMap { index in
            index.keys(record).map { indexKey in
                let entry = table.indexEntry(index, indexKey, primaryKey: primaryKey)
                return (entry.key, index.unique ? entry.value : primaryKey.encoded, index, indexKey)
            }
        }
    }

    private func writeIndexEntries<Record>(
        _ table: RecordTable<Record>,
        _ record: Record,
        primaryKey: KeyTuple,
        except existing: Set<[UInt8]>
    ) async throws {
        for entry in indexEntries(table, record, primaryKey: primaryKey) where !existing.contains(entry.key) {
            if entry.index.unique, let holder = try await transaction.get(entry.key), holder != primaryKey.encoded {
                throw RecordError(
                    .alreadyExists,
                    "\(table.name).\(entry.index.name): \(Self.describe(entry.indexKey)) is taken by another record",
                    subject: "\(table.name).\(entry.index.name)"
                )
            }
            transaction.put(entry.key, entry.value)
        }
    }

    static func describe(_ key: KeyTuple) -> String {
        key.parts.map { part in
            switch part {
            case .string(let text): "'\(text)'"
            case .int(let value): "\(value)"
            case .uint(let value): "\(value)"
            case .bytes(let bytes): "<\(bytes.count) bytes>"
            }
        }.joined(separator: ", ")
    }

    /// The raw key prefixes the record layer itself writes, besides tables.
    public static let reservedPrefixes: [(prefix: [UInt8], what: String)] = [
        ([0x20], "remembered answers by request id"), ([0x21], "named counters"),
    ]

    // MARK: - Idempotency keys

    private static func idempotencyKey(scope: String, requestID: String) -> [UInt8] {
        [0x20] + KeyTuple([.string(scope), .string(requestID)]).encoded
    }

    /// The response stored for a request id by `rememberResult`, if any. A request id
    /// reused with a different request is an error: retries must send the same request.
    /// - Parameters:
    ///   - scope: The method ("/o2o.catalog.v1.CatalogService/CreateProduct").
    ///   - request: The request, whose encoding is compared with the first one's.
    public func rememberedResult<Response: O2OMessage>(
        scope: String,
        requestID: String,
        request: some O2OMessage,
        as type: Response.Type
    ) async throws -> Response? {
        guard let stored = try await transaction.get(Self.idempotencyKey(scope: scope, requestID: requestID)) else {
            return nil
        }
        guard stored.count >= 8 else { return nil }
        let fingerprint = Self.fingerprint(request.serializedBytes())
        guard Array(stored.prefix(8)) == fingerprint else {
            throw RecordError(
                .alreadyExists,
                "request_id '\(requestID)' was already used for a different request",
                subject: "request_id"
            )
        }
        return try Response(serializedBytes: Array(stored.dropFirst(8)))
    }

    /// Stores the response for a request id, in this transaction.
    public func rememberResult(scope: String, requestID: String, request: some O2OMessage, response: some O2OMessage) {
        transaction.put(
            Self.idempotencyKey(scope: scope, requestID: requestID),
            Self.fingerprint(request.serializedBytes()) + response.serializedBytes()
        )
    }

    private static func fingerprint(_ bytes: [UInt8]) -> [UInt8] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return (0..<8).map { UInt8(truncatingIfNeeded: hash >> UInt64(56 - 8 * $0)) }
    }

    // MARK: - Counters

    /// The next value of a named counter (1, 2, …), in this transaction. Concurrent
    /// transactions that take from the same counter conflict, and one retries.
    public func nextValue(of counter: String) async throws -> Int64 {
        let key: [UInt8] = [0x21] + KeyTuple.string(counter).encoded
        var value: Int64 = 0
        if let stored = try await transaction.get(key), stored.count == 8 {
            for byte in stored { value = value << 8 | Int64(byte) }
        }
        value += 1
        transaction.put(key, (0..<8).map { UInt8(truncatingIfNeeded: value >> Int64(56 - 8 * $0)) })
        return value
    }

    /// Raw key-value access for what is not a record (markers, cursors).
    public func putRaw(_ key: [UInt8], _ value: [UInt8]) { transaction.put(key, value) }
    public func getRaw(_ key: [UInt8]) async throws -> [UInt8]? { try await transaction.get(key) }
    public func deleteRaw(_ key: [UInt8]) { transaction.delete(key) }
}

/// Typed tables over a storage engine.
public final class RecordStore: Sendable {
    public let engine: any StorageEngine

    public init(engine: any StorageEngine) {
        self.engine = engine
    }

    /// Runs `body` in a transaction and commits it; starts over on a conflict, up to
    /// `maxAttempts` times. Everything `body` writes is one atomic commit.
    /// - Parameter applied: Runs once the writes are visible, before the wait for
    ///   durability (see `StorageTransaction.commit(applied:)`).
    public func transaction<Result: Sendable>(
        maxAttempts: Int = 10,
        applied: () -> Void = {},
        _ body: (RecordTransaction) async throws -> Result
    ) async throws -> Result {
        try await engine.withTransaction(maxAttempts: maxAttempts, applied: applied) { transaction in
            try await body(RecordTransaction(transaction: transaction))
        }
    }

    /// Reads of the latest committed data, each read on its own (no snapshot): the
    /// cheapest way to read one record, or several that need not agree with each other.
    public var latest: RecordSnapshotReader { RecordSnapshotReader(storage: engine) }

    /// Runs `body` in a transaction that is rolled back at the end, whatever happens:
    /// a dry run sees its own writes, and nothing is stored.
    public func dryRun<Result: Sendable>(_ body: (RecordTransaction) async throws -> Result) async throws -> Result {
        let transaction = try await engine.beginTransaction()
        defer { transaction.rollback() }
        return try await body(RecordTransaction(transaction: transaction))
    }

    /// Runs `body` against a consistent snapshot.
    public func read<Result: Sendable>(_ body: (RecordSnapshotReader) async throws -> Result) async throws -> Result {
        let snapshot = try await engine.snapshot()
        defer { snapshot.release() }
        return try await body(RecordSnapshotReader(storage: snapshot))
    }
}
