import ArgumentParser
import O2OClient
import O2OShell

// o2o: the ops shell for O2O servers. One command per run, or an interactive shell.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
struct ShellMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "o2o",
        abstract: "The O2O ops shell: discover, call and watch an O2O server.",
        discussion: """
            With a COMMAND, runs it and exits; without one, opens an interactive shell \
            (line editing, history in ~/.o2o_history searched with Ctrl-R, Tab completion, \
            Ctrl-C stops a running command, Ctrl-D leaves). Everything the shell knows about \
            methods and messages comes from the server's reflection service.

            Commands:
              ls [SERVICE]                          services, or one service's methods
              describe NAME                         a service, method, message or enum, with an example
              call METHOD [JSON | @FILE | -]        call a method (-H KEY=VALUE adds metadata)
              health [SERVICE]                      serving status
              stats [FILTER] [--watch SECONDS]      calls, errors, latency per method
              ping [--count N] [--latency]          round trips
              info                                  version, uptime, store, data size
              connections                           open client connections
              backup DIRECTORY                      online backup of the store (admin)
              help [COMMAND]                        more on one command

            Output: tables for lists and pretty JSON otherwise; --json prints compact JSON, one \
            document per line (streams: one per message); --format table|json|csv chooses. \
            Colours only on a terminal and never with NO_COLOR set. Personal contact fields \
            (phone, email, recipient name) are masked unless --show-pii (admin token only).

            Exit codes: 0 success; 1 a local failure (a file that cannot be read); 2 usage \
            error (unknown command, option, method or field; bad JSON); 64 + the RPC status \
            code when the server answers with an error: 65 CANCELLED, 66 UNKNOWN, \
            67 INVALID_ARGUMENT, 68 DEADLINE_EXCEEDED, 69 NOT_FOUND, 70 ALREADY_EXISTS, \
            71 PERMISSION_DENIED, 72 RESOURCE_EXHAUSTED, 73 FAILED_PRECONDITION, 74 ABORTED, \
            75 OUT_OF_RANGE, 76 UNIMPLEMENTED, 77 INTERNAL, 78 UNAVAILABLE (also when the \
            server cannot be reached), 79 DATA_LOSS, 80 UNAUTHENTICATED. Errors print \
            "o2o: STATUS: message" on standard error.

            Examples:
              o2o ls
              o2o --server 10.0.0.5:7070 --token "$TOKEN" call GetProduct '{"productId":"prd_01J…"}'
              o2o call SearchProducts '{"keyword":"牛奶","page":{"pageSize":5}}' --format csv
              o2o stats --watch 2
            """,
        version: O2OVersion.current
    )

    /// Parses and runs, with usage errors of the command line exiting 2 like every
    /// other usage error of the shell (ArgumentParser's own code for them is 64,
    /// which here means an RPC status).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error).rawValue == ExitCode.validationFailure.rawValue {
                ShellIO.standard.writeError(fullMessage(for: error))
                terminate(2)
            }
            exit(withError: error)
        }
    }

    @Option(name: .customLong("server"), help: "HOST:PORT of the server. [O2O_SERVER] (default: 127.0.0.1:7070)")
    var server: String?

    @Option(name: .customLong("unix-socket"), help: "Connect through this Unix domain socket instead.")
    var unixSocket: String?

    @Flag(name: .customLong("tls"), help: "Use TLS (with the system's trusted roots unless --ca).")
    var tls = false

    @Option(name: .customLong("ca"), help: "PEM file of the certificate authorities to trust (implies --tls).")
    var certificateAuthorities: String?

    @Option(
        name: .customLong("server-name"),
        help: "Name to check the server's certificate against (default: the host)."
    )
    var serverName: String?

    @Option(name: .customLong("token"), help: "Bearer token. [O2O_TOKEN]")
    var token: String?

    @Option(
        name: .customLong("timeout"),
        help: "Seconds each call may take. (default: 30; none for calls whose responses stream)"
    )
    var timeout: Double?

    @Flag(name: .customLong("json"), help: "Compact JSON output, one document per line.")
    var json = false

    @Option(
        name: [.customLong("format"), .customShort("o")],
        help: "Output: table, json or csv. (default: tables for lists, JSON otherwise)"
    )
    var format: String?

    @Flag(name: .customLong("show-pii"), help: "Show personal contact data unmasked (needs an admin token).")
    var showPersonalData = false

    @Flag(name: .customLong("no-color"), help: "No colours, even on a terminal.")
    var noColor = false

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments; none for the interactive shell.")
    var command: [String] = []

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    func validate() throws {
        if let format, OutputFormat(rawValue: format.lowercased()) == nil {
            throw ValidationError("--format: '\(format)' is not table, json or csv")
        }
        if let timeout, !(timeout > 0 && timeout <= 86_400) {
            throw ValidationError("--timeout: must be more than 0 and at most 86400 seconds")
        }
    }

    /// The target from --unix-socket, --server or O2O_SERVER.
    func target() throws(ShellError) -> O2OServerTarget {
        if let unixSocket { return .unixSocket(path: unixSocket) }
        let text = server ?? Self.environment("O2O_SERVER") ?? "127.0.0.1:7070"
        var host = text
        var port = 7070
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            // [::1]:7070
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let parsed = Int(rest.dropFirst()), (1...65535).contains(parsed) else {
                    throw ShellError.usage("--server: '\(text)' has no valid port")
                }
                port = parsed
            }
        } else if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
            host = String(text[..<colon])
            guard let parsed = Int(text[text.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw ShellError.usage("--server: '\(text)' has no valid port (HOST:PORT)")
            }
            port = parsed
        }
        guard !host.isEmpty else { throw ShellError.usage("--server: '\(text)' has no host") }
        return .tcp(host: host, port: port)
    }

    func run() async throws {
        let io = ShellIO.standard
        // Options after the first word are passed through; --help there still means help.
        if let first = command.first, first == "--help" || first == "-h" {
            io.write(Self.helpMessage())
            return
        }
        if command == ["--version"] {
            io.write(O2OVersion.current)
            return
        }
        do {
            let parsed = command.isEmpty ? nil : try ShellCommand.parse(command)
            let target = try target()
            let terminal = ShellOutput.terminalDefaults()
            var output = ShellOutput(
                format: format.flatMap { OutputFormat(rawValue: $0.lowercased()) } ?? .auto,
                compactJSON: json,
                color: terminal.color && !noColor,
                width: terminal.width,
                showPersonalData: showPersonalData
            )
            if output.compactJSON { output.color = false }
            let tlsSettings: O2OClientTLS? =
                tls || certificateAuthorities != nil
                ? O2OClientTLS(trustRootsPath: certificateAuthorities, serverHostname: serverName) : nil
            let options = ShellConnectionOptions(
                target: target,
                tls: tlsSettings,
                token: token ?? Self.environment("O2O_TOKEN"),
                timeout: .milliseconds(Int64((timeout ?? 30) * 1000)),
                streamTimeout: timeout.map { .milliseconds(Int64($0 * 1000)) }
            )
            let session: ShellSession
            do {
                session = try ShellSession(options: options)
            } catch {
                throw ShellError.local("cannot set up the connection to \(target): \(error)")
            }
            let runner = ShellRunner(session: session, io: io, output: output)
            if let parsed {
                do {
                    try await runner.run(parsed)
                } catch {
                    await session.close()
                    throw error
                }
                await session.close()
                return
            }
            let prompt = (output.color ? "\u{1B}[1m" : "") + "o2o \(target)> " + (output.color ? "\u{1B}[0m" : "")
            let status = await ShellREPL(runner: runner, prompt: prompt).run()
            await session.close()
            if status != 0 { throw ExitCode(status) }
        } catch let error as ShellError {
            io.writeError("o2o: \(error.description)")
            throw ExitCode(error.exitCode)
        }
    }
}

/// The C library's exit, out of reach of ParsableCommand's `exit(withError:)` inside
/// the command type.
private func terminate(_ code: Int32) -> Never {
    exit(code)
}
