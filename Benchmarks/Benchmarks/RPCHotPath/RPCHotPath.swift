// Allocation and CPU cost of the RPC hot path for a 200-byte unary echo: framing a
// message and splitting it off the byte stream, dispatching a call through the router
// (in process, no network), and a whole call over loopback TCP with the client and the
// server in this process. Malloc counts are what to watch: they are stable on a noisy
// machine where times are not.
import Benchmark
import Logging
import NIOCore
import O2OMessages
@_spi(Benchmarking) import O2ONIOTransport
import O2ORPC

/// Echo with nothing else: what the router dispatches to.
struct BenchEcho: EchoServiceProtocol {
    func echo(request: EchoMessage, context: RPCServerContext) async throws -> EchoMessage { request }
    func echoExpand(
        request: EchoExpandRequest,
        responses: RPCResponseWriter<EchoMessage>,
        context: RPCServerContext
    ) async throws {}
    func echoCollect(
        requests: RPCRequestStream<EchoMessage>,
        context: RPCServerContext
    ) async throws -> EchoCollectResponse {
        EchoCollectResponse()
    }
    func echoChat(
        requests: RPCRequestStream<EchoMessage>,
        responses: RPCResponseWriter<EchoMessage>,
        context: RPCServerContext
    ) async throws {}
}

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .instructions]
    let configuration = Benchmark.Configuration(metrics: metrics, scalingFactor: .kilo, maxDuration: .seconds(5))
    let request = EchoMessage(payload: (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
    let message = ByteBuffer(bytes: request.serializedBytes())

    Benchmark("frame: write a 200-byte MESSAGE frame and split it off the stream", configuration: configuration) {
        benchmark in
        var stream = ByteBufferAllocator().buffer(capacity: 4096)
        var decoder = FrameDecoder(maximumFrameSize: 16_384, expectPreface: false)
        for _ in benchmark.scaledIterations {
            stream.clear()
            stream.writeFrame(type: .message, flags: [], streamID: 1, payload: message)
            blackHole(try decoder.decode(buffer: &stream))
        }
    }

    Benchmark("dispatch: unary echo through the router, in process", configuration: configuration) { benchmark in
        let transport = RPCInProcessTransport(services: [BenchEcho()])
        let client = EchoServiceClient(transport: transport)
        for _ in benchmark.scaledIterations {
            blackHole(try await client.echo(request))
        }
    }

    Benchmark(
        "call: unary echo over loopback TCP, client and server",
        configuration: Benchmark.Configuration(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(5))
    ) { benchmark in
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        try await withO2OServer(
            configuration: O2OServerConfiguration(listeners: [.tcp(host: "127.0.0.1", port: 0)]),
            services: [BenchEcho()],
            logger: logger
        ) { server in
            guard case .tcp(_, let port)? = try await server.listeningAddresses().first else { return }
            let channel = try O2OClientChannel(
                configuration: O2OClientConfiguration(target: .tcp(host: "127.0.0.1", port: port))
            )
            let client = EchoServiceClient(transport: channel)
            _ = try await client.echo(request)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try await client.echo(request))
            }
            benchmark.stopMeasurement()
            await channel.close()
        }
    }
}
