import Histogram
import O2ONIOTransport
import O2ORPC
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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

    /// One call of a worker: gets the worker's channel, the worker's number (0 to
    /// conns × inflight - 1) and its running call number; returns false when the
    /// answer was wrong.
    typealias Call = @Sendable (_ channel: O2OClientChannel, _ worker: Int, _ number: Int) async throws -> Bool

    struct Report {
        var histogram: Histogram<UInt64>
        var calls: UInt64
        /// Failed calls by status name; WRONG_ANSWER for answers that did not check out,
        /// CLIENT for failures that are not RPC statuses.
        var errorsByStatus: [String: Int]
        var callsPerSecond: Double
        var serverCores: Double
        var clientCores: Double
        var machineBusy: Double
        /// What `windowProbe` counted between its two readings (bytes on the wire), and
        /// the calls answered in between: counted at the readings themselves, not at the
        /// window's edges, so a probe that is slow to answer does not skew the ratio.
        var probed: (count: UInt64, calls: Double)?

        var errors: Int { errorsByStatus.values.reduce(0, +) }

        func micros(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }

        /// The fields shared by every workload, in the baseline peers' names and order.
        var fields: [(String, String)] {
            [
                ("calls", String(calls)), ("calls_per_s", format(callsPerSecond, 0)),
                ("p50_us", format(micros(50), 1)), ("p90_us", format(micros(90), 1)), ("p99_us", format(micros(99), 1)),
                ("p999_us", format(micros(99.9), 1)), ("max_us", format(Double(histogram.max) / 1000, 1)),
                ("server_cpu_cores", format(serverCores, 3)), ("client_cpu_cores", format(clientCores, 3)),
                ("machine_busy_frac", format(machineBusy, 3)),
                ("server_cpu_ms_per_1k", format(serverCores * 1000 / callsPerSecond * 1000, 2)),
                ("client_cpu_ms_per_1k", format(clientCores * 1000 / callsPerSecond * 1000, 2)),
                ("errors", String(errors)),
            ]
        }
    }

    /// Counts something (bytes on the wire) at the edges of the measured window.
    var windowProbe: (@Sendable () async -> UInt64?)?

    /// Runs `call` in a loop on every worker until the window ends.
    func run(_ call: @escaping Call) async throws -> Report {
        let start = nowNanoseconds()
        let measureStart = start + UInt64(warmupSeconds * 1e9)
        let end = measureStart + UInt64(durationSeconds * 1e9)

        struct WorkerResult: Sendable {
            var histogram: Histogram<UInt64>
            var calls: UInt64
            var errors: [String: Int]
        }
        let serverPID = serverPID
        let probe = windowProbe
        let answered = AnsweredCalls()
        let sampler = Task.detached { () -> (CPUSample, CPUSample, (UInt64, Double)?) in
            func sleep(until target: UInt64) {
                while true {
                    let now = nowNanoseconds()
                    if now >= target { return }
                    usleep(useconds_t(min(100_000, max(1, (target - now) / 1000))))
                }
            }
            sleep(until: measureStart)
            let first = CPUSample.take(serverPID: serverPID)
            // The calls answered while the probe ran count half: the probe's reading falls
            // somewhere in that time.
            func probeWithCalls() async -> (UInt64, Double)? {
                let before = answered.value
                guard let reading = await probe?() else { return nil }
                return (reading, (Double(before) + Double(answered.value)) / 2)
            }
            let probedFirst = await probeWithCalls()
            sleep(until: end)
            let last = CPUSample.take(serverPID: serverPID)
            let probedLast = await probeWithCalls()
            guard let probedFirst, let probedLast, probedLast.0 >= probedFirst.0, probedLast.1 > probedFirst.1 else {
                return (first, last, nil)
            }
            return (first, last, (probedLast.0 - probedFirst.0, probedLast.1 - probedFirst.1))
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
                        var errors: [String: Int] = [:]
                        var number = 0
                        while true {
                            let sent = nowNanoseconds()
                            if sent >= end { break }
                            number &+= 1
                            do {
                                let correct = try await call(channel, workerNumber, number)
                                let received = nowNanoseconds()
                                answered.add()
                                if !correct { errors["WRONG_ANSWER", default: 0] += 1 }
                                if received >= measureStart, received <= end {
                                    _ = histogram.record(received - sent)
                                    calls += 1
                                }
                            } catch let error as RPCError {
                                errors[error.code.name, default: 0] += 1
                            } catch {
                                errors["CLIENT", default: 0] += 1
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
        let (first, last, probed) = await sampler.value
        var histogram = makeLatencyHistogram()
        var calls: UInt64 = 0
        var errors: [String: Int] = [:]
        for result in results {
            histogram.add(result.histogram)
            calls += result.calls
            errors.merge(result.errors, uniquingKeysWith: +)
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let seconds = Double(last.time - first.time) / 1e9
        return Report(
            histogram: histogram,
            calls: calls,
            errorsByStatus: errors,
            callsPerSecond: Double(calls) / (Double(end - measureStart) / 1e9),
            serverCores: Double(last.server - first.server) / ticks / seconds,
            clientCores: Double(last.client - first.client) / ticks / seconds,
            machineBusy: Double(last.machineBusy - first.machineBusy)
                / Double(max(1, last.machineTotal - first.machineTotal)),
            probed: probed.map { (count: $0.0, calls: $0.1) }
        )
    }
}

/// Calls answered so far, by every worker, in the window or not.
private final class AnsweredCalls: Sendable {
    private let count = Atomic<UInt64>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: UInt64 { count.load(ordering: .relaxed) }
}
