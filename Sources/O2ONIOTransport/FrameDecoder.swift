import NIOCore

/// A protocol violation that ends the whole connection with GOAWAY
/// (docs/PROTOCOL.md, section 13).
struct ConnectionError: Error, Sendable, Hashable, CustomStringConvertible {
    enum Code: Int32, Sendable {
        case noError = 0
        case protocolError, frameSize, flowControl, enhanceYourCalm, internalError, settingsTimeout, refused
    }

    var code: Code
    var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { "\(code): \(message)" }
}

/// What the frame decoder yields.
@_spi(Benchmarking) public enum InboundUnit: Sendable, Equatable {
    /// The client's preface arrived (servers only).
    case preface
    case frame(Frame)
}

/// Splits the byte stream into frames. It checks each frame's length against the
/// limit before waiting for (and so before buffering) the payload, rejects unknown
/// frame types, and, on the server side, expects the 8-byte preface first.
@_spi(Benchmarking) public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = InboundUnit

    /// The largest payload accepted (the `max_frame_size` this side announced).
    var maximumFrameSize: Int
    private var awaitingPreface: Bool

    public init(maximumFrameSize: Int, expectPreface: Bool) {
        self.maximumFrameSize = maximumFrameSize
        self.awaitingPreface = expectPreface
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> InboundUnit? {
        if awaitingPreface {
            // Compare what has arrived so far, so a wrong preface fails at once.
            let available = min(buffer.readableBytes, Wire.preface.count)
            guard let prefix = buffer.getBytes(at: buffer.readerIndex, length: available),
                prefix == Array(Wire.preface.prefix(available))
            else {
                throw ConnectionError(.protocolError, "bad preface")
            }
            guard available == Wire.preface.count else { return nil }
            buffer.moveReaderIndex(forwardBy: Wire.preface.count)
            awaitingPreface = false
            return .preface
        }
        guard buffer.readableBytes >= Wire.frameHeaderSize,
            let lengthAndType = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            let flags = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self),
            let stream = buffer.getInteger(at: buffer.readerIndex + 5, as: UInt32.self)
        else { return nil }
        let length = Int(lengthAndType >> 8)
        let rawType = UInt8(truncatingIfNeeded: lengthAndType)
        guard length <= maximumFrameSize else {
            throw ConnectionError(.frameSize, "frame of \(length) bytes exceeds the limit of \(maximumFrameSize)")
        }
        guard let type = FrameType(rawValue: rawType) else {
            throw ConnectionError(.protocolError, "unknown frame type 0x\(String(rawType, radix: 16))")
        }
        guard buffer.readableBytes >= Wire.frameHeaderSize + length else { return nil }
        buffer.moveReaderIndex(forwardBy: Wire.frameHeaderSize)
        let payload = buffer.readSlice(length: length)!
        return .frame(
            Frame(
                type: type,
                flags: FrameFlags(rawValue: flags),
                streamID: stream & Wire.maximumStreamID,
                payload: payload
            )
        )
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> InboundUnit? {
        try decode(buffer: &buffer)
    }
}
