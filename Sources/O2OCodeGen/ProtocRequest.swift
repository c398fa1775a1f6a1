internal import CProtobufC
internal import CProtocPlugin

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads protoc's `CodeGeneratorRequest` and writes its `CodeGeneratorResponse`
/// through protobuf-c (protoc-c output of descriptor.proto and plugin.proto).
package enum ProtocPluginIO {
    /// Decodes a serialized `CodeGeneratorRequest`.
    package static func decodeRequest(_ bytes: [UInt8]) throws -> ProtoGenerationRequest {
        let unpacked = bytes.withUnsafeBufferPointer { buffer in
            protobuf_c_message_unpack(
                google__protobuf__compiler__code_generator_request__descriptor_ptr(),
                nil,
                buffer.count,
                buffer.baseAddress
            )
        }
        guard let unpacked else {
            throw GeneratorError("protoc-gen-o2o: could not decode the CodeGeneratorRequest on stdin")
        }
        defer { protobuf_c_message_free_unpacked(unpacked, nil) }
        let request = UnsafeRawPointer(unpacked).assumingMemoryBound(
            to: Google__Protobuf__Compiler__CodeGeneratorRequest.self
        )
        return ProtoGenerationRequest(
            filesToGenerate: strings(request.pointee.file_to_generate, request.pointee.n_file_to_generate),
            parameter: string(request.pointee.parameter),
            files: pointers(request.pointee.proto_file, request.pointee.n_proto_file).map(file)
        )
    }

    /// Encodes a `CodeGeneratorResponse` with the files, or with the error.
    package static func encodeResponse(files: [GeneratedFile], error: String?) -> [UInt8] {
        var response = Google__Protobuf__Compiler__CodeGeneratorResponse()
        google__protobuf__compiler__code_generator_response__init(&response)
        var cFiles: [Google__Protobuf__Compiler__CodeGeneratorResponse__File] = []
        var cStrings: [UnsafeMutablePointer<CChar>] = []
        defer { for copy in cStrings { free(copy) } }
        func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
            let copy = strdup(text)!
            cStrings.append(copy)
            return copy
        }
        for file in files {
            var cFile = Google__Protobuf__Compiler__CodeGeneratorResponse__File()
            google__protobuf__compiler__code_generator_response__file__init(&cFile)
            cFile.name = cString(file.name)
            cFile.content = cString(file.content)
            cFiles.append(cFile)
        }
        // FEATURE_PROTO3_OPTIONAL: protoc otherwise refuses files that use `optional`.
        response.has_supported_features = 1
        response.supported_features = 1
        if let error { response.error = cString(error) }
        return cFiles.withUnsafeMutableBufferPointer { filesBuffer in
            var filePointers: [UnsafeMutablePointer<Google__Protobuf__Compiler__CodeGeneratorResponse__File>?] =
                (0..<filesBuffer.count).map { filesBuffer.baseAddress! + $0 }
            return filePointers.withUnsafeMutableBufferPointer { pointers in
                response.n_file = pointers.count
                response.file = pointers.baseAddress
                return withUnsafePointer(to: &response.base) { message in
                    let size = protobuf_c_message_get_packed_size(message)
                    var out = [UInt8](repeating: 0, count: size)
                    out.withUnsafeMutableBufferPointer { _ = protobuf_c_message_pack(message, $0.baseAddress) }
                    return out
                }
            }
        }
    }

    // MARK: - Descriptor conversion

    private static func file(_ c: UnsafeMutablePointer<Google__Protobuf__FileDescriptorProto>?) -> ProtoFile {
        let c = c!.pointee
        let comments = Comments(c.source_code_info)
        let package = string(c.package)
        let prefix = package.isEmpty ? "" : package + "."
        var swiftPrefix: String?
        if let options = c.options, let value = options.pointee.swift_prefix {
            swiftPrefix = String(cString: value)
        }
        return ProtoFile(
            name: string(c.name),
            package: package,
            syntax: string(c.syntax),
            swiftPrefix: swiftPrefix,
            dependencies: strings(c.dependency, c.n_dependency),
            messages: pointers(c.message_type, c.n_message_type).enumerated().map {
                message($0.element!.pointee, scope: prefix, path: [4, Int32($0.offset)], comments: comments)
            },
            enums: pointers(c.enum_type, c.n_enum_type).enumerated().map {
                enumeration($0.element!.pointee, scope: prefix, path: [5, Int32($0.offset)], comments: comments)
            },
            services: pointers(c.service, c.n_service).enumerated().map {
                service($0.element!.pointee, scope: prefix, path: [6, Int32($0.offset)], comments: comments)
            },
            doc: comments[[12]]
        )
    }

    private static func message(
        _ c: Google__Protobuf__DescriptorProto,
        scope: String,
        path: [Int32],
        comments: Comments
    ) -> ProtoMessage {
        let name = string(c.name)
        let fullName = scope + name
        return ProtoMessage(
            name: name,
            fullName: fullName,
            doc: comments[path],
            fields: pointers(c.field, c.n_field).enumerated().map { index, pointer in
                field(pointer!.pointee, doc: comments[path + [2, Int32(index)]])
            },
            oneofs: pointers(c.oneof_decl, c.n_oneof_decl).enumerated().map { index, pointer in
                ProtoOneof(name: string(pointer!.pointee.name), doc: comments[path + [8, Int32(index)]])
            },
            messages: pointers(c.nested_type, c.n_nested_type).enumerated().map { index, pointer in
                message(pointer!.pointee, scope: fullName + ".", path: path + [3, Int32(index)], comments: comments)
            },
            enums: pointers(c.enum_type, c.n_enum_type).enumerated().map { index, pointer in
                enumeration(
                    pointer!.pointee,
                    scope: fullName + ".",
                    path: path + [4, Int32(index)],
                    comments: comments
                )
            },
            isMapEntry: c.options.map { $0.pointee.has_map_entry != 0 && $0.pointee.map_entry != 0 } ?? false
        )
    }

    private static func field(_ c: Google__Protobuf__FieldDescriptorProto, doc: String) -> ProtoField {
        let typeName = string(c.type_name)
        return ProtoField(
            name: string(c.name),
            number: c.number,
            label: ProtoLabel(rawValue: Int32(truncatingIfNeeded: c.label.rawValue)) ?? .optional,
            type: ProtoFieldType(rawValue: Int32(truncatingIfNeeded: c.type.rawValue)) ?? .group,
            typeName: typeName.hasPrefix(".") ? String(typeName.dropFirst()) : typeName,
            jsonName: string(c.json_name),
            oneofIndex: c.has_oneof_index != 0 ? Int(c.oneof_index) : nil,
            proto3Optional: c.has_proto3_optional != 0 && c.proto3_optional != 0,
            doc: doc
        )
    }

    private static func enumeration(
        _ c: Google__Protobuf__EnumDescriptorProto,
        scope: String,
        path: [Int32],
        comments: Comments
    ) -> ProtoEnum {
        let name = string(c.name)
        return ProtoEnum(
            name: name,
            fullName: scope + name,
            doc: comments[path],
            values: pointers(c.value, c.n_value).enumerated().map { index, pointer in
                ProtoEnumValue(
                    name: string(pointer!.pointee.name),
                    number: pointer!.pointee.number,
                    doc: comments[path + [2, Int32(index)]]
                )
            }
        )
    }

    private static func service(
        _ c: Google__Protobuf__ServiceDescriptorProto,
        scope: String,
        path: [Int32],
        comments: Comments
    ) -> ProtoService {
        let name = string(c.name)
        return ProtoService(
            name: name,
            fullName: scope + name,
            doc: comments[path],
            methods: pointers(c.method, c.n_method).enumerated().map { index, pointer in
                let method = pointer!.pointee
                var idempotency = ProtoIdempotency.unknown
                if let options = method.options, options.pointee.has_idempotency_level != 0 {
                    idempotency =
                        ProtoIdempotency(
                            rawValue: Int32(truncatingIfNeeded: options.pointee.idempotency_level.rawValue)
                        )
                        ?? .unknown
                }
                let input = string(method.input_type)
                let output = string(method.output_type)
                return ProtoMethod(
                    name: string(method.name),
                    inputType: input.hasPrefix(".") ? String(input.dropFirst()) : input,
                    outputType: output.hasPrefix(".") ? String(output.dropFirst()) : output,
                    clientStreaming: method.client_streaming != 0,
                    serverStreaming: method.server_streaming != 0,
                    idempotency: idempotency,
                    doc: comments[path + [2, Int32(index)]]
                )
            }
        )
    }

    // MARK: - C helpers

    private static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    private static func strings(
        _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        _ count: Int
    ) -> [String] {
        pointers(pointer, count).map(string)
    }

    private static func pointers<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// Leading comments by source path (see SourceCodeInfo in descriptor.proto).
    private struct Comments {
        private var byPath: [[Int32]: String] = [:]

        init(_ info: UnsafeMutablePointer<Google__Protobuf__SourceCodeInfo>?) {
            guard let info else { return }
            for location in pointers(info.pointee.location, info.pointee.n_location) {
                let location = location!.pointee
                guard let leading = location.leading_comments else { continue }
                let path = pointers(location.path, location.n_path)
                byPath[path] = Self.clean(String(cString: leading))
            }
        }

        subscript(_ path: [Int32]) -> String { byPath[path] ?? "" }

        /// Drops the one space after `//` and surrounding blank lines.
        private static func clean(_ comment: String) -> String {
            let lines = comment.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
                line.hasPrefix(" ") ? line.dropFirst() : line
            }
            return lines.map { String($0).trimmingTrailingSpaces() }.joined(separator: "\n")
                .trimmingCharacters(in: "\n")
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var result = self
        while result.last == " " || result.last == "\t" { result.removeLast() }
        return result
    }

    func trimmingCharacters(in set: Character) -> String {
        var result = Substring(self)
        while result.first == set { result = result.dropFirst() }
        while result.last == set { result = result.dropLast() }
        return String(result)
    }
}
