public import O2OMessages
public import O2ORPC

/// What a server speaks, from its reflection service: services, methods, messages and
/// enums by name. The shell resolves everything through it, so it works against a
/// server newer than itself.
public struct ShellSchema: Sendable {
    public let services: [ServiceSchema]
    private let messages: [String: MessageSchema]
    private let enums: [String: EnumSchema]
    /// Whether the server says which methods it serves (an older one does not, and
    /// then every method it lists counts as served).
    private let reportsServing: Bool

    public init(_ schema: GetSchemaResponse) {
        services = schema.services.sorted { $0.name < $1.name }
        reportsServing = schema.services.contains { $0.methods.contains(where: \.served) }
        messages = Dictionary(schema.messages.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        enums = Dictionary(schema.enums.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func message(_ name: String) -> MessageSchema? { messages[name] }

    /// Whether the server serves the method (it may be in the schema only).
    public func isServed(_ method: MethodSchema) -> Bool { !reportsServing || method.served }
    public func enumeration(_ name: String) -> EnumSchema? { enums[name] }
    public var messageNames: [String] { messages.keys.sorted() }
    public var enumNames: [String] { enums.keys.sorted() }

    /// A service by full name ("o2o.catalog.v1.CatalogService") or short name
    /// ("CatalogService", "catalogservice", "catalog").
    public func service(_ name: String) throws(ShellError) -> ServiceSchema {
        if let exact = services.first(where: { $0.name == name }) { return exact }
        let lower = name.lowercased()
        let matches = services.filter { service in
            let short = Self.shortName(service.name).lowercased()
            return short == lower || short == lower + "service"
        }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty { throw ShellError.usage("unknown service '\(name)'; 'ls' lists the services") }
        throw ShellError.usage("'\(name)' could be \(matches.map(\.name).joined(separator: " or "))")
    }

    /// A method by path ("/pkg.Service/Method"), "Service/Method", "pkg.Service.Method"
    /// or, when unambiguous, its bare name ("GetProduct", case-insensitive).
    public func method(_ name: String) throws(ShellError) -> (service: ServiceSchema, method: MethodSchema) {
        var text = name
        if text.hasPrefix("/") { text.removeFirst() }
        if let slash = text.lastIndex(of: "/") {
            let service = try service(String(text[..<slash]))
            let methodName = String(text[text.index(after: slash)...])
            guard let method = service.methods.first(where: { $0.name.lowercased() == methodName.lowercased() }) else {
                throw ShellError.usage(
                    "\(service.name) has no method '\(methodName)'; 'ls \(Self.shortName(service.name))' lists its methods"
                )
            }
            return (service, method)
        }
        if let dot = text.lastIndex(of: "."), let service = try? service(String(text[..<dot])) {
            let methodName = String(text[text.index(after: dot)...])
            if let method = service.methods.first(where: { $0.name.lowercased() == methodName.lowercased() }) {
                return (service, method)
            }
        }
        let lower = text.lowercased()
        let matches = services.flatMap { service in
            service.methods.filter { $0.name.lowercased() == lower }.map { (service, $0) }
        }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty {
            throw ShellError.usage("unknown method '\(name)'; 'ls SERVICE' lists a service's methods")
        }
        // A name shared with a method only in the schema means the one served.
        let served = matches.filter { isServed($0.1) }
        if served.count == 1 { return served[0] }
        throw ShellError.usage(
            "'\(name)' is ambiguous: \(matches.map { "\(Self.shortName($0.0.name))/\($0.1.name)" }.joined(separator: ", "))"
        )
    }

    /// A message or enum by full name or unambiguous short name.
    public func type(_ name: String) throws(ShellError) -> (message: MessageSchema?, enumeration: EnumSchema?) {
        if let message = messages[name] { return (message, nil) }
        if let enumeration = enums[name] { return (nil, enumeration) }
        let lower = name.lowercased()
        let messageMatches = messages.values.filter { Self.shortName($0.name).lowercased() == lower }
        let enumMatches = enums.values.filter { Self.shortName($0.name).lowercased() == lower }
        let count = messageMatches.count + enumMatches.count
        if count == 1 { return (messageMatches.first, enumMatches.first) }
        if count == 0 { throw ShellError.usage("unknown type or method '\(name)'") }
        let names = (messageMatches.map(\.name) + enumMatches.map(\.name)).sorted()
        throw ShellError.usage("'\(name)' is ambiguous: \(names.joined(separator: ", "))")
    }

    /// "CatalogService" for "o2o.catalog.v1.CatalogService".
    public static func shortName(_ fullName: String) -> String {
        fullName.split(separator: ".").last.map(String.init) ?? fullName
    }

    /// The descriptor a call needs.
    public static func descriptor(_ service: ServiceSchema, _ method: MethodSchema) -> RPCMethodDescriptor {
        let kind: RPCCallKind
        switch method.kind {
        case .serverStreaming: kind = .serverStreaming
        case .clientStreaming: kind = .clientStreaming
        case .bidirectionalStreaming: kind = .bidirectionalStreaming
        default: kind = .unary
        }
        let idempotency: RPCIdempotency
        switch method.idempotency {
        case .noSideEffects: idempotency = .noSideEffects
        case .idempotent: idempotency = .idempotent
        default: idempotency = .unspecified
        }
        return RPCMethodDescriptor(
            service: service.name,
            method: method.name,
            kind: kind,
            idempotency: idempotency,
            requestType: method.requestType,
            responseType: method.responseType,
            doc: method.doc
        )
    }
}

/// What went wrong in the shell, and the exit code it means.
public enum ShellError: Error, Sendable, CustomStringConvertible {
    /// The command line or its input is wrong: exit code 2.
    case usage(String)
    /// The server answered with an error status: exit code 64 + the status code.
    case rpc(RPCError)
    /// Anything else on this side (a file that cannot be read): exit code 1.
    case local(String)

    public var description: String {
        switch self {
        case .usage(let text), .local(let text): return text
        case .rpc(let error): return "\(error.code.name): \(error.message)"
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .usage: return 2
        case .rpc(let error): return 64 + Int32(error.code.rawValue)
        case .local: return 1
        }
    }
}
