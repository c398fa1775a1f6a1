import Foundation
import O2ORPC
import Testing

/// Expects `body` to fail with an RPCError of this code; when given, with exactly
/// `message`, or with a message containing `containing`.
@discardableResult
public func expectStatus(
    _ code: RPCStatusCode,
    _ message: String? = nil,
    containing text: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> RPCError? {
    do {
        try await body()
        Issue.record("expected \(code.name), got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as RPCError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let message { #expect(error.message == message, sourceLocation: sourceLocation) }
        if let text { #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation) }
        return error
    } catch {
        Issue.record("expected \(code.name), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A unique request id.
public func rid() -> String { "req-\(UUID().uuidString.prefix(18))" }
