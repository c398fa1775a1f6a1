/// Opaque page tokens: where the previous page stopped, bound to the filters that
/// produced it, so a token used with other filters is refused instead of silently
/// skipping or repeating records.
public enum PageTokens {
    private static let version: UInt8 = 1

    /// A stable 64-bit hash of a list call's filters (FNV-1a over their text).
    public static func filterHash(_ parts: [String]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            hash ^= 0xff
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// A token for resuming after `lastKey`.
    public static func make(lastKey: [UInt8], filterHash: UInt64) -> String {
        var bytes: [UInt8] = [version]
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: filterHash >> UInt64(shift)))
        }
        bytes += lastKey
        return base64URL(bytes)
    }

    /// The key to resume after; throws when the token is not one of ours or belongs to
    /// other filters.
    public static func lastKey(from token: String, filterHash: UInt64, subject: String) throws -> [UInt8] {
        guard let bytes = decodeBase64URL(token), bytes.count >= 9, bytes[0] == version else {
            throw RecordError(.invalidPageToken, "not a page token this list issued", subject: subject)
        }
        var hash: UInt64 = 0
        for byte in bytes[1..<9] { hash = hash << 8 | UInt64(byte) }
        guard hash == filterHash else {
            throw RecordError(.invalidPageToken, "the page token was issued for other filters", subject: subject)
        }
        return Array(bytes[9...])
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func base64URL(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << UInt32(16 - 8 * offset) }
            for position in 0..<(chunk.count + 1) {
                output.append(alphabet[Int(value >> UInt32(18 - 6 * position) & 63)])
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func decodeBase64URL(_ text: String) -> [UInt8]? {
        var values: [UInt32] = []
        for byte in text.utf8 {
            guard let index = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt32(index))
        }
        guard values.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var value: UInt32 = 0
            for (offset, sextet) in chunk.enumerated() { value |= sextet << UInt32(18 - 6 * offset) }
            for position in 0..<(chunk.count - 1) {
                output.append(UInt8(truncatingIfNeeded: value >> UInt32(16 - 8 * position)))
            }
            index += 4
        }
        return output
    }
}
