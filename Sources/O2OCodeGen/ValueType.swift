/// The in-memory shape of one field value (a singular field, a list element, a map
/// value), and the code that moves it between Swift, C and JSON.
enum ValueType {
    case double, float, int64, uint64, int32, uint32, bool, string, bytes
    case enumeration(TypeIndex.Entry)
    case message(TypeIndex.Entry)

    init(_ field: ProtoField, index: TypeIndex) throws {
        switch field.type {
        case .double: self = .double
        case .float: self = .float
        case .int64, .sint64, .sfixed64: self = .int64
        case .uint64, .fixed64: self = .uint64
        case .int32, .sint32, .sfixed32: self = .int32
        case .uint32, .fixed32: self = .uint32
        case .bool: self = .bool
        case .string: self = .string
        case .bytes: self = .bytes
        case .enumeration: self = .enumeration(index[field.typeName])
        case .message: self = .message(index[field.typeName])
        case .group: throw GeneratorError("field \(field.name): groups are not supported")
        }
    }

    /// The Swift type.
    var swiftType: String {
        switch self {
        case .double: "Double"
        case .float: "Float"
        case .int64: "Int64"
        case .uint64: "UInt64"
        case .int32: "Int32"
        case .uint32: "UInt32"
        case .bool: "Bool"
        case .string: "String"
        case .bytes: "[UInt8]"
        case .enumeration(let entry), .message(let entry): entry.swiftName
        }
    }

    /// The proto3 default, as a Swift expression.
    var defaultValue: String {
        switch self {
        case .double, .float, .int64, .uint64, .int32, .uint32: "0"
        case .bool: "false"
        case .string: "\"\""
        case .bytes: "[]"
        case .enumeration: ".init(rawValue: 0)"
        case .message(let entry): "\(entry.swiftName)()"
        }
    }

    /// A Swift condition that is true when `value` is not the proto3 default.
    func isNotDefault(_ value: String) -> String {
        switch self {
        case .double, .float, .int64, .uint64, .int32, .uint32: "\(value) != 0"
        case .bool: value
        case .string, .bytes: "!\(value).isEmpty"
        case .enumeration: "\(value).rawValue != 0"
        case .message: "true"
        }
    }

    /// The C value for the Swift value, inside a `_writeProtobufC` body (with `arena`).
    func toC(_ value: String) -> String {
        switch self {
        case .double, .float, .int64, .uint64, .int32, .uint32: value
        case .bool: "protobuf_c_boolean(\(value) ? 1 : 0)"
        case .string: "arena.string(\(value))"
        case .bytes: "arena.bytes(\(value))"
        case .enumeration(let entry): "\(entry.cTypeName)(rawValue: .init(truncatingIfNeeded: \(value).rawValue))"
        case .message(let entry): "arena.message(\(value), as: \(entry.cTypeName).self)"
        }
    }

    /// The Swift value for the C value `value` (a non-nil pointer for messages); may
    /// contain `try`. `field` names the field in errors.
    func fromC(_ value: String, field: String) -> String {
        switch self {
        case .double, .float, .int64, .uint64, .int32, .uint32: value
        case .bool: "\(value) != 0"
        case .string: "try _o2oString(\(value), field: \(swiftStringLiteral(field)))"
        case .bytes: "_o2oBytes(\(value))"
        case .enumeration(let entry): "\(entry.swiftName)(rawValue: Int32(truncatingIfNeeded: \(value).rawValue))"
        case .message(let entry): "try \(entry.swiftName)(_protobufC: \(value))"
        }
    }

    /// A statement writing the value as JSON to `writer`.
    func writeJSON(_ value: String) -> String {
        switch self {
        case .double: "writer.double(\(value))"
        case .float: "writer.float(\(value))"
        case .int32, .uint32: "writer.integer(\(value))"
        case .int64, .uint64: "writer.quotedInteger(\(value))"
        case .bool: "writer.bool(\(value))"
        case .string: "writer.string(\(value))"
        case .bytes: "writer.bytes(\(value))"
        case .enumeration: "writer.enumValue(\(value))"
        case .message: "\(value)._writeJSON(to: &writer)"
        }
    }

    /// An expression decoding JSON value `value` at path expression `path`.
    func readJSON(_ value: String, path: String) -> String {
        switch self {
        case .double: "try \(value).double(at: \(path))"
        case .float: "try \(value).float(at: \(path))"
        case .int32: "try \(value).integer(Int32.self, at: \(path))"
        case .uint32: "try \(value).integer(UInt32.self, at: \(path))"
        case .int64: "try \(value).integer(Int64.self, at: \(path))"
        case .uint64: "try \(value).integer(UInt64.self, at: \(path))"
        case .bool: "try \(value).bool(at: \(path))"
        case .string: "try \(value).string(at: \(path))"
        case .bytes: "try \(value).bytes(at: \(path))"
        case .enumeration(let entry): "try \(value).enumValue(\(entry.swiftName).self, at: \(path))"
        case .message(let entry): "try \(entry.swiftName)(_json: \(value), path: \(path))"
        }
    }

    var isMessage: Bool {
        if case .message = self { return true }
        return false
    }
}
