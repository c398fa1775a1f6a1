/// Tab completion for the interactive shell: commands, then services, methods and
/// types as each command takes them, then JSON field names of the request being typed.
public struct ShellCompletion: Sendable {
    public let schema: ShellSchema?

    public init(schema: ShellSchema?) {
        self.schema = schema
    }

    /// What can replace the text from `replaceFrom` (an index into `line`) to its end.
    public func complete(_ line: String) -> (replaceFrom: Int, candidates: [String]) {
        let characters = Array(line)
        // Inside a JSON request: field names.
        if let brace = characters.firstIndex(where: { $0 == "{" || $0 == "'" }) {
            let words = String(characters[..<brace]).split(separator: " ").map(String.init)
            if words.count >= 2, words[0].lowercased() == "call" {
                return completeJSON(characters, from: brace, method: words[1])
            }
        }
        var start = characters.count
        while start > 0, characters[start - 1] != " " { start -= 1 }
        let word = String(characters[start...])
        let before = String(characters[..<start]).split(separator: " ").map(String.init)
        let candidates: [String]
        if before.isEmpty {
            candidates = ShellCommand.Verb.allCases.map(\.rawValue)
        } else {
            switch before[0].lowercased() {
            case "ls", "health":
                candidates = before.count == 1 ? serviceNames() : []
            case "describe":
                candidates = before.count == 1 ? serviceNames() + methodNames() + typeNames() : []
            case "call":
                candidates = before.count == 1 ? methodNames() : (before.count == 2 && word.isEmpty ? ["'{"] : [])
            case "help":
                candidates = before.count == 1 ? ShellCommand.Verb.allCases.map(\.rawValue) : []
            default:
                candidates = []
            }
        }
        let matches = candidates.filter { $0.lowercased().hasPrefix(word.lowercased()) }
        return (start, Array(Set(matches)).sorted())
    }

    private func serviceNames() -> [String] {
        schema?.services.map { ShellSchema.shortName($0.name) } ?? []
    }

    /// The methods a call can reach: those the server serves.
    private func methodNames() -> [String] {
        guard let schema else { return [] }
        var counts: [String: Int] = [:]
        for service in schema.services {
            for method in service.methods where schema.isServed(method) { counts[method.name, default: 0] += 1 }
        }
        var names: [String] = []
        for service in schema.services {
            for method in service.methods where schema.isServed(method) {
                names.append("\(ShellSchema.shortName(service.name))/\(method.name)")
                if counts[method.name] == 1 { names.append(method.name) }
            }
        }
        return names
    }

    private func typeNames() -> [String] {
        guard let schema else { return [] }
        return (schema.messageNames + schema.enumNames).map(ShellSchema.shortName)
    }

    /// Field names of the message whose object the cursor is in, found by following the
    /// keys of the objects still open before it.
    private func completeJSON(_ characters: [Character], from start: Int, method: String) -> (Int, [String]) {
        guard let schema, let (_, methodSchema) = try? schema.method(method) else { return (characters.count, []) }
        var stack: [String?] = []
        var type: String? = methodSchema.requestType
        var inString = false
        var escaped = false
        var lastKey = ""
        var token = ""
        var tokenStart = characters.count
        var expectingKey = false
        // After "key": — the field whose value is being typed, and whether the open
        // string is that value rather than a key.
        var valueKey: String?
        var stringIsValue = false
        for index in start..<characters.count {
            let character = characters[index]
            if inString {
                if escaped {
                    escaped = false
                    token.append(character)
                    continue
                }
                if character == "\\" {
                    escaped = true
                    continue
                }
                if character == "\"" {
                    inString = false
                    if stringIsValue { valueKey = nil } else { lastKey = token }
                    continue
                }
                token.append(character)
                continue
            }
            switch character {
            case "\"":
                inString = true
                stringIsValue = valueKey != nil
                token = ""
                tokenStart = index
            case "{":
                stack.append(type)
                if stack.count > 1 {
                    type = type.flatMap { schema.message($0) }?.fields.first(where: {
                        $0.jsonName == lastKey || $0.name == lastKey
                    })
                    .flatMap { $0.type == .message ? $0.typeName : nil }
                }
                expectingKey = true
                valueKey = nil
            case "}":
                type = stack.popLast() ?? nil
                expectingKey = false
                valueKey = nil
            case ",":
                expectingKey = true
                valueKey = nil
            case ":":
                expectingKey = false
                valueKey = lastKey
            case " ", "\n", "\t":
                break
            default:
                valueKey = nil
            }
        }
        guard let message = type.flatMap({ schema.message($0) }) else { return (characters.count, []) }
        // A value: enum names (short, as the shell accepts them) or true/false.
        if let key = valueKey, !inString || stringIsValue {
            guard let field = message.fields.first(where: { $0.jsonName == key || $0.name == key }) else {
                return (characters.count, [])
            }
            let typed = inString ? token : ""
            let from = inString ? tokenStart : characters.count
            var values: [String] = []
            if field.type == .enum, let enumeration = schema.enumeration(field.typeName) {
                let first = enumeration.values.first?.name ?? ""
                let prefix = first.hasSuffix("UNSPECIFIED") ? String(first.dropLast("UNSPECIFIED".count)) : ""
                values = enumeration.values.dropFirst(prefix.isEmpty ? 0 : 1).map { value in
                    "\"" + (value.name.hasPrefix(prefix) ? String(value.name.dropFirst(prefix.count)) : value.name)
                        + "\""
                }
            } else if field.type == .bool, !inString {
                values = ["true", "false"]
            }
            let wanted = (inString ? "\"" : "") + typed.lowercased()
            return (from, values.filter { $0.lowercased().hasPrefix(wanted) })
        }
        // A key: right after "{" or ",", maybe inside an opened quote.
        guard expectingKey || inString else { return (characters.count, []) }
        let typed = inString ? token : ""
        let from = inString ? tokenStart : characters.count
        let names = message.fields.map(\.jsonName).filter { $0.lowercased().hasPrefix(typed.lowercased()) }
        return (from, names.map { "\"\($0)\":" })
    }
}
