import NIOCore

/// The frame types of the protocol (docs/PROTOCOL.md, section 4).
@_spi(Benchmarking) public enum FrameType: UInt8, Sendable, Hashable, CustomStringConvertible {
    case settings = 0x00
    case headers = 0x01
    case message = 0x02
    case trailers = 0x03
    case halfClose = 0x04
    case cancel = 0x05
    case windowUpdate = 0x06
    case ping = 0x07
    case goAway = 0x08

    public var description: String {
        switch self {
        case .settings: "SETTINGS"
        case .headers: "HEADERS"
        case .message: "MESSAGE"
        case .trailers: "TRAILERS"
        case .halfClose: "HALF_CLOSE"
        case .cancel: "CANCEL"
        case .windowUpdate: "WINDOW_UPDATE"
        case .ping: "PING"
        case .goAway: "GOAWAY"
        }
    }

    /// Whether the type belongs on stream 0 (WINDOW_UPDATE may be on either).
    var isConnectionLevel: Bool { self == .settings || self == .ping || self == .goAway }
}

/// Frame flags; the meaning of a bit depends on the frame type.
@_spi(Benchmarking) public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// HEADERS, MESSAGE: the client sends no more messages on the stream.
    public static let endStream = FrameFlags(rawValue: 0x01)
    /// MESSAGE: the payload is a zstd frame.
    public static let compressed = FrameFlags(rawValue: 0x02)
    /// PING: this is the answer.
    public static let ack = FrameFlags(rawValue: 0x01)
}

/// One decoded frame. The payload is a slice of the bytes received (no copy).
@_spi(Benchmarking) public struct Frame: Sendable, Equatable {
    public var type: FrameType
    public var flags: FrameFlags
    public var streamID: UInt32
    public var payload: ByteBuffer

    /// What a MESSAGE counts against the flow-control windows: the length of its
    /// message, which for a compressed one is the size its zstd frame declares. Counting
    /// inflated bytes bounds what a receiver buffers however well messages compress.
    /// Capped at `limit` + 1: anything larger is refused before it is inflated, and the
    /// cap keeps a lying header from swinging the windows.
    func windowLength(limit: Int) -> Int {
        guard flags.contains(.compressed) else { return payload.readableBytes }
        guard let declared = ZstdCodec.declaredSize(payload) else { return payload.readableBytes }
        return min(declared, limit + 1)
    }
}

/// Constants of the wire format.
enum Wire {
    /// The client's first 8 bytes: "O2ORPC/1".
    static let preface: [UInt8] = Array("O2ORPC/1".utf8)
    /// Bytes in a frame header.
    static let frameHeaderSize = 9
    /// The largest payload length the 24-bit length field can carry.
    static let maximumFrameSizeLimit = 16_777_215
    /// The smallest `max_frame_size` a peer may announce.
    static let minimumFrameSize = 16_384
    /// The largest stream id.
    static let maximumStreamID: UInt32 = 0x7fff_ffff
    /// The largest flow-control window.
    static let maximumWindow = 0x7fff_ffff
}

extension ByteBuffer {
    /// Writes a frame header.
    @inline(__always)
    @_spi(Benchmarking) public mutating func writeFrameHeader(
        length: Int,
        type: FrameType,
        flags: FrameFlags,
        streamID: UInt32
    ) {
        precondition(length <= Wire.maximumFrameSizeLimit, "frame payload of \(length) bytes")
        // One 32-bit write for length and type, then flags and the stream id.
        writeInteger(UInt32(truncatingIfNeeded: length) << 8 | UInt32(type.rawValue))
        writeInteger(flags.rawValue)
        writeInteger(streamID & Wire.maximumStreamID)
    }

    /// Writes a whole frame with the given payload bytes.
    @_spi(Benchmarking) public mutating func writeFrame(
        type: FrameType,
        flags: FrameFlags = [],
        streamID: UInt32,
        payload: ByteBuffer
    ) {
        writeFrameHeader(length: payload.readableBytes, type: type, flags: flags, streamID: streamID)
        writeImmutableBuffer(payload)
    }

    /// Writes a frame whose payload `body` appends, then patches the length in.
    mutating func writeFrame(
        type: FrameType,
        flags: FrameFlags = [],
        streamID: UInt32,
        body: (inout ByteBuffer) -> Void
    ) {
        let headerIndex = writerIndex
        writeFrameHeader(length: 0, type: type, flags: flags, streamID: streamID)
        let payloadStart = writerIndex
        body(&self)
        let length = writerIndex - payloadStart
        precondition(length <= Wire.maximumFrameSizeLimit, "frame payload of \(length) bytes")
        setInteger(UInt32(truncatingIfNeeded: length) << 8 | UInt32(type.rawValue), at: headerIndex)
    }
}
