/// Why JSON could not be read as a message.
public struct O2OJSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the document ("lines[2].skuId"); empty for the whole document.
    public var path: String
    /// What is wrong.
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }

    package static func unknownField(_ key: String, path: String, type: String) -> O2OJSONError {
        O2OJSONError(path: _o2oJSONPath(path, key), reason: "unknown field \"\(key)\" in \(type)")
    }

    package static func oneofConflict(_ oneof: String, path: String) -> O2OJSONError {
        O2OJSONError(path: path, reason: "more than one field of oneof '\(oneof)' is set")
    }
}

/// `parent.key`, or `key` at the top.
package func _o2oJSONPath(_ parent: String, _ key: String) -> String {
    parent.isEmpty ? key : parent + "." + key
}
