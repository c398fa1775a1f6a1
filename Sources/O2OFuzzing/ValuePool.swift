import O2OMessages

/// Ids, codes and page tokens the server has answered with, by the field name they
/// belong in: what lets generated requests name things that exist, so they get past
/// the lookups to the code behind them. Filled from every successful response.
struct ValuePool {
    private var strings: [String: [String]] = [:]
    private var numbers: [String: [Int64]] = [:]
    private let schema: FuzzSchema
    /// Values kept per key; the oldest go first.
    private let capacity = 48

    init(schema: FuzzSchema) { self.schema = schema }

    /// A value seen for a request field named `field` of message `message`, if any.
    func string(for field: String, in message: String, using random: inout FuzzRandom) -> String? {
        for key in Self.lookupKeys(field: field, message: message) {
            if let values = strings[key], !values.isEmpty { return random.pick(values) }
        }
        return nil
    }

    /// A number seen for `field` (versions, for expected_version), if any.
    func number(for field: String, using random: inout FuzzRandom) -> Int64? {
        numbers[field].flatMap { $0.isEmpty ? nil : random.pick($0) }
    }

    var keyCount: Int { strings.count }

    /// Takes every string (and version) of a response of type `type`.
    mutating func harvest(_ bytes: [UInt8], as type: String) {
        var budget = 4_096  // values taken from one response: a huge page is sampled, not copied
        walk(bytes, type: type, depth: 0, budget: &budget)
    }

    private mutating func walk(_ bytes: [UInt8], type: String, depth: Int, budget: inout Int) {
        guard depth < 16, let message = schema.message(type) else { return }
        var reader = ProtoWireReader(bytes)
        while !reader.atEnd, budget > 0 {
            guard let (number, wireType) = try? reader.tag(path: "") else { return }
            guard let field = message.fields.first(where: { $0.number == number }) else {
                if (try? reader.skip(wireType, path: "")) == nil { return }
                continue
            }
            switch (field.type, wireType) {
            case (.string, 2):
                guard let body = try? reader.lengthDelimited(path: "") else { return }
                if field.map { continue }
                if let value = String(validating: body, as: UTF8.self), !value.isEmpty, value.utf8.count <= 200 {
                    budget -= 1
                    for key in Self.harvestKeys(field: field.name, message: type) { add(value, key: key) }
                }
            case (.message, 2):
                guard let body = try? reader.lengthDelimited(path: "") else { return }
                if !field.map { walk(body, type: field.typeName, depth: depth + 1, budget: &budget) }
            case (.int64, 0) where field.name == "version":
                guard let value = try? reader.varint(path: "") else { return }
                budget -= 1
                add(number: Int64(bitPattern: value), key: "expected_version")
            default:
                if (try? reader.skip(wireType, path: "")) == nil { return }
            }
        }
    }

    private mutating func add(_ value: String, key: String) {
        var values = strings[key, default: []]
        if values.contains(value) { return }
        if values.count >= capacity { values.removeFirst() }
        values.append(value)
        strings[key] = values
    }

    private mutating func add(number: Int64, key: String) {
        var values = numbers[key, default: []]
        if values.contains(number) { return }
        if values.count >= capacity { values.removeFirst() }
        values.append(number)
        numbers[key] = values
    }

    /// Where a response's string goes: an entity's own `id` under "<entity>_id" and
    /// under its last word ("o2o.care.v1.AfterSalesCase" → "after_sales_case_id",
    /// "case_id"), a next page token under "page_token", a list of ids under the
    /// singular, anything else under its own name.
    static func harvestKeys(field: String, message: String) -> [String] {
        switch field {
        case "id":
            let key = entityKey(message)
            let last = key.split(separator: "_").suffix(2).joined(separator: "_")
            return last == key ? [key] : [key, last]
        case "next_page_token": return ["page_token"]
        default: return [singular(field)]
        }
    }

    /// Where a request field looks, most specific first: its own name, then without
    /// its leading words ("from_location_id" → "location_id"), and an `id` field the
    /// entity its request message names.
    static func lookupKeys(field: String, message: String) -> [String] {
        var keys = [field == "id" ? entityKey(message) : singular(field)]
        var words = keys[0].split(separator: "_")
        while words.count > 2, keys[0].hasSuffix("_id") {
            words.removeFirst()
            keys.append(words.joined(separator: "_"))
        }
        return keys
    }

    private static func singular(_ field: String) -> String {
        field.hasSuffix("_ids") ? String(field.dropLast()) : field
    }

    /// "o2o.order.v1.GetOrderRequest" → "order_id", "o2o.catalog.v1.Sku" → "sku_id".
    static func entityKey(_ message: String) -> String {
        var name = Substring(message.split(separator: ".").last ?? "")
        for suffix in ["Request", "Response"] where name.hasSuffix(suffix) { name = name.dropLast(suffix.count) }
        var words: [String] = []
        for character in name {
            if character.isUppercase || words.isEmpty { words.append("") }
            words[words.count - 1].append(Character(character.lowercased()))
        }
        let verbs: Set<String> = [
            "get", "update", "delete", "archive", "restore", "cancel", "close", "open", "set", "add", "remove",
            "erase", "list", "confirm", "release", "pay", "ship", "refund", "resolve", "reopen", "assign", "approve",
            "reject", "complete", "activate", "pause", "end", "publish", "retire", "post", "submit", "receive", "void",
            "deactivate", "moderate", "reply", "inspect", "mark", "record", "create", "extend", "refresh", "change",
            "transition", "redeem", "reverse", "issue", "start", "watch",
        ]
        if words.count > 1, verbs.contains(words[0]) { words.removeFirst() }
        return words.joined(separator: "_") + "_id"
    }
}
