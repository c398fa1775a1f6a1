/// Key-value pairs sent with a call (headers) or at its end (trailers).
///
/// Keys are lower case, 1 to 128 characters of `[a-z0-9-_.]`, and may repeat; order
/// is kept. Values are text or binary.
public struct RPCMetadata: Sendable, Hashable, Sequence {
    /// A metadata value.
    public enum Value: Sendable, Hashable, CustomStringConvertible {
        /// Printable UTF-8 text.
        case text(String)
        /// Arbitrary bytes.
        case binary([UInt8])

        public var description: String {
            switch self {
            case .text(let text): text
            case .binary(let bytes): "<\(bytes.count) bytes>"
            }
        }
    }

    /// One entry.
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var value: Value

        public init(key: String, value: Value) {
            self.key = key
            self.value = value
        }
    }

    /// The entries in the order they were added.
    public private(set) var entries: [Entry]

    public init() { entries = [] }

    /// Text entries, in order; keys are lower-cased.
    public init(_ pairs: KeyValuePairs<String, String>) {
        entries = pairs.map { Entry(key: $0.key.lowercased(), value: .text($0.value)) }
    }

    /// Well-known keys.
    public enum Keys {
        /// "Bearer <token>".
        public static let authorization = "authorization"
        /// The request id that ties logs, retries and responses together.
        public static let requestID = "o2o-request-id"
    }

    /// Adds an entry; the key is lower-cased.
    public mutating func add(_ key: String, _ value: String) {
        entries.append(Entry(key: key.lowercased(), value: .text(value)))
    }

    /// Adds a binary entry; the key is lower-cased.
    public mutating func add(_ key: String, binary value: [UInt8]) {
        entries.append(Entry(key: key.lowercased(), value: .binary(value)))
    }

    /// Replaces every entry with this key by one text entry.
    public mutating func replace(_ key: String, with value: String) {
        let key = key.lowercased()
        entries.removeAll { $0.key == key }
        entries.append(Entry(key: key, value: .text(value)))
    }

    /// Removes every entry with this key.
    public mutating func removeAll(_ key: String) {
        let key = key.lowercased()
        entries.removeAll { $0.key == key }
    }

    /// The first text value for the key.
    public subscript(_ key: String) -> String? {
        for entry in entries where entry.key == key {
            if case .text(let text) = entry.value { return text }
        }
        return nil
    }

    /// Every value for the key, in order.
    public func values(for key: String) -> [Value] {
        entries.filter { $0.key == key }.map(\.value)
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    /// Whether a key is well formed: 1 to 128 characters of `[a-z0-9-_.]`.
    public static func isValidKey(_ key: String) -> Bool {
        let utf8 = key.utf8
        guard (1...128).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
    }
}
