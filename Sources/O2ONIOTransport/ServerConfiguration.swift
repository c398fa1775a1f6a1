import Logging
import O2ORPC

/// Where handlers of calls run.
public enum O2OHandlerExecution: Sendable, Hashable {
    /// On the event loop of the connection that carries the call: no thread hops, the
    /// fastest choice for handlers that await rather than block.
    case eventLoop
    /// On Swift's global concurrent executor.
    case globalConcurrentExecutor
}

/// How every connection of a server behaves.
public struct O2OServerConnectionOptions: Sendable {
    /// What this server accepts; announced in its SETTINGS.
    public var settings: O2OConnectionSettings
    /// Messages at least this large are compressed when the client accepts zstd.
    public var compressionThreshold: Int
    /// zstd level for compressed responses (1 is fast, 19 small).
    public var compressionLevel: Int32
    /// A connection with no open stream for this long is closed.
    public var idleTimeout: Duration
    /// A client must send its preface and SETTINGS within this time.
    public var settingsTimeout: Duration
    /// Where call handlers run.
    public var handlerExecution: O2OHandlerExecution

    public init(
        settings: O2OConnectionSettings = O2OConnectionSettings(agent: "o2o-server"),
        compressionThreshold: Int = 1024,
        compressionLevel: Int32 = 1,
        idleTimeout: Duration = .seconds(300),
        settingsTimeout: Duration = .seconds(10),
        handlerExecution: O2OHandlerExecution = .eventLoop
    ) {
        self.settings = settings
        self.compressionThreshold = compressionThreshold
        self.compressionLevel = compressionLevel
        self.idleTimeout = idleTimeout
        self.settingsTimeout = settingsTimeout
        self.handlerExecution = handlerExecution
    }
}

/// Everything a connection handler needs from its server, shared by all connections.
struct ServerSharedState: Sendable {
    /// Runs each call: interceptors, handler, error → status.
    let executor: RPCServerCallExecutor
    let options: O2OServerConnectionOptions
    let logger: Logger
    let registry: ConnectionRegistry
}
