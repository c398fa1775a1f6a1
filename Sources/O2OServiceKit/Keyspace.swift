import O2OProtobuf
public import O2OStorage

/// One range of keys someone owns in the store: a table's records or index entries,
/// a raw key prefix, or the record layer's own.
public struct KeyspaceEntry: Sendable, Hashable, CustomStringConvertible {
    /// Every key of the entry starts with these bytes.
    public let prefix: [UInt8]
    /// Who writes them ("catalog", "inventory", "record layer").
    public let owner: String
    /// What they are ("table products (101)", "open stock-takes per location").
    public let what: String

    public init(prefix: [UInt8], owner: String, what: String) {
        self.prefix = prefix
        self.owner = owner
        self.what = what
    }

    /// The prefixes of a table: its records and each index.
    public static func table<Record>(_ table: RecordTable<Record>, owner: String) -> [KeyspaceEntry] {
        table.keyPrefixes.enumerated().map { offset, prefix in
            KeyspaceEntry(
                prefix: prefix,
                owner: owner,
                what: offset == 0
                    ? "table \(table.name) (\(table.id))"
                    : "index \(table.name).\(table.indexes[offset - 1].name)"
            )
        }
    }

    /// The record layer's own prefixes (remembered answers, counters).
    public static let recordLayer: [KeyspaceEntry] = RecordTransaction.reservedPrefixes.map {
        KeyspaceEntry(prefix: $0.prefix, owner: "record layer", what: $0.what)
    }

    public var description: String {
        "\(owner) \(what) (prefix \(prefix.map { String($0, radix: 16) }.joined(separator: " ")))"
    }
}

/// The on-disk format in one list: every table id and key prefix of every domain.
/// Two that overlap would read and overwrite each other's data, so the server refuses
/// to start with such a list, and a test checks the real one.
public enum Keyspace {
    /// Two entries whose keys overlap.
    public struct Conflict: Error, Sendable, CustomStringConvertible {
        public let first: KeyspaceEntry
        public let second: KeyspaceEntry
        public var description: String {
            "key prefixes overlap: \(first) and \(second); every table id and key prefix must be unique"
        }
    }

    /// Throws on the first two entries of which one's prefix starts the other's.
    public static func check(_ entries: [KeyspaceEntry]) throws(Conflict) {
        let sorted = entries.sorted { $0.prefix.lexicographicallyPrecedes($1.prefix) }
        // In sorted order, a prefix sits right before the keys it starts.
        for (first, second) in zip(sorted, sorted.dropFirst()) where second.prefix.starts(with: first.prefix) {
            throw Conflict(first: first, second: second)
        }
    }
}
