import Foundation
import O2OTestSupport
import Testing

/// Runs `body` with the address of an o2o-server on a loopback port (in-memory
/// store; the demo shop when `demo`; more flags in `arguments`), stopping the server afterwards.
func withServer(
    demo: Bool = false,
    arguments: [String] = [],
    _ body: (_ address: String) async throws -> Void
) async throws {
    let server = try ChildProcess(
        "o2o-server",
        ["--store", "memory", "--port", "0"] + (demo ? ["--demo-data"] : []) + arguments
    )
    guard let port = try await server.listeningPort() else {
        Issue.record("o2o-server did not start: \(server.standardError)")
        _ = try await server.stop()
        return
    }
    do {
        try await body("127.0.0.1:\(port)")
    } catch {
        _ = try await server.stop()
        throw error
    }
    _ = try await server.stop()
}

/// `o2o --server ADDRESS ARGUMENTS…` run to its exit, with a home directory of its own.
func shell(
    _ address: String,
    _ arguments: [String],
    input: String = "",
    environment: [String: String] = [:]
) async throws -> (status: Int32, output: String, error: String) {
    var environment = environment
    if environment["HOME"] == nil { environment["HOME"] = FileManager.default.temporaryDirectory.path }
    return try await ChildProcess.run(
        "o2o",
        ["--server", address] + arguments,
        environment: environment,
        input: Data(input.utf8)
    )
}

/// One JSON document as a dictionary.
func object(_ text: some StringProtocol) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(value as? [String: Any], "not a JSON object: \(text)")
}

/// Every line of `text` as a JSON object.
func objects(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { try object($0) }
}
