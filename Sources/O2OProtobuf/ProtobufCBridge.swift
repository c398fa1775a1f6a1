package import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The bump arena a message's protobuf-c struct is built in, handed to generated code.
/// Valid only inside the encode or decode that created it.
public struct O2OArenaHandle {
    // A raw pointer rather than the C type: no C type appears in a public signature.
    private let raw: UnsafeMutableRawPointer

    package init(_ arena: UnsafeMutablePointer<O2OArena>) {
        raw = UnsafeMutableRawPointer(arena)
    }

    private var arena: UnsafeMutablePointer<O2OArena> { raw.assumingMemoryBound(to: O2OArena.self) }

    package func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        guard let memory = o2o_arena_alloc(arena, size) else { ProtobufCBridge.outOfMemory(size) }
        return memory
    }

    /// A NUL-terminated copy. protobuf-c measures strings with strlen, so a string with
    /// an embedded NUL is cut there on the wire.
    package func string(_ string: String) -> UnsafeMutablePointer<CChar> {
        var string = string
        return string.withUTF8 { utf8 in
            guard let copy = o2o_arena_strndup(arena, utf8.baseAddress, utf8.count) else {
                ProtobufCBridge.outOfMemory(utf8.count + 1)
            }
            return copy
        }
    }

    package func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        let memory = allocate(bytes.count)
        bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ProtobufCBinaryData(len: bytes.count, data: memory.assumingMemoryBound(to: UInt8.self))
    }

    /// An initialised protobuf-c struct of the message's type, filled from `message`.
    package func message<Message: O2OMessage, CStruct>(
        _ message: Message,
        as: CStruct.Type
    ) -> UnsafeMutablePointer<CStruct> {
        let descriptor = Message._protobufCDescriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
        let memory = allocate(descriptor.pointee.sizeof_message)
        protobuf_c_message_init(descriptor, memory)
        message._writeProtobufC(to: memory, arena: self)
        return memory.assumingMemoryBound(to: CStruct.self)
    }

    package func array<Element, CElement>(
        _ elements: [Element],
        _ convert: (Element) -> CElement
    ) -> UnsafeMutablePointer<CElement> {
        let memory = allocate(MemoryLayout<CElement>.stride * elements.count)
            .bindMemory(to: CElement.self, capacity: elements.count)
        for (offset, element) in elements.enumerated() {
            (memory + offset).initialize(to: convert(element))
        }
        return memory
    }

    package func scalarArray<Scalar>(_ elements: [Scalar]) -> UnsafeMutablePointer<Scalar> {
        let memory = allocate(MemoryLayout<Scalar>.stride * elements.count)
        elements.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return memory.assumingMemoryBound(to: Scalar.self)
    }

    package func stringArray(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        array(strings) { Optional(string($0)) }
    }

    package func messageArray<Message: O2OMessage, CStruct>(
        _ messages: [Message],
        as type: CStruct.Type
    ) -> UnsafeMutablePointer<UnsafeMutablePointer<CStruct>?> {
        array(messages) { Optional(message($0, as: type)) }
    }

    /// Map entries as protobuf-c wants them: an array of pointers to entry messages.
    package func mapEntries<Key, Value, CEntry>(
        _ pairs: [(key: Key, value: Value)],
        as: CEntry.Type,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>!,
        _ fill: (UnsafeMutablePointer<CEntry>, Key, Value) -> Void
    ) -> UnsafeMutablePointer<UnsafeMutablePointer<CEntry>?> {
        array(pairs) { pair in
            let memory = allocate(descriptor.pointee.sizeof_message)
            protobuf_c_message_init(descriptor, memory)
            let entry = memory.assumingMemoryBound(to: CEntry.self)
            fill(entry, pair.key, pair.value)
            return Optional(entry)
        }
    }
}

/// Encoding and decoding through protobuf-c.
enum ProtobufCBridge {
    /// Bytes of stack the arena starts with; most messages never touch the heap.
    private static let stackBlockSize = 3072

    /// Builds the message's protobuf-c struct in an arena and runs `body` with it and
    /// its packed size.
    static func withPacked<Message: O2OMessage, Result>(
        _ message: Message,
        _ body: (UnsafePointer<ProtobufCMessage>, Int) throws -> Result
    ) rethrows -> Result {
        try withUnsafeTemporaryAllocation(byteCount: stackBlockSize, alignment: 16) { block in
            let arena = o2o_arena_create_in(block.baseAddress, block.count, 0)!
            defer { o2o_arena_destroy(arena) }
            let handle = O2OArenaHandle(arena)
            let descriptor = Message._protobufCDescriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
            let memory = handle.allocate(descriptor.pointee.sizeof_message)
            protobuf_c_message_init(descriptor, memory)
            message._writeProtobufC(to: memory, arena: handle)
            let cMessage = UnsafePointer(memory.assumingMemoryBound(to: ProtobufCMessage.self))
            return try body(cMessage, protobuf_c_message_get_packed_size(cMessage))
        }
    }

    /// Packs into `out`, which holds at least the packed size; returns the bytes written.
    @discardableResult
    static func pack(_ message: UnsafePointer<ProtobufCMessage>, into out: UnsafeMutableRawBufferPointer) -> Int {
        protobuf_c_message_pack(message, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }

    /// The most memory a decode of `count` input bytes may use: protobuf-c allocates a
    /// whole struct for every sub-message, so a few input bytes can ask for hundreds.
    static func decodeBudget(forInputBytes count: Int) -> Int {
        min(1 << 30, (1 << 20) + count * 256)
    }

    static func decode<Message: O2OMessage>(_ type: Message.Type, from bytes: UnsafeRawBufferPointer) throws -> Message
    {
        let descriptor = Message._protobufCDescriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
        return try withUnsafeTemporaryAllocation(byteCount: stackBlockSize, alignment: 16) { block in
            let budget = decodeBudget(forInputBytes: bytes.count)
            let arena = o2o_arena_create_in(block.baseAddress, block.count, budget)!
            defer { o2o_arena_destroy(arena) }
            var empty: UInt8 = 0
            let unpacked = withUnsafePointer(to: &empty) { emptyPointer in
                o2o_unpack(
                    descriptor,
                    arena,
                    bytes.count,
                    bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer
                )
            }
            guard let unpacked else {
                if arena.pointee.exhausted != 0 {
                    throw O2ODecodingError(
                        messageType: Message.protoName,
                        fieldPath: "",
                        reason: "decoding \(bytes.count) bytes needs more than \(budget) bytes of memory"
                    )
                }
                throw WireDiagnostics.explain(bytes, descriptor: descriptor)
            }
            defer { o2o_free_unpacked(unpacked, arena) }
            if var error = WireDiagnostics.nulInString(bytes, descriptor: descriptor) {
                error.messageType = Message.protoName
                throw error
            }
            do {
                return try Message(_protobufC: UnsafeRawPointer(unpacked))
            } catch var error as O2ODecodingError {
                error.messageType = Message.protoName
                throw error
            }
        }
    }

    static func outOfMemory(_ size: Int) -> Never {
        fatalError("out of memory allocating \(size) bytes for a protobuf message")
    }
}

// MARK: - Helpers for generated code

/// A Swift string from a protobuf-c string; invalid UTF-8 is an error.
package func _o2oString(_ pointer: UnsafeMutablePointer<CChar>?, field: String) throws -> String {
    guard let pointer else { return "" }
    if pointer.pointee == 0 { return "" }
    guard let string = String(validatingCString: pointer) else { throw O2ODecodingError.invalidUTF8(field: field) }
    return string
}

package func _o2oBytes(_ data: ProtobufCBinaryData) -> [UInt8] {
    guard data.len > 0, let bytes = data.data else { return [] }
    return Array(UnsafeBufferPointer(start: bytes, count: data.len))
}

/// Runs `body`, attributing any decoding error to `field`.
package func _o2oNested<Value>(_ field: String, _ body: () throws -> Value) throws -> Value {
    do {
        return try body()
    } catch let error as O2ODecodingError {
        throw error.nested(in: field)
    }
}

@inlinable
package func _o2oArray<CElement, Element>(
    _ pointer: UnsafeMutablePointer<CElement>?,
    _ count: Int,
    field: String,
    _ convert: (CElement) throws -> Element
) throws -> [Element] {
    guard let pointer, count > 0 else { return [] }
    var result: [Element] = []
    result.reserveCapacity(count)
    for offset in 0..<count {
        do {
            result.append(try convert(pointer[offset]))
        } catch let error as O2ODecodingError {
            throw error.nested(in: "\(field)[\(offset)]")
        }
    }
    return result
}

package func _o2oMap<CEntry, Key: Hashable, Value>(
    _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CEntry>?>?,
    _ count: Int,
    field: String,
    _ convert: (UnsafeMutablePointer<CEntry>) throws -> (Key, Value)
) throws -> [Key: Value] {
    guard let pointer, count > 0 else { return [:] }
    var result: [Key: Value] = [:]
    result.reserveCapacity(count)
    for offset in 0..<count {
        guard let entry = pointer[offset] else { continue }
        do {
            let (key, value) = try convert(entry)
            // The last entry for a key wins, as the protobuf spec says.
            result[key] = value
        } catch let error as O2ODecodingError {
            throw error.nested(in: "\(field)[\(offset)]")
        }
    }
    return result
}
