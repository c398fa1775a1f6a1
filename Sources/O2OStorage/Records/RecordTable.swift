public import O2OProtobuf

/// A secondary index of a table: one or more keys per record, kept in the same atomic
/// write as the record.
public struct RecordIndex<Record: O2OMessage>: Sendable {
    /// Unique within the table, 1 to 255.
    public let id: UInt8
    /// For messages ("barcode").
    public let name: String
    /// At most one record per key: a second one is refused.
    public let unique: Bool
    /// The index keys of a record; empty when the record is not indexed (an empty
    /// barcode, say).
    public let keys: @Sendable (Record) -> [KeyTuple]

    public init(id: UInt8, name: String, unique: Bool, keys: @escaping @Sendable (Record) -> [KeyTuple]) {
        self.id = id
        self.name = name
        self.unique = unique
        self.keys = keys
    }
}

/// A table of records of one message type, keyed by a primary key, with indexes.
public struct RecordTable<Record: O2OMessage>: Sendable {
    /// Unique in the store; part of every key, so never reuse one.
    public let id: UInt16
    /// For messages ("products").
    public let name: String
    /// What one record is called in messages ("product", "SKU", "stock location").
    public let noun: String
    public let primaryKey: @Sendable (Record) -> KeyTuple
    public let indexes: [RecordIndex<Record>]

    public init(
        id: UInt16,
        name: String,
        noun: String? = nil,
        primaryKey: @escaping @Sendable (Record) -> KeyTuple,
        indexes: [RecordIndex<Record>] = []
    ) {
        precondition(Set(indexes.map(\.id)).count == indexes.count, "index ids of \(name) repeat")
        self.id = id
        self.name = name
        self.noun = noun ?? name
        self.primaryKey = primaryKey
        self.indexes = indexes
    }

    public func index(named name: String) -> RecordIndex<Record>? { indexes.first { $0.name == name } }

    // MARK: Key layout

    /// Key spaces: records, non-unique index entries, unique index entries, metadata.
    enum Space: UInt8 {
        case record = 0x10
        case index = 0x11
        case uniqueIndex = 0x12
    }

    private func header(_ space: Space) -> [UInt8] {
        [space.rawValue, UInt8(id >> 8), UInt8(id & 0xff)]
    }

    /// Every record of the table starts with this.
    var recordPrefix: [UInt8] { header(.record) }

    /// The key prefixes the table's records and index entries use, for checking that
    /// no two tables (or raw keys) share one.
    public var keyPrefixes: [[UInt8]] {
        [header(.record)] + indexes.map { indexPrefix($0) }
    }

    func recordKey(_ primaryKey: KeyTuple) -> [UInt8] { header(.record) + primaryKey.encoded }

    func indexPrefix(_ index: RecordIndex<Record>) -> [UInt8] {
        header(index.unique ? .uniqueIndex : .index) + [index.id]
    }

    /// A unique index entry: index key → primary key. A non-unique one: index key and
    /// primary key → nothing.
    func indexEntry(
        _ index: RecordIndex<Record>,
        _ key: KeyTuple,
        primaryKey: KeyTuple
    ) -> (key: [UInt8], value: [UInt8]) {
        if index.unique {
            return (indexPrefix(index) + key.encoded, primaryKey.encoded)
        }
        return (indexPrefix(index) + key.encoded + primaryKey.encoded, [])
    }
}
