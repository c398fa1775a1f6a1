/// Every message and enum of a generation request by full name, with the names the
/// generated Swift and protoc-c's C give it.
struct TypeIndex {
    enum Kind {
        case message(ProtoMessage)
        case enumeration(ProtoEnum)
    }

    struct Entry {
        var kind: Kind
        /// Qualified Swift name ("Product", "Product.Variant").
        var swiftName: String
        /// The C type ("O2o__Catalog__V1__Product").
        var cTypeName: String
        /// The C prefix of functions and descriptors ("o2o__catalog__v1__product").
        var cLowerName: String
        /// The file that defines it.
        var file: String

        var message: ProtoMessage? {
            if case .message(let message) = kind { return message }
            return nil
        }

        var isMapEntry: Bool { message?.isMapEntry ?? false }

        /// The Swift expression for the address of the C descriptor of a message.
        var cDescriptorExpression: String { "\(cLowerName)__descriptor_ptr()" }
    }

    private(set) var entries: [String: Entry] = [:]

    init(files: [ProtoFile]) throws {
        var topLevelSwiftNames: [String: String] = [:]
        for file in files {
            let prefix = file.swiftPrefix ?? Self.defaultSwiftPrefix(package: file.package)
            func claim(_ swiftName: String, _ fullName: String) throws {
                if let other = topLevelSwiftNames[swiftName] {
                    throw GeneratorError(
                        "\(file.name): \(fullName) would be the Swift type \(swiftName), which \(other) already is; "
                            + "rename one of them (all files share one Swift namespace)"
                    )
                }
                topLevelSwiftNames[swiftName] = fullName
            }
            for message in file.messages {
                try claim(prefix + message.name, message.fullName)
                add(message, swiftName: prefix + message.name, file: file.name)
            }
            for enumeration in file.enums {
                try claim(prefix + enumeration.name, enumeration.fullName)
                add(enumeration, swiftName: prefix + enumeration.name, file: file.name)
            }
            for service in file.services {
                for suffix in ["", "Protocol", "Client"] {
                    try claim(prefix + service.name + suffix, service.fullName)
                }
            }
        }
    }

    private mutating func add(_ message: ProtoMessage, swiftName: String, file: String) {
        entries[message.fullName] = Entry(
            kind: .message(message),
            swiftName: swiftName,
            cTypeName: Naming.cTypeName(fullName: message.fullName),
            cLowerName: Naming.cLowerName(fullName: message.fullName),
            file: file
        )
        for nested in message.messages {
            add(nested, swiftName: swiftName + "." + nested.name, file: file)
        }
        for nested in message.enums {
            add(nested, swiftName: swiftName + "." + nested.name, file: file)
        }
    }

    private mutating func add(_ enumeration: ProtoEnum, swiftName: String, file: String) {
        entries[enumeration.fullName] = Entry(
            kind: .enumeration(enumeration),
            swiftName: swiftName,
            cTypeName: Naming.cTypeName(fullName: enumeration.fullName),
            cLowerName: Naming.cLowerName(fullName: enumeration.fullName),
            file: file
        )
    }

    subscript(_ fullName: String) -> Entry {
        guard let entry = entries[fullName] else { fatalError("unknown type \(fullName)") }
        return entry
    }

    func contains(_ fullName: String) -> Bool { entries[fullName] != nil }

    /// swift-protobuf's convention when a file sets no `swift_prefix`: `o2o.catalog.v1`
    /// → `O2o_Catalog_V1_`.
    static func defaultSwiftPrefix(package: String) -> String {
        guard !package.isEmpty else { return "" }
        return package.split(separator: ".").map { Naming.upperCamel(String($0)) }.joined(separator: "_") + "_"
    }
}
