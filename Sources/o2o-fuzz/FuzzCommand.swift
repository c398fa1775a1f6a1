import ArgumentParser
import Foundation
import Logging
import O2OFuzzing

/// o2o-fuzz: sends generated requests to every method of the schema on an in-process
/// server with the demo shop, and reports every answer a bad request must not get.
@main
struct FuzzCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "o2o-fuzz",
        abstract: "Fuzz every RPC method of the O2O schema against an in-process server with the demo shop.",
        discussion: """
            Requests are generated from the reflected schema: boundary numbers (Int64.min and max, 0, -1), \
            empty, huge, NUL-holding and invalid UTF-8 strings, unknown enum numbers, wide lists, unknown and \
            corrupted fields, and ids, page tokens and versions taken from earlier answers. Every answer must be \
            a status from the allowed set (OK, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, \
            RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE) with a message, and every OK response \
            must decode. Afterwards the stock and points ledgers, the orders' amounts and the statistics are \
            checked. A request that traps the server ends this process with the runtime's message (file and line); \
            rerun with the printed seed and --workers 1 to make the same choices again.

            Exit status: 0 when nothing was found, 1 when something was.
            """
    )

    @Option(help: "Requests to send (default 100000 unless --seconds is given).")
    var requests: Int?

    @Option(help: "Stop after this many seconds.")
    var seconds: Int?

    @Option(help: "The random seed; the same seed replays the same requests (default: a random one, printed).")
    var seed: UInt64?

    @Option(help: "Callers sending at the same time (1 replays exactly from the seed; more fuzzes races too).")
    var workers: Int = 1

    @Option(help: "The storage engine: memory or rocksdb (in a temporary directory).")
    var store: String = "memory"

    @Flag(help: "Print a line per method: requests, OKs and the most frequent refusal.")
    var methods = false

    @Option(
        help: ArgumentHelp(
            "Write the wire fuzzers' seed corpus into this directory (one subdirectory per target) and exit.",
            valueName: "directory"
        )
    )
    var writeWireCorpus: String?

    @Flag(help: "Print the server's log (warnings and above) to stderr.")
    var log = false

    func validate() throws {
        if let requests, requests < 1 { throw ValidationError("--requests must be at least 1, got \(requests)") }
        if !(1...64).contains(workers) { throw ValidationError("--workers must be 1 to 64, got \(workers)") }
        if let seconds, seconds < 1 { throw ValidationError("--seconds must be at least 1, got \(seconds)") }
        if FuzzStore(rawValue: store) == nil {
            throw ValidationError("--store must be memory or rocksdb, got \(store)")
        }
    }

    func run() async throws {
        if let directory = writeWireCorpus { return try writeCorpus(into: directory) }
        var logger = Logger(label: "o2o.fuzz")
        logger.logLevel = log ? .warning : .critical
        let seed = self.seed ?? UInt64.random(in: 0...UInt64.max)
        let limit = requests ?? (seconds == nil ? 100_000 : nil)
        say(
            "o2o-fuzz: seed \(seed), store \(store), \(workers) worker(s), \(limit.map { "\($0) requests" } ?? "no request limit")"
                + (seconds.map { ", at most \($0) s" } ?? "")
        )
        let target = try await FuzzTarget.open(store: FuzzStore(rawValue: store)!, logger: logger)
        let firstWorker = workers > 1 ? " of the first worker" : ""
        let started = ContinuousClock.now
        let report = await MethodFuzzer(target: target).run(
            seed: seed,
            requests: limit,
            duration: seconds.map { .seconds($0) },
            workers: workers,
            progress: { report in
                if report.requests % 10_000 == 0 {
                    say("  \(report.requests) requests\(firstWorker), \(report.findings.count) findings")
                }
            }
        )
        try await target.close()
        let elapsed = ContinuousClock.now - started
        if methods { say(report.methodTable) }
        say(report.description)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        say(String(format: "%.1f s, %.0f requests/s", seconds, Double(report.requests) / max(seconds, 0.001)))
        if !report.clean { throw ExitCode(1) }
    }

    private func writeCorpus(into directory: String) throws {
        for (target, inputs) in WireCorpus.seeds() {
            let folder = URL(fileURLWithPath: directory).appendingPathComponent(target)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (index, input) in inputs.enumerated() {
                try Data(input).write(to: folder.appendingPathComponent("seed-\(index)"))
            }
            say("\(folder.path): \(inputs.count) seeds")
        }
    }
}

/// Writes a line at once (unbuffered), so that progress shows as it comes, also into
/// a pipe.
private func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
