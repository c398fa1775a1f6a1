public import NIOCore

/// What a call's handler produced, as the interceptors around it see it.
public enum RPCServerResponse: Sendable {
    /// A unary call's response message, encoded; an interceptor may replace it.
    case message(ByteBuffer)
    /// The responses went to the caller as the handler wrote them (every kind of call
    /// whose responses or requests stream).
    case streamed
}

/// How a call ended, for the transport to send.
public struct RPCServerCallOutcome: Sendable {
    /// The unary response to send; nil for streaming calls and for failures.
    public var response: ByteBuffer?
    /// The status for the trailers; nil for OK.
    public var error: RPCError?
    /// Who the interceptors found was calling (after authentication), for the
    /// transport's own bookkeeping.
    public var principal: RPCPrincipal?

    public init(response: ByteBuffer? = nil, error: RPCError? = nil, principal: RPCPrincipal? = nil) {
        self.response = response
        self.error = error
        self.principal = principal
    }
}

/// Turns what a handler threw into the error its caller sees, before any interceptor
/// sees it: a service layer maps its own errors (storage, records) to statuses here, so
/// that its methods are the generated protocol's, with no wrapper, and logging and
/// metrics count the mapped status. It runs only when a handler fails: an interceptor
/// layer would cost every call.
public protocol RPCServerErrorMapping: Sendable {
    func map(_ error: any Error, context: RPCServerContext) -> any Error
}

/// Runs calls the one way every server transport must: the interceptors around the
/// method's handler, and whatever the handler threw turned into the status the caller
/// sees. The NIO server and the in-process transport both run every call through it,
/// so a test over the in-process transport exercises the server's own call path; a
/// transport only moves bytes and enforces the deadline with its own timer.
public struct RPCServerCallExecutor: Sendable {
    public let router: RPCRouter
    public let interceptors: RPCServerInterceptorChain
    /// Applied to a handler's error, innermost.
    public let errorMapping: (any RPCServerErrorMapping)?

    public init(
        router: RPCRouter,
        interceptors: [any RPCServerInterceptor],
        errorMapping: (any RPCServerErrorMapping)? = nil
    ) {
        self.router = router
        self.interceptors = RPCServerInterceptorChain(interceptors)
        self.errorMapping = errorMapping
    }

    public init(
        services: [any RPCService],
        interceptors: [any RPCServerInterceptor],
        errorMapping: (any RPCServerErrorMapping)? = nil
    ) {
        self.init(router: RPCRouter(services: services), interceptors: interceptors, errorMapping: errorMapping)
    }

    private func mapped(_ error: any Error, _ context: RPCServerContext) -> any Error {
        errorMapping?.map(error, context: context) ?? error
    }

    /// The status of a call to a method nobody serves.
    public static func unknownMethod(_ path: String) -> RPCError {
        RPCError(code: .unimplemented, message: "unknown method \(path)")
    }

    /// The status of a call whose deadline passed before it finished.
    public static let deadlineExceeded = RPCError(code: .deadlineExceeded, message: "deadline exceeded")

    /// The status of a call that expects one request and got none.
    public static func missingRequest(_ method: RPCMethodDescriptor) -> RPCError {
        RPCError(code: .invalidArgument, message: "\(method.path) expects one request message, got none")
    }

    /// The status of a call that expects one request and got more.
    public static func extraRequest(_ method: RPCMethodDescriptor) -> RPCError {
        RPCError(code: .invalidArgument, message: "\(method.path) expects one request message, got more")
    }

    /// Runs a unary call whose request has arrived.
    public func runUnary(
        _ body: RPCMethodHandler.Unary,
        request: ByteBuffer,
        context: RPCServerContext
    ) async -> RPCServerCallOutcome {
        var outcome = RPCServerCallOutcome()
        do {
            let response = try await interceptors.run(context) { context in
                outcome.principal = context.principal
                do {
                    return .message(try await body(request, context))
                } catch {
                    throw mapped(error, context)
                }
            }
            if case .message(let message) = response { outcome.response = message }
        } catch {
            outcome.error = rpcError(from: error, requestID: context.requestID)
        }
        return outcome
    }

    /// Runs a call whose requests or responses stream, until the handler returns.
    public func runStreaming(
        _ body: RPCMethodHandler.Streaming,
        requests: any RPCInboundMessageSource,
        responses: any RPCOutboundMessageSink,
        context: RPCServerContext
    ) async -> RPCServerCallOutcome {
        var outcome = RPCServerCallOutcome()
        do {
            _ = try await interceptors.run(context) { context in
                outcome.principal = context.principal
                do {
                    try await body(requests, responses, context)
                } catch {
                    throw mapped(error, context)
                }
                return .streamed
            }
        } catch {
            outcome.error = rpcError(from: error, requestID: context.requestID)
        }
        return outcome
    }
}
