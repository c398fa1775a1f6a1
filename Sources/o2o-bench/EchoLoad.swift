#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Histogram
import O2OMessages
import O2ONIOTransport
import O2ORPC

/// Unary echo load: `conns` connections with `inflight` calls in flight each.
struct EchoLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Unary echo calls of a fixed payload against a running server."
    )

    @Option(help: "Server port on 127.0.0.1.") var port: Int = 7070
    @Option(help: "Connections.") var conns: Int = 1
    @Option(help: "Calls in flight per connection.") var inflight: Int = 64
    @Option(help: "Seconds of warm-up before measuring.") var warmup: Double = 3
    @Option(help: "Seconds measured.") var duration: Double = 15
    @Option(help: "Payload bytes per message.") var payload: Int = 200
    @Option(help: "Server process id, for its CPU time.") var serverPid: Int32 = 0
    @Option(help: "Label in the RESULT line.") var label: String = "run"
    @Flag(help: "Let the client compress requests (zstd) when the server accepts it.") var compress = false
    @Option(help: "Where the calling tasks run: 'loop' (the connection's event loop, as the client library recommends for tight loops) or 'global' (Swift's global executor).")
    var executor: String = "loop"

    func run() async throws {
        var bytes = [UInt8](repeating: 0, count: payload)
        for index in 0..<payload { bytes[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
        let request = EchoMessage(payload: bytes)
        let expected = payload
        var channels: [O2OClientChannel] = []
        for _ in 0..<conns {
            var configuration = O2OClientConfiguration(target: .tcp(host: "127.0.0.1", port: port))
            configuration.compressionThreshold = compress ? 1024 : Int.max
            configuration.settings.acceptsZstd = compress
            channels.append(try O2OClientChannel(configuration: configuration))
        }
        // Establish each connection before timing starts.
        for channel in channels {
            let reply = try await EchoServiceClient(transport: channel).echo(request)
            precondition(reply.payload.count == expected)
        }
        let start = nowNanoseconds()
        let measureStart = start + UInt64(warmup * 1e9)
        let end = measureStart + UInt64(duration * 1e9)

        struct WorkerResult: Sendable {
            var histogram: Histogram<UInt64>
            var calls: UInt64
            var errors: Int
        }
        let serverPID = serverPid
        let sampler = Task.detached { () -> (CPUSample, CPUSample) in
            func sleep(until target: UInt64) {
                while true {
                    let now = nowNanoseconds()
                    if now >= target { return }
                    usleep(useconds_t(min(100_000, max(1, (target - now) / 1000))))
                }
            }
            sleep(until: measureStart)
            let first = CPUSample.take(serverPID: serverPID)
            sleep(until: end)
            return (first, CPUSample.take(serverPID: serverPID))
        }
        let results = try await withThrowingTaskGroup(of: WorkerResult.self) { group in
            for channel in channels {
                let echo = EchoServiceClient(transport: channel)
                let preference: (any TaskExecutor)? = executor == "global" ? nil : channel.taskExecutor
                for _ in 0..<inflight {
                    group.addTask(executorPreference: preference) {
                        var histogram = makeLatencyHistogram()
                        var calls: UInt64 = 0
                        var errors = 0
                        while true {
                            let sent = nowNanoseconds()
                            if sent >= end { break }
                            do {
                                let reply = try await echo.echo(request)
                                let received = nowNanoseconds()
                                if reply.payload.count != expected { errors += 1 }
                                if received >= measureStart, received <= end {
                                    _ = histogram.record(received - sent)
                                    calls += 1
                                }
                            } catch {
                                errors += 1
                            }
                        }
                        return WorkerResult(histogram: histogram, calls: calls, errors: errors)
                    }
                }
            }
            var all: [WorkerResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        let (first, last) = await sampler.value
        var histogram = makeLatencyHistogram()
        var calls: UInt64 = 0
        var errors = 0
        for result in results {
            histogram.add(result.histogram)
            calls += result.calls
            errors += result.errors
        }
        for channel in channels { await channel.close() }

        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let seconds = Double(last.time - first.time) / 1e9
        let serverCores = Double(last.server - first.server) / ticks / seconds
        let clientCores = Double(last.client - first.client) / ticks / seconds
        let machine = Double(last.machineBusy - first.machineBusy) / Double(max(1, last.machineTotal - first.machineTotal))
        let rate = Double(calls) / (Double(end - measureStart) / 1e9)
        func micros(_ percentile: Double) -> String { format(Double(histogram.valueAtPercentile(percentile)) / 1000, 1) }
        printLine(
            "RESULT kind=o2o label=\(label) coalesce=n/a executor=\(executor) conns=\(conns) inflight_per_conn=\(inflight) calls=\(calls) "
                + "calls_per_s=\(format(rate, 0)) p50_us=\(micros(50)) p90_us=\(micros(90)) p99_us=\(micros(99)) "
                + "p999_us=\(micros(99.9)) max_us=\(format(Double(histogram.max) / 1000, 1)) "
                + "server_cpu_cores=\(format(serverCores, 3)) client_cpu_cores=\(format(clientCores, 3)) "
                + "machine_busy_frac=\(format(machine, 3)) server_cpu_ms_per_1k=\(format(serverCores * 1000 / rate * 1000, 2)) "
                + "client_cpu_ms_per_1k=\(format(clientCores * 1000 / rate * 1000, 2)) errors=\(errors)"
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
