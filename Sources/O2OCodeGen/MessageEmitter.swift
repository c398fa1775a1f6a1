/// Emits one message: the Swift struct, its protobuf-c bridge, its JSON mapping and
/// its reflection schema.
struct MessageEmitter {
    let plan: MessagePlan
    let index: TypeIndex

    private var swiftName: String { plan.entry.swiftName }
    private var cType: String { plan.entry.cTypeName }

    func emit(into w: inout CodeWriter) {
        let parts = swiftName.split(separator: ".")
        if parts.count > 1 {
            w.block("extension \(parts.dropLast().joined(separator: "."))") { w in emitStruct(into: &w) }
        } else {
            emitStruct(into: &w)
        }
        w.line()
        emitBridge(into: &w)
        w.line()
        emitJSON(into: &w)
        w.line()
        emitSchemaExtension(into: &w)
    }

    // MARK: - The struct

    private func emitStruct(into w: inout CodeWriter) {
        let message = plan.message
        w.doc(message.doc)
        let localName = String(swiftName.split(separator: ".").last!)
        w.block("public struct \(localName): O2OMessage") { w in
            w.line("/// The full protobuf name.")
            w.line("public static let protoName = \(swiftStringLiteral(message.fullName))")
            for field in plan.fields {
                switch field.mode {
                case .oneofMember(let id):
                    // Declared once, at its oneof's first member.
                    let oneof = plan.oneofs.first { $0.id == id }!
                    guard oneof.members.first?.field.number == field.field.number else { continue }
                    w.line()
                    w.doc(oneof.doc.isEmpty ? "Which of \(oneof.typeName)'s fields is set, if any." : oneof.doc)
                    w.line("public var \(Naming.escaped(oneof.propertyName)): \(oneof.typeName)? = nil")
                default:
                    w.line()
                    w.doc(field.field.doc)
                    w.line(
                        "public var \(Naming.escaped(field.swiftName)): \(field.swiftPropertyType) = \(field.swiftPropertyDefault)"
                    )
                }
            }
            for oneof in plan.oneofs {
                w.line()
                w.doc(oneof.doc.isEmpty ? "The fields of oneof `\(oneof.name)`." : oneof.doc)
                w.block("public enum \(oneof.typeName): Sendable, Hashable") { w in
                    for member in oneof.members {
                        w.doc(member.field.doc)
                        w.line("case \(Naming.escaped(member.swiftName))(\(member.value.swiftType))")
                    }
                }
            }
            w.line()
            w.line("/// A message with every field at its default.")
            w.line("public init() {}")
            emitMemberwiseInit(into: &w)
        }
    }

    private func emitMemberwiseInit(into w: inout CodeWriter) {
        var parameters: [(label: String, type: String, defaultValue: String)] = []
        var emittedOneofs = Set<Int>()
        for field in plan.fields {
            if case .oneofMember(let id) = field.mode {
                guard emittedOneofs.insert(id).inserted else { continue }
                let oneof = plan.oneofs.first { $0.id == id }!
                parameters.append((oneof.propertyName, oneof.typeName + "?", "nil"))
            } else {
                parameters.append((field.swiftName, field.swiftPropertyType, field.swiftPropertyDefault))
            }
        }
        guard !parameters.isEmpty else { return }
        w.line()
        w.line("/// A message with the given fields; the others at their defaults.")
        w.line("public init(")
        w.indent { w in
            for (offset, parameter) in parameters.enumerated() {
                let comma = offset == parameters.count - 1 ? "" : ","
                w.line("\(Naming.escaped(parameter.label)): \(parameter.type) = \(parameter.defaultValue)\(comma)")
            }
        }
        w.block(")") { w in
            for parameter in parameters {
                let name = Naming.escaped(parameter.label)
                w.line("self.\(name) = \(name)")
            }
        }
    }

    // MARK: - protobuf-c bridge

    private func emitBridge(into w: inout CodeWriter) {
        w.block("extension \(swiftName)") { w in
            w.line("public static var _protobufCDescriptor: UnsafeRawPointer {")
            w.line("    UnsafeRawPointer(\(plan.entry.cDescriptorExpression))")
            w.line("}")
            w.line()
            w.block("public func _writeProtobufC(to message: UnsafeMutableRawPointer, arena: O2OArenaHandle)") { w in
                guard !plan.fields.isEmpty else { return }
                w.line("let c = message.assumingMemoryBound(to: \(cType).self)")
                for field in plan.propertyFields { emitWrite(field, into: &w) }
                for oneof in plan.oneofs { emitWrite(oneof, into: &w) }
            }
            w.line()
            w.block("public init(_protobufC message: UnsafeRawPointer) throws") { w in
                w.line("self.init()")
                guard !plan.fields.isEmpty else { return }
                w.line("let c = message.assumingMemoryBound(to: \(cType).self)")
                for field in plan.propertyFields { emitRead(field, into: &w) }
                for oneof in plan.oneofs { emitRead(oneof, into: &w) }
            }
        }
    }

    private func emitWrite(_ field: FieldPlan, into w: inout CodeWriter) {
        let name = "self." + Naming.escaped(field.swiftName)
        let member = "c.pointee.\(Naming.escaped(field.cName))"
        switch field.mode {
        case .plain:
            switch field.value {
            case .string, .bytes:
                w.line("if \(field.value.isNotDefault(name)) { \(member) = \(field.value.toC(name)) }")
            case .bool:
                w.line("\(member) = \(name) ? 1 : 0")
            default:
                w.line("\(member) = \(field.value.toC(name))")
            }
        case .message:
            w.line("if let value = \(name) { \(member) = \(field.value.toC("value")) }")
        case .optional(let caseMember):
            w.block("if let value = \(name)") { w in
                w.line("c.pointee.\(caseMember) = .init(rawValue: \(field.field.number))")
                w.line("\(member) = \(field.value.toC("value"))")
            }
        case .repeated:
            w.block("if !\(name).isEmpty") { w in
                w.line("c.pointee.n_\(field.cName) = \(name).count")
                switch field.value {
                case .string: w.line("\(member) = arena.stringArray(\(name))")
                case .message(let entry): w.line("\(member) = arena.messageArray(\(name), as: \(entry.cTypeName).self)")
                case .double, .float, .int64, .uint64, .int32, .uint32: w.line("\(member) = arena.scalarArray(\(name))")
                default: w.line("\(member) = arena.array(\(name)) { \(field.value.toC("$0")) }")
                }
            }
        case .map(let key, let entry):
            w.block("if !\(name).isEmpty") { w in
                w.line("c.pointee.n_\(field.cName) = \(name).count")
                let sort = if case .bool = key { "{ !$0.key && $1.key }" } else { "{ $0.key < $1.key }" }
                w.line(
                    "\(member) = arena.mapEntries(\(name).sorted(by: \(sort)), as: \(entry.cTypeName).self, "
                        + "descriptor: \(entry.cDescriptorExpression)) { entry, key, value in"
                )
                w.indent { w in
                    w.line("entry.pointee.key = \(key.toC("key"))")
                    w.line("entry.pointee.value = \(field.value.toC("value"))")
                }
                w.line("}")
            }
        case .oneofMember:
            preconditionFailure("oneof members are written with their oneof")
        }
    }

    private func emitWrite(_ oneof: OneofPlan, into w: inout CodeWriter) {
        w.switchBlock("switch self.\(Naming.escaped(oneof.propertyName))") { w in
            for member in oneof.members {
                w.line("case .\(Naming.escaped(member.swiftName))(let value)?:")
                w.indent { w in
                    w.line("c.pointee.\(oneof.cCaseMember) = .init(rawValue: \(member.field.number))")
                    let value = if case .bool = member.value { "value ? 1 : 0" } else { member.value.toC("value") }
                    w.line("c.pointee.\(Naming.escaped(member.cName)) = \(value)")
                }
            }
            w.line("case nil:")
            w.line("    break")
        }
    }

    private func emitRead(_ field: FieldPlan, into w: inout CodeWriter) {
        let name = "self." + Naming.escaped(field.swiftName)
        let member = "c.pointee.\(Naming.escaped(field.cName))"
        let protoName = field.field.name
        switch field.mode {
        case .plain:
            w.line("\(name) = \(field.value.fromC(member, field: protoName))")
        case .message:
            w.block("if let value = \(member)") { w in
                w.line(
                    "\(name) = try _o2oNested(\(swiftStringLiteral(protoName))) { \(field.value.fromC("value", field: protoName)) }"
                )
            }
        case .optional(let caseMember):
            w.block("if c.pointee.\(caseMember).rawValue == \(field.field.number)") { w in
                if field.value.isMessage {
                    w.line(
                        "guard let value = \(member) else { throw O2ODecodingError.missingValue(field: \(swiftStringLiteral(protoName))) }"
                    )
                    w.line(
                        "\(name) = try _o2oNested(\(swiftStringLiteral(protoName))) { \(field.value.fromC("value", field: protoName)) }"
                    )
                } else {
                    w.line("\(name) = \(field.value.fromC(member, field: protoName))")
                }
            }
        case .repeated:
            let element: String
            switch field.value {
            case .message: element = field.value.fromC("$0!", field: protoName)
            default: element = field.value.fromC("$0", field: protoName)
            }
            w.line(
                "\(name) = try _o2oArray(\(member), c.pointee.n_\(field.cName), field: \(swiftStringLiteral(protoName))) { \(element) }"
            )
        case .map(let key, _):
            let value =
                field.value.isMessage
                ? "try $0.pointee.value.map { \(field.value.fromC("$0", field: "value")) } ?? \(field.value.defaultValue)"
                : field.value.fromC("$0.pointee.value", field: "value")
            w.line(
                "\(name) = try _o2oMap(\(member), c.pointee.n_\(field.cName), field: \(swiftStringLiteral(protoName))) {"
            )
            w.indent { w in
                w.line("(\(key.fromC("$0.pointee.key", field: "key")), \(value))")
            }
            w.line("}")
        case .oneofMember:
            preconditionFailure("oneof members are read with their oneof")
        }
    }

    private func emitRead(_ oneof: OneofPlan, into w: inout CodeWriter) {
        w.switchBlock("switch c.pointee.\(oneof.cCaseMember).rawValue") { w in
            for member in oneof.members {
                let protoName = member.field.name
                w.line("case \(member.field.number):")
                w.indent { w in
                    let memberExpression = "c.pointee.\(Naming.escaped(member.cName))"
                    if member.value.isMessage {
                        w.line(
                            "guard let value = \(memberExpression) else { throw O2ODecodingError.missingValue(field: \(swiftStringLiteral(protoName))) }"
                        )
                        w.line(
                            "self.\(Naming.escaped(oneof.propertyName)) = .\(Naming.escaped(member.swiftName))(try _o2oNested(\(swiftStringLiteral(protoName))) { \(member.value.fromC("value", field: protoName)) })"
                        )
                    } else {
                        w.line(
                            "self.\(Naming.escaped(oneof.propertyName)) = .\(Naming.escaped(member.swiftName))(\(member.value.fromC(memberExpression, field: protoName)))"
                        )
                    }
                }
            }
            w.line("default:")
            w.line("    break")
        }
    }

    // MARK: - JSON

    private func emitJSON(into w: inout CodeWriter) {
        w.block("extension \(swiftName)") { w in
            w.block("public func _writeJSON(to writer: inout O2OJSONWriter)") { w in
                w.line("writer.beginObject()")
                for field in plan.fields { emitJSONWrite(field, into: &w) }
                w.line("writer.endObject()")
            }
            w.line()
            w.block("public init(_json json: O2OJSONValue, path: String) throws") { w in
                w.line("self.init()")
                let value = plan.fields.isEmpty ? "_" : "value"
                w.block("for (key, \(value)) in try json.objectMembers(at: path)") { w in
                    w.switchBlock("switch key") { w in
                        for field in plan.fields { emitJSONRead(field, into: &w) }
                        w.line("default:")
                        w.line("    throw O2OJSONError.unknownField(key, path: path, type: Self.protoName)")
                    }
                }
            }
        }
    }

    private func emitJSONWrite(_ field: FieldPlan, into w: inout CodeWriter) {
        let name = "self." + Naming.escaped(field.swiftName)
        let key = "writer.key(\(swiftStringLiteral(field.field.jsonName)))"
        switch field.mode {
        case .plain:
            w.line("if \(field.value.isNotDefault(name)) { \(key); \(field.value.writeJSON(name)) }")
        case .message, .optional:
            w.line("if let value = \(name) { \(key); \(field.value.writeJSON("value")) }")
        case .repeated:
            w.block("if !\(name).isEmpty") { w in
                w.line(key)
                w.line("writer.beginArray()")
                w.line("for element in \(name) { writer.arrayElement(); \(field.value.writeJSON("element")) }")
                w.line("writer.endArray()")
            }
        case .map(let keyType, _):
            w.block("if !\(name).isEmpty") { w in
                w.line(key)
                w.line("writer.beginObject()")
                let sort = if case .bool = keyType { "{ !$0.key && $1.key }" } else { "{ $0.key < $1.key }" }
                w.block("for (mapKey, value) in \(name).sorted(by: \(sort))") { w in
                    w.line("writer.key(String(mapKey))")
                    w.line(field.value.writeJSON("value"))
                }
                w.line("writer.endObject()")
            }
        case .oneofMember(let id):
            let oneof = plan.oneofs.first { $0.id == id }!
            w.line(
                "if case .\(Naming.escaped(field.swiftName))(let value)? = self.\(Naming.escaped(oneof.propertyName)) "
                    + "{ \(key); \(field.value.writeJSON("value")) }"
            )
        }
    }

    private func emitJSONRead(_ field: FieldPlan, into w: inout CodeWriter) {
        let names =
            field.field.jsonName == field.field.name
            ? swiftStringLiteral(field.field.name)
            : "\(swiftStringLiteral(field.field.jsonName)), \(swiftStringLiteral(field.field.name))"
        let name = "self." + Naming.escaped(field.swiftName)
        let path = "_o2oJSONPath(path, key)"
        w.line("case \(names):")
        w.indent { w in
            switch field.mode {
            case .plain:
                w.line(
                    "\(name) = value.isNull ? \(field.value.defaultValue) : \(field.value.readJSON("value", path: path))"
                )
            case .message, .optional:
                w.line("\(name) = value.isNull ? nil : \(field.value.readJSON("value", path: path))")
            case .repeated:
                w.line(
                    "\(name) = try value.array(at: \(path)) { element, elementPath in "
                        + "\(field.value.readJSON("element", path: "elementPath")) }"
                )
            case .map(let keyType, _):
                w.line(
                    "\(name) = try value.map(at: \(path)) { mapKey, element, elementPath in "
                        + "(try _o2oJSONMapKey(mapKey, as: \(keyType.swiftType).self, at: elementPath), "
                        + "\(field.value.readJSON("element", path: "elementPath"))) }"
                )
            case .oneofMember(let id):
                let oneof = plan.oneofs.first { $0.id == id }!
                let property = "self." + Naming.escaped(oneof.propertyName)
                w.line("guard !value.isNull else { break }")
                w.line(
                    "if \(property) != nil { throw O2OJSONError.oneofConflict(\(swiftStringLiteral(oneof.name)), "
                        + "path: path) }"
                )
                w.line(
                    "\(property) = .\(Naming.escaped(field.swiftName))(\(field.value.readJSON("value", path: path)))"
                )
            }
        }
    }

    // MARK: - Schema

    private func emitSchemaExtension(into w: inout CodeWriter) {
        w.block("extension \(swiftName): O2ODescribedMessage") { w in
            w.line("/// The message's shape, for reflection.")
            w.line("public static let _messageSchema = MessageSchema(")
            w.indent { w in
                w.line("name: \(swiftStringLiteral(plan.message.fullName)),")
                w.line("doc: \(swiftStringLiteral(plan.message.doc)),")
                if plan.fields.isEmpty {
                    w.line("fields: []")
                } else {
                    w.line("fields: [")
                    w.indent { w in
                        for field in plan.fields { w.line(schemaLiteral(field) + ",") }
                    }
                    w.line("]")
                }
            }
            w.line(")")
        }
    }

    private func schemaLiteral(_ plan: FieldPlan) -> String {
        let field = plan.field
        var arguments = [
            "name: \(swiftStringLiteral(field.name))",
            "jsonName: \(swiftStringLiteral(field.jsonName))",
            "number: \(field.number)",
        ]
        var valueField = field
        switch plan.mode {
        case .map(_, let entry):
            let entryMessage = entry.message!
            let keyField = entryMessage.fields.first { $0.number == 1 }!
            valueField = entryMessage.fields.first { $0.number == 2 }!
            arguments.append("type: \(Self.schemaType(valueField.type))")
            if !valueField.typeName.isEmpty { arguments.append("typeName: \(swiftStringLiteral(valueField.typeName))") }
            arguments.append("map: true")
            arguments.append("keyType: \(Self.schemaType(keyField.type))")
        case .repeated:
            arguments.append("type: \(Self.schemaType(field.type))")
            if !field.typeName.isEmpty { arguments.append("typeName: \(swiftStringLiteral(field.typeName))") }
            arguments.append("repeated: true")
        case .plain:
            arguments.append("type: \(Self.schemaType(field.type))")
            if !field.typeName.isEmpty { arguments.append("typeName: \(swiftStringLiteral(field.typeName))") }
        case .message:
            arguments.append("type: \(Self.schemaType(field.type))")
            arguments.append("typeName: \(swiftStringLiteral(field.typeName))")
            arguments.append("hasPresence: true")
        case .optional:
            arguments.append("type: \(Self.schemaType(field.type))")
            if !field.typeName.isEmpty { arguments.append("typeName: \(swiftStringLiteral(field.typeName))") }
            arguments.append("hasPresence: true")
            arguments.append("oneof: \(swiftStringLiteral("_" + field.name))")
        case .oneofMember(let id):
            arguments.append("type: \(Self.schemaType(field.type))")
            if !field.typeName.isEmpty { arguments.append("typeName: \(swiftStringLiteral(field.typeName))") }
            arguments.append("hasPresence: true")
            arguments.append("oneof: \(swiftStringLiteral(self.plan.oneofs.first { $0.id == id }!.name))")
        }
        if !field.doc.isEmpty { arguments.append("doc: \(swiftStringLiteral(field.doc))") }
        return "FieldSchema(\(arguments.joined(separator: ", ")))"
    }

    static func schemaType(_ type: ProtoFieldType) -> String {
        switch type {
        case .double: ".double"
        case .float: ".float"
        case .int64: ".int64"
        case .uint64: ".uint64"
        case .int32: ".int32"
        case .fixed64: ".fixed64"
        case .fixed32: ".fixed32"
        case .bool: ".bool"
        case .string: ".string"
        case .group: ".unspecified"
        case .message: ".message"
        case .bytes: ".bytes"
        case .uint32: ".uint32"
        case .enumeration: ".`enum`"
        case .sfixed32: ".sfixed32"
        case .sfixed64: ".sfixed64"
        case .sint32: ".sint32"
        case .sint64: ".sint64"
        }
    }
}
