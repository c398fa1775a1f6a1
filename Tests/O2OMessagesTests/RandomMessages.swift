import O2OMessages
import O2OTestProtos
import O2OTestSupport

/// Every generated message and enum type, from the platform schema and the test-only
/// conformance schema.
enum AllTypes {
    static let messages: [String: any O2ODescribedMessage.Type] = O2OSchemaRegistry.messageTypes
        .merging(ConformanceRegistry.messageTypes) { first, _ in first }
    static let enums: [String: any O2ODescribedEnum.Type] = O2OSchemaRegistry.enumTypes
        .merging(ConformanceRegistry.enumTypes) { first, _ in first }

    static func schema(_ name: String) -> MessageSchema { messages[name]!._messageSchema }
    static func enumSchema(_ name: String) -> EnumSchema { enums[name]!._enumSchema }
}

/// Builds random messages as JSON from their reflection schemas: empty, zero,
/// negative, extreme and non-ASCII values, empty and large lists, every oneof case
/// (rotated by `variant`), maps with every key type.
struct RandomMessageBuilder {
    var random: SeededRandom
    /// Rotates which member of each oneof is set, so every member gets its turn.
    let variant: Int
    let maximumDepth = 4

    init(seed: UInt64, variant: Int) {
        random = SeededRandom(seed: seed)
        self.variant = variant
    }

    private mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }

    private mutating func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &random)] }

    mutating func message(_ name: String, depth: Int = 0) -> O2OJSONValue {
        let schema = AllTypes.schema(name)
        var members: [O2OJSONValue.Member] = []
        // Group oneof members; fields starting with "_" only mark presence.
        var oneofs: [String: [FieldSchema]] = [:]
        for field in schema.fields where !field.oneof.isEmpty && !field.oneof.hasPrefix("_") {
            oneofs[field.oneof, default: []].append(field)
        }
        var chosen: [String: UInt32] = [:]
        for (offset, (name, fields)) in oneofs.sorted(by: { $0.key < $1.key }).enumerated() {
            let slot = (variant + offset) % (fields.count + 1)
            if slot < fields.count { chosen[name] = fields[slot].number }
        }
        for field in schema.fields {
            if !field.oneof.isEmpty, !field.oneof.hasPrefix("_") {
                guard chosen[field.oneof] == field.number else { continue }
            } else if field.hasPresence, !chance(60) {
                continue
            } else if !chance(80) {
                continue
            }
            let key = chance(80) ? field.jsonName : field.name
            if field.type == .message, depth >= maximumDepth {
                if field.repeated || field.map { continue }
                members.append(.init(key: key, value: .object([])))
                continue
            }
            members.append(.init(key: key, value: value(for: field, depth: depth)))
        }
        return .object(members)
    }

    private mutating func value(for field: FieldSchema, depth: Int) -> O2OJSONValue {
        if field.map {
            let count = pick([0, 1, 3, 8])
            var members: [O2OJSONValue.Member] = []
            var keys = Set<String>()
            for _ in 0..<count {
                let key = mapKey(field.keyType)
                guard keys.insert(key).inserted else { continue }
                members.append(.init(key: key, value: single(field.type, typeName: field.typeName, depth: depth)))
            }
            return .object(members)
        }
        if field.repeated {
            let count = pick([0, 1, 2, 5, chance(10) ? 200 : 3])
            return .array((0..<count).map { _ in single(field.type, typeName: field.typeName, depth: depth) })
        }
        return single(field.type, typeName: field.typeName, depth: depth)
    }

    private mutating func mapKey(_ type: FieldType) -> String {
        switch type {
        case .bool: return pick(["true", "false"])
        case .string: return randomString()
        case .uint32, .fixed32:
            return String(pick([0, 1, UInt32.max, UInt32.random(in: 0...UInt32.max, using: &random)]))
        case .uint64, .fixed64:
            return String(pick([0, 1, UInt64.max, UInt64.random(in: 0...UInt64.max, using: &random)]))
        case .int64, .sint64, .sfixed64:
            return String(pick([0, -1, Int64.min, Int64.max, Int64.random(in: Int64.min...Int64.max, using: &random)]))
        default:
            return String(pick([0, -1, Int32.min, Int32.max, Int32.random(in: Int32.min...Int32.max, using: &random)]))
        }
    }

    mutating func randomString() -> String {
        let pieces = [
            "", "a", "SKU-0001", "你好，世界", "奶茶 🧋 half sugar", "quote \" backslash \\ tab \t newline \n",
            "Ünïcödé", "\u{7f}\u{1}", "€ 12.34", String(repeating: "长", count: 300),
        ]
        if chance(20) {
            let scalars = (0..<Int.random(in: 0...24, using: &random)).map { _ -> Character in
                let value = UInt32.random(in: 1...0x2ffff, using: &random)
                guard let scalar = Unicode.Scalar(value), !(0xd800...0xdfff).contains(value) else { return "x" }
                return Character(scalar)
            }
            return String(scalars)
        }
        return pick(pieces)
    }

    private mutating func single(_ type: FieldType, typeName: String, depth: Int) -> O2OJSONValue {
        switch type {
        case .double:
            return .number(
                pick([
                    "0", "1", "-1.25", "3.141592653589793", "1e-07", "1.7976931348623157e+308", "123456789.125",
                    "-2.5e-300",
                ])
            )
        case .float:
            return .number(pick(["0", "0.5", "-2.25", "1024", "1e+38", "-3.4e+38", "1.5e-10"]))
        case .int64, .sint64, .sfixed64:
            let value = pick([0, 1, -1, Int64.max, Int64.min, Int64.random(in: Int64.min...Int64.max, using: &random)])
            return chance(70) ? .string(String(value)) : .number(String(value))
        case .uint64, .fixed64:
            let value = pick([0, 1, UInt64.max, UInt64.random(in: 0...UInt64.max, using: &random)])
            return chance(70) ? .string(String(value)) : .number(String(value))
        case .int32, .sint32, .sfixed32:
            return .number(
                String(pick([0, 1, -1, Int32.max, Int32.min, Int32.random(in: Int32.min...Int32.max, using: &random)]))
            )
        case .uint32, .fixed32:
            return .number(String(pick([0, 1, UInt32.max, UInt32.random(in: 0...UInt32.max, using: &random)])))
        case .bool:
            return .bool(chance(50))
        case .string:
            return .string(randomString())
        case .bytes:
            let count = pick([0, 1, 2, 3, 64, chance(10) ? 5000 : 17])
            var writer = O2OJSONWriter()
            writer.bytes((0..<count).map { _ in UInt8.random(in: 0...255, using: &random) })
            return try! O2OJSONValue(parsing: writer.bytes)
        case .enum:
            let values = AllTypes.enumSchema(typeName).values
            if chance(10) { return .number(String(pick([99, 12345]))) }  // a number this schema does not know
            return .string(pick(values).name)
        case .message:
            return message(typeName, depth: depth + 1)
        default:
            fatalError("unexpected field type \(type)")
        }
    }
}
