public import NIOCore

/// Options for one call made by a client.
public struct RPCCallOptions: Sendable {
    /// How long the call may take; nil for the client's default.
    public var timeout: Duration?
    /// Metadata (headers) to send.
    public var metadata: RPCMetadata
    /// Whether the transport may retry the call on `UNAVAILABLE`; nil lets the
    /// method's idempotency decide.
    public var retryable: Bool?
    /// Whether to compress request messages (when the server accepts it); nil for the
    /// client's default.
    public var compression: Bool?

    public init(
        timeout: Duration? = nil,
        metadata: RPCMetadata = RPCMetadata(),
        retryable: Bool? = nil,
        compression: Bool? = nil
    ) {
        self.timeout = timeout
        self.metadata = metadata
        self.retryable = retryable
        self.compression = compression
    }

    /// The client's defaults.
    public static var defaults: RPCCallOptions { RPCCallOptions() }
}

/// Both directions of one streaming call, as a client transport hands them over.
public struct RPCClientStreams: Sendable {
    /// Where request messages go.
    public let requests: any RPCOutboundMessageSink
    /// Tells the server that no more requests follow (half-close).
    public let finishRequests: @Sendable () async throws -> Void
    /// The response messages; ends (returns nil) when the call ended with OK, throws
    /// the call's `RPCError` otherwise.
    public let responses: any RPCInboundMessageSource

    public init(
        requests: any RPCOutboundMessageSink,
        finishRequests: @escaping @Sendable () async throws -> Void,
        responses: any RPCInboundMessageSource
    ) {
        self.requests = requests
        self.finishRequests = finishRequests
        self.responses = responses
    }
}

/// A way for a client to make calls: a network connection, a pool of them, or an
/// in-process server. Generated client stubs call through it.
public protocol RPCClientTransport: Sendable {
    /// Makes a unary call: sends the encoded request, returns the encoded response, or
    /// throws the call's `RPCError`.
    func unary(_ method: RPCMethodDescriptor, request: ByteBuffer, options: RPCCallOptions) async throws -> ByteBuffer

    /// Opens a streaming call and runs `body` with its streams; the call is cancelled
    /// if `body` returns or throws before the responses ended.
    func streaming<Result: Sendable>(
        _ method: RPCMethodDescriptor,
        options: RPCCallOptions,
        body: @Sendable (RPCClientStreams) async throws -> Result
    ) async throws -> Result
}

extension RPCClientTransport {
    /// A typed unary call.
    public func unary<Request: RPCMessage, Response: RPCMessage>(
        _ method: RPCMethodDescriptor,
        _ request: Request,
        responseType: Response.Type = Response.self,
        options: RPCCallOptions
    ) async throws -> Response {
        var buffer = ByteBuffer.rpcMessageBuffer()
        request.serialize(into: &buffer)
        let response = try await unary(method, request: buffer, options: options)
        return try decodeResponse(Response.self, from: response, method: method)
    }

    /// A typed server-streaming call: `handle` reads the responses.
    public func serverStreaming<Request: RPCMessage, Response: RPCMessage, Result: Sendable>(
        _ method: RPCMethodDescriptor,
        _ request: Request,
        options: RPCCallOptions,
        handle: @Sendable (RPCResponseStream<Response>) async throws -> Result
    ) async throws -> Result {
        try await streaming(method, options: options) { streams in
            try await RPCRequestWriter<Request>(sink: streams.requests).write(request)
            try await streams.finishRequests()
            return try await handle(RPCResponseStream(source: streams.responses))
        }
    }

    /// A typed client-streaming call: `send` writes the requests; returns the one
    /// response.
    public func clientStreaming<Request: RPCMessage, Response: RPCMessage>(
        _ method: RPCMethodDescriptor,
        options: RPCCallOptions,
        send: @Sendable (RPCRequestWriter<Request>) async throws -> Void
    ) async throws -> Response {
        try await streaming(method, options: options) { streams in
            try await send(RPCRequestWriter(sink: streams.requests))
            try await streams.finishRequests()
            guard let bytes = try await streams.responses.next() else {
                throw RPCError(code: .internalError, message: "\(method.path) ended without a response")
            }
            let response = try decodeResponse(Response.self, from: bytes, method: method)
            guard try await streams.responses.next() == nil else {
                throw RPCError(code: .internalError, message: "\(method.path) sent more than one response")
            }
            return response
        }
    }

    /// A typed bidirectional call: `send` writes requests while `handle` reads
    /// responses, concurrently.
    public func bidirectionalStreaming<Request: RPCMessage, Response: RPCMessage, Result: Sendable>(
        _ method: RPCMethodDescriptor,
        options: RPCCallOptions,
        send: @escaping @Sendable (RPCRequestWriter<Request>) async throws -> Void,
        handle: @Sendable (RPCResponseStream<Response>) async throws -> Result
    ) async throws -> Result {
        try await streaming(method, options: options) { streams in
            try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
                group.addTask {
                    try await send(RPCRequestWriter(sink: streams.requests))
                    try await streams.finishRequests()
                }
                let result = try await handle(RPCResponseStream(source: streams.responses))
                try await group.waitForAll()
                return result
            }
        }
    }
}

/// Decodes a response; a malformed one is the server's fault: `INTERNAL`.
func decodeResponse<Response: RPCMessage>(
    _ type: Response.Type,
    from bytes: ByteBuffer,
    method: RPCMethodDescriptor
) throws -> Response {
    do {
        return try Response(serializedBytes: bytes)
    } catch {
        throw RPCError(code: .internalError, message: "malformed response from \(method.path): \(error)", cause: error)
    }
}
