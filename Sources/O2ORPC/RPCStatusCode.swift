/// The status of a finished call, numbered as in gRPC (0 OK … 16 UNAUTHENTICATED) so
/// that people and tools recognise the codes.
///
/// A struct wrapping a private enum rather than a public enum, so that codes can be
/// added without breaking exhaustive switches in users' code.
public struct RPCStatusCode: Sendable, Hashable, CustomStringConvertible {
    private enum Wrapped: UInt8, CaseIterable {
        case ok = 0
        case cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
            permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange,
            unimplemented, internalError, unavailable, dataLoss, unauthenticated
    }

    private let wrapped: Wrapped

    private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    /// The code for a number from the wire; nil for numbers outside 0–16.
    public init?(rawValue: Int) {
        guard let value = UInt8(exactly: rawValue), let wrapped = Wrapped(rawValue: value) else { return nil }
        self.wrapped = wrapped
    }

    /// The code's number on the wire.
    public var rawValue: Int { Int(wrapped.rawValue) }

    /// The call succeeded.
    public static let ok = Self(.ok)
    /// The caller cancelled the call.
    public static let cancelled = Self(.cancelled)
    /// An error with no better code.
    public static let unknown = Self(.unknown)
    /// The request is malformed; retrying it unchanged fails again.
    public static let invalidArgument = Self(.invalidArgument)
    /// The deadline passed before the call finished.
    public static let deadlineExceeded = Self(.deadlineExceeded)
    /// Something the request names does not exist.
    public static let notFound = Self(.notFound)
    /// Something the request creates exists already.
    public static let alreadyExists = Self(.alreadyExists)
    /// The caller's role may not call this method.
    public static let permissionDenied = Self(.permissionDenied)
    /// A limit was hit: size, rate, concurrent streams, stock.
    public static let resourceExhausted = Self(.resourceExhausted)
    /// The system is not in a state that allows the call (a non-empty category, an
    /// order already shipped, a version that moved on).
    public static let failedPrecondition = Self(.failedPrecondition)
    /// The call lost a race with a concurrent one; retrying may succeed.
    public static let aborted = Self(.aborted)
    /// A value is past the valid range (a page token beyond the end).
    public static let outOfRange = Self(.outOfRange)
    /// The server does not implement the method.
    public static let unimplemented = Self(.unimplemented)
    /// The server broke one of its own invariants.
    public static let internalError = Self(.internalError)
    /// The server cannot take the call now (shutting down, connection lost); retrying
    /// later may succeed.
    public static let unavailable = Self(.unavailable)
    /// Data was lost or corrupted.
    public static let dataLoss = Self(.dataLoss)
    /// The caller did not present valid credentials.
    public static let unauthenticated = Self(.unauthenticated)

    /// Every code, in numeric order.
    public static let allCodes: [RPCStatusCode] = Wrapped.allCases.map(Self.init)

    /// The canonical upper-case name ("NOT_FOUND").
    public var name: String {
        switch wrapped {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internalError: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }

    /// The code with the given canonical name ("NOT_FOUND"), if any.
    public init?(name: String) {
        guard let code = Self.allCodes.first(where: { $0.name == name }) else { return nil }
        self = code
    }

    public var description: String { name }
}
