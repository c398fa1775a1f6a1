import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Record ids: a kind prefix and a ULID — 48 bits of milliseconds since 1970 and 80
/// random bits in Crockford base32 ("prd_01JD3Q8ZK5XQ7W1M4B2C9D0E7F"). They sort by
/// creation time, and stay unique across restarts and across servers without
/// coordination. Within one millisecond a process increments the random part, so its
/// own ids keep their order.
public enum RecordIDs {
    private struct State {
        var lastMillis: UInt64 = 0
        var high: UInt16 = 0
        var low: UInt64 = 0
    }

    private static let state = Mutex(State())
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// A new id: `<prefix>_<ULID>`, or just the ULID for an empty prefix.
    public static func make(prefix: String) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let millis = UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
        let (time, high, low) = state.withLock { state -> (UInt64, UInt16, UInt64) in
            if millis > state.lastMillis {
                state.lastMillis = millis
                var generator = SystemRandomNumberGenerator()
                state.high = UInt16.random(in: 0...UInt16.max, using: &generator)
                state.low = UInt64.random(in: 0...UInt64.max, using: &generator)
            } else {
                // Same (or an earlier, after a clock step) millisecond: count up.
                state.low &+= 1
                if state.low == 0 { state.high &+= 1 }
            }
            return (state.lastMillis, state.high, state.low)
        }
        var bits: [UInt8] = []
        bits.reserveCapacity(16)
        for shift in stride(from: 40, through: 0, by: -8) {
            bits.append(UInt8(truncatingIfNeeded: time >> UInt64(shift)))
        }
        bits.append(UInt8(high >> 8))
        bits.append(UInt8(high & 0xff))
        for shift in stride(from: 56, through: 0, by: -8) {
            bits.append(UInt8(truncatingIfNeeded: low >> UInt64(shift)))
        }
        var text = prefix.isEmpty ? "" : prefix + "_"
        text.reserveCapacity(text.count + 26)
        // 128 bits as 26 base32 digits, most significant first (the first digit holds 3 bits).
        var characters: [UInt8] = []
        characters.reserveCapacity(26)
        for index in 0..<26 {
            let bitOffset = index == 0 ? 0 : 3 + (index - 1) * 5
            let width = index == 0 ? 3 : 5
            var value = 0
            for bit in bitOffset..<(bitOffset + width) {
                value = value << 1 | Int((bits[bit / 8] >> UInt8(7 - bit % 8)) & 1)
            }
            characters.append(alphabet[value])
        }
        text += String(decoding: characters, as: UTF8.self)
        return text
    }
}
