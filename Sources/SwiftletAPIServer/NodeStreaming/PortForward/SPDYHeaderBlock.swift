import CZlib

/// SPDY/3 name/value header blocks: a count, then length-prefixed names and values, compressed with zlib primed
/// with `SPDYHeaderDictionary`. Each direction of a connection is one zlib stream, flushed (not ended) after every
/// block, so a reader or writer lives as long as its connection and takes the blocks in order.
enum SPDYHeaderBlock {
    /// Names are lower case on the wire (the Go client canonicalizes them back).
    static func encode(_ headers: [(String, String)]) -> [UInt8] {
        var out = SPDYFrame.bytes(UInt32(headers.count))
        for (name, value) in headers {
            out += SPDYFrame.bytes(UInt32(name.utf8.count)) + Array(name.lowercased().utf8)
            out += SPDYFrame.bytes(UInt32(value.utf8.count)) + Array(value.utf8)
        }
        return out
    }

    /// Names lower-cased; a name given several values (NUL-separated) keeps the first.
    static func decode(_ bytes: [UInt8]) throws(SPDYError) -> [String: String] {
        guard bytes.count >= 4 else { throw .malformed("header block") }
        var headers: [String: String] = [:]
        var offset = 4
        func field() throws(SPDYError) -> [UInt8] {
            guard bytes.count - offset >= 4 else { throw .malformed("header block") }
            let length = Int(SPDYFrame.word(bytes, offset))
            offset += 4
            guard bytes.count - offset >= length else { throw .malformed("header block") }
            defer { offset += length }
            return Array(bytes[offset..<(offset + length)])
        }
        for _ in 0..<SPDYFrame.word(bytes, 0) {
            let name = String(decoding: try field(), as: UTF8.self).lowercased()
            let value = try field().split(separator: 0, omittingEmptySubsequences: false).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
            if headers[name] == nil { headers[name] = value }
        }
        return headers
    }
}

/// One direction's zlib stream, inflating or deflating. Not thread-safe: one connection's reader or writer.
final class SPDYHeaderCompression {
    enum Direction { case inflating, deflating }

    private let direction: Direction
    private let stream: UnsafeMutablePointer<z_stream>
    private let dictionary = SPDYHeaderDictionary.bytes
    static let maximumBlockSize = 64 * 1024

    init(_ direction: Direction) throws(SPDYError) {
        self.direction = direction
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let size = Int32(MemoryLayout<z_stream>.size)
        switch direction {
        case .inflating:
            guard inflateInit_(stream, zlibVersion(), size) == Z_OK else { throw .compression("inflateInit") }
        case .deflating:
            guard deflateInit_(stream, Z_DEFAULT_COMPRESSION, zlibVersion(), size) == Z_OK else { throw .compression("deflateInit") }
            let primed = dictionary.withUnsafeBufferPointer { deflateSetDictionary(stream, $0.baseAddress, uInt($0.count)) }
            guard primed == Z_OK else { throw .compression("deflateSetDictionary") }
        }
    }

    deinit {
        switch direction {
        case .inflating: inflateEnd(stream)
        case .deflating: deflateEnd(stream)
        }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// The block through this direction's stream, flushed so the peer can take it whole.
    func process(_ input: [UInt8]) throws(SPDYError) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var input = input
        let count = input.count
        let result: Result<Void, SPDYError> = input.withUnsafeMutableBufferPointer { inputBuffer in
            stream.pointee.next_in = inputBuffer.baseAddress
            stream.pointee.avail_in = uInt(count)
            while true {
                let (code, produced): (Int32, Int) = chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = uInt(out.count)
                    let code = direction == .inflating ? inflate(stream, Z_SYNC_FLUSH) : deflate(stream, Z_SYNC_FLUSH)
                    return (code, out.count - Int(stream.pointee.avail_out))
                }
                output += chunk[0..<produced]
                // Port-forward headers are a few dozen bytes: a block that inflates past this is an attack.
                guard output.count <= Self.maximumBlockSize else { return .failure(.compression("header block over 64 KiB")) }
                if code == Z_NEED_DICT {
                    let primed = dictionary.withUnsafeBufferPointer { inflateSetDictionary(stream, $0.baseAddress, uInt($0.count)) }
                    guard primed == Z_OK else { return .failure(.compression("inflateSetDictionary")) }
                    continue
                }
                guard code == Z_OK || code == Z_BUF_ERROR else { return .failure(.compression("zlib error \(code)")) }
                // Done once all input is taken and the output buffer was not filled (nothing more is pending).
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { return .success(()) }
                if code == Z_BUF_ERROR && produced == 0 { return .success(()) }
            }
        }
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        try result.get()
        return output
    }
}
