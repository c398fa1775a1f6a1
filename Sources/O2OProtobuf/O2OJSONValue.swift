/// A parsed JSON document. Numbers keep their text, so 64-bit integers lose nothing
/// and each field decides how to read them; objects keep their member order.
public enum O2OJSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A JSON number, as written.
    case number(String)
    case string(String)
    case array([O2OJSONValue])
    case object([Member])

    /// One member of an object.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: O2OJSONValue

        public init(key: String, value: O2OJSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// How deep arrays and objects may nest: the parser is recursive, and messages
    /// cannot nest deeper than this anyway.
    public static let maximumDepth = 100

    /// Parses JSON text (RFC 8259). Duplicate keys in one object are an error.
    public init(parsing text: String) throws {
        var text = text
        self = try text.withUTF8 { try Self(parsingUTF8: $0) }
    }

    /// Parses UTF-8 JSON text.
    public init(parsing utf8: some Collection<UInt8>) throws {
        if let value = try utf8.withContiguousStorageIfAvailable({ try Self(parsingUTF8: $0) }) {
            self = value
        } else {
            self = try Array(utf8).withUnsafeBufferPointer { try Self(parsingUTF8: $0) }
        }
    }

    private init(parsingUTF8 bytes: UnsafeBufferPointer<UInt8>) throws {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.offset == bytes.count else { throw parser.error("unexpected text after the JSON value") }
        self = value
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// What kind of value this is, for error messages ("a string").
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    // MARK: - Typed access for generated code

    private func mismatch(_ expected: String, at path: String) -> O2OJSONError {
        O2OJSONError(path: path, reason: "expected \(expected), got \(kindDescription)")
    }

    public func objectMembers(at path: String) throws -> [(key: String, value: O2OJSONValue)] {
        switch self {
        case .object(let members): return members.map { ($0.key, $0.value) }
        case .null: return []
        default: throw mismatch("an object", at: path)
        }
    }

    /// A string field's value. U+0000 is refused: the binary form (protobuf-c) keeps
    /// strings NUL-terminated and would cut the string there.
    public func string(at path: String) throws -> String {
        guard case .string(let text) = self else { throw mismatch("a string", at: path) }
        guard !text.utf8.contains(0) else {
            throw O2OJSONError(path: path, reason: "string contains U+0000, which this protocol cannot carry")
        }
        return text
    }

    public func bool(at path: String) throws -> Bool {
        guard case .bool(let flag) = self else { throw mismatch("true or false", at: path) }
        return flag
    }

    public func bytes(at path: String) throws -> [UInt8] {
        guard case .string(let text) = self else { throw mismatch("a base64 string", at: path) }
        guard let bytes = Base64.decode(text) else {
            throw O2OJSONError(path: path, reason: "\"\(text.prefix(40))\" is not valid base64")
        }
        return bytes
    }

    /// An integer from a JSON number or a string holding one. Numbers may be written
    /// with a fraction or exponent as long as the value is whole.
    public func integer<Integer: FixedWidthInteger>(_ type: Integer.Type, at path: String) throws -> Integer {
        let text: String
        let quoted: Bool
        switch self {
        case .number(let number): (text, quoted) = (number, false)
        case .string(let string): (text, quoted) = (string, true)
        default: throw mismatch("an integer", at: path)
        }
        let typeName = Self.integerTypeName(Integer.self)
        if let value = Integer(text, radix: 10) { return value }
        // Plain digits that did not fit.
        if !text.isEmpty, text.drop(while: { $0 == "-" }).allSatisfy(\.isNumber), !text.hasPrefix("--") {
            throw O2OJSONError(path: path, reason: "\(text) is out of range for \(typeName)")
        }
        if !quoted, let double = Double(text), double.isFinite {
            guard double.rounded(.towardZero) == double else {
                throw O2OJSONError(path: path, reason: "\(text) is not a whole number")
            }
            guard let value = Integer(exactly: double) else {
                throw O2OJSONError(path: path, reason: "\(text) is out of range for \(typeName)")
            }
            return value
        }
        throw O2OJSONError(path: path, reason: "\"\(text.prefix(40))\" is not an integer")
    }

    private static func integerTypeName<Integer: FixedWidthInteger>(_ type: Integer.Type) -> String {
        "\(Integer.isSigned ? "int" : "uint")\(Integer.bitWidth)"
    }

    public func double(at path: String) throws -> Double {
        switch self {
        case .number(let text):
            guard let value = Double(text) else { throw O2OJSONError(path: path, reason: "\(text) is not a number") }
            guard value.isFinite else { throw O2OJSONError(path: path, reason: "\(text) is out of range for double") }
            return value
        case .string(let text):
            switch text {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard let value = Double(text), JSONParser.isNumberLiteral(text) else {
                    throw O2OJSONError(path: path, reason: "\"\(text.prefix(40))\" is not a number")
                }
                return value
            }
        default:
            throw mismatch("a number", at: path)
        }
    }

    public func float(at path: String) throws -> Float {
        let value = try double(at: path)
        // Rounding to the nearest float may still land on the largest one
        // ("3.4028235e+38" is how Float.greatestFiniteMagnitude prints).
        if value.isFinite, !Float(value).isFinite {
            throw O2OJSONError(path: path, reason: "\(value) is out of range for float")
        }
        return Float(value)
    }

    /// An enum value by schema name or by number.
    public func enumValue<Enum: O2OEnum>(_ type: Enum.Type, at path: String) throws -> Enum {
        switch self {
        case .string(let name):
            guard let value = Enum(protoValueName: name) else {
                let known = Enum.knownCases.compactMap(\.protoValueName)
                let list =
                    known.count <= 12 ? known.joined(separator: ", ") : known.prefix(12).joined(separator: ", ") + ", …"
                throw O2OJSONError(path: path, reason: "\"\(name)\" is not a value of \(Enum.protoName) (\(list))")
            }
            return value
        case .number:
            return Enum(rawValue: try integer(Int32.self, at: path))
        case .null:
            return Enum(rawValue: 0)
        default:
            throw mismatch("an enum name or number", at: path)
        }
    }

    public func array<Element>(
        at path: String,
        _ decode: (O2OJSONValue, String) throws -> Element
    ) throws -> [Element] {
        switch self {
        case .null: return []
        case .array(let elements):
            return try elements.enumerated().map { offset, element in
                guard !element.isNull else {
                    throw O2OJSONError(path: "\(path)[\(offset)]", reason: "null is not allowed in a list")
                }
                return try decode(element, "\(path)[\(offset)]")
            }
        default: throw mismatch("an array", at: path)
        }
    }

    public func map<Key: Hashable, Value>(
        at path: String,
        _ decode: (String, O2OJSONValue, String) throws -> (Key, Value)
    ) throws -> [Key: Value] {
        switch self {
        case .null: return [:]
        case .object(let members):
            var result: [Key: Value] = [:]
            for member in members {
                let memberPath = "\(path)[\(member.key)]"
                guard !member.value.isNull else {
                    throw O2OJSONError(path: memberPath, reason: "null is not allowed as a map value")
                }
                let (key, value) = try decode(member.key, member.value, memberPath)
                result[key] = value
            }
            return result
        default: throw mismatch("an object", at: path)
        }
    }
}

/// Reads a map key from its JSON object key.
package func _o2oJSONMapKey<Key>(_ text: String, as type: Key.Type, at path: String) throws -> Key {
    switch type {
    case is String.Type: return try O2OJSONValue.string(text).string(at: path) as! Key
    case is Bool.Type:
        switch text {
        case "true": return true as! Key
        case "false": return false as! Key
        default: throw O2OJSONError(path: path, reason: "map key \"\(text)\" is not true or false")
        }
    case is Int32.Type: return try O2OJSONValue.string(text).integer(Int32.self, at: path) as! Key
    case is Int64.Type: return try O2OJSONValue.string(text).integer(Int64.self, at: path) as! Key
    case is UInt32.Type: return try O2OJSONValue.string(text).integer(UInt32.self, at: path) as! Key
    case is UInt64.Type: return try O2OJSONValue.string(text).integer(UInt64.self, at: path) as! Key
    default: throw O2OJSONError(path: path, reason: "unsupported map key type \(type)")
    }
}

/// A strict recursive-descent JSON parser over UTF-8.
struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0

    func error(_ reason: String) -> O2OJSONError {
        // Report a line and column a person can find.
        var line = 1
        var column = 1
        for byte in bytes[0..<min(offset, bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xc0 != 0x80 {
                column += 1
            }
        }
        return O2OJSONError(path: "", reason: "invalid JSON at line \(line), column \(column): \(reason)")
    }

    mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): offset += 1
            default: return
            }
        }
    }

    private func peek() -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private mutating func expectLiteral(_ literal: String) throws {
        for byte in literal.utf8 {
            guard peek() == byte else { throw error("expected \(literal)") }
            offset += 1
        }
    }

    mutating func parseValue(depth: Int) throws -> O2OJSONValue {
        guard depth < O2OJSONValue.maximumDepth else {
            throw error("nested deeper than \(O2OJSONValue.maximumDepth) levels")
        }
        guard let byte = peek() else { throw error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw error("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
    }

    private mutating func parseObject(depth: Int) throws -> O2OJSONValue {
        offset += 1
        var members: [O2OJSONValue.Member] = []
        var keys = Set<String>()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            offset += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = offset
            let key = try parseString()
            guard keys.insert(key).inserted else {
                offset = keyOffset
                throw error("duplicate key \"\(key)\"")
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            offset += 1
            skipWhitespace()
            members.append(O2OJSONValue.Member(key: key, value: try parseValue(depth: depth + 1)))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                return .object(members)
            default: throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws -> O2OJSONValue {
        offset += 1
        var elements: [O2OJSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            offset += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "]"):
                offset += 1
                return .array(elements)
            default: throw error("expected ',' or ']'")
            }
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard offset + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    private mutating func parseString() throws -> String {
        offset += 1
        var output: [UInt8] = []
        var runStart = offset
        while true {
            guard offset < bytes.count else { throw error("unterminated string") }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                output.append(contentsOf: bytes[runStart..<offset])
                offset += 1
                break
            }
            if byte < 0x20 { throw error("control character in a string (escape it)") }
            if byte != UInt8(ascii: "\\") {
                offset += 1
                continue
            }
            output.append(contentsOf: bytes[runStart..<offset])
            offset += 1
            guard let escape = peek() else { throw error("unterminated escape") }
            offset += 1
            switch escape {
            case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): output.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0c)
            case UInt8(ascii: "n"): output.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "r"): output.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "t"): output.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xd800..<0xdc00).contains(scalar) {
                    guard offset + 2 <= bytes.count, bytes[offset] == UInt8(ascii: "\\"),
                        bytes[offset + 1] == UInt8(ascii: "u")
                    else { throw error("unpaired surrogate in \\u escape") }
                    offset += 2
                    let low = try parseHex4()
                    guard (0xdc00..<0xe000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                } else if (0xdc00..<0xe000).contains(scalar) {
                    throw error("unpaired surrogate in \\u escape")
                }
                output.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default:
                throw error("unknown escape '\\\(Character(Unicode.Scalar(escape)))'")
            }
            runStart = offset
        }
        guard let string = String(validating: output, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return string
    }

    private mutating func parseNumber() throws -> String {
        let start = offset
        func digits() -> Int {
            let begin = offset
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { offset += 1 }
            return offset - begin
        }
        if peek() == UInt8(ascii: "-") { offset += 1 }
        if peek() == UInt8(ascii: "0") {
            offset += 1
        } else if digits() == 0 {
            throw error("malformed number")
        }
        if peek() == UInt8(ascii: ".") {
            offset += 1
            guard digits() > 0 else { throw error("malformed number") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            offset += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { offset += 1 }
            guard digits() > 0 else { throw error("malformed number") }
        }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    /// Whether `text` is exactly a JSON number literal.
    static func isNumberLiteral(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            var parser = JSONParser(bytes: utf8)
            guard (try? parser.parseNumber()) != nil else { return false }
            return parser.offset == utf8.count
        }
    }
}
