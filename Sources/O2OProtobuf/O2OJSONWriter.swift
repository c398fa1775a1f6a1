/// Writes JSON text for the generated `_writeJSON` methods: compact, or pretty with
/// two-space indentation.
public struct O2OJSONWriter {
    /// The UTF-8 written so far.
    public private(set) var bytes: [UInt8] = []
    private let pretty: Bool
    /// One entry per open object or array: whether it has a member yet.
    private var hasMembers: [Bool] = []

    public init(pretty: Bool = false) {
        self.pretty = pretty
        bytes.reserveCapacity(256)
    }

    /// The text written so far.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    private mutating func newlineAndIndent() {
        bytes.append(UInt8(ascii: "\n"))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: hasMembers.count * 2))
    }

    /// Separates a new member or element from the previous one.
    private mutating func separate() {
        guard !hasMembers.isEmpty else { return }
        if hasMembers[hasMembers.count - 1] { bytes.append(UInt8(ascii: ",")) }
        hasMembers[hasMembers.count - 1] = true
        if pretty { newlineAndIndent() }
    }

    private mutating func close(_ character: Character) {
        let hadMembers = hasMembers.removeLast()
        if pretty, hadMembers { newlineAndIndent() }
        bytes.append(character.asciiValue!)
    }

    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        hasMembers.append(false)
    }

    public mutating func endObject() { close("}") }

    /// Starts a member of the current object.
    public mutating func key(_ key: String) {
        separate()
        writeQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        if pretty { bytes.append(UInt8(ascii: " ")) }
    }

    public mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        hasMembers.append(false)
    }

    /// Starts an element of the current array.
    public mutating func arrayElement() { separate() }

    public mutating func endArray() { close("]") }

    public mutating func string(_ value: String) { writeQuoted(value) }

    public mutating func bool(_ value: Bool) { bytes.append(contentsOf: (value ? "true" : "false").utf8) }

    public mutating func null() { bytes.append(contentsOf: "null".utf8) }

    /// A 32-bit integer, as a JSON number.
    public mutating func integer(_ value: some BinaryInteger) { bytes.append(contentsOf: String(value).utf8) }

    /// A 64-bit integer, as a string (JSON numbers lose precision past 2^53).
    public mutating func quotedInteger(_ value: some BinaryInteger) {
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: String(value).utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func double(_ value: Double) {
        if value.isNaN {
            writeQuoted("NaN")
        } else if value.isInfinite {
            writeQuoted(value < 0 ? "-Infinity" : "Infinity")
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    public mutating func float(_ value: Float) {
        if value.isNaN {
            writeQuoted("NaN")
        } else if value.isInfinite {
            writeQuoted(value < 0 ? "-Infinity" : "Infinity")
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    public mutating func bytes(_ value: [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        Base64.encode(value, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// An enum by name, or by number when the schema does not know it.
    public mutating func enumValue(_ value: some O2OEnum) {
        if let name = value.protoValueName {
            writeQuoted(name)
        } else {
            integer(value.rawValue)
        }
    }

    /// Writes an already parsed JSON value.
    public mutating func value(_ value: O2OJSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .number(let text): bytes.append(contentsOf: text.utf8)
        case .string(let text): writeQuoted(text)
        case .array(let elements):
            beginArray()
            for element in elements {
                arrayElement()
                self.value(element)
            }
            endArray()
        case .object(let members):
            beginObject()
            for member in members {
                key(member.key)
                self.value(member.value)
            }
            endObject()
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private mutating func writeQuoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 15)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
