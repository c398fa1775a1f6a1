public import O2OProtobuf
import O2ORPC
public import O2ORPCMessages

/// Input checks shared by the services. Every failure is INVALID_ARGUMENT naming the
/// field ("product.skus[2].barcode: must be 1 to 32 characters").
public enum Validate {
    /// Trims white space and checks the length in characters.
    public static func text(_ value: String, field: String, min: Int = 0, max: Int) throws -> String {
        let trimmed = value.trimmingWhitespace()
        let count = trimmed.count
        if count < min {
            throw RPCError.invalidArgument(
                field: field,
                min == 1 ? "must not be empty" : "must be at least \(min) characters"
            )
        }
        guard count <= max else {
            throw RPCError.invalidArgument(field: field, "must be at most \(max) characters, got \(count)")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) else {
            throw RPCError.invalidArgument(field: field, "must not contain control characters")
        }
        return trimmed
    }

    /// An id naming another record: required, at most 64 printable ASCII characters.
    public static func id(_ value: String, field: String) throws -> String {
        guard !value.isEmpty else { throw RPCError.invalidArgument(field: field, "must not be empty") }
        guard value.utf8.count <= 64, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw RPCError.invalidArgument(field: field, "is not an id (1 to 64 printable ASCII characters)")
        }
        return value
    }

    /// A code of `[A-Za-z0-9._-]` (or the given extra characters).
    public static func code(
        _ value: String,
        field: String,
        min: Int,
        max: Int,
        allowed: String = "._-"
    ) throws -> String {
        let trimmed = try text(value, field: field, min: min, max: max)
        let extra = Set(allowed.utf8)
        guard
            trimmed.utf8.allSatisfy({
                ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || extra.contains($0)
            })
        else {
            throw RPCError.invalidArgument(
                field: field,
                "may only contain letters, digits and \(allowed.map { "'\($0)'" }.joined(separator: " "))"
            )
        }
        return trimmed
    }

    /// An http(s) URL of at most `max` characters; empty allowed when `optional`.
    public static func url(_ value: String, field: String, optional: Bool = true, max: Int = 1024) throws -> String {
        let trimmed = value.trimmingWhitespace()
        if trimmed.isEmpty {
            if optional { return "" }
            throw RPCError.invalidArgument(field: field, "must not be empty")
        }
        guard trimmed.count <= max else {
            throw RPCError.invalidArgument(field: field, "must be at most \(max) characters")
        }
        let lower = trimmed.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://"), !trimmed.contains(" "), trimmed.count > 8
        else {
            throw RPCError.invalidArgument(field: field, "must be an http(s) URL")
        }
        return trimmed
    }

    /// Tags: at most `maxCount`, each 1 to `maxLength` characters, unique ignoring case.
    public static func tags(_ values: [String], field: String, maxCount: Int, maxLength: Int = 32) throws -> [String] {
        guard values.count <= maxCount else {
            throw RPCError.invalidArgument(field: field, "at most \(maxCount) tags, got \(values.count)")
        }
        var seen = Set<String>()
        return try values.enumerated().map { index, tag in
            let checked = try text(tag, field: "\(field)[\(index)]", min: 1, max: maxLength)
            guard seen.insert(checked.lowercased()).inserted else {
                throw RPCError.invalidArgument(field: "\(field)[\(index)]", "'\(checked)' is listed twice")
            }
            return checked
        }
    }

    /// Labels: at most `maxCount`, keys of `[a-z0-9_.-]` 1 to 64 characters and unique,
    /// values at most 256 characters.
    public static func labels(_ values: [Label], field: String, maxCount: Int = 16) throws -> [Label] {
        guard values.count <= maxCount else {
            throw RPCError.invalidArgument(field: field, "at most \(maxCount) labels, got \(values.count)")
        }
        var keys = Set<String>()
        return try values.enumerated().map { index, label in
            let key = label.key
            guard (1...64).contains(key.utf8.count),
                key.utf8.allSatisfy({
                    ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f || $0 == 0x2e || $0 == 0x2d
                })
            else {
                throw RPCError.invalidArgument(
                    field: "\(field)[\(index)].key",
                    "must be 1 to 64 characters of [a-z0-9_.-]"
                )
            }
            guard keys.insert(key).inserted else {
                throw RPCError.invalidArgument(field: "\(field)[\(index)].key", "'\(key)' is listed twice")
            }
            let value = try text(label.value, field: "\(field)[\(index)].value", max: 256)
            return Label(key: key, value: value)
        }
    }

    /// Money in `currency`, at least 0 unless `allowNegative`.
    public static func money(
        _ value: Money?,
        field: String,
        currency: String,
        required: Bool = true,
        allowNegative: Bool = false
    ) throws -> Money? {
        guard let value else {
            if required { throw RPCError.invalidArgument(field: field, "is required") }
            return nil
        }
        guard value.currency == currency else {
            throw RPCError.invalidArgument(
                field: "\(field).currency",
                value.currency.isEmpty ? "is required (\(currency))" : "must be \(currency), got '\(value.currency)'"
            )
        }
        guard allowNegative || value.minorUnits >= 0 else {
            throw RPCError.invalidArgument(field: "\(field).minor_units", "must be 0 or more, got \(value.minorUnits)")
        }
        guard value.minorUnits <= 1_000_000_000_000 else {
            throw RPCError.invalidArgument(field: "\(field).minor_units", "must be at most 1000000000000")
        }
        return value
    }

    /// A barcode: 1 to 32 characters of `[A-Za-z0-9-]`; an all-digit code of 8, 12, 13
    /// or 14 digits must carry a valid GTIN check digit.
    public static func barcode(_ value: String, field: String) throws -> String {
        let code = try Validate.code(value, field: field, min: 1, max: 32, allowed: "-")
        let digits = code.utf8.map { Int($0) - 0x30 }
        if [8, 12, 13, 14].contains(digits.count), digits.allSatisfy({ (0...9).contains($0) }) {
            // GTIN: weights 3 and 1 alternate from the digit next to the check digit.
            var sum = 0
            for (offset, digit) in digits.dropLast().reversed().enumerated() {
                sum += digit * (offset % 2 == 0 ? 3 : 1)
            }
            let check = (10 - sum % 10) % 10
            guard check == digits.last! else {
                throw RPCError.invalidArgument(field: field, "'\(code)' has a wrong check digit (expected \(check))")
            }
        }
        return code
    }

    /// A postal address: each part within its length, the phone E.164, the location in
    /// range; nil stays nil.
    public static func address(_ address: PostalAddress?, field: String) throws -> PostalAddress? {
        guard var address else { return nil }
        address.countryCode = try code(address.countryCode, field: "\(field).country_code", min: 0, max: 2, allowed: "")
        address.province = try text(address.province, field: "\(field).province", max: 64)
        address.city = try text(address.city, field: "\(field).city", max: 64)
        address.district = try text(address.district, field: "\(field).district", max: 64)
        address.street = try text(address.street, field: "\(field).street", max: 256)
        address.postalCode = try text(address.postalCode, field: "\(field).postal_code", max: 16)
        address.recipientName = try text(address.recipientName, field: "\(field).recipient_name", max: 64)
        address.recipientPhone = try phone(address.recipientPhone, field: "\(field).recipient_phone")
        if address.location != nil { address.location = try point(address.location, field: "\(field).location") }
        return address
    }

    /// A point on the earth, required.
    public static func point(_ point: GeoPoint?, field: String) throws -> GeoPoint {
        guard let point else { throw RPCError.invalidArgument(field: field, "is required") }
        guard (-90...90).contains(point.latitude), (-180...180).contains(point.longitude) else {
            throw RPCError.invalidArgument(field: field, "latitude must be -90 to 90 and longitude -180 to 180")
        }
        return point
    }

    /// A phone number in E.164, the one form stored and compared: "+86 138-0013-8000", "13800138000", "0086 138 0013 8000"
    /// and "+8613800138000" are all "+8613800138000". Spaces, dashes, dots and
    /// parentheses are dropped; an 11-digit number starting with 1 is a mainland mobile.
    public static func phone(_ value: String, field: String) throws -> String {
        var text = value.trimmingWhitespace()
        if text.isEmpty { return "" }
        guard text.utf8.count <= 32 else {
            throw RPCError.invalidArgument(field: field, "must be at most 32 characters")
        }
        text.removeAll { " -.()\u{3000}".contains($0) }
        var digits: Substring
        if text.hasPrefix("+") {
            digits = text.dropFirst()
        } else if text.hasPrefix("00") {
            digits = text.dropFirst(2)
        } else if text.count == 11, text.hasPrefix("1") {
            digits = Substring("86" + text)
        } else {
            digits = Substring(text)
        }
        guard (8...15).contains(digits.utf8.count), digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            !digits.hasPrefix("0")
        else {
            throw RPCError.invalidArgument(
                field: field,
                "must be an E.164 number (\"+8613800138000\") or an 11-digit mainland mobile number"
            )
        }
        // Mainland mobiles are 1[3-9] and 11 digits; landlines (Beijing's 10 among them)
        // have other lengths.
        let national = digits.dropFirst(2).utf8
        if digits.hasPrefix("86"), national.first == 0x31, let second = national.dropFirst().first,
            (0x33...0x39).contains(second), national.count != 11
        {
            throw RPCError.invalidArgument(field: field, "a mainland mobile number has 11 digits")
        }
        return "+" + digits
    }

    /// A plausible email address, at most 254 characters.
    public static func email(_ value: String, field: String) throws -> String {
        let trimmed = value.trimmingWhitespace()
        if trimmed.isEmpty { return "" }
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard trimmed.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."),
            !trimmed.contains(" ")
        else {
            throw RPCError.invalidArgument(field: field, "is not an email address")
        }
        return trimmed
    }

    /// A calendar date that exists.
    public static func date(_ value: CalendarDate?, field: String) throws -> CalendarDate {
        guard let value else { throw RPCError.invalidArgument(field: field, "is required") }
        guard (1900...9999).contains(value.year), (1...12).contains(value.month),
            (1...CalendarDates.daysIn(month: Int(value.month), year: Int(value.year))).contains(Int(value.day))
        else {
            throw RPCError.invalidArgument(field: field, "\(value.year)-\(value.month)-\(value.day) is not a date")
        }
        return value
    }

    /// An enum value the schema defines: INVALID_ARGUMENT "<field>: unknown <noun> N"
    /// for a number it does not (proto3 enums are open).
    @discardableResult
    public static func known<Value: O2OEnum>(_ value: Value, field: String, noun: String = "value") throws -> Value {
        if value.protoValueName == nil {
            throw RPCError.invalidArgument(field: field, "unknown \(noun) \(value.rawValue)")
        }
        return value
    }

    /// Every value of a repeated enum field is one the schema defines; the first that
    /// is not is named with its index ("statuses[2]").
    @discardableResult
    public static func known<Value: O2OEnum>(_ values: [Value], field: String, noun: String = "value") throws -> [Value]
    {
        for (index, value) in values.enumerated() { try known(value, field: "\(field)[\(index)]", noun: noun) }
        return values
    }

    /// A timestamp a caller sent: nanos 0 to 999,999,999 (as common.proto says) and a
    /// time from 1970 to the end of 9999, so that nothing computed from it overflows.
    public static func timestamp(_ value: Timestamp, field: String) throws -> Timestamp {
        guard (0...999_999_999).contains(value.nanos) else {
            throw RPCError.invalidArgument(field: "\(field).nanos", "must be 0 to 999999999, got \(value.nanos)")
        }
        guard (0...253_402_300_799).contains(value.seconds) else {
            throw RPCError.invalidArgument(field: "\(field).seconds", "must be within the years 1970 to 9999")
        }
        return value
    }

    /// A time filter a caller sent, in nanoseconds: each end a valid timestamp (see
    /// `timestamp`), the end not before the start.
    public static func timeRange(_ range: TimeRange?, field: String) throws -> (start: Int64?, end: Int64?) {
        let start = try range?.start.map { Timestamps.nanos(try timestamp($0, field: "\(field).start")) }
        let end = try range?.end.map { Timestamps.nanos(try timestamp($0, field: "\(field).end")) }
        if let start, let end, end < start {
            throw RPCError.invalidArgument(field: "\(field).end", "must not be before \(field).start")
        }
        return (start, end)
    }

    /// `expected_version` against the record's version.
    public static func version(_ expected: Int64?, actual: Int64, subject: String) throws {
        if let expected, expected != actual {
            throw RPCError(
                code: .failedPrecondition,
                message: "expected_version: \(subject) is at version \(actual), not \(expected)",
                fieldViolations: [.init(field: "expected_version", description: "is \(actual), not \(expected)")]
            )
        }
    }
}

/// Calendar arithmetic without Foundation.
public enum CalendarDates {
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (negative before).
    public static func dayNumber(_ date: CalendarDate) -> Int {
        // Howard Hinnant's days_from_civil.
        let y = Int(date.year) - (date.month <= 2 ? 1 : 0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let month = Int(date.month)
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + Int(date.day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The UTC date of a time.
    public static func date(of time: Timestamp) -> CalendarDate {
        let days = Int(time.seconds / 86_400) - (time.seconds % 86_400 < 0 ? 1 : 0)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return CalendarDate(year: Int32(year), month: Int32(month), day: Int32(day))
    }
}

extension String {
    /// Without leading and trailing white space (spaces, tabs, new lines, the
    /// ideographic space).
    public func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0.isWhitespace }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}
