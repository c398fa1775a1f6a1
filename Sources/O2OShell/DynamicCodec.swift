public import O2OMessages

/// Protobuf encoding and proto3 JSON for messages known only by their reflected
/// schema: what lets the shell call methods it was not built with.
public struct DynamicCodec: Sendable {
    public let schema: ShellSchema

    public init(schema: ShellSchema) {
        self.schema = schema
    }

    // MARK: - JSON → protobuf

    /// Encodes a JSON object as the message `type`. Errors name the field path and the
    /// reason ("lines[0].quantity: \"x\" is not an integer").
    public func encode(_ json: O2OJSONValue, as type: String) throws -> [UInt8] {
        var output: [UInt8] = []
        try encodeMessage(json, type: type, path: "", into: &output, depth: 0)
        return output
    }

    private func message(_ type: String, path: String) throws -> MessageSchema {
        guard let message = schema.message(type) else {
            throw O2OJSONError(path: path, reason: "the server's schema has no message \(type)")
        }
        return message
    }

    private func encodeMessage(
        _ json: O2OJSONValue,
        type: String,
        path: String,
        into output: inout [UInt8],
        depth: Int
    ) throws {
        guard depth < 64 else { throw O2OJSONError(path: path, reason: "nested too deeply") }
        let message = try message(type, path: path)
        guard case .object(let members) = json else {
            if json.isNull { return }
            throw O2OJSONError(path: path, reason: "expected an object for \(type), got \(json.kindDescription)")
        }
        var oneofs: [String: String] = [:]
        for member in members {
            let fieldPath = _o2oJSONPath(path, member.key)
            guard let field = message.fields.first(where: { $0.jsonName == member.key || $0.name == member.key }) else {
                let known = message.fields.map(\.jsonName)
                throw O2OJSONError(
                    path: fieldPath,
                    reason: "unknown field \"\(member.key)\" in \(type)"
                        + (known.isEmpty ? " (it has no fields)" : " (fields: \(known.joined(separator: ", ")))")
                )
            }
            if member.value.isNull { continue }
            if !field.oneof.isEmpty, !field.oneof.hasPrefix("_") {
                if let other = oneofs[field.oneof] {
                    throw O2OJSONError(
                        path: fieldPath,
                        reason: "\(other) and \(field.jsonName) belong to the same oneof '\(field.oneof)'; set one"
                    )
                }
                oneofs[field.oneof] = field.jsonName
            }
            try encodeField(field, member.value, path: fieldPath, into: &output, depth: depth)
        }
    }

    private func encodeField(
        _ field: FieldSchema,
        _ value: O2OJSONValue,
        path: String,
        into output: inout [UInt8],
        depth: Int
    ) throws {
        let number = field.number
        if field.map {
            guard case .object(let entries) = value else {
                throw O2OJSONError(path: path, reason: "expected an object (a map), got \(value.kindDescription)")
            }
            for entry in entries {
                let entryPath = "\(path)[\"\(entry.key)\"]"
                var body: [UInt8] = []
                try encodeMapKey(entry.key, type: field.keyType, path: entryPath, into: &body)
                try encodeSingle(
                    field,
                    entry.value,
                    number: 2,
                    path: entryPath,
                    into: &body,
                    depth: depth,
                    always: true
                )
                ProtoWire.tag(number, 2, into: &output)
                ProtoWire.varint(UInt64(body.count), into: &output)
                output += body
            }
            return
        }
        if field.repeated {
            guard case .array(let elements) = value else {
                throw O2OJSONError(path: path, reason: "expected an array, got \(value.kindDescription)")
            }
            if ProtoWire.isPackable(field.type) {
                var body: [UInt8] = []
                for (index, element) in elements.enumerated() {
                    try encodeScalar(field, element, path: "\(path)[\(index)]", into: &body)
                }
                if !body.isEmpty {
                    ProtoWire.tag(number, 2, into: &output)
                    ProtoWire.varint(UInt64(body.count), into: &output)
                    output += body
                }
            } else {
                for (index, element) in elements.enumerated() {
                    guard !element.isNull else {
                        throw O2OJSONError(path: "\(path)[\(index)]", reason: "null is not allowed in a list")
                    }
                    try encodeSingle(
                        field,
                        element,
                        number: number,
                        path: "\(path)[\(index)]",
                        into: &output,
                        depth: depth,
                        always: true
                    )
                }
            }
            return
        }
        try encodeSingle(
            field,
            value,
            number: number,
            path: path,
            into: &output,
            depth: depth,
            always: field.hasPresence
        )
    }

    /// One value with its tag. Proto3 leaves out scalars equal to their default unless
    /// the field tracks presence (`always`).
    private func encodeSingle(
        _ field: FieldSchema,
        _ value: O2OJSONValue,
        number: UInt32,
        path: String,
        into output: inout [UInt8],
        depth: Int,
        always: Bool
    ) throws {
        switch field.type {
        case .message:
            var body: [UInt8] = []
            try encodeMessage(value, type: field.typeName, path: path, into: &body, depth: depth + 1)
            ProtoWire.tag(number, 2, into: &output)
            ProtoWire.varint(UInt64(body.count), into: &output)
            output += body
        case .string:
            guard case .string(let text) = value else {
                throw O2OJSONError(path: path, reason: "expected a string, got \(value.kindDescription)")
            }
            if text.isEmpty, !always { return }
            ProtoWire.tag(number, 2, into: &output)
            ProtoWire.varint(UInt64(text.utf8.count), into: &output)
            output += Array(text.utf8)
        case .bytes:
            let bytes = try value.bytes(at: path)
            if bytes.isEmpty, !always { return }
            ProtoWire.tag(number, 2, into: &output)
            ProtoWire.varint(UInt64(bytes.count), into: &output)
            output += bytes
        default:
            var body: [UInt8] = []
            try encodeScalar(field, value, path: path, into: &body)
            if !always, body.allSatisfy({ $0 == 0 }) { return }  // the default (0, false, 0.0, first enum value)
            ProtoWire.tag(number, ProtoWire.wireType(field.type), into: &output)
            output += body
        }
    }

    /// A numeric, boolean or enum value without its tag.
    private func encodeScalar(
        _ field: FieldSchema,
        _ value: O2OJSONValue,
        path: String,
        into output: inout [UInt8]
    ) throws {
        switch field.type {
        case .double: ProtoWire.fixed64(try value.double(at: path).bitPattern, into: &output)
        case .float: ProtoWire.fixed32(try value.float(at: path).bitPattern, into: &output)
        case .int64: ProtoWire.varint(UInt64(bitPattern: try value.integer(Int64.self, at: path)), into: &output)
        case .uint64: ProtoWire.varint(try value.integer(UInt64.self, at: path), into: &output)
        case .int32: ProtoWire.varint(UInt64(bitPattern: Int64(try value.integer(Int32.self, at: path))), into: &output)
        case .uint32: ProtoWire.varint(UInt64(try value.integer(UInt32.self, at: path)), into: &output)
        case .fixed64: ProtoWire.fixed64(try value.integer(UInt64.self, at: path), into: &output)
        case .fixed32: ProtoWire.fixed32(try value.integer(UInt32.self, at: path), into: &output)
        case .sfixed64: ProtoWire.fixed64(UInt64(bitPattern: try value.integer(Int64.self, at: path)), into: &output)
        case .sfixed32: ProtoWire.fixed32(UInt32(bitPattern: try value.integer(Int32.self, at: path)), into: &output)
        case .sint64: ProtoWire.varint(ProtoWire.zigzag(try value.integer(Int64.self, at: path)), into: &output)
        case .sint32: ProtoWire.varint(ProtoWire.zigzag(Int64(try value.integer(Int32.self, at: path))), into: &output)
        case .bool:
            guard case .bool(let flag) = value else {
                throw O2OJSONError(path: path, reason: "expected true or false, got \(value.kindDescription)")
            }
            ProtoWire.varint(flag ? 1 : 0, into: &output)
        case .enum:
            ProtoWire.varint(
                UInt64(bitPattern: Int64(try enumNumber(value, type: field.typeName, path: path))),
                into: &output
            )
        default:
            throw O2OJSONError(
                path: path,
                reason: "field type \(field.type.protoValueName ?? "?") cannot be written here"
            )
        }
    }

    private func enumNumber(_ value: O2OJSONValue, type: String, path: String) throws -> Int32 {
        switch value {
        case .string(let name):
            guard let enumeration = schema.enumeration(type) else {
                throw O2OJSONError(path: path, reason: "the server's schema has no enum \(type)")
            }
            if let match = enumeration.values.first(where: { $0.name == name }) { return match.number }
            // Short forms: "ON_SHELF" for PRODUCT_STATUS_ON_SHELF, in any case.
            let upper = name.uppercased()
            if let match = enumeration.values.first(where: { $0.name.hasSuffix("_" + upper) }) { return match.number }
            let names = enumeration.values.map(\.name)
            throw O2OJSONError(
                path: path,
                reason: "\"\(name)\" is not a value of \(type) (\(names.joined(separator: ", ")))"
            )
        case .number:
            return try value.integer(Int32.self, at: path)
        default:
            throw O2OJSONError(path: path, reason: "expected an enum name or number, got \(value.kindDescription)")
        }
    }

    private func encodeMapKey(_ key: String, type: FieldType, path: String, into output: inout [UInt8]) throws {
        let field = FieldSchema(name: "key", jsonName: "key", number: 1, type: type)
        if type == .string {
            ProtoWire.tag(1, 2, into: &output)
            ProtoWire.varint(UInt64(key.utf8.count), into: &output)
            output += Array(key.utf8)
        } else if type == .bool {
            guard key == "true" || key == "false" else {
                throw O2OJSONError(path: path, reason: "a map key of type bool must be true or false")
            }
            ProtoWire.tag(1, 0, into: &output)
            ProtoWire.varint(key == "true" ? 1 : 0, into: &output)
        } else {
            ProtoWire.tag(1, ProtoWire.wireType(type), into: &output)
            try encodeScalar(field, .string(key), path: path, into: &output)
        }
    }

    // MARK: - protobuf → JSON

    /// Decodes a message of `type` into proto3 JSON (fields in schema order, unset
    /// fields left out, 64-bit integers as strings, enums by name, bytes in base64).
    public func decode(_ bytes: some Collection<UInt8>, as type: String) throws -> O2OJSONValue {
        var reader = ProtoWireReader(Array(bytes))
        return try decodeMessage(&reader, end: reader.bytes.count, type: type, path: "", depth: 0)
    }

    private func decodeMessage(
        _ reader: inout ProtoWireReader,
        end: Int,
        type: String,
        path: String,
        depth: Int
    ) throws -> O2OJSONValue {
        guard depth < 64 else { throw O2OJSONError(path: path, reason: "nested too deeply") }
        let message = try message(type, path: path)
        var values: [UInt32: O2OJSONValue] = [:]
        var lists: [UInt32: [O2OJSONValue]] = [:]
        var maps: [UInt32: [O2OJSONValue.Member]] = [:]
        while reader.offset < end {
            let (number, wireType) = try reader.tag(path: path)
            guard let field = message.fields.first(where: { $0.number == number }) else {
                try reader.skip(wireType, path: path)
                continue
            }
            let fieldPath = _o2oJSONPath(path, field.jsonName)
            if field.map {
                let length = try reader.length(path: fieldPath)
                let entryEnd = reader.offset + length
                // An entry may leave out a default key, as it may a default value.
                var key = field.keyType == .string ? "" : field.keyType == .bool ? "false" : "0"
                var value: O2OJSONValue?
                while reader.offset < entryEnd {
                    let (entryNumber, entryWire) = try reader.tag(path: fieldPath)
                    if entryNumber == 1 {
                        let keyField = FieldSchema(name: "key", jsonName: "key", number: 1, type: field.keyType)
                        switch try decodeSingle(keyField, wireType: entryWire, &reader, path: fieldPath, depth: depth) {
                        case .string(let text), .number(let text): key = text
                        case .bool(let flag): key = flag ? "true" : "false"
                        default: break
                        }
                    } else if entryNumber == 2 {
                        value = try decodeSingle(field, wireType: entryWire, &reader, path: fieldPath, depth: depth)
                    } else {
                        try reader.skip(entryWire, path: fieldPath)
                    }
                }
                maps[number, default: []].append(.init(key: key, value: value ?? defaultValue(field)))
            } else if field.repeated {
                if wireType == 2, ProtoWire.isPackable(field.type) {
                    let length = try reader.length(path: fieldPath)
                    let packedEnd = reader.offset + length
                    while reader.offset < packedEnd {
                        lists[number, default: []].append(
                            try decodeSingle(
                                field,
                                wireType: ProtoWire.wireType(field.type),
                                &reader,
                                path: fieldPath,
                                depth: depth
                            )
                        )
                    }
                } else {
                    lists[number, default: []].append(
                        try decodeSingle(field, wireType: wireType, &reader, path: fieldPath, depth: depth)
                    )
                }
            } else {
                values[number] = try decodeSingle(field, wireType: wireType, &reader, path: fieldPath, depth: depth)
                if !field.oneof.isEmpty, !field.oneof.hasPrefix("_") {
                    // Two members of a oneof on the wire: the last one wins, as in
                    // protobuf-c; JSON with both would be refused when sent back.
                    for other in message.fields where other.oneof == field.oneof && other.number != number {
                        values[other.number] = nil
                    }
                }
            }
        }
        var members: [O2OJSONValue.Member] = []
        for field in message.fields {
            if let list = lists[field.number] {
                members.append(.init(key: field.jsonName, value: .array(list)))
            } else if let entries = maps[field.number] {
                members.append(.init(key: field.jsonName, value: .object(entries)))
            } else if let value = values[field.number] {
                if !field.hasPresence, isDefault(value, of: field) { continue }
                members.append(.init(key: field.jsonName, value: value))
            }
        }
        return .object(members)
    }

    private func defaultValue(_ field: FieldSchema) -> O2OJSONValue {
        switch field.type {
        case .message: return .object([])
        case .string, .bytes: return .string("")
        case .bool: return .bool(false)
        case .enum: return .string(schema.enumeration(field.typeName)?.values.first?.name ?? "0")
        case .int64, .uint64, .fixed64, .sfixed64, .sint64: return .string("0")
        default: return .number("0")
        }
    }

    /// Whether a decoded scalar is its type's default, which proto3 JSON leaves out.
    private func isDefault(_ value: O2OJSONValue, of field: FieldSchema) -> Bool {
        switch (field.type, value) {
        case (.message, _): return false
        case (.string, .string(let text)), (.bytes, .string(let text)): return text.isEmpty
        case (.enum, .string(let name)):
            return schema.enumeration(field.typeName)?.values.first(where: { $0.number == 0 })?.name == name
        case (_, .string(let text)), (_, .number(let text)): return text == "0"
        case (_, .bool(let flag)): return !flag
        default: return false
        }
    }

    private func decodeSingle(
        _ field: FieldSchema,
        wireType: UInt8,
        _ reader: inout ProtoWireReader,
        path: String,
        depth: Int
    ) throws -> O2OJSONValue {
        guard wireType == ProtoWire.wireType(field.type) else {
            throw O2OJSONError(
                path: path,
                reason: "wire type \(wireType) does not fit a field of type \(field.type.protoValueName ?? "?")"
            )
        }
        switch field.type {
        case .message:
            let length = try reader.length(path: path)
            return try decodeMessage(
                &reader,
                end: reader.offset + length,
                type: field.typeName,
                path: path,
                depth: depth + 1
            )
        case .string:
            let bytes = try reader.lengthDelimited(path: path)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw O2OJSONError(path: path, reason: "string is not valid UTF-8")
            }
            return .string(text)
        case .bytes:
            var text: [UInt8] = []
            Base64.encode(try reader.lengthDelimited(path: path), into: &text)
            return .string(String(decoding: text, as: UTF8.self))
        case .double: return Self.json(Double(bitPattern: try reader.fixed64(path: path)))
        case .float: return Self.json(Double(Float(bitPattern: try reader.fixed32(path: path))))
        case .int64: return .string(String(Int64(bitPattern: try reader.varint(path: path))))
        case .uint64: return .string(String(try reader.varint(path: path)))
        case .int32: return .number(String(Int32(truncatingIfNeeded: Int64(bitPattern: try reader.varint(path: path)))))
        case .uint32: return .number(String(UInt32(truncatingIfNeeded: try reader.varint(path: path))))
        case .fixed64: return .string(String(try reader.fixed64(path: path)))
        case .fixed32: return .number(String(try reader.fixed32(path: path)))
        case .sfixed64: return .string(String(Int64(bitPattern: try reader.fixed64(path: path))))
        case .sfixed32: return .number(String(Int32(bitPattern: try reader.fixed32(path: path))))
        case .sint64: return .string(String(ProtoWire.unzigzag(try reader.varint(path: path))))
        case .sint32:
            return .number(String(Int32(truncatingIfNeeded: ProtoWire.unzigzag(try reader.varint(path: path)))))
        case .bool: return .bool(try reader.varint(path: path) != 0)
        case .enum:
            let number = Int32(truncatingIfNeeded: Int64(bitPattern: try reader.varint(path: path)))
            if let name = schema.enumeration(field.typeName)?.values.first(where: { $0.number == number })?.name {
                return .string(name)
            }
            return .number(String(number))
        default:
            throw O2OJSONError(path: path, reason: "field type \(field.type.protoValueName ?? "?") cannot be read")
        }
    }

    private static func json(_ value: Double) -> O2OJSONValue {
        if value.isNaN { return .string("NaN") }
        if value.isInfinite { return .string(value > 0 ? "Infinity" : "-Infinity") }
        if value == value.rounded(), abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number("\(value)")
    }
}
