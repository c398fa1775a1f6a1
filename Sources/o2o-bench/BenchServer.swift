import ArgumentParser
import Foundation
import O2OMessages
import O2ONIOTransport
import O2ORPC
import Synchronization

/// The client shape every closed-loop workload shares, in the baseline peers' terms.
struct LoadOptions: ParsableArguments {
    @Option(help: "Connections.") var conns: Int = 1
    @Option(help: "Calls in flight per connection.") var inflight: Int = 64
    @Option(help: "Seconds of warm-up before measuring.") var warmup: Double = 3
    @Option(help: "Seconds measured.") var duration: Double = 15
    @Option(help: "Label in the result.") var label: String = "run"
    @Flag(help: "Print the result as one JSON object instead of a summary.") var json = false
    @Option(
        help:
            "Where the calling tasks run: loop (each connection's event loop, as the client library offers for tight loops) or global (Swift's global executor, like the gRPC peer's client)."
    )
    var executor: String = "loop"

    func validate() throws {
        guard (1...64).contains(conns) else { throw ValidationError("--conns: \(conns) is not from 1 to 64") }
        guard (1...10_000).contains(inflight) else {
            throw ValidationError("--inflight: \(inflight) is not from 1 to 10000")
        }
        guard warmup >= 0, warmup <= 3600 else {
            throw ValidationError("--warmup: \(warmup) is not from 0 to 3600 seconds")
        }
        guard ["loop", "global"].contains(executor) else {
            throw ValidationError("--executor: '\(executor)' is not loop or global")
        }
        guard duration > 0, duration <= 3600 else {
            throw ValidationError("--duration: \(duration) is not more than 0 and at most 3600 seconds")
        }
    }
}

/// Where the load goes: a running server, or an o2o-server this program starts.
struct ServerOptions: ParsableArguments {
    @Option(
        help:
            "HOST:PORT of a running o2o-server. Without it, o2o-bench starts the o2o-server next to it on a free loopback port and stops it afterwards."
    )
    var server: String?

    @Option(help: "Store of the server o2o-bench starts: memory, or rocksdb (in a scratch directory, --sync group).")
    var store: String = "memory"

    @Option(help: "Where the server o2o-bench starts runs calls: event-loop or global (its --handlers).")
    var handlers: String = "event-loop"

    @Option(
        help:
            "Process id of a running server, for its CPU time. (default: the pid the server reports, when it runs on this machine)"
    )
    var serverPid: Int32?

    func validate() throws {
        guard ["global", "event-loop"].contains(handlers) else {
            throw ValidationError("--handlers: '\(handlers)' is not global or event-loop")
        }
        guard ["memory", "rocksdb"].contains(store) else {
            throw ValidationError("--store: '\(store)' is not memory or rocksdb")
        }
        if let server { _ = try Self.address(server) }
    }

    static func address(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else {
            throw ValidationError("--server: '\(text)' is not HOST:PORT")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--server: '\(text)' has no host") }
        return (host, port)
    }
}

/// A child process (a server) that is up once it prints a line matching a pattern.
final class ChildServer: Sendable {
    let process: Process
    private let output = CollectedOutput()

    /// What the process printed so far (shared with the pipe's reader).
    private final class CollectedOutput: Sendable {
        private let text = Mutex("")
        func append(_ more: String) { text.withLock { $0 += more } }
        var value: String { text.withLock { $0 } }
    }

    /// Starts `executable` and waits up to `timeout` for `ready` (a regular expression
    /// whose first group is the port) on its standard output or error.
    init(_ executable: String, _ arguments: [String], ready: String, timeout: Duration = .seconds(120)) async throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("\(executable): no such executable")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { [output] handle in
            output.append(String(decoding: handle.availableData, as: UTF8.self))
        }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = output.value
            if let match = text.firstMatch(of: try Regex(ready)) {
                port = match.output.count > 1 ? match.output[1].substring.flatMap { Int($0) } : nil
                return
            }
            guard process.isRunning else {
                throw BenchError(
                    "\((executable as NSString).lastPathComponent) exited before it was ready: \(text.suffix(500))"
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw BenchError(
            "\((executable as NSString).lastPathComponent) was not ready within \(timeout): \(output.value.suffix(500))"
        )
    }

    /// The port from the ready line, if the pattern captured one.
    let port: Int?

    var pid: Int32 { process.processIdentifier }

    /// SIGTERM, then SIGKILL after 10 seconds.
    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<500 where process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A program next to this one (the same build directory).
    static func sibling(_ name: String) -> String {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent(name).path
    }
}

/// The server under load: found at --server, or started here.
struct BenchServer: Sendable {
    var host: String
    var port: Int
    /// For its CPU time; 0 when unknown.
    var pid: Int32
    /// Set when this program started the server.
    var child: ChildServer?
    var scratch: String?

    static func start(_ options: ServerOptions, demoData: Bool) async throws -> BenchServer {
        if let text = options.server {
            let (host, port) = try ServerOptions.address(text)
            var pid = options.serverPid ?? 0
            if options.serverPid == nil { pid = try await localServerPID(host: host, port: port) }
            return BenchServer(host: host, port: port, pid: pid)
        }
        let executable = ChildServer.sibling("o2o-server")
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError(
                "no o2o-server next to o2o-bench (\(executable)); build it (swift build -c release --product o2o-server) or give --server"
            )
        }
        var arguments = ["--port", "0", "--store", options.store, "--handlers", options.handlers]
        var scratch: String?
        if options.store == "rocksdb" {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("o2o-bench-\(getpid())").path
            try? FileManager.default.removeItem(atPath: directory)
            arguments += ["--data", directory, "--sync", "group"]
            scratch = directory
        }
        if demoData { arguments.append("--demo-data") }
        let child = try await ChildServer(executable, arguments, ready: #"listening on 127\.0\.0\.1:(\d+)"#)
        guard let port = child.port else { throw BenchError("o2o-server printed no port") }
        return BenchServer(host: "127.0.0.1", port: port, pid: child.pid, child: child, scratch: scratch)
    }

    func stop() async {
        await child?.stop()
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }

    /// The pid a server on this machine reports (admin role needed), checked against
    /// /proc; 0 when it is elsewhere or will not say.
    static func localServerPID(host: String, port: Int) async throws -> Int32 {
        guard ["127.0.0.1", "::1", "localhost"].contains(host) else { return 0 }
        let channel = try O2OClientChannel(configuration: O2OClientConfiguration(target: .tcp(host: host, port: port)))
        let answer = try? await AdminServiceClient(transport: channel).getServerInfo(GetServerInfoRequest())
        await channel.close()
        guard let info = answer else { return 0 }
        let comm = (try? String(contentsOfFile: "/proc/\(info.pid)/comm", encoding: .utf8)) ?? ""
        return comm.hasPrefix("o2o-server") ? Int32(info.pid) : 0
    }

    func channels(_ count: Int, compression: Compression = .default) throws -> [O2OClientChannel] {
        try (0..<count).map { _ in
            var configuration = O2OClientConfiguration(target: .tcp(host: host, port: port))
            configuration.settings.agent = "o2o-bench/\(O2OVersion.current)"
            switch compression {
            case .default: break
            case .off:
                configuration.settings.acceptsZstd = false
                configuration.compressionThreshold = Int.max
            case .on:
                configuration.settings.acceptsZstd = true
                configuration.compressionThreshold = 0
            }
            return try O2OClientChannel(configuration: configuration)
        }
    }

    /// Bytes on the wire, both ways, of this program's connections, as the server counts
    /// them (admin role needed); nil when it will not say.
    func wireBytes(_ channel: O2OClientChannel) async -> UInt64? {
        guard
            let response = try? await AdminServiceClient(transport: channel).listConnections(
                ListConnectionsRequest(page: PageRequest(pageSize: 500))
            )
        else {
            return nil
        }
        return response.connections.filter { $0.agent.hasPrefix("o2o-bench/") }.reduce(0) {
            $0 + $1.bytesSent + $1.bytesReceived
        }
    }
}

/// zstd on the connections: the library's default (compress messages of 1 KiB and
/// more), off (neither side compresses), or on (the client compresses every request
/// that shrinks; the server compresses responses from its threshold, 1 KiB).
enum Compression: String, Sendable {
    case `default`, off, on
}

/// A failure while running a benchmark (not a usage error): printed on one line.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
