/// Why bytes could not be decoded as a message.
public struct O2ODecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message type being decoded ("o2o.catalog.v1.Product").
    public var messageType: String
    /// Path of the offending field from the top-level message ("skus[2].barcode");
    /// empty when the problem is not tied to one field.
    public var fieldPath: String
    /// What is wrong.
    public var reason: String

    public init(messageType: String, fieldPath: String, reason: String) {
        self.messageType = messageType
        self.fieldPath = fieldPath
        self.reason = reason
    }

    public var description: String {
        fieldPath.isEmpty ? "\(messageType): \(reason)" : "\(messageType).\(fieldPath): \(reason)"
    }

    package static func invalidUTF8(field: String) -> O2ODecodingError {
        O2ODecodingError(messageType: "", fieldPath: field, reason: "string is not valid UTF-8")
    }

    package static func missingValue(field: String) -> O2ODecodingError {
        O2ODecodingError(messageType: "", fieldPath: field, reason: "oneof case set without a value")
    }

    /// The same error seen from the enclosing field.
    @usableFromInline
    func nested(in field: String) -> O2ODecodingError {
        var copy = self
        if copy.fieldPath.isEmpty {
            copy.fieldPath = field
        } else if copy.fieldPath.hasPrefix("[") {
            copy.fieldPath = field + copy.fieldPath
        } else {
            copy.fieldPath = field + "." + copy.fieldPath
        }
        return copy
    }
}
