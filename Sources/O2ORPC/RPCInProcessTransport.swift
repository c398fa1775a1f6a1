public import NIOCore

/// Calls services in the same process, through the same router, interceptors,
/// encoding and error mapping a network server uses, but without sockets: for tests of
/// services and of clients.
public final class RPCInProcessTransport: RPCClientTransport {
    private let router: RPCRouter
    private let interceptors: RPCServerInterceptorChain
    /// Bytes a stream may buffer in each direction before the writer waits.
    private let streamBufferBytes: Int

    /// - Parameters:
    ///   - services: The services to host.
    ///   - interceptors: Server interceptors, outermost first.
    public init(
        services: [any RPCService],
        interceptors: [any RPCServerInterceptor] = [],
        streamBufferBytes: Int = 262_144
    ) {
        self.router = RPCRouter(services: services)
        self.interceptors = RPCServerInterceptorChain(interceptors)
        self.streamBufferBytes = streamBufferBytes
    }

    private func context(for method: RPCMethodDescriptor, options: RPCCallOptions) -> RPCServerContext {
        RPCServerContext(
            method: method,
            metadata: options.metadata,
            deadline: options.timeout.map { ContinuousClock.now + $0 },
            peer: "in-process"
        )
    }

    private func handler(for method: RPCMethodDescriptor) throws -> RPCMethodHandler {
        guard let handler = router.handler(forPath: method.path) else {
            throw RPCError(code: .unimplemented, message: "unknown method \(method.path)")
        }
        return handler
    }

    public func unary(
        _ method: RPCMethodDescriptor,
        request: ByteBuffer,
        options: RPCCallOptions
    ) async throws -> ByteBuffer {
        let handler = try handler(for: method)
        guard case .unary(let body) = handler.body else {
            throw RPCError(code: .unimplemented, message: "\(method.path) is not a unary method")
        }
        let context = context(for: method, options: options)
        let interceptors = self.interceptors
        do {
            return try await withRPCDeadline(options.timeout) {
                var response: ByteBuffer?
                try await interceptors.run(context) { context in
                    response = try await body(request, context)
                }
                return response!
            }
        } catch {
            throw rpcError(from: error, requestID: context.requestID)
        }
    }

    public func streaming<Result: Sendable>(
        _ method: RPCMethodDescriptor,
        options: RPCCallOptions,
        body: @Sendable (RPCClientStreams) async throws -> Result
    ) async throws -> Result {
        let handler = try handler(for: method)
        let context = context(for: method, options: options)
        let interceptors = self.interceptors
        let requests = RPCMessageQueue(capacity: streamBufferBytes)
        let responses = RPCMessageQueue(capacity: streamBufferBytes)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask {
                do {
                    try await withRPCDeadline(options.timeout) {
                        try await interceptors.run(context) { context in
                            switch handler.body {
                            case .streaming(let serve):
                                try await serve(requests, QueueSink(queue: responses), context)
                            case .unary(let serve):
                                guard let request = try await requests.next() else {
                                    throw RPCError(
                                        code: .invalidArgument,
                                        message: "\(method.path) expects one request message, got none"
                                    )
                                }
                                try await QueueSink(queue: responses).write(try await serve(request, context))
                            }
                        }
                    }
                    responses.finish()
                } catch {
                    responses.fail(rpcError(from: error, requestID: context.requestID))
                }
                // Whatever the client still sends goes nowhere.
                requests.fail(RPCError(code: .cancelled, message: "the call has ended"))
            }
            let streams = RPCClientStreams(
                requests: QueueSink(queue: requests),
                finishRequests: { requests.finish() },
                responses: responses
            )
            do {
                let result = try await body(streams)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    private struct QueueSink: RPCOutboundMessageSink {
        let queue: RPCMessageQueue

        func write(_ message: ByteBuffer) async throws {
            try Task.checkCancellation()
            queue.push(message)
            try await queue.waitForSpace()
        }
    }
}

/// Runs `body`, cancelling it and throwing DEADLINE_EXCEEDED once `timeout` has passed.
public func withRPCDeadline<Value: Sendable>(
    _ timeout: Duration?,
    _ body: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    guard let timeout else { return try await body() }
    return try await withThrowingTaskGroup(of: Value?.self, returning: Value.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let value = try await group.next()! else {
            throw RPCError(code: .deadlineExceeded, message: "deadline of \(timeout) exceeded")
        }
        return value
    }
}

/// A client transport that runs client interceptors around another transport's calls.
public struct RPCInterceptingTransport: RPCClientTransport {
    public let base: any RPCClientTransport
    public let interceptors: RPCClientInterceptorChain

    public init(base: any RPCClientTransport, interceptors: [any RPCClientInterceptor]) {
        self.base = base
        self.interceptors = RPCClientInterceptorChain(interceptors)
    }

    public func unary(
        _ method: RPCMethodDescriptor,
        request: ByteBuffer,
        options: RPCCallOptions
    ) async throws -> ByteBuffer {
        var response: ByteBuffer?
        try await interceptors.run(method, options) { options in
            response = try await base.unary(method, request: request, options: options)
        }
        return response!
    }

    public func streaming<Result: Sendable>(
        _ method: RPCMethodDescriptor,
        options: RPCCallOptions,
        body: @Sendable (RPCClientStreams) async throws -> Result
    ) async throws -> Result {
        var result: Result?
        try await interceptors.run(method, options) { options in
            result = try await base.streaming(method, options: options, body: body)
        }
        return result!
    }
}
