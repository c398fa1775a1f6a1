public import NIOCore

/// A service a server can host: generated service protocols conform to it.
public protocol RPCService: Sendable {
    /// The service's name and methods.
    static var serviceDescriptor: RPCServiceDescriptor { get }
    /// Adds a handler for each of the service's methods.
    func registerMethods(with router: inout RPCRouter)
}

/// The type-erased handler of one method, as a transport calls it: bytes in, bytes out.
public struct RPCMethodHandler: Sendable {
    /// Unary: decode the request, run the service, return the encoded response.
    public typealias Unary = @Sendable (_ request: ByteBuffer, _ context: RPCServerContext) async throws -> ByteBuffer
    /// Every other kind: read requests from the source, write responses to the sink.
    public typealias Streaming =
        @Sendable (
            _ requests: any RPCInboundMessageSource, _ responses: any RPCOutboundMessageSink,
            _ context: RPCServerContext
        ) async throws -> Void

    /// How the handler runs.
    public enum Body: Sendable {
        /// The unary fast path: no streams are set up.
        case unary(Unary)
        /// Streams in, streams out.
        case streaming(Streaming)
    }

    /// The method.
    public let method: RPCMethodDescriptor
    /// The code that serves it.
    public let body: Body

    public init(method: RPCMethodDescriptor, body: Body) {
        self.method = method
        self.body = body
    }
}

/// Maps method paths to handlers. Built once at start-up from the hosted services,
/// then read concurrently by every connection.
public struct RPCRouter: Sendable {
    private var handlers: [String: RPCMethodHandler] = [:]
    /// The services, in registration order.
    public private(set) var services: [RPCServiceDescriptor] = []

    public init() {}

    /// Registers every method of each service. A path registered twice is a
    /// programmer error.
    public init(services: [any RPCService]) {
        for service in services { register(service) }
    }

    /// Registers every method of one service.
    public mutating func register(_ service: some RPCService) {
        services.append(type(of: service).serviceDescriptor)
        service.registerMethods(with: &self)
    }

    /// The handler for a path ("/o2o.catalog.v1.CatalogService/GetProduct").
    public func handler(forPath path: String) -> RPCMethodHandler? { handlers[path] }

    /// Every method of the registered services' descriptors (a service may serve only
    /// some of them: see `servedPaths`).
    public var methods: [RPCMethodDescriptor] { services.flatMap(\.methods) }

    /// The paths of the methods that have a handler.
    public var servedPaths: Set<String> { Set(handlers.keys) }

    /// The status of a call to a path without a handler: a method of a hosted service
    /// that is not served (yet) says so; anything else is an unknown method.
    public func unservedMethod(_ path: String) -> RPCError {
        if services.contains(where: { $0.methods.contains { $0.path == path } }) {
            return RPCError(code: .unimplemented, message: "\(path) is in the schema but not served by this server")
        }
        return RPCServerCallExecutor.unknownMethod(path)
    }

    /// Registers a type-erased handler.
    public mutating func register(_ handler: RPCMethodHandler) {
        precondition(handlers[handler.method.path] == nil, "\(handler.method.path) registered twice")
        handlers[handler.method.path] = handler
    }

    /// Registers a unary method.
    public mutating func registerUnary<Request: RPCMessage, Response: RPCMessage>(
        _ method: RPCMethodDescriptor,
        _ body: @escaping @Sendable (Request, RPCServerContext) async throws -> Response
    ) {
        precondition(method.kind == .unary, "\(method.path) is not unary")
        register(
            RPCMethodHandler(
                method: method,
                body: .unary { bytes, context in
                    let request = try decodeInbound(Request.self, from: bytes)
                    let response = try await body(request, context)
                    var buffer = ByteBuffer.rpcMessageBuffer()
                    response.serialize(into: &buffer)
                    return buffer
                }
            )
        )
    }

    /// Registers a server-streaming method.
    public mutating func registerServerStreaming<Request: RPCMessage, Response: RPCMessage>(
        _ method: RPCMethodDescriptor,
        _ body: @escaping @Sendable (Request, RPCResponseWriter<Response>, RPCServerContext) async throws -> Void
    ) {
        precondition(method.kind == .serverStreaming, "\(method.path) is not server-streaming")
        register(
            RPCMethodHandler(
                method: method,
                body: .streaming { requests, responses, context in
                    let request = try await Self.singleRequest(Request.self, from: requests, method: method)
                    try await body(request, RPCResponseWriter(sink: responses), context)
                }
            )
        )
    }

    /// Registers a client-streaming method.
    public mutating func registerClientStreaming<Request: RPCMessage, Response: RPCMessage>(
        _ method: RPCMethodDescriptor,
        _ body: @escaping @Sendable (RPCRequestStream<Request>, RPCServerContext) async throws -> Response
    ) {
        precondition(method.kind == .clientStreaming, "\(method.path) is not client-streaming")
        register(
            RPCMethodHandler(
                method: method,
                body: .streaming { requests, responses, context in
                    let response = try await body(RPCRequestStream(source: requests), context)
                    try await RPCResponseWriter(sink: responses).write(response)
                }
            )
        )
    }

    /// Registers a bidirectional-streaming method.
    public mutating func registerBidirectionalStreaming<Request: RPCMessage, Response: RPCMessage>(
        _ method: RPCMethodDescriptor,
        _ body:
            @escaping @Sendable (RPCRequestStream<Request>, RPCResponseWriter<Response>, RPCServerContext)
            async throws -> Void
    ) {
        precondition(method.kind == .bidirectionalStreaming, "\(method.path) is not bidirectional")
        register(
            RPCMethodHandler(
                method: method,
                body: .streaming { requests, responses, context in
                    try await body(RPCRequestStream(source: requests), RPCResponseWriter(sink: responses), context)
                }
            )
        )
    }

    /// Reads exactly one request: a server-streaming call with none, or with more
    /// than one, is malformed.
    static func singleRequest<Request: RPCMessage>(
        _ type: Request.Type,
        from source: any RPCInboundMessageSource,
        method: RPCMethodDescriptor
    ) async throws -> Request {
        guard let bytes = try await source.next() else { throw RPCServerCallExecutor.missingRequest(method) }
        let request = try decodeInbound(Request.self, from: bytes)
        guard try await source.next() == nil else { throw RPCServerCallExecutor.extraRequest(method) }
        return request
    }
}
