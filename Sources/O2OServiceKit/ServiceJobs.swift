public import Logging
public import ServiceLifecycle

/// Work a domain does in the background (releasing expired reservations, say), as a
/// lifecycle `Service`: the server runs it in its service group, and a graceful
/// shutdown stops it between two rounds.
public struct PeriodicJob: Service {
    /// For logs ("stock reservation expiry").
    public let name: String
    private let interval: Duration
    private let firstRound: Duration
    private let logger: Logger
    private let round: @Sendable () async throws -> Void

    /// - Parameters:
    ///   - name: For logs.
    ///   - interval: The pause after each round.
    ///   - firstRunAfter: The pause before the first round (a daily job need not run
    ///     at every start).
    ///   - round: One round of the work; a failure is logged and the next round
    ///     comes after the pause.
    public init(
        name: String,
        every interval: Duration,
        firstRunAfter: Duration = .zero,
        logger: Logger,
        _ round: @escaping @Sendable () async throws -> Void
    ) {
        self.name = name
        self.interval = interval
        self.firstRound = firstRunAfter
        self.logger = logger
        self.round = round
    }

    public func run() async throws {
        let (name, interval, first, logger, round) = (self.name, self.interval, firstRound, self.logger, self.round)
        await cancelWhenGracefulShutdown {
            if first > .zero { try? await Task.sleep(for: first) }
            while !Task.isCancelled {
                do {
                    try await round()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("\(name) failed; trying again", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
