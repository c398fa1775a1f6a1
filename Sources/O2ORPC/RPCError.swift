/// An error a call ended with: a status code, a human message that names the field
/// and the reason, and optional details.
///
/// Services throw it to fail a call with a specific status; clients catch it. Any
/// other error a handler throws reaches the client as `INTERNAL` with a generic
/// message, so raw engine or system text never leaks to callers.
public struct RPCError: Error, Sendable, CustomStringConvertible {
    /// One rejected field of a request.
    public struct FieldViolation: Sendable, Hashable {
        /// Path of the field in the request's JSON form with proto names ("lines[2].sku_id").
        public var field: String
        /// Why it was rejected.
        public var description: String

        public init(field: String, description: String) {
            self.field = field
            self.description = description
        }
    }

    /// The status code; never `.ok`.
    public var code: RPCStatusCode
    /// What went wrong, for a person.
    public var message: String
    /// The fields that made the call fail.
    public var fieldViolations: [FieldViolation]
    /// How long to wait before retrying, when the server says so.
    public var retryAfter: Duration?
    /// Trailing metadata that came with the error.
    public var metadata: RPCMetadata
    /// The underlying error, for logs on the side that created this one; never sent.
    public var cause: (any Error)?

    /// - Parameters:
    ///   - code: The status; `.ok` is a programmer error.
    ///   - message: What went wrong, naming the field and the reason.
    ///   - fieldViolations: The rejected fields, if any.
    ///   - retryAfter: How long the caller should wait before retrying.
    ///   - metadata: Trailing metadata to send.
    ///   - cause: The underlying error, kept for logs.
    public init(
        code: RPCStatusCode,
        message: String,
        fieldViolations: [FieldViolation] = [],
        retryAfter: Duration? = nil,
        metadata: RPCMetadata = RPCMetadata(),
        cause: (any Error)? = nil
    ) {
        precondition(code != .ok, "an RPCError cannot have status OK")
        self.code = code
        self.message = message
        self.fieldViolations = fieldViolations
        self.retryAfter = retryAfter
        self.metadata = metadata
        self.cause = cause
    }

    /// `INVALID_ARGUMENT` for one field: the message reads "field: reason".
    public static func invalidArgument(field: String, _ reason: String) -> RPCError {
        RPCError(
            code: .invalidArgument,
            message: "\(field): \(reason)",
            fieldViolations: [FieldViolation(field: field, description: reason)]
        )
    }

    public var description: String { "\(code.name): \(message)" }
}
