/// Emits one service: its descriptors (the method registry), the server protocol with
/// its router registration, and the client stub.
struct ServiceEmitter {
    let service: ProtoService
    let index: TypeIndex
    let swiftPrefix: String

    private var name: String { swiftPrefix + service.name }

    private struct Method {
        let proto: ProtoMethod
        let swiftName: String
        let request: String
        let response: String
        let kind: String
    }

    private var methods: [Method] {
        service.methods.map { method in
            let kind =
                switch (method.clientStreaming, method.serverStreaming) {
                case (false, false): "unary"
                case (false, true): "serverStreaming"
                case (true, false): "clientStreaming"
                case (true, true): "bidirectionalStreaming"
                }
            return Method(
                proto: method,
                swiftName: Naming.lowerFirst(method.name),
                request: index[method.inputType].swiftName,
                response: index[method.outputType].swiftName,
                kind: kind
            )
        }
    }

    func emit(into w: inout CodeWriter) {
        emitDescriptors(into: &w)
        w.line()
        emitServerProtocol(into: &w)
        w.line()
        emitClient(into: &w)
    }

    private func emitDescriptors(into w: inout CodeWriter) {
        w.doc(service.doc)
        w.block("public enum \(name)") { w in
            w.line("/// The full service name.")
            w.line("public static let name = \(swiftStringLiteral(service.fullName))")
            w.line()
            w.line("/// The service's methods.")
            w.block("public enum Method") { w in
                for method in methods {
                    w.doc(method.proto.doc)
                    w.line("public static let \(Naming.escaped(method.swiftName)) = RPCMethodDescriptor(")
                    w.indent { w in
                        w.line("service: \(swiftStringLiteral(service.fullName)),")
                        w.line("method: \(swiftStringLiteral(method.proto.name)),")
                        w.line("kind: .\(method.kind),")
                        let idempotency =
                            switch method.proto.idempotency {
                            case .unknown: "unspecified"
                            case .noSideEffects: "noSideEffects"
                            case .idempotent: "idempotent"
                            }
                        w.line("idempotency: .\(idempotency),")
                        w.line("requestType: \(swiftStringLiteral(method.proto.inputType)),")
                        w.line("responseType: \(swiftStringLiteral(method.proto.outputType)),")
                        w.line("doc: \(swiftStringLiteral(method.proto.doc))")
                    }
                    w.line(")")
                }
            }
            w.line()
            w.line("/// The service and its methods, in .proto order.")
            w.line("public static let descriptor = RPCServiceDescriptor(")
            w.indent { w in
                w.line("name: \(swiftStringLiteral(service.fullName)),")
                w.line("doc: \(swiftStringLiteral(service.doc)),")
                w.line("methods: [\(methods.map { "Method." + Naming.escaped($0.swiftName) }.joined(separator: ", "))]")
            }
            w.line(")")
        }
    }

    private func emitServerProtocol(into w: inout CodeWriter) {
        w.line("/// The server side of \(service.fullName): implement it and register it with a server.")
        if !service.doc.isEmpty {
            w.line("///")
            w.doc(service.doc)
        }
        w.block("public protocol \(name)Protocol: RPCService") { w in
            for method in methods {
                w.doc(method.proto.doc)
                let signature =
                    switch method.kind {
                    case "unary":
                        "request: \(method.request), context: RPCServerContext) async throws -> \(method.response)"
                    case "serverStreaming":
                        "request: \(method.request), responses: RPCResponseWriter<\(method.response)>, context: RPCServerContext) async throws"
                    case "clientStreaming":
                        "requests: RPCRequestStream<\(method.request)>, context: RPCServerContext) async throws -> \(method.response)"
                    default:
                        "requests: RPCRequestStream<\(method.request)>, responses: RPCResponseWriter<\(method.response)>, context: RPCServerContext) async throws"
                    }
                w.line("func \(Naming.escaped(method.swiftName))(\(signature)")
                w.line()
            }
        }
        w.line()
        w.block("extension \(name)Protocol") { w in
            w.line("public static var serviceDescriptor: RPCServiceDescriptor { \(name).descriptor }")
            w.line()
            w.block("public func registerMethods(with router: inout RPCRouter)") { w in
                for method in methods {
                    let descriptor = "\(name).Method.\(Naming.escaped(method.swiftName))"
                    let call = "self.\(Naming.escaped(method.swiftName))"
                    switch method.kind {
                    case "unary":
                        w.line(
                            "router.registerUnary(\(descriptor)) { (request: \(method.request), context) -> \(method.response) in"
                        )
                        w.line("    try await \(call)(request: request, context: context)")
                    case "serverStreaming":
                        w.line(
                            "router.registerServerStreaming(\(descriptor)) { (request: \(method.request), responses: RPCResponseWriter<\(method.response)>, context) in"
                        )
                        w.line("    try await \(call)(request: request, responses: responses, context: context)")
                    case "clientStreaming":
                        w.line(
                            "router.registerClientStreaming(\(descriptor)) { (requests: RPCRequestStream<\(method.request)>, context) -> \(method.response) in"
                        )
                        w.line("    try await \(call)(requests: requests, context: context)")
                    default:
                        w.line(
                            "router.registerBidirectionalStreaming(\(descriptor)) { (requests: RPCRequestStream<\(method.request)>, responses: RPCResponseWriter<\(method.response)>, context) in"
                        )
                        w.line("    try await \(call)(requests: requests, responses: responses, context: context)")
                    }
                    w.line("}")
                }
            }
        }
    }

    private func emitClient(into w: inout CodeWriter) {
        w.line("/// Typed calls to \(service.fullName) through any transport.")
        if !service.doc.isEmpty {
            w.line("///")
            w.doc(service.doc)
        }
        w.block("public struct \(name)Client: Sendable") { w in
            w.line("/// What the calls go through.")
            w.line("public let transport: any RPCClientTransport")
            w.line()
            w.line("public init(transport: any RPCClientTransport) {")
            w.line("    self.transport = transport")
            w.line("}")
            for method in methods {
                w.line()
                w.doc(method.proto.doc)
                let descriptor = "\(name).Method.\(Naming.escaped(method.swiftName))"
                let function = Naming.escaped(method.swiftName)
                switch method.kind {
                case "unary":
                    w.line(
                        "public func \(function)(_ request: \(method.request), options: RPCCallOptions = .defaults) async throws -> \(method.response) {"
                    )
                    w.line("    try await transport.unary(\(descriptor), request, options: options)")
                case "serverStreaming":
                    w.line("///")
                    w.line("/// `handle` reads the responses; the call ends when it returns.")
                    w.line("public func \(function)<Result: Sendable>(")
                    w.line("    _ request: \(method.request),")
                    w.line("    options: RPCCallOptions = .defaults,")
                    w.line("    handle: @Sendable (RPCResponseStream<\(method.response)>) async throws -> Result")
                    w.line(") async throws -> Result {")
                    w.line(
                        "    try await transport.serverStreaming(\(descriptor), request, options: options, handle: handle)"
                    )
                case "clientStreaming":
                    w.line("///")
                    w.line("/// `send` writes the requests; the response arrives after it returns.")
                    w.line("public func \(function)(")
                    w.line("    options: RPCCallOptions = .defaults,")
                    w.line("    send: @Sendable (RPCRequestWriter<\(method.request)>) async throws -> Void")
                    w.line(") async throws -> \(method.response) {")
                    w.line("    try await transport.clientStreaming(\(descriptor), options: options, send: send)")
                default:
                    w.line("///")
                    w.line("/// `send` writes requests while `handle` reads responses.")
                    w.line("public func \(function)<Result: Sendable>(")
                    w.line("    options: RPCCallOptions = .defaults,")
                    w.line("    send: @escaping @Sendable (RPCRequestWriter<\(method.request)>) async throws -> Void,")
                    w.line("    handle: @Sendable (RPCResponseStream<\(method.response)>) async throws -> Result")
                    w.line(") async throws -> Result {")
                    w.line(
                        "    try await transport.bidirectionalStreaming(\(descriptor), options: options, send: send, handle: handle)"
                    )
                }
                w.line("}")
            }
        }
    }
}
