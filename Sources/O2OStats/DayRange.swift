import FoundationEssentials
import FoundationInternationalization
import O2OMessages
import O2ORPC
import O2OServiceKit
import Synchronization

/// A run of whole calendar days in a time zone, and the instants they start at: what
/// every statistics method is asked for.
struct DayRange: Sendable {
    static let defaultZone = "Asia/Shanghai"
    /// Days after the first the last may be.
    static let maximumSpan = 366

    let zone: String
    let days: [CalendarDate]
    /// `days.count + 1` instants in nanoseconds since 1970: day i runs from
    /// `starts[i]` to `starts[i + 1]`.
    let starts: [Int64]

    /// The quarter hour each day starts in (the boundaries of the stored figures).
    let startQuarters: [Int64]

    init(zone: String, days: [CalendarDate], starts: [Int64]) {
        self.zone = zone
        self.days = days
        self.starts = starts
        self.startQuarters = starts.map(Quarters.of)
    }

    init(_ range: StatisticsDayRange?, field: String) throws {
        guard let range else { throw RPCError.invalidArgument(field: field, "is required") }
        let first = try Validate.date(range.firstDay, field: "\(field).first_day")
        let last = try Validate.date(range.lastDay, field: "\(field).last_day")
        let firstNumber = CalendarDates.dayNumber(first)
        let span = CalendarDates.dayNumber(last) - firstNumber
        guard span >= 0 else {
            throw RPCError.invalidArgument(field: "\(field).last_day", "must not be before first_day")
        }
        guard span <= Self.maximumSpan else {
            throw RPCError.invalidArgument(
                field: "\(field).last_day",
                "must be at most \(Self.maximumSpan) days after first_day, got \(span)"
            )
        }
        let name = try Validate.text(range.timeZone, field: "\(field).time_zone", max: 64)
        let zone = name.isEmpty ? Self.defaultZone : name
        guard let calendar = Self.calendar(zone) else {
            throw RPCError.invalidArgument(
                field: "\(field).time_zone",
                "unknown time zone '\(zone)' (an IANA name such as Asia/Shanghai or Europe/Berlin)"
            )
        }
        var days: [CalendarDate] = []
        var starts: [Int64] = []
        for offset in 0...(span + 1) {
            let number = firstNumber + offset
            let date = Self.date(dayNumber: number)
            if offset <= span { days.append(date) }
            let start = Self.starts.start(zone: zone, day: number) { Self.start(of: date, in: calendar) }
            // The figures are kept per quarter hour: a day must start on one (every
            // zone's days have since the 1970s; not "GMT+05:07", nor local mean time).
            if start != .max, start != .min, start % Quarters.nanos != 0 {
                throw RPCError.invalidArgument(
                    field: "\(field).time_zone",
                    "\(date.text) in \(zone) does not start on a quarter hour of UTC; figures are kept per quarter hour"
                )
            }
            starts.append(start)
        }
        self.init(zone: zone, days: days, starts: starts)
    }

    /// When days start, by zone and day: the calendar's answers never change while the
    /// server runs, and cost far more than the figures' sums.
    private static let starts = DayStarts()

    private static func calendar(_ zone: String) -> Calendar? {
        if let known = calendars.withLock({ $0[zone] }) { return known }
        guard let timeZone = TimeZone(identifier: zone) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        calendars.withLock { known in
            if known.count >= 1_000 { known.removeAll() }
            known[zone] = calendar
        }
        return calendar
    }

    private static let calendars = Mutex<[String: Calendar]>([:])

    /// When `date` starts in the calendar's zone: its midnight, or the first instant
    /// after a clock change that skipped midnight. Saturates after 2262, like every
    /// stored time.
    private static func start(of date: CalendarDate, in calendar: Calendar) -> Int64 {
        let components = DateComponents(year: Int(date.year), month: Int(date.month), day: Int(date.day), hour: 12)
        guard let noon = calendar.date(from: components) else { return .max }
        let seconds = calendar.startOfDay(for: noon).timeIntervalSince1970.rounded()
        guard seconds < 9.2e9 else { return .max }
        guard seconds > -9.2e9 else { return .min }
        return Timestamps.nanos(Timestamp(seconds: Int64(seconds), nanos: 0))
    }

    /// The date `number` days after 1970-01-01.
    static func date(dayNumber number: Int) -> CalendarDate {
        let (seconds, overflow) = Int64(number).multipliedReportingOverflow(by: 86_400)
        return CalendarDates.date(of: Timestamp(seconds: overflow ? 0 : seconds, nanos: 0))
    }

    /// The day of the range that holds `nanos`; nil outside the range.
    func day(of nanos: Int64) -> Int? {
        guard let first = starts.first, let end = starts.last, nanos >= first, nanos < end else { return nil }
        // The last start at or before nanos.
        var low = 0
        var high = starts.count - 1
        while high - low > 1 {
            let middle = (low + high) / 2
            if starts[middle] <= nanos { low = middle } else { high = middle }
        }
        return low
    }
}

/// A bounded cache of day starts: emptied when full (a few hundred zone-years).
private final class DayStarts: Sendable {
    private struct Key: Hashable {
        var zone: String
        var day: Int
    }

    private static let capacity = 200_000
    private let known = Mutex<[Key: Int64]>([:])

    func start(zone: String, day: Int, compute: () throws -> Int64) rethrows -> Int64 {
        let key = Key(zone: zone, day: day)
        if let start = known.withLock({ $0[key] }) { return start }
        let start = try compute()
        known.withLock { known in
            if known.count >= Self.capacity { known.removeAll() }
            known[key] = start
        }
        return start
    }
}
