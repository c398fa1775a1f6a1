import NIOCore
import O2OBuiltinServices
import O2ONIOTransport
import O2OProtobuf
import O2ORPC
import O2ORPCMessages
import Synchronization
import Testing

/// Server interceptors see what the handler answered, and both transports run calls
/// through the same executor: the same interceptors give the same results over the
/// network and in-process.
@Suite("Server interceptors")
struct InterceptorTests {
    /// Records what each call answered, and makes Echo's "secret" payload unreadable,
    /// as a response-filtering interceptor would.
    final class ResponseRecorder: RPCServerInterceptor {
        let seen = Mutex<[String]>([])

        func intercept(
            context: RPCServerContext,
            next: (RPCServerContext) async throws -> RPCServerResponse
        ) async throws -> RPCServerResponse {
            let response = try await next(context)
            switch response {
            case .message(let bytes):
                var message = try EchoMessage(serializedBytes: bytes)
                seen.withLock { $0.append("\(context.method.method): \(message.payload.count) bytes") }
                guard message.payload == Array("secret".utf8) else { return response }
                message.payload = Array("******".utf8)
                var buffer = ByteBuffer()
                message.serialize(into: &buffer)
                return .message(buffer)
            case .streamed:
                seen.withLock { $0.append("\(context.method.method): streamed") }
                return response
            }
        }
    }

    /// The calls, made through whichever transport.
    static func exercise(_ transport: any RPCClientTransport) async throws -> [String] {
        let echo = EchoServiceClient(transport: transport)
        func echoed(_ text: String) async throws -> String {
            String(decoding: try await echo.echo(EchoMessage(payload: Array(text.utf8))).payload, as: UTF8.self)
        }
        var results = [try await echoed("secret"), try await echoed("hello")]
        let count = try await echo.echoExpand(EchoExpandRequest(count: 3, payloadSize: 4)) { responses in
            var count = 0
            for try await _ in responses { count += 1 }
            return count
        }
        results.append("expanded \(count)")
        do {
            _ = try await echo.echo(EchoMessage(payload: Array("fail".utf8)))
        } catch let error as RPCError {
            results.append("\(error.code.name)")
        }
        return results
    }

    @Test("interceptors see and may replace a unary response; the same over the network and in-process")
    func sameOnBothTransports() async throws {
        let network = ResponseRecorder()
        let overNetwork = try await withTestServer(
            services: [ProbeEchoService(probe: Probe())],
            interceptors: [network]
        ) { _, port in
            try await withTestClient(port: port) { channel in try await Self.exercise(channel) }
        }
        let local = ResponseRecorder()
        let inProcess = try await Self.exercise(
            RPCInProcessTransport(services: [ProbeEchoService(probe: Probe())], interceptors: [local])
        )
        #expect(overNetwork == ["******", "hello", "expanded 3", "INTERNAL"])
        #expect(inProcess == overNetwork)
        let expectedSeen = ["Echo: 6 bytes", "Echo: 5 bytes", "EchoExpand: streamed"]
        #expect(network.seen.withLock { $0 } == expectedSeen)
        #expect(local.seen.withLock { $0 } == expectedSeen)
    }
}

extension InterceptorTests {
    /// Turns every error that is not a status into FAILED_PRECONDITION.
    struct MapEverything: RPCServerErrorMapping {
        func map(_ error: any Error, context: RPCServerContext) -> any Error {
            error is RPCError ? error : RPCError(code: .failedPrecondition, message: "mapped: \(context.method.method)")
        }
    }

    /// Records the status each failed call ended with, as an interceptor sees it.
    final class StatusRecorder: RPCServerInterceptor {
        let seen = Mutex<[String]>([])

        func intercept(
            context: RPCServerContext,
            next: (RPCServerContext) async throws -> RPCServerResponse
        ) async throws -> RPCServerResponse {
            do {
                return try await next(context)
            } catch {
                seen.withLock { $0.append(rpcError(from: error, requestID: context.requestID).code.name) }
                throw error
            }
        }
    }

    @Test("the error mapping runs innermost: interceptors and the caller see the mapped status, on both transports")
    func errorMapping() async throws {
        let failing = EchoMessage(payload: Array("fail".utf8))
        let network = StatusRecorder()
        let overNetwork = try await withTestServer(
            services: [ProbeEchoService(probe: Probe())],
            interceptors: [network],
            errorMapping: MapEverything()
        ) { _, port in
            try await withTestClient(port: port) { channel in
                await expectRPCError(.failedPrecondition) {
                    _ = try await EchoServiceClient(transport: channel).echo(failing)
                }
            }
        }
        let local = StatusRecorder()
        let inProcess = await expectRPCError(.failedPrecondition) {
            _ = try await EchoServiceClient(
                transport: RPCInProcessTransport(
                    services: [ProbeEchoService(probe: Probe())],
                    interceptors: [local],
                    errorMapping: MapEverything()
                )
            ).echo(failing)
        }
        #expect(overNetwork?.message == "mapped: Echo" && inProcess?.message == "mapped: Echo")
        #expect(network.seen.withLock { $0 } == ["FAILED_PRECONDITION"])
        #expect(local.seen.withLock { $0 } == ["FAILED_PRECONDITION"])
    }
}
