public import O2OProtobuf
import O2ORPC
public import O2ORPCMessages
public import O2OStorage

extension RecordReading {
    /// The record whose primary key is the string `id`: the id is checked first
    /// (INVALID_ARGUMENT naming `field`), a missing record is NOT_FOUND
    /// "<field>: no <noun> '<id>'".
    public func require<Record>(_ table: RecordTable<Record>, _ id: String, field: String) async throws -> Record {
        let id = try Validate.id(id, field: field)
        guard let record = try await get(table, .string(id)) else {
            throw RPCError(code: .notFound, message: "\(field): no \(table.noun) '\(id)'")
        }
        return record
    }

    /// Every record a query reaches, read page by page, at most `limit` (then it stops:
    /// callers that list in memory bound what they hold).
    public func all<Record>(
        _ table: RecordTable<Record>,
        _ query: RecordQuery<Record> = RecordQuery(pageSize: 500),
        limit: Int = 100_000
    ) async throws -> [Record] {
        var query = query
        query.pageSize = 500
        query.pageToken = nil
        var records: [Record] = []
        repeat {
            let page = try await page(table, query)
            records += page.records
            query.pageToken = page.nextPageToken
        } while !(query.pageToken ?? "").isEmpty && records.count < limit
        return records.count > limit ? Array(records.prefix(limit)) : records
    }
}

extension RecordReading {
    /// Hands every record a query reaches to `body`, one page at a time, without
    /// holding them all: for scans over a whole table.
    public func forEachPage<Record>(
        _ table: RecordTable<Record>,
        _ query: RecordQuery<Record>,
        _ body: ([Record]) async throws -> Void
    ) async throws {
        var query = query
        query.pageToken = nil
        repeat {
            let page = try await page(table, query)
            try await body(page.records)
            query.pageToken = page.nextPageToken
        } while !(query.pageToken ?? "").isEmpty
    }
}

/// A record with an optimistic-concurrency version and an update time. Every change
/// a caller asks for bumps both, in one place (`modify`, `updateVersioned`); output-only
/// fields (counters, summaries) change with a plain `update`.
public protocol VersionedRecord: O2OMessage {
    var version: Int64 { get set }
    var updatedAt: Timestamp? { get set }
}

extension ServiceTransaction {
    /// Writes a changed record with its version bumped and its update time now.
    public func updateVersioned<Record: VersionedRecord>(
        _ table: RecordTable<Record>,
        _ record: inout Record
    ) async throws {
        record.version = try Checked.add(record.version, 1, field: "version")
        record.updatedAt = now
        try await update(table, record)
    }

    /// The record a caller wants to change: NOT_FOUND naming `field`, then
    /// FAILED_PRECONDITION when the caller's `expected_version` is not the record's.
    public func require<Record: VersionedRecord & Identified>(
        _ table: RecordTable<Record>,
        _ id: String,
        field: String,
        expectedVersion: Int64?
    ) async throws -> Record {
        let record = try await require(table, id, field: field)
        try Validate.version(expectedVersion, actual: record.version, subject: "\(table.noun) '\(record.id)'")
        return record
    }

    /// The change of one record a caller asked for: reads it (NOT_FOUND naming
    /// `field`), checks the caller's `expected_version` (FAILED_PRECONDITION when it
    /// moved on), lets `change` edit it, then bumps the version and update time and
    /// writes it. Returns the record as written.
    @discardableResult
    public func modify<Record: VersionedRecord & Identified>(
        _ table: RecordTable<Record>,
        _ id: String,
        field: String,
        expectedVersion: Int64? = nil,
        _ change: (inout Record) async throws -> Void
    ) async throws -> Record {
        var record = try await require(table, id, field: field, expectedVersion: expectedVersion)
        try await change(&record)
        try await updateVersioned(table, &record)
        return record
    }
}

/// A record whose primary key is its string id.
public protocol Identified {
    var id: String { get }
}
