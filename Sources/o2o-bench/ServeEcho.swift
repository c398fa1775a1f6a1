import ArgumentParser
import Logging
import O2OBuiltinServices
import O2ONIOTransport

/// A server with only the echo service, for measuring the RPC layer alone.
struct ServeEcho: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-echo",
        abstract: "Run a server with only the echo service (prints 'listening on ...' once bound)."
    )

    @Option(help: "Port on 127.0.0.1 (0 picks one).") var port: Int = 7070
    @Option(help: "Where handlers run: event-loop or global.") var handlers: String = "event-loop"

    func run() async throws {
        var logger = Logger(label: "o2o-bench")
        logger.logLevel = .warning
        var options = O2OServerConnectionOptions()
        options.handlerExecution = handlers == "global" ? .globalConcurrentExecutor : .eventLoop
        options.settings.maximumConcurrentStreams = 1000
        let server = O2OServer(
            configuration: O2OServerConfiguration(
                listeners: [.tcp(host: "127.0.0.1", port: port)],
                connection: options
            ),
            services: [EchoServiceProvider()],
            logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let addresses = try await server.listeningAddresses()
            printLine("listening on \(addresses.map(\.description).joined(separator: ", "))")
            try await group.next()
        }
    }
}
