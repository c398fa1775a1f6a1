#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Histogram
import O2ONIOTransport

/// The options every closed-loop workload shares.
struct LoadOptions: ParsableArguments {
    @Option(help: "Server port on 127.0.0.1.") var port: Int = 7070
    @Option(help: "Connections.") var conns: Int = 1
    @Option(help: "Calls in flight per connection.") var inflight: Int = 64
    @Option(help: "Seconds of warm-up before measuring.") var warmup: Double = 3
    @Option(help: "Seconds measured.") var duration: Double = 15
    @Option(help: "Server process id, for its CPU time.") var serverPid: Int32 = 0
    @Option(help: "Label in the RESULT line.") var label: String = "run"
}

/// A closed-loop load: every worker issues one call, waits for its answer, issues the
/// next. Calls answered during the measured window (after the warm-up) are counted and
/// their latency recorded; CPU of this process, the server and the machine is sampled
/// at the window's edges.
struct ClosedLoop {
    var channels: [O2OClientChannel]
    var inflightPerChannel: Int
    var warmupSeconds: Double
    var durationSeconds: Double
    var serverPID: Int32
    /// Run the workers on each connection's event loop rather than the global executor.
    var onEventLoop: Bool

    struct Report {
        var histogram: Histogram<UInt64>
        var calls: UInt64
        var errors: Int
        var callsPerSecond: Double
        var serverCores: Double
        var clientCores: Double
        var machineBusy: Double

        func micros(_ percentile: Double) -> String { format(Double(histogram.valueAtPercentile(percentile)) / 1000, 1) }

        /// The RESULT fields shared by every workload, in the baseline peers' names.
        var fields: String {
            "calls=\(calls) calls_per_s=\(format(callsPerSecond, 0)) p50_us=\(micros(50)) p90_us=\(micros(90)) p99_us=\(micros(99)) "
                + "p999_us=\(micros(99.9)) max_us=\(format(Double(histogram.max) / 1000, 1)) "
                + "server_cpu_cores=\(format(serverCores, 3)) client_cpu_cores=\(format(clientCores, 3)) "
                + "machine_busy_frac=\(format(machineBusy, 3)) server_cpu_ms_per_1k=\(format(serverCores * 1000 / callsPerSecond * 1000, 2)) "
                + "client_cpu_ms_per_1k=\(format(clientCores * 1000 / callsPerSecond * 1000, 2)) errors=\(errors)"
        }
    }

    /// Runs `call` in a loop on every worker; `call` gets the worker's channel, the
    /// worker's number (0 to conns × inflight - 1) and the worker's running call number,
    /// and returns false when the answer was wrong.
    func run(_ call: @escaping @Sendable (_ channel: O2OClientChannel, _ worker: Int, _ number: Int) async throws -> Bool) async throws -> Report {
        let start = nowNanoseconds()
        let measureStart = start + UInt64(warmupSeconds * 1e9)
        let end = measureStart + UInt64(durationSeconds * 1e9)

        struct WorkerResult: Sendable {
            var histogram: Histogram<UInt64>
            var calls: UInt64
            var errors: Int
        }
        let serverPID = serverPID
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
        let workersPerChannel = inflightPerChannel
        let results = try await withThrowingTaskGroup(of: WorkerResult.self) { group in
            for (channelIndex, channel) in channels.enumerated() {
                let preference: (any TaskExecutor)? = onEventLoop ? channel.taskExecutor : nil
                for worker in 0..<workersPerChannel {
                    let workerNumber = channelIndex * workersPerChannel + worker
                    group.addTask(executorPreference: preference) {
                        var histogram = makeLatencyHistogram()
                        var calls: UInt64 = 0
                        var errors = 0
                        var number = 0
                        while true {
                            let sent = nowNanoseconds()
                            if sent >= end { break }
                            number &+= 1
                            do {
                                let correct = try await call(channel, workerNumber, number)
                                let received = nowNanoseconds()
                                if !correct { errors += 1 }
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
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let seconds = Double(last.time - first.time) / 1e9
        return Report(
            histogram: histogram, calls: calls, errors: errors,
            callsPerSecond: Double(calls) / (Double(end - measureStart) / 1e9),
            serverCores: Double(last.server - first.server) / ticks / seconds,
            clientCores: Double(last.client - first.client) / ticks / seconds,
            machineBusy: Double(last.machineBusy - first.machineBusy) / Double(max(1, last.machineTotal - first.machineTotal))
        )
    }
}
