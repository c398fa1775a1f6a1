/// Why a record operation failed, in words a service can pass on to its caller.
public struct RecordError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// A record with the primary key, or a unique index entry, exists already.
        case alreadyExists
        /// No record with the key.
        case notFound
        /// A page token that this list did not issue, or issued for other filters.
        case invalidPageToken
    }

    public var code: Code
    public var message: String
    /// The table, and for index conflicts the index ("products.barcode").
    public var subject: String

    public init(_ code: Code, _ message: String, subject: String) {
        self.code = code
        self.message = message
        self.subject = subject
    }

    public var description: String { message }
}
