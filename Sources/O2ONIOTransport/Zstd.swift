internal import CZstd
import NIOCore

/// Why a compressed message was refused.
@_spi(Fuzzing) public enum ZstdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The declared (or actual) size is beyond the limit.
    case tooLarge(declared: UInt64, limit: Int)
    /// The frame header has no content size, which the protocol requires.
    case unknownSize
    /// Not a valid zstd frame, or the output differs from the declared size.
    case corrupt(String)

    public var description: String {
        switch self {
        case .tooLarge(let declared, let limit):
            "compressed message declares \(declared) bytes, more than the limit of \(limit)"
        case .unknownSize: "compressed message has no content size in its zstd header"
        case .corrupt(let reason): "compressed message is corrupt: \(reason)"
        }
    }
}

/// zstd compression for one connection: one compression and one decompression
/// context, reused for every message. Used only on the connection's event loop.
@_spi(Fuzzing) public final class ZstdCodec {
    private let compressionContext: OpaquePointer
    private let decompressionContext: OpaquePointer
    private let level: Int32

    public init(level: Int32) {
        compressionContext = ZSTD_createCCtx()!
        decompressionContext = ZSTD_createDCtx()!
        self.level = level
    }

    deinit {
        ZSTD_freeCCtx(compressionContext)
        ZSTD_freeDCtx(decompressionContext)
    }

    /// Appends one zstd frame, with the content size in its header, holding `input`.
    public func compress(_ input: ByteBuffer, into output: inout ByteBuffer) {
        let bound = ZSTD_compressBound(input.readableBytes)
        _ = input.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { destination in
                let written = ZSTD_compressCCtx(
                    compressionContext,
                    destination.baseAddress,
                    destination.count,
                    source.baseAddress,
                    source.count,
                    level
                )
                // Compressing into a buffer of compressBound bytes cannot fail.
                precondition(
                    ZSTD_isError(written) == 0,
                    "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))"
                )
                return written
            }
        }
    }

    /// The content size a zstd frame declares in its header; nil when it declares none
    /// or is not a zstd frame.
    static func declaredSize(_ input: ByteBuffer) -> Int? {
        let declared = input.withUnsafeReadableBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR are the two largest values.
        guard declared < UInt64.max - 1 else { return nil }
        return declared > UInt64(Int.max) ? Int.max : Int(declared)
    }

    /// Decompresses one zstd frame, refusing it before allocating anything when it
    /// declares more than `maximumSize` bytes or no size at all.
    public func decompress(
        _ input: ByteBuffer,
        maximumSize: Int,
        allocator: ByteBufferAllocator
    ) throws(ZstdError) -> ByteBuffer {
        let result: Result<ByteBuffer, ZstdError> = input.withUnsafeReadableBytes { source in
            let declared = ZSTD_getFrameContentSize(source.baseAddress, source.count)
            // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR.
            if declared == UInt64.max { return .failure(.unknownSize) }
            if declared == UInt64.max - 1 { return .failure(.corrupt("not a zstd frame")) }
            guard declared <= UInt64(maximumSize) else {
                return .failure(.tooLarge(declared: declared, limit: maximumSize))
            }
            let frameSize = ZSTD_findFrameCompressedSize(source.baseAddress, source.count)
            guard ZSTD_isError(frameSize) == 0, frameSize == source.count else {
                return .failure(.corrupt("data after the zstd frame, or a truncated frame"))
            }
            let size = Int(declared)
            var output = allocator.buffer(capacity: size)
            var failure: ZstdError?
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { destination in
                // The destination holds exactly the declared size: a frame that
                // decompresses to more fails here instead of growing the buffer.
                let written = ZSTD_decompressDCtx(
                    decompressionContext,
                    destination.baseAddress,
                    size,
                    source.baseAddress,
                    source.count
                )
                if ZSTD_isError(written) != 0 {
                    failure = .corrupt(String(cString: ZSTD_getErrorName(written)))
                    return 0
                }
                if written != size {
                    failure = .corrupt("decompressed to \(written) bytes, not the declared \(size)")
                    return 0
                }
                return written
            }
            if let failure { return .failure(failure) }
            return .success(output)
        }
        return try result.get()
    }
}
