import Foundation
import O2OMessages
import O2ORPC
import O2OTestSupport
import Testing

@testable import O2OFuzzing

@Suite("the request fuzzer over every method")
struct MethodFuzzTests {
    /// A fixed seed, so that a failure here replays with `o2o-fuzz --seed` (exactly
    /// with one worker; the RocksDB case runs two at once, for races); the long runs
    /// with random seeds are `o2o-fuzz`'s job. In a process of its own: the fuzzer
    /// keeps its server busy, and sharing the test process's threads would slow the
    /// tests running beside it.
    @Test(
        "generated requests to every method get allowed statuses, and the ledgers, order amounts and statistics still hold",
        arguments: [("memory", 6_000, 1), ("rocksdb", 2_000, 2)]
    )
    func fuzzEveryMethod(store: String, requests: Int, workers: Int) async throws {
        let child = try ChildProcess(
            "o2o-fuzz",
            ["--seed", "20261202", "--requests", "\(requests)", "--store", store, "--workers", "\(workers)"]
        )
        let status = try await child.exitStatus(timeout: .seconds(1_800))
        let output = child.standardOutput
        print(output)
        #expect(status == 0, "\(output)\n\(child.standardError)")
        #expect(output.contains("\nno findings\n"))
        #expect(output.contains("checks afterwards: health, stock ledger, points ledger, order amounts, statistics"))
        // "seed S: R requests over M methods, K of them answered OK at least once":
        // every method of the registry was called, and most got past validation.
        let summary = try #require(
            output.split(separator: "\n").first { $0.hasPrefix("seed 20261202: \(requests) requests over ") }
        )
        let numbers = summary.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(numbers.count >= 4)
        if numbers.count >= 4 {
            #expect(numbers[2] == FuzzSchema().methods.count, "\(summary)")
            #expect(numbers[3] * 2 >= numbers[2], "\(summary)")
        }
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
