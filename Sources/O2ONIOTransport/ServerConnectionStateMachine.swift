import O2OProtobuf
import O2ORPC
import O2ORPCMessages

/// The protocol state of one server connection, as a value: frames go in, actions
/// come out, and the channel handler does the I/O. Tested without sockets.
struct ServerConnectionStateMachine {
    enum Phase: Hashable {
        /// Nothing received yet.
        case awaitingPreface
        /// Preface received; the client's SETTINGS not yet.
        case awaitingSettings
        /// Serving.
        case active
        /// GOAWAY sent (or received): streams up to `lastStreamID` finish, no new ones.
        case draining(lastStreamID: UInt32)
        /// The connection is closing or closed.
        case closed
    }

    struct Stream: Hashable {
        var inbound: InboundWindow
        var outbound: OutboundWindow
        /// The client will send no more messages.
        var receivedEnd = false
    }

    private(set) var phase: Phase = .awaitingPreface
    let local: O2OConnectionSettings
    private(set) var peer: O2OConnectionSettings = .protocolDefaults
    private(set) var streams: [UInt32: Stream] = [:]
    private(set) var highestStreamID: UInt32 = 0
    private var connectionInbound: InboundWindow
    private var connectionOutbound: OutboundWindow

    // Abuse protection.
    private var lastPing: ContinuousClock.Instant?
    private var framesSinceLastPing = true
    private var pingStrikes = 0
    private var cancelWindowStart: ContinuousClock.Instant?
    private var cancelsInWindow = 0
    static let maximumPingStrikes = 3
    static let maximumCancelsPerSecond = 1000

    init(local: O2OConnectionSettings) {
        self.local = local
        connectionInbound = InboundWindow(initial: local.initialConnectionWindow)
        connectionOutbound = OutboundWindow(initial: O2OConnectionSettings.protocolDefaults.initialConnectionWindow)
    }

    var openStreamCount: Int { streams.count }

    /// Whether new calls are refused.
    var isDraining: Bool {
        if case .draining = phase { return true }
        return phase == .closed
    }

    // MARK: - Connection start

    mutating func receivedPreface() {
        precondition(phase == .awaitingPreface)
        phase = .awaitingSettings
    }

    /// Any frame other than the first SETTINGS in the wrong phase is an error.
    private func requireActive(_ frame: FrameType) throws(ConnectionError) {
        switch phase {
        case .awaitingPreface, .awaitingSettings:
            throw ConnectionError(.protocolError, "expected SETTINGS first, got \(frame)")
        case .active, .draining, .closed:
            return
        }
    }

    mutating func receivedSettings(_ settings: WireSettings) throws(ConnectionError) {
        guard phase == .awaitingSettings else { throw ConnectionError(.protocolError, "second SETTINGS frame") }
        peer = try O2OConnectionSettings(wire: settings)
        connectionOutbound = OutboundWindow(initial: peer.initialConnectionWindow)
        phase = .active
    }

    // MARK: - Streams

    enum HeadersAction: Hashable {
        /// Start the call.
        case open
        /// End it at once with TRAILERS carrying this status.
        case reject(RPCStatusCode, String)
        /// A stream that crossed our GOAWAY: say nothing.
        case ignore
    }

    mutating func receivedHeaders(streamID: UInt32, endStream: Bool) throws(ConnectionError) -> HeadersAction {
        try requireActive(.headers)
        guard streamID != 0 else { throw ConnectionError(.protocolError, "HEADERS on stream 0") }
        guard streamID > highestStreamID else {
            throw ConnectionError(.protocolError, "stream id \(streamID) is not greater than \(highestStreamID)")
        }
        framesSinceLastPing = true
        // The id is taken even for a stream that crossed our GOAWAY: the rest of its
        // frames (its MESSAGE was likely sent right behind the HEADERS) are frames of a
        // closed stream, ignored, not frames of a stream never opened.
        highestStreamID = streamID
        switch phase {
        case .draining(let last) where streamID > last:
            return .ignore
        case .closed:
            return .ignore
        default:
            break
        }
        guard streams.count < local.maximumConcurrentStreams else {
            return .reject(.resourceExhausted, "too many concurrent streams (limit \(local.maximumConcurrentStreams))")
        }
        var stream = Stream(
            inbound: InboundWindow(initial: local.initialStreamWindow),
            outbound: OutboundWindow(initial: peer.initialStreamWindow)
        )
        stream.receivedEnd = endStream
        streams[streamID] = stream
        return .open
    }

    enum MessageAction: Hashable {
        /// Hand the message to the call; `endStream` when it is the last.
        case deliver(endStream: Bool)
        /// The stream is gone: drop the message, but send these window updates.
        case ignore(WindowUpdates)
    }

    mutating func receivedMessage(
        streamID: UInt32,
        length: Int,
        endStream: Bool
    ) throws(ConnectionError) -> MessageAction {
        try requireActive(.message)
        try requireStreamFrame(.message, streamID)
        framesSinceLastPing = true
        guard connectionInbound.received(length) else {
            throw ConnectionError(.flowControl, "MESSAGE beyond the connection window")
        }
        guard var stream = streams[streamID] else {
            // A stream that ended (cancelled, or TRAILERS sent): the bytes still count.
            return .ignore(WindowUpdates(connection: connectionInbound.consumed(length)))
        }
        guard !stream.receivedEnd else {
            throw ConnectionError(.protocolError, "MESSAGE after END_STREAM on stream \(streamID)")
        }
        guard stream.inbound.received(length) else {
            throw ConnectionError(.flowControl, "MESSAGE beyond the window of stream \(streamID)")
        }
        stream.receivedEnd = endStream
        streams[streamID] = stream
        return .deliver(endStream: endStream)
    }

    /// The application took `length` bytes of a stream's messages.
    mutating func consumed(streamID: UInt32, length: Int) -> WindowUpdates {
        var updates = WindowUpdates(connection: connectionInbound.consumed(length))
        if var stream = streams[streamID], !stream.receivedEnd {
            if let increment = stream.inbound.consumed(length) { updates.stream = (streamID, increment) }
            streams[streamID] = stream
        }
        return updates
    }

    enum EndAction: Hashable {
        case endOfRequests
        case ignore
    }

    mutating func receivedHalfClose(streamID: UInt32) throws(ConnectionError) -> EndAction {
        try requireActive(.halfClose)
        try requireStreamFrame(.halfClose, streamID)
        guard var stream = streams[streamID], !stream.receivedEnd else { return .ignore }
        stream.receivedEnd = true
        streams[streamID] = stream
        return .endOfRequests
    }

    enum CancelAction: Hashable {
        case cancel
        case ignore
    }

    mutating func receivedCancel(streamID: UInt32, now: ContinuousClock.Instant) throws(ConnectionError) -> CancelAction
    {
        try requireActive(.cancel)
        try requireStreamFrame(.cancel, streamID)
        if let start = cancelWindowStart, now - start < .seconds(1) {
            cancelsInWindow += 1
        } else {
            cancelWindowStart = now
            cancelsInWindow = 1
        }
        guard cancelsInWindow <= Self.maximumCancelsPerSecond else {
            throw ConnectionError(.enhanceYourCalm, "too many cancels")
        }
        return streams.removeValue(forKey: streamID) == nil ? .ignore : .cancel
    }

    private func requireStreamFrame(_ type: FrameType, _ streamID: UInt32) throws(ConnectionError) {
        guard streamID != 0 else { throw ConnectionError(.protocolError, "\(type) on stream 0") }
        guard streamID <= highestStreamID else {
            throw ConnectionError(.protocolError, "\(type) on stream \(streamID), which was never opened")
        }
    }

    enum WindowAction: Hashable {
        /// Writers of this stream may go on.
        case resumeStream(UInt32)
        /// Writers of every stream may go on.
        case resumeAll
        case ignore
    }

    mutating func receivedWindowUpdate(streamID: UInt32, increment: Int) throws(ConnectionError) -> WindowAction {
        try requireActive(.windowUpdate)
        guard increment > 0 else { throw ConnectionError(.flowControl, "WINDOW_UPDATE with increment 0") }
        if streamID == 0 {
            guard connectionOutbound.increase(by: increment) else {
                throw ConnectionError(.flowControl, "connection window overflow")
            }
            return .resumeAll
        }
        try requireStreamFrame(.windowUpdate, streamID)
        guard var stream = streams[streamID] else { return .ignore }
        guard stream.outbound.increase(by: increment) else {
            throw ConnectionError(.flowControl, "window overflow on stream \(streamID)")
        }
        streams[streamID] = stream
        return .resumeStream(streamID)
    }

    enum PingAction: Hashable {
        case acknowledge
        case ignore
    }

    mutating func receivedPing(ack: Bool, now: ContinuousClock.Instant) throws(ConnectionError) -> PingAction {
        try requireActive(.ping)
        if ack { return .ignore }
        if let last = lastPing, now - last < local.minimumPingInterval, !framesSinceLastPing {
            pingStrikes += 1
            if pingStrikes >= Self.maximumPingStrikes { throw ConnectionError(.enhanceYourCalm, "too many pings") }
        }
        lastPing = now
        framesSinceLastPing = false
        return .acknowledge
    }

    /// The client says it is going away: no new streams will come.
    mutating func receivedGoAway() {
        if case .active = phase { phase = .draining(lastStreamID: highestStreamID) }
    }

    // MARK: - Sending

    /// Reserves room to send a MESSAGE of `length` bytes on the stream; false when the
    /// writer must wait for a WINDOW_UPDATE.
    mutating func reserveToSend(streamID: UInt32, length: Int) -> Bool {
        guard var stream = streams[streamID], stream.outbound.isOpen, connectionOutbound.isOpen else { return false }
        stream.outbound.sent(length)
        connectionOutbound.sent(length)
        streams[streamID] = stream
        return true
    }

    /// Whether the stream still exists (its TRAILERS not yet sent, not cancelled).
    func isOpen(_ streamID: UInt32) -> Bool { streams[streamID] != nil }

    /// TRAILERS went out: the stream is closed.
    mutating func closed(streamID: UInt32) {
        streams.removeValue(forKey: streamID)
    }

    /// Starts a graceful shutdown; returns the GOAWAY's last stream id.
    mutating func beginDraining() -> UInt32 {
        switch phase {
        case .draining(let last): return last
        case .closed: return highestStreamID
        default:
            phase = .draining(lastStreamID: highestStreamID)
            return highestStreamID
        }
    }

    mutating func close() { phase = .closed }
}
