/// One typed part of a key.
public enum KeyPart: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case uint(UInt64)
    case bytes([UInt8])
}

/// A key made of typed parts, encoded so that byte order equals the order of the
/// parts (strings by UTF-8 bytes, integers numerically), and so that the encoding of
/// a tuple is a prefix of the encoding of every longer tuple that starts with it.
public struct KeyTuple: Sendable, Hashable, ExpressibleByArrayLiteral {
    public private(set) var parts: [KeyPart]

    public init(_ parts: [KeyPart]) { self.parts = parts }
    public init(arrayLiteral parts: KeyPart...) { self.parts = parts }

    /// A tuple of one string.
    public static func string(_ value: String) -> KeyTuple { KeyTuple([.string(value)]) }

    public func appending(_ part: KeyPart) -> KeyTuple { KeyTuple(parts + [part]) }

    /// The ordered byte encoding.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        for part in parts { Self.encode(part, into: &bytes) }
        return bytes
    }

    private static let signBit: UInt64 = 1 << 63

    static func encode(_ part: KeyPart, into bytes: inout [UInt8]) {
        switch part {
        case .bytes(let value):
            bytes.append(0x01)
            escape(value, into: &bytes)
        case .string(let value):
            bytes.append(0x02)
            escape(Array(value.utf8), into: &bytes)
        case .int(let value):
            bytes.append(0x03)
            appendBigEndian(UInt64(bitPattern: value) ^ signBit, into: &bytes)
        case .uint(let value):
            bytes.append(0x04)
            appendBigEndian(value, into: &bytes)
        }
    }

    /// 0x00 becomes 0x00 0xFF and the run ends with 0x00: order is kept and a run never
    /// looks like the end of a shorter one.
    private static func escape(_ value: [UInt8], into bytes: inout [UInt8]) {
        for byte in value {
            bytes.append(byte)
            if byte == 0 { bytes.append(0xff) }
        }
        bytes.append(0x00)
    }

    private static func appendBigEndian(_ value: UInt64, into bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    /// Decodes an encoding made by `encoded`; nil when the bytes are not one.
    public init?(decoding bytes: ArraySlice<UInt8>) {
        var parts: [KeyPart] = []
        var index = bytes.startIndex
        func unescape() -> [UInt8]? {
            var value: [UInt8] = []
            while index < bytes.endIndex {
                let byte = bytes[index]
                index += 1
                if byte == 0 {
                    if index < bytes.endIndex, bytes[index] == 0xff {
                        value.append(0)
                        index += 1
                    } else {
                        return value
                    }
                } else {
                    value.append(byte)
                }
            }
            return nil
        }
        func bigEndian() -> UInt64? {
            guard bytes.endIndex - index >= 8 else { return nil }
            var value: UInt64 = 0
            for _ in 0..<8 {
                value = value << 8 | UInt64(bytes[index])
                index += 1
            }
            return value
        }
        while index < bytes.endIndex {
            let tag = bytes[index]
            index += 1
            switch tag {
            case 0x01:
                guard let value = unescape() else { return nil }
                parts.append(.bytes(value))
            case 0x02:
                guard let value = unescape(), let string = String(validating: value, as: UTF8.self) else { return nil }
                parts.append(.string(string))
            case 0x03:
                guard let value = bigEndian() else { return nil }
                parts.append(.int(Int64(bitPattern: value ^ Self.signBit)))
            case 0x04:
                guard let value = bigEndian() else { return nil }
                parts.append(.uint(value))
            default:
                return nil
            }
        }
        self.parts = parts
    }
}
