import NIOCore
import Synchronization

/// What the admin service shows about one open connection.
public struct O2OConnectionSnapshot: Sendable, Hashable {
    public var id: UInt64
    public var peer: String
    /// When the connection was accepted (wall clock, seconds since 1970).
    public var openedAt: Double
    /// The principal of its most recent authenticated call.
    public var principal: String
    public var openStreams: Int
    public var callsStarted: UInt64
    public var bytesReceived: UInt64
    public var bytesSent: UInt64
    /// Whether both sides accept zstd.
    public var compression: Bool
    /// The client's agent string.
    public var agent: String
}

/// The server's open connections, for the admin service and for graceful shutdown.
final class ConnectionRegistry: Sendable {
    private struct Entry: Sendable {
        let handler: NIOLoopBound<ServerConnectionHandler>
    }

    private let entries = Mutex<[UInt64: Entry]>([:])
    private let nextID = Atomic<UInt64>(1)
    /// Set once the server drains: connections that arrive later drain at once.
    private let drainGrace = Mutex<Duration?>(nil)

    func makeID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    func register(_ id: UInt64, _ handler: NIOLoopBound<ServerConnectionHandler>) {
        entries.withLock { $0[id] = Entry(handler: handler) }
        if let grace = drainGrace.withLock({ $0 }) {
            handler.eventLoop.execute { handler.value.drain(grace: grace) }
        }
    }

    func unregister(_ id: UInt64) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    var count: Int { entries.withLock { $0.count } }

    /// A snapshot of every connection, taken on each connection's own event loop.
    func snapshots() async -> [O2OConnectionSnapshot] {
        let handlers = entries.withLock { Array($0.values) }
        var result: [O2OConnectionSnapshot] = []
        for entry in handlers {
            let bound = entry.handler
            if let snapshot = try? await bound.eventLoop.submit({ bound.value.snapshot() }).get() {
                result.append(snapshot)
            }
        }
        return result.sorted { $0.id < $1.id }
    }

    /// Tells every connection to drain: GOAWAY now, in-flight calls get `grace`.
    func drainAll(grace: Duration) {
        drainGrace.withLock { $0 = grace }
        let handlers = entries.withLock { Array($0.values) }
        for entry in handlers {
            let bound = entry.handler
            bound.eventLoop.execute { bound.value.drain(grace: grace) }
        }
    }
}
