import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage
import Synchronization

/// The order event stream of WatchOrderEvents. Every order change writes its event
/// to an outbox in the change's own commit; one sequencer at a time numbers what the
/// outbox holds into the stream, in the order the commits became visible. Numbering
/// after the commit keeps checkouts from contending on one counter, and the outbox
/// survives a crash, so no committed event is ever lost or numbered twice.
final class OrderEventLog: Sendable {
    /// How long the stream keeps events.
    static let retentionSeconds: Int64 = 7 * 86_400
    static let sequencerLock = "orders/event-sequencer"

    private let store: ServiceStore
    /// The earliest commit time of an outbox event committed here and not numbered
    /// yet; nil when there is none. The sequencer scans the outbox from there rather
    /// than from its start, which would step over the deletion marks of every event
    /// numbered since the store last compacted. `Int64.min` (the start) until the
    /// first round after opening, which finds what an earlier run left behind.
    private let undrained = Mutex<Int64?>(.min)
    /// Published after a commit wrote events to the outbox.
    let pending = ChangeFeed()
    /// Published after the sequencer numbered events.
    let numbered = ChangeFeed()

    init(store: ServiceStore) {
        self.store = store
    }

    /// An order change committed an event recorded at `time`.
    func committed(at time: Timestamp) {
        let nanos = Timestamps.nanos(time)
        undrained.withLock { $0 = min($0 ?? nanos, nanos) }
        pending.publish()
    }

    /// Numbers up to `limit` outbox events into the stream; returns how many.
    @discardableResult
    func sequence(limit: Int = 500) async throws -> Int {
        guard
            let from = undrained.withLock({ value -> Int64? in
                defer { value = nil }
                return value
            })
        else {
            return 0
        }
        let (count, last): (Int, Int64)
        do {
            (count, last) = try await store.transaction(locking: [Self.sequencerLock]) { transaction in
                let waiting = try await transaction.all(
                    OrderTables.outbox,
                    RecordQuery(lowerBound: from == .min ? nil : [.int(from)], pageSize: limit),
                    limit: limit
                )
                for var event in Self.perOrderInSequence(waiting) {
                    try await transaction.delete(OrderTables.outbox, OrderTables.outbox.primaryKey(event))
                    event.cursor = OrderEventCursor.make(try await transaction.nextValue(of: "order_events"))
                    try await transaction.insert(OrderTables.events, event)
                }
                return (waiting.count, waiting.last.map { Timestamps.nanos($0.entry?.createdAt) } ?? from)
            }
        } catch {
            undrained.withLock { $0 = min($0 ?? from, from) }
            throw error
        }
        // A full batch may have left more behind: the next round starts where it ended.
        if count == limit { undrained.withLock { $0 = min($0 ?? last, last) } }
        if count > 0 { numbered.publish() }
        return count
    }

    /// The outbox by commit time, except that one order's events keep their history
    /// order even when the clock stepped back between two of its changes.
    static func perOrderInSequence(_ events: [OrderEvent]) -> [OrderEvent] {
        var positions: [String: [Int]] = [:]
        for (index, event) in events.enumerated() { positions[event.entry?.orderID ?? "", default: []].append(index) }
        var result = events
        for indices in positions.values where indices.count > 1 {
            let sorted = indices.map { events[$0] }.sorted { ($0.entry?.sequence ?? 0) < ($1.entry?.sequence ?? 0) }
            for (slot, event) in zip(indices, sorted) { result[slot] = event }
        }
        return result
    }

    /// Drops events older than the retention, at most `limit` at a time; returns how
    /// many.
    @discardableResult
    func prune(limit: Int = 1000) async throws -> Int {
        let cutoff = Timestamps.nanos(Timestamps.adding(seconds: -Self.retentionSeconds, to: store.now()))
        return try await store.transaction(locking: [Self.sequencerLock]) { transaction -> Int in
            let old = try await transaction.all(OrderTables.events, RecordQuery(pageSize: 200), limit: limit)
                .prefix { Timestamps.nanos($0.entry?.createdAt) < cutoff }
            for event in old { try await transaction.delete(OrderTables.events, OrderTables.events.primaryKey(event)) }
            return old.count
        }
    }

    /// The number of the oldest event kept and of the newest; (0, 0) when empty.
    func bounds() async throws -> (first: Int64, last: Int64) {
        let first = try await store.latest.page(OrderTables.events, RecordQuery(pageSize: 1)).records.first
        let last = try await store.latest.page(OrderTables.events, RecordQuery(direction: .reverse, pageSize: 1))
            .records.first
        return (
            first.flatMap { OrderEventCursor.parse($0.cursor) } ?? 0,
            last.flatMap { OrderEventCursor.parse($0.cursor) } ?? 0
        )
    }

    /// Events after `position`, at most `limit`.
    func events(after position: Int64, limit: Int) async throws -> [OrderEvent] {
        let (next, overflow) = position.addingReportingOverflow(1)
        guard !overflow else { return [] }
        return try await store.latest.page(OrderTables.events, RecordQuery(lowerBound: [.int(next)], pageSize: limit))
            .records
    }
}
