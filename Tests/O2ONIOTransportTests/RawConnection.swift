import NIOCore
import NIOPosix
import O2OProtobuf
import O2ORPCMessages
import O2OTestSupport
import Testing

/// A bare TCP connection for sending hand-made bytes to a server and reading back
/// everything it says until it closes.
final class RawConnection: Sendable {
    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: mutated only on the channel's event loop; read through submit().
        typealias InboundIn = ByteBuffer
        var received = ByteBuffer()
        let closed: EventLoopPromise<Void>

        init(closed: EventLoopPromise<Void>) { self.closed = closed }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            received.writeBuffer(&buffer)
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed.succeed()
        }
    }

    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(port: Int) async throws -> RawConnection {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let collector = Collector(closed: loop.makePromise())
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Stops sending (TCP half-close), as a peer that vanished mid-frame would.
    func shutdownOutput() async throws {
        try await channel.close(mode: .output)
    }

    /// Waits for the server to close the connection; returns every byte it sent.
    func waitForClose(timeout: Duration = hangTimeout) async throws -> [UInt8] {
        let collector = self.collector
        let closed = collector.closed.futureResult
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
        {
            collector.closed.fail(ChannelError.connectTimeout(.zero))
        }
        defer { timer.cancel() }
        try await closed.get()
        return try await received()
    }

    /// What the server has sent so far.
    func received() async throws -> [UInt8] {
        let collector = self.collector
        return try await channel.eventLoop.submit { Array(collector.received.readableBytesView) }.get()
    }

    func close() async {
        try? await channel.close()
    }

    /// The frames in `bytes`.
    static func frames(_ bytes: [UInt8]) -> [(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8])] {
        var result: [(UInt8, UInt8, UInt32, [UInt8])] = []
        var offset = 0
        while offset + 9 <= bytes.count {
            let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            let stream =
                UInt32(bytes[offset + 5]) << 24 | UInt32(bytes[offset + 6]) << 16 | UInt32(bytes[offset + 7]) << 8
                | UInt32(bytes[offset + 8])
            guard offset + 9 + length <= bytes.count else { break }
            result.append(
                (
                    bytes[offset + 3], bytes[offset + 4], stream & 0x7fff_ffff,
                    Array(bytes[offset + 9..<offset + 9 + length])
                )
            )
            offset += 9 + length
        }
        return result
    }

    /// The GOAWAY among the frames, if any.
    static func goAway(_ bytes: [UInt8]) throws -> WireGoAway? {
        guard let frame = frames(bytes).first(where: { $0.type == 0x08 }) else { return nil }
        return try WireGoAway(serializedBytes: frame.payload)
    }
}

/// One frame's bytes.
func rawFrame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32, _ payload: [UInt8] = []) -> [UInt8] {
    [
        UInt8(payload.count >> 16 & 0xff), UInt8(payload.count >> 8 & 0xff), UInt8(payload.count & 0xff), type, flags,
        UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff),
    ] + payload
}

/// The preface and an empty SETTINGS frame: how every raw client starts.
let rawClientStart: [UInt8] = Array("O2ORPC/1".utf8) + rawFrame(0x00, stream: 0)

/// A HEADERS frame for a method.
func rawHeaders(stream: UInt32, method: String, endStream: Bool = false, timeoutMicros: UInt64 = 0) -> [UInt8] {
    rawFrame(
        0x01,
        flags: endStream ? 1 : 0,
        stream: stream,
        WireCallHeader(method: method, timeoutMicros: timeoutMicros).serializedBytes()
    )
}
