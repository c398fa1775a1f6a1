import NIOCore

/// A message made ready for the wire: the MESSAGE frame's payload, zstd-compressed
/// when that was asked for and made it smaller, with room in front for the frame
/// header. Compressed once, however long it waits for window.
struct OutboundMessage {
    private(set) var payload: ByteBuffer
    let compressed: Bool
    /// What the message counts against the flow-control windows: its length before
    /// compression, as the receiver counts it (docs/PROTOCOL.md, section 7).
    let windowLength: Int

    /// - Parameter zstd: Compress with this codec; nil to send the message as it is.
    init(_ message: ByteBuffer, compressingWith zstd: ZstdCodec?, allocator: ByteBufferAllocator) {
        windowLength = message.readableBytes
        if let zstd {
            var out = allocator.buffer(capacity: Wire.frameHeaderSize + message.readableBytes / 2 + 64)
            out.moveWriterIndex(forwardBy: Wire.frameHeaderSize)
            out.moveReaderIndex(forwardBy: Wire.frameHeaderSize)
            zstd.compress(message, into: &out)
            // Incompressible data grows a little; never send more than the original
            // (nor exceed the frame size the original fits in).
            if out.readableBytes < message.readableBytes {
                payload = out
                compressed = true
                return
            }
        }
        payload = message
        compressed = false
    }

    /// The MESSAGE frame, its header written in place in the payload's headroom when
    /// there is some. `spare` bytes of capacity are left for frames appended after it.
    func frame(streamID: UInt32, flags: FrameFlags, spare: Int = 0, allocator: ByteBufferAllocator) -> ByteBuffer {
        var flags = flags
        if compressed { flags.insert(.compressed) }
        guard payload.readerIndex >= Wire.frameHeaderSize else {
            var out = allocator.buffer(capacity: Wire.frameHeaderSize + payload.readableBytes + spare)
            out.writeFrame(type: .message, flags: flags, streamID: streamID, payload: payload)
            return out
        }
        var out = payload
        let start = out.readerIndex - Wire.frameHeaderSize
        out.moveReaderIndex(to: start)
        out.setInteger(
            UInt32(truncatingIfNeeded: payload.readableBytes) << 8 | UInt32(FrameType.message.rawValue),
            at: start
        )
        out.setInteger(flags.rawValue, at: start + 4)
        out.setInteger(streamID & Wire.maximumStreamID, at: start + 5)
        return out
    }
}
