import CZstd

struct ZstdTestError: Error {}

/// Compresses with zstd's one-shot API (content size in the header), for building
/// hand-made compressed frames.
func zstdCompress(_ input: [UInt8]) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
    let written = input.withUnsafeBytes { source in
        output.withUnsafeMutableBytes { destination in
            ZSTD_compress(destination.baseAddress, destination.count, source.baseAddress, source.count, 19)
        }
    }
    guard ZSTD_isError(written) == 0 else { throw ZstdTestError() }
    return Array(output.prefix(written))
}
