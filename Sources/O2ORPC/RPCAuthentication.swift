/// Which role each method needs.
///
/// The rule: methods of `openServices` need nothing; methods of `adminServices` need
/// `admin`; methods marked `NO_SIDE_EFFECTS` need `readonly`; everything else needs
/// `service`.
public struct RPCAccessPolicy: Sendable {
    /// Services anyone may call, even without a token (health checks).
    public var openServices: Set<String>
    /// Services only the admin role may call.
    public var adminServices: Set<String>

    public init(
        openServices: Set<String> = ["o2o.rpc.v1.HealthService"],
        adminServices: Set<String> = ["o2o.rpc.v1.AdminService"]
    ) {
        self.openServices = openServices
        self.adminServices = adminServices
    }

    /// The least role the method needs; nil when it is open to everyone.
    public func requiredRole(for method: RPCMethodDescriptor) -> RPCRole? {
        if openServices.contains(method.service) { return nil }
        if adminServices.contains(method.service) { return .admin }
        return method.idempotency == .noSideEffects ? .readonly : .service
    }
}

/// Checks bearer tokens against a table and the method's required role, and puts the
/// caller's principal into the context.
///
/// A missing or unknown token ends the call with UNAUTHENTICATED, a role that is too
/// small with PERMISSION_DENIED. Tokens are never logged; principals (token names) are.
public struct RPCAuthInterceptor: RPCServerInterceptor {
    private let principals: [String: RPCPrincipal]
    private let policy: RPCAccessPolicy

    /// - Parameters:
    ///   - tokens: Token → principal.
    ///   - policy: Which role each method needs.
    public init(tokens: [String: RPCPrincipal], policy: RPCAccessPolicy = RPCAccessPolicy()) {
        self.principals = tokens
        self.policy = policy
    }

    public func intercept(
        context: RPCServerContext,
        next: (RPCServerContext) async throws -> RPCServerResponse
    ) async throws -> RPCServerResponse {
        guard let required = policy.requiredRole(for: context.method) else { return try await next(context) }
        guard let header = context.metadata[RPCMetadata.Keys.authorization] else {
            throw RPCError(
                code: .unauthenticated,
                message: "missing authorization: send 'authorization: Bearer <token>'"
            )
        }
        guard header.hasPrefix("Bearer "), let principal = principals[String(header.dropFirst(7))] else {
            throw RPCError(code: .unauthenticated, message: "invalid token")
        }
        guard principal.role >= required else {
            throw RPCError(
                code: .permissionDenied,
                message:
                    "\(context.method.path) needs role \(required.rawValue); token '\(principal.name)' has \(principal.role.rawValue)"
            )
        }
        var context = context
        context.principal = principal
        return try await next(context)
    }
}

/// Parses a token file: one token per line, `<token> <role> [<name>]`, `#` comments
/// and blank lines ignored. Roles are `admin`, `service`, `readonly`.
public enum RPCTokenFile {
    public struct ParseError: Error, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public static func parse(_ text: String) throws -> [String: RPCPrincipal] {
        var tokens: [String: RPCPrincipal] = [:]
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard !words.isEmpty else { continue }
            guard words.count >= 2, words.count <= 3 else {
                throw ParseError(line: offset + 1, reason: "expected '<token> <role> [<name>]'")
            }
            guard words[0].count >= 16 else {
                throw ParseError(line: offset + 1, reason: "token is shorter than 16 characters")
            }
            guard let role = RPCRole(rawValue: words[1]) else {
                throw ParseError(line: offset + 1, reason: "unknown role '\(words[1])' (admin, service, readonly)")
            }
            guard tokens[words[0]] == nil else { throw ParseError(line: offset + 1, reason: "token repeated") }
            let name = words.count == 3 ? words[2] : "\(role.rawValue)-\(offset + 1)"
            tokens[words[0]] = RPCPrincipal(name: name, role: role)
        }
        return tokens
    }
}
