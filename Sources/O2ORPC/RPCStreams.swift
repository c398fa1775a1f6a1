public import NIOCore

/// Where a handler's or a caller's inbound messages come from: implemented by each
/// transport for one stream of one call.
public protocol RPCInboundMessageSource: Sendable {
    /// The next message's bytes, or nil once the peer has finished sending. Throws
    /// when the call fails (cancelled, connection lost, peer error).
    func next() async throws -> ByteBuffer?
}

/// Where outbound messages of one call go: implemented by each transport. `write`
/// suspends while the peer is not reading (flow control), so a slow reader makes the
/// writer wait instead of filling memory.
public protocol RPCOutboundMessageSink: Sendable {
    /// Sends one encoded message.
    func write(_ message: ByteBuffer) async throws
}

/// The typed stream of request messages a client-streaming or bidirectional handler
/// reads. Iterate it with `for try await`.
public struct RPCRequestStream<Message: RPCMessage>: AsyncSequence, Sendable {
    public typealias Element = Message

    private let source: any RPCInboundMessageSource

    public init(source: any RPCInboundMessageSource) {
        self.source = source
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: any RPCInboundMessageSource

        public mutating func next() async throws -> Message? {
            guard let bytes = try await source.next() else { return nil }
            return try decodeInbound(Message.self, from: bytes)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: source) }
}

/// The typed stream of response messages a caller reads from a streaming call.
public typealias RPCResponseStream<Message: RPCMessage> = RPCRequestStream<Message>

/// Sends typed messages on a call: the responses of a server-streaming or
/// bidirectional handler, or the requests of a client-streaming or bidirectional call.
public struct RPCMessageWriter<Message: RPCMessage>: Sendable {
    private let sink: any RPCOutboundMessageSink

    public init(sink: any RPCOutboundMessageSink) {
        self.sink = sink
    }

    /// Encodes and sends one message; suspends while the peer is not reading.
    public func write(_ message: Message) async throws {
        var buffer = ByteBuffer.rpcMessageBuffer()
        message.serialize(into: &buffer)
        try await sink.write(buffer)
    }

    /// Sends each message in order.
    public func write(contentsOf messages: some Sequence<Message>) async throws {
        for message in messages { try await write(message) }
    }
}

/// A server's writer of response messages.
public typealias RPCResponseWriter<Message: RPCMessage> = RPCMessageWriter<Message>
/// A client's writer of request messages.
public typealias RPCRequestWriter<Message: RPCMessage> = RPCMessageWriter<Message>

/// Decodes an inbound message; a malformed one fails the call with `INVALID_ARGUMENT`
/// naming the message type and the reason.
@usableFromInline
func decodeInbound<Message: RPCMessage>(_ type: Message.Type, from bytes: ByteBuffer) throws -> Message {
    do {
        return try Message(serializedBytes: bytes)
    } catch let error as RPCError {
        throw error
    } catch {
        throw RPCError(code: .invalidArgument, message: "malformed \(Message.self) message: \(error)", cause: error)
    }
}
