public import Logging
public import O2OProtobuf
public import O2ORPC
public import O2ORPCMessages
import O2OStorage

/// Turns storage and record errors into the statuses callers see; logs what a caller
/// must not see.
public enum ServiceErrors {
    public static func map(_ error: any Error, logger: Logger, context: RPCServerContext) -> any Error {
        switch error {
        case let error as RPCError:
            return error
        case let error as RecordError:
            switch error.code {
            case .alreadyExists:
                return RPCError(
                    code: .alreadyExists,
                    message: error.message,
                    fieldViolations: [.init(field: error.subject, description: error.message)]
                )
            case .notFound:
                return RPCError(code: .notFound, message: error.message)
            case .invalidPageToken:
                return RPCError.invalidArgument(field: "page.page_token", error.message)
            }
        case let error as StorageError:
            switch error.code {
            case .conflict:
                return RPCError(
                    code: .aborted,
                    message: "too many concurrent changes to the same data; retry",
                    retryAfter: .milliseconds(50)
                )
            case .closed:
                return RPCError(code: .unavailable, message: "the store is shutting down")
            default:
                logger.error(
                    "storage failure",
                    metadata: [
                        "rpc.request_id": "\(context.requestID)", "rpc.method": "\(context.method.path)",
                        "error": "\(error.detail.isEmpty ? error.message : error.detail)",
                    ]
                )
                return RPCError(
                    code: .internalError,
                    message: "storage error (request id \(context.requestID))",
                    cause: error
                )
            }
        default:
            return error
        }
    }
}

/// Maps what a service method threw — record and storage errors among them — to the
/// status its caller sees, so that methods are written as the generated protocol
/// declares them, with no wrapper. The server applies it innermost (before logging and
/// metrics see the status) and only when a call fails; engine text is logged with the
/// request id, never sent.
public struct ServiceErrorMapping: RPCServerErrorMapping {
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func map(_ error: any Error, context: RPCServerContext) -> any Error {
        ServiceErrors.map(error, logger: logger, context: context)
    }
}

extension RPCServerContext {
    /// Who makes a change, for histories and ledgers.
    public var actor: ChangeActor {
        ChangeActor(principal: principal?.name ?? "anonymous", role: principal?.role.rawValue ?? "open")
    }

    /// Who makes a change a request describes: principal and role from the caller's
    /// token, and the request's on_behalf_of (at most 128 characters).
    public func actor(_ given: ChangeActor?) throws -> ChangeActor {
        var actor = self.actor
        actor.onBehalfOf = try Validate.text(given?.onBehalfOf ?? "", field: "actor.on_behalf_of", max: 128)
        return actor
    }
}

extension ChangeActor {
    /// The server itself (sweepers, demo data).
    public static let system = ChangeActor(principal: "system", role: "system")
}

extension O2OEnum {
    /// The value's name without the enum's prefix ("TEMPORARILY_CLOSED" for
    /// STOCK_LOCATION_STATUS_TEMPORARILY_CLOSED), for error messages.
    public var displayName: String {
        guard let full = protoValueName else { return "\(self)" }
        let first = Self.knownCases.first?.protoValueName ?? ""
        let prefix = first.hasSuffix("UNSPECIFIED") ? String(first.dropLast("UNSPECIFIED".count)) : ""
        return full.hasPrefix(prefix) ? String(full.dropFirst(prefix.count)) : full
    }
}
