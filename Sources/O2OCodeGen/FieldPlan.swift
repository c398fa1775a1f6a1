/// How one field of a message is represented, decided once and used by every part of
/// the generated code (struct, C bridge, JSON, schema).
struct FieldPlan {
    enum Mode {
        /// A proto3 scalar or enum without presence: the default is "unset".
        case plain
        /// A field with explicit presence through a single-field oneof (`oneof _x`):
        /// a Swift optional. `caseMember` is the C member holding the oneof case.
        case optional(caseMember: String)
        /// A singular message field: a Swift optional.
        case message
        /// A list.
        case repeated
        /// A map; `entry` is the synthetic entry message.
        case map(key: ValueType, entry: TypeIndex.Entry)
        /// A member of a real oneof.
        case oneofMember(OneofPlan.ID)
    }

    let field: ProtoField
    /// The Swift property name, or the case name for a oneof member (unescaped).
    let swiftName: String
    /// The C struct member.
    let cName: String
    /// The value type (the element type of a list, the value type of a map).
    let value: ValueType
    let mode: Mode

    /// The Swift type of the property (not meaningful for oneof members).
    var swiftPropertyType: String {
        switch mode {
        case .plain: value.swiftType
        case .optional, .message: value.swiftType + "?"
        case .repeated: "[\(value.swiftType)]"
        case .map(let key, _): "[\(key.swiftType): \(value.swiftType)]"
        case .oneofMember: value.swiftType
        }
    }

    var swiftPropertyDefault: String {
        switch mode {
        case .plain: value.defaultValue
        case .optional, .message, .oneofMember: "nil"
        case .repeated: "[]"
        case .map: "[:]"
        }
    }
}

/// A real oneof: a Swift enum with one case per member, held in an optional property.
struct OneofPlan {
    typealias ID = Int
    let id: ID
    let name: String
    let doc: String
    /// The Swift property ("target").
    let propertyName: String
    /// The Swift enum type ("Target").
    let typeName: String
    /// The C member holding the case ("target_case").
    let cCaseMember: String
    var members: [FieldPlan]
}

/// The plan for a message: its fields, in declaration order, and its oneofs.
struct MessagePlan {
    let message: ProtoMessage
    let entry: TypeIndex.Entry
    /// Every field, in declaration order.
    let fields: [FieldPlan]
    /// Real oneofs, in declaration order of their first member.
    let oneofs: [OneofPlan]

    /// Fields that are Swift stored properties of their own (not oneof members).
    var propertyFields: [FieldPlan] {
        fields.filter {
            if case .oneofMember = $0.mode { return false }
            return true
        }
    }

    init(_ message: ProtoMessage, index: TypeIndex) throws {
        self.message = message
        self.entry = index[message.fullName]
        let context = "\(message.fullName)"
        for oneof in message.oneofs where !Naming.isLowerSnake(oneof.name) {
            throw GeneratorError("\(context): oneof '\(oneof.name)' must be lower_snake_case")
        }
        var oneofPlans: [Int: OneofPlan] = [:]
        var oneofOrder: [Int] = []
        var fields: [FieldPlan] = []
        let nestedNames = Set(message.messages.map(\.name) + message.enums.map(\.name))
        for field in message.fields {
            guard Naming.isLowerSnake(field.name), !field.name.hasPrefix("_") else {
                throw GeneratorError("\(context): field '\(field.name)' must be lower_snake_case")
            }
            if field.label == .required {
                throw GeneratorError("\(context): field '\(field.name)' is `required`; only proto3 is supported")
            }
            let swiftName = Self.propertyName(for: field.name)
            let cName = Naming.cFieldName(field.name)
            if field.label == .repeated, field.type == .message, index[field.typeName].isMapEntry {
                let entryMessage = index[field.typeName].message!
                guard let keyField = entryMessage.fields.first(where: { $0.number == 1 }),
                    let valueField = entryMessage.fields.first(where: { $0.number == 2 })
                else { throw GeneratorError("\(context): malformed map entry for '\(field.name)'") }
                fields.append(
                    FieldPlan(
                        field: field,
                        swiftName: swiftName,
                        cName: cName,
                        value: try ValueType(valueField, index: index),
                        mode: .map(key: try ValueType(keyField, index: index), entry: index[field.typeName])
                    )
                )
                continue
            }
            let value = try ValueType(field, index: index)
            if field.label == .repeated {
                fields.append(
                    FieldPlan(field: field, swiftName: swiftName, cName: cName, value: value, mode: .repeated)
                )
                continue
            }
            if let oneofIndex = field.oneofIndex {
                let oneof = message.oneofs[oneofIndex]
                let members = message.fields.filter { $0.oneofIndex == oneofIndex }
                let synthetic = field.proto3Optional || (oneof.name == "_" + field.name && members.count == 1)
                if synthetic {
                    // `// doc` usually sits on the `oneof _x {` line: it documents the field.
                    var field = field
                    if field.doc.isEmpty { field.doc = oneof.doc }
                    fields.append(
                        FieldPlan(
                            field: field,
                            swiftName: swiftName,
                            cName: cName,
                            value: value,
                            mode: .optional(caseMember: Naming.cOneofCaseName(oneof.name))
                        )
                    )
                    continue
                }
                if oneof.name.hasPrefix("_") {
                    throw GeneratorError(
                        "\(context): oneof '\(oneof.name)' starts with '_' but is not the presence marker of "
                            + "field '\(oneof.name.dropFirst())' alone"
                    )
                }
                if oneofPlans[oneofIndex] == nil {
                    var typeName = Naming.upperCamel(oneof.name)
                    if nestedNames.contains(typeName) { typeName += "Oneof" }
                    oneofPlans[oneofIndex] = OneofPlan(
                        id: oneofIndex,
                        name: oneof.name,
                        doc: oneof.doc,
                        propertyName: Self.propertyName(for: oneof.name),
                        typeName: typeName,
                        cCaseMember: Naming.cOneofCaseName(oneof.name),
                        members: []
                    )
                    oneofOrder.append(oneofIndex)
                }
                let member = FieldPlan(
                    field: field,
                    swiftName: Naming.lowerCamel(field.name),
                    cName: cName,
                    value: value,
                    mode: .oneofMember(oneofIndex)
                )
                oneofPlans[oneofIndex]!.members.append(member)
                fields.append(member)
                continue
            }
            fields.append(
                FieldPlan(
                    field: field,
                    swiftName: swiftName,
                    cName: cName,
                    value: value,
                    mode: value.isMessage ? .message : .plain
                )
            )
        }
        self.fields = fields
        self.oneofs = oneofOrder.map { oneofPlans[$0]! }
        var seen: [String: String] = [:]
        for name in propertyFields.map(\.swiftName) + oneofs.map(\.propertyName) {
            if let other = seen[name] {
                throw GeneratorError(
                    "\(context): '\(other)' and another field both become the Swift property '\(name)'"
                )
            }
            seen[name] = name
        }
    }

    /// Members the generated types already have; a field with one of these names gets
    /// a `Field` suffix.
    private static let reservedMembers: Set<String> = [
        "hashValue", "protoName", "serializedBytes", "jsonString", "jsonUTF8", "debugDescription",
    ]

    static func propertyName(for fieldName: String) -> String {
        let name = Naming.lowerCamel(fieldName)
        return reservedMembers.contains(name) ? name + "Field" : name
    }
}
