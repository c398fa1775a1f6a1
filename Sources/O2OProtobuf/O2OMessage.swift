public import NIOCore
public import O2ORPC

/// A generated protobuf message: a Swift value type encoded and decoded by
/// protobuf-c, with the proto3 JSON mapping. (Its schema for reflection is
/// `O2ODescribedMessage`'s, in O2ORPCMessages, where the schema messages live.)
///
/// Members whose names start with `_` are the generated code's hooks, not API.
public protocol O2OMessage: RPCMessage, Hashable {
    /// The full protobuf name ("o2o.catalog.v1.Product").
    static var protoName: String { get }
    /// A message with every field at its default.
    init()

    /// The protobuf-c `ProtobufCMessageDescriptor` of the message.
    static var _protobufCDescriptor: UnsafeRawPointer { get }
    /// Fills the protobuf-c struct at `message` (already initialised) from `self`,
    /// allocating from `arena`.
    func _writeProtobufC(to message: UnsafeMutableRawPointer, arena: O2OArenaHandle)
    /// Reads `self` from an unpacked protobuf-c struct.
    init(_protobufC message: UnsafeRawPointer) throws
    /// Writes the proto3 JSON form.
    func _writeJSON(to writer: inout O2OJSONWriter)
    /// Reads the proto3 JSON form; `path` locates `json` in the document, for errors.
    init(_json json: O2OJSONValue, path: String) throws
}

/// A generated protobuf enum. Proto3 enums are open: numbers the schema does not
/// define survive as `unrecognized(n)`.
public protocol O2OEnum: Sendable, Hashable, RawRepresentable where RawValue == Int32 {
    /// The full protobuf name ("o2o.catalog.v1.ProductStatus").
    static var protoName: String { get }
    /// Every value the schema defines.
    static var knownCases: [Self] { get }
    /// The value for a number; unknown numbers become `unrecognized`.
    init(rawValue: Int32)
    /// The schema name ("PRODUCT_STATUS_ON_SHELF"); nil for an unrecognized number.
    var protoValueName: String? { get }
    /// The value with this schema name.
    init?(protoValueName: String)
}

extension O2OMessage {
    // MARK: Binary

    /// Decodes a message from its protobuf encoding.
    /// - Throws: `O2ODecodingError` naming the field and the problem.
    public init(serializedBytes bytes: ByteBuffer) throws {
        self = try bytes.withUnsafeReadableBytes { try ProtobufCBridge.decode(Self.self, from: $0) }
    }

    /// Decodes a message from its protobuf encoding.
    /// - Throws: `O2ODecodingError` naming the field and the problem.
    public init(serializedBytes bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try ProtobufCBridge.decode(Self.self, from: $0) }
    }

    /// Decodes a message from its protobuf encoding.
    /// - Throws: `O2ODecodingError` naming the field and the problem.
    public init(serializedBytes bytes: UnsafeRawBufferPointer) throws {
        self = try ProtobufCBridge.decode(Self.self, from: bytes)
    }

    /// Appends the protobuf encoding to `buffer`.
    public func serialize(into buffer: inout ByteBuffer) {
        ProtobufCBridge.withPacked(self) { message, size in
            guard size > 0 else { return }
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
                ProtobufCBridge.pack(message, into: out)
            }
        }
    }

    /// The protobuf encoding. Map entries are written in key order, so equal messages
    /// encode to equal bytes.
    public func serializedBytes() -> [UInt8] {
        ProtobufCBridge.withPacked(self) { message, size in
            [UInt8](unsafeUninitializedCapacity: size) { out, initialized in
                initialized = size == 0 ? 0 : ProtobufCBridge.pack(message, into: UnsafeMutableRawBufferPointer(out))
            }
        }
    }

    /// The size of the protobuf encoding in bytes.
    public var serializedSize: Int {
        ProtobufCBridge.withPacked(self) { _, size in size }
    }

    // MARK: JSON

    /// The proto3 JSON form: lowerCamelCase names, 64-bit integers as strings, enums
    /// by name, bytes as base64, fields at their default left out.
    /// - Parameter pretty: Indent with two spaces, one field per line.
    public func jsonString(pretty: Bool = false) -> String {
        var writer = O2OJSONWriter(pretty: pretty)
        _writeJSON(to: &writer)
        return writer.string
    }

    /// The proto3 JSON form as UTF-8.
    public func jsonUTF8(pretty: Bool = false) -> [UInt8] {
        var writer = O2OJSONWriter(pretty: pretty)
        _writeJSON(to: &writer)
        return writer.bytes
    }

    /// Reads the proto3 JSON form. Accepts lowerCamelCase and proto field names,
    /// integers as numbers or strings, enums by name or number; rejects unknown fields.
    /// - Throws: `O2OJSONError` naming the field path and the problem.
    public init(jsonString: String) throws {
        try self.init(_json: O2OJSONValue(parsing: jsonString), path: "")
    }

    /// Reads the proto3 JSON form from UTF-8.
    public init(jsonUTF8: some Collection<UInt8>) throws {
        try self.init(_json: O2OJSONValue(parsing: jsonUTF8), path: "")
    }

    /// Reads the proto3 JSON form from a parsed value.
    public init(json: O2OJSONValue) throws {
        try self.init(_json: json, path: "")
    }
}
