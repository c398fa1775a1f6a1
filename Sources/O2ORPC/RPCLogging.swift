public import Logging

/// Logs every call's end with its method, status, duration and request id (and a
/// unary response's size): at debug level when it succeeded, at info for errors the
/// caller caused, at error for the server's own failures (with the underlying cause,
/// which the caller never sees). Metadata values and messages are never logged: they
/// may hold tokens or personal data.
public struct RPCLoggingInterceptor: RPCServerInterceptor {
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func intercept(
        context: RPCServerContext,
        next: (RPCServerContext) async throws -> RPCServerResponse
    ) async throws -> RPCServerResponse {
        let start = ContinuousClock.now
        func metadata(code: RPCStatusCode) -> Logger.Metadata {
            [
                "rpc.method": "\(context.method.path)",
                "rpc.request_id": "\(context.requestID)",
                "rpc.peer": "\(context.peer)",
                "rpc.code": "\(code.name)",
                "rpc.duration_us": "\(Self.micros(ContinuousClock.now - start))",
            ]
        }
        do {
            let response = try await next(context)
            // Successful calls are logged at debug only: build nothing unless that is on
            // (this runs for every call).
            if logger.logLevel <= .debug {
                var metadata = metadata(code: .ok)
                if case .message(let message) = response { metadata["rpc.response_bytes"] = "\(message.readableBytes)" }
                logger.debug("call finished", metadata: metadata)
            }
            return response
        } catch {
            let status = rpcError(from: error, requestID: context.requestID)
            var metadata = metadata(code: status.code)
            if let principal = context.principal { metadata["rpc.principal"] = "\(principal.name)" }
            switch status.code {
            case .internalError, .unknown, .dataLoss:
                metadata["rpc.cause"] = "\(status.cause.map { String(describing: $0) } ?? status.message)"
                logger.error("call failed", metadata: metadata)
            default:
                metadata["rpc.message"] = "\(status.message)"
                logger.info("call failed", metadata: metadata)
            }
            throw error
        }
    }

    private static func micros(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
}
