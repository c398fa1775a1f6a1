public import O2OMessages
import O2ORPC

/// Paging of in-memory lists with opaque tokens, for small collections that live in
/// memory (connections). Storage-backed lists page through the record layer.
public enum Paging {
    public static let defaultPageSize = 50
    public static let maximumPageSize = 500

    /// The page size a request asks for, or an error naming the field.
    public static func pageSize(_ request: PageRequest?, field: String) throws -> Int {
        let size = Int(request?.pageSize ?? 0)
        guard size >= 0, size <= maximumPageSize else {
            throw RPCError.invalidArgument(field: "\(field).page_size", "must be 0 to \(maximumPageSize), got \(size)")
        }
        return size == 0 ? defaultPageSize : size
    }

    /// One page of `items`; the token is the offset of the next page.
    public static func page<Item>(_ items: [Item], request: PageRequest?, field: String) throws -> (items: [Item], nextToken: String) {
        let size = try pageSize(request, field: field)
        var start = 0
        if let token = request?.pageToken, !token.isEmpty {
            guard token.hasPrefix("o"), let offset = Int(token.dropFirst()), offset >= 0 else {
                throw RPCError.invalidArgument(field: "\(field).page_token", "not a token this list issued")
            }
            start = min(offset, items.count)
        }
        let end = min(start + size, items.count)
        return (Array(items[start..<end]), end < items.count ? "o\(end)" : "")
    }
}

/// Checks of client request ids (idempotency keys).
public enum RequestIDs {
    /// A request id must be 1 to 64 printable ASCII characters.
    public static func validate(_ id: String, field: String = "request_id") throws {
        guard !id.isEmpty else { throw RPCError.invalidArgument(field: field, "must not be empty (an idempotency key)") }
        guard RPCRequestIDs.isValid(id) else {
            throw RPCError.invalidArgument(field: field, "must be 1 to 64 printable ASCII characters")
        }
    }
}
