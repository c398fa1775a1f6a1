import Synchronization

/// Request ids tie a call's log lines, retries and response together. A caller may
/// send its own in `o2o-request-id`; otherwise the server makes one up and returns it
/// in the trailers.
public enum RPCRequestIDs {
    private static let counter = Atomic<UInt64>(0)
    private static let processTag: String = {
        var generator = SystemRandomNumberGenerator()
        return String(UInt32.random(in: 0...UInt32.max, using: &generator), radix: 36)
    }()

    /// A new id, unique in this process and unlikely to repeat across processes.
    public static func make() -> String {
        format(nextNumber())
    }

    /// The number of a new id; `format` turns it into the id.
    public static func nextNumber() -> UInt64 {
        counter.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// The id for a number from `nextNumber`.
    public static func format(_ number: UInt64) -> String {
        "\(processTag)-\(String(number, radix: 36))"
    }

    /// Whether a caller-supplied id is acceptable: 1 to 64 printable ASCII characters.
    public static func isValid(_ id: String) -> Bool {
        let utf8 = id.utf8
        return (1...64).contains(utf8.count) && utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    /// The caller's id from the metadata when valid, or a new one.
    public static func fromMetadata(_ metadata: RPCMetadata) -> String {
        if let id = metadata[RPCMetadata.Keys.requestID], isValid(id) { return id }
        return make()
    }
}

/// Adds an `o2o-request-id` to every call that has none, so that the client's logs and
/// the server's share an id.
public struct RPCRequestIDClientInterceptor: RPCClientInterceptor {
    public init() {}

    public func intercept(
        method: RPCMethodDescriptor,
        options: RPCCallOptions,
        next: (RPCCallOptions) async throws -> Void
    ) async throws {
        guard options.metadata[RPCMetadata.Keys.requestID] == nil else { return try await next(options) }
        var options = options
        options.metadata.add(RPCMetadata.Keys.requestID, RPCRequestIDs.make())
        try await next(options)
    }
}
