import Foundation
import Glibc

/// Writes a tar stream (ustar, with a PAX record for names that do not fit) to a sink, for the
/// layers Swiftlet builds itself. Entries carry only what is given (owner root unless said,
/// time 0), so the same files give the same bytes and so the same digest on every machine.
public final class TarWriter {
    private let sink: (UnsafeRawBufferPointer) throws(ImageError) -> Void

    public init(sink: @escaping (UnsafeRawBufferPointer) throws(ImageError) -> Void) {
        self.sink = sink
    }

    public func directory(_ path: String, mode: UInt32 = 0o755, uid: Int = 0, gid: Int = 0) throws(ImageError) {
        var header = TarHeader(name: path.hasSuffix("/") ? path : path + "/", kind: .directory)
        header.mode = mode
        header.uid = uid
        header.gid = gid
        try write(header)
    }

    public func file(_ path: String, contents: [UInt8], mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0) throws(ImageError) {
        var header = TarHeader(name: path, kind: .file)
        header.mode = mode
        header.uid = uid
        header.gid = gid
        header.size = Int64(contents.count)
        try write(header)
        try FileSystem.withBytes(contents) { (bytes) throws(ImageError) in try sink(bytes) }
        try pad(Int64(contents.count))
    }

    /// A host file's content (symbolic links followed), streamed.
    public func file(_ path: String, copyOf source: String, mode: UInt32? = nil) throws(ImageError) {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError(.storage, "cannot read \(source): \(FileSystem.errorText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw ImageError(.storage, "\(source) is not a regular file")
        }
        var header = TarHeader(name: path, kind: .file)
        header.mode = mode ?? (UInt32(info.st_mode) & 0o7777)
        header.size = Int64(info.st_size)
        try write(header)
        var remaining = header.size
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while remaining > 0 {
            let n = read(fd, &buffer, Int(min(Int64(buffer.count), remaining)))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw ImageError(.storage, "\(source) changed while it was read") }
            try FileSystem.withBytes(buffer) { (all) throws(ImageError) in try sink(UnsafeRawBufferPointer(rebasing: all[0..<n])) }
            remaining -= Int64(n)
        }
        try pad(header.size)
    }

    public func symlink(_ path: String, target: String) throws(ImageError) {
        var header = TarHeader(name: path, kind: .symlink)
        header.linkName = target
        header.mode = 0o777
        try write(header)
    }

    /// The two zero blocks that end an archive.
    public func finish() throws(ImageError) {
        try FileSystem.withBytes([UInt8](repeating: 0, count: 2 * TarReader.blockSize)) { (bytes) throws(ImageError) in try sink(bytes) }
    }

    private func write(_ header: TarHeader) throws(ImageError) {
        let name = Array(header.name.utf8)
        let link = Array(header.linkName.utf8)
        var ustarName = name
        var prefix: [UInt8] = []
        if name.count > 100 {
            // ustar's prefix holds up to 155 bytes of directories; anything longer goes in a PAX record.
            if let split = name.indices.reversed().first(where: { name[$0] == UInt8(ascii: "/") && $0 <= 155 && name.count - $0 - 1 <= 100 }),
               split > 0 {
                prefix = Array(name[..<split])
                ustarName = Array(name[(split + 1)...])
            } else {
                ustarName = Array(name.prefix(100))
            }
        }
        var records: [(String, [UInt8])] = []
        if ustarName.count > 100 || (prefix.isEmpty && name.count > 100) { records.append(("path", name)) }
        if link.count > 100 { records.append(("linkpath", link)) }
        if !records.isEmpty {
            let body = Self.paxRecords(records)
            var pax = TarHeader(name: "PaxHeaders/" + String(header.name.suffix(80)), kind: .file)
            pax.size = Int64(body.count)
            try emit(block(pax, name: Array(pax.name.utf8.prefix(100)), prefix: [], link: [], type: UInt8(ascii: "x")))
            try FileSystem.withBytes(body) { (bytes) throws(ImageError) in try sink(bytes) }
            try pad(Int64(body.count))
        }
        let type: UInt8 = switch header.kind {
        case .file: UInt8(ascii: "0")
        case .hardlink: UInt8(ascii: "1")
        case .symlink: UInt8(ascii: "2")
        case .characterDevice: UInt8(ascii: "3")
        case .blockDevice: UInt8(ascii: "4")
        case .directory: UInt8(ascii: "5")
        case .fifo: UInt8(ascii: "6")
        case .unsupported(let t): t
        }
        try emit(block(header, name: Array(ustarName.prefix(100)), prefix: Array(prefix.prefix(155)), link: Array(link.prefix(100)), type: type))
    }

    /// PAX records: "LENGTH KEY=VALUE\n", LENGTH counting the whole record, its own digits included.
    static func paxRecords(_ records: [(String, [UInt8])]) -> [UInt8] {
        var body: [UInt8] = []
        for (key, value) in records {
            let content = Array(" \(key)=".utf8) + value + [UInt8(ascii: "\n")]
            var length = content.count + 1
            while String(length).utf8.count + content.count != length { length = String(length).utf8.count + content.count }
            body += Array(String(length).utf8) + content
        }
        return body
    }

    private func block(_ header: TarHeader, name: [UInt8], prefix: [UInt8], link: [UInt8], type: UInt8) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: TarReader.blockSize)
        func put(_ bytes: [UInt8], at offset: Int) {
            for (i, byte) in bytes.enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int64, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(Int64(header.mode), width: 8), at: 100)
        put(octal(Int64(header.uid), width: 8), at: 108)
        put(octal(Int64(header.gid), width: 8), at: 116)
        put(octal(header.size, width: 12), at: 124)
        put(octal(header.modified.seconds, width: 12), at: 136)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        block[156] = type
        put(link, at: 157)
        put(Array("ustar\0".utf8), at: 257)
        put(Array("00".utf8), at: 263)
        put(prefix, at: 345)
        let sum = block.reduce(0) { $0 + Int64($1) }
        put(octal(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
        return block
    }

    private func emit(_ bytes: [UInt8]) throws(ImageError) {
        try FileSystem.withBytes(bytes) { (buffer) throws(ImageError) in try sink(buffer) }
    }

    private func pad(_ size: Int64) throws(ImageError) {
        let padding = Int((Int64(TarReader.blockSize) - size % Int64(TarReader.blockSize)) % Int64(TarReader.blockSize))
        if padding > 0 { try emit([UInt8](repeating: 0, count: padding)) }
    }
}
