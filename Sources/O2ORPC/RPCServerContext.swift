/// What a service handler knows about the call it is serving.
///
/// Cancellation is the handler task's: when the client cancels, the deadline passes
/// or the connection drops, the task running the handler is cancelled.
public struct RPCServerContext: Sendable {
    /// The method being called.
    public let method: RPCMethodDescriptor
    /// The request's metadata (headers).
    public let metadata: RPCMetadata
    /// When the caller stops waiting; nil when it gave no deadline.
    public let deadline: ContinuousClock.Instant?
    /// Who is calling, as far as the transport knows ("127.0.0.1:53122", "in-process").
    public let peer: String
    /// The request id: the caller's `o2o-request-id`, or one the server made up.
    public var requestID: String {
        switch requestIDStorage {
        case .given(let id): id
        case .generated(let number): RPCRequestIDs.format(number)
        }
    }

    /// A made-up id stays a number until someone reads it: most calls never do.
    private enum RequestIDStorage: Sendable {
        case given(String)
        case generated(UInt64)
    }

    private let requestIDStorage: RequestIDStorage
    /// The authenticated caller; nil when the server runs without authentication.
    public var principal: RPCPrincipal?

    public init(
        method: RPCMethodDescriptor,
        metadata: RPCMetadata,
        deadline: ContinuousClock.Instant?,
        peer: String,
        requestID: String,
        principal: RPCPrincipal? = nil
    ) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
        self.requestIDStorage = .given(requestID)
        self.principal = principal
    }

    /// A context whose request id is the caller's, if the metadata has a valid one, or
    /// a new one made up only when read.
    public init(
        method: RPCMethodDescriptor,
        metadata: RPCMetadata,
        deadline: ContinuousClock.Instant?,
        peer: String
    ) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
        if let id = metadata[RPCMetadata.Keys.requestID], RPCRequestIDs.isValid(id) {
            self.requestIDStorage = .given(id)
        } else {
            self.requestIDStorage = .generated(RPCRequestIDs.nextNumber())
        }
        self.principal = nil
    }

    /// Time left before the deadline; nil without a deadline, zero once it passed.
    public var timeRemaining: Duration? {
        guard let deadline else { return nil }
        let remaining = ContinuousClock.now.duration(to: deadline)
        return remaining < .zero ? .zero : remaining
    }
}

/// A role a bearer token grants. Each includes the ones before it.
public enum RPCRole: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Queries only (methods marked `NO_SIDE_EFFECTS`).
    case readonly
    /// Every domain call.
    case service
    /// Everything, including the admin services.
    case admin

    private var rank: Int {
        switch self {
        case .readonly: 0
        case .service: 1
        case .admin: 2
        }
    }

    public static func < (lhs: RPCRole, rhs: RPCRole) -> Bool { lhs.rank < rhs.rank }
}

/// An authenticated caller.
public struct RPCPrincipal: Sendable, Hashable {
    /// The token's name from the token file ("pos-terminal-7"); never the token itself.
    public let name: String
    /// The token's role.
    public let role: RPCRole

    public init(name: String, role: RPCRole) {
        self.name = name
        self.role = role
    }
}
