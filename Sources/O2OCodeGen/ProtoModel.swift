/// The parts of protoc's descriptors the generator uses, as plain Swift values, so
/// that generation is a pure function of them (and testable without protoc).

/// The protobuf type of a field, numbered as in descriptor.proto.
package enum ProtoFieldType: Int32, Sendable {
    case double = 1
    case float, int64, uint64, int32, fixed64, fixed32, bool, string, group, message, bytes,
        uint32, enumeration, sfixed32, sfixed64, sint32, sint64
}

/// How many values a field holds.
package enum ProtoLabel: Int32, Sendable {
    case optional = 1
    case required, repeated
}

/// The `idempotency_level` method option.
package enum ProtoIdempotency: Int32, Sendable {
    case unknown = 0
    case noSideEffects, idempotent
}

package struct ProtoField: Sendable {
    package var name: String
    package var number: Int32
    package var label: ProtoLabel
    package var type: ProtoFieldType
    /// Full name of the message or enum type without the leading dot; empty otherwise.
    package var typeName: String
    package var jsonName: String
    /// Index into the message's oneofs.
    package var oneofIndex: Int?
    package var proto3Optional: Bool
    package var doc: String
}

package struct ProtoOneof: Sendable {
    package var name: String
    package var doc: String
}

package struct ProtoEnumValue: Sendable {
    package var name: String
    package var number: Int32
    package var doc: String
}

package struct ProtoEnum: Sendable {
    package var name: String
    package var fullName: String
    package var doc: String
    package var values: [ProtoEnumValue]
}

package struct ProtoMessage: Sendable {
    package var name: String
    package var fullName: String
    package var doc: String
    package var fields: [ProtoField]
    package var oneofs: [ProtoOneof]
    package var messages: [ProtoMessage]
    package var enums: [ProtoEnum]
    package var isMapEntry: Bool
}

package struct ProtoMethod: Sendable {
    package var name: String
    /// Full names without the leading dot.
    package var inputType: String
    package var outputType: String
    package var clientStreaming: Bool
    package var serverStreaming: Bool
    package var idempotency: ProtoIdempotency
    package var doc: String
}

package struct ProtoService: Sendable {
    package var name: String
    package var fullName: String
    package var doc: String
    package var methods: [ProtoMethod]
}

package struct ProtoFile: Sendable {
    /// Path relative to the proto root ("o2o/catalog/v1/catalog.proto").
    package var name: String
    package var package: String
    package var syntax: String
    /// The `swift_prefix` file option; nil when not set.
    package var swiftPrefix: String?
    package var dependencies: [String]
    package var messages: [ProtoMessage]
    package var enums: [ProtoEnum]
    package var services: [ProtoService]
    /// The comment before the `syntax` line.
    package var doc: String
}

/// What protoc asks a plugin to do.
package struct ProtoGenerationRequest: Sendable {
    /// Files to generate code for (paths).
    package var filesToGenerate: [String]
    /// The `--o2o_opt` parameter.
    package var parameter: String
    /// Every file involved, dependencies first.
    package var files: [ProtoFile]
}

/// One generated output file.
package struct GeneratedFile: Sendable, Equatable {
    package var name: String
    package var content: String
}

/// A problem with the input that stops generation, reported through protoc.
package struct GeneratorError: Error, CustomStringConvertible, Sendable {
    package var description: String
    package init(_ description: String) { self.description = description }
}
