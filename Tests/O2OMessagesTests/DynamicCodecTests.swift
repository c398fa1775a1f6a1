import O2OMessages
import O2OShell
import Testing

/// The shell's codec works from reflected schemas only; it must agree with the
/// generated code (protobuf-c underneath) on every type, both ways.
@Suite("Dynamic codec of the shell")
struct DynamicCodecTests {
    static let codec = DynamicCodec(
        schema: ShellSchema(
            GetSchemaResponse(
                services: [],
                messages: AllTypes.messages.values.map { $0._messageSchema },
                enums: AllTypes.enums.values.map { $0._enumSchema }
            )
        )
    )

    private func agree<Message: O2OMessage>(_ message: Message) throws {
        let name = Message.protoName
        // Bytes from the generated code, read through the schema, give its JSON.
        let decoded = try Self.codec.decode(message.serializedBytes(), as: name)
        #expect(try Message(json: decoded) == message, "decode of \(name): \(message.jsonString())")
        // JSON written by the generated code, encoded through the schema, gives its bytes.
        let encoded = try Self.codec.encode(O2OJSONValue(parsing: Array(message.jsonString().utf8)), as: name)
        #expect(try Message(serializedBytes: encoded) == message, "encode of \(name): \(message.jsonString())")
    }

    private static func member(_ value: O2OJSONValue, _ key: String) -> O2OJSONValue? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key == key }?.value
    }

    private func agreeAny(_ message: any O2OMessage) throws {
        try agree(message)
    }

    @Test("random messages of every type", arguments: AllTypes.messages.keys.sorted())
    func everyType(name: String) throws {
        for variant in 0..<4 {
            let seed = UInt64(truncatingIfNeeded: name.hashValueStable) &+ 7919 &* UInt64(variant + 1)
            try agreeAny(try randomMessage(name, seed: seed, variant: variant))
        }
        try agreeAny(AllTypes.messages[name]!.init())
    }

    @Test("two members of a oneof on the wire: the last one wins, as in protobuf-c, and the JSON encodes again")
    func oneofLastMemberWins() throws {
        // GetCouponRequest { oneof key { string id = 1; string code = 2; } }: id, then code.
        let bytes: [UInt8] = [0x0a, 0x02] + Array("c1".utf8) + [0x12, 0x04] + Array("SAVE".utf8)
        let json = try Self.codec.decode(bytes, as: "o2o.order.v1.GetCouponRequest")
        #expect(json == .object([.init(key: "code", value: .string("SAVE"))]))
        let generated = try GetCouponRequest(serializedBytes: bytes)
        #expect(generated.key == .code("SAVE"))
        let again = try Self.codec.encode(json, as: "o2o.order.v1.GetCouponRequest")
        #expect(try GetCouponRequest(serializedBytes: again) == generated)
    }

    @Test("people's JSON: .proto names, short enum names, numbers as strings; clear errors naming the field")
    func humanInput() throws {
        let json = try O2OJSONValue(parsing: Array(#"{"product_id":"p1"}"#.utf8))
        let bytes = try Self.codec.encode(json, as: "o2o.catalog.v1.GetProductRequest")
        #expect(
            try Self.codec.decode(bytes, as: "o2o.catalog.v1.GetProductRequest")
                == O2OJSONValue(parsing: Array(#"{"productId":"p1"}"#.utf8))
        )
        let status = try O2OJSONValue(parsing: Array(#"{"productId":"p1","status":"ON_SHELF"}"#.utf8))
        let changed = try Self.codec.decode(
            Self.codec.encode(status, as: "o2o.catalog.v1.ChangeProductStatusRequest"),
            as: "o2o.catalog.v1.ChangeProductStatusRequest"
        )
        #expect(Self.member(changed, "status") == .string("PRODUCT_STATUS_ON_SHELF"))
        for (text, field) in [
            (#"{"productId":7}"#, "productId"), (#"{"nope":1}"#, "nope"),
            (#"{"productId":"p","status":"SOLD"}"#, "status"),
        ] {
            let type =
                text.contains("status")
                ? "o2o.catalog.v1.ChangeProductStatusRequest" : "o2o.catalog.v1.GetProductRequest"
            #expect {
                try Self.codec.encode(O2OJSONValue(parsing: Array(text.utf8)), as: type)
            } throws: { error in
                "\(error)".contains(field)
            }
        }
    }
}
