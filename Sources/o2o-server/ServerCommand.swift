import ArgumentParser
import Logging
import NIOCore
import O2OBuiltinServices
import O2OMessages
import O2ONIOTransport
import O2OPlatform
import O2ORPC
import O2OServiceKit
import O2OStorage
import ServiceLifecycle

// o2o-server: the O2O backend — catalog (and the services that follow), health,
// reflection and admin — over the O2O RPC protocol, with RocksDB or memory storage.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
struct ServerCommand: AsyncParsableCommand {
    static let version = O2OVersion.current

    static let configuration = CommandConfiguration(
        commandName: "o2o-server",
        abstract: "The O2O retail backend: catalog, inventory and system services over the O2O RPC protocol.",
        discussion: """
            Starts a server on 127.0.0.1:7070 with an embedded RocksDB store in ./data. Every \
            option can also come from an environment variable (named below); a flag wins over \
            the variable. Stop it with Ctrl-C or SIGTERM: it stops accepting calls, lets calls \
            in flight finish, and exits 0.

            Examples:
              o2o-server --demo-data                      # a sample shop to try things out
              o2o-server --store memory --port 0          # throwaway, any free port
              o2o-server --host 0.0.0.0 --token-file tokens.txt --tls-cert c.pem --tls-key k.pem

            Token file: one token per line, "<token> <role> [<name>]", roles admin, service, \
            readonly; '#' starts a comment. Without a token file the server accepts every call \
            and refuses to listen anywhere but loopback.
            """,
        version: version
    )

    @Option(help: "TCP port; 0 picks a free one. [O2O_PORT] (default: 7070)")
    var port: Int?

    @Option(
        help:
            "Address to listen on; 0.0.0.0 or :: for every interface (needs --token-file). [O2O_HOST] (default: 127.0.0.1)"
    )
    var host: String?

    @Option(name: .customLong("unix-socket"), help: "Also listen on this Unix domain socket. [O2O_UNIX_SOCKET]")
    var unixSocket: String?

    @Option(help: "Data directory of the RocksDB store, created when missing. [O2O_DATA] (default: ./data)")
    var data: String?

    @Option(help: "Storage engine: rocksdb or memory (nothing kept). [O2O_STORE] (default: rocksdb)")
    var store: String?

    @Option(
        help:
            "When writes are durable: always (fsync each commit), group (concurrent commits share an fsync), none (survives a crash of the process, not of the machine). [O2O_SYNC] (default: group)"
    )
    var sync: String?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain; with --tls-key, serve TLS. [O2O_TLS_CERT]")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert. [O2O_TLS_KEY]")
    var tlsKey: String?

    @Option(
        name: .customLong("token-file"),
        help: "Bearer tokens and roles; without it the server is open and loopback only. [O2O_TOKEN_FILE]"
    )
    var tokenFile: String?

    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical. [O2O_LOG_LEVEL] (default: info)"
    )
    var logLevel: String?

    @Option(help: "Currency of catalog prices (ISO 4217). [O2O_CURRENCY] (default: CNY)")
    var currency: String?

    @Option(
        help: """
            Where calls run: event-loop (the connection's own thread; no hop per call, the least CPU per \
            call, cores used by spreading connections) or global (Swift's global executor; one busy \
            connection of heavy calls uses every core). [O2O_HANDLERS] (default: event-loop)
            """
    )
    var handlers: String?

    @Option(
        name: .customLong("metrics-port"),
        help:
            "Serve Prometheus metrics at http://METRICS_HOST:PORT/metrics; 0 picks a free port. [O2O_METRICS_PORT] (default: none)"
    )
    var metricsPort: Int?

    @Option(
        name: .customLong("metrics-host"),
        help:
            "Address of the metrics endpoint (no tokens there: anything but loopback needs --token-file and a firewall). [O2O_METRICS_HOST] (default: 127.0.0.1)"
    )
    var metricsHost: String?

    @Flag(
        name: .customLong("demo-data"),
        help: "Load a sample shop into an empty store (safe to repeat). [O2O_DEMO_DATA=1]"
    )
    var demoData = false

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var server = command as? ServerCommand {
                try await server.start()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                terminate(0)
            }
            // One line: what is wrong. Details of usage are in --help.
            let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            printError("o2o-server: \(text)")
            terminate(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// A setting's text and where it came from: the flag or the environment variable,
    /// so an error names what the operator has to change.
    private struct Given {
        let value: String
        let source: String
    }

    private func given(_ flag: String?, _ flagName: String, _ variable: String) -> Given? {
        if let flag { return Given(value: flag, source: flagName) }
        return environment(variable).map { Given(value: $0, source: variable) }
    }

    /// Settings from flags, then the environment, then defaults.
    private func settings() throws -> ServerSettings {
        var settings = ServerSettings()
        if let port = given(port.map(String.init), "--port", "O2O_PORT") {
            guard let number = Int(port.value), (0...65535).contains(number) else {
                throw Failure(description: "\(port.source): '\(port.value)' is not a port number from 0 to 65535")
            }
            settings.port = number
        }
        settings.host = host ?? environment("O2O_HOST") ?? settings.host
        settings.unixSocket = unixSocket ?? environment("O2O_UNIX_SOCKET")
        settings.dataDirectory = data ?? environment("O2O_DATA") ?? settings.dataDirectory
        if let store = given(store, "--store", "O2O_STORE") {
            guard let kind = ServerSettings.Store(rawValue: store.value) else {
                throw Failure(description: "\(store.source): '\(store.value)' is not rocksdb or memory")
            }
            settings.store = kind
        }
        if let sync = given(sync, "--sync", "O2O_SYNC") {
            guard let policy = SyncPolicy(rawValue: sync.value) else {
                throw Failure(description: "\(sync.source): '\(sync.value)' is not always, group or none")
            }
            settings.sync = policy
        }
        settings.tlsCertificate = tlsCert ?? environment("O2O_TLS_CERT")
        settings.tlsKey = tlsKey ?? environment("O2O_TLS_KEY")
        if (settings.tlsCertificate == nil) != (settings.tlsKey == nil) {
            throw Failure(description: "--tls-cert and --tls-key go together")
        }
        settings.tokenFile = tokenFile ?? environment("O2O_TOKEN_FILE")
        if let level = given(logLevel, "--log-level", "O2O_LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.value) else {
                throw Failure(
                    description:
                        "\(level.source): '\(level.value)' is not trace, debug, info, notice, warning, error or critical"
                )
            }
            settings.logLevel = parsed
        }
        if let currency = given(currency, "--currency", "O2O_CURRENCY") {
            guard currency.value.count == 3, currency.value.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
                throw Failure(
                    description: "\(currency.source): '\(currency.value)' is not an ISO 4217 code such as CNY"
                )
            }
            settings.currency = currency.value
        }
        if let handlers = given(handlers, "--handlers", "O2O_HANDLERS") {
            guard let kind = ServerSettings.Handlers(rawValue: handlers.value) else {
                throw Failure(description: "\(handlers.source): '\(handlers.value)' is not global or event-loop")
            }
            settings.handlers = kind
        }
        if let metrics = given(metricsPort.map(String.init), "--metrics-port", "O2O_METRICS_PORT") {
            guard let number = Int(metrics.value), (0...65535).contains(number) else {
                throw Failure(description: "\(metrics.source): '\(metrics.value)' is not a port number from 0 to 65535")
            }
            settings.metricsPort = number
        }
        settings.metricsHost = metricsHost ?? environment("O2O_METRICS_HOST") ?? settings.metricsHost
        settings.demoData = demoData || ["1", "true", "yes"].contains(environment("O2O_DEMO_DATA")?.lowercased() ?? "")
        if settings.metricsPort != nil, settings.tokenFile == nil, !ServerSettings.isLoopback(settings.metricsHost) {
            throw Failure(
                description:
                    "--metrics-host \(settings.metricsHost) needs --token-file: a server open to every caller keeps its figures on loopback too"
            )
        }
        if settings.tokenFile == nil, !ServerSettings.isLoopback(settings.host) {
            throw Failure(
                description:
                    "--host \(settings.host) needs --token-file: without tokens the server only listens on loopback"
            )
        }
        return settings
    }

    mutating func start() async throws {
        let settings = try settings()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = settings.logLevel
            return handler
        }
        var logger = Logger(label: "o2o-server")
        logger.logLevel = settings.logLevel
        try await ServerRunner(settings: settings, logger: logger).run()
    }
}

func terminate(_ code: Int32) -> Never {
    exit(code)
}

func printError(_ line: String) {
    let text = line + "\n"
    _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
}
