import O2ORPC
import O2ORPCMessages

/// The metadata of a call's HEADERS: at most 64 entries of valid keys, at most 16 KiB
/// in all (docs/PROTOCOL.md §9 and §14). Open to the wire fuzzer through its SPI.
@_spi(Fuzzing) public enum CallHeaderMetadata {
    public static func metadata(from entries: [WireMetadataEntry]) -> Result<RPCMetadata, RPCError> {
        guard entries.count <= 64 else {
            return .failure(RPCError(code: .invalidArgument, message: "more than 64 metadata entries"))
        }
        var metadata = RPCMetadata()
        var total = 0
        for entry in entries {
            guard RPCMetadata.isValidKey(entry.key) else {
                return .failure(
                    RPCError(
                        code: .invalidArgument,
                        message: "metadata key '\(entry.key.prefix(64))' is not 1 to 128 characters of [a-z0-9-_.]"
                    )
                )
            }
            total += entry.key.utf8.count
            switch entry.value {
            case .text(let text)?:
                total += text.utf8.count
                metadata.add(entry.key, text)
            case .binary(let bytes)?:
                total += bytes.count
                metadata.add(entry.key, binary: bytes)
            case nil:
                metadata.add(entry.key, "")
            }
        }
        guard total <= 16_384 else {
            return .failure(RPCError(code: .invalidArgument, message: "metadata larger than 16 KiB"))
        }
        return .success(metadata)
    }
}
