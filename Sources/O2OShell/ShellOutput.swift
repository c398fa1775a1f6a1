public import O2OMessages

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How results are printed.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Tables for lists, pretty JSON for single messages.
    case auto
    case table
    case json
    case csv
}

/// Turns responses into text: compact or pretty JSON, aligned tables that fit the
/// terminal, or CSV. Money reads "12.34 CNY", times are local, enum values lose their
/// type prefix in tables, and personal data is masked unless asked for.
public struct ShellOutput: Sendable {
    public var format: OutputFormat
    /// `--json`: compact JSON, one document per line.
    public var compactJSON: Bool
    public var color: Bool
    public var width: Int
    public var showPersonalData: Bool
    public var schema: ShellSchema?

    public init(
        format: OutputFormat = .auto,
        compactJSON: Bool = false,
        color: Bool = false,
        width: Int = 100,
        showPersonalData: Bool = false,
        schema: ShellSchema? = nil
    ) {
        self.format = format
        self.compactJSON = compactJSON
        self.color = color
        self.width = width
        self.showPersonalData = showPersonalData
        self.schema = schema
    }

    /// Colours and width from the terminal standard output is, if it is one.
    public static func terminalDefaults() -> (color: Bool, width: Int) {
        let tty = isatty(1) == 1
        let noColor = getenv("NO_COLOR").map { String(cString: $0) }.map { !$0.isEmpty } ?? false
        let dumb = getenv("TERM").map { String(cString: $0) } == "dumb"
        var size = winsize()
        // Off a terminal (a pipe, a file) nothing is cut unless COLUMNS asks for it:
        // a script reading the table must get whole identifiers.
        let columns = getenv("COLUMNS").flatMap { Int(String(cString: $0)) }.flatMap { $0 > 20 ? $0 : nil }
        let width =
            tty && ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 20
            ? Int(size.ws_col) : columns ?? Int.max / 4
        return (tty && !noColor && !dumb, width)
    }

    // MARK: - Messages

    /// One response message as text (without a trailing newline).
    public func render(_ value: O2OJSONValue) -> String {
        let value = showPersonalData ? value : Self.masked(value)
        if compactJSON { return Self.json(value, pretty: false) }
        switch format {
        case .json:
            return colorize(Self.json(value, pretty: true))
        case .csv:
            if let list = Self.listShape(value) { return csv(list.rows) }
            return csv([value])
        case .table:
            if let list = Self.listShape(value) { return listTable(list, whole: value) }
            return fieldTable(value)
        case .auto:
            if let list = Self.listShape(value) { return listTable(list, whole: value) }
            return colorize(Self.json(value, pretty: true))
        }
    }

    static func json(_ value: O2OJSONValue, pretty: Bool) -> String {
        var writer = O2OJSONWriter(pretty: pretty)
        writer.value(value)
        return writer.string
    }

    /// A response that is a page of something: its one list of objects, and the rest.
    /// An entity with an id (a product and its SKUs) is one message, not a list.
    static func listShape(_ value: O2OJSONValue) -> (key: String, rows: [O2OJSONValue])? {
        guard case .object(let members) = value, !members.contains(where: { $0.key == "id" }) else { return nil }
        let lists = members.filter { member in
            if case .array(let elements) = member.value,
                elements.allSatisfy({ if case .object = $0 { return true } else { return false } })
            {
                return true
            }
            return false
        }
        guard lists.count == 1, case .array(let rows) = lists[0].value else { return nil }
        return (lists[0].key, rows)
    }

    // MARK: - Tables

    private func listTable(_ list: (key: String, rows: [O2OJSONValue]), whole: O2OJSONValue) -> String {
        var lines: [String] = []
        if list.rows.isEmpty {
            lines.append(dim("(no \(Self.words(list.key)))"))
        } else {
            let rows = list.rows.map(Self.flattenedEntities)
            var columns: [String] = []
            for row in rows {
                guard case .object(let members) = row else { continue }
                for member in members where !columns.contains(member.key) { columns.append(member.key) }
            }
            var cells = rows.map { row in columns.map { column in plainCell(Self.member(row, column), column: column) }
            }
            // Too wide for the screen: columns empty in every row and columns of nested
            // data go first, so the identifiers and the scalars stay readable.
            var hidden: [String] = []
            if tableWidth(header: columns.map(Self.words), rows: cells) > width {
                let keep = columns.indices.filter { column in
                    let values = rows.map { Self.member($0, columns[column]) }
                    let empty = cells.allSatisfy { $0[column].isEmpty }
                    let nested = values.contains { Self.isNested($0) }
                    return !empty && !nested
                }
                if !keep.isEmpty, keep.count < columns.count {
                    hidden = columns.indices.filter { !keep.contains($0) }.map { Self.words(columns[$0]) }
                    columns = keep.map { columns[$0] }
                    cells = cells.map { row in keep.map { row[$0] } }
                }
            }
            lines.append(
                contentsOf: table(
                    header: columns.map(Self.words),
                    rows: cells,
                    keyColumns: Set(columns.indices.filter { Self.isKey(columns[$0]) }),
                    alsoHidden: hidden
                )
            )
            lines.append(dim("\(list.rows.count) \(list.rows.count == 1 ? "row" : "rows")"))
        }
        // The rest of the response (a page token, a total) under the table.
        if case .object(let members) = whole {
            for member in members where member.key != list.key {
                lines.append(dim("\(Self.words(member.key)): ") + plainCell(member.value, column: member.key))
            }
        }
        return lines.joined(separator: "\n")
    }

    private func fieldTable(_ value: O2OJSONValue) -> String {
        guard case .object(let members) = value else { return plainCell(value, column: "") }
        if members.isEmpty { return dim("(empty)") }
        let rows = members.map { [Self.words($0.key), plainCell($0.value, column: $0.key)] }
        return table(header: ["field", "value"], rows: rows).joined(separator: "\n")
    }

    /// A row whose members include whole entities (a search hit holding its product)
    /// with the entity's fields lifted into the row: "product" → "productId",
    /// "productName"… Nested values without an id (an address) stay as they are.
    static func flattenedEntities(_ row: O2OJSONValue) -> O2OJSONValue {
        guard case .object(let members) = row else { return row }
        // The entity's identifiers and names lead, the row's own fields (relevance, a
        // price) follow, then the rest of the entity.
        var leading: [O2OJSONValue.Member] = []
        var own: [O2OJSONValue.Member] = []
        var trailing: [O2OJSONValue.Member] = []
        for member in members {
            guard case .object(let inner) = member.value, inner.contains(where: { $0.key == "id" }) else {
                own.append(member)
                continue
            }
            for field in inner {
                let key =
                    field.key.lowercased().hasPrefix(member.key.lowercased())
                    ? field.key : member.key + field.key.prefix(1).uppercased() + field.key.dropFirst()
                let lifted = O2OJSONValue.Member(key: key, value: field.value)
                let identifying =
                    field.key == "id" || field.key == "code" || field.key.hasSuffix("Code")
                    || field.key.hasPrefix("name")
                if identifying { leading.append(lifted) } else { trailing.append(lifted) }
            }
        }
        return .object(leading + own + trailing)
    }

    /// Whether a value shows as raw JSON or an item count in a cell, rather than as a
    /// scalar, an amount, a time or a point.
    static func isNested(_ value: O2OJSONValue) -> Bool {
        switch value {
        case .object(let members):
            return money(members) == nil && localTime(members) == nil && point(members) == nil
                && !members.contains(where: { $0.key == "principal" })
        case .array(let elements):
            return elements.contains { if case .object = $0 { return isNested($0) } else { return false } }
        default:
            return false
        }
    }

    /// Identifiers and codes: people copy them, so they are cut last.
    static func isKey(_ column: String) -> Bool {
        column == "id" || column == "code" || column == "sku" || column.hasSuffix("Id") || column.hasSuffix("Code")
    }

    private static let separator = 2

    func tableWidth(header: [String], rows: [[String]]) -> Int {
        header.indices.map { column in
            max(Self.displayWidth(header[column]), rows.map { Self.displayWidth($0[column]) }.max() ?? 0)
        }.reduce(0, +) + Self.separator * max(0, header.count - 1)
    }

    /// Aligned columns that fit `width`, cells cut with "…"; columns that do not fit
    /// are named under the table.
    func table(header: [String], rows: [[String]], keyColumns: Set<Int> = [], alsoHidden: [String] = []) -> [String] {
        var widths = header.indices.map { column in
            max(Self.displayWidth(header[column]), rows.map { Self.displayWidth($0[column]) }.max() ?? 0)
        }
        let separator = Self.separator
        var total: Int { widths.reduce(0, +) + separator * max(0, widths.count - 1) }
        // As many columns as fit at their smallest (whole identifiers, 10 for the
        // rest), then the widest columns give way until the line fits.
        let smallest = widths.indices.map { min(widths[$0], keyColumns.contains($0) ? 34 : 10) }
        var shown = 1
        while shown < widths.count, smallest.prefix(shown + 1).reduce(0, +) + separator * shown <= width { shown += 1 }
        widths = Array(widths.prefix(shown))
        func shrink(_ candidates: [Int], to floor: (Int) -> Int) {
            while total > width,
                let widest = candidates.filter({ widths[$0] > floor($0) }).max(by: { widths[$0] < widths[$1] })
            {
                widths[widest] -= 1
            }
        }
        shrink(Array(widths.indices)) { smallest[$0] }
        shrink(Array(widths.indices)) { _ in 4 }
        func line(_ cells: [String], bold: Bool) -> String {
            var text = ""
            for column in 0..<shown {
                let cell = Self.fit(cells[column], widths[column])
                let padded =
                    column == shown - 1
                    ? cell : cell + String(repeating: " ", count: widths[column] - Self.displayWidth(cell) + separator)
                text += bold ? self.bold(padded) : padded
            }
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        var lines = [line(header, bold: true)] + rows.map { line($0, bold: false) }
        let notShown = Array(header[widths.count...]) + alsoHidden
        if !notShown.isEmpty {
            lines.append(
                dim(
                    "(\(notShown.count) more \(notShown.count == 1 ? "column" : "columns"): \(notShown.joined(separator: ", ")); --format json shows everything)"
                )
            )
        }
        return lines
    }

    private func csv(_ rows: [O2OJSONValue]) -> String {
        var columns: [String] = []
        for row in rows {
            guard case .object(let members) = row else { continue }
            for member in members where !columns.contains(member.key) { columns.append(member.key) }
        }
        func escape(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + text.replacingAll("\"", with: "\"\"") + "\"" : text
        }
        var lines = [columns.map(escape).joined(separator: ",")]
        for row in rows {
            lines.append(columns.map { escape(plainCell(Self.member(row, $0), column: $0)) }.joined(separator: ","))
        }
        return lines.joined(separator: "\n")
    }

    static func member(_ value: O2OJSONValue, _ key: String) -> O2OJSONValue {
        guard case .object(let members) = value else { return .null }
        return members.first { $0.key == key }?.value ?? .null
    }

    /// "stockLevels" → "stock levels".
    static func words(_ key: String) -> String {
        var text = ""
        for character in key {
            if character.isUppercase {
                text += " " + character.lowercased()
            } else {
                text.append(character)
            }
        }
        return text
    }

    // MARK: - Cells

    /// A value as one short line.
    func plainCell(_ value: O2OJSONValue, column: String) -> String {
        switch value {
        case .null: return ""
        case .bool(let flag): return flag ? "yes" : "no"
        case .number(let text): return text
        case .string(let text): return shortEnum(text)
        case .array(let elements):
            if elements.isEmpty { return "" }
            if elements.allSatisfy({ if case .object = $0 { return false } else { return true } })
                || elements.count <= 3
            {
                let parts = elements.map { plainCell($0, column: column) }
                let joined = parts.joined(separator: ", ")
                if joined.count <= 60 { return joined }
            }
            return "[\(elements.count) items]"
        case .object(let members):
            if let money = Self.money(members) { return money }
            if let time = Self.localTime(members) { return time }
            if let point = Self.point(members) { return point }
            if let principal = members.first(where: { $0.key == "principal" }), case .string(let name) = principal.value
            {
                return name
            }
            let text = Self.json(value, pretty: false)
            return text.count > 60 ? String(text.prefix(59)) + "…" : text
        }
    }

    /// An enum value without its type prefix ("ON_SHELF"), when the schema knows it.
    func shortEnum(_ text: String) -> String {
        guard let schema, text.contains("_"), text.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" }) else {
            return text
        }
        for name in schema.enumNames {
            guard let enumeration = schema.enumeration(name), enumeration.values.contains(where: { $0.name == text })
            else { continue }
            let first = enumeration.values.first?.name ?? ""
            let prefix = first.hasSuffix("UNSPECIFIED") ? String(first.dropLast("UNSPECIFIED".count)) : ""
            return text.hasPrefix(prefix) && text.count > prefix.count ? String(text.dropFirst(prefix.count)) : text
        }
        return text
    }

    /// Minor units in a currency's decimals ("12.34 CNY").
    static func money(_ members: [O2OJSONValue.Member]) -> String? {
        let keys = Set(members.map(\.key))
        guard keys.contains("currency"), keys.isSubset(of: ["minorUnits", "currency"]) else { return nil }
        guard case .string(let currency)? = members.first(where: { $0.key == "currency" })?.value else { return nil }
        var units: Int64 = 0
        if let value = members.first(where: { $0.key == "minorUnits" })?.value {
            switch value {
            case .string(let text), .number(let text): units = Int64(text) ?? 0
            default: return nil
            }
        }
        let decimals =
            ["JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3][
                currency
            ] ?? 2
        guard decimals > 0 else { return "\(units) \(currency)" }
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let sign = units < 0 ? "-" : ""
        let fraction = String(abs(units) % scale)
        return
            "\(sign)\(abs(units) / scale).\(String(repeating: "0", count: decimals - fraction.count) + fraction) \(currency)"
    }

    /// A Timestamp ({"seconds": …, "nanos": …}) in local time.
    static func localTime(_ members: [O2OJSONValue.Member]) -> String? {
        let keys = Set(members.map(\.key))
        guard keys.contains("seconds"), keys.isSubset(of: ["seconds", "nanos"]) else { return nil }
        guard let value = members.first(where: { $0.key == "seconds" })?.value else { return nil }
        let seconds: Int
        switch value {
        case .string(let text), .number(let text): seconds = Int(text) ?? 0
        default: return nil
        }
        var time = time_t(seconds)
        var parts = tm()
        localtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func point(_ members: [O2OJSONValue.Member]) -> String? {
        let keys = Set(members.map(\.key))
        guard !keys.isEmpty, keys.isSubset(of: ["latitude", "longitude"]) else { return nil }
        func number(_ key: String) -> String {
            if case .number(let text)? = members.first(where: { $0.key == key })?.value { return text }
            return "0"
        }
        return "\(number("latitude")),\(number("longitude"))"
    }

    // MARK: - Personal data

    /// Fields that hold personal data or a secret: masked unless --show-pii. An
    /// order's customer note and pickup code (取货码) are the customer's.
    static let personalFields: Set<String> = [
        "phone", "contactPhone", "recipientPhone", "recipientName", "email", "contactEmail", "customerNote",
        "pickupCode", "satisfactionComment", "reasonDetail",
    ]
    /// Free text that is personal only in some messages (a ticket's description is
    /// the customer's account, a product's is not): an object with all the keys of
    /// `when` has its `mask` fields masked. Tickets and after-sales cases, their
    /// notes and history entries.
    static let personalTexts: [(when: Set<String>, mask: Set<String>)] = [
        (["subject", "channel"], ["description", "resolution"]),
        (["ticketId"], ["text", "note"]),
        (["caseId"], ["note"]),
        (["orderId", "customerId", "lines", "kind"], ["description"]),
    ]
    /// Objects that are a customer's address, where the street is personal too (a
    /// store's address is not).
    static let personalAddresses: Set<String> = ["shippingAddress"]

    static func masked(_ value: O2OJSONValue, street: Bool = false) -> O2OJSONValue {
        switch value {
        case .object(let members):
            let keys = Set(members.map(\.key))
            let texts = personalTexts.filter { $0.when.isSubset(of: keys) }.reduce(into: Set<String>()) {
                $0.formUnion($1.mask)
            }
            return .object(
                members.map { member in
                    if personalFields.contains(member.key) || texts.contains(member.key)
                        || (street && member.key == "street"),
                        case .string(let text) = member.value, !text.isEmpty
                    {
                        return .init(key: member.key, value: .string(mask(text)))
                    }
                    return .init(
                        key: member.key,
                        value: masked(member.value, street: personalAddresses.contains(member.key))
                    )
                }
            )
        case .array(let elements):
            return .array(elements.map { masked($0) })
        default:
            return value
        }
    }

    /// Keeps enough to recognise a value: "+86138****8000", "w***@example.com", "王**".
    static func mask(_ text: String) -> String {
        if let at = text.firstIndex(of: "@") {
            return String(text.prefix(1)) + "***" + text[at...]
        }
        if text.hasPrefix("+"), text.count > 8 {
            return String(text.prefix(6)) + String(repeating: "*", count: text.count - 10 > 0 ? text.count - 10 : 1)
                + String(text.suffix(4))
        }
        return String(text.prefix(1)) + String(repeating: "*", count: max(1, text.count - 1))
    }

    // MARK: - Text

    func bold(_ text: String) -> String { color ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    func dim(_ text: String) -> String { color ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
    func red(_ text: String) -> String { color ? "\u{1B}[31m\(text)\u{1B}[0m" : text }
    func green(_ text: String) -> String { color ? "\u{1B}[32m\(text)\u{1B}[0m" : text }

    /// Pretty JSON with keys, strings and numbers in colour.
    func colorize(_ json: String) -> String {
        guard color else { return json }
        var output = ""
        var characters = Array(json)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "\"" {
                var end = index + 1
                while end < characters.count, characters[end] != "\"" {
                    if characters[end] == "\\" { end += 1 }
                    end += 1
                }
                let literal = String(characters[index...min(end, characters.count - 1)])
                var next = end + 1
                while next < characters.count, characters[next] == " " { next += 1 }
                let isKey = next < characters.count && characters[next] == ":"
                output += (isKey ? "\u{1B}[36m" : "\u{1B}[32m") + literal + "\u{1B}[0m"
                index = end + 1
            } else if character.isNumber || character == "-" {
                var end = index
                while end < characters.count, characters[end].isNumber || "-+.eE".contains(characters[end]) { end += 1 }
                output += "\u{1B}[33m" + String(characters[index..<end]) + "\u{1B}[0m"
                index = end
            } else {
                output.append(character)
                index += 1
            }
        }
        characters = []
        return output
    }

    /// Columns a string takes in a terminal: East Asian wide characters take two.
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { total, scalar in
            let value = scalar.value
            let wide =
                (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value)
                || (0xAC00...0xD7A3).contains(value)
                || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value)
                || (0xFF00...0xFF60).contains(value)
                || (0xFFE0...0xFFE6).contains(value) || (0x1F300...0x1FAFF).contains(value)
                || (0x20000...0x3FFFD).contains(value)
            let zero = scalar.properties.generalCategory == .nonspacingMark || value == 0x200B
            return total + (zero ? 0 : (wide ? 2 : 1))
        }
    }

    /// Cuts text to `width` columns, ending in "…" when cut.
    static func fit(_ text: String, _ width: Int) -> String {
        guard displayWidth(text) > width else { return text }
        var result = ""
        var used = 0
        for character in text {
            let size = displayWidth(String(character))
            if used + size > width - 1 { break }
            result.append(character)
            used += size
        }
        return result + "…"
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: Substring(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
