import Foundation
import Synchronization
import Testing

/// One of the package's executables (o2o-server, o2o) run as a child process, as an
/// operator runs it.
public final class ChildProcess: Sendable {
    private let process: Process
    private let errorText = CollectedText()
    private let outputText = CollectedText()

    /// What a pipe delivered so far, and whether it has ended (every writer closed it).
    private final class CollectedText: Sendable {
        private let state = Mutex((text: "", ended: false))

        /// Reads what `handle` has; an empty read is the end of the pipe.
        func read(_ handle: FileHandle) {
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                state.withLock { $0.ended = true }
            } else {
                state.withLock { $0.text += String(decoding: data, as: UTF8.self) }
            }
        }
        var value: String { state.withLock { $0.text } }
        var ended: Bool { state.withLock { $0.ended } }
    }

    /// The executable next to the test bundle (debug or release), else the debug build.
    public static func executable(_ program: String) -> String {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent(program).path
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/\(program)").path
    }

    private let input: FileHandle

    /// Starts `program` (one of the package's, or an absolute path); `environment`
    /// replaces every O2O_ variable of the test's own; `input` is its whole standard
    /// input, or nil to keep standard input open for `send`.
    public init(
        _ program: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        input: Data? = Data()
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : Self.executable(program))
        process.arguments = arguments
        var inherited = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("O2O_") }
        inherited.merge(environment) { $1 }
        process.environment = inherited
        let errorPipe = Pipe()
        let outputPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = outputPipe
        errorPipe.fileHandleForReading.readabilityHandler = { [errorText] handle in errorText.read(handle) }
        outputPipe.fileHandleForReading.readabilityHandler = { [outputText] handle in outputText.read(handle) }
        let inputPipe = Pipe()
        process.standardInput = inputPipe
        self.input = inputPipe.fileHandleForWriting
        try process.run()
        if let input {
            try self.input.write(contentsOf: input)
            try self.input.close()
        }
    }

    /// Types `text` on standard input.
    public func send(_ text: String) throws {
        try input.write(contentsOf: Data(text.utf8))
    }

    /// Waits until standard output holds `text` after its first `offset` bytes; the
    /// byte offset after it, or nil once the output ended without it (or after
    /// `timeout`, which only catches hangs).
    public func waitForOutput(
        _ text: String,
        after offset: Int = 0,
        timeout: Duration = hangTimeout
    ) async throws -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            // Read whether it ended before reading the text, so no last bytes are missed.
            let ended = outputText.ended
            let tail = String(decoding: standardOutput.utf8.dropFirst(offset), as: UTF8.self)
            if let range = tail.range(of: text) {
                return offset + tail.utf8.distance(from: tail.startIndex, to: range.upperBound)
            }
            if ended { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// Waits until standard output holds `count` lines that start with `prefix`; all of
    /// its lines so far, or nil once the output ended first (or after `timeout`).
    public func waitForLines(
        startingWith prefix: String,
        count: Int,
        timeout: Duration = hangTimeout
    ) async throws -> [Substring]? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let ended = outputText.ended
            let text = standardOutput
            // Only whole lines count: the last one may still be arriving.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            if lines.count(where: { $0.hasPrefix(prefix) }) >= count { return Array(lines) }
            if ended { break }
            try await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    public var standardError: String { errorText.value }
    public var standardOutput: String { outputText.value }

    /// The TCP port from the start line, once the server listens; nil if it exits first.
    public func listeningPort(timeout: Duration = startTimeout) async throws -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let ended = errorText.ended
            let text = standardError
            if let range = text.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                return Int(text[range].split(separator: ":").last!)
            }
            if ended { return nil }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record(
            "\(process.executableURL?.lastPathComponent ?? "") did not start within \(timeout): \(standardError)"
        )
        return nil
    }

    /// Sends a signal and waits for the exit status.
    public func stop(signal: Int32 = SIGTERM) async throws -> Int32 {
        kill(process.processIdentifier, signal)
        return try await exitStatus()
    }

    /// Waits for the process to end by itself, and for its output to be read to the
    /// end; kills it after `timeout`, which only catches hangs.
    public func exitStatus(timeout: Duration = hangTimeout) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                Issue.record("\(process.executableURL?.lastPathComponent ?? "") did not exit within \(timeout)")
                kill(process.processIdentifier, SIGKILL)
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        // The pipes end once every process holding them has gone; a child the program
        // left running could hold them longer, so this wait has a bound of its own.
        let drained = ContinuousClock.now + .seconds(10)
        while !(outputText.ended && errorText.ended), ContinuousClock.now < drained {
            try await Task.sleep(for: .milliseconds(5))
        }
        return process.terminationStatus
    }

    /// Runs `program` to its exit: for commands that stop by themselves.
    public static func run(
        _ program: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        input: Data = Data()
    ) async throws -> (status: Int32, output: String, error: String) {
        let child = try ChildProcess(program, arguments, environment: environment, input: input)
        let status = try await child.exitStatus()
        return (status, child.standardOutput, child.standardError)
    }
}

public func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("o2o-\(name)-\(UUID().uuidString)").path
}
