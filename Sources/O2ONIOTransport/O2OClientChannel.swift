public import NIOCore
import NIOPosix
import NIOSSL
public import O2ORPC
import Synchronization

/// Where a client connects.
public enum O2OServerTarget: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unixSocket(path: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let path): "unix:\(path)"
        }
    }
}

/// TLS for a client.
public struct O2OClientTLS: Sendable, Hashable {
    /// PEM file of the certificate authorities to trust; nil for the system's.
    public var trustRootsPath: String?
    /// The name to verify the server's certificate against; nil for the target host.
    public var serverHostname: String?

    public init(trustRootsPath: String? = nil, serverHostname: String? = nil) {
        self.trustRootsPath = trustRootsPath
        self.serverHostname = serverHostname
    }
}

/// When and how a client retries.
public struct O2ORetryPolicy: Sendable, Hashable {
    /// Attempts in all, including the first; 1 disables retries.
    public var maximumAttempts: Int
    /// Wait before the first retry; each further one waits `multiplier` times longer.
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    public var multiplier: Double

    public init(
        maximumAttempts: Int = 3,
        initialBackoff: Duration = .milliseconds(50),
        maximumBackoff: Duration = .seconds(1),
        multiplier: Double = 2
    ) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.multiplier = multiplier
    }

    func backoff(afterAttempt attempt: Int) -> Duration {
        var delay = initialBackoff
        for _ in 1..<max(1, attempt) { delay = min(delay * multiplier, maximumBackoff) }
        // Full jitter keeps many clients from retrying in lockstep.
        return delay * Double.random(in: 0.5...1.0)
    }
}

/// How an `O2OClientChannel` connects and behaves.
public struct O2OClientConfiguration: Sendable {
    public var target: O2OServerTarget
    public var tls: O2OClientTLS?
    /// What this client accepts; announced in its SETTINGS.
    public var settings: O2OConnectionSettings
    /// Requests at least this large are compressed when the server accepts zstd.
    public var compressionThreshold: Int
    /// How long to wait for a connection (TCP, TLS and the server's SETTINGS).
    public var connectTimeout: Duration
    /// Timeout for calls that give none.
    public var defaultTimeout: Duration?
    /// Retries of idempotent calls on UNAVAILABLE.
    public var retry: O2ORetryPolicy
    /// Waits between reconnection attempts: from the first value, doubling to the second.
    public var reconnectBackoff: (initial: Duration, maximum: Duration)
    /// A PING after this long without incoming frames...
    public var keepaliveInterval: Duration
    /// ...that must be answered within this long.
    public var keepaliveTimeout: Duration

    public init(
        target: O2OServerTarget,
        tls: O2OClientTLS? = nil,
        settings: O2OConnectionSettings = O2OConnectionSettings(agent: "o2o-swift-client"),
        compressionThreshold: Int = 1024,
        connectTimeout: Duration = .seconds(5),
        defaultTimeout: Duration? = nil,
        retry: O2ORetryPolicy = O2ORetryPolicy(),
        reconnectBackoff: (initial: Duration, maximum: Duration) = (.milliseconds(100), .seconds(5)),
        keepaliveInterval: Duration = .seconds(30),
        keepaliveTimeout: Duration = .seconds(10)
    ) {
        self.target = target
        self.tls = tls
        self.settings = settings
        self.compressionThreshold = compressionThreshold
        self.connectTimeout = connectTimeout
        self.defaultTimeout = defaultTimeout
        self.retry = retry
        self.reconnectBackoff = reconnectBackoff
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
    }
}

/// A client's connection to one server: multiplexes concurrent calls over one
/// connection, reconnects with backoff when it breaks, and retries idempotent calls
/// on UNAVAILABLE. Generated client stubs take it as their transport.
public final class O2OClientChannel: RPCClientTransport, Sendable {
    private struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
    }

    private enum State {
        case idle(lastFailure: RPCError?, retryAt: ContinuousClock.Instant?, backoff: Duration?)
        case connecting(EventLoopFuture<Connection>)
        case ready(Connection)
        case closed
    }

    public let configuration: O2OClientConfiguration
    /// Every connection of this channel lives on this event loop, so that callers can
    /// run on it too (see `taskExecutor`).
    private let loop: any EventLoop
    private let executor: EventLoopTaskExecutor
    private let state: Mutex<State> = Mutex(.idle(lastFailure: nil, retryAt: nil, backoff: nil))
    private let sslContext: NIOSSLContext?

    /// - Parameters:
    ///   - configuration: Target, TLS, limits, timeouts.
    ///   - eventLoopGroup: The event loops; NIO's shared singleton by default.
    public init(
        configuration: O2OClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        self.configuration = configuration
        self.loop = eventLoopGroup.next()
        self.executor = EventLoopTaskExecutor(loop: loop)
        if let tls = configuration.tls {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            if let path = tls.trustRootsPath { tlsConfiguration.trustRoots = .file(path) }
            tlsConfiguration.applicationProtocols = ["o2o/1"]
            sslContext = try NIOSSLContext(configuration: tlsConfiguration)
        } else {
            sslContext = nil
        }
    }

    /// The executor of this channel's event loop. Callers that make many calls in a
    /// row can run on it (`Task(executorPreference: channel.taskExecutor)` or
    /// `withTaskExecutorPreference`): a call then never leaves the connection's thread,
    /// which saves two thread wake-ups per call. Code that blocks must not run there.
    public var taskExecutor: any TaskExecutor { executor }

    // MARK: - Calls

    public func unary(
        _ method: RPCMethodDescriptor,
        request: ByteBuffer,
        options: RPCCallOptions
    ) async throws -> ByteBuffer {
        var options = options
        if options.timeout == nil { options.timeout = configuration.defaultTimeout }
        let deadline = options.timeout.map { ContinuousClock.now + $0 }
        let retryable = options.retryable ?? method.idempotency.isRetryable
        var attempt = 1
        while true {
            var attemptOptions = options
            if let deadline {
                let remaining = ContinuousClock.now.duration(to: deadline)
                guard remaining > .zero else {
                    throw RPCError(code: .deadlineExceeded, message: "deadline of \(options.timeout!) exceeded")
                }
                attemptOptions.timeout = remaining
            }
            do {
                return try await unaryOnce(method, request: request, options: attemptOptions, deadline: deadline)
            } catch let error as RPCError {
                let notProcessed = error.cause is NotProcessed
                guard error.code == .unavailable, retryable || notProcessed,
                    attempt < configuration.retry.maximumAttempts
                else { throw error }
                let backoff = error.retryAfter ?? configuration.retry.backoff(afterAttempt: attempt)
                if let deadline, ContinuousClock.now + backoff >= deadline { throw error }
                try await Task.sleep(for: backoff)
                attempt += 1
            }
        }
    }

    private func unaryOnce(
        _ method: RPCMethodDescriptor,
        request: ByteBuffer,
        options: RPCCallOptions,
        deadline: ContinuousClock.Instant?
    ) async throws -> ByteBuffer {
        let connection = try await connection(deadline: deadline)
        let call = ClientCall(method: method, options: options, kind: .unary(nil))
        let handler = connection.handler
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<ByteBuffer, any Error>) in
                handler.runOnLoop { handler in
                    call.kind = .unary(continuation)
                    handler.start(call, request: request)
                }
            }
        } onCancel: {
            handler.runOnLoop { $0.cancel(call) }
        }
    }

    public func streaming<Result: Sendable>(
        _ method: RPCMethodDescriptor,
        options: RPCCallOptions,
        body: @Sendable (RPCClientStreams) async throws -> Result
    ) async throws -> Result {
        var options = options
        if options.timeout == nil { options.timeout = configuration.defaultTimeout }
        let connection = try await connection(deadline: options.timeout.map { ContinuousClock.now + $0 })
        let handler = connection.handler
        // The call and its response queue refer to each other; the call is not shared
        // until `start`, so its kind can be set after the queue exists.
        let call = ClientCall(method: method, options: options, kind: .unary(nil))
        let responses = RPCMessageQueue(capacity: .max) { length in
            handler.runOnLoop { handler in
                if let id = call.streamID { handler.consumed(streamID: id, length: length) }
            }
        }
        call.kind = .streaming(responses)
        handler.runOnLoop { $0.start(call, request: nil) }
        let streams = RPCClientStreams(
            requests: ClientRequestSink(call: call, handler: handler, end: false),
            finishRequests: { try await ClientRequestSink(call: call, handler: handler, end: true).send(nil) },
            responses: responses
        )
        return try await withTaskCancellationHandler {
            do {
                let result = try await body(streams)
                handler.runOnLoop { $0.cancel(call) }
                return result
            } catch {
                handler.runOnLoop { $0.cancel(call) }
                throw error
            }
        } onCancel: {
            handler.runOnLoop { $0.cancel(call) }
        }
    }

    // MARK: - Connections

    /// The current connection, or a new one: waits for the connection (and for the
    /// reconnection backoff), up to the connect timeout and the call's deadline.
    private func connection(deadline: ContinuousClock.Instant?) async throws -> Connection {
        while true {
            enum Next {
                case use(Connection)
                case wait(EventLoopFuture<Connection>)
                case sleep(until: ContinuousClock.Instant, lastFailure: RPCError?)
                case closed
            }
            let next: Next = state.withLock { state in
                switch state {
                case .ready(let connection):
                    return .use(connection)
                case .connecting(let future):
                    return .wait(future)
                case .idle(let lastFailure, let retryAt, let backoff):
                    if let retryAt, retryAt > .now { return .sleep(until: retryAt, lastFailure: lastFailure) }
                    let future = startConnecting(previousBackoff: backoff)
                    state = .connecting(future)
                    return .wait(future)
                case .closed:
                    return .closed
                }
            }
            switch next {
            case .use(let connection):
                return connection
            case .closed:
                throw RPCError(code: .unavailable, message: "the client is closed")
            case .sleep(let until, let lastFailure):
                if let deadline, until >= deadline {
                    throw lastFailure
                        ?? RPCError(code: .unavailable, message: "cannot connect to \(configuration.target)")
                }
                try await Task.sleep(until: until, clock: .continuous)
            case .wait(let future):
                do {
                    return try await future.get()
                } catch let error as RPCError {
                    throw error
                }
            }
        }
    }

    private func startConnecting(previousBackoff: Duration?) -> EventLoopFuture<Connection> {
        let loop = self.loop
        let target = configuration.target
        let readyPromise = loop.makePromise(of: Void.self)
        let configuration = self.configuration
        let sslContext = self.sslContext
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 256 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        var hostname: String?
                        if case .tcp(let host, _) = target { hostname = configuration.tls?.serverHostname ?? host }
                        let tlsHandler = try NIOSSLClientHandler(
                            context: sslContext,
                            serverHostname: hostname.flatMap { Self.isIPAddress($0) ? nil : $0 }
                        )
                        try channel.pipeline.syncOperations.addHandler(tlsHandler)
                    }
                    let handler = ClientConnectionHandler(
                        settings: configuration.settings,
                        compressionThreshold: configuration.compressionThreshold,
                        keepaliveInterval: configuration.keepaliveInterval,
                        keepaliveTimeout: configuration.keepaliveTimeout,
                        readyPromise: readyPromise
                    )
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let connect: EventLoopFuture<any Channel>
        switch target {
        case .tcp(let host, let port): connect = bootstrap.connect(host: host, port: port)
        case .unixSocket(let path): connect = bootstrap.connect(unixDomainSocketPath: path)
        }
        let timeout = loop.scheduleTask(in: TimeAmount(configuration.connectTimeout)) {
            readyPromise.fail(
                ClientConnectionFailure(
                    description: "no SETTINGS from the server within \(configuration.connectTimeout)"
                )
            )
        }
        let connection = connect.flatMap { channel -> EventLoopFuture<Connection> in
            let handler = try! channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self)
            let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
            handler.onUnusable = { [weak self] in self?.connectionUnusable(channel) }
            return readyPromise.futureResult.map { Connection(channel: channel, handler: bound) }
                .flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
        }
        connection.whenComplete { [self] result in
            timeout.cancel()
            state.withLock { state in
                guard case .connecting = state else { return }
                switch result {
                case .success(let connection):
                    state = .ready(connection)
                case .failure(let error):
                    let backoff = min(
                        (previousBackoff ?? configuration.reconnectBackoff.initial / 2) * 2,
                        configuration.reconnectBackoff.maximum
                    )
                    state = .idle(
                        lastFailure: Self.connectError(target, error),
                        retryAt: .now + backoff,
                        backoff: backoff
                    )
                }
            }
        }
        return connection.flatMapErrorThrowing { error in throw Self.connectError(target, error) }
    }

    private static func connectError(_ target: O2OServerTarget, _ error: any Error) -> RPCError {
        if let error = error as? RPCError { return error }
        return RPCError(code: .unavailable, message: "cannot connect to \(target): \(describe(error))", cause: error)
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case let error as ChannelError where error == .connectTimeout(.zero):
            return "connect timed out"
        case let error as IOError:
            return error.description
        default:
            let text = String(describing: error)
            if text.contains("connectTimeout") { return "connect timed out" }
            if text.contains("Connection refused") || text.contains("connection refused") {
                return "connection refused"
            }
            return text
        }
    }

    private static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// The connection can take no more calls: the next call opens a new one.
    private func connectionUnusable(_ channel: any Channel) {
        state.withLock { state in
            if case .ready(let connection) = state, connection.channel === channel {
                state = .idle(lastFailure: nil, retryAt: nil, backoff: nil)
            }
        }
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE, new ones too.
    public func close() async {
        let connection: Connection? = state.withLock { state in
            defer { state = .closed }
            if case .ready(let connection) = state { return connection }
            return nil
        }
        guard let connection else { return }
        connection.handler.runOnLoop { $0.close() }
        try? await connection.channel.closeFuture.get()
    }
}

/// Sends a streaming call's requests through its connection.
private struct ClientRequestSink: RPCOutboundMessageSink {
    let call: ClientCall
    let handler: NIOLoopBound<ClientConnectionHandler>
    let end: Bool

    func write(_ message: ByteBuffer) async throws { try await send(message) }

    func send(_ message: ByteBuffer?) async throws {
        try Task.checkCancellation()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            handler.runOnLoop { $0.enqueueRequest(call, message, end: end, continuation) }
        }
    }
}

/// Runs `body` with a client channel, closing it afterwards.
@discardableResult
public func withO2OClientChannel<Result: Sendable>(
    configuration: O2OClientConfiguration,
    _ body: (O2OClientChannel) async throws -> Result
) async throws -> Result {
    let channel = try O2OClientChannel(configuration: configuration)
    do {
        let result = try await body(channel)
        await channel.close()
        return result
    } catch {
        await channel.close()
        throw error
    }
}
