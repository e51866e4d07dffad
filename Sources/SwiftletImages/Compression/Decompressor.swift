import CZlib
import CZstd

/// How a layer or an archive is compressed. Layers say it in their media type; archives are
/// recognised by their first bytes.
public enum Compression: String, Sendable, Equatable {
    case none, gzip, zstd

    /// From the first bytes of a stream (at least four).
    public static func detect(_ prefix: some Collection<UInt8>) -> Compression {
        let bytes = Array(prefix.prefix(4))
        if bytes.count >= 2, bytes[0] == 0x1f, bytes[1] == 0x8b { return .gzip }
        if bytes == [0x28, 0xb5, 0x2f, 0xfd] { return .zstd }
        return .none
    }

    /// A layer media type's compression, or nil for a type that is not a layer Swiftlet unpacks.
    public static func forLayer(mediaType: String) -> Compression? {
        switch mediaType {
        case MediaType.ociLayer, MediaType.ociLayerNondistributable: return Compression.none
        case MediaType.ociLayerGzip, MediaType.dockerLayerGzip, MediaType.ociLayerNondistributableGzip,
             MediaType.dockerForeignLayerGzip: return .gzip
        case MediaType.ociLayerZstd, MediaType.ociLayerNondistributableZstd: return .zstd
        default: return nil
        }
    }
}

/// Decompresses a stream chunk by chunk into a consumer, never producing more than `limit`
/// bytes: a compressed bomb stops at the limit instead of filling the disk or the memory.
/// gzip streams may have several members, as Go's reader (and so Docker) accepts.
public final class Decompressor {
    public let compression: Compression
    public let limit: Int64
    public private(set) var produced: Int64 = 0
    private var zlib: UnsafeMutablePointer<z_stream>?
    private var zstd: OpaquePointer?
    /// Whether the last input ended exactly at the end of a compressed frame or member.
    private var atFrameEnd = true
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 * 1024, alignment: 16)

    public init(_ compression: Compression, limit: Int64) throws(ImageError) {
        self.compression = compression
        self.limit = limit
        switch compression {
        case .none:
            break
        case .gzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 15 window bits, +16: a gzip header and trailer are expected.
            guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                stream.deallocate()
                throw ImageError(.storage, "cannot start a gzip decompressor")
            }
            zlib = stream
        case .zstd:
            guard let stream = ZSTD_createDStream() else { throw ImageError(.storage, "cannot start a zstd decompressor") }
            ZSTD_initDStream(stream)
            // A window of at most 128 MiB (zstd's default cap), so a frame cannot demand more memory.
            ZSTD_DCtx_setParameter(stream, ZSTD_d_windowLogMax, 27)
            zstd = stream
        }
    }

    deinit {
        output.deallocate()
        if let zlib {
            inflateEnd(zlib)
            zlib.deallocate()
        }
        if let zstd { ZSTD_freeDStream(zstd) }
    }

    /// Feeds compressed bytes; `consume` gets the decompressed ones as they come.
    public func feed(_ input: UnsafeRawBufferPointer,
                     _ consume: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        guard !input.isEmpty else { return }
        switch compression {
        case .none:
            try emit(input, consume)
        case .gzip:
            try inflate(input, consume)
        case .zstd:
            try decompressZstd(input, consume)
        }
    }

    /// Checks that the stream ended where a compressed stream may end (not cut off).
    public func finish() throws(ImageError) {
        guard atFrameEnd else {
            throw ImageError(.invalidContent, "unexpected end of \(compression.rawValue) stream")
        }
    }

    private func emit(_ bytes: UnsafeRawBufferPointer, _ consume: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        guard produced + Int64(bytes.count) <= limit else {
            throw ImageError(.tooLarge, "decompressed content exceeds the limit of \(limit) bytes")
        }
        produced += Int64(bytes.count)
        try consume(bytes)
    }

    private func inflate(_ input: UnsafeRawBufferPointer,
                         _ consume: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        guard let stream = zlib else { return }
        var offset = 0
        while offset < input.count {
            if atFrameEnd {
                // A new member: gzip members may follow each other; padding zeros after the last are ignored.
                if input[offset...].allSatisfy({ $0 == 0 }) && produced > 0 { return }
                inflateReset(stream)
                atFrameEnd = false
            }
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset)
            stream.pointee.avail_in = UInt32(input.count - offset)
            var ended = false
            repeat {
                stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = UInt32(output.count)
                let status = CZlib.inflate(stream, Z_NO_FLUSH)
                let count = output.count - Int(stream.pointee.avail_out)
                if count > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<count]), consume) }
                switch status {
                case Z_STREAM_END: ended = true
                case Z_OK, Z_BUF_ERROR: break
                default:
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw ImageError(.invalidContent, "invalid gzip stream: \(reason)")
                }
            } while !ended && (stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0)
            offset = input.count - Int(stream.pointee.avail_in)
            if ended { atFrameEnd = true }
        }
    }

    private func decompressZstd(_ input: UnsafeRawBufferPointer,
                                _ consume: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        guard let stream = zstd else { return }
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        repeat {
            var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            let hint = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
            let produced = outBuffer.pos
            if ZSTD_isError(hint) != 0 {
                throw ImageError(.invalidContent, "invalid zstd stream: \(String(cString: ZSTD_getErrorName(hint)))")
            }
            if produced > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<produced]), consume) }
            // 0 means a frame was completely decoded and flushed.
            atFrameEnd = hint == 0
        } while inBuffer.pos < inBuffer.size
        // Flush whatever zstd still holds for the input already given.
        while true {
            var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            var empty = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
            let hint = ZSTD_decompressStream(stream, &outBuffer, &empty)
            let produced = outBuffer.pos
            if ZSTD_isError(hint) != 0 {
                throw ImageError(.invalidContent, "invalid zstd stream: \(String(cString: ZSTD_getErrorName(hint)))")
            }
            // A call that produces nothing after a frame's end only asks for the next frame's
            // header: it says nothing of whether the last one was complete.
            guard produced > 0 else { break }
            atFrameEnd = hint == 0
            try emit(UnsafeRawBufferPointer(rebasing: output[0..<produced]), consume)
        }
    }
}
