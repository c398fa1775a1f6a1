import Logging
import O2OCare
import O2OInventory
public import O2OMessages
import O2OOrders
public import O2ORPC
public import O2OServiceKit
import O2OStorage
public import ServiceLifecycle

/// Statistics as the server composes them: the service and the projector that keeps
/// its figures up to date.
public struct StatsDomain: ServiceDomain {
    public let name = "stats"
    public let provider: StatisticsServiceProvider
    private let logger: Logger

    package init(
        store: ServiceStore,
        currency: String,
        orders: OrderFigureSource,
        care: CareFigureSource,
        locations: any StockLocationReading,
        logger: Logger
    ) {
        let projector = StatsProjector(store: store, orders: orders, care: care, logger: logger)
        provider = StatisticsServiceProvider(
            store: store,
            currency: currency,
            projector: projector,
            locations: locations
        )
        self.logger = logger
    }

    public var services: [any RPCService] { [provider] }
    public var keyspace: [KeyspaceEntry] { StatsTables.keyspace }

    public var jobs: [any Service] {
        let projector = provider.projector
        return [
            // Every 5 s: the figures lag committed changes by seconds (60 at most).
            PeriodicJob(name: "statistics projector", every: .seconds(5), firstRunAfter: .seconds(2), logger: logger) {
                try await projector.catchUp()
            }
        ]
    }

    /// Brings the figures up to date now (tests, and the demo after loading).
    @discardableResult
    public func catchUp() async throws -> Int64 {
        Timestamps.nanos(try await provider.projector.catchUp().computedAt)
    }
}

extension StatsDomain {
    /// How far the figures are, with the orders per status, the tickets open and the
    /// SLA breaches recorded; nil before the figures were first built.
    public func progress() async throws -> StatisticsProgress? {
        try await provider.store.latest.get(StatsTables.progress, .string(StatsTables.progressName))
    }
}
