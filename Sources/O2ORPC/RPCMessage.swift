public import NIOCore

/// A message that can cross the wire: every generated protobuf message type.
///
/// `ByteBuffer` is the byte currency between the core, the transports and the
/// generated code, so that a message is encoded straight into the frame that carries
/// it and decoded straight from the bytes that arrived, with no intermediate copy.
public protocol RPCMessage: Sendable {
    /// Decodes the message from its protobuf encoding (all readable bytes).
    init(serializedBytes: ByteBuffer) throws
    /// Appends the message's protobuf encoding to the buffer.
    func serialize(into buffer: inout ByteBuffer)
}

extension ByteBuffer {
    /// Bytes kept free in front of an encoded message, so that a transport can put its
    /// frame headers there (a request's HEADERS frame and its MESSAGE header) instead of
    /// copying the message into a new buffer.
    public static let rpcHeadroom = 128

    /// An empty buffer for encoding one message into, with `rpcHeadroom` bytes free in
    /// front of it.
    public static func rpcMessageBuffer(capacity: Int = 256) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: capacity + rpcHeadroom)
        buffer.moveWriterIndex(forwardBy: rpcHeadroom)
        buffer.moveReaderIndex(forwardBy: rpcHeadroom)
        return buffer
    }
}
