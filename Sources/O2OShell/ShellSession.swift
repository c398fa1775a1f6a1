import NIOCore
public import O2OClient
import Synchronization

/// How to reach the server.
public struct ShellConnectionOptions: Sendable {
    public var target: O2OServerTarget
    public var tls: O2OClientTLS?
    public var token: String?
    /// Deadline of each call; nil for none.
    public var timeout: Duration?
    /// Deadline of calls whose responses stream (a watch runs until Ctrl-C); nil for none.
    public var streamTimeout: Duration?

    public init(
        target: O2OServerTarget,
        tls: O2OClientTLS? = nil,
        token: String? = nil,
        timeout: Duration? = .seconds(30),
        streamTimeout: Duration? = nil
    ) {
        self.target = target
        self.tls = tls
        self.token = token
        self.timeout = timeout
        self.streamTimeout = streamTimeout
    }
}

/// One connection to a server and what the shell learned about it.
public final class ShellSession: Sendable {
    public let options: ShellConnectionOptions
    let channel: O2OClientChannel
    let transport: any RPCClientTransport
    /// The built-in services the shell's own commands use (reflection, health, admin).
    public let services: O2ORPCServiceClients
    private let cachedSchema = Mutex<ShellSchema?>(nil)

    public init(options: ShellConnectionOptions) throws {
        self.options = options
        var configuration = O2OClientConfiguration(target: options.target, tls: options.tls)
        configuration.settings.agent = "o2o-shell/\(O2OVersion.current)"
        configuration.defaultTimeout = options.timeout
        configuration.connectTimeout = .seconds(5)
        // An operator wants to hear at once that the server is not there, not after
        // retries and reconnect backoff.
        configuration.retry = O2ORetryPolicy(maximumAttempts: 1)
        channel = try O2OClientChannel(configuration: configuration)
        var interceptors: [any RPCClientInterceptor] = [RPCRequestIDClientInterceptor()]
        if let token = options.token { interceptors.append(BearerTokenInterceptor(token: token)) }
        transport = RPCInterceptingTransport(base: channel, interceptors: interceptors)
        services = O2ORPCServiceClients(transport: transport)
    }

    public func close() async {
        await channel.close()
    }

    /// The server's schema, fetched once per session.
    public func schema(refresh: Bool = false) async throws -> ShellSchema {
        if !refresh, let cached = cachedSchema.withLock({ $0 }) { return cached }
        let schema = ShellSchema(try await services.reflection.getSchema(GetSchemaRequest()))
        cachedSchema.withLock { $0 = schema }
        return schema
    }

    /// The schema if it was fetched already (for completion, which must not wait).
    public var knownSchema: ShellSchema? { cachedSchema.withLock { $0 } }

    /// A unary call with raw protobuf bytes.
    func unary(_ method: RPCMethodDescriptor, request: [UInt8], options: RPCCallOptions) async throws -> [UInt8] {
        var buffer = ByteBuffer.rpcMessageBuffer()
        buffer.writeBytes(request)
        let response = try await transport.unary(method, request: buffer, options: options)
        return Array(response.readableBytesView)
    }

    /// A streaming call with raw protobuf bytes: `requests` are sent (then the request
    /// side is closed) while `onResponse` sees each response as it arrives.
    func streaming(
        _ method: RPCMethodDescriptor,
        requests: [[UInt8]],
        options: RPCCallOptions,
        onResponse: @escaping @Sendable ([UInt8]) async throws -> Void
    ) async throws {
        try await transport.streaming(method, options: options) { streams in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for request in requests {
                        var buffer = ByteBuffer.rpcMessageBuffer()
                        buffer.writeBytes(request)
                        try await streams.requests.write(buffer)
                    }
                    try await streams.finishRequests()
                }
                while let response = try await streams.responses.next() {
                    try await onResponse(Array(response.readableBytesView))
                }
                try await group.waitForAll()
            }
        }
    }
}
