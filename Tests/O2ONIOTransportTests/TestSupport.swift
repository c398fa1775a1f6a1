import Logging
import NIOCore
import NIOPosix
import O2OBuiltinServices
import O2ONIOTransport
import O2OProtobuf
import O2ORPC
import O2ORPCMessages
import O2OTestSupport
import Synchronization
import Testing

/// A logger that drops everything unless O2O_TEST_LOG is set.
let testLogger: Logger = {
    var logger = Logger(label: "o2o.test")
    logger.logLevel = ProcessInfoLite.environment("O2O_TEST_LOG") == nil ? .critical : .debug
    return logger
}()

enum ProcessInfoLite {
    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

/// Records what handlers saw, for tests that check cancellation reached them, and
/// holds the "hold" calls until the test lets them go.
final class Probe: Sendable {
    let cancellations = Atomic<Int>(0)
    let started = Atomic<Int>(0)
    let written = Atomic<Int>(0)
    let released = Atomic<Bool>(false)

    func release() { released.store(true, ordering: .relaxed) }
}

/// An echo service whose unary call can be told to wait: payload "sleep" waits until
/// cancelled (and counts the cancellation), "hold" until the probe releases it,
/// payload "fail" throws INTERNAL.
struct ProbeEchoService: EchoServiceProtocol {
    let probe: Probe
    let base = EchoServiceProvider()

    func echo(request: EchoMessage, context: RPCServerContext) async throws -> EchoMessage {
        probe.started.add(1, ordering: .relaxed)
        switch String(decoding: request.payload, as: UTF8.self) {
        case "sleep":
            do {
                try await Task.sleep(for: .seconds(600))
            } catch {
                probe.cancellations.add(1, ordering: .relaxed)
                throw error
            }
        case "hold":
            while !probe.released.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(2)) }
        case "fail":
            struct Boom: Error {}
            throw Boom()
        case "flaky":
            // Every other call is turned away, as a draining server would.
            if probe.written.wrappingAdd(1, ordering: .relaxed).oldValue % 2 == 0 {
                throw RPCError(code: .unavailable, message: "try again")
            }
        default:
            break
        }
        return request
    }

    func echoExpand(
        request: EchoExpandRequest,
        responses: RPCResponseWriter<EchoMessage>,
        context: RPCServerContext
    ) async throws {
        guard request.count <= 1_000_000 else {
            return try await base.echoExpand(request: request, responses: responses, context: context)
        }
        let payload = [UInt8](repeating: 7, count: Int(request.payloadSize))
        do {
            for sequence in 0..<UInt64(request.count) {
                try await responses.write(EchoMessage(payload: payload, sequence: sequence))
                probe.written.add(1, ordering: .relaxed)
            }
        } catch {
            probe.cancellations.add(1, ordering: .relaxed)
            throw error
        }
    }

    func echoCollect(
        requests: RPCRequestStream<EchoMessage>,
        context: RPCServerContext
    ) async throws -> EchoCollectResponse {
        try await base.echoCollect(requests: requests, context: context)
    }

    func echoChat(
        requests: RPCRequestStream<EchoMessage>,
        responses: RPCResponseWriter<EchoMessage>,
        context: RPCServerContext
    ) async throws {
        try await base.echoChat(requests: requests, responses: responses, context: context)
    }
}

/// Starts a server on an ephemeral loopback port with the given services, runs `body`
/// with it and its port, then shuts it down.
func withTestServer<Result: Sendable>(
    services: [any RPCService]? = nil,
    probe: Probe = Probe(),
    interceptors: [any RPCServerInterceptor] = [],
    errorMapping: (any RPCServerErrorMapping)? = nil,
    options: O2OServerConnectionOptions = O2OServerConnectionOptions(),
    gracePeriod: Duration = .seconds(2),
    _ body: (O2OServer, Int) async throws -> Result
) async throws -> Result {
    let services = services ?? [ProbeEchoService(probe: probe), HealthServiceProvider(status: HealthStatus())]
    // A test connects, then sends its preface in a later step; on a busy machine the
    // test's task may wait a long time for a thread in between. The settings timeout
    // (10 s in production) must not close the connection meanwhile.
    var options = options
    options.settingsTimeout = hangTimeout
    let configuration = O2OServerConfiguration(
        listeners: [.tcp(host: "127.0.0.1", port: 0)],
        connection: options,
        gracePeriod: gracePeriod
    )
    return try await withO2OServer(
        configuration: configuration,
        services: services,
        interceptors: interceptors,
        errorMapping: errorMapping,
        logger: testLogger
    ) { server in
        guard case .tcp(_, let port) = try await server.listeningAddresses().first! else {
            fatalError("no TCP listener")
        }
        return try await body(server, port)
    }
}

/// A client channel to a test server.
func withTestClient<Result: Sendable>(
    port: Int,
    configure: (inout O2OClientConfiguration) -> Void = { _ in },
    _ body: (O2OClientChannel) async throws -> Result
) async throws -> Result {
    var configuration = O2OClientConfiguration(target: .tcp(host: "127.0.0.1", port: port))
    configure(&configuration)
    return try await withO2OClientChannel(configuration: configuration, body)
}

/// Expects `body` to throw an RPCError with this code; returns it.
@discardableResult
func expectRPCError(
    _ code: RPCStatusCode,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> RPCError? {
    do {
        try await body()
        Issue.record("expected \(code.name), got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as RPCError {
        #expect(error.code == code, "got \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected RPCError \(code.name), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
