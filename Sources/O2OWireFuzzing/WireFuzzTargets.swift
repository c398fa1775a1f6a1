import NIOCore
import O2OMessages
@_spi(Benchmarking) @_spi(Fuzzing) import O2ONIOTransport
import O2OShell

/// The entry points of the wire fuzzers: each takes any bytes and must return
/// without trapping, whatever they hold. libFuzzer drives them (`Fuzz/`, built with
/// `-sanitize=fuzzer,address` by `Tools/fuzz-wire`); the tests replay the committed
/// corpus through them on every run, so a crash once found stays fixed.
///
/// The message targets read their input as a type name, a newline, and the bytes: a
/// corpus file stays meaningful when types are added. A name that is not a type picks
/// one by its hash, so mutated names still exercise something.
public enum WireFuzzTargets {
    /// The targets by name.
    public static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "frames": frames, "messages": messages, "json": json, "shell-codec": shellCodec,
    ]

    /// The frame decoder as the server runs it (the first byte says whether a preface
    /// is expected), then every frame's payload as the connection reads it: control
    /// messages, call headers and their metadata, zstd-compressed messages.
    public static func frames(_ input: [UInt8]) {
        guard let first = input.first else { return }
        var decoder = FrameDecoder(maximumFrameSize: 16_384, expectPreface: first & 1 == 1)
        var buffer = ByteBuffer(bytes: input.dropFirst())
        let zstd = ZstdCodec(level: 1)
        while let unit = try? decoder.decode(buffer: &buffer) {
            guard case .frame(let frame) = unit else { continue }
            switch frame.type {
            case .settings: _ = try? WireSettings(serializedBytes: frame.payload)
            case .headers:
                if let header = try? WireCallHeader(serializedBytes: frame.payload) {
                    _ = CallHeaderMetadata.metadata(from: header.metadata)
                }
            case .message where frame.flags.contains(.compressed):
                _ = try? zstd.decompress(frame.payload, maximumSize: 4 << 20, allocator: ByteBufferAllocator())
            case .trailers: _ = try? WireTrailers(serializedBytes: frame.payload)
            case .cancel: _ = try? WireCancel(serializedBytes: frame.payload)
            case .goAway: _ = try? WireGoAway(serializedBytes: frame.payload)
            default: break
            }
        }
    }

    /// Any message type through the protobuf-c bridge; what decodes must encode, decode
    /// again, and go through JSON and back.
    public static func messages(_ input: [UInt8]) {
        let (type, body) = split(input)
        guard let message = try? type.init(serializedBytes: ByteBuffer(bytes: body)) else { return }
        roundTrip(message)
    }

    /// The proto3 JSON parser, then the type's JSON reader; what it accepts must encode
    /// and decode again.
    public static func json(_ input: [UInt8]) {
        let (type, body) = split(input)
        guard let value = try? O2OJSONValue(parsing: body),
            let message = try? type.init(_json: value, path: "")
        else { return }
        roundTrip(message)
    }

    /// The shell's dynamic codec (reflection-driven, no generated code): what it reads
    /// from bytes it must be able to write again.
    public static func shellCodec(_ input: [UInt8]) {
        let (type, body) = split(input)
        guard let json = try? codec.decode(body, as: type.protoName) else { return }
        do {
            _ = try codec.encode(json, as: type.protoName)
        } catch {
            fatalError("the shell decoded \(type.protoName) but cannot encode what it read: \(error)")
        }
    }

    private static func roundTrip(_ message: any O2ODescribedMessage) {
        let type = Swift.type(of: message)
        var buffer = ByteBuffer()
        message.serialize(into: &buffer)
        do {
            _ = try type.init(serializedBytes: buffer)
        } catch {
            fatalError("\(type.protoName) decoded, encoded, and no longer decodes: \(error)")
        }
        do {
            _ = try type.init(_json: try O2OJSONValue(parsing: Array(message.jsonString().utf8)), path: "")
        } catch {
            fatalError("\(type.protoName) written as JSON does not read back: \(error)")
        }
    }

    /// Every message type, in name order.
    static let types: [any O2ODescribedMessage.Type] = O2OSchemaRegistry.messageTypes.sorted { $0.key < $1.key }.map(
        \.value
    )

    static let codec = DynamicCodec(
        schema: ShellSchema(
            GetSchemaResponse(
                services: [],
                messages: O2OSchemaRegistry.messageTypes.values.map { $0._messageSchema },
                enums: O2OSchemaRegistry.enumTypes.values.map { $0._enumSchema }
            )
        )
    )

    /// The type an input names and the bytes after the newline.
    static func split(_ input: [UInt8]) -> (any O2ODescribedMessage.Type, [UInt8]) {
        let newline = input.firstIndex(of: 0x0a) ?? input.endIndex
        let name = String(decoding: input[..<newline], as: UTF8.self)
        let body = Array(input[min(newline + 1, input.endIndex)...])
        if let type = O2OSchemaRegistry.messageTypes[name] { return (type, body) }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in input[..<newline] { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return (types[Int(hash % UInt64(types.count))], body)
    }
}
