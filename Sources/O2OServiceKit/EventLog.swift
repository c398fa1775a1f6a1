public import O2OProtobuf
import O2ORPC
public import O2ORPCMessages
public import O2OStorage
import Synchronization

/// An event of a domain's resumable event stream: a history entry just recorded,
/// with the cursor the stream gives it.
public protocol LoggedEvent: O2OMessage {
    /// Its position in the stream; set by the log when it is numbered.
    var cursor: String { get set }
    /// When the change that recorded it committed.
    var loggedAt: Timestamp? { get }
    /// What it belongs to ("t" + a ticket id): one subject's events keep their order.
    var subject: String { get }
    /// Its position in the subject's history.
    var subjectSequence: Int64 { get }
}

/// The cursors of one stream: a short prefix and the event's number ("oe42").
public struct EventCursor: Sendable {
    public let prefix: String

    public init(prefix: String) {
        self.prefix = prefix
    }

    public func make(_ number: Int64) -> String { "\(prefix)\(number)" }

    public func parse(_ cursor: String) -> Int64? {
        guard cursor.hasPrefix(prefix), let value = Int64(cursor.dropFirst(prefix.count)), value >= 0 else {
            return nil
        }
        return value
    }
}

/// A resumable event stream (WatchOrderEvents, WatchTicketEvents). Every change
/// writes its event to an outbox in the change's own commit; one sequencer at a
/// time numbers what the outbox holds into the stream, in the order the commits
/// became visible. Numbering after the commit keeps concurrent changes from
/// contending on one counter, and the outbox survives a crash, so no committed event
/// is ever lost or numbered twice.
public final class EventLog<Event: LoggedEvent>: Sendable {
    /// How long the stream keeps events.
    public static var retentionSeconds: Int64 { 7 * 86_400 }

    private let store: ServiceStore
    /// Committed events not numbered yet, by commit time (then subject, sequence).
    private let outbox: RecordTable<Event>
    /// The numbered stream, by number.
    private let stream: RecordTable<Event>
    public let cursors: EventCursor
    private let counter: String
    private let sequencerLock: String
    /// The earliest commit time of an outbox event committed here and not numbered
    /// yet; nil when there is none. The sequencer scans the outbox from there rather
    /// than from its start, which would step over the deletion marks of every event
    /// numbered since the store last compacted. `Int64.min` (the start) until the
    /// first round after opening, which finds what an earlier run left behind.
    private let undrained = Mutex<Int64?>(.min)
    /// Rounds of `sequence` under way (waiting for the lock or holding it).
    private let rounds = Mutex<Int>(0)
    /// Published after a commit wrote events to the outbox.
    public let pending = ChangeFeed()
    /// Published after the sequencer numbered events.
    public let numbered = ChangeFeed()

    /// - Parameters:
    ///   - outbox: Keyed by `[commit nanos, subject, subject sequence]`.
    ///   - stream: Keyed by `[number]`, the number parsed from the cursor.
    ///   - name: Names the counter and the sequencer's lock ("order_events").
    public init(
        store: ServiceStore,
        outbox: RecordTable<Event>,
        stream: RecordTable<Event>,
        cursors: EventCursor,
        name: String
    ) {
        self.store = store
        self.outbox = outbox
        self.stream = stream
        self.cursors = cursors
        self.counter = name
        self.sequencerLock = "\(name)/sequencer"
    }

    /// Writes `event` to the outbox in `transaction`, and wakes the sequencer once
    /// it committed.
    public func record(_ event: Event, in transaction: ServiceTransaction) async throws {
        try await transaction.insert(outbox, event)
        let time = event.loggedAt ?? transaction.now
        transaction.afterCommit { [self] in committed(at: time) }
    }

    /// A change committed an event recorded at `time`.
    public func committed(at time: Timestamp) {
        let nanos = Timestamps.nanos(time)
        undrained.withLock { $0 = min($0 ?? nanos, nanos) }
        pending.publish()
    }

    /// Numbers up to `limit` outbox events into the stream; returns how many. A call
    /// while another round runs waits for it and then numbers what that round left,
    /// so once it returns every change acknowledged before the call is numbered (or
    /// more is left, when it returns `limit`).
    @discardableResult
    public func sequence(limit: Int = 500) async throws -> Int {
        // Nothing waiting and no round under way: done, without taking the lock.
        let start = rounds.withLock { rounds -> Bool in
            guard rounds > 0 || undrained.withLock({ $0 != nil }) else { return false }
            rounds += 1
            return true
        }
        guard start else { return 0 }
        defer { rounds.withLock { $0 -= 1 } }
        var from: Int64?
        var taken = false
        let (count, last): (Int, Int64)
        do {
            (count, last) = try await store.transaction(locking: [sequencerLock]) { transaction in
                // Taken under the lock, once (the body runs again after a conflict).
                if !taken {
                    taken = true
                    from = undrained.withLock { value -> Int64? in
                        defer { value = nil }
                        return value
                    }
                }
                guard let from else { return (0, 0) }
                let waiting = try await transaction.all(
                    outbox,
                    RecordQuery(lowerBound: from == .min ? nil : [.int(from)], pageSize: limit),
                    limit: limit
                )
                for var event in Self.perSubjectInSequence(waiting) {
                    try await transaction.delete(outbox, outbox.primaryKey(event))
                    event.cursor = cursors.make(try await transaction.nextValue(of: counter))
                    try await transaction.insert(stream, event)
                }
                return (waiting.count, waiting.last.map { Timestamps.nanos($0.loggedAt) } ?? from)
            }
        } catch {
            if let from { undrained.withLock { $0 = min($0 ?? from, from) } }
            throw error
        }
        // A full batch may have left more behind: the next round starts where it ended.
        if count == limit { undrained.withLock { $0 = min($0 ?? last, last) } }
        if count > 0 { numbered.publish() }
        return count
    }

    /// The outbox by commit time, except that one subject's events keep their
    /// history order even when the clock stepped back between two of its changes.
    public static func perSubjectInSequence(_ events: [Event]) -> [Event] {
        var positions: [String: [Int]] = [:]
        for (index, event) in events.enumerated() { positions[event.subject, default: []].append(index) }
        var result = events
        for indices in positions.values where indices.count > 1 {
            let sorted = indices.map { events[$0] }.sorted { $0.subjectSequence < $1.subjectSequence }
            for (slot, event) in zip(indices, sorted) { result[slot] = event }
        }
        return result
    }

    /// Drops events older than the retention, at most `limit` at a time; returns how
    /// many.
    @discardableResult
    public func prune(limit: Int = 1000) async throws -> Int {
        let cutoff = Timestamps.nanos(Timestamps.adding(seconds: -Self.retentionSeconds, to: store.now()))
        return try await store.transaction(locking: [sequencerLock]) { transaction -> Int in
            let old = try await transaction.all(stream, RecordQuery(pageSize: 200), limit: limit)
                .prefix { Timestamps.nanos($0.loggedAt) < cutoff }
            for event in old { try await transaction.delete(stream, stream.primaryKey(event)) }
            return old.count
        }
    }

    /// The number of the oldest event kept and of the newest; (0, 0) when empty.
    public func bounds() async throws -> (first: Int64, last: Int64) {
        let first = try await store.latest.page(stream, RecordQuery(pageSize: 1)).records.first
        let last = try await store.latest.page(stream, RecordQuery(direction: .reverse, pageSize: 1)).records.first
        return (first.flatMap { cursors.parse($0.cursor) } ?? 0, last.flatMap { cursors.parse($0.cursor) } ?? 0)
    }

    /// Events after `position`, at most `limit`.
    public func events(after position: Int64, limit: Int) async throws -> [Event] {
        let (next, overflow) = position.addingReportingOverflow(1)
        guard !overflow else { return [] }
        return try await store.latest.page(stream, RecordQuery(lowerBound: [.int(next)], pageSize: limit)).records
    }

    /// Watchers hear from the server at least this often (a heartbeat with the
    /// cursor when nothing happened), so dead connections show.
    public static var heartbeat: Duration { .seconds(30) }

    /// Serves one watch: the position from `resumeCursor` (empty: from now on;
    /// INVALID_ARGUMENT for a malformed or future cursor, OUT_OF_RANGE for one older
    /// than the retention), a first message with the cursor at once, then every
    /// event `wanted` keeps, and a heartbeat (`marker`, an event with only a cursor)
    /// after 30 s without one. Returns when the caller cancels.
    public func watch(
        resumeCursor: String,
        wanted: (Event) -> Bool,
        marker: (String) -> Event,
        write: (Event) async throws -> Void
    ) async throws {
        // What is committed is numbered before the position is taken, so "from now
        // on" starts after every change acknowledged before the call.
        try await sequence()
        let (first, last) = try await bounds()
        var position: Int64
        if resumeCursor.isEmpty {
            position = last
        } else {
            guard let parsed = cursors.parse(resumeCursor) else {
                throw RPCError.invalidArgument(field: "resume_cursor", "not a cursor this service issued")
            }
            guard parsed <= last else {
                throw RPCError.invalidArgument(field: "resume_cursor", "is ahead of the event stream")
            }
            if first > 0, parsed < first - 1 {
                throw RPCError(
                    code: .outOfRange,
                    message: "resume_cursor: events before \(cursors.make(first)) are no longer kept "
                        + "(\(Self.retentionSeconds / 86_400) days); start again without a cursor"
                )
            }
            position = parsed
        }
        // The first message goes out at once, so the caller knows the watch is live
        // and holds a cursor from the start.
        try await write(marker(cursors.make(position)))
        while !Task.isCancelled {
            // Take the generation before reading, so a commit after the read wakes the
            // wait below.
            let generation = pending.generation
            try await sequence()
            let batch = try await events(after: position, limit: 100)
            if let lastEvent = batch.last {
                position = cursors.parse(lastEvent.cursor) ?? position
                for event in batch where wanted(event) { try await write(event) }
                continue
            }
            let before = ContinuousClock.now
            await pending.wait(after: generation, timeout: Self.heartbeat)
            if pending.generation == generation, ContinuousClock.now - before >= Self.heartbeat, !Task.isCancelled {
                try await write(marker(cursors.make(position)))
            }
        }
    }
}
