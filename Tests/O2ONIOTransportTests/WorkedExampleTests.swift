import Foundation
import O2OBuiltinServices
import O2ONIOTransport
import O2OProtobuf
import O2ORPC
import O2ORPCMessages
import O2OTestSupport
import Testing

/// The worked example in docs/PROTOCOL.md is the real exchange with a real server:
/// this test replays the client's bytes and checks that the document shows exactly
/// the bytes both sides sent.
@Suite("PROTOCOL.md worked example")
struct WorkedExampleTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/PROTOCOL.md")

    /// Hex with a space between bytes, 16 bytes per line.
    static func hexLines(_ bytes: [UInt8]) -> [String] {
        stride(from: 0, to: bytes.count, by: 16).map { start in
            bytes[start..<min(start + 16, bytes.count)].map { byte in
                let hex = String(byte, radix: 16)
                return hex.count == 1 ? "0" + hex : hex
            }.joined(separator: " ")
        }
    }

    @Test("the document shows the bytes of one unary call and its response")
    func example() async throws {
        let clientSettings = WireSettings(protocolVersion: 1)
        let header = WireCallHeader(method: "/o2o.rpc.v1.EchoService/Echo")
        let request = EchoMessage(payload: Array("hi".utf8))
        let clientParts: [(String, [UInt8])] = [
            ("preface", Array("O2ORPC/1".utf8)),
            ("SETTINGS", rawFrame(0x00, stream: 0, clientSettings.serializedBytes())),
            ("HEADERS", rawFrame(0x01, stream: 1, header.serializedBytes())),
            ("MESSAGE", rawFrame(0x02, flags: 0x01, stream: 1, request.serializedBytes())),
        ]
        var settings = O2OServerConnectionOptions()
        settings.settings.agent = "o2o-server"
        let serverBytes: [UInt8] = try await withTestServer(services: [EchoServiceProvider()], options: settings) {
            _,
            port in
            let raw = try await RawConnection.connect(port: port)
            try await raw.send(clientParts.flatMap(\.1))
            var received: [UInt8] = []
            try await waitUntil("the trailers") {
                received = try await raw.received()
                return RawConnection.frames(received).contains(where: { $0.type == 0x03 })
            }
            await raw.close()
            return received
        }
        let frames = RawConnection.frames(serverBytes)
        #expect(frames.map(\.type) == [0x00, 0x02, 0x03])
        #expect(try EchoMessage(serializedBytes: frames[1].payload) == request)
        #expect(frames[2].payload.isEmpty)

        var serverParts: [(String, [UInt8])] = []
        var offset = 0
        for (frame, name) in zip(frames, ["SETTINGS", "MESSAGE", "TRAILERS"]) {
            let length = 9 + frame.payload.count
            serverParts.append((name, Array(serverBytes[offset..<offset + length])))
            offset += length
        }
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        var missing: [String] = []
        for (name, bytes) in clientParts + serverParts {
            for line in Self.hexLines(bytes) where !text.contains(line) {
                missing.append("\(name): \(line)")
            }
        }
        if ProcessInfo.processInfo.environment["O2O_PRINT_EXAMPLE"] != nil {
            for (name, bytes) in clientParts + serverParts {
                print("## \(name)")
                for line in Self.hexLines(bytes) { print(line) }
            }
        }
        #expect(missing.isEmpty, "PROTOCOL.md lacks these lines of the exchange:\n\(missing.joined(separator: "\n"))")
    }
}
