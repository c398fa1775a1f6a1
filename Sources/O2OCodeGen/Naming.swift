/// Name conversions: proto names to Swift names, and to the names protoc-c gives the
/// same things in C (the generated bridge must use exactly protoc-c's spelling).
enum Naming {
    // MARK: Swift

    /// `sku_id` → `skuID`, `image_urls` → `imageURLs`: lower camel case with Swift's
    /// capitalised acronyms.
    static func lowerCamel(_ snake: String) -> String {
        let parts = snake.split(separator: "_").map { String($0).lowercased() }
        guard let first = parts.first else { return snake }
        return first + parts.dropFirst().map(capitalisedPart).joined()
    }

    /// `sku_id` → `SkuID`.
    static func upperCamel(_ snake: String) -> String {
        snake.split(separator: "_").map { capitalisedPart(String($0).lowercased()) }.joined()
    }

    /// `GetProduct` → `getProduct`, `GetSKU` → `getSKU`.
    static func lowerFirst(_ name: String) -> String {
        guard let first = name.first else { return name }
        return first.lowercased() + name.dropFirst()
    }

    private static let acronyms: [String: String] = ["id": "ID", "ids": "IDs", "url": "URL", "urls": "URLs"]

    private static func capitalisedPart(_ part: String) -> String {
        if let acronym = acronyms[part] { return acronym }
        guard let first = part.first else { return part }
        return first.uppercased() + part.dropFirst()
    }

    /// Swift keywords that must be escaped with backticks where a name is declared.
    static let swiftKeywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
        "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default", "defer",
        "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where",
        "while", "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try",
        "Type", "Protocol", "package", "consume", "borrowing", "consuming", "some", "any",
    ]

    /// The name, escaped if it is a keyword.
    static func escaped(_ name: String) -> String {
        swiftKeywords.contains(name) ? "`\(name)`" : name
    }

    // MARK: C (protoc-c's conventions)

    /// protoc-c's `ToCamel`: `o2o` → `O2o`, `x_y` → `XY`, `Product` → `Product`.
    static func cCamel(_ piece: String) -> String {
        var result = ""
        var nextIsUpper = true
        for character in piece {
            if character == "_" {
                nextIsUpper = true
            } else if nextIsUpper {
                result += character.uppercased()
                nextIsUpper = false
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// protoc-c's `CamelToLower`: `GetSKURequest` → `get_skurequest`.
    static func cLower(_ piece: String) -> String {
        var result = ""
        var previousWasUpper = true
        for character in piece {
            let isUpper = character.isASCII && character.isUppercase
            if isUpper {
                if !previousWasUpper { result += "_" }
                result += character.lowercased()
            } else {
                result.append(character)
            }
            previousWasUpper = isUpper
        }
        return result
    }

    /// The C struct or enum type of a message or enum: `O2o__Catalog__V1__Product`.
    static func cTypeName(fullName: String) -> String {
        fullName.split(separator: ".").map { cCamel(String($0)) }.joined(separator: "__")
    }

    /// The lower-case C prefix of a message: `o2o__catalog__v1__product`.
    static func cLowerName(fullName: String) -> String {
        fullName.split(separator: ".").map { cLower(String($0)) }.joined(separator: "__")
    }

    /// protoc-c appends `_` to C++98 keywords (its list, checked against its output).
    static let cKeywords: Set<String> = [
        "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch", "char", "class", "compl",
        "const", "const_cast", "continue", "default", "delete", "do", "double", "dynamic_cast", "else", "enum",
        "explicit", "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable",
        "namespace", "new", "not", "not_eq", "operator", "or", "or_eq", "private", "protected", "public", "register",
        "reinterpret_cast", "return", "short", "signed", "sizeof", "static", "static_cast", "struct", "switch",
        "template", "this", "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
        "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
    ]

    /// A field's member name in the C struct: lower case, `_` appended to keywords.
    static func cFieldName(_ name: String) -> String {
        let lower = name.lowercased()
        return cKeywords.contains(lower) ? lower + "_" : lower
    }

    /// The member holding which field of a oneof is set: `target_case`.
    static func cOneofCaseName(_ oneofName: String) -> String {
        cLower(oneofName) + "_case"
    }

    /// Whether a field or oneof name follows the schema rules (lower snake case, an
    /// optional leading underscore for synthetic oneofs).
    static func isLowerSnake(_ name: String) -> Bool {
        var body = Substring(name)
        if body.first == "_" { body = body.dropFirst() }
        guard let first = body.first, first.isASCII, first.isLowercase else { return false }
        return body.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }
    }
}
