public import O2ORPC
public import O2ORPCMessages
import O2OServiceKit

/// One method per call kind and no business logic: for probing a server, testing
/// clients written from PROTOCOL.md, and benchmarks.
public struct EchoServiceProvider: EchoServiceProtocol {
    public init() {}

    public func echo(request: EchoMessage, context: RPCServerContext) async throws -> EchoMessage {
        request
    }

    public func echoExpand(
        request: EchoExpandRequest,
        responses: RPCResponseWriter<EchoMessage>,
        context: RPCServerContext
    ) async throws {
        guard request.count <= 1_000_000 else {
            throw RPCError.invalidArgument(field: "count", "must be 0 to 1000000, got \(request.count)")
        }
        guard request.payloadSize <= 1_048_576 else {
            throw RPCError.invalidArgument(field: "payload_size", "must be 0 to 1048576, got \(request.payloadSize)")
        }
        let payload = [UInt8](repeating: 0, count: Int(request.payloadSize))
        for sequence in 0..<UInt64(request.count) {
            try await responses.write(EchoMessage(payload: payload, sequence: sequence))
        }
    }

    public func echoCollect(
        requests: RPCRequestStream<EchoMessage>,
        context: RPCServerContext
    ) async throws -> EchoCollectResponse {
        var response = EchoCollectResponse()
        for try await message in requests {
            response.count += 1
            response.totalBytes += UInt64(message.payload.count)
        }
        return response
    }

    public func echoChat(
        requests: RPCRequestStream<EchoMessage>,
        responses: RPCResponseWriter<EchoMessage>,
        context: RPCServerContext
    ) async throws {
        for try await message in requests {
            try await responses.write(message)
        }
    }
}
