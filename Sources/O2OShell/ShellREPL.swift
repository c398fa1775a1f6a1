import Dispatch
public import O2OClient
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The interactive shell: read a command (over several lines while JSON or a quote is
/// open), run it, print, repeat. Ctrl-C stops the running command and keeps the shell;
/// Ctrl-D or `exit` leaves.
public struct ShellREPL: Sendable {
    public let runner: ShellRunner
    public let prompt: String

    public init(runner: ShellRunner, prompt: String) {
        self.runner = runner
        self.prompt = prompt
    }

    /// Runs until the end of input; returns the exit code of the last command.
    public func run() async -> Int32 {
        let io = runner.io
        // Learn the schema now, for completion; a server that is down is reported
        // and the shell still starts.
        do {
            _ = try await runner.session.schema()
        } catch {
            io.writeError("warning: cannot read the server's schema (\(Self.describe(error))); completion is limited")
        }
        let session = runner.session
        let editor = LineEditor(historyPath: Self.historyPath()) { line in
            ShellCompletion(schema: session.knownSchema).complete(line)
        }
        if isatty(0) == 1 {
            io.write("o2o shell — 'help' lists the commands, Tab completes, Ctrl-D leaves.")
        }
        var status: Int32 = 0
        let running = RunningCommand()
        let interrupts = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        signal(SIGINT, SIG_IGN)
        interrupts.setEventHandler { running.cancel() }
        interrupts.resume()
        defer { interrupts.cancel() }

        while true {
            var text = ""
            var continuation = false
            var words: [String]?
            // Read until the quotes and braces balance.
            while true {
                switch editor.read(
                    prompt: continuation
                        ? String(repeating: " ", count: max(0, prompt.strippingEscapes().count - 4)) + "... " : prompt
                ) {
                case .end:
                    return status
                case .interrupted:
                    text = ""
                    words = []
                case .line(let line):
                    text += (continuation ? "\n" : "") + line
                    words = ShellCommand.words(text)
                }
                if words != nil { break }
                continuation = true
            }
            guard let words, !words.isEmpty else { continue }
            editor.remember(text)
            let command: ShellCommand
            do {
                command = try ShellCommand.parse(words)
            } catch {
                io.writeError(runner.output.red("error: ") + error.description)
                status = error.exitCode
                continue
            }
            if command.verb == .exit { return status }
            let runner = self.runner
            let task = Task { () -> Int32 in
                do throws(ShellError) {
                    try await runner.run(command)
                    return 0
                } catch {
                    if case .rpc(let rpc) = error, rpc.code == .cancelled, Task.isCancelled {
                        io.writeError("cancelled")
                    } else {
                        io.writeError(runner.output.red("error: ") + error.description)
                    }
                    return error.exitCode
                }
            }
            running.set(task)
            status = await task.value
            running.set(nil)
        }
    }

    /// ~/.o2o_history, or nil without a home directory.
    static func historyPath() -> String? {
        guard let home = getenv("HOME") else { return nil }
        return String(cString: home) + "/.o2o_history"
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? RPCErrorDescribable { return error.shellDescription }
        return "\(error)"
    }
}

/// The command running now, so Ctrl-C can cancel it.
final class RunningCommand: Sendable {
    private let task = Mutex<Task<Int32, Never>?>(nil)

    func set(_ task: Task<Int32, Never>?) { self.task.withLock { $0 = task } }
    func cancel() { task.withLock { $0 }?.cancel() }
}

protocol RPCErrorDescribable {
    var shellDescription: String { get }
}

extension RPCError: RPCErrorDescribable {
    var shellDescription: String { "\(code.name): \(message)" }
}
