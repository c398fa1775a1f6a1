import NIOCore
import O2OProtobuf
import O2ORPC
import O2ORPCMessages

/// One call on a client connection, shared between the caller's task and the event
/// loop. Its mutable state is touched only on the event loop.
final class ClientCall: @unchecked Sendable {
    // @unchecked: every var below is read and written on the connection's event loop
    // only (the handler's methods); the caller's task only holds the reference.
    enum Kind {
        /// Resumed with the response when TRAILERS arrive.
        case unary(UnsafeContinuation<ByteBuffer, any Error>?)
        /// Responses go into the queue; TRAILERS end it.
        case streaming(RPCMessageQueue)
    }

    let method: RPCMethodDescriptor
    let options: RPCCallOptions
    var kind: Kind
    var streamID: UInt32?
    var response: ByteBuffer?
    var cancelled = false
    var deadlineTimer: Scheduled<Void>?
    /// A unary call's request, until its stream opens.
    var unaryRequest: ByteBuffer?
    /// Request messages (nil: a half-close) waiting for window or writability, with
    /// their writers. An array: it is short, and an empty one costs no allocation.
    var pending: [PendingRequest] = []

    struct PendingRequest {
        var message: ByteBuffer?
        var end: Bool
        var continuation: CheckedContinuation<Void, any Error>?
        /// The message as it goes on the wire, once made (compressed at most once).
        var prepared: OutboundMessage?
    }

    init(method: RPCMethodDescriptor, options: RPCCallOptions, kind: Kind) {
        self.method = method
        self.options = options
        self.kind = kind
    }
}

/// Why the connection as a whole failed, for calls and for the channel that owns it.
struct ClientConnectionFailure: Error, CustomStringConvertible {
    var description: String
}

/// The client side of one connection: opens streams for calls, writes requests with
/// flow control and batched flushes, and completes calls from MESSAGE and TRAILERS
/// frames. Everything runs on the connection's event loop.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var state: ClientConnectionStateMachine
    private var decoder: NIOSingleStepByteToMessageProcessor<FrameDecoder>
    private var context: ChannelHandlerContext!
    private var calls: [UInt32: ClientCall] = [:]
    /// Calls waiting for the server's SETTINGS or for a free stream.
    private var waiting: CircularBuffer<ClientCall> = CircularBuffer(initialCapacity: 8)
    private var zstd: ZstdCodec?
    private let compressionThreshold: Int
    private let keepaliveInterval: Duration
    private let keepaliveTimeout: Duration
    private let agent: String
    /// Encoded `WireCallHeader`s holding only the method, by path: most calls send
    /// nothing else, so their header costs no encoding.
    private var headerCache: [String: ByteBuffer] = [:]

    private var needsFlush = false
    private var flushScheduled = false
    private var inReadLoop = false
    private var keepaliveTimer: Scheduled<Void>?
    private var pingTimeoutTimer: Scheduled<Void>?
    private var failure: ClientConnectionFailure?
    /// Called on the event loop when the connection can take no more calls (GOAWAY,
    /// error, close), so the owner opens a new one.
    var onUnusable: (() -> Void)?
    private var reportedUnusable = false

    let readyPromise: EventLoopPromise<Void>

    init(
        settings: O2OConnectionSettings,
        compressionThreshold: Int,
        keepaliveInterval: Duration,
        keepaliveTimeout: Duration,
        readyPromise: EventLoopPromise<Void>
    ) {
        self.state = ClientConnectionStateMachine(local: settings)
        self.decoder = NIOSingleStepByteToMessageProcessor(
            FrameDecoder(maximumFrameSize: settings.maximumFrameSize, expectPreface: false),
            maximumBufferSize: settings.maximumFrameSize + Wire.frameHeaderSize + 1
        )
        self.compressionThreshold = compressionThreshold
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
        self.agent = settings.agent
        self.readyPromise = readyPromise
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { sendPrefaceAndSettings() }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendPrefaceAndSettings()
        context.fireChannelActive()
    }

    private var sentPreface = false

    private func sendPrefaceAndSettings() {
        guard !sentPreface else { return }
        sentPreface = true
        var out = context.channel.allocator.buffer(capacity: 64)
        out.writeBytes(Wire.preface)
        let settings = state.local.wire
        out.writeFrame(type: .settings, streamID: 0) { settings.serialize(into: &$0) }
        write(out)
        flushNow()
        armKeepalive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        inReadLoop = true
        armKeepalive()
        do {
            try decoder.process(buffer: unwrapInboundIn(data)) { unit in
                guard failure == nil, case .frame(let frame) = unit else { return }
                try handle(frame)
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
        fail(ClientConnectionFailure(description: failure?.description ?? "connection closed by the server"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(ClientConnectionFailure(description: "\(error)"))
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            for call in calls.values { processPending(call) }
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: - Frames

    private func handle(_ frame: Frame) throws {
        switch frame.type {
        case .settings:
            guard frame.streamID == 0 else {
                throw ConnectionError(.protocolError, "SETTINGS on stream \(frame.streamID)")
            }
            let settings: WireSettings
            do { settings = try WireSettings(serializedBytes: frame.payload) } catch {
                throw ConnectionError(.protocolError, "malformed SETTINGS payload: \(error)")
            }
            try state.receivedSettings(settings)
            if state.peer.acceptsZstd || state.local.acceptsZstd { zstd = ZstdCodec(level: 1) }
            readyPromise.succeed()
            startWaitingCalls()
        case .message:
            let length = frame.windowLength(limit: state.local.maximumMessageSize)
            switch try state.receivedMessage(streamID: frame.streamID, length: length) {
            case .ignore(let updates): writeWindowUpdates(updates)
            case .deliver: deliver(frame, windowLength: length)
            }
        case .trailers:
            guard try state.receivedTrailers(streamID: frame.streamID),
                let call = calls.removeValue(forKey: frame.streamID)
            else { return }
            call.deadlineTimer?.cancel()
            finish(call, trailers: frame.payload)
            startWaitingCalls()
        case .windowUpdate:
            guard frame.payload.readableBytes == 4,
                let raw = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt32.self)
            else { throw ConnectionError(.frameSize, "WINDOW_UPDATE payload must be 4 bytes") }
            switch try state.receivedWindowUpdate(streamID: frame.streamID, increment: Int(raw & 0x7fff_ffff)) {
            case .resumeStream(let id): if let call = calls[id] { processPending(call) }
            case .resumeAll: for call in calls.values { processPending(call) }
            case .ignore: break
            }
        case .ping:
            guard frame.payload.readableBytes == 8 else {
                throw ConnectionError(.frameSize, "PING payload must be 8 bytes")
            }
            if frame.flags.contains(.ack) {
                pingTimeoutTimer?.cancel()
                pingTimeoutTimer = nil
            } else {
                var out = context.channel.allocator.buffer(capacity: Wire.frameHeaderSize + 8)
                out.writeFrame(type: .ping, flags: .ack, streamID: 0, payload: frame.payload)
                write(out)
            }
        case .goAway:
            let goAway: WireGoAway
            do { goAway = try WireGoAway(serializedBytes: frame.payload) } catch {
                throw ConnectionError(.protocolError, "malformed GOAWAY payload: \(error)")
            }
            receivedGoAway(goAway)
        case .headers, .halfClose, .cancel:
            throw ConnectionError(.protocolError, "\(frame.type) from a server")
        }
    }

    private func deliver(_ frame: Frame, windowLength: Int) {
        guard let call = calls[frame.streamID] else { return }
        var message = frame.payload
        if frame.flags.contains(.compressed) {
            guard let zstd, state.local.acceptsZstd else {
                return failStream(
                    call,
                    RPCError(
                        code: .internalError,
                        message: "server sent a compressed message this client did not accept"
                    )
                )
            }
            do {
                message = try zstd.decompress(
                    frame.payload,
                    maximumSize: state.local.maximumMessageSize,
                    allocator: context.channel.allocator
                )
            } catch {
                let code: RPCStatusCode = if case .tooLarge = error { .resourceExhausted } else { .internalError }
                return failStream(call, RPCError(code: code, message: "response: \(error)"))
            }
        } else if message.readableBytes > state.local.maximumMessageSize {
            return failStream(
                call,
                RPCError(
                    code: .resourceExhausted,
                    message:
                        "response of \(message.readableBytes) bytes exceeds the limit of \(state.local.maximumMessageSize)"
                )
            )
        }
        switch call.kind {
        case .unary:
            writeWindowUpdates(state.consumed(streamID: frame.streamID, length: windowLength))
            guard call.response == nil else {
                return failStream(
                    call,
                    RPCError(code: .internalError, message: "\(call.method.path) sent more than one response")
                )
            }
            call.response = message
        case .streaming(let queue):
            queue.push(message)
        }
    }

    private func finish(_ call: ClientCall, trailers payload: ByteBuffer) {
        var error: RPCError?
        if payload.readableBytes > 0 {
            do {
                let trailers = try WireTrailers(serializedBytes: payload)
                if trailers.code != 0 { error = Self.rpcError(from: trailers) }
            } catch {
                call.cancelled = true
                return complete(
                    call,
                    with: .failure(
                        RPCError(code: .internalError, message: "malformed TRAILERS from the server: \(error)")
                    )
                )
            }
        }
        if let error { return complete(call, with: .failure(error)) }
        switch call.kind {
        case .unary:
            guard let response = call.response else {
                return complete(
                    call,
                    with: .failure(
                        RPCError(code: .internalError, message: "\(call.method.path) ended without a response")
                    )
                )
            }
            complete(call, with: .success(response))
        case .streaming:
            complete(call, with: .success(ByteBuffer()))
        }
    }

    static func rpcError(from trailers: WireTrailers) -> RPCError {
        var metadata = RPCMetadata()
        for entry in trailers.metadata {
            switch entry.value {
            case .text(let text)?: metadata.add(entry.key, text)
            case .binary(let bytes)?: metadata.add(entry.key, binary: bytes)
            case nil: metadata.add(entry.key, "")
            }
        }
        return RPCError(
            code: RPCStatusCode(rawValue: Int(trailers.code)).flatMap { $0 == .ok ? nil : $0 } ?? .unknown,
            message: trailers.message,
            fieldViolations: trailers.fieldViolations.map {
                RPCError.FieldViolation(field: $0.field, description: $0.description)
            },
            retryAfter: trailers.retryAfterMs.map { .milliseconds(Int64(min($0, UInt64(Int64.max)))) },
            metadata: metadata
        )
    }

    /// Resumes or ends a call's caller exactly once.
    private func complete(_ call: ClientCall, with result: Result<ByteBuffer, RPCError>) {
        call.deadlineTimer?.cancel()
        call.deadlineTimer = nil
        for write in call.pending {
            write.continuation?.resume(
                throwing: result.failure ?? RPCError(code: .cancelled, message: "the call has ended")
            )
        }
        call.pending.removeAll()
        call.unaryRequest = nil
        switch call.kind {
        case .unary(let continuation):
            call.kind = .unary(nil)
            continuation?.resume(with: result.mapError { $0 as any Error })
        case .streaming(let queue):
            switch result {
            case .success: queue.finish()
            case .failure(let error): queue.fail(error)
            }
        }
    }

    /// Ends one call from this side: CANCEL to the server, the error to the caller.
    private func failStream(_ call: ClientCall, _ error: RPCError) {
        if let id = call.streamID, calls.removeValue(forKey: id) != nil {
            state.closed(streamID: id)
            writeCancel(id, reason: error.message)
            startWaitingCalls()
        }
        call.cancelled = true
        complete(call, with: .failure(error))
    }

    private func receivedGoAway(_ goAway: WireGoAway) {
        let abandoned = state.receivedGoAway(lastStreamID: goAway.lastStreamID)
        let reason = goAway.message.isEmpty ? "the server is going away" : goAway.message
        for id in abandoned {
            guard let call = calls.removeValue(forKey: id) else { continue }
            // Not processed by the server: safe to retry whatever the method.
            complete(call, with: .failure(RPCError(code: .unavailable, message: reason, cause: NotProcessed())))
        }
        while let call = waiting.popFirst() {
            complete(call, with: .failure(RPCError(code: .unavailable, message: reason, cause: NotProcessed())))
        }
        reportUnusable()
        if goAway.error != .noError {
            failure = ClientConnectionFailure(description: "server closed the connection: \(reason)")
        }
        if calls.isEmpty { context.close(promise: nil) }
    }

    private func connectionError(_ error: ConnectionError) {
        guard failure == nil else { return }
        failure = ClientConnectionFailure(description: "protocol error: \(error.message)")
        var goAway = WireGoAway()
        goAway.error = WireError(rawValue: error.code.rawValue)
        goAway.message = error.message
        var out = context.channel.allocator.buffer(capacity: 64)
        out.writeFrame(type: .goAway, streamID: 0) { goAway.serialize(into: &$0) }
        write(out)
        flushNow()
        fail(failure!)
        context.close(promise: nil)
    }

    /// Fails every call: the connection is gone.
    private func fail(_ failure: ClientConnectionFailure) {
        if self.failure == nil { self.failure = failure }
        state.close()
        keepaliveTimer?.cancel()
        pingTimeoutTimer?.cancel()
        readyPromise.fail(failure)
        let error = RPCError(code: .unavailable, message: "connection lost: \(failure.description)", cause: failure)
        let all = Array(calls.values) + Array(waiting)
        calls.removeAll()
        waiting.removeAll()
        for call in all { complete(call, with: .failure(error)) }
        reportUnusable()
    }

    private func reportUnusable() {
        guard !reportedUnusable else { return }
        reportedUnusable = true
        onUnusable?()
    }

    var isUsable: Bool { failure == nil && !state.isExhausted }

    // MARK: - Starting calls

    /// Starts (or queues) a call; called on the event loop.
    func start(_ call: ClientCall, request: ByteBuffer?) {
        // Cancelled before it reached the loop: its caller still waits for an answer.
        if call.cancelled {
            return complete(call, with: .failure(RPCError(code: .cancelled, message: "the call was cancelled")))
        }
        if let failure {
            return complete(
                call,
                with: .failure(
                    RPCError(code: .unavailable, message: "connection lost: \(failure.description)", cause: failure)
                )
            )
        }
        if state.isExhausted {
            return complete(
                call,
                with: .failure(
                    RPCError(code: .unavailable, message: "the connection is going away", cause: NotProcessed())
                )
            )
        }
        call.unaryRequest = request
        if let timeout = call.options.timeout {
            call.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [self] in
                deadlineExceeded(call, timeout: timeout)
            }
        }
        guard state.canOpenStream else {
            waiting.append(call)
            return
        }
        open(call)
    }

    private func startWaitingCalls() {
        while state.canOpenStream, let call = waiting.popFirst() {
            if !call.cancelled { open(call) }
        }
    }

    private func open(_ call: ClientCall) {
        guard let id = state.openStream() else { return waiting.append(call) }
        call.streamID = id
        calls[id] = call
        if let request = call.unaryRequest {
            call.unaryRequest = nil
            if writeUnaryInPlace(call, streamID: id, request) {
                state.sentEnd(streamID: id)
                return flushSoon()
            }
            call.pending.insert(ClientCall.PendingRequest(message: request, end: true), at: 0)
        }
        var out = context.channel.allocator.buffer(capacity: 128)
        let endStream = call.pending.count == 1 && call.pending.first?.message == nil
        writeHeaders(call, streamID: id, endStream: endStream, into: &out)
        write(out)
        if endStream {
            call.pending.removeFirst()
            state.sentEnd(streamID: id)
        }
        processPending(call)
        flushSoon()
    }

    /// The fast path of a unary call: HEADERS and MESSAGE go into the request's own
    /// headroom, one buffer and one write. False when they do not fit (metadata, a
    /// deadline, compression, a long method path); the caller then writes them apart.
    private func writeUnaryInPlace(_ call: ClientCall, streamID: UInt32, _ request: ByteBuffer) -> Bool {
        guard call.options.timeout == nil, call.options.metadata.isEmpty,
            !shouldCompress(request, options: call.options)
        else { return false }
        let header = cachedHeader(call.method.path)
        let needed = 2 * Wire.frameHeaderSize + header.readableBytes
        guard request.readerIndex >= needed, state.reserveToSend(streamID: streamID, length: request.readableBytes)
        else {
            return false
        }
        var out = request
        let start = out.readerIndex - needed
        out.moveReaderIndex(to: start)
        out.setInteger(
            UInt32(truncatingIfNeeded: header.readableBytes) << 8 | UInt32(FrameType.headers.rawValue),
            at: start
        )
        out.setInteger(UInt8(0), at: start + 4)
        out.setInteger(streamID, at: start + 5)
        out.setBuffer(header, at: start + Wire.frameHeaderSize)
        let messageStart = start + Wire.frameHeaderSize + header.readableBytes
        out.setInteger(
            UInt32(truncatingIfNeeded: request.readableBytes) << 8 | UInt32(FrameType.message.rawValue),
            at: messageStart
        )
        out.setInteger(FrameFlags.endStream.rawValue, at: messageStart + 4)
        out.setInteger(streamID, at: messageStart + 5)
        write(out)
        return true
    }

    /// The encoded `WireCallHeader` naming only the method.
    private func cachedHeader(_ path: String) -> ByteBuffer {
        if let hit = headerCache[path] { return hit }
        var encoded = ByteBuffer()
        WireCallHeader(method: path).serialize(into: &encoded)
        if headerCache.count < 1024 { headerCache[path] = encoded }
        return encoded
    }

    private func writeHeaders(_ call: ClientCall, streamID: UInt32, endStream: Bool, into out: inout ByteBuffer) {
        let cached = cachedHeader(call.method.path)
        let options = call.options
        out.writeFrame(type: .headers, flags: endStream ? .endStream : [], streamID: streamID) { payload in
            payload.writeImmutableBuffer(cached)
            // Protobuf messages concatenate: the method, then the other fields.
            guard options.timeout != nil || !options.metadata.isEmpty else { return }
            var extra = WireCallHeader()
            if let timeout = options.timeout {
                let (seconds, attoseconds) = timeout.components
                extra.timeoutMicros = UInt64(max(1, seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
            }
            extra.metadata = options.metadata.entries.map(ServerConnectionHandler.wireEntry)
            extra.serialize(into: &payload)
        }
    }

    private func deadlineExceeded(_ call: ClientCall, timeout: Duration) {
        if let index = waiting.firstIndex(where: { $0 === call }) { waiting.remove(at: index) }
        failStream(call, RPCError(code: .deadlineExceeded, message: "deadline of \(timeout) exceeded"))
    }

    /// The caller gave up (task cancelled, or its streaming body returned early).
    func cancel(_ call: ClientCall) {
        guard !call.cancelled else { return }
        if let index = waiting.firstIndex(where: { $0 === call }) { waiting.remove(at: index) }
        failStream(call, RPCError(code: .cancelled, message: "the call was cancelled"))
        flushSoon()
    }

    // MARK: - Writing requests

    /// A streaming caller wants to send a message (or, with nil, to half-close).
    func enqueueRequest(
        _ call: ClientCall,
        _ message: ByteBuffer?,
        end: Bool,
        _ continuation: CheckedContinuation<Void, any Error>
    ) {
        guard !call.cancelled, failure == nil else {
            continuation.resume(throwing: RPCError(code: .cancelled, message: "the call has ended"))
            return
        }
        call.pending.append(ClientCall.PendingRequest(message: message, end: end, continuation: continuation))
        if call.streamID != nil { processPending(call) }
    }

    private func processPending(_ call: ClientCall) {
        guard let id = call.streamID, context != nil else { return }
        while let next = call.pending.first {
            if let message = next.message {
                guard context.channel.isWritable || next.continuation == nil else { return }
                let outbound = next.prepared ?? prepare(message, options: call.options)
                guard state.reserveToSend(streamID: id, length: outbound.windowLength) else {
                    call.pending[0].prepared = outbound
                    return
                }
                call.pending.removeFirst()
                write(
                    outbound.frame(
                        streamID: id,
                        flags: next.end ? .endStream : [],
                        allocator: context.channel.allocator
                    )
                )
            } else {
                call.pending.removeFirst()
                var out = context.channel.allocator.buffer(capacity: Wire.frameHeaderSize)
                out.writeFrameHeader(length: 0, type: .halfClose, flags: [], streamID: id)
                write(out)
            }
            if next.end { state.sentEnd(streamID: id) }
            next.continuation?.resume()
        }
        flushSoon()
    }

    /// Whether to compress a request: the call's choice, else the size threshold; and
    /// only when the server accepts zstd.
    private func shouldCompress(_ message: ByteBuffer, options: RPCCallOptions) -> Bool {
        guard zstd != nil, state.peer.acceptsZstd else { return false }
        return options.compression ?? (message.readableBytes >= compressionThreshold)
    }

    private func prepare(_ message: ByteBuffer, options: RPCCallOptions) -> OutboundMessage {
        OutboundMessage(
            message,
            compressingWith: shouldCompress(message, options: options) ? zstd : nil,
            allocator: context.channel.allocator
        )
    }

    /// A streaming caller consumed `length` bytes of responses.
    func consumed(streamID: UInt32, length: Int) {
        writeWindowUpdates(state.consumed(streamID: streamID, length: length))
        flushSoon()
    }

    private func writeCancel(_ streamID: UInt32, reason: String) {
        var out = context.channel.allocator.buffer(capacity: 32)
        out.writeFrame(type: .cancel, streamID: streamID) {
            WireCancel(reason: String(reason.prefix(256))).serialize(into: &$0)
        }
        write(out)
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
        context.write(wrapOutboundOut(buffer), promise: nil)
        needsFlush = true
    }

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

    // MARK: - Keepalive

    private func armKeepalive() {
        guard context != nil, failure == nil else { return }
        keepaliveTimer?.cancel()
        keepaliveTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(keepaliveInterval)) { [self] in
            guard failure == nil, context != nil else { return }
            var out = context.channel.allocator.buffer(capacity: Wire.frameHeaderSize + 8)
            out.writeFrameHeader(length: 8, type: .ping, flags: [], streamID: 0)
            out.writeInteger(UInt64(0x6f32_6f70_696e_6721))
            write(out)
            flushNow()
            pingTimeoutTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(keepaliveTimeout)) {
                [self] in
                fail(ClientConnectionFailure(description: "no answer to keepalive ping within \(keepaliveTimeout)"))
                context?.close(promise: nil)
            }
        }
    }

    /// Graceful close from the client: GOAWAY, then close once calls finished.
    func close() {
        guard context != nil else { return }
        var goAway = WireGoAway()
        goAway.message = "client closing"
        var out = context.channel.allocator.buffer(capacity: 32)
        out.writeFrame(type: .goAway, streamID: 0) { goAway.serialize(into: &$0) }
        write(out)
        flushNow()
        context.close(promise: nil)
    }
}

/// Marks an UNAVAILABLE error for a call the server never processed (it crossed a
/// GOAWAY): safe to retry whatever the method.
struct NotProcessed: Error {}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
