import O2OBuiltinServices
import O2ONIOTransport
import O2OProtobuf
import O2ORPC
import O2ORPCMessages
import O2OTestSupport
import Testing

/// Broken or hostile peers get the documented GOAWAY and lose their connection;
/// everybody else goes on.
@Suite("Protocol violations")
struct ProtocolViolationTests {
    /// Sends `bytes` on a raw connection and returns the GOAWAY the server answered
    /// with, checking that a well-behaved client on another connection still works.
    private func goAway(after bytes: [UInt8], port: Int, channel: O2OClientChannel) async throws -> WireGoAway? {
        let raw = try await RawConnection.connect(port: port)
        try await raw.send(bytes)
        let received = try await raw.waitForClose()
        let reply = try await EchoServiceClient(transport: channel).echo(EchoMessage(sequence: 42))
        #expect(reply.sequence == 42, "other connections keep working")
        return try RawConnection.goAway(received)
    }

    @Test("bad preface")
    func badPreface() async throws {
        try await withTestServer { _, port in
            try await withTestClient(port: port) { channel in
                let goAway = try await goAway(
                    after: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                    port: port,
                    channel: channel
                )
                #expect(goAway?.error == .protocol)
                #expect(goAway?.message == "bad preface")
            }
        }
    }

    @Test("oversized frame")
    func oversized() async throws {
        try await withTestServer { _, port in
            try await withTestClient(port: port) { channel in
                // A header that declares 5 MB; no payload follows.
                let header: [UInt8] = [0x50, 0x00, 0x00, 0x02, 0, 0, 0, 0, 1]
                let goAway = try await goAway(after: rawClientStart + header, port: port, channel: channel)
                #expect(goAway?.error == .frameSize)
                #expect(goAway?.message == "frame of 5242880 bytes exceeds the limit of 4194304")
            }
        }
    }

    @Test("unknown frame type")
    func unknownType() async throws {
        try await withTestServer { _, port in
            try await withTestClient(port: port) { channel in
                let goAway = try await goAway(
                    after: rawClientStart + rawFrame(0x7f, stream: 0),
                    port: port,
                    channel: channel
                )
                #expect(goAway?.error == .protocol)
                #expect(goAway?.message == "unknown frame type 0x7f")
            }
        }
    }

    @Test("malformed control payload")
    func malformed() async throws {
        try await withTestServer { _, port in
            try await withTestClient(port: port) { channel in
                let goAway = try await goAway(
                    after: rawClientStart + rawFrame(0x01, stream: 1, [0xff, 0xff, 0xff]),
                    port: port,
                    channel: channel
                )
                #expect(goAway?.error == .protocol)
                #expect(goAway?.message.hasPrefix("malformed HEADERS payload") == true)
            }
            try await withTestClient(port: port) { channel in
                let open = rawClientStart + rawHeaders(stream: 1, method: "/o2o.rpc.v1.EchoService/Echo")
                let cancel = try await goAway(
                    after: open + rawFrame(0x05, stream: 1, [0xff, 0xff]),
                    port: port,
                    channel: channel
                )
                #expect(cancel?.error == .protocol)
                #expect(cancel?.message.hasPrefix("malformed CANCEL payload") == true, "\(String(describing: cancel))")
                let long = WireCancel(reason: String(repeating: "x", count: 257)).serializedBytes()
                let longCancel = try await goAway(
                    after: open + rawFrame(0x05, stream: 1, long),
                    port: port,
                    channel: channel
                )
                #expect(longCancel?.message == "CANCEL reason longer than 256 bytes")
                let bye = try await goAway(
                    after: rawClientStart + rawFrame(0x08, stream: 0, [0x0a, 0x05]),
                    port: port,
                    channel: channel
                )
                #expect(bye?.error == .protocol, "a garbage GOAWAY is answered with one")
                #expect(bye?.message.hasPrefix("malformed GOAWAY payload") == true, "\(String(describing: bye))")
            }
        }
    }

    @Test("frames before SETTINGS, and reused stream ids")
    func ordering() async throws {
        try await withTestServer { _, port in
            try await withTestClient(port: port) { channel in
                let early = Array("O2ORPC/1".utf8) + rawHeaders(stream: 1, method: "/o2o.rpc.v1.EchoService/Echo")
                let first = try await goAway(after: early, port: port, channel: channel)
                #expect(first?.message == "expected SETTINGS first, got HEADERS")
                let reused =
                    rawClientStart + rawHeaders(stream: 3, method: "/x/y", endStream: true)
                    + rawHeaders(stream: 2, method: "/x/y")
                let second = try await goAway(after: reused, port: port, channel: channel)
                #expect(second?.error == .protocol)
                #expect(second?.message == "stream id 2 is not greater than 3")
                #expect(second?.lastStreamID == 3)
            }
        }
    }

    @Test("a stream cut off mid-frame: the connection is dropped and its calls cancelled")
    func truncated() async throws {
        let probe = Probe()
        try await withTestServer(probe: probe) { _, port in
            try await withTestClient(port: port) { channel in
                let raw = try await RawConnection.connect(port: port)
                let message = EchoMessage(payload: Array("sleep".utf8)).serializedBytes()
                let half = Array(rawFrame(0x02, stream: 3, Array(repeating: 1, count: 100)).prefix(40))
                try await raw.send(
                    rawClientStart + rawHeaders(stream: 1, method: "/o2o.rpc.v1.EchoService/Echo")
                        + rawFrame(0x02, flags: 1, stream: 1, message) + half
                )
                try await waitUntil("the handler to start") { probe.started.load(ordering: .relaxed) > 0 }
                try await raw.shutdownOutput()
                _ = try await raw.waitForClose()
                try await waitUntil("the handler's cancellation") { probe.cancellations.load(ordering: .relaxed) > 0 }
                #expect(probe.cancellations.load(ordering: .relaxed) == 1, "the sleeping handler was cancelled")
                let reply = try await EchoServiceClient(transport: channel).echo(EchoMessage(sequence: 1))
                #expect(reply.sequence == 1)
            }
        }
    }

    @Test("ping flood and cancel flood")
    func floods() async throws {
        try await withTestServer { _, port in
            try await withTestClient(port: port) { channel in
                let pings = (0..<5).flatMap { _ in rawFrame(0x07, stream: 0, Array(repeating: 0, count: 8)) }
                let pingFlood = try await goAway(after: rawClientStart + pings, port: port, channel: channel)
                #expect(pingFlood?.error == .enhanceYourCalm)
                #expect(pingFlood?.message == "too many pings")
                let cancels = (0..<1001).flatMap { _ in rawFrame(0x05, stream: 1) }
                let cancelFlood = try await goAway(
                    after: rawClientStart + rawHeaders(stream: 1, method: "/o2o.rpc.v1.EchoService/EchoChat") + cancels,
                    port: port,
                    channel: channel
                )
                #expect(cancelFlood?.error == .enhanceYourCalm)
                #expect(cancelFlood?.message == "too many cancels")
            }
        }
    }

    @Test("streams beyond max_concurrent_streams get RESOURCE_EXHAUSTED at once; the connection stays")
    func tooManyStreams() async throws {
        var options = O2OServerConnectionOptions()
        options.settings.maximumConcurrentStreams = 2
        try await withTestServer(options: options) { _, port in
            let raw = try await RawConnection.connect(port: port)
            defer { Task { await raw.close() } }
            let sleep = EchoMessage(payload: Array("sleep".utf8)).serializedBytes()
            var bytes = rawClientStart
            for stream: UInt32 in 1...3 {
                bytes +=
                    rawHeaders(stream: stream, method: "/o2o.rpc.v1.EchoService/Echo")
                    + rawFrame(0x02, flags: 1, stream: stream, sleep)
            }
            bytes +=
                rawHeaders(stream: 4, method: "/o2o.rpc.v1.EchoService/Echo")
                + rawFrame(0x02, flags: 1, stream: 4, EchoMessage(sequence: 9).serializedBytes())
            try await raw.send(bytes)
            var trailers: [(UInt32, WireTrailers)] = []
            try await waitUntil("two trailers") {
                trailers = try RawConnection.frames(try await raw.received()).filter { $0.type == 0x03 }.map {
                    ($0.stream, try WireTrailers(serializedBytes: $0.payload))
                }
                return trailers.count >= 2
            }
            #expect(trailers.map(\.0) == [3, 4])
            #expect(trailers.first?.1.code == UInt32(RPCStatusCode.resourceExhausted.rawValue))
            #expect(trailers.first?.1.message == "too many concurrent streams (limit 2)")
            #expect(trailers.last?.1.code == UInt32(RPCStatusCode.resourceExhausted.rawValue))
            // Every error carries the call's request id (section 9): made up when the
            // client sent none.
            for (_, trailer) in trailers {
                #expect(trailer.metadata.contains { $0.key == "o2o-request-id" }, "\(trailer)")
            }
        }
    }

    @Test("calls refused before they start (unknown method, bad metadata, long path) carry the request id")
    func refusedCallsCarryTheRequestID() async throws {
        try await withTestServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            defer { Task { await raw.close() } }
            func headers(_ stream: UInt32, _ method: String, _ metadata: [WireMetadataEntry]) -> [UInt8] {
                rawFrame(
                    0x01,
                    flags: 1,
                    stream: stream,
                    WireCallHeader(method: method, metadata: metadata).serializedBytes()
                )
            }
            let id = WireMetadataEntry(key: "o2o-request-id", value: .text("probe-7"))
            let bytes =
                rawClientStart
                + headers(1, "/o2o.rpc.v1.NoSuchService/Nothing", [id])
                + headers(
                    3,
                    "/o2o.rpc.v1.EchoService/Echo",
                    [id, WireMetadataEntry(key: "Bad Key", value: .text("x"))]
                )
                + headers(5, "/" + String(repeating: "x", count: 300), [id])
                + headers(7, "/o2o.rpc.v1.NoSuchService/Nothing", [])
            try await raw.send(bytes)
            var trailers: [(UInt32, WireTrailers)] = []
            try await waitUntil("four trailers") {
                trailers = try RawConnection.frames(try await raw.received()).filter { $0.type == 0x03 }.map {
                    ($0.stream, try WireTrailers(serializedBytes: $0.payload))
                }
                return trailers.count >= 4
            }
            func requestID(_ trailer: WireTrailers) -> String? {
                for entry in trailer.metadata where entry.key == "o2o-request-id" {
                    if case .text(let text)? = entry.value { return text }
                }
                return nil
            }
            #expect(trailers.map(\.0) == [1, 3, 5, 7])
            #expect(trailers.map(\.1.code) == [12, 3, 3, 12])
            #expect(trailers.prefix(3).map { requestID($0.1) } == ["probe-7", "probe-7", "probe-7"])
            #expect(requestID(trailers[3].1)?.isEmpty == false, "an id is made up when the client sent none")
        }
    }

    @Test(
        "a response larger than the client's max_frame_size ends the call with RESOURCE_EXHAUSTED, not the connection"
    )
    func clientLimitsAreHonoured() async throws {
        try await withTestServer { _, port in
            let raw = try await RawConnection.connect(port: port)
            defer { Task { await raw.close() } }
            // No zstd: the 20,000-byte echo cannot shrink below the 16,384 the client takes.
            let settings = WireSettings(protocolVersion: 1, maxFrameSize: 16_384).serializedBytes()
            var random = SystemRandomNumberGenerator()
            let big = EchoMessage(payload: (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &random) })
            try await raw.send(
                Array("O2ORPC/1".utf8) + rawFrame(0x00, stream: 0, settings)
                    + rawHeaders(stream: 1, method: "/o2o.rpc.v1.EchoService/Echo")
                    + rawFrame(0x02, flags: 1, stream: 1, big.serializedBytes())
                    + rawHeaders(stream: 3, method: "/o2o.rpc.v1.EchoService/Echo")
                    + rawFrame(0x02, flags: 1, stream: 3, EchoMessage(sequence: 8).serializedBytes())
            )
            var frames: [(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8])] = []
            try await waitUntil("both calls to end") {
                frames = RawConnection.frames(try await raw.received())
                return frames.filter { $0.type == 0x03 }.count >= 2
            }
            #expect(frames.allSatisfy { $0.payload.count <= 16_384 }, "no frame beyond the client's limit")
            #expect(!frames.contains { $0.type == 0x08 }, "no GOAWAY")
            let trailers = try frames.filter { $0.type == 0x03 }.map {
                ($0.stream, try WireTrailers(serializedBytes: $0.payload))
            }
            let first = trailers.first { $0.0 == 1 }?.1
            #expect(first?.code == UInt32(RPCStatusCode.resourceExhausted.rawValue))
            #expect(
                first?.message.hasPrefix("response of 20") == true
                    && first?.message.hasSuffix("exceeds the client's max_message_size of 16384") == true,
                "\(String(describing: first?.message))"
            )
            #expect(trailers.first { $0.0 == 3 }?.1.code == 0, "the connection goes on")
        }
    }
}
