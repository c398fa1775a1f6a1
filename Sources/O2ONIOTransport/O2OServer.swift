public import Logging
public import NIOCore
import NIOPosix
import NIOSSL
public import O2ORPC
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a server listens.
public enum O2OListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// A TCP address; port 0 picks a free port (see `O2OServer.listeningAddresses`).
    case tcp(host: String, port: Int)
    /// A Unix domain socket at this path; a stale socket file is replaced.
    case unixSocket(path: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let path): "unix:\(path)"
        }
    }
}

/// A PEM certificate chain and private key for TLS.
public struct O2OTLSFiles: Sendable, Hashable {
    public var certificateChainPath: String
    public var privateKeyPath: String

    public init(certificateChainPath: String, privateKeyPath: String) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
    }
}

/// How an `O2OServer` is set up.
public struct O2OServerConfiguration: Sendable {
    /// Addresses to listen on.
    public var listeners: [O2OListenAddress]
    /// TLS, when given.
    public var tls: O2OTLSFiles?
    /// How each connection behaves.
    public var connection: O2OServerConnectionOptions
    /// On shutdown, how long calls in flight may take to finish.
    public var gracePeriod: Duration

    public init(
        listeners: [O2OListenAddress] = [.tcp(host: "127.0.0.1", port: 7070)],
        tls: O2OTLSFiles? = nil,
        connection: O2OServerConnectionOptions = O2OServerConnectionOptions(),
        gracePeriod: Duration = .seconds(10)
    ) {
        self.listeners = listeners
        self.tls = tls
        self.connection = connection
        self.gracePeriod = gracePeriod
    }
}

/// The O2O RPC server over SwiftNIO: TCP, Unix sockets and TLS; runs as a
/// swift-service-lifecycle `Service`, so SIGTERM drains it (GOAWAY, calls in flight
/// finish within the grace period, new ones are refused).
public final class O2OServer: Service, Sendable {
    private let configuration: O2OServerConfiguration
    private let shared: ServerSharedState
    private let group: any EventLoopGroup
    private let boundAddresses = Mutex<BindState>(.notYet([]))
    private let shutdownSignal = ShutdownSignal()

    private enum BindState {
        case notYet([CheckedContinuation<[O2OListenAddress], any Error>])
        case bound([O2OListenAddress])
        case failed(any Error)
    }

    /// - Parameters:
    ///   - configuration: Listeners, TLS, limits.
    ///   - services: The services to host.
    ///   - interceptors: Server interceptors, outermost first.
    ///   - errorMapping: What turns the handlers' own errors into statuses.
    ///   - logger: Where the server logs.
    ///   - eventLoopGroup: The event loops; NIO's shared singleton by default.
    public init(
        configuration: O2OServerConfiguration,
        services: [any RPCService],
        interceptors: [any RPCServerInterceptor] = [],
        errorMapping: (any RPCServerErrorMapping)? = nil,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.shared = ServerSharedState(
            executor: RPCServerCallExecutor(services: services, interceptors: interceptors, errorMapping: errorMapping),
            options: configuration.connection,
            logger: logger,
            registry: ConnectionRegistry()
        )
    }

    /// The services and methods this server hosts.
    public var router: RPCRouter { shared.executor.router }

    /// The addresses actually bound (with the real port when 0 was asked for); waits
    /// until `run` has bound them, and throws what binding threw.
    public func listeningAddresses() async throws -> [O2OListenAddress] {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<[O2OListenAddress], any Error>? = boundAddresses.withLock { state in
                switch state {
                case .notYet(var waiters):
                    waiters.append(continuation)
                    state = .notYet(waiters)
                    return nil
                case .bound(let addresses): return .success(addresses)
                case .failed(let error): return .failure(error)
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Every open connection, for the admin service.
    public func connections() async -> [O2OConnectionSnapshot] {
        await shared.registry.snapshots()
    }

    /// Asks a running server to drain and stop; `run` returns when it has.
    public func beginGracefulShutdown() {
        shutdownSignal.fire()
    }

    /// Binds, serves until graceful shutdown (or cancellation), then drains.
    public func run() async throws {
        let channels: [any Channel]
        do {
            channels = try await bindAll()
        } catch {
            resolveBind(.failure(error))
            throw error
        }
        let addresses = channels.compactMap { Self.listenAddress(of: $0) }
        resolveBind(.success(addresses))
        shared.logger.debug("listening", metadata: ["addresses": "\(addresses.map(\.description))"])

        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await shutdownSignal.wait()
            } onCancel: {
                shutdownSignal.fire()
            }
        } onGracefulShutdown: {
            self.shutdownSignal.fire()
        }

        // Stop accepting, then let the connections drain.
        for channel in channels { try? await channel.close() }
        shared.registry.drainAll(grace: configuration.gracePeriod)
        let deadline = ContinuousClock.now + configuration.gracePeriod + .seconds(2)
        while shared.registry.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for case .unixSocket(let path) in configuration.listeners { unlink(path) }
    }

    private func resolveBind(_ result: Result<[O2OListenAddress], any Error>) {
        let waiters: [CheckedContinuation<[O2OListenAddress], any Error>] = boundAddresses.withLock { state in
            guard case .notYet(let waiters) = state else { return [] }
            switch result {
            case .success(let addresses): state = .bound(addresses)
            case .failure(let error): state = .failed(error)
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    private func bindAll() async throws -> [any Channel] {
        let sslContext = try configuration.tls.map(Self.makeSSLContext)
        let shared = self.shared
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 256 * 1024))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    let handler = ServerConnectionHandler(shared: shared, connectionID: shared.registry.makeID())
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        var channels: [any Channel] = []
        do {
            for listener in configuration.listeners {
                switch listener {
                case .tcp(let host, let port):
                    channels.append(try await bootstrap.bind(host: host, port: port).get())
                case .unixSocket(let path):
                    channels.append(
                        try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
                    )
                }
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        return channels
    }

    private static func makeSSLContext(_ files: O2OTLSFiles) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChainPath).map {
            NIOSSLCertificateSource.certificate($0)
        }
        let key = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.applicationProtocols = ["o2o/1"]
        return try NIOSSLContext(configuration: tls)
    }

    private static func listenAddress(of channel: any Channel) -> O2OListenAddress? {
        guard let address = channel.localAddress else { return nil }
        switch address {
        case .v4, .v6:
            return .tcp(host: address.ipAddress ?? "?", port: address.port ?? 0)
        case .unixDomainSocket:
            return .unixSocket(path: address.pathname ?? "?")
        }
    }
}

/// Runs a server for the duration of `body`, then shuts it down gracefully.
@discardableResult
public func withO2OServer<Result: Sendable>(
    configuration: O2OServerConfiguration,
    services: [any RPCService],
    interceptors: [any RPCServerInterceptor] = [],
    errorMapping: (any RPCServerErrorMapping)? = nil,
    logger: Logger,
    _ body: (O2OServer) async throws -> Result
) async throws -> Result {
    let server = O2OServer(
        configuration: configuration,
        services: services,
        interceptors: interceptors,
        errorMapping: errorMapping,
        logger: logger
    )
    return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
        group.addTask { try await server.run() }
        do {
            _ = try await server.listeningAddresses()
            let result = try await body(server)
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        } catch {
            server.beginGracefulShutdown()
            try? await group.waitForAll()
            throw error
        }
    }
}

/// A one-shot signal: `wait` returns once `fire` has been called (before or after).
final class ShutdownSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.fired else { return [] }
            state.fired = true
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state in
                if state.fired { return true }
                state.waiters.append(continuation)
                return false
            }
            if fired { continuation.resume() }
        }
    }
}
