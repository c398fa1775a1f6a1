/// Flow-control bookkeeping for one direction of one stream or connection
/// (docs/PROTOCOL.md, section 7).
struct InboundWindow: Sendable, Hashable {
    /// How many more MESSAGE payload bytes the peer may send.
    private(set) var remaining: Int
    /// Bytes consumed by the application but not yet granted back.
    private(set) var unacknowledged = 0
    /// The window granted at the start; updates go out once half of it is consumed.
    let initial: Int

    init(initial: Int) {
        self.initial = initial
        self.remaining = initial
    }

    /// The peer sent `length` bytes. False when it was not allowed to send at all.
    mutating func received(_ length: Int) -> Bool {
        guard remaining > 0 else { return false }
        remaining -= length
        return true
    }

    /// The application consumed `length` bytes; returns the increment to announce, if
    /// it is time to.
    mutating func consumed(_ length: Int) -> Int? {
        unacknowledged += length
        guard unacknowledged >= initial / 2 else { return nil }
        let increment = unacknowledged
        unacknowledged = 0
        remaining += increment
        return increment
    }
}

/// How much this side may still send, for one stream or the connection.
struct OutboundWindow: Sendable, Hashable {
    private(set) var remaining: Int

    init(initial: Int) { remaining = initial }

    /// Whether a message may be sent now (the window may then go negative by one).
    var isOpen: Bool { remaining > 0 }

    mutating func sent(_ length: Int) { remaining -= length }

    /// Adds a peer's increment; false when the window would overflow.
    mutating func increase(by increment: Int) -> Bool {
        guard remaining <= Wire.maximumWindow - increment else { return false }
        remaining += increment
        return true
    }
}

/// The WINDOW_UPDATE frames to send after consuming.
struct WindowUpdates: Sendable, Hashable {
    var connection: Int?
    var stream: (id: UInt32, increment: Int)?

    static func == (lhs: WindowUpdates, rhs: WindowUpdates) -> Bool {
        lhs.connection == rhs.connection && lhs.stream?.id == rhs.stream?.id
            && lhs.stream?.increment == rhs.stream?.increment
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(connection)
        hasher.combine(stream?.id)
        hasher.combine(stream?.increment)
    }

    var isEmpty: Bool { connection == nil && stream == nil }
}
