public import Logging
public import O2OMessages
public import O2ORPC
public import O2OStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Wall-clock time for records.
public enum Clock {
    public static func now() -> Timestamp {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Timestamp(seconds: Int64(now.tv_sec), nanos: Int32(now.tv_nsec))
    }
}

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
        case is CancellationError:
            return error
        default:
            return error
        }
    }
}

/// Runs a service method body, mapping errors to statuses.
public func serve<Result>(
    _ context: RPCServerContext,
    logger: Logger,
    _ body: () async throws -> Result
) async throws -> Result {
    do {
        return try await body()
    } catch {
        throw ServiceErrors.map(error, logger: logger, context: context)
    }
}

extension RecordStore {
    /// A retryable mutation: validates the request id, returns the remembered response
    /// of an earlier call with the same id, or runs `body` in a transaction and
    /// remembers its response in the same commit.
    public func mutation<Request: O2OMessage, Response: O2OMessage>(
        _ context: RPCServerContext,
        requestID: String,
        request: Request,
        applied: () -> Void = {},
        _ body: (RecordTransaction) async throws -> Response
    ) async throws -> (response: Response, replayed: Bool) {
        try RequestIDs.validate(requestID)
        return try await transaction(applied: applied) { transaction in
            if let earlier = try await transaction.rememberedResult(
                scope: context.method.path,
                requestID: requestID,
                request: request,
                as: Response.self
            ) {
                return (earlier, true)
            }
            let response = try await body(transaction)
            transaction.rememberResult(
                scope: context.method.path,
                requestID: requestID,
                request: request,
                response: response
            )
            return (response, false)
        }
    }
}

extension RPCServerContext {
    /// Who makes a change, for histories and ledgers.
    public var actor: ChangeActor {
        ChangeActor(principal: principal?.name ?? "anonymous", role: principal?.role.rawValue ?? "open")
    }
}

extension O2OEnum {
    /// The value's name without the enum's prefix ("TEMPORARILY_CLOSED" for
    /// STOCK_LOCATION_STATUS_TEMPORARILY_CLOSED), for error messages.
    var displayName: String {
        guard let full = protoValueName else { return "\(self)" }
        let first = Self.knownCases.first?.protoValueName ?? ""
        let prefix = first.hasSuffix("UNSPECIFIED") ? String(first.dropLast("UNSPECIFIED".count)) : ""
        return full.hasPrefix(prefix) ? String(full.dropFirst(prefix.count)) : full
    }
}
