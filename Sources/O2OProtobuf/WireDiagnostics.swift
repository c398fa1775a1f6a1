internal import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Explains why protobuf-c refused some bytes. protobuf-c only says "no" (a NULL
/// return), so when it does, this walks the wire format against the same descriptor
/// to find the first problem and name the field (`explain`, only on the failure
/// path). It also finds strings holding U+0000 in bytes protobuf-c accepted.
enum WireDiagnostics {
    static func explain(
        _ bytes: UnsafeRawBufferPointer,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    ) -> O2ODecodingError {
        let typeName = String(cString: descriptor.pointee.name)
        var reader = Reader(bytes: bytes)
        if let problem = check(&reader, end: bytes.count, descriptor: descriptor, path: "", depth: 0, explaining: true)
        {
            return O2ODecodingError(messageType: typeName, fieldPath: problem.path, reason: problem.reason)
        }
        return O2ODecodingError(
            messageType: typeName,
            fieldPath: "",
            reason: "malformed protobuf data (\(bytes.count) bytes) rejected by the decoder"
        )
    }

    private struct Problem {
        var path: String
        var reason: String
        var isNul = false
    }

    /// A string field of accepted bytes that holds U+0000: protobuf-c keeps strings
    /// NUL-terminated and would cut it there silently, so such input is refused.
    /// Only bytes containing a zero byte at all are walked (a NUL in a string is one),
    /// so the common case costs one memchr.
    static func nulInString(
        _ bytes: UnsafeRawBufferPointer,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>
    ) -> O2ODecodingError? {
        guard let base = bytes.baseAddress, memchr(base, 0, bytes.count) != nil else { return nil }
        var reader = Reader(bytes: bytes)
        guard
            let problem = check(
                &reader,
                end: bytes.count,
                descriptor: descriptor,
                path: "",
                depth: 0,
                explaining: false
            ),
            problem.isNul
        else { return nil }
        return O2ODecodingError(
            messageType: String(cString: descriptor.pointee.name),
            fieldPath: problem.path,
            reason: problem.reason
        )
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func varint() -> UInt64? {
            var result: UInt64 = 0
            for shift in stride(from: 0, to: 70, by: 7) {
                guard offset < bytes.count else { return nil }
                let byte = bytes[offset]
                offset += 1
                if shift == 63, byte > 1 { return nil }
                result |= UInt64(byte & 0x7f) << UInt64(shift)
                if byte & 0x80 == 0 { return result }
            }
            return nil
        }
    }

    private static func path(_ parent: String, _ field: String) -> String {
        parent.isEmpty ? field : parent + "." + field
    }

    private static func check(
        _ reader: inout Reader,
        end: Int,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        path parent: String,
        depth: Int,
        explaining: Bool
    ) -> Problem? {
        guard depth < 100 else { return Problem(path: parent, reason: "messages nested more than 100 deep") }
        var repeatedCounts: [UInt32: Int] = [:]
        while reader.offset < end {
            let tagOffset = reader.offset
            guard let tag = reader.varint(), reader.offset <= end else {
                return Problem(path: parent, reason: "truncated or malformed tag at byte \(tagOffset)")
            }
            let number = UInt32(truncatingIfNeeded: tag >> 3)
            let wireType = Int(tag & 7)
            guard number != 0, tag >> 3 <= 0x1fff_ffff else {
                return Problem(path: parent, reason: "invalid field number \(tag >> 3) at byte \(tagOffset)")
            }
            let field = protobuf_c_message_descriptor_get_field(descriptor, number)
            var index: Int?
            if let field, field.pointee.label == PROTOBUF_C_LABEL_REPEATED {
                index = repeatedCounts[number, default: 0]
                repeatedCounts[number] = index! + 1
            }
            // Built only when needed (a problem, a sub-message): the walk also runs
            // over accepted input, looking for U+0000.
            var fieldPath: String {
                let name = field.map { String(cString: $0.pointee.name) } ?? "#\(number)"
                return path(parent, name) + (index.map { "[\($0)]" } ?? "")
            }
            switch wireType {
            case 0:
                guard reader.varint() != nil, reader.offset <= end else {
                    return Problem(path: fieldPath, reason: "truncated or malformed varint")
                }
            case 1, 5:
                let size = wireType == 1 ? 8 : 4
                guard reader.offset + size <= end else {
                    return Problem(path: fieldPath, reason: "truncated \(size * 8)-bit value")
                }
                reader.offset += size
            case 2:
                let lengthOffset = reader.offset
                guard let length = reader.varint() else {
                    return Problem(path: fieldPath, reason: "truncated or malformed length at byte \(lengthOffset)")
                }
                let left = end - reader.offset
                guard length <= UInt64(max(left, 0)) else {
                    return Problem(
                        path: fieldPath,
                        reason: "length \(length) overruns the buffer (\(max(left, 0)) bytes left)"
                    )
                }
                let start = reader.offset
                let stop = start + Int(length)
                if let field {
                    if field.pointee.type == PROTOBUF_C_TYPE_MESSAGE, let sub = field.pointee.descriptor {
                        let subDescriptor = sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                        if let problem = check(
                            &reader,
                            end: stop,
                            descriptor: subDescriptor,
                            path: fieldPath,
                            depth: depth + 1,
                            explaining: explaining
                        ) {
                            return problem
                        }
                    } else if field.pointee.type == PROTOBUF_C_TYPE_STRING {
                        let slice = UnsafeRawBufferPointer(rebasing: reader.bytes[start..<stop])
                        if slice.contains(0) {
                            return Problem(
                                path: fieldPath,
                                reason: "string contains U+0000, which this protocol cannot carry",
                                isNul: true
                            )
                        }
                        // Accepted input is validated as it is read into Swift strings.
                        if explaining, String(validating: slice, as: UTF8.self) == nil {
                            return Problem(path: fieldPath, reason: "string is not valid UTF-8")
                        }
                    }
                }
                reader.offset = stop
            case 3, 4:
                return Problem(path: fieldPath, reason: "groups (wire type \(wireType)) are not supported")
            default:
                return Problem(path: fieldPath, reason: "invalid wire type \(wireType) at byte \(tagOffset)")
            }
            if let field, let expected = expectedWireType(field.pointee), wireType != expected {
                let packable = field.pointee.label == PROTOBUF_C_LABEL_REPEATED && wireType == 2 && expected != 2
                if !packable {
                    return Problem(
                        path: fieldPath,
                        reason: "wire type \(wireType) does not match the field's type (expected \(expected))"
                    )
                }
            }
        }
        return nil
    }

    private static func expectedWireType(_ field: ProtobufCFieldDescriptor) -> Int? {
        switch field.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64,
            PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_BOOL, PROTOBUF_C_TYPE_ENUM:
            return 0
        case PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE:
            return 1
        case PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_FLOAT:
            return 5
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_BYTES, PROTOBUF_C_TYPE_MESSAGE:
            return 2
        default:
            return nil
        }
    }
}
