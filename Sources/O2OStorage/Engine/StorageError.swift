/// Why a storage operation failed.
///
/// `description` is safe to show a client; `detail` holds the engine's own text, for
/// the server's log only (it can name files and internals).
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure; a struct over a private enum so kinds can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Hashable {
            case conflict, locked, notADatabase, corruption, io, closed, invalidArgument, timedOut, alreadyExists,
                tooLarge
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A transaction read or wrote a key another transaction changed since it began;
        /// retrying may succeed.
        public static let conflict = Code(.conflict)
        /// The data directory is in use by another process.
        public static let locked = Code(.locked)
        /// The directory exists but is not a database this server made.
        public static let notADatabase = Code(.notADatabase)
        /// The engine found corrupt data.
        public static let corruption = Code(.corruption)
        /// A file system or device error.
        public static let io = Code(.io)
        /// The engine was closed.
        public static let closed = Code(.closed)
        /// The engine refused an argument.
        public static let invalidArgument = Code(.invalidArgument)
        /// An operation waited too long.
        public static let timedOut = Code(.timedOut)
        /// A record or unique index entry exists already.
        public static let alreadyExists = Code(.alreadyExists)
        /// A value or batch is beyond a limit.
        public static let tooLarge = Code(.tooLarge)

        public var description: String {
            switch wrapped {
            case .conflict: "conflict"
            case .locked: "locked"
            case .notADatabase: "not a database"
            case .corruption: "corruption"
            case .io: "I/O error"
            case .closed: "closed"
            case .invalidArgument: "invalid argument"
            case .timedOut: "timed out"
            case .alreadyExists: "already exists"
            case .tooLarge: "too large"
            }
        }
    }

    public var code: Code
    /// What went wrong, without engine internals.
    public var message: String
    /// The engine's own text, for logs.
    public var detail: String

    public init(_ code: Code, _ message: String, detail: String = "") {
        self.code = code
        self.message = message
        self.detail = detail
    }

    public var description: String { message }
}
