import O2OProtobuf
import O2ORPC
import O2ORPCMessages
import Testing

@_spi(Benchmarking) @testable import O2ONIOTransport

@Suite("Connection state machines")
struct StateMachineTests {
    private func activeServer(
        streams: Int = 100,
        streamWindow: Int = 1000,
        connectionWindow: Int = 10_000
    ) throws -> ServerConnectionStateMachine {
        var machine = ServerConnectionStateMachine(
            local: O2OConnectionSettings(
                maximumConcurrentStreams: streams,
                initialStreamWindow: streamWindow,
                initialConnectionWindow: connectionWindow
            )
        )
        machine.receivedPreface()
        try machine.receivedSettings(WireSettings(initialStreamWindow: 500, initialConnectionWindow: 800))
        return machine
    }

    @Test("frames before SETTINGS and a second SETTINGS are protocol errors")
    func settingsFirst() throws {
        var machine = ServerConnectionStateMachine(local: O2OConnectionSettings())
        machine.receivedPreface()
        #expect(throws: ConnectionError(.protocolError, "expected SETTINGS first, got HEADERS")) {
            _ = try machine.receivedHeaders(streamID: 1, endStream: false)
        }
        try machine.receivedSettings(WireSettings())
        #expect(machine.phase == .active)
        #expect(throws: ConnectionError(.protocolError, "second SETTINGS frame")) {
            try machine.receivedSettings(WireSettings())
        }
        var future = ServerConnectionStateMachine(local: O2OConnectionSettings())
        future.receivedPreface()
        #expect(throws: ConnectionError(.protocolError, "unsupported protocol version 2")) {
            try future.receivedSettings(WireSettings(protocolVersion: 2))
        }
    }

    @Test("stream ids must grow; excess streams are refused, not the connection")
    func streams() throws {
        var machine = try activeServer(streams: 2)
        let result1 = try machine.receivedHeaders(streamID: 1, endStream: false)
        #expect(result1 == .open)
        let result2 = try machine.receivedHeaders(streamID: 5, endStream: false)
        #expect(result2 == .open)
        let result3 = try machine.receivedHeaders(streamID: 6, endStream: false)
        #expect(result3 == .reject(.resourceExhausted, "too many concurrent streams (limit 2)"))
        #expect(throws: ConnectionError(.protocolError, "stream id 6 is not greater than 6")) {
            _ = try machine.receivedHeaders(streamID: 6, endStream: false)
        }
        machine.closed(streamID: 1)
        let result4 = try machine.receivedHeaders(streamID: 7, endStream: false)
        #expect(result4 == .open)
        #expect(throws: ConnectionError(.protocolError, "MESSAGE on stream 9, which was never opened")) {
            _ = try machine.receivedMessage(streamID: 9, length: 1, endStream: false)
        }
    }

    @Test("flow control: a window may go negative by one frame, not more; consumption grants it back")
    func flowControl() throws {
        var machine = try activeServer(streamWindow: 1000, connectionWindow: 10_000)
        _ = try machine.receivedHeaders(streamID: 1, endStream: false)
        let result5 = try machine.receivedMessage(streamID: 1, length: 900, endStream: false)
        #expect(result5 == .deliver(endStream: false))
        let result6 = try machine.receivedMessage(streamID: 1, length: 900, endStream: false)
        #expect(result6 == .deliver(endStream: false))
        #expect(throws: ConnectionError(.flowControl, "MESSAGE beyond the window of stream 1")) {
            _ = try machine.receivedMessage(streamID: 1, length: 1, endStream: false)
        }
        var fresh = try activeServer(streamWindow: 1000, connectionWindow: 10_000)
        _ = try fresh.receivedHeaders(streamID: 1, endStream: false)
        _ = try fresh.receivedMessage(streamID: 1, length: 600, endStream: false)
        let updates = fresh.consumed(streamID: 1, length: 600)
        #expect(updates.stream?.id == 1 && updates.stream?.increment == 600)
        #expect(updates.connection == nil)  // 600 < half of 10,000
    }

    @Test("sending respects the peer's windows and resumes on WINDOW_UPDATE")
    func sending() throws {
        var machine = try activeServer()
        _ = try machine.receivedHeaders(streamID: 1, endStream: true)
        let reserved = machine.reserveToSend(streamID: 1, length: 600)  // stream window 500 → -100
        #expect(reserved)
        let result7 = machine.reserveToSend(streamID: 1, length: 1)
        #expect(!result7)
        let result8 = try machine.receivedWindowUpdate(streamID: 1, increment: 200)
        #expect(result8 == .resumeStream(1))
        let result9 = machine.reserveToSend(streamID: 1, length: 1)
        #expect(result9)
        #expect(throws: ConnectionError(.flowControl, "WINDOW_UPDATE with increment 0")) {
            _ = try machine.receivedWindowUpdate(streamID: 0, increment: 0)
        }
        #expect(throws: ConnectionError(.flowControl, "connection window overflow")) {
            _ = try machine.receivedWindowUpdate(streamID: 0, increment: 0x7fff_ffff)
        }
    }

    @Test("messages for closed streams are dropped but credited to the connection")
    func closedStreams() throws {
        var machine = try activeServer(connectionWindow: 1000)
        _ = try machine.receivedHeaders(streamID: 1, endStream: false)
        let result10 = try machine.receivedCancel(streamID: 1, now: .now)
        #expect(result10 == .cancel)
        let result11 = try machine.receivedMessage(streamID: 1, length: 600, endStream: false)
        #expect(result11 == .ignore(WindowUpdates(connection: 600)))
        let result12 = try machine.receivedCancel(streamID: 1, now: .now)
        #expect(result12 == .ignore)
    }

    @Test("ping floods and cancel floods end the connection")
    func abuse() throws {
        var machine = try activeServer()
        let start = ContinuousClock.now
        let result13 = try machine.receivedPing(ack: false, now: start)
        #expect(result13 == .acknowledge)
        let result14 = try machine.receivedPing(ack: false, now: start + .seconds(1))
        #expect(result14 == .acknowledge)
        let result15 = try machine.receivedPing(ack: false, now: start + .seconds(2))
        #expect(result15 == .acknowledge)
        #expect(throws: ConnectionError(.enhanceYourCalm, "too many pings")) {
            _ = try machine.receivedPing(ack: false, now: start + .seconds(3))
        }
        // Pings spaced by real traffic are fine.
        var busy = try activeServer()
        for second in 0..<10 {
            _ = try busy.receivedHeaders(streamID: UInt32(second + 1), endStream: true)
            let result16 = try busy.receivedPing(ack: false, now: start + .seconds(second))
            #expect(result16 == .acknowledge)
        }
        var cancels = try activeServer()
        _ = try cancels.receivedHeaders(streamID: 1, endStream: false)
        for _ in 0..<ServerConnectionStateMachine.maximumCancelsPerSecond {
            _ = try cancels.receivedCancel(streamID: 1, now: start)
        }
        #expect(throws: ConnectionError(.enhanceYourCalm, "too many cancels")) {
            _ = try cancels.receivedCancel(streamID: 1, now: start + .milliseconds(500))
        }
    }

    @Test("draining: known streams go on, later ones are ignored")
    func draining() throws {
        var machine = try activeServer()
        _ = try machine.receivedHeaders(streamID: 3, endStream: false)
        let result17 = machine.beginDraining()
        #expect(result17 == 3)
        #expect(machine.isDraining)
        let result18 = try machine.receivedHeaders(streamID: 4, endStream: false)
        #expect(result18 == .ignore)
        let result19 = try machine.receivedMessage(streamID: 3, length: 10, endStream: true)
        #expect(result19 == .deliver(endStream: true))
        // The ignored stream's own frames crossed the GOAWAY too: ignored, their bytes
        // credited back, not a connection error that would end stream 3.
        let ignoredMessage = try machine.receivedMessage(streamID: 4, length: 10, endStream: false)
        guard case .ignore = ignoredMessage else {
            Issue.record("MESSAGE of an ignored stream: \(ignoredMessage)")
            return
        }
        #expect(try machine.receivedHalfClose(streamID: 4) == .ignore)
        #expect(try machine.receivedCancel(streamID: 4, now: .now) == .ignore)
        #expect(machine.isOpen(3))
        // A stream id never used is still a protocol error.
        #expect(throws: ConnectionError.self) {
            _ = try machine.receivedMessage(streamID: 9, length: 1, endStream: true)
        }
    }

    @Test("client: streams open only after SETTINGS and within the server's limit; GOAWAY abandons later ones")
    func client() throws {
        var machine = ClientConnectionStateMachine(local: O2OConnectionSettings())
        let result20 = machine.openStream()
        #expect(result20 == nil)
        try machine.receivedSettings(WireSettings(maxConcurrentStreams: 2))
        let result21 = machine.openStream()
        #expect(result21 == 1)
        let result22 = machine.openStream()
        #expect(result22 == 2)
        let result23 = machine.openStream()
        #expect(result23 == nil)
        let wasOpen = try machine.receivedTrailers(streamID: 1)
        #expect(wasOpen)
        let result24 = machine.openStream()
        #expect(result24 == 3)
        let result25 = machine.receivedGoAway(lastStreamID: 2).sorted()
        #expect(result25 == [3])
        let result26 = machine.openStream()
        #expect(result26 == nil)
        #expect(machine.isExhausted)
    }
}

@Suite("Client flow control")
struct ClientFlowControlTests {
    @Test("consumed bytes add up until half the window, then go back as a WINDOW_UPDATE")
    func windowUpdates() throws {
        var machine = ClientConnectionStateMachine(
            local: O2OConnectionSettings(initialStreamWindow: 1000, initialConnectionWindow: 100_000)
        )
        try machine.receivedSettings(WireSettings())
        let id = machine.openStream()!
        _ = try machine.receivedMessage(streamID: id, length: 300)
        let first = machine.consumed(streamID: id, length: 300)
        #expect(first.isEmpty)
        _ = try machine.receivedMessage(streamID: id, length: 300)
        let second = machine.consumed(streamID: id, length: 300)
        #expect(second.stream?.id == id && second.stream?.increment == 600)
    }
}
