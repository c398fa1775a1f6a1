import NIOCore
import O2OBuiltinServices
import O2ONIOTransport
import O2OProtobuf
import O2ORPC
import O2ORPCMessages
import Synchronization
import Testing

@Suite("End to end over loopback")
struct EndToEndTests {
    @Test("all four call kinds")
    func callKinds() async throws {
        try await withTestServer { _, port in
            try await withTestClient(port: port) { channel in
                let echo = EchoServiceClient(transport: channel)
                let reply = try await echo.echo(EchoMessage(payload: Array("hello".utf8), sequence: 7))
                #expect(reply == EchoMessage(payload: Array("hello".utf8), sequence: 7))

                let sequences = try await echo.echoExpand(EchoExpandRequest(count: 100, payloadSize: 10)) { responses in
                    var sequences: [UInt64] = []
                    for try await message in responses { sequences.append(message.sequence) }
                    return sequences
                }
                #expect(sequences == Array(0..<100))

                let collected = try await echo.echoCollect { requests in
                    for index in 0..<50 {
                        try await requests.write(EchoMessage(payload: [UInt8](repeating: 1, count: index)))
                    }
                }
                #expect(collected == EchoCollectResponse(count: 50, totalBytes: UInt64((0..<50).reduce(0, +))))

                let chatted = try await echo.echoChat(
                    send: { requests in
                        for index in 0..<20 { try await requests.write(EchoMessage(sequence: UInt64(index))) }
                    },
                    handle: { responses in
                        var sequences: [UInt64] = []
                        for try await message in responses { sequences.append(message.sequence) }
                        return sequences
                    }
                )
                #expect(chatted == Array(0..<20))
            }
        }
    }

    @Test("1,000 concurrent calls on one connection all complete")
    func manyConcurrentCalls() async throws {
        try await withTestServer { _, port in
            try await withTestClient(port: port) { channel in
                let echo = EchoServiceClient(transport: channel)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<1000 {
                        group.addTask {
                            let reply = try await echo.echo(EchoMessage(sequence: UInt64(index)))
                            #expect(reply.sequence == UInt64(index))
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }
}
