public import O2OProtobuf
public import O2ORPC
public import O2ORPCMessages
public import O2OStorage

/// The store as every service uses it: records, one clock, and the in-process locks
/// that every domain shares (checkout and the inventory queue on the same stock).
///
/// Every change a service makes is one `mutation` (a call with a request id) or one
/// `transaction` (the server's own work): one atomic commit of the records, their
/// indexes, the remembered answer, and the effects that run only after it committed.
public final class ServiceStore: Sendable {
    /// The record layer underneath.
    public let records: RecordStore
    /// The time services read.
    public let clock: ServiceClock
    private let locks = KeyedLocks()

    public init(records: RecordStore, clock: ServiceClock = .system) {
        self.records = records
        self.clock = clock
    }

    /// The current time.
    public func now() -> Timestamp { clock.now() }

    /// Reads of the latest committed data, each on its own (no snapshot).
    public var latest: RecordSnapshotReader { records.latest }

    /// Runs `body` against a consistent snapshot.
    public func read<Result: Sendable>(_ body: (RecordSnapshotReader) async throws -> Result) async throws -> Result {
        try await records.read(body)
    }

    /// A change the server makes on its own (a sweep, demo data): `body` runs in a
    /// transaction, starting over on a conflict; its after-commit effects run once it
    /// committed. Holds the locks of `keys` until the writes are visible.
    public func transaction<Result: Sendable>(
        locking keys: some Sequence<String> = [String](),
        _ body: (ServiceTransaction) async throws -> Result
    ) async throws -> Result {
        try await locks.withLocks(keys) { release in
            var effects: [@Sendable () -> Void] = []
            let result = try await records.transaction(applied: { release() }) { records in
                let transaction = ServiceTransaction(records: records, now: clock.now())
                let result = try await body(transaction)
                effects = transaction.effects
                return result
            }
            for effect in effects { effect() }
            return result
        }
    }

    /// A change a caller asked for, under its request id: the id is checked; a retry
    /// with the same id and request gets the first answer and changes nothing (its
    /// effects do not run again); otherwise `body` runs in a transaction that also
    /// remembers the answer, so the change and its idempotency record commit together.
    /// Holds the locks of `keys` (taken in order, so callers never deadlock) from
    /// before the transaction until its writes are visible: callers that touch the
    /// same data queue instead of colliding and retrying.
    public func mutation<Request: O2OMessage, Response: O2OMessage>(
        _ context: RPCServerContext,
        requestID: String,
        request: Request,
        locking keys: some Sequence<String> = [String](),
        _ body: (ServiceTransaction) async throws -> Response
    ) async throws -> Response {
        try RequestIDs.validate(requestID)
        let scope = context.method.path
        return try await transaction(locking: keys) { transaction in
            if let earlier = try await transaction.records.rememberedResult(
                scope: scope,
                requestID: requestID,
                request: request,
                as: Response.self
            ) {
                return earlier
            }
            let response = try await body(transaction)
            transaction.records.rememberResult(scope: scope, requestID: requestID, request: request, response: response)
            return response
        }
    }

    /// The answer remembered for a request id, if a call with it committed before.
    public func rememberedResult<Request: O2OMessage, Response: O2OMessage>(
        _ context: RPCServerContext,
        requestID: String,
        request: Request,
        as type: Response.Type
    ) async throws -> Response? {
        try RequestIDs.validate(requestID)
        return try await records.transaction { transaction in
            try await transaction.rememberedResult(
                scope: context.method.path,
                requestID: requestID,
                request: request,
                as: type
            )
        }
    }

    /// A page of a table, newest first (record ids sort by creation time): through the
    /// first of `choices` whose value is given (its index, with the value as prefix),
    /// else the whole table. The page size is checked (INVALID_ARGUMENT naming `page`).
    public func newestFirst<Record>(
        _ table: RecordTable<Record>,
        by choices: [(index: RecordIndex<Record>, value: String?)],
        page: PageRequest?,
        filters: [String],
        predicate: (@Sendable (Record) -> Bool)?
    ) async throws -> RecordPage<Record> {
        let choice = choices.first { $0.value != nil }
        let query = RecordQuery(
            index: choice?.index,
            prefix: choice.map { [.string($0.value!)] } ?? [],
            direction: .reverse,
            pageSize: try Paging.pageSize(page, field: "page"),
            pageToken: page?.pageToken,
            filters: filters,
            predicate: predicate
        )
        return try await read { try await $0.page(table, query) }
    }

    /// Runs `body` in a transaction that is rolled back whatever happens: a dry run
    /// sees its own writes, stores nothing, and runs no effects.
    public func dryRun<Result: Sendable>(_ body: (ServiceTransaction) async throws -> Result) async throws -> Result {
        try await records.dryRun { records in try await body(ServiceTransaction(records: records, now: clock.now())) }
    }
}

/// One atomic change: reads see a snapshot plus the change's own writes; everything
/// written commits together or not at all. `now` is the one time of the change, so
/// every record it touches carries the same instant.
public final class ServiceTransaction: RecordReading {
    /// The record transaction, for the ports of other domains.
    public let records: RecordTransaction
    /// When the change happens.
    public let now: Timestamp
    /// What runs once the change committed (never for a replayed request id).
    fileprivate(set) var effects: [@Sendable () -> Void] = []

    init(records: RecordTransaction, now: Timestamp) {
        self.records = records
        self.now = now
    }

    public var storage: any StorageReader { records.storage }

    /// Runs `effect` after the change committed: updating an in-memory index, waking
    /// watchers. It never runs when the commit fails, nor for a replayed request.
    public func afterCommit(_ effect: @escaping @Sendable () -> Void) {
        effects.append(effect)
    }

    // MARK: Writes

    /// Adds a record; ALREADY_EXISTS when its key or a unique index key is taken.
    public func insert<Record>(_ table: RecordTable<Record>, _ record: Record) async throws {
        try await records.insert(table, record)
    }

    /// Replaces an existing record as it is (no version change: for output-only
    /// fields such as counters and summaries).
    public func update<Record>(_ table: RecordTable<Record>, _ record: Record) async throws {
        try await records.update(table, record)
    }

    /// Inserts or replaces a record as it is.
    public func save<Record>(_ table: RecordTable<Record>, _ record: Record) async throws {
        try await records.save(table, record)
    }

    /// Removes a record and its index entries; returns it, or nil when there was none.
    @discardableResult
    public func delete<Record>(_ table: RecordTable<Record>, _ primaryKey: KeyTuple) async throws -> Record? {
        try await records.delete(table, primaryKey)
    }

    /// The next value of a named counter (1, 2, …).
    public func nextValue(of counter: String) async throws -> Int64 {
        try await records.nextValue(of: counter)
    }

    /// Raw keys for what is not a record; their prefixes are listed in the keyspace.
    public func putRaw(_ key: [UInt8], _ value: [UInt8]) { records.putRaw(key, value) }
    public func getRaw(_ key: [UInt8]) async throws -> [UInt8]? { try await records.getRaw(key) }
    public func deleteRaw(_ key: [UInt8]) { records.deleteRaw(key) }
}
