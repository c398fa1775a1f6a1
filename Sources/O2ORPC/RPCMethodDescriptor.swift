/// How a method exchanges messages.
public enum RPCCallKind: String, Sendable, Hashable, CaseIterable {
    /// One request, one response.
    case unary
    /// One request, a stream of responses.
    case serverStreaming = "server-streaming"
    /// A stream of requests, one response.
    case clientStreaming = "client-streaming"
    /// Streams both ways.
    case bidirectionalStreaming = "bidirectional"

    /// Whether the client sends more than one message.
    public var clientStreams: Bool { self == .clientStreaming || self == .bidirectionalStreaming }
    /// Whether the server sends more than one message.
    public var serverStreams: Bool { self == .serverStreaming || self == .bidirectionalStreaming }
}

/// Whether a method may be retried, from the `.proto`'s `idempotency_level`.
public enum RPCIdempotency: String, Sendable, Hashable, CaseIterable {
    /// Not safe to retry blindly.
    case unspecified
    /// Reads only: always safe to retry, and open to the read-only role.
    case noSideEffects = "no-side-effects"
    /// Changes data, but repeating it (with the same request id) changes nothing twice.
    case idempotent

    /// Whether a client may retry the call on `UNAVAILABLE`.
    public var isRetryable: Bool { self != .unspecified }
}

/// One method of a service: everything the server, the client and the shell need to
/// know about it, generated from the `.proto` files.
public struct RPCMethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// Full service name ("o2o.catalog.v1.CatalogService").
    public let service: String
    /// Method name ("GetProduct").
    public let method: String
    /// The path on the wire ("/o2o.catalog.v1.CatalogService/GetProduct").
    public let path: String
    /// How it exchanges messages.
    public let kind: RPCCallKind
    /// Whether it may be retried.
    public let idempotency: RPCIdempotency
    /// Full protobuf name of the request message.
    public let requestType: String
    /// Full protobuf name of the response message.
    public let responseType: String
    /// The doc comment from the `.proto`.
    public let doc: String

    public init(
        service: String,
        method: String,
        kind: RPCCallKind,
        idempotency: RPCIdempotency,
        requestType: String,
        responseType: String,
        doc: String
    ) {
        self.service = service
        self.method = method
        self.path = "/\(service)/\(method)"
        self.kind = kind
        self.idempotency = idempotency
        self.requestType = requestType
        self.responseType = responseType
        self.doc = doc
    }

    /// The first sentence of the doc comment, for one-line listings.
    public var summary: String {
        let text = doc.split(whereSeparator: \.isNewline).joined(separator: " ")
        var previous: Character?
        for index in text.indices {
            if text[index] == " ", previous == "." { return String(text[..<index]) }
            previous = text[index]
        }
        return text
    }

    public var description: String { path }
}

/// One service and its methods, generated from the `.proto` files.
public struct RPCServiceDescriptor: Sendable, Hashable {
    /// Full name ("o2o.catalog.v1.CatalogService").
    public let name: String
    /// The doc comment from the `.proto`.
    public let doc: String
    /// The methods, in `.proto` order.
    public let methods: [RPCMethodDescriptor]

    public init(name: String, doc: String, methods: [RPCMethodDescriptor]) {
        self.name = name
        self.doc = doc
        self.methods = methods
    }
}
