public import Logging
public import ServiceLifecycle
import Synchronization

/// The rounds of every background job of this process, for the metrics endpoint.
public final class JobRecords: Sendable {
    public struct Figures: Sendable {
        /// Rounds run, and of them the ones that failed.
        public var runs: UInt64 = 0
        public var failures: UInt64 = 0
        /// How long the last round took.
        public var lastDuration: Duration = .zero
        /// When the last round that did not fail ended, in seconds since 1970; 0 before.
        public var lastSuccess: Double = 0

        public init() {}
    }

    public static let shared = JobRecords()

    private let figures = Mutex<[String: Figures]>([:])

    func record(_ name: String, duration: Duration, failed: Bool, at time: Double) {
        figures.withLock { all in
            var figures = all[name] ?? Figures()
            figures.runs &+= 1
            if failed { figures.failures &+= 1 } else { figures.lastSuccess = time }
            figures.lastDuration = duration
            all[name] = figures
        }
    }

    /// Every job that ran, by name.
    public func snapshot() -> [String: Figures] { figures.withLock { $0 } }
}

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
                let started = ContinuousClock.now
                var failed = false
                do {
                    try await round()
                } catch is CancellationError {
                    return
                } catch {
                    failed = true
                    logger.warning("\(name) failed; trying again", metadata: ["error": "\(error)"])
                }
                JobRecords.shared.record(
                    name,
                    duration: ContinuousClock.now - started,
                    failed: failed,
                    at: Double(Timestamps.nanos(ServiceClock.system.now())) / 1e9
                )
                try? await Task.sleep(for: interval)
            }
        }
    }
}
