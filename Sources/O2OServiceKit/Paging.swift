import O2OProtobuf
import O2ORPC
public import O2ORPCMessages
import O2OStorage

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

    /// One page of `items`; the token holds the offset of the next page, bound to
    /// `filters` so that it is refused with other filters.
    public static func page<Item>(
        _ items: [Item],
        request: PageRequest?,
        field: String,
        filters: [String] = []
    ) throws -> (items: [Item], nextToken: String) {
        let size = try pageSize(request, field: field)
        let filterHash = PageTokens.filterHash(["offset"] + filters)
        var start = 0
        if let token = request?.pageToken, !token.isEmpty {
            let bytes: [UInt8]
            do {
                bytes = try PageTokens.lastKey(from: token, filterHash: filterHash, subject: field)
            } catch let error as RecordError {
                throw RPCError.invalidArgument(field: "\(field).page_token", error.message)
            }
            guard bytes.count == 4 else {
                throw RPCError.invalidArgument(field: "\(field).page_token", "not a page token this list issued")
            }
            start = min(bytes.reduce(0) { $0 << 8 | Int($1) }, items.count)
        }
        let end = min(start + size, items.count)
        let next =
            end < items.count
            ? PageTokens.make(
                lastKey: (0..<4).map { UInt8(truncatingIfNeeded: end >> (24 - 8 * $0)) },
                filterHash: filterHash
            ) : ""
        return (Array(items[start..<end]), next)
    }
}

/// Checks of client request ids (idempotency keys).
public enum RequestIDs {
    /// A request id must be 1 to 64 printable ASCII characters.
    public static func validate(_ id: String, field: String = "request_id") throws {
        guard !id.isEmpty else {
            throw RPCError.invalidArgument(field: field, "must not be empty (an idempotency key)")
        }
        guard RPCRequestIDs.isValid(id) else {
            throw RPCError.invalidArgument(field: field, "must be 1 to 64 printable ASCII characters")
        }
    }
}
