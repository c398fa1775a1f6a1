import O2OMessages
import O2OServiceKit

/// Writes requests in protobuf wire format from the reflected schema: each field
/// present or not, with values drawn from the boundaries (Int64.min and max, 0, −1,
/// huge and empty strings, U+0000 and invalid UTF-8, unknown enum numbers, wide lists
/// and maps) and from what the server has answered with (ids, page tokens,
/// versions), so that some requests get past the lookups. Most requests are plausible
/// (every value well-formed, ids known, numbers small) so that they reach the code
/// behind validation; the rest are hostile through and through, and a few of those are
/// cut short or corrupted after writing, for the decoder.
struct RequestGenerator {
    let schema: FuzzSchema
    var random: FuzzRandom
    var pool: ValuePool
    /// The time requests are built around, in seconds since 1970.
    var now: Int64 = 0
    private var serial = 0
    private var recentRequestIDs: [String] = []
    /// Bytes one request may still grow by: keeps requests under the message limit
    /// while letting one of them be huge.
    private var budget = 0
    /// Whether the request being written is a hostile one.
    private var hostile = false

    init(schema: FuzzSchema, seed: UInt64) {
        self.schema = schema
        self.random = FuzzRandom(seed: seed)
        self.pool = ValuePool(schema: schema)
    }

    /// One request of `type`.
    mutating func request(_ type: String) -> [UInt8] {
        serial += 1
        budget = 600_000
        hostile = random.chance(35)
        var bytes = message(type, depth: 0)
        if hostile, random.chance(10) { corrupt(&bytes) }
        return bytes
    }

    // MARK: - Messages

    private mutating func message(_ type: String, depth: Int) -> [UInt8] {
        guard depth < 12, let schema = schema.message(type) else { return [] }
        switch type {
        case "o2o.common.v1.Timestamp" where random.chance(75): return plausibleTimestamp()
        case "o2o.common.v1.CalendarDate" where random.chance(75): return plausibleDate()
        case "o2o.common.v1.Money" where random.chance(70): return plausibleMoney()
        default: break
        }
        var output: [UInt8] = []
        var oneofsTaken: Set<String> = []
        let presence = hostile ? (depth == 0 ? 75 : 60) : (depth == 0 ? 92 : 70)
        for field in schema.fields {
            if !field.oneof.isEmpty, !field.oneof.hasPrefix("_") {
                // One member of a real oneof, now and then two (the last one wins on the wire).
                if oneofsTaken.contains(field.oneof), !random.chance(5) { continue }
            }
            guard random.chance(presence) else { continue }
            oneofsTaken.insert(field.oneof)
            self.field(field, of: type, depth: depth, into: &output)
        }
        if hostile, random.chance(8) { unknownField(into: &output) }
        return output
    }

    private mutating func field(_ field: FieldSchema, of message: String, depth: Int, into output: inout [UInt8]) {
        if field.map {
            for _ in 0..<count() {
                var entry: [UInt8] = []
                mapKey(field, into: &entry)
                single(field, number: 2, of: message, depth: depth, into: &entry)
                ProtoWire.lengthDelimited(field.number, entry, into: &output)
            }
        } else if field.repeated {
            let count = count()
            if ProtoWire.isPackable(field.type), random.chance(70) {
                var packed: [UInt8] = []
                for _ in 0..<count { scalar(field, into: &packed) }
                ProtoWire.lengthDelimited(field.number, packed, into: &output)
            } else {
                for _ in 0..<count { single(field, number: field.number, of: message, depth: depth, into: &output) }
            }
        } else {
            single(field, number: field.number, of: message, depth: depth, into: &output)
        }
    }

    /// How many values a list or map gets: mostly a few, sometimes hundreds.
    private mutating func count() -> Int {
        if !hostile { return Int.random(in: 1...3, using: &random) }
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<25: return 0
        case 25..<65: return 1
        case 65..<92: return Int.random(in: 2...4, using: &random)
        default:
            guard budget > 20_000 else { return 4 }
            budget -= 20_000
            return Int.random(in: 50...400, using: &random)
        }
    }

    private mutating func single(
        _ field: FieldSchema,
        number: UInt32,
        of message: String,
        depth: Int,
        into output: inout [UInt8]
    ) {
        switch field.type {
        case .string:
            ProtoWire.lengthDelimited(number, string(field.name, in: message), into: &output)
        case .bytes:
            let length = !hostile || random.chance(80) ? Int.random(in: 0...32, using: &random) : 2_000
            ProtoWire.lengthDelimited(
                number,
                (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) },
                into: &output
            )
        case .message:
            ProtoWire.lengthDelimited(number, self.message(field.typeName, depth: depth + 1), into: &output)
        default:
            ProtoWire.tag(number, ProtoWire.wireType(field.type), into: &output)
            scalar(field, into: &output)
        }
    }

    private mutating func mapKey(_ field: FieldSchema, into output: inout [UInt8]) {
        if field.keyType == .string {
            ProtoWire.lengthDelimited(1, string("key", in: ""), into: &output)
        } else {
            var key = field
            key.type = field.keyType
            ProtoWire.tag(1, ProtoWire.wireType(key.type), into: &output)
            scalar(key, into: &output)
        }
    }

    // MARK: - Scalars

    /// A numeric, boolean or enum value without its tag.
    private mutating func scalar(_ field: FieldSchema, into output: inout [UInt8]) {
        switch field.type {
        case .double:
            ProtoWire.fixed64(double().bitPattern, into: &output)
        case .float:
            ProtoWire.fixed32(Float(double()).bitPattern, into: &output)
        case .fixed64, .sfixed64:
            ProtoWire.fixed64(UInt64(bitPattern: integer(field.name)), into: &output)
        case .fixed32, .sfixed32:
            ProtoWire.fixed32(UInt32(truncatingIfNeeded: integer(field.name)), into: &output)
        case .sint32, .sint64:
            ProtoWire.varint(ProtoWire.zigzag(integer(field.name)), into: &output)
        case .bool:
            ProtoWire.varint(
                !hostile || random.chance(90) ? UInt64.random(in: 0...1, using: &random) : 0xffff_ffff,
                into: &output
            )
        case .enum:
            ProtoWire.varint(UInt64(bitPattern: Int64(enumNumber(field.typeName))), into: &output)
        case .int32, .uint32:
            // A value beyond 32 bits is also a valid varint on the wire.
            let value = integer(field.name)
            let narrowed = !hostile || random.chance(90) ? Int64(Int32(truncatingIfNeeded: value)) : value
            ProtoWire.varint(UInt64(bitPattern: narrowed), into: &output)
        default:
            ProtoWire.varint(UInt64(bitPattern: integer(field.name)), into: &output)
        }
    }

    private mutating func integer(_ field: String) -> Int64 {
        if field == "expected_version", random.chance(60), let version = pool.number(for: field, using: &random) {
            return version
        }
        if !hostile {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<70: return Int64.random(in: 1...5, using: &random)
            case 70..<80: return 0
            default: return Int64.random(in: 6...1_000, using: &random)
            }
        }
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<35: return Int64.random(in: 1...5, using: &random)
        case 35..<48: return 0
        case 48..<56: return -1
        case 56..<68: return Int64.random(in: 6...10_000, using: &random)
        case 68..<80:
            return random.pick([
                .max, .min, Int64(Int32.max), Int64(Int32.min), Int64(UInt32.max), 1 << 53, .max - 1, .min + 1,
            ])
        case 80..<88: return random.pick([1_000_000, 1_000_000_000_000, 1_000_000_000_000_000, 253_402_300_800])
        default: return Int64(bitPattern: random.next())
        }
    }

    private mutating func double() -> Double {
        random.pick([
            0, -0.0, 1, -1, 0.5, 99.99, .nan, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
            1e20,
        ])
    }

    private mutating func enumNumber(_ type: String) -> Int32 {
        let known = schema.enums[type] ?? [0]
        if !hostile { return random.pick(known.count > 1 ? Array(known.dropFirst()) : known) }
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<72: return random.pick(known)
        case 72..<85: return 0
        default: return random.pick([-1, 99, 1_000, .max, .min])
        }
    }

    // MARK: - Strings

    private mutating func string(_ field: String, in message: String) -> [UInt8] {
        if field == "request_id" { return Array(requestID().utf8) }
        if random.chance(hostile ? 55 : 80), let known = pool.string(for: field, in: message, using: &random) {
            // Sometimes a near miss of a real value: a suffix, a NUL in it, another case.
            if !hostile { return Array(known.utf8) }
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<4: return Array(known.utf8) + [0] + Array("x".utf8)
            case 4..<8: return Array((known + "x").utf8)
            case 8..<11: return Array(known.lowercased().utf8)
            default: return Array(known.utf8)
            }
        }
        if random.chance(hostile ? 60 : 95), let typical = typical(field) { return Array(typical.utf8) }
        if !hostile { return Array(random.pick(["fuzz", "牛奶", "Fuzz \(serial)", "fz-\(serial)", "a"]).utf8) }
        return hostileString()
    }

    /// A fresh id most of the time, so that changes are not all replays; sometimes a
    /// recent one (a replay, or the same id on another method) or a hostile one.
    private mutating func requestID() -> String {
        switch hostile ? Int.random(in: 0..<100, using: &random) : 99 {
        case 0..<10 where !recentRequestIDs.isEmpty: return random.pick(recentRequestIDs)
        case 10..<14: return String(decoding: hostileString(), as: UTF8.self)
        default:
            let id = "fz-\(random.next() % 1_000_000_000)-\(serial)"
            if recentRequestIDs.count >= 32 { recentRequestIDs.removeFirst() }
            recentRequestIDs.append(id)
            return id
        }
    }

    /// A value of the kind a field's name says it holds.
    private mutating func typical(_ field: String) -> String? {
        if field.contains("currency") { return random.chance(85) ? "CNY" : random.pick(["USD", "cny", "XXXX"]) }
        if field.contains("phone") {
            return random.pick(["+86 138-0013-8000", "1390000\(Int.random(in: 1000...9999, using: &random))", "12"])
        }
        if field.contains("email") { return random.pick(["fz\(serial)@example.com", "A@B.CN", "not-an-email"]) }
        if field == "time_zone" {
            return random.pick(["Asia/Shanghai", "UTC", "Europe/Berlin", "Mars/Olympus", "GMT+05:07"])
        }
        if field.hasSuffix("code") { return random.pick(["WELCOME10", "SAVE20", "fz-\(serial)"]) }
        if field == "query" || field.hasSuffix("text") || field == "name" || field == "title" {
            return random.pick(["牛奶", "apple", "上海徐汇店", "Fuzz item \(serial)", "a"])
        }
        if field == "path" || field == "directory" { return random.pick(["/", "../", "backup-\(serial)"]) }
        return nil
    }

    private mutating func hostileString() -> [UInt8] {
        switch Int.random(in: 0..<22, using: &random) {
        case 0: return []
        case 1: return Array(" ".utf8)
        case 2: return Array("a\u{0}b".utf8)
        case 3: return [0]
        case 4: return [0xc3, 0x28]  // invalid UTF-8: a lead byte without its continuation
        case 5: return [0xc0, 0x80]  // overlong U+0000
        case 6: return [0xff, 0xfe, 0x41]
        case 7: return Array("上海徐汇店🛒".utf8)
        case 8: return Array("\u{202E}evil\u{7}\t\r\n".utf8)
        case 9: return Array(String(repeating: "x", count: 300).utf8)
        case 10:
            guard budget > 70_000 else { return Array("long".utf8) }
            budget -= 70_000
            return Array(String(repeating: "长", count: 23_000).utf8)
        case 11: return Array("-1".utf8)
        case 12: return Array("9223372036854775808".utf8)
        case 13: return Array("../../../../etc/passwd".utf8)
        case 14: return Array("%s%n%x".utf8)
        case 15: return Array("{\"a\":1}".utf8)
        case 16: return Array(" padded ".utf8)
        case 17: return Array("null".utf8)
        case 18: return Array("\u{FEFF}bom".utf8)
        case 19: return Array("e\u{301}".utf8)  // a combining accent
        case 20: return Array("fz-\(random.next())".utf8)
        default:
            return (0..<Int.random(in: 1...24, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
    }

    // MARK: - Plausible common values

    private mutating func plausibleTimestamp() -> [UInt8] {
        var output: [UInt8] = []
        let offset = Int64.random(in: -40 * 86_400...40 * 86_400, using: &random)
        ProtoWire.tag(1, 0, into: &output)
        ProtoWire.varint(UInt64(bitPattern: now &+ offset), into: &output)
        ProtoWire.tag(2, 0, into: &output)
        ProtoWire.varint(UInt64.random(in: 0..<1_000_000_000, using: &random), into: &output)
        return output
    }

    private mutating func plausibleDate() -> [UInt8] {
        let date = CalendarDates.date(
            of: Timestamp(seconds: now &+ Int64.random(in: -40...40, using: &random) * 86_400)
        )
        var output: [UInt8] = []
        for (number, value) in [(UInt32(1), date.year), (2, date.month), (3, date.day)] {
            ProtoWire.tag(number, 0, into: &output)
            ProtoWire.varint(UInt64(bitPattern: Int64(value)), into: &output)
        }
        return output
    }

    private mutating func plausibleMoney() -> [UInt8] {
        var output: [UInt8] = []
        ProtoWire.tag(1, 0, into: &output)
        ProtoWire.varint(UInt64.random(in: 0...20_000, using: &random), into: &output)
        ProtoWire.lengthDelimited(2, Array((random.chance(90) ? "CNY" : "USD").utf8), into: &output)
        return output
    }

    // MARK: - Wire damage

    /// A field the schema does not have, of any wire type, sometimes nested deep.
    private mutating func unknownField(into output: inout [UInt8]) {
        let number = UInt32.random(in: 1_000...536_870_911, using: &random)
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            ProtoWire.tag(number, 0, into: &output)
            ProtoWire.varint(random.next(), into: &output)
        case 1:
            ProtoWire.tag(number, 1, into: &output)
            ProtoWire.fixed64(random.next(), into: &output)
        case 2:
            ProtoWire.tag(number, 5, into: &output)
            ProtoWire.fixed32(UInt32(truncatingIfNeeded: random.next()), into: &output)
        default:
            var nested: [UInt8] = [0x08, 0x01]
            for _ in 0..<Int.random(in: 1...200, using: &random) {
                var outer: [UInt8] = []
                ProtoWire.lengthDelimited(1, nested, into: &outer)
                nested = outer
            }
            ProtoWire.lengthDelimited(number, nested, into: &output)
        }
    }

    /// Cuts the request short, flips a byte or appends junk.
    private mutating func corrupt(_ bytes: inout [UInt8]) {
        switch Int.random(in: 0..<3, using: &random) {
        case 0 where !bytes.isEmpty: bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
        case 1 where !bytes.isEmpty:
            bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
        default:
            bytes += (0..<Int.random(in: 1...16, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
    }
}
