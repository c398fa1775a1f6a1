@_exported public import O2OMessages
@_exported public import O2ONIOTransport
@_exported public import O2ORPC

/// The integrator's entry point: one connection to an O2O server, with a typed client
/// for every service (`client.catalog.getProduct(…)`), deadlines and metadata per call
/// (`RPCCallOptions`), retries of idempotent calls, reconnection, TLS, a bearer token,
/// and zstd compression.
///
/// ```swift
/// try await withO2OClient(host: "127.0.0.1", port: 7070, token: "…") { client in
///     let product = try await client.catalog.getProduct(GetProductRequest(productID: "prd_…"))
/// }
/// ```
@dynamicMemberLookup
public final class O2OClient: Sendable {
    /// The connection the calls go through.
    public let channel: O2OClientChannel
    /// Every domain service's client; reached directly as `client.catalog`, ….
    public let services: O2OServiceClients
    /// The built-in services' clients; reached directly as `client.health`, `client.admin`, ….
    public let builtinServices: O2ORPCServiceClients

    /// - Parameters:
    ///   - configuration: Target, TLS, timeouts, retries.
    ///   - token: Sent as `authorization: Bearer <token>` on every call.
    ///   - interceptors: More client interceptors, outermost first (after the built-in
    ///     request-id and token ones).
    public init(
        configuration: O2OClientConfiguration,
        token: String? = nil,
        interceptors: [any RPCClientInterceptor] = []
    ) throws {
        channel = try O2OClientChannel(configuration: configuration)
        var chain: [any RPCClientInterceptor] = [RPCRequestIDClientInterceptor()]
        if let token { chain.append(BearerTokenInterceptor(token: token)) }
        chain += interceptors
        let transport = RPCInterceptingTransport(base: channel, interceptors: chain)
        services = O2OServiceClients(transport: transport)
        builtinServices = O2ORPCServiceClients(transport: transport)
    }

    /// - Parameters:
    ///   - host: Server address; 127.0.0.1 by default.
    ///   - port: Server port; 7070 by default.
    ///   - tls: TLS settings; nil for plaintext.
    ///   - token: Bearer token, when the server requires one.
    ///   - compression: Compress large requests with zstd when the server accepts it.
    ///   - timeout: Default deadline for calls that give none.
    public convenience init(
        host: String = "127.0.0.1",
        port: Int = 7070,
        tls: O2OClientTLS? = nil,
        token: String? = nil,
        compression: Bool = true,
        timeout: Duration? = nil
    ) throws {
        var configuration = O2OClientConfiguration(target: .tcp(host: host, port: port), tls: tls)
        configuration.settings.acceptsZstd = compression
        if !compression { configuration.compressionThreshold = .max }
        configuration.defaultTimeout = timeout
        try self.init(configuration: configuration, token: token)
    }

    public subscript<Client>(dynamicMember keyPath: KeyPath<O2OServiceClients, Client>) -> Client {
        services[keyPath: keyPath]
    }

    public subscript<Client>(dynamicMember keyPath: KeyPath<O2ORPCServiceClients, Client>) -> Client {
        builtinServices[keyPath: keyPath]
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE.
    public func close() async {
        await channel.close()
    }
}

/// Runs `body` with a client and closes it afterwards.
@discardableResult
public func withO2OClient<Result: Sendable>(
    host: String = "127.0.0.1",
    port: Int = 7070,
    tls: O2OClientTLS? = nil,
    token: String? = nil,
    compression: Bool = true,
    timeout: Duration? = nil,
    _ body: (O2OClient) async throws -> Result
) async throws -> Result {
    let client = try O2OClient(
        host: host,
        port: port,
        tls: tls,
        token: token,
        compression: compression,
        timeout: timeout
    )
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

/// Adds `authorization: Bearer <token>` to every call that has none.
public struct BearerTokenInterceptor: RPCClientInterceptor {
    private let header: String

    public init(token: String) {
        header = "Bearer \(token)"
    }

    public func intercept(
        method: RPCMethodDescriptor,
        options: RPCCallOptions,
        next: (RPCCallOptions) async throws -> Void
    ) async throws {
        guard options.metadata[RPCMetadata.Keys.authorization] == nil else { return try await next(options) }
        var options = options
        options.metadata.add(RPCMetadata.Keys.authorization, header)
        try await next(options)
    }
}
