public import NIOCore

/// Calls services in the same process, through the same call executor (router,
/// interceptors, error mapping) a network server uses, but without sockets: for tests
/// of services and of clients.
public final class RPCInProcessTransport: RPCClientTransport {
    private let executor: RPCServerCallExecutor
    /// Bytes a stream may buffer in each direction before the writer waits.
    private let streamBufferBytes: Int

    /// - Parameters:
    ///   - services: The services to host.
    ///   - interceptors: Server interceptors, outermost first.
    ///   - errorMapping: What turns the handlers' own errors into statuses.
    public init(
        services: [any RPCService],
        interceptors: [any RPCServerInterceptor] = [],
        errorMapping: (any RPCServerErrorMapping)? = nil,
        streamBufferBytes: Int = 262_144
    ) {
        self.executor = RPCServerCallExecutor(
            services: services,
            interceptors: interceptors,
            errorMapping: errorMapping
        )
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
        guard let handler = executor.router.handler(forPath: method.path) else {
            throw executor.router.unservedMethod(method.path)
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
        let executor = self.executor
        let outcome = try await withRPCDeadline(options.timeout) {
            await executor.runUnary(body, request: request, context: context)
        }
        if let error = outcome.error { throw error }
        return outcome.response ?? ByteBuffer()
    }

    public func streaming<Result: Sendable>(
        _ method: RPCMethodDescriptor,
        options: RPCCallOptions,
        body: @Sendable (RPCClientStreams) async throws -> Result
    ) async throws -> Result {
        let handler = try handler(for: method)
        let context = context(for: method, options: options)
        let executor = self.executor
        let requests = RPCMessageQueue(capacity: streamBufferBytes)
        let responses = RPCMessageQueue(capacity: streamBufferBytes)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask {
                do {
                    let outcome = try await withRPCDeadline(options.timeout) {
                        switch handler.body {
                        case .streaming(let serve):
                            return await executor.runStreaming(
                                serve,
                                requests: requests,
                                responses: QueueSink(queue: responses),
                                context: context
                            )
                        case .unary(let serve):
                            guard let request = try await requests.next() else {
                                return RPCServerCallOutcome(error: RPCServerCallExecutor.missingRequest(method))
                            }
                            var outcome = await executor.runUnary(serve, request: request, context: context)
                            if let response = outcome.response {
                                try await QueueSink(queue: responses).write(response)
                                outcome.response = nil
                            }
                            return outcome
                        }
                    }
                    if let error = outcome.error { responses.fail(error) } else { responses.finish() }
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

/// Runs `body`, cancelling it and throwing DEADLINE_EXCEEDED once `timeout` has passed:
/// the in-process transport's deadline timer (the NIO server's is its event loop's).
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
        guard let value = try await group.next()! else { throw RPCServerCallExecutor.deadlineExceeded }
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
