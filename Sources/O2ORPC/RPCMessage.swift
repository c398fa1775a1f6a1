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
