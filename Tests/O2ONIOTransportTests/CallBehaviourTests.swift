import Foundation
import NIOCore
import O2OBuiltinServices
import O2ONIOTransport
import O2OProtobuf
import O2ORPC
import O2ORPCMessages
import O2OTestSupport
import Testing

@Suite("Call behaviour")
struct CallBehaviourTests {
    private let sleep = EchoMessage(payload: Array("sleep".utf8))

    @Test("deadline exceeded: DEADLINE_EXCEEDED for the caller, cancellation for the handler")
    func deadline() async throws {
        let probe = Probe()
        try await withTestServer(probe: probe) { _, port in
            try await withTestClient(port: port) { channel in
                let echo = EchoServiceClient(transport: channel)
                await expectRPCError(.deadlineExceeded) {
                    _ = try await echo.echo(sleep, options: RPCCallOptions(timeout: .milliseconds(100)))
                }
                // The handler's own 60 s sleep did not end the call: it was cancelled.
                try await waitUntil("the handler's cancellation") { probe.cancellations.load(ordering: .relaxed) > 0 }
                #expect(probe.cancellations.load(ordering: .relaxed) == 1)
            }
        }
    }

    @Test("a client that cancels its task cancels the handler")
    func clientCancel() async throws {
        let probe = Probe()
        try await withTestServer(probe: probe) { _, port in
            try await withTestClient(port: port) { channel in
                let echo = EchoServiceClient(transport: channel)
                let sleep = self.sleep
                let call = Task { try await echo.echo(sleep) }
                try await waitUntil("the handler to start") { probe.started.load(ordering: .relaxed) > 0 }
                call.cancel()
                await expectRPCError(.cancelled) { _ = try await call.value }
                try await waitUntil("the handler's cancellation") { probe.cancellations.load(ordering: .relaxed) > 0 }
                #expect(probe.cancellations.load(ordering: .relaxed) == 1)
                // The connection is still good.
                #expect(try await echo.echo(EchoMessage(sequence: 3)).sequence == 3)
            }
        }
    }

    @Test(
        "a call cancelled before it reaches its connection still answers its caller: CANCELLED, never a hang",
        // Only catches the hang; the shared event loops may be busy with other suites.
        .timeLimit(.minutes(10))
    )
    func cancelledBeforeStart() async throws {
        try await withTestServer(probe: Probe()) { _, port in
            try await withTestClient(port: port) { channel in
                let echo = EchoServiceClient(transport: channel)
                #expect(try await echo.echo(EchoMessage(sequence: 1)).sequence == 1)
                var cancelled = 0
                for round in 0..<40 {
                    // Cancelled at once: the cancellation reaches the connection's loop
                    // before the call does.
                    let call = Task { try await echo.echo(EchoMessage(sequence: UInt64(round))) }
                    call.cancel()
                    do {
                        _ = try await call.value
                    } catch let error as RPCError {
                        #expect(error.code == .cancelled)
                        cancelled += 1
                    }
                }
                #expect(cancelled > 0)
                // The connection is still good.
                #expect(try await echo.echo(EchoMessage(sequence: 2)).sequence == 2)
            }
        }
    }

    @Test("unknown methods, handler failures and status details reach the client as statuses")
    func statuses() async throws {
        try await withTestServer { _, port in
            try await withTestClient(port: port) { channel in
                let unknown = RPCMethodDescriptor(
                    service: "o2o.nowhere.v1.Nothing",
                    method: "Nope",
                    kind: .unary,
                    idempotency: .unspecified,
                    requestType: "o2o.rpc.v1.EchoMessage",
                    responseType: "o2o.rpc.v1.EchoMessage",
                    doc: ""
                )
                let error = await expectRPCError(.unimplemented) {
                    let _: EchoMessage = try await channel.unary(unknown, EchoMessage(), options: .defaults)
                }
                #expect(error?.message == "unknown method /o2o.nowhere.v1.Nothing/Nope")
                let failure = await expectRPCError(.internalError) {
                    _ = try await EchoServiceClient(transport: channel).echo(EchoMessage(payload: Array("fail".utf8)))
                }
                #expect(failure?.message.hasPrefix("internal error (request id ") == true, "no internal detail leaks")
                #expect(failure?.metadata[RPCMetadata.Keys.requestID] != nil)
                let invalid = await expectRPCError(.invalidArgument) {
                    _ = try await EchoServiceClient(transport: channel).echoExpand(EchoExpandRequest(count: 2_000_000))
                    { responses in
                        for try await _ in responses {}
                    }
                }
                #expect(invalid?.message == "count: must be 0 to 1000000, got 2000000")
                #expect(
                    invalid?.fieldViolations == [
                        RPCError.FieldViolation(field: "count", description: "must be 0 to 1000000, got 2000000")
                    ]
                )
            }
        }
    }

    @Test("a caller's request id comes back with an error")
    func requestIDs() async throws {
        try await withTestServer { _, port in
            try await withTestClient(port: port) { channel in
                var options = RPCCallOptions()
                options.metadata.add(RPCMetadata.Keys.requestID, "req-123")
                let error = await expectRPCError(.internalError) {
                    _ = try await EchoServiceClient(transport: channel).echo(
                        EchoMessage(payload: Array("fail".utf8)),
                        options: options
                    )
                }
                #expect(error?.message == "internal error (request id req-123)")
                #expect(error?.metadata[RPCMetadata.Keys.requestID] == "req-123")
            }
        }
    }

    @Test("graceful shutdown: calls in flight finish, new calls fail with UNAVAILABLE")
    func gracefulShutdown() async throws {
        let probe = Probe()
        // A grace period that cannot run out while the test waits on a busy machine.
        try await withTestServer(probe: probe, gracePeriod: .seconds(600)) { server, port in
            try await withTestClient(port: port) { channel in
                let echo = EchoServiceClient(transport: channel)
                let held = Task { try await echo.echo(EchoMessage(payload: Array("hold".utf8), sequence: 5)) }
                try await waitUntil("the handler to start") { probe.started.load(ordering: .relaxed) > 0 }
                // A second connection shows when the drain has begun: it gets a GOAWAY.
                let observer = try await RawConnection.connect(port: port)
                try await observer.send(rawClientStart)
                try await waitUntil("the server to accept the second connection") {
                    await server.connections().count == 2
                }
                server.beginGracefulShutdown()
                try await waitUntil("a GOAWAY on the second connection") {
                    try RawConnection.goAway(try await observer.received()) != nil
                }
                await observer.close()
                probe.release()
                #expect(try await held.value.sequence == 5, "the call in flight finished")
                await expectRPCError(.unavailable) { _ = try await echo.echo(EchoMessage(sequence: 6)) }
            }
        }
    }

    @Test("drain: a call whose HEADERS and MESSAGE cross the GOAWAY is ignored, the call in flight still finishes")
    func drainIgnoresCrossingCalls() async throws {
        let probe = Probe()
        // A grace period that cannot run out while the test waits on a busy machine.
        try await withTestServer(probe: probe, gracePeriod: .seconds(600)) { server, port in
            let raw = try await RawConnection.connect(port: port)
            let hold = EchoMessage(payload: Array("hold".utf8), sequence: 5).serializedBytes()
            try await raw.send(
                rawClientStart + rawHeaders(stream: 1, method: "/o2o.rpc.v1.EchoService/Echo")
                    + rawFrame(0x02, flags: 1, stream: 1, hold)
            )
            try await waitUntil("the handler to start") { probe.started.load(ordering: .relaxed) > 0 }
            server.beginGracefulShutdown()
            try await waitUntil("the GOAWAY") { try RawConnection.goAway(try await raw.received()) != nil }
            // Sent as if the GOAWAY had not arrived yet.
            try await raw.send(
                rawHeaders(stream: 3, method: "/o2o.rpc.v1.EchoService/Echo")
                    + rawFrame(0x02, flags: 1, stream: 3, EchoMessage(sequence: 6).serializedBytes())
            )
            probe.release()
            let received = try await raw.waitForClose()
            let frames = RawConnection.frames(received)
            let goAways = try frames.filter { $0.type == 0x08 }.map { try WireGoAway(serializedBytes: $0.payload) }
            #expect(goAways.map(\.error) == [.noError], "no protocol error: \(goAways)")
            #expect(goAways.first?.lastStreamID == 1)
            let trailers = try frames.filter { $0.type == 0x03 }.map {
                ($0.stream, try WireTrailers(serializedBytes: $0.payload))
            }
            #expect(trailers.map(\.0) == [1], "only the accepted call is answered")
            #expect(trailers.first?.1.code == 0)
            let reply = try frames.first { $0.type == 0x02 && $0.stream == 1 }.map {
                try EchoMessage(serializedBytes: $0.payload)
            }
            #expect(reply?.sequence == 5, "the call in flight finished")
        }
    }

    @Test("connection loss is a clear UNAVAILABLE, never a hang")
    func connectionLoss() async throws {
        var configuration = O2OClientConfiguration(target: .tcp(host: "127.0.0.1", port: 1))
        configuration.connectTimeout = .seconds(2)
        configuration.retry = O2ORetryPolicy(maximumAttempts: 1)
        try await withO2OClientChannel(configuration: configuration) { channel in
            let error = await expectRPCError(.unavailable) {
                _ = try await EchoServiceClient(transport: channel).echo(EchoMessage())
            }
            #expect(error?.message.hasPrefix("cannot connect to 127.0.0.1:1") == true, "\(String(describing: error))")
        }
    }

    @Test("the client reconnects after the server comes back, and retries idempotent calls")
    func reconnect() async throws {
        let port = try await withTestServer { _, port in port }
        // Same port, new server: the channel's connection to the old one is gone.
        var configuration = O2OClientConfiguration(target: .tcp(host: "127.0.0.1", port: port))
        configuration.reconnectBackoff = (.milliseconds(10), .milliseconds(50))
        try await withO2OClientChannel(configuration: configuration) { channel in
            await expectRPCError(.unavailable) {
                _ = try await EchoServiceClient(transport: channel).echo(EchoMessage())
            }
            let server = O2OServer(
                configuration: O2OServerConfiguration(listeners: [.tcp(host: "127.0.0.1", port: port)]),
                services: [EchoServiceProvider()],
                logger: testLogger
            )
            let running = Task { try await server.run() }
            _ = try await server.listeningAddresses()
            // The call waits out the reconnection backoff, then connects to the new server.
            #expect(try await EchoServiceClient(transport: channel).echo(EchoMessage(sequence: 8)).sequence == 8)
            server.beginGracefulShutdown()
            try await running.value
        }
    }

    @Test("UNAVAILABLE is retried for idempotent calls only")
    func retries() async throws {
        let probe = Probe()
        try await withTestServer(probe: probe) { _, port in
            try await withTestClient(port: port) { channel in
                let echo = EchoServiceClient(transport: channel)
                let flaky = EchoMessage(payload: Array("flaky".utf8), sequence: 1)
                // Echo is NO_SIDE_EFFECTS: retried, so it succeeds on the second attempt.
                let reply = try await echo.echo(flaky)
                #expect(reply.sequence == 1)
                #expect(probe.written.load(ordering: .relaxed) == 2)
                // The same call marked not retryable fails on the first refusal.
                await expectRPCError(.unavailable) {
                    _ = try await echo.echo(flaky, options: RPCCallOptions(retryable: false))
                }
                #expect(probe.written.load(ordering: .relaxed) == 3)
            }
        }
    }

    @Test("an idle connection is closed with GOAWAY idle")
    func idle() async throws {
        var options = O2OServerConnectionOptions()
        options.idleTimeout = .milliseconds(200)
        try await withTestServer(options: options) { _, port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(rawClientStart)
            let goAway = try RawConnection.goAway(try await raw.waitForClose())
            #expect(goAway?.error == .noError)
            #expect(goAway?.message == "idle")
        }
    }

    @Test("zstd on and off give the same messages; big messages are compressed on the wire")
    func compression() async throws {
        for zstd in [true, false] {
            var options = O2OServerConnectionOptions()
            options.settings.acceptsZstd = zstd
            try await withTestServer(options: options) { server, port in
                try await withTestClient(port: port, configure: { $0.settings.acceptsZstd = zstd }) { channel in
                    let echo = EchoServiceClient(transport: channel)
                    let big = EchoMessage(payload: [UInt8](repeating: 42, count: 200_000), sequence: 1)
                    #expect(try await echo.echo(big) == big)
                    let received = await server.connections().first?.bytesReceived ?? 0
                    if zstd {
                        #expect(received < 10_000, "compressed on the wire: \(received) bytes")
                    } else {
                        #expect(received > 200_000, "sent as is: \(received) bytes")
                    }
                    let count = try await echo.echoExpand(EchoExpandRequest(count: 20, payloadSize: 50_000)) {
                        responses in
                        var count = 0
                        for try await message in responses where message.payload.count == 50_000 { count += 1 }
                        return count
                    }
                    #expect(count == 20)
                }
            }
        }
    }

    @Test("compressed messages: sender and receiver count the same bytes against the windows")
    func compressedFlowControl() async throws {
        // 20 MB of compressible messages each way: five times the connection window and
        // eighty times a stream's. Were one side to count compressed bytes and the other
        // inflated ones, the windows would drain and the calls stall.
        let zeros = [UInt8](repeating: 0, count: 100_000)
        // The deadline only catches a stall: 20 MB through zstd both ways takes long on a
        // slow or busy machine.
        let options = RPCCallOptions(timeout: .seconds(600), compression: true)
        try await withTestServer { server, port in
            try await withTestClient(port: port) { channel in
                let echo = EchoServiceClient(transport: channel)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<200 {
                        group.addTask {
                            let reply = try await echo.echo(
                                EchoMessage(payload: zeros, sequence: UInt64(index)),
                                options: options
                            )
                            #expect(reply.payload.count == zeros.count && reply.sequence == UInt64(index))
                        }
                    }
                    try await group.waitForAll()
                }
                let expanded = try await echo.echoExpand(
                    EchoExpandRequest(count: 200, payloadSize: 100_000),
                    options: options
                ) { responses in
                    var count = 0
                    for try await message in responses where message.payload.count == 100_000 { count += 1 }
                    return count
                }
                #expect(expanded == 200)
                let collected = try await echo.echoCollect(options: options) { writer in
                    for _ in 0..<200 { try await writer.write(EchoMessage(payload: zeros)) }
                }
                #expect(collected.count == 200 && collected.totalBytes == 20_000_000)
                let received = await server.connections().first?.bytesReceived ?? 0
                #expect(received < 1_000_000, "compressed on the wire: \(received) bytes")
            }
        }
    }

    @Test("a zstd bomb is refused before it is inflated")
    func zstdBomb() async throws {
        try await withTestServer { _, port in
            // A frame declaring 1 GiB of content (a run of zeros compresses to almost nothing).
            let zeros = [UInt8](repeating: 0, count: 8 << 20)
            let bomb = try zstdCompress(zeros)
            #expect(bomb.count < 2000)
            let raw = try await RawConnection.connect(port: port)
            let settingsWithZstd = rawFrame(
                0x00,
                stream: 0,
                WireSettings(acceptedCompression: ["zstd"]).serializedBytes()
            )
            try await raw.send(
                Array("O2ORPC/1".utf8) + settingsWithZstd
                    + rawHeaders(stream: 1, method: "/o2o.rpc.v1.EchoService/Echo")
                    + rawFrame(0x02, flags: 0x03, stream: 1, bomb)
            )
            var trailers: WireTrailers?
            try await waitUntil("the trailers") {
                if let frame = RawConnection.frames(try await raw.received()).first(where: { $0.type == 0x03 }) {
                    trailers = try WireTrailers(serializedBytes: frame.payload)
                }
                return trailers != nil
            }
            #expect(trailers?.code == UInt32(RPCStatusCode.resourceExhausted.rawValue))
            #expect(trailers?.message == "compressed message declares 8388608 bytes, more than the limit of 4194304")
            await raw.close()
        }
    }

    @Test("a reader that stops makes the writer wait: bounded memory")
    func backpressure() async throws {
        let probe = Probe()
        // Window (256 KiB) plus socket buffers: a few thousand 1 KiB messages, not a million.
        let bound = 8000
        try await withTestServer(probe: probe) { _, port in
            try await withTestClient(port: port) { channel in
                let echo = EchoServiceClient(transport: channel)
                try await echo.echoExpand(EchoExpandRequest(count: 1_000_000, payloadSize: 1024)) { responses in
                    var iterator = responses.makeAsyncIterator()
                    _ = try await iterator.next()
                    // Stop reading. The writer must come to a stop below the bound, however
                    // fast or slow the machine: wait until its count stays the same for a
                    // while, failing as soon as it passes the bound.
                    var last = -1
                    var unchangedSince = ContinuousClock.now
                    try await waitUntil("the writer to stop") {
                        let written = probe.written.load(ordering: .relaxed)
                        if written >= bound { return true }
                        if written != last { (last, unchangedSince) = (written, .now) }
                        return written > 0 && ContinuousClock.now - unchangedSince > .milliseconds(300)
                    }
                    let stopped = probe.written.load(ordering: .relaxed)
                    #expect(stopped < bound, "server wrote \(stopped) messages to a reader that stopped")
                    // It stays stopped while nobody reads.
                    try await Task.sleep(for: .milliseconds(300))
                    let later = probe.written.load(ordering: .relaxed)
                    #expect(later < bound, "server wrote \(later) messages to a reader that stopped")
                }
                // Leaving the handler early cancels the call.
                try await waitUntil("the handler's cancellation") { probe.cancellations.load(ordering: .relaxed) > 0 }
                #expect(probe.cancellations.load(ordering: .relaxed) == 1)
            }
        }
    }

    @Test("tokens: missing or wrong → UNAUTHENTICATED, too small a role → PERMISSION_DENIED")
    func authentication() async throws {
        let tokens = try RPCTokenFile.parse(
            """
            # token role name
            readonly-token-0123456789 readonly dashboard
            service-token-0123456789 service pos
            """
        )
        let policy = RPCAccessPolicy(adminServices: ["o2o.rpc.v1.AdminService", "o2o.rpc.v1.EchoService"])
        let services: [any RPCService] = [EchoServiceProvider(), HealthServiceProvider(status: HealthStatus())]
        try await withTestServer(services: services, interceptors: [RPCAuthInterceptor(tokens: tokens, policy: policy)])
        { _, port in
            func client(
                _ token: String?,
                _ body: (EchoServiceClient, HealthServiceClient) async throws -> Void
            ) async throws {
                try await withTestClient(port: port) { channel in
                    var options = RPCCallOptions()
                    if let token { options.metadata.add("authorization", "Bearer \(token)") }
                    let transport = RPCInterceptingTransport(
                        base: channel,
                        interceptors: [StaticMetadata(options: options)]
                    )
                    try await body(EchoServiceClient(transport: transport), HealthServiceClient(transport: transport))
                }
            }
            try await client(nil) { echo, health in
                let error = await expectRPCError(.unauthenticated) { _ = try await echo.echo(EchoMessage()) }
                #expect(error?.message == "missing authorization: send 'authorization: Bearer <token>'")
                let status = try await health.checkHealth(HealthCheckRequest()).status
                #expect(status == .serving, "health is open")
            }
            try await client("wrong-token-0123456789") { echo, _ in
                await expectRPCError(.unauthenticated) { _ = try await echo.echo(EchoMessage()) }
            }
            try await client("service-token-0123456789") { echo, _ in
                let error = await expectRPCError(.permissionDenied) { _ = try await echo.echo(EchoMessage()) }
                #expect(error?.message == "/o2o.rpc.v1.EchoService/Echo needs role admin; token 'pos' has service")
            }
        }
    }

    @Test("Unix domain sockets")
    func unixSocket() async throws {
        let path = "/tmp/o2o-test-\(UUID().uuidString.prefix(8)).sock"
        let configuration = O2OServerConfiguration(listeners: [.unixSocket(path: path)])
        try await withO2OServer(configuration: configuration, services: [EchoServiceProvider()], logger: testLogger) {
            _ in
            try await withO2OClientChannel(configuration: O2OClientConfiguration(target: .unixSocket(path: path))) {
                channel in
                let reply = try await EchoServiceClient(transport: channel).echo(EchoMessage(sequence: 4))
                #expect(reply.sequence == 4)
            }
        }
    }

    @Test("TLS with a self-signed certificate")
    func tls() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("o2o-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("key.pem").path
        let certificate = directory.appendingPathComponent("cert.pem").path
        // Waited for without holding one of the threads every test's tasks share.
        let openssl = try await ChildProcess.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", certificate, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            ]
        )
        #expect(openssl.status == 0, "\(openssl.error)")
        let configuration = O2OServerConfiguration(
            listeners: [.tcp(host: "127.0.0.1", port: 0)],
            tls: O2OTLSFiles(certificateChainPath: certificate, privateKeyPath: key)
        )
        try await withO2OServer(configuration: configuration, services: [EchoServiceProvider()], logger: testLogger) {
            server in
            guard case .tcp(_, let port) = try await server.listeningAddresses()[0] else { return }
            var client = O2OClientConfiguration(target: .tcp(host: "127.0.0.1", port: port))
            client.tls = O2OClientTLS(trustRootsPath: certificate, serverHostname: "localhost")
            try await withO2OClientChannel(configuration: client) { channel in
                let reply = try await EchoServiceClient(transport: channel).echo(EchoMessage(sequence: 11))
                #expect(reply.sequence == 11)
            }
            // Without trusting the certificate the handshake fails: a clear UNAVAILABLE.
            var untrusting = O2OClientConfiguration(target: .tcp(host: "127.0.0.1", port: port))
            untrusting.tls = O2OClientTLS(serverHostname: "localhost")
            untrusting.retry = O2ORetryPolicy(maximumAttempts: 1)
            try await withO2OClientChannel(configuration: untrusting) { channel in
                await expectRPCError(.unavailable) {
                    _ = try await EchoServiceClient(transport: channel).echo(EchoMessage())
                }
            }
        }
    }
}

/// Adds fixed metadata to every call.
struct StaticMetadata: RPCClientInterceptor {
    let options: RPCCallOptions

    func intercept(
        method: RPCMethodDescriptor,
        options: RPCCallOptions,
        next: (RPCCallOptions) async throws -> Void
    ) async throws {
        var options = options
        for entry in self.options.metadata.entries { options.metadata.add(entry.key, entry.value.description) }
        try await next(options)
    }
}
