import Logging
import NIOCore
import O2OProtobuf
import O2ORPC
import O2ORPCMessages

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Serves one connection: decodes frames, drives the connection state machine, runs
/// each call's handler as a Swift task, and writes responses with flow control and
/// batched flushes. Everything here runs on the connection's event loop.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// One call in progress.
    private final class Call {
        let streamID: UInt32
        let handler: RPCMethodHandler
        let context: RPCServerContext
        var task: Task<Void, Never>?
        /// Streaming calls: the request messages.
        var requests: RPCMessageQueue?
        /// Unary calls: the request, until the handler starts.
        var unaryRequest: ByteBuffer?
        /// Frames waiting for flow-control window or socket writability, in order
        /// (an array: it is short, and empty arrays cost no allocation).
        var pending: [PendingWrite] = []
        var deadlineTimer: Scheduled<Void>?

        init(streamID: UInt32, handler: RPCMethodHandler, context: RPCServerContext) {
            self.streamID = streamID
            self.handler = handler
            self.context = context
        }
    }

    private enum PendingWrite {
        /// A response message; the continuation resumes once it is written.
        case message(OutboundMessage, CheckedContinuation<Void, any Error>?)
        /// The end of the call: nil for OK.
        case trailers(RPCError?)
    }

    private let shared: ServerSharedState
    private let connectionID: UInt64
    private var state: ServerConnectionStateMachine
    private var decoder: NIOSingleStepByteToMessageProcessor<FrameDecoder>
    private var calls: [UInt32: Call] = [:]
    private var context: ChannelHandlerContext!
    private var taskExecutor: EventLoopTaskExecutor?
    private var zstd: ZstdCodec?
    private var logger: Logger

    /// Handlers by the exact bytes of a HEADERS payload that names only a method: most
    /// calls send nothing else, and then the header need not be decoded at all.
    private var headerCache: [ByteBuffer: RPCMethodHandler] = [:]

    private var needsFlush = false
    private var flushScheduled = false
    private var inReadLoop = false
    private var settingsTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var graceTimer: Scheduled<Void>?
    private var closing = false

    // For the admin service.
    private var peer = "unknown"
    private var openedAt = 0.0
    private var agent = ""
    fileprivate var lastPrincipal = ""
    private var callsStarted: UInt64 = 0
    private var bytesReceived: UInt64 = 0
    private var bytesSent: UInt64 = 0

    init(shared: ServerSharedState, connectionID: UInt64) {
        self.shared = shared
        self.connectionID = connectionID
        self.state = ServerConnectionStateMachine(local: shared.options.settings)
        self.decoder = NIOSingleStepByteToMessageProcessor(
            FrameDecoder(maximumFrameSize: shared.options.settings.maximumFrameSize, expectPreface: true),
            maximumBufferSize: shared.options.settings.maximumFrameSize + Wire.frameHeaderSize + 1
        )
        var logger = shared.logger
        logger[metadataKey: "connection.id"] = "\(connectionID)"
        self.logger = logger
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if shared.options.handlerExecution == .eventLoop {
            taskExecutor = EventLoopTaskExecutor(loop: context.eventLoop)
        }
        if let address = context.channel.remoteAddress {
            peer = address.description
        } else {
            peer = "unix"
        }
        openedAt = wallClockSeconds()
        shared.registry.register(connectionID, NIOLoopBound(self, eventLoop: context.eventLoop))
        let timeout = shared.options.settingsTimeout
        settingsTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [self] in
            connectionError(ConnectionError(.settingsTimeout, "preface and SETTINGS not received within \(timeout)"))
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        shared.registry.unregister(connectionID)
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let buffer = unwrapInboundIn(data)
        bytesReceived += UInt64(buffer.readableBytes)
        inReadLoop = true
        do {
            try decoder.process(buffer: buffer) { unit in
                guard !closing else { return }
                try handle(unit)
            }
        } catch let error as ConnectionError {
            connectionError(error)
        } catch {
            connectionError(ConnectionError(.internalError, "\(error)"))
        }
        inReadLoop = false
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushNow()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        state.close()
        settingsTimer?.cancel()
        idleTimer?.cancel()
        graceTimer?.cancel()
        let gone = RPCError(code: .unavailable, message: "connection closed")
        for call in calls.values { abandon(call, error: gone) }
        calls.removeAll()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            for call in calls.values { processPending(call) }
            flushSoon()
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: - Frames

    private func handle(_ unit: InboundUnit) throws {
        guard case .frame(let frame) = unit else {
            state.receivedPreface()
            writeSettings()
            return
        }
        switch frame.type {
        case .settings:
            let settings = try decodeControl(WireSettings.self, frame)
            try state.receivedSettings(settings)
            agent = state.peer.agent
            settingsTimer?.cancel()
            settingsTimer = nil
            if state.peer.acceptsZstd || shared.options.settings.acceptsZstd {
                zstd = ZstdCodec(level: shared.options.compressionLevel)
            }
            armIdleTimer()
        case .headers:
            let endStream = frame.flags.contains(.endStream)
            let cached = headerCache[frame.payload]
            let header = cached == nil ? try decodeControl(WireCallHeader.self, frame) : nil
            switch try state.receivedHeaders(streamID: frame.streamID, endStream: endStream) {
            case .open:
                if let cached {
                    startCall(
                        streamID: frame.streamID,
                        handler: cached,
                        metadata: RPCMetadata(),
                        timeoutMicros: 0,
                        endStream: endStream
                    )
                } else if let header {
                    startCall(streamID: frame.streamID, header: header, payload: frame.payload, endStream: endStream)
                }
            case .reject(let code, let message):
                writeTrailers(
                    streamID: frame.streamID,
                    error: RPCError(code: code, message: message),
                    requestID: Self.requestID(in: header)
                )
            case .ignore:
                break
            }
        case .message:
            let endStream = frame.flags.contains(.endStream)
            let length = frame.windowLength(limit: shared.options.settings.maximumMessageSize)
            switch try state.receivedMessage(streamID: frame.streamID, length: length, endStream: endStream) {
            case .deliver:
                deliver(frame, windowLength: length)
            case .ignore(let updates):
                writeWindowUpdates(updates)
            }
        case .halfClose:
            if try state.receivedHalfClose(streamID: frame.streamID) == .endOfRequests {
                endOfRequests(streamID: frame.streamID)
            }
        case .cancel:
            let cancel = try decodeControl(WireCancel.self, frame)
            guard cancel.reason.utf8.count <= 256 else {
                throw ConnectionError(.protocolError, "CANCEL reason longer than 256 bytes")
            }
            if try state.receivedCancel(streamID: frame.streamID, now: .now) == .cancel,
                let call = calls.removeValue(forKey: frame.streamID)
            {
                abandon(call, error: RPCError(code: .cancelled, message: "cancelled by the client"))
                streamClosed()
            }
        case .windowUpdate:
            guard frame.payload.readableBytes == 4,
                let raw = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self)
            else { throw ConnectionError(.frameSize, "WINDOW_UPDATE payload must be 4 bytes") }
            switch try state.receivedWindowUpdate(streamID: frame.streamID, increment: Int(raw & 0x7fff_ffff)) {
            case .resumeStream(let id):
                if let call = calls[id] { processPending(call) }
            case .resumeAll:
                for call in calls.values { processPending(call) }
            case .ignore:
                break
            }
        case .ping:
            guard frame.streamID == 0 else { throw ConnectionError(.protocolError, "PING on stream \(frame.streamID)") }
            guard frame.payload.readableBytes == 8 else {
                throw ConnectionError(.frameSize, "PING payload must be 8 bytes")
            }
            if try state.receivedPing(ack: frame.flags.contains(.ack), now: .now) == .acknowledge {
                var out = context.channel.allocator.buffer(capacity: Wire.frameHeaderSize + 8)
                out.writeFrame(type: .ping, flags: .ack, streamID: 0, payload: frame.payload)
                write(out)
            }
        case .goAway:
            guard frame.streamID == 0 else {
                throw ConnectionError(.protocolError, "GOAWAY on stream \(frame.streamID)")
            }
            _ = try decodeControl(WireGoAway.self, frame)
            state.receivedGoAway()
            if calls.isEmpty { closeConnection() }
        case .trailers:
            throw ConnectionError(.protocolError, "TRAILERS from a client")
        }
    }

    private func decodeControl<Message: O2OMessage>(_ type: Message.Type, _ frame: Frame) throws -> Message {
        if frame.type.isConnectionLevel, frame.streamID != 0 {
            throw ConnectionError(.protocolError, "\(frame.type) on stream \(frame.streamID)")
        }
        do {
            return try Message(serializedBytes: frame.payload)
        } catch {
            throw ConnectionError(.protocolError, "malformed \(frame.type) payload: \(error)")
        }
    }

    // MARK: - Calls

    private func startCall(streamID: UInt32, header: WireCallHeader, payload: ByteBuffer, endStream: Bool) {
        guard header.method.utf8.count <= 256 else {
            return rejectOpenStream(
                streamID,
                RPCError(code: .invalidArgument, message: "method path longer than 256 bytes"),
                header: header
            )
        }
        guard let handler = shared.executor.router.handler(forPath: header.method) else {
            return rejectOpenStream(streamID, shared.executor.router.unservedMethod(header.method), header: header)
        }
        if header.metadata.isEmpty, header.timeoutMicros == 0, headerCache.count < 1024 {
            // A copy: the payload is a slice of a large read buffer.
            headerCache[ByteBuffer(bytes: payload.readableBytesView)] = handler
        }
        switch CallHeaderMetadata.metadata(from: header.metadata) {
        case .success(let metadata):
            startCall(
                streamID: streamID,
                handler: handler,
                metadata: metadata,
                timeoutMicros: header.timeoutMicros,
                endStream: endStream
            )
        case .failure(let error):
            rejectOpenStream(streamID, error, header: header)
        }
    }

    private func startCall(
        streamID: UInt32,
        handler: RPCMethodHandler,
        metadata: RPCMetadata,
        timeoutMicros: UInt64,
        endStream: Bool
    ) {
        idleTimer?.cancel()
        idleTimer = nil
        callsStarted += 1
        let micros = Int64(min(timeoutMicros, 86_400_000_000 * 365))
        let callContext = RPCServerContext(
            method: handler.method,
            metadata: metadata,
            deadline: micros > 0 ? .now + .microseconds(micros) : nil,
            peer: peer
        )
        let call = Call(streamID: streamID, handler: handler, context: callContext)
        calls[streamID] = call
        if micros > 0 {
            call.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .microseconds(micros)) { [self] in
                failCall(streamID, RPCServerCallExecutor.deadlineExceeded)
            }
        }
        switch handler.body {
        case .unary:
            if endStream { failCall(streamID, RPCServerCallExecutor.missingRequest(handler.method)) }
        case .streaming(let body):
            let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
            let queue = RPCMessageQueue(capacity: Int.max) { length in
                loop.runOnLoop { $0.consumed(streamID: streamID, length: length) }
            }
            call.requests = queue
            if endStream { queue.finish() }
            let sink = ServerStreamSink(handler: loop, streamID: streamID)
            let executor = shared.executor
            call.task = spawn { [callContext] in
                let outcome = await executor.runStreaming(body, requests: queue, responses: sink, context: callContext)
                loop.runOnLoop { handler in
                    if let caller = outcome.principal { handler.lastPrincipal = caller.name }
                    handler.finishCall(streamID, error: outcome.error)
                }
            }
        }
    }

    /// Ends a stream the state machine opened but no call was set up for.
    /// Ends a call refused before it started; its TRAILERS carry the request id, as
    /// every error's do (docs/PROTOCOL.md §9).
    private func rejectOpenStream(_ streamID: UInt32, _ error: RPCError, header: WireCallHeader) {
        state.closed(streamID: streamID)
        writeTrailers(streamID: streamID, error: error, requestID: Self.requestID(in: header))
        streamClosed()
    }

    /// The client's request id from a call's header when valid, or a new one.
    static func requestID(in header: WireCallHeader?) -> String {
        for entry in header?.metadata ?? [] where entry.key == RPCMetadata.Keys.requestID {
            if case .text(let id)? = entry.value, RPCRequestIDs.isValid(id) { return id }
        }
        return RPCRequestIDs.make()
    }

    private func startUnary(_ call: Call, request: ByteBuffer) {
        guard case .unary(let body) = call.handler.body else { return }
        let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
        let streamID = call.streamID
        let callContext = call.context
        let executor = shared.executor
        call.task = spawn {
            let outcome = await executor.runUnary(body, request: request, context: callContext)
            loop.runOnLoop { handler in
                if let caller = outcome.principal { handler.lastPrincipal = caller.name }
                if let response = outcome.response {
                    handler.finishUnary(streamID, response: response)
                } else {
                    handler.finishCall(streamID, error: outcome.error)
                }
            }
        }
    }

    /// Starts a handler task, on the event loop when so configured.
    private func spawn(_ operation: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        Task(executorPreference: taskExecutor, operation: operation)
    }

    private func deliver(_ frame: Frame, windowLength length: Int) {
        guard let call = calls[frame.streamID] else { return }
        let endStream = frame.flags.contains(.endStream)
        let message: ByteBuffer
        switch decodeMessage(frame) {
        case .success(let decoded): message = decoded
        case .failure(let error):
            writeWindowUpdates(state.consumed(streamID: frame.streamID, length: length))
            return failCall(frame.streamID, error)
        }
        switch call.handler.body {
        case .unary:
            // Unary requests are consumed at once: credit the window now.
            writeWindowUpdates(state.consumed(streamID: frame.streamID, length: length))
            guard call.unaryRequest == nil, call.task == nil else {
                return failCall(frame.streamID, RPCServerCallExecutor.extraRequest(call.handler.method))
            }
            if endStream {
                startUnary(call, request: message)
            } else {
                call.unaryRequest = message
            }
        case .streaming:
            call.requests?.push(message)
            if endStream { call.requests?.finish() }
        }
    }

    private func decodeMessage(_ frame: Frame) -> Result<ByteBuffer, RPCError> {
        let limit = shared.options.settings.maximumMessageSize
        guard frame.flags.contains(.compressed) else {
            guard frame.payload.readableBytes <= limit else {
                return .failure(
                    RPCError(
                        code: .resourceExhausted,
                        message: "message of \(frame.payload.readableBytes) bytes exceeds the limit of \(limit)"
                    )
                )
            }
            return .success(frame.payload)
        }
        guard shared.options.settings.acceptsZstd, let zstd else {
            return .failure(
                RPCError(
                    code: .invalidArgument,
                    message: "compressed message, but this server did not accept compression"
                )
            )
        }
        do {
            return .success(
                try zstd.decompress(frame.payload, maximumSize: limit, allocator: context.channel.allocator)
            )
        } catch {
            if case .tooLarge = error { return .failure(RPCError(code: .resourceExhausted, message: "\(error)")) }
            return .failure(RPCError(code: .invalidArgument, message: "\(error)"))
        }
    }

    private func endOfRequests(streamID: UInt32) {
        guard let call = calls[streamID] else { return }
        switch call.handler.body {
        case .unary:
            if let request = call.unaryRequest {
                call.unaryRequest = nil
                startUnary(call, request: request)
            } else if call.task == nil {
                failCall(streamID, RPCServerCallExecutor.missingRequest(call.handler.method))
            }
        case .streaming:
            call.requests?.finish()
        }
    }

    /// The application read `length` bytes of a stream's requests.
    fileprivate func consumed(streamID: UInt32, length: Int) {
        writeWindowUpdates(state.consumed(streamID: streamID, length: length))
        flushSoon()
    }

    /// A unary handler returned.
    private func finishUnary(_ streamID: UInt32, response: ByteBuffer) {
        guard let call = calls[streamID] else { return }
        call.deadlineTimer?.cancel()
        let outbound = prepare(response)
        if let error = refusal(outbound) { return finishCall(streamID, error: error) }
        // The usual case: nothing queued and window to spare; write at once.
        if call.pending.isEmpty, state.reserveToSend(streamID: streamID, length: outbound.windowLength) {
            writeMessage(streamID: streamID, outbound, appendingOKTrailers: true)
            return endStream(call)
        }
        call.pending.append(.message(outbound, nil))
        call.pending.append(.trailers(nil))
        processPending(call)
    }

    /// A handler ended; nil means OK.
    fileprivate func finishCall(_ streamID: UInt32, error: RPCError?) {
        guard let call = calls[streamID] else { return }
        call.deadlineTimer?.cancel()
        call.pending.append(.trailers(error))
        processPending(call)
    }

    /// Ends a call at once with an error (deadline, bad request message): the handler
    /// is cancelled and queued responses are dropped.
    private func failCall(_ streamID: UInt32, _ error: RPCError) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        abandon(call, error: error)
        state.closed(streamID: streamID)
        writeTrailers(streamID: streamID, error: error, requestID: call.context.requestID)
        streamClosed()
    }

    /// Stops everything a call has going: its task, its request stream, its writers.
    private func abandon(_ call: Call, error: RPCError) {
        call.deadlineTimer?.cancel()
        call.task?.cancel()
        call.requests?.fail(error)
        for write in call.pending {
            if case .message(_, let continuation?) = write { continuation.resume(throwing: error) }
        }
        call.pending.removeAll()
    }

    // MARK: - Writing

    /// A streaming handler wants to send a message.
    fileprivate func enqueueMessage(
        _ streamID: UInt32,
        _ message: ByteBuffer,
        _ continuation: CheckedContinuation<Void, any Error>
    ) {
        guard let call = calls[streamID] else {
            continuation.resume(throwing: RPCError(code: .cancelled, message: "the call has ended"))
            return
        }
        let outbound = prepare(message)
        if let error = refusal(outbound) { return continuation.resume(throwing: error) }
        call.pending.append(.message(outbound, continuation))
        processPending(call)
    }

    /// Why the client cannot take a response, if it cannot: larger than the
    /// `max_message_size` or, as sent, the `max_frame_size` of its SETTINGS. The call
    /// then ends with RESOURCE_EXHAUSTED instead of a frame that would end the client's
    /// connection.
    private func refusal(_ message: OutboundMessage) -> RPCError? {
        let peer = state.peer
        if message.windowLength > peer.maximumMessageSize {
            return RPCError(
                code: .resourceExhausted,
                message:
                    "response of \(message.windowLength) bytes exceeds the client's max_message_size of \(peer.maximumMessageSize)"
            )
        }
        if message.payload.readableBytes > peer.maximumFrameSize {
            return RPCError(
                code: .resourceExhausted,
                message:
                    "response of \(message.payload.readableBytes) bytes on the wire exceeds the client's max_frame_size of \(peer.maximumFrameSize)"
            )
        }
        return nil
    }

    /// Writes what the window and the socket allow, in order.
    private func processPending(_ call: Call) {
        guard context != nil else { return }
        while let next = call.pending.first {
            switch next {
            case .message(let message, let continuation):
                // Unary responses (no continuation) do not wait for writability: they
                // are bounded by the number of streams.
                guard context.channel.isWritable || continuation == nil,
                    state.reserveToSend(streamID: call.streamID, length: message.windowLength)
                else { return }
                call.pending.removeFirst()
                let okTrailersNext: Bool
                if case .trailers(nil)? = call.pending.first { okTrailersNext = true } else { okTrailersNext = false }
                writeMessage(streamID: call.streamID, message, appendingOKTrailers: okTrailersNext)
                continuation?.resume()
                if okTrailersNext {
                    call.pending.removeFirst()
                    endStream(call)
                    return
                }
            case .trailers(let error):
                call.pending.removeFirst()
                writeTrailers(streamID: call.streamID, error: error, requestID: call.context.requestID)
                endStream(call)
                return
            }
        }
    }

    /// TRAILERS went out: forget the stream.
    private func endStream(_ call: Call) {
        call.deadlineTimer?.cancel()
        calls.removeValue(forKey: call.streamID)
        state.closed(streamID: call.streamID)
        streamClosed()
    }

    /// The response as it goes on the wire: compressed when the client accepts zstd
    /// and the message reaches the threshold.
    private func prepare(_ message: ByteBuffer) -> OutboundMessage {
        let compress =
            zstd != nil && state.peer.acceptsZstd && message.readableBytes >= shared.options.compressionThreshold
        // A handler may finish after the channel went away; its answer is then dropped later.
        return OutboundMessage(
            message,
            compressingWith: compress ? zstd : nil,
            allocator: context?.channel.allocator ?? ByteBufferAllocator()
        )
    }

    /// Writes a MESSAGE frame, followed by an empty (OK) TRAILERS frame when
    /// `appendingOKTrailers`.
    private func writeMessage(streamID: UInt32, _ message: OutboundMessage, appendingOKTrailers: Bool) {
        var out = message.frame(
            streamID: streamID,
            flags: [],
            spare: Wire.frameHeaderSize,
            allocator: context.channel.allocator
        )
        if appendingOKTrailers {
            out.writeFrameHeader(length: 0, type: .trailers, flags: [], streamID: streamID)
        }
        write(out)
    }

    /// Writes TRAILERS: empty for OK; for an error, its status, details and the
    /// request id.
    private func writeTrailers(streamID: UInt32, error: RPCError?, requestID: String? = nil) {
        var out = context.channel.allocator.buffer(capacity: 64)
        guard let error else {
            out.writeFrameHeader(length: 0, type: .trailers, flags: [], streamID: streamID)
            return write(out)
        }
        var trailers = WireTrailers()
        trailers.code = UInt32(error.code.rawValue)
        trailers.message = error.message
        trailers.fieldViolations = error.fieldViolations.map {
            WireFieldViolation(field: $0.field, description: $0.description)
        }
        if let retryAfter = error.retryAfter {
            trailers.retryAfterMs = UInt64(
                max(0, retryAfter.components.seconds * 1000 + retryAfter.components.attoseconds / 1_000_000_000_000_000)
            )
        }
        trailers.metadata = error.metadata.entries.map(Self.wireEntry)
        if let requestID {
            trailers.metadata.append(WireMetadataEntry(key: RPCMetadata.Keys.requestID, value: .text(requestID)))
        }
        out.writeFrame(type: .trailers, streamID: streamID) { trailers.serialize(into: &$0) }
        write(out)
    }

    private func writeSettings() {
        var out = context.channel.allocator.buffer(capacity: 64)
        let settings = shared.options.settings.wire
        out.writeFrame(type: .settings, streamID: 0) { settings.serialize(into: &$0) }
        write(out)
        flushNow()
    }

    private func writeWindowUpdates(_ updates: WindowUpdates) {
        guard !updates.isEmpty else { return }
        var out = context.channel.allocator.buffer(capacity: 2 * (Wire.frameHeaderSize + 4))
        if let increment = updates.connection {
            out.writeFrameHeader(length: 4, type: .windowUpdate, flags: [], streamID: 0)
            out.writeInteger(UInt32(increment))
        }
        if let stream = updates.stream {
            out.writeFrameHeader(length: 4, type: .windowUpdate, flags: [], streamID: stream.id)
            out.writeInteger(UInt32(stream.increment))
        }
        write(out)
    }

    private func write(_ buffer: ByteBuffer) {
        bytesSent += UInt64(buffer.readableBytes)
        context.write(wrapOutboundOut(buffer), promise: nil)
        needsFlush = true
        flushSoon()
    }

    /// Flushes at the end of the current read batch, or after the tasks already
    /// queued on the event loop, so that responses finishing together share a flush.
    private func flushSoon() {
        guard needsFlush, !inReadLoop, !flushScheduled, context != nil else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            flushNow()
        }
    }

    private func flushNow() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    // MARK: - Lifecycle

    /// A stream ended: maybe the connection is now idle, or done draining.
    private func streamClosed() {
        guard calls.isEmpty else { return }
        if state.isDraining {
            closeConnection()
        } else {
            armIdleTimer()
        }
    }

    private func armIdleTimer() {
        idleTimer?.cancel()
        let timeout = shared.options.idleTimeout
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [self] in
            guard calls.isEmpty, !closing else { return }
            sendGoAway(lastStreamID: state.beginDraining(), code: .noError, message: "idle")
            closeConnection()
        }
    }

    /// Starts a graceful shutdown: GOAWAY now; calls in flight get `grace` to finish,
    /// then end with UNAVAILABLE.
    func drain(grace: Duration) {
        guard !closing, context != nil else { return }
        let last = state.beginDraining()
        sendGoAway(lastStreamID: last, code: .noError, message: "server shutting down")
        guard !calls.isEmpty else { return closeConnection() }
        graceTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(grace)) { [self] in
            for id in Array(calls.keys) {
                failCall(id, RPCError(code: .unavailable, message: "server shutting down"))
            }
            closeConnection()
        }
    }

    private func connectionError(_ error: ConnectionError) {
        guard !closing, context != nil else { return }
        logger.info("closing connection", metadata: ["error": "\(error.message)", "peer": "\(peer)"])
        sendGoAway(lastStreamID: state.highestStreamID, code: error.code, message: error.message)
        closeConnection()
    }

    private func sendGoAway(lastStreamID: UInt32, code: ConnectionError.Code, message: String) {
        var goAway = WireGoAway()
        goAway.lastStreamID = lastStreamID
        goAway.error = WireError(rawValue: code.rawValue)
        goAway.message = message
        var out = context.channel.allocator.buffer(capacity: 64)
        out.writeFrame(type: .goAway, streamID: 0) { goAway.serialize(into: &$0) }
        write(out)
        flushNow()
    }

    private func closeConnection() {
        guard !closing, let context else { return }
        closing = true
        state.close()
        flushNow()
        let gone = RPCError(code: .unavailable, message: "connection closed")
        for call in calls.values { abandon(call, error: gone) }
        calls.removeAll()
        context.close(promise: nil)
    }

    func snapshot() -> O2OConnectionSnapshot {
        O2OConnectionSnapshot(
            id: connectionID,
            peer: peer,
            openedAt: openedAt,
            principal: lastPrincipal,
            openStreams: calls.count,
            callsStarted: callsStarted,
            bytesReceived: bytesReceived,
            bytesSent: bytesSent,
            compression: zstd != nil && state.peer.acceptsZstd,
            agent: agent
        )
    }

    // MARK: - Metadata

    static func wireEntry(_ entry: RPCMetadata.Entry) -> WireMetadataEntry {
        switch entry.value {
        case .text(let text): WireMetadataEntry(key: entry.key, value: .text(text))
        case .binary(let bytes): WireMetadataEntry(key: entry.key, value: .binary(bytes))
        }
    }
}

/// Sends a streaming handler's messages through its connection, waiting while the
/// client's window is closed or the socket is full.
private struct ServerStreamSink: RPCOutboundMessageSink {
    let handler: NIOLoopBound<ServerConnectionHandler>
    let streamID: UInt32

    func write(_ message: ByteBuffer) async throws {
        try Task.checkCancellation()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            handler.runOnLoop { $0.enqueueMessage(streamID, message, continuation) }
        }
    }
}

extension NIOLoopBound where Value: AnyObject {
    /// Runs `body` with the value on its event loop: now when already there.
    func runOnLoop(_ body: @escaping @Sendable (Value) -> Void) {
        if eventLoop.inEventLoop {
            body(value)
        } else {
            eventLoop.execute { body(self.value) }
        }
    }
}

func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
