/// Emits one enum: a Swift enum with a case per value plus `unrecognized(Int32)` for
/// numbers this version does not know (proto3 enums are open).
struct EnumEmitter {
    let enumeration: ProtoEnum
    let entry: TypeIndex.Entry

    /// Swift case names, in value order.
    static func caseNames(_ enumeration: ProtoEnum) throws -> [String] {
        let prefix = screamingSnake(enumeration.name) + "_"
        var seen: [String: String] = [:]
        var numbers: [Int32: String] = [:]
        return try enumeration.values.map { value in
            var name = value.name
            if name.hasPrefix(prefix), name.count > prefix.count { name.removeFirst(prefix.count) }
            var swiftName = Naming.lowerCamel(name.lowercased())
            if let first = swiftName.first, first.isNumber { swiftName = "_" + swiftName }
            if swiftName == "none" || swiftName == "unrecognized" {
                throw GeneratorError(
                    "\(enumeration.fullName): value \(value.name) would be the Swift case '\(swiftName)'; rename it"
                )
            }
            if let other = seen[swiftName] {
                throw GeneratorError("\(enumeration.fullName): \(value.name) and \(other) both become '.\(swiftName)'")
            }
            if let other = numbers[value.number] {
                throw GeneratorError(
                    "\(enumeration.fullName): \(value.name) and \(other) share a number (aliases are not supported)"
                )
            }
            seen[swiftName] = value.name
            numbers[value.number] = value.name
            return swiftName
        }
    }

    /// `ProductStatus` → `PRODUCT_STATUS`.
    static func screamingSnake(_ name: String) -> String {
        var result = ""
        var previous: Character?
        for character in name {
            if character.isUppercase, let previous, previous.isLowercase || previous.isNumber { result += "_" }
            result += character.uppercased()
            previous = character
        }
        return result
    }

    func emit(into w: inout CodeWriter) throws {
        let cases = try Self.caseNames(enumeration)
        let parts = entry.swiftName.split(separator: ".")
        let body: (inout CodeWriter) -> Void = { w in
            w.doc(enumeration.doc)
            w.block("public enum \(parts.last!): O2ODescribedEnum") { w in
                for (value, name) in zip(enumeration.values, cases) {
                    w.doc(value.doc)
                    w.line("case \(Naming.escaped(name))")
                }
                w.line("/// A number this version of the schema does not know.")
                w.line("case unrecognized(Int32)")
                w.line()
                w.line("/// The full protobuf name.")
                w.line("public static let protoName = \(swiftStringLiteral(enumeration.fullName))")
                w.line()
                w.line("/// Every value the schema defines, in declaration order.")
                w.line(
                    "public static let knownCases: [Self] = [\(cases.map { "." + Naming.escaped($0) }.joined(separator: ", "))]"
                )
                w.line()
                w.block("public init(rawValue: Int32)") { w in
                    w.switchBlock("switch rawValue") { w in
                        for (value, name) in zip(enumeration.values, cases) {
                            w.line("case \(value.number): self = .\(Naming.escaped(name))")
                        }
                        w.line("default: self = .unrecognized(rawValue)")
                    }
                }
                w.line()
                w.block("public var rawValue: Int32") { w in
                    w.switchBlock("switch self") { w in
                        for (value, name) in zip(enumeration.values, cases) {
                            w.line("case .\(Naming.escaped(name)): \(value.number)")
                        }
                        w.line("case .unrecognized(let number): number")
                    }
                }
                w.line()
                w.line("/// The value's name in the schema (and in JSON); nil for an unrecognized number.")
                w.block("public var protoValueName: String?") { w in
                    w.switchBlock("switch self") { w in
                        for (value, name) in zip(enumeration.values, cases) {
                            w.line("case .\(Naming.escaped(name)): \(swiftStringLiteral(value.name))")
                        }
                        w.line("case .unrecognized: nil")
                    }
                }
                w.line()
                w.line("/// The value with this schema name, if any.")
                w.block("public init?(protoValueName: String)") { w in
                    w.switchBlock("switch protoValueName") { w in
                        for (value, name) in zip(enumeration.values, cases) {
                            w.line("case \(swiftStringLiteral(value.name)): self = .\(Naming.escaped(name))")
                        }
                        w.line("default: return nil")
                    }
                }
                w.line()
                w.line("/// The enum's shape, for reflection.")
                w.line("public static let _enumSchema = EnumSchema(")
                w.indent { w in
                    w.line("name: \(swiftStringLiteral(enumeration.fullName)),")
                    w.line("doc: \(swiftStringLiteral(enumeration.doc)),")
                    w.line("values: [")
                    w.indent { w in
                        for value in enumeration.values {
                            w.line(
                                "EnumValueSchema(name: \(swiftStringLiteral(value.name)), number: \(value.number), "
                                    + "doc: \(swiftStringLiteral(value.doc))),"
                            )
                        }
                    }
                    w.line("]")
                }
                w.line(")")
            }
        }
        if parts.count > 1 {
            w.block("extension \(parts.dropLast().joined(separator: "."))") { w in body(&w) }
        } else {
            body(&w)
        }
    }
}
