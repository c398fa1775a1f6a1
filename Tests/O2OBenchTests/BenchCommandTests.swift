import Foundation
import O2OTestSupport
import Testing

/// o2o-bench run as people run it, briefly: it starts its own o2o-server, measures, and
/// prints what it promises; bad options are refused with the option named.
@Suite("o2o-bench")
struct BenchCommandTests {
    static func json(_ text: String) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(value as? [String: Any], "not a JSON object: \(text)")
    }

    static let brief = ["--warmup", "0.2", "--duration", "1", "--inflight", "4", "--json"]

    @Test("ping, echo with zstd and stream against a server it starts: every promised field, no errors")
    func workloads() async throws {
        for (arguments, workload) in [
            (["ping"], "ping"), (["echo", "4096", "--compression", "on"], "echo"),
            (["stream", "--count", "50"], "stream"),
        ] {
            let run = try await ChildProcess.run("o2o-bench", arguments + Self.brief)
            #expect(run.status == 0, "\(arguments): \(run.error)")
            let result = try Self.json(run.output)
            #expect(result["kind"] as? String == "o2o")
            #expect(result["workload"] as? String == workload)
            #expect(result["errors"] as? Int == 0, "\(result)")
            #expect((result["calls"] as? Int ?? 0) > 0)
            for field in [
                "calls_per_s", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "server_cpu_ms_per_1k", "mb_per_s",
            ] {
                #expect(result[field] is Double || result[field] is Int, "\(workload): \(field) missing in \(result)")
            }
            // The server is this machine's, so its CPU is known; the wire bytes come from its counters.
            #expect((result["server_cpu_cores"] as? Double ?? 0) > 0)
            let wire = try #require(result["wire_bytes_per_call"] as? Int, "\(result)")
            if workload == "echo" {
                // 8 KB of text-like payload both ways, compressed.
                #expect(wire > 0 && wire < 8192)
                #expect(result["compression"] as? String == "on")
            }
            if workload == "stream" {
                #expect(result["messages_per_call"] as? Int == 50)
                #expect(wire > 50 * 200)
            }
        }
    }

    @Test("bad options name the option; a missing peer build says how to build it")
    func badOptions() async throws {
        for (arguments, option) in [
            (["echo", "99999999"], "SIZE"), (["ping", "--conns", "0"], "--conns"),
            (["reserve", "--mode", "cold"], "--mode"),
            (["ping", "--server", "nohost"], "--server"), (["echo", "--compression", "max"], "--compression"),
            (["compare", "--peers", "/nonexistent"], "--peers"), (["compare", "--configs", "1y64"], "--configs"),
        ] {
            let run = try await ChildProcess.run("o2o-bench", arguments)
            #expect(run.status != 0, "\(arguments)")
            #expect(run.error.contains(option), "\(arguments): \(run.error)")
        }
    }
}
