public import O2ORPC
public import O2ORPCMessages
import O2OServiceKit
import Synchronization

/// The serving status of the server and of each service, which `HealthService`
/// reports. The server marks itself NOT_SERVING while it drains.
public final class HealthStatus: Sendable {
    private struct State {
        var statuses: [String: ServingStatus] = ["": .serving]
        var watchers: [Int: (service: String, continuation: AsyncStream<ServingStatus>.Continuation)] = [:]
        var nextWatcher = 0
    }

    private let state = Mutex(State())

    /// - Parameter services: Services to report as SERVING from the start.
    public init(services: [String] = []) {
        state.withLock { state in
            for service in services { state.statuses[service] = .serving }
        }
    }

    /// The status of a service ("" for the server); SERVICE_UNKNOWN for one not hosted.
    public func status(of service: String) -> ServingStatus {
        state.withLock { $0.statuses[service] ?? .serviceUnknown }
    }

    /// Sets a status and tells the watchers.
    public func set(_ status: ServingStatus, for service: String = "") {
        let watchers = state.withLock { state -> [AsyncStream<ServingStatus>.Continuation] in
            guard state.statuses[service] != status else { return [] }
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// Marks the server and every service NOT_SERVING (on shutdown).
    public func setAllNotServing() {
        let services = state.withLock { Array($0.statuses.keys) }
        for service in services { set(.notServing, for: service) }
    }

    /// The current status, then each change.
    func watch(_ service: String) -> AsyncStream<ServingStatus> {
        AsyncStream(bufferingPolicy: .bufferingNewest(8)) { continuation in
            let id = state.withLock { state -> Int in
                let id = state.nextWatcher
                state.nextWatcher += 1
                state.watchers[id] = (service, continuation)
                continuation.yield(state.statuses[service] ?? .serviceUnknown)
                return id
            }
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
            }
        }
    }
}

/// Health checks for load balancers and the shell; open without a token.
public struct HealthServiceProvider: HealthServiceProtocol {
    private let status: HealthStatus

    public init(status: HealthStatus) {
        self.status = status
    }

    public func checkHealth(request: HealthCheckRequest, context: RPCServerContext) async throws -> HealthCheckResponse
    {
        let serving = status.status(of: request.service)
        return HealthCheckResponse(status: serving, detail: Self.detail(serving, request.service))
    }

    public func watchHealth(
        request: HealthCheckRequest,
        responses: RPCResponseWriter<HealthCheckResponse>,
        context: RPCServerContext
    ) async throws {
        for await serving in status.watch(request.service) {
            try await responses.write(
                HealthCheckResponse(status: serving, detail: Self.detail(serving, request.service))
            )
        }
    }

    private static func detail(_ status: ServingStatus, _ service: String) -> String {
        switch status {
        case .serviceUnknown: "no service '\(service)' on this server"
        case .notServing: "not serving (starting, draining, or its store is unavailable)"
        default: ""
        }
    }
}
