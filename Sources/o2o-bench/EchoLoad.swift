#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import O2OMessages
import O2ONIOTransport
import O2ORPC

/// Unary echo load: `conns` connections with `inflight` calls in flight each.
struct EchoLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Unary echo calls of a fixed payload against a running server."
    )

    @Option(help: "Payload bytes per message.") var payload: Int = 200
    @Flag(help: "Let the client compress requests (zstd) when the server accepts it.") var compress = false
    @Option(help: "Where the calling tasks run: 'loop' (the connection's event loop, as the client library recommends for tight loops) or 'global' (Swift's global executor).")
    var executor: String = "loop"

    @OptionGroup var load: LoadOptions

    func run() async throws {
        var bytes = [UInt8](repeating: 0, count: payload)
        for index in 0..<payload { bytes[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
        let request = EchoMessage(payload: bytes)
        let expected = payload
        var channels: [O2OClientChannel] = []
        for _ in 0..<load.conns {
            var configuration = O2OClientConfiguration(target: .tcp(host: "127.0.0.1", port: load.port))
            configuration.compressionThreshold = compress ? 1024 : Int.max
            configuration.settings.acceptsZstd = compress
            channels.append(try O2OClientChannel(configuration: configuration))
        }
        // Establish each connection before timing starts.
        for channel in channels {
            let reply = try await EchoServiceClient(transport: channel).echo(request)
            precondition(reply.payload.count == expected)
        }
        let loop = ClosedLoop(
            channels: channels, inflightPerChannel: load.inflight, warmupSeconds: load.warmup, durationSeconds: load.duration,
            serverPID: load.serverPid, onEventLoop: executor != "global"
        )
        let report = try await loop.run { channel, _, _ in
            try await EchoServiceClient(transport: channel).echo(request).payload.count == expected
        }
        for channel in channels { await channel.close() }
        printLine(
            "RESULT kind=o2o label=\(load.label) coalesce=n/a executor=\(executor) conns=\(load.conns) inflight_per_conn=\(load.inflight) "
                + report.fields
        )
    }
}

/// Fixed-point formatting without Foundation.
func format(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "nan" }
    if decimals == 0 { return String(Int64(value.rounded())) }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int64((abs(value) * scale).rounded())
    let whole = scaled / Int64(scale)
    var fraction = String(scaled % Int64(scale))
    while fraction.count < decimals { fraction = "0" + fraction }
    return (value < 0 ? "-" : "") + "\(whole).\(fraction)"
}
