public import O2OProtobuf
import O2ORPC
public import O2ORPCMessages

/// A record whose life is a status with an explicit table of moves.
public protocol StatusRecord: VersionedRecord, Identified {
    associatedtype Status: O2OEnum
    var status: Status { get set }
    /// Appends one step to the record's status history (records that keep none do
    /// nothing).
    mutating func appendStatusChange(from: Status, to: Status, at: Timestamp, actor: ChangeActor, note: String)
}

extension StatusRecord {
    public mutating func appendStatusChange(from: Status, to: Status, at: Timestamp, actor: ChangeActor, note: String) {
    }
}

/// The moves allowed between the values of one status enum, declared once per record
/// kind: every change of such a status goes through `move`, which refuses a move the
/// table does not list with FAILED_PRECONDITION naming both states and what is
/// possible, and appends the history step in the same change.
public struct StatusMachine<Status: O2OEnum>: Sendable {
    /// What the record is called in messages ("purchase order").
    public let noun: String
    private let moves: [Status: [Status]]

    /// - Parameters:
    ///   - noun: What the record is called in messages.
    ///   - moves: For each status, the statuses it may become (in the order messages
    ///     list them); a status with no entry is final.
    public init(_ noun: String, _ moves: KeyValuePairs<Status, [Status]>) {
        self.noun = noun
        var table: [Status: [Status]] = [:]
        for (from, to) in moves { table[from, default: []] += to }
        self.moves = table
    }

    /// Whether the table allows `from` → `to`.
    public func allows(_ from: Status, _ to: Status) -> Bool {
        moves[from]?.contains(to) ?? false
    }

    /// The statuses `from` may become.
    public func next(_ from: Status) -> [Status] { moves[from] ?? [] }

    /// FAILED_PRECONDITION unless the table allows `from` → `to`:
    /// "<field>: <noun> '<id>' is FROM and cannot become TO (it can become A or B)".
    public func check(_ from: Status, _ to: Status, field: String, id: String) throws {
        guard !allows(from, to) else { return }
        let possible = next(from)
        let hint =
            possible.isEmpty
            ? "it is final" : "it can become \(Self.list(possible.map(\.displayName), joiner: "or"))"
        throw RPCError(
            code: .failedPrecondition,
            message: "\(field): \(noun) '\(id)' is \(from.displayName) and cannot become \(to.displayName) (\(hint))"
        )
    }

    /// FAILED_PRECONDITION unless `current` is one of `allowed`, for what is not a
    /// move (changing a draft, booking a delivery):
    /// "<field>: <noun> '<id>' is CURRENT; only A or B ones can <action>".
    public func require(_ current: Status, in allowed: [Status], to action: String, field: String, id: String) throws {
        guard !allowed.contains(current) else { return }
        throw RPCError(
            code: .failedPrecondition,
            message:
                "\(field): \(noun) '\(id)' is \(current.displayName); only \(Self.list(allowed.map(\.displayName), joiner: "or")) ones can \(action)"
        )
    }

    /// Moves `record` to `status` after checking the table, and appends the history
    /// step. The version and update time are bumped when the record is written
    /// (`updateVersioned`, `modify`).
    public func move<Record: StatusRecord>(
        _ record: inout Record,
        to status: Status,
        field: String,
        at time: Timestamp,
        actor: ChangeActor,
        note: String = ""
    ) throws where Record.Status == Status {
        try check(record.status, status, field: field, id: record.id)
        record.appendStatusChange(from: record.status, to: status, at: time, actor: actor, note: note)
        record.status = status
    }

    /// Starts a new record's history at `status` (from UNSPECIFIED), without a check:
    /// creation is not a move.
    public func start<Record: StatusRecord>(
        _ record: inout Record,
        at status: Status,
        time: Timestamp,
        actor: ChangeActor,
        note: String = ""
    ) where Record.Status == Status {
        record.appendStatusChange(from: record.status, to: status, at: time, actor: actor, note: note)
        record.status = status
    }

    static func list(_ names: [String], joiner: String) -> String {
        switch names.count {
        case 0: ""
        case 1: names[0]
        default: names.dropLast().joined(separator: ", ") + " \(joiner) " + names.last!
        }
    }
}
