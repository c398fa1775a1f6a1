import O2OProtobuf

/// Protobuf wire format primitives, for code that encodes messages known only by their
/// reflected schema (the shell's dynamic codec, the request fuzzer).
public enum ProtoWire {
    public static func tag(_ number: UInt32, _ wireType: UInt8, into output: inout [UInt8]) {
        varint(UInt64(number) << 3 | UInt64(wireType), into: &output)
    }

    public static func varint(_ value: UInt64, into output: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            output.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        output.append(UInt8(value))
    }

    public static func fixed64(_ value: UInt64, into output: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { output.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    public static func fixed32(_ value: UInt32, into output: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { output.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    /// A length-delimited field: tag, length, bytes.
    public static func lengthDelimited(_ number: UInt32, _ body: [UInt8], into output: inout [UInt8]) {
        tag(number, 2, into: &output)
        varint(UInt64(body.count), into: &output)
        output.append(contentsOf: body)
    }

    public static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
    public static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    /// The wire type a field of `type` is written with.
    public static func wireType(_ type: FieldType) -> UInt8 {
        switch type {
        case .double, .fixed64, .sfixed64: return 1
        case .float, .fixed32, .sfixed32: return 5
        case .string, .bytes, .message: return 2
        default: return 0
        }
    }

    /// Scalars that proto3 packs in repeated fields.
    public static func isPackable(_ type: FieldType) -> Bool {
        wireType(type) != 2
    }
}

/// Reads protobuf wire format, refusing truncated or malformed input.
public struct ProtoWireReader {
    public let bytes: [UInt8]
    public var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var atEnd: Bool { offset >= bytes.count }

    private func truncated(_ path: String) -> O2OJSONError {
        O2OJSONError(path: path, reason: "the message is truncated or malformed")
    }

    public mutating func varint(path: String) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        throw truncated(path)
    }

    public mutating func tag(path: String) throws -> (UInt32, UInt8) {
        let value = try varint(path: path)
        guard value >> 3 > 0, value >> 3 <= UInt64(UInt32.max) else { throw truncated(path) }
        return (UInt32(value >> 3), UInt8(value & 7))
    }

    public mutating func length(path: String) throws -> Int {
        let length = try varint(path: path)
        guard length <= UInt64(bytes.count - offset) else { throw truncated(path) }
        return Int(length)
    }

    public mutating func lengthDelimited(path: String) throws -> [UInt8] {
        let length = try length(path: path)
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    public mutating func fixed64(path: String) throws -> UInt64 {
        guard bytes.count - offset >= 8 else { throw truncated(path) }
        defer { offset += 8 }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << UInt64(8 * $1) }
    }

    public mutating func fixed32(path: String) throws -> UInt32 {
        guard bytes.count - offset >= 4 else { throw truncated(path) }
        defer { offset += 4 }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << UInt32(8 * $1) }
    }

    public mutating func skip(_ wireType: UInt8, path: String) throws {
        switch wireType {
        case 0: _ = try varint(path: path)
        case 1: _ = try fixed64(path: path)
        case 2: offset += try length(path: path)
        case 5: _ = try fixed32(path: path)
        default: throw truncated(path)
        }
    }
}
