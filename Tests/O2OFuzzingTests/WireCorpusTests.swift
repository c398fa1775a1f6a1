import Foundation
import O2OFuzzing
import O2OWireFuzzing
import Testing

/// The wire fuzzers' entry points over the committed corpus (`Fuzz/Corpus`: the seeds
/// and every input that once crashed), and over random mutations of it: the
/// libFuzzer runs (`Tools/fuzz-wire`) explore, these keep what they found fixed.
@Suite("the wire fuzz targets over their corpus")
struct WireCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/Corpus").standardized

    static func inputs(_ target: String) throws -> [[UInt8]] {
        let folder = corpus.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map {
            Array(try Data(contentsOf: folder.appendingPathComponent($0)))
        }
    }

    @Test(
        "every target has a committed corpus that matches the seeds",
        arguments: ["frames", "messages", "json", "shell-codec"]
    )
    func committedCorpus(target: String) throws {
        let committed = try Self.inputs(target)
        #expect(!committed.isEmpty)
        let seeds = WireCorpus.seeds()[target] ?? []
        #expect(!seeds.isEmpty)
        for seed in seeds {
            #expect(
                committed.contains(seed),
                "a seed of \(target) is not committed: rerun o2o-fuzz --write-wire-corpus Fuzz/Corpus"
            )
        }
    }

    @Test(
        "every corpus input and random mutations of it return without trapping",
        arguments: ["frames", "messages", "json", "shell-codec"]
    )
    func replay(target: String) async throws {
        let run = try #require(WireFuzzTargets.all[target])
        let inputs = try Self.inputs(target)
        for input in inputs { run(input) }
        var random = FuzzRandom(seed: 42)
        for round in 0..<1_000 {
            // Synchronous work: let the tests running beside this one have the thread.
            if round % 50 == 0 { await Task.yield() }
            var input = inputs[round % inputs.count]
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                switch Int.random(in: 0..<4, using: &random) {
                case 0 where !input.isEmpty:
                    input[Int.random(in: 0..<input.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                case 1 where input.count > 1: input.remove(at: Int.random(in: 1..<input.count, using: &random))
                case 2:
                    input.insert(
                        UInt8.random(in: 0...255, using: &random),
                        at: Int.random(in: 0...input.count, using: &random)
                    )
                default: input = Array(input.prefix(Int.random(in: 0...input.count, using: &random)))
                }
            }
            run(input)
        }
    }
}
