public import O2ORPC
public import O2ORPCMessages
import O2OServiceKit

/// What the server offers and the shape of every message: lets tools such as the
/// `o2o` shell list, describe and call methods they were not built with.
public struct ReflectionServiceProvider: ReflectionServiceProtocol {
    private let services: [ServiceSchema]
    private let messages: [String: MessageSchema]
    private let enums: [String: EnumSchema]

    /// - Parameters:
    ///   - services: The services of the schema: those the server hosts and those it
    ///     does not (yet).
    ///   - served: The paths of the methods the server serves (its router's); nil
    ///     means every method of `services`.
    ///   - policy: Which role each method needs, shown as `required_role`.
    ///   - messageTypes: Every message type the services use, by full name (the
    ///     registries of the generated modules, which this module does not know).
    ///   - enumTypes: Every enum type, by full name.
    public init(
        services: [RPCServiceDescriptor],
        served: Set<String>? = nil,
        policy: RPCAccessPolicy,
        messageTypes: [String: any O2ODescribedMessage.Type],
        enumTypes: [String: any O2ODescribedEnum.Type]
    ) {
        self.services = services.sorted { $0.name < $1.name }.map { service in
            ServiceSchema(
                name: service.name,
                doc: service.doc,
                methods: service.methods.map {
                    Self.schema($0, policy: policy, served: served?.contains($0.path) ?? true)
                }
            )
        }
        var messages: [String: MessageSchema] = [:]
        var enums: [String: EnumSchema] = [:]
        for (name, type) in messageTypes { messages[name] = type._messageSchema }
        for (name, type) in enumTypes { enums[name] = type._enumSchema }
        self.messages = messages
        self.enums = enums
    }

    static func schema(_ method: RPCMethodDescriptor, policy: RPCAccessPolicy, served: Bool) -> MethodSchema {
        let kind: CallKind =
            switch method.kind {
            case .unary: .unary
            case .serverStreaming: .serverStreaming
            case .clientStreaming: .clientStreaming
            case .bidirectionalStreaming: .bidirectionalStreaming
            }
        let idempotency: Idempotency =
            switch method.idempotency {
            case .unspecified: .unspecified
            case .noSideEffects: .noSideEffects
            case .idempotent: .idempotent
            }
        let role: Role =
            switch policy.requiredRole(for: method) {
            case nil: .unspecified
            case .readonly?: .readonly
            case .service?: .service
            case .admin?: .admin
            }
        return MethodSchema(
            name: method.method,
            path: method.path,
            kind: kind,
            requestType: method.requestType,
            responseType: method.responseType,
            idempotency: idempotency,
            requiredRole: role,
            doc: method.doc,
            served: served
        )
    }

    public func listServices(
        request: ListServicesRequest,
        context: RPCServerContext
    ) async throws -> ListServicesResponse {
        ListServicesResponse(services: services)
    }

    public func describeSymbol(
        request: DescribeSymbolRequest,
        context: RPCServerContext
    ) async throws -> DescribeSymbolResponse {
        let symbol = request.symbol.trimmingPrefix("/").description
        guard !symbol.isEmpty else { throw RPCError.invalidArgument(field: "symbol", "must not be empty") }
        var response = DescribeSymbolResponse()
        var roots: [String] = []

        let candidates = resolve(symbol)
        guard !candidates.isEmpty else {
            throw RPCError(code: .notFound, message: "symbol: nothing named '\(symbol)'")
        }
        guard candidates.count == 1 else {
            throw RPCError(
                code: .invalidArgument,
                message: "symbol: '\(symbol)' is ambiguous: \(candidates.map(\.name).sorted().joined(separator: ", "))",
                fieldViolations: [.init(field: "symbol", description: "ambiguous")]
            )
        }
        switch candidates[0] {
        case .service(let service):
            response.resolvedName = service.name
            response.service = service
            roots = service.methods.flatMap { [$0.requestType, $0.responseType] }
        case .method(let service, let method):
            response.resolvedName = "\(service.name)/\(method.name)"
            response.service = service
            response.method = method
            roots = [method.requestType, method.responseType]
        case .message(let message):
            response.resolvedName = message.name
            roots = [message.name]
        case .enumeration(let schema):
            response.resolvedName = schema.name
            response.enums = [schema]
            return response
        }
        let (messages, enums) = closure(of: roots)
        response.messages = messages
        response.enums = enums
        return response
    }

    public func getSchema(request: GetSchemaRequest, context: RPCServerContext) async throws -> GetSchemaResponse {
        GetSchemaResponse(
            services: services,
            messages: messages.values.sorted { $0.name < $1.name },
            enums: enums.values.sorted { $0.name < $1.name }
        )
    }

    private enum Candidate {
        case service(ServiceSchema)
        case method(ServiceSchema, MethodSchema)
        case message(MessageSchema)
        case enumeration(EnumSchema)

        var name: String {
            switch self {
            case .service(let service): service.name
            case .method(let service, let method): "\(service.name)/\(method.name)"
            case .message(let message): message.name
            case .enumeration(let schema): schema.name
            }
        }
    }

    /// Full names match exactly; short names match the last component(s).
    private func resolve(_ symbol: String) -> [Candidate] {
        func matches(_ fullName: String, _ symbol: String) -> Bool {
            fullName == symbol || fullName.hasSuffix("." + symbol)
        }
        var found: [Candidate] = []
        if let slash = symbol.firstIndex(of: "/") {
            let serviceName = String(symbol[..<slash])
            let methodName = String(symbol[symbol.index(after: slash)...])
            for service in services where matches(service.name, serviceName) {
                for method in service.methods where method.name == methodName { found.append(.method(service, method)) }
            }
            return found
        }
        for service in services where matches(service.name, symbol) { found.append(.service(service)) }
        for service in services {
            for method in service.methods where method.name == symbol { found.append(.method(service, method)) }
        }
        for message in messages.values where matches(message.name, symbol) { found.append(.message(message)) }
        for schema in enums.values where matches(schema.name, symbol) { found.append(.enumeration(schema)) }
        // An exact full name wins over short-name matches.
        if let exact = found.first(where: { $0.name == symbol }) { return [exact] }
        return found
    }

    /// Every message and enum reachable from the roots through fields.
    private func closure(of roots: [String]) -> ([MessageSchema], [EnumSchema]) {
        var seenMessages = Set<String>()
        var seenEnums = Set<String>()
        var queue = roots
        while let name = queue.popLast() {
            guard seenMessages.insert(name).inserted, let message = messages[name] else { continue }
            for field in message.fields where !field.typeName.isEmpty {
                if field.type == .enum {
                    seenEnums.insert(field.typeName)
                } else {
                    queue.append(field.typeName)
                }
            }
        }
        return (
            seenMessages.compactMap { messages[$0] }.sorted { $0.name < $1.name },
            seenEnums.compactMap { enums[$0] }.sorted { $0.name < $1.name }
        )
    }
}
