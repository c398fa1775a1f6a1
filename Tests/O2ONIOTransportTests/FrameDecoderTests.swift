import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@_spi(Benchmarking) @testable import O2ONIOTransport

private func frameBytes(_ type: FrameType, flags: FrameFlags = [], stream: UInt32, payload: [UInt8]) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeFrame(type: type, flags: flags, streamID: stream, payload: ByteBuffer(bytes: payload))
    return buffer
}

private func frame(_ type: FrameType, flags: FrameFlags = [], stream: UInt32, payload: [UInt8]) -> InboundUnit {
    .frame(Frame(type: type, flags: flags, streamID: stream, payload: ByteBuffer(bytes: payload)))
}

@Suite("Frame decoder")
struct FrameDecoderTests {
    @Test("frames come out whole however the bytes are split")
    func verifier() throws {
        let pairs: [(ByteBuffer, [InboundUnit])] = [
            (
                frameBytes(.message, flags: .endStream, stream: 1, payload: [1, 2, 3]),
                [frame(.message, flags: .endStream, stream: 1, payload: [1, 2, 3])]
            ),
            (frameBytes(.trailers, stream: 3, payload: []), [frame(.trailers, stream: 3, payload: [])]),
            (
                frameBytes(.ping, flags: .ack, stream: 0, payload: Array(0..<8)),
                [frame(.ping, flags: .ack, stream: 0, payload: Array(0..<8))]
            ),
            (
                frameBytes(.message, stream: 0x7fff_ffff, payload: Array(repeating: 9, count: 1000)),
                [frame(.message, stream: 0x7fff_ffff, payload: Array(repeating: 9, count: 1000))]
            ),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            FrameDecoder(maximumFrameSize: 16_384, expectPreface: false)
        }
    }

    @Test("the server side reads the preface first, even one byte at a time")
    func preface() throws {
        var input = ByteBuffer(bytes: Wire.preface)
        input.writeImmutableBuffer(frameBytes(.settings, stream: 0, payload: []))
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(FrameDecoder(maximumFrameSize: 16_384, expectPreface: true))
        )
        while let byte = input.readSlice(length: 1) {
            try channel.writeInbound(byte)
        }
        #expect(try channel.readInbound(as: InboundUnit.self) == .preface)
        #expect(try channel.readInbound(as: InboundUnit.self) == frame(.settings, stream: 0, payload: []))
        #expect(try channel.finish().isClean)
    }

    private func decodeError(
        _ bytes: ByteBuffer,
        expectPreface: Bool = false,
        maximumFrameSize: Int = 16_384
    ) -> ConnectionError? {
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(
                FrameDecoder(maximumFrameSize: maximumFrameSize, expectPreface: expectPreface)
            )
        )
        defer { _ = try? channel.finish() }
        do {
            try channel.writeInbound(bytes)
            return nil
        } catch let error as ConnectionError {
            return error
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test("a frame over the limit fails on its header, before its payload arrives")
    func oversized() {
        var header = ByteBuffer()
        header.writeFrameHeader(length: 20_000, type: .message, flags: [], streamID: 1)
        #expect(decodeError(header) == ConnectionError(.frameSize, "frame of 20000 bytes exceeds the limit of 16384"))
    }

    @Test("an unknown frame type is a protocol error")
    func unknownType() {
        let bytes = ByteBuffer(bytes: [0, 0, 0, 0x7f, 0, 0, 0, 0, 1])
        #expect(decodeError(bytes) == ConnectionError(.protocolError, "unknown frame type 0x7f"))
    }

    @Test("a bad preface fails as soon as a byte differs")
    func badPreface() {
        #expect(
            decodeError(ByteBuffer(string: "GET /"), expectPreface: true)
                == ConnectionError(.protocolError, "bad preface")
        )
        #expect(
            decodeError(ByteBuffer(string: "O2ORPC/2"), expectPreface: true)
                == ConnectionError(.protocolError, "bad preface")
        )
        #expect(decodeError(ByteBuffer(string: "O2O"), expectPreface: true) == nil)
    }
}
