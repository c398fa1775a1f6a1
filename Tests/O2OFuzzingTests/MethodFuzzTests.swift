import Foundation
import Logging
import O2OMessages
import O2ORPC
import Testing

@testable import O2OFuzzing

/// The server's log is dropped unless O2O_TEST_LOG is set.
private let fuzzLogger: Logger = {
    var logger = Logger(label: "o2o.fuzz.test")
    logger.logLevel = ProcessInfo.processInfo.environment["O2O_TEST_LOG"] == nil ? .critical : .warning
    return logger
}()

@Suite("the request fuzzer over every method")
struct MethodFuzzTests {
    /// A fixed seed, so that a failure here replays with `o2o-fuzz --seed` (exactly
    /// with one worker; the RocksDB case runs two at once, for races); the long runs
    /// with random seeds are `o2o-fuzz`'s job.
    @Test(
        "generated requests to every method get allowed statuses, and the ledgers, order amounts and statistics still hold",
        arguments: [(FuzzStore.memory, 8_000, 1), (.rocksdb, 3_000, 2)]
    )
    func fuzzEveryMethod(store: FuzzStore, requests: Int, workers: Int) async throws {
        let target = try await FuzzTarget.open(store: store, logger: fuzzLogger)
        let fuzzer = MethodFuzzer(target: target)
        let report = await fuzzer.run(seed: 20_261_202, requests: requests, workers: workers)
        try await target.close()
        print(report)
        #expect(report.findings.isEmpty, "\(report.findings.prefix(10).map(\.description).joined(separator: "\n"))")
        #expect(report.failedChecks.isEmpty, "\(report.failedChecks)")
        #expect(report.checks.count == 5)
        // Every method of the registry was called, and most got past validation.
        #expect(report.methodsFuzzed == fuzzer.schema.methods.count)
        #expect(
            report.methodsAnsweredOK * 2 >= report.methodsFuzzed,
            "only \(report.methodsAnsweredOK) methods answered OK"
        )
    }

    @Test("the same seed generates the same requests")
    func replay() {
        let schema = FuzzSchema()
        var first = RequestGenerator(schema: schema, seed: 7)
        var second = RequestGenerator(schema: schema, seed: 7)
        var other = RequestGenerator(schema: schema, seed: 8)
        var differs = false
        for method in schema.methods {
            let request = first.request(method.requestType)
            #expect(request == second.request(method.requestType), "\(method.path)")
            if request != other.request(method.requestType) { differs = true }
        }
        #expect(differs)
    }
}
