public import O2ORPCMessages
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The time every service reads: the system's UTC clock, or one a test moves. Services
/// never read the system clock themselves, so expiry, deadlines and time filters can be
/// tested by moving this one.
public struct ServiceClock: Sendable {
    private let read: @Sendable () -> Timestamp

    /// A clock that reads `read`.
    public init(_ read: @escaping @Sendable () -> Timestamp) {
        self.read = read
    }

    /// The system's wall clock (UTC).
    public static let system = ServiceClock { systemTime() }

    /// The current time.
    public func now() -> Timestamp { read() }

    /// Today's date in UTC.
    public func today() -> CalendarDate { CalendarDates.date(of: now()) }

    private static func systemTime() -> Timestamp {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Timestamp(seconds: Int64(now.tv_sec), nanos: Int32(now.tv_nsec))
    }
}

/// A clock that follows the system clock plus an offset a test moves forward: time
/// passes as usual, and jumps when the test says so (to expire reservations, say).
public final class AdjustableClock: Sendable {
    private let offsetSeconds = Mutex<Int64>(0)

    public init() {}

    /// Moves the clock forward.
    public func advance(seconds: Int64) { offsetSeconds.withLock { $0 += seconds } }

    /// The clock services read.
    public var clock: ServiceClock {
        ServiceClock { [self] in
            var time = ServiceClock.system.now()
            time.seconds += offsetSeconds.withLock { $0 }
            return time
        }
    }
}

/// Time arithmetic on stored and requested timestamps.
public enum Timestamps {
    /// Nanoseconds since 1970, for ordering keys and comparisons; 0 for none.
    ///
    /// Int64 nanoseconds end in 2262 while a valid timestamp may be as late as 9999:
    /// later times saturate, so comparisons stay in order (times past 2262 compare
    /// equal among themselves) instead of wrapping to the distant past.
    public static func nanos(_ timestamp: Timestamp?) -> Int64 {
        guard let timestamp else { return 0 }
        let (scaled, overflow) = timestamp.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return timestamp.seconds < 0 ? .min : .max }
        let (sum, carry) = scaled.addingReportingOverflow(Int64(timestamp.nanos))
        if carry { return timestamp.nanos < 0 ? .min : .max }
        return sum
    }

    /// `time` plus `seconds`.
    /// Saturates at the ends of Int64 seconds: callers add bounded durations to
    /// times already checked, and a far-future deadline is as good as never.
    public static func adding(seconds: Int64, to time: Timestamp) -> Timestamp {
        let (sum, overflow) = time.seconds.addingReportingOverflow(seconds)
        return Timestamp(seconds: overflow ? (seconds < 0 ? .min : .max) : sum, nanos: time.nanos)
    }

    /// Whether `time` is at or before `now`; false for none.
    public static func isPast(_ time: Timestamp?, now: Timestamp) -> Bool {
        guard let time else { return false }
        return nanos(time) <= nanos(now)
    }
}
