import O2OProtobuf
import O2ORPC
import O2ORPCMessages

/// The protocol state of one client connection, as a value (the mirror of
/// `ServerConnectionStateMachine`).
struct ClientConnectionStateMachine {
    enum Phase: Hashable {
        /// Preface and SETTINGS sent; the server's SETTINGS not yet received.
        case awaitingSettings
        case ready
        /// The server sent GOAWAY: streams up to `lastStreamID` go on, no new ones.
        case goingAway(lastStreamID: UInt32)
        case closed
    }

    struct Stream: Hashable {
        var inbound: InboundWindow
        var outbound: OutboundWindow
        /// We sent END_STREAM or HALF_CLOSE.
        var sentEnd = false
    }

    private(set) var phase: Phase = .awaitingSettings
    let local: O2OConnectionSettings
    private(set) var peer: O2OConnectionSettings = .protocolDefaults
    private(set) var streams: [UInt32: Stream] = [:]
    private var nextStreamID: UInt32 = 1
    private var connectionInbound: InboundWindow
    private var connectionOutbound: OutboundWindow

    init(local: O2OConnectionSettings) {
        self.local = local
        connectionInbound = InboundWindow(initial: local.initialConnectionWindow)
        connectionOutbound = OutboundWindow(initial: O2OConnectionSettings.protocolDefaults.initialConnectionWindow)
    }

    var openStreamCount: Int { streams.count }

    var canOpenStream: Bool {
        phase == .ready && streams.count < peer.maximumConcurrentStreams && nextStreamID <= Wire.maximumStreamID
    }

    /// Whether the connection will never take another stream.
    var isExhausted: Bool {
        switch phase {
        case .goingAway, .closed: return true
        default: return nextStreamID > Wire.maximumStreamID
        }
    }

    mutating func receivedSettings(_ settings: WireSettings) throws(ConnectionError) {
        guard phase == .awaitingSettings else { throw ConnectionError(.protocolError, "second SETTINGS frame") }
        peer = try O2OConnectionSettings(wire: settings)
        connectionOutbound = OutboundWindow(initial: peer.initialConnectionWindow)
        phase = .ready
    }

    private func requireReady(_ type: FrameType) throws(ConnectionError) {
        if phase == .awaitingSettings { throw ConnectionError(.protocolError, "expected SETTINGS first, got \(type)") }
    }

    /// Opens a stream for a new call; nil when none may be opened now.
    mutating func openStream() -> UInt32? {
        guard canOpenStream else { return nil }
        let id = nextStreamID
        nextStreamID += 1
        streams[id] = Stream(
            inbound: InboundWindow(initial: local.initialStreamWindow),
            outbound: OutboundWindow(initial: peer.initialStreamWindow)
        )
        return id
    }

    mutating func sentEnd(streamID: UInt32) {
        streams[streamID]?.sentEnd = true
    }

    enum MessageAction: Hashable {
        case deliver
        case ignore(WindowUpdates)
    }

    mutating func receivedMessage(streamID: UInt32, length: Int) throws(ConnectionError) -> MessageAction {
        try requireReady(.message)
        guard streamID != 0, streamID < nextStreamID else {
            throw ConnectionError(.protocolError, "MESSAGE on stream \(streamID), which was never opened")
        }
        guard connectionInbound.received(length) else {
            throw ConnectionError(.flowControl, "MESSAGE beyond the connection window")
        }
        guard var stream = streams[streamID] else {
            return .ignore(WindowUpdates(connection: connectionInbound.consumed(length)))
        }
        guard stream.inbound.received(length) else {
            throw ConnectionError(.flowControl, "MESSAGE beyond the window of stream \(streamID)")
        }
        streams[streamID] = stream
        return .deliver
    }

    /// The caller read `length` bytes of a stream's responses.
    mutating func consumed(streamID: UInt32, length: Int) -> WindowUpdates {
        var updates = WindowUpdates(connection: connectionInbound.consumed(length))
        if var stream = streams[streamID] {
            if let increment = stream.inbound.consumed(length) { updates.stream = (streamID, increment) }
            streams[streamID] = stream
        }
        return updates
    }

    /// TRAILERS arrived: whether the stream was open (else they are ignored).
    mutating func receivedTrailers(streamID: UInt32) throws(ConnectionError) -> Bool {
        try requireReady(.trailers)
        guard streamID != 0, streamID < nextStreamID else {
            throw ConnectionError(.protocolError, "TRAILERS on stream \(streamID), which was never opened")
        }
        return streams.removeValue(forKey: streamID) != nil
    }

    /// This side cancelled the stream, or gave up on it.
    mutating func closed(streamID: UInt32) {
        streams.removeValue(forKey: streamID)
    }

    enum WindowAction: Hashable {
        case resumeStream(UInt32)
        case resumeAll
        case ignore
    }

    mutating func receivedWindowUpdate(streamID: UInt32, increment: Int) throws(ConnectionError) -> WindowAction {
        try requireReady(.windowUpdate)
        guard increment > 0 else { throw ConnectionError(.flowControl, "WINDOW_UPDATE with increment 0") }
        if streamID == 0 {
            guard connectionOutbound.increase(by: increment) else {
                throw ConnectionError(.flowControl, "connection window overflow")
            }
            return .resumeAll
        }
        guard var stream = streams[streamID] else { return .ignore }
        guard stream.outbound.increase(by: increment) else {
            throw ConnectionError(.flowControl, "window overflow on stream \(streamID)")
        }
        streams[streamID] = stream
        return .resumeStream(streamID)
    }

    /// The server is going away: returns the open streams it will not process.
    mutating func receivedGoAway(lastStreamID: UInt32) -> [UInt32] {
        if phase != .closed { phase = .goingAway(lastStreamID: lastStreamID) }
        let abandoned = streams.keys.filter { $0 > lastStreamID }
        for id in abandoned { streams.removeValue(forKey: id) }
        return abandoned
    }

    mutating func reserveToSend(streamID: UInt32, length: Int) -> Bool {
        guard var stream = streams[streamID], stream.outbound.isOpen, connectionOutbound.isOpen else { return false }
        stream.outbound.sent(length)
        connectionOutbound.sent(length)
        streams[streamID] = stream
        return true
    }

    mutating func close() { phase = .closed }
}
