/// Runs around every call a server handles: authentication, logging, metrics, or
/// anything else a deployment needs. Call `next` to go on (with the same or a changed
/// context) and return what it returns (or a replacement); throw to end the call with
/// that error. What `next` returns is the handler's response: a unary call's message,
/// or `.streamed` when the responses went out as the handler wrote them.
public protocol RPCServerInterceptor: Sendable {
    func intercept(
        context: RPCServerContext,
        next: (RPCServerContext) async throws -> RPCServerResponse
    ) async throws -> RPCServerResponse
}

/// Runs around every call a client makes: adding metadata, logging, timing. Call
/// `next` to go on (with the same or changed options); throw to fail the call.
public protocol RPCClientInterceptor: Sendable {
    func intercept(
        method: RPCMethodDescriptor,
        options: RPCCallOptions,
        next: (RPCCallOptions) async throws -> Void
    ) async throws
}

/// Server interceptors in order: the first one runs outermost.
public struct RPCServerInterceptorChain: Sendable {
    public let interceptors: [any RPCServerInterceptor]

    public init(_ interceptors: [any RPCServerInterceptor]) {
        self.interceptors = interceptors
    }

    /// Runs the interceptors around `body`.
    public func run(
        _ context: RPCServerContext,
        _ body: (RPCServerContext) async throws -> RPCServerResponse
    ) async throws -> RPCServerResponse {
        if interceptors.isEmpty {
            try await body(context)
        } else {
            try await run(from: 0, context, body)
        }
    }

    private func run(
        from index: Int,
        _ context: RPCServerContext,
        _ body: (RPCServerContext) async throws -> RPCServerResponse
    ) async throws -> RPCServerResponse {
        guard index < interceptors.count else { return try await body(context) }
        return try await interceptors[index].intercept(context: context) { context in
            try await run(from: index + 1, context, body)
        }
    }
}

/// Client interceptors in order: the first one runs outermost.
public struct RPCClientInterceptorChain: Sendable {
    public let interceptors: [any RPCClientInterceptor]

    public init(_ interceptors: [any RPCClientInterceptor]) {
        self.interceptors = interceptors
    }

    /// Runs the interceptors around `body`.
    public func run(
        _ method: RPCMethodDescriptor,
        _ options: RPCCallOptions,
        _ body: (RPCCallOptions) async throws -> Void
    ) async throws {
        if interceptors.isEmpty {
            try await body(options)
        } else {
            try await run(from: 0, method, options, body)
        }
    }

    private func run(
        from index: Int,
        _ method: RPCMethodDescriptor,
        _ options: RPCCallOptions,
        _ body: (RPCCallOptions) async throws -> Void
    ) async throws {
        guard index < interceptors.count else { return try await body(options) }
        try await interceptors[index].intercept(method: method, options: options) { options in
            try await run(from: index + 1, method, options, body)
        }
    }
}

/// Turns any error a handler threw into the status the peer sees. `RPCError`s pass
/// through; cancellation becomes CANCELLED; anything else becomes INTERNAL with a
/// generic message, so engine or system text never reaches a client.
public func rpcError(from error: any Error, requestID: String) -> RPCError {
    switch error {
    case let error as RPCError:
        return error
    case is CancellationError:
        return RPCError(code: .cancelled, message: "the call was cancelled", cause: error)
    default:
        return RPCError(code: .internalError, message: "internal error (request id \(requestID))", cause: error)
    }
}
