import Foundation
import Synchronization
import Testing

/// The o2o-server executable run as a child process, as an operator runs it.
final class ServerProcess: Sendable {
    private let process: Process
    private let errorText = CollectedText()
    private let outputText = CollectedText()

    /// What a pipe delivered so far.
    private final class CollectedText: Sendable {
        let text = Mutex("")
        func append(_ data: Data) { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        var value: String { text.withLock { $0 } }
    }

    /// The executable next to the test bundle (debug or release), else the debug build.
    static let executable: String = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("o2o-server").path
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/o2o-server").path
    }()

    /// Starts the server; `environment` replaces every O2O_ variable of the test's own.
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = arguments
        var inherited = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("O2O_") }
        inherited.merge(environment) { $1 }
        process.environment = inherited
        let errorPipe = Pipe(), outputPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = outputPipe
        errorPipe.fileHandleForReading.readabilityHandler = { [errorText] handle in
            errorText.append(handle.availableData)
        }
        outputPipe.fileHandleForReading.readabilityHandler = { [outputText] handle in
            outputText.append(handle.availableData)
        }
        try process.run()
    }

    var standardError: String { errorText.value }
    var standardOutput: String { outputText.value }

    /// The TCP port from the start line, once the server listens; nil if it exits first.
    func listeningPort(timeout: Duration = .seconds(60)) async throws -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = standardError
            if let range = text.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                return Int(text[range].split(separator: ":").last!)
            }
            if !process.isRunning { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the server did not start within \(timeout): \(standardError)")
        return nil
    }

    /// Sends a signal and waits for the exit status.
    func stop(signal: Int32 = SIGTERM) async throws -> Int32 {
        kill(process.processIdentifier, signal)
        return try await exitStatus()
    }

    /// Waits for the process to end by itself; kills it after `timeout`.
    func exitStatus(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                Issue.record("the server did not exit within \(timeout)")
                kill(process.processIdentifier, SIGKILL)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Let the pipe readers take the last bytes.
        try await Task.sleep(for: .milliseconds(50))
        return process.terminationStatus
    }

    /// Runs the server to its exit: for flags that make it stop at once.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String, error: String) {
        let server = try ServerProcess(arguments, environment: environment)
        let status = try await server.exitStatus(timeout: .seconds(30))
        return (status, server.standardOutput, server.standardError)
    }
}

func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("o2o-\(name)-\(UUID().uuidString)").path
}
