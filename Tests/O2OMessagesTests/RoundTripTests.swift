import NIOCore
import O2OMessages
import O2OTestProtos
import Testing

/// A random message of a type, built through its JSON form from the schema.
func randomMessage(_ name: String, seed: UInt64, variant: Int) throws -> any O2OMessage {
    var builder = RandomMessageBuilder(seed: seed, variant: variant)
    let json = builder.message(name)
    return try AllTypes.messages[name]!.init(json: json)
}

private func roundTrip<Message: O2OMessage>(_ message: Message) throws {
    let bytes = message.serializedBytes()
    #expect(bytes.count == message.serializedSize)
    let fromBytes = try Message(serializedBytes: bytes)
    #expect(fromBytes == message, "bytes round trip of \(Message.protoName)")
    // Equal messages encode to equal bytes (map entries are sorted).
    #expect(fromBytes.serializedBytes() == bytes)

    var buffer = ByteBuffer(bytes: [0xde, 0xad])
    buffer.moveReaderIndex(forwardBy: 2)
    message.serialize(into: &buffer)
    #expect(try Message(serializedBytes: buffer) == message)

    let json = message.jsonString()
    let fromJSON = try Message(jsonString: json)
    #expect(fromJSON == message, "JSON round trip of \(Message.protoName): \(json)")
    #expect(try Message(jsonString: message.jsonString(pretty: true)) == message)
}

private func roundTripAny(_ message: any O2OMessage) throws {
    try roundTrip(message)
}

@Suite("Round trips")
struct RoundTripTests {
    @Test("every message type round-trips through bytes and JSON", arguments: AllTypes.messages.keys.sorted())
    func everyType(name: String) throws {
        let schema = AllTypes.schema(name)
        let oneofSizes = Dictionary(grouping: schema.fields.filter { !$0.oneof.isEmpty }, by: \.oneof).values.map(
            \.count
        )
        let variants = max(6, (oneofSizes.max() ?? 0) + 1)
        for variant in 0..<variants {
            let seed = UInt64(truncatingIfNeeded: name.hashValueStable) &+ UInt64(variant)
            try roundTripAny(try randomMessage(name, seed: seed, variant: variant))
        }
        // The default message too: it encodes to nothing and JSON `{}`.
        let empty = AllTypes.messages[name]!.init()
        #expect(empty.serializedBytes().isEmpty)
        #expect(empty.jsonString() == "{}")
        try roundTripAny(empty)
    }

    @Test("the conformance message covers every field shape")
    func conformanceCoverage() throws {
        let schema = ConformanceEverything._messageSchema
        #expect(Set(schema.fields.map(\.type)).count >= 17)
        #expect(schema.fields.contains { $0.map && $0.keyType == .bool })
        #expect(schema.fields.contains { $0.oneof == "choice" })
        #expect(schema.fields.contains { $0.oneof.hasPrefix("_") })
    }

    @Test("presence: an optional set to its default survives, a plain default does not")
    func presence() throws {
        var message = ConformanceEverything()
        message.oString = ""
        message.oInt32 = 0
        message.oBool = false
        message.fInt32 = 0
        message.choice = .choiceInt64(0)
        let decoded = try ConformanceEverything(serializedBytes: message.serializedBytes())
        #expect(decoded.oString == "")
        #expect(decoded.oInt32 == 0)
        #expect(decoded.oBool == false)
        #expect(decoded.oEnum == nil)
        #expect(decoded.choice == .choiceInt64(0))
        #expect(message.jsonString() == #"{"choiceInt64":"0","oString":"","oInt32":0,"oBool":false}"#)
    }

    @Test("keyword field names work in Swift and C")
    func keywords() throws {
        var message = ConformanceEverything()
        message.default = 7
        message.class = "first"
        message.register = true
        message.protocol = "p"
        let decoded = try ConformanceEverything(serializedBytes: message.serializedBytes())
        #expect(decoded.default == 7 && decoded.class == "first" && decoded.register && decoded.protocol == "p")
    }

    @Test("unknown enum numbers survive bytes and JSON")
    func unknownEnum() throws {
        var leaf = ConformanceLeaf()
        leaf.colour = ConformanceColour(rawValue: 42)
        #expect(leaf.colour == .unrecognized(42))
        #expect(try ConformanceLeaf(serializedBytes: leaf.serializedBytes()).colour == .unrecognized(42))
        #expect(leaf.jsonString() == #"{"colour":42}"#)
        #expect(try ConformanceLeaf(jsonString: #"{"colour":-3}"#).colour == .infrared)
    }
}

extension String {
    /// A hash that is the same in every run (Swift's `hashValue` is randomly seeded).
    var hashValueStable: UInt64 {
        utf8.reduce(14_695_981_039_346_656_037) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }
}
