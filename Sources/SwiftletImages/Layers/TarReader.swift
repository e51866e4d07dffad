import Foundation

/// One entry of a tar stream, after PAX and GNU long-name records are applied.
public struct TarHeader: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file, directory, symlink, hardlink, characterDevice, blockDevice, fifo
        /// A type Swiftlet does not unpack (GNU sparse files, volume labels...): its data is skipped.
        case unsupported(UInt8)
    }

    public var name: String
    public var linkName: String = ""
    public var kind: Kind
    /// Permission bits with setuid, setgid and sticky (the low 12 bits of the tar mode).
    public var mode: UInt32 = 0o644
    public var uid: Int = 0
    public var gid: Int = 0
    public var size: Int64 = 0
    /// Seconds and nanoseconds since 1970.
    public var modified: (seconds: Int64, nanoseconds: Int64) = (0, 0)
    public var deviceMajor: UInt32 = 0
    public var deviceMinor: UInt32 = 0
    /// Extended attributes from PAX records (`SCHILY.xattr.NAME`).
    public var xattrs: [String: [UInt8]] = [:]

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    public static func == (a: TarHeader, b: TarHeader) -> Bool {
        a.name == b.name && a.linkName == b.linkName && a.kind == b.kind && a.mode == b.mode && a.uid == b.uid
            && a.gid == b.gid && a.size == b.size && a.modified == b.modified && a.xattrs == b.xattrs
            && a.deviceMajor == b.deviceMajor && a.deviceMinor == b.deviceMinor
    }
}

/// What a tar stream's entries are given to.
public protocol TarEntryConsumer: AnyObject {
    func begin(_ header: TarHeader) throws(ImageError)
    /// The entry's content, in order, in chunks of any size.
    func data(_ bytes: UnsafeRawBufferPointer) throws(ImageError)
    func end() throws(ImageError)
}

/// A streaming tar parser (ustar, GNU and PAX, as Go's archive/tar reads them) fed chunk by
/// chunk, so a layer is unpacked while it downloads. Entry data is handed on without copies.
/// Records that describe the next entry (PAX headers, GNU long names) are bounded in size.
public final class TarReader {
    public static let blockSize = 512
    /// Go's archive/tar bound on PAX and GNU long-name records.
    public static let maxSpecialRecord = 1 << 20

    private enum State {
        case header
        case data(remaining: Int64, padding: Int)
        case special(type: UInt8, remaining: Int, padding: Int)
        case padding(remaining: Int)
        case ended
    }

    private let consumer: any TarEntryConsumer
    private var state = State.header
    private var block: [UInt8] = []
    private var special: [UInt8] = []
    private var longName: String?
    private var longLinkName: String?
    private var pax: [String: [UInt8]] = [:]
    public private(set) var entries = 0

    public init(consumer: any TarEntryConsumer) {
        self.consumer = consumer
        block.reserveCapacity(Self.blockSize)
    }

    public func feed(_ input: UnsafeRawBufferPointer) throws(ImageError) {
        var offset = 0
        while offset < input.count {
            switch state {
            case .ended:
                // Whatever follows the end-of-archive blocks is ignored, as tar does.
                return
            case .header:
                let take = min(Self.blockSize - block.count, input.count - offset)
                block.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[offset..<offset + take]))
                offset += take
                if block.count == Self.blockSize {
                    let header = block
                    block.removeAll(keepingCapacity: true)
                    try parseHeader(header)
                }
            case .data(let remaining, let padding):
                let take = Int(min(remaining, Int64(input.count - offset)))
                if take > 0 {
                    try consumer.data(UnsafeRawBufferPointer(rebasing: input[offset..<offset + take]))
                    offset += take
                }
                if remaining - Int64(take) == 0 {
                    try consumer.end()
                    state = padding > 0 ? .padding(remaining: padding) : .header
                } else {
                    state = .data(remaining: remaining - Int64(take), padding: padding)
                }
            case .special(let type, let remaining, let padding):
                let take = min(remaining, input.count - offset)
                special.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[offset..<offset + take]))
                offset += take
                if remaining - take == 0 {
                    try applySpecial(type)
                    state = padding > 0 ? .padding(remaining: padding) : .header
                } else {
                    state = .special(type: type, remaining: remaining - take, padding: padding)
                }
            case .padding(let remaining):
                let take = min(remaining, input.count - offset)
                offset += take
                state = remaining - take == 0 ? .header : .padding(remaining: remaining - take)
            }
        }
    }

    /// The stream is over: it must not end inside an entry.
    public func finish() throws(ImageError) {
        switch state {
        case .ended: return
        case .header where block.isEmpty && longName == nil && longLinkName == nil && pax.isEmpty: return
        case .padding: return
        default: throw ImageError(.invalidContent, "invalid tar stream: unexpected end of data")
        }
    }

    private func parseHeader(_ header: [UInt8]) throws(ImageError) {
        if header.allSatisfy({ $0 == 0 }) {
            state = .ended
            return
        }
        guard Self.checksumMatches(header) else { throw ImageError(.invalidContent, "invalid tar header: checksum mismatch") }
        let type = header[156]
        let size = try Self.number(header[124..<136], field: "size")
        guard size >= 0 else { throw ImageError(.invalidContent, "invalid tar header: negative size") }
        let padding = Int((Int64(Self.blockSize) - size % Int64(Self.blockSize)) % Int64(Self.blockSize))

        switch type {
        case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
            guard size <= Self.maxSpecialRecord else {
                throw ImageError(.tooLarge, "invalid tar stream: a \(Character(UnicodeScalar(type))) record of \(size) bytes")
            }
            special.removeAll(keepingCapacity: true)
            state = size > 0 ? .special(type: type, remaining: Int(size), padding: padding) : .header
            if size == 0 { try applySpecial(type) }
            return
        default:
            break
        }

        let ustar = header[257..<263].elementsEqual(Array("ustar\0".utf8))
        var name = Self.string(header[0..<100])
        if ustar {
            let prefix = Self.string(header[345..<500])
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        var entry = TarHeader(name: name, kind: .file)
        entry.linkName = Self.string(header[157..<257])
        entry.mode = UInt32(truncatingIfNeeded: try Self.number(header[100..<108], field: "mode")) & 0o7777
        entry.uid = Int(try Self.number(header[108..<116], field: "uid"))
        entry.gid = Int(try Self.number(header[116..<124], field: "gid"))
        entry.size = size
        entry.modified = (try Self.number(header[136..<148], field: "mtime"), 0)
        entry.deviceMajor = UInt32(truncatingIfNeeded: (try? Self.number(header[329..<337], field: "devmajor")) ?? 0)
        entry.deviceMinor = UInt32(truncatingIfNeeded: (try? Self.number(header[337..<345], field: "devminor")) ?? 0)
        switch type {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): entry.kind = name.hasSuffix("/") && type == 0 ? .directory : .file
        case UInt8(ascii: "1"): entry.kind = .hardlink
        case UInt8(ascii: "2"): entry.kind = .symlink
        case UInt8(ascii: "3"): entry.kind = .characterDevice
        case UInt8(ascii: "4"): entry.kind = .blockDevice
        case UInt8(ascii: "5"): entry.kind = .directory
        case UInt8(ascii: "6"): entry.kind = .fifo
        default: entry.kind = .unsupported(type)
        }
        if let longName { entry.name = longName }
        if let longLinkName { entry.linkName = longLinkName }
        try applyPAX(to: &entry)
        longName = nil
        longLinkName = nil
        pax = [:]
        // Links, directories and devices carry no data whatever their size field says (Go's header-only types).
        switch entry.kind {
        case .hardlink, .symlink, .directory, .characterDevice, .blockDevice, .fifo:
            entry.size = 0
        default:
            break
        }
        let dataSize = switch entry.kind {
        case .file, .unsupported: entry.size
        default: Int64(0)
        }
        let dataPadding = Int((Int64(Self.blockSize) - dataSize % Int64(Self.blockSize)) % Int64(Self.blockSize))
        entries += 1
        try consumer.begin(entry)
        if dataSize > 0 {
            state = .data(remaining: dataSize, padding: dataPadding)
        } else {
            try consumer.end()
            state = .header
        }
    }

    private func applySpecial(_ type: UInt8) throws(ImageError) {
        switch type {
        case UInt8(ascii: "L"): longName = Self.string(special[...])
        case UInt8(ascii: "K"): longLinkName = Self.string(special[...])
        case UInt8(ascii: "x"): try Self.parsePAX(special, into: &pax)
        default: break  // Global PAX headers carry nothing an image layer relies on.
        }
        special.removeAll(keepingCapacity: true)
    }

    private func applyPAX(to entry: inout TarHeader) throws(ImageError) {
        for (key, value) in pax {
            let text = String(decoding: value, as: UTF8.self)
            switch key {
            case "path": entry.name = text
            case "linkpath": entry.linkName = text
            case "size":
                guard let size = Int64(text), size >= 0 else { throw ImageError(.invalidContent, "invalid tar PAX size \"\(text)\"") }
                entry.size = size
            case "uid": entry.uid = Int(text) ?? entry.uid
            case "gid": entry.gid = Int(text) ?? entry.gid
            case "mtime":
                let parts = text.split(separator: ".", maxSplits: 1)
                if let seconds = parts.first.flatMap({ Int64($0) }) {
                    var nanoseconds: Int64 = 0
                    if parts.count == 2 {
                        let digits = String(parts[1].prefix(9))
                        nanoseconds = (Int64(digits) ?? 0) * Int64(pow(10.0, Double(9 - digits.count)))
                    }
                    entry.modified = (seconds, nanoseconds)
                }
            default:
                if key.hasPrefix("SCHILY.xattr.") {
                    entry.xattrs[String(key.dropFirst("SCHILY.xattr.".count))] = value
                } else if key.hasPrefix("GNU.sparse.") {
                    throw ImageError(.unsupported, "tar entry \(entry.name) is a GNU sparse file, which Swiftlet does not unpack")
                }
            }
        }
    }

    /// PAX records: "LENGTH KEY=VALUE\n", LENGTH counting the whole record.
    static func parsePAX(_ bytes: [UInt8], into records: inout [String: [UInt8]]) throws(ImageError) {
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0 { break }
            guard let space = bytes[index...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)),
                  length > space - index + 1, index + length <= bytes.count, bytes[index + length - 1] == UInt8(ascii: "\n"),
                  let equals = bytes[(space + 1)..<(index + length)].firstIndex(of: UInt8(ascii: "="))
            else { throw ImageError(.invalidContent, "invalid tar PAX header") }
            let key = String(decoding: bytes[(space + 1)..<equals], as: UTF8.self)
            records[key] = Array(bytes[(equals + 1)..<(index + length - 1)])
            index += length
        }
    }

    static func checksumMatches(_ header: [UInt8]) -> Bool {
        guard let stored = try? number(header[148..<156], field: "checksum") else { return false }
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (i, byte) in header.enumerated() {
            let value = (148..<156).contains(i) ? UInt8(ascii: " ") : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        return stored == unsigned || stored == signed
    }

    /// A numeric field: octal digits (with spaces and NULs around), or GNU's base-256.
    static func number(_ field: ArraySlice<UInt8>, field name: String) throws(ImageError) -> Int64 {
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 {
            // Base-256: the rest of the first byte and the following bytes, big-endian, two's complement.
            // A negative number's first byte is kept whole: its marker bit is then one more sign bit.
            let negative = first & 0x40 != 0
            var value: Int64 = negative ? -1 : 0
            for (i, byte) in field.enumerated() {
                let b = i == 0 && !negative ? byte & 0x7f : byte
                guard value >> 55 == 0 || value >> 55 == -1 else {
                    throw ImageError(.invalidContent, "invalid tar header: \(name) out of range")
                }
                value = (value << 8) | Int64(b)
            }
            return value
        }
        var value: Int64 = 0
        var seenDigit = false
        for byte in field {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard value < Int64.max >> 3 else { throw ImageError(.invalidContent, "invalid tar header: \(name) out of range") }
                value = value * 8 + Int64(byte - UInt8(ascii: "0"))
                seenDigit = true
            case 0, UInt8(ascii: " "):
                if seenDigit { return value }
            default:
                throw ImageError(.invalidContent, "invalid tar header: bad \(name) field")
            }
        }
        return value
    }

    static func string(_ field: ArraySlice<UInt8>) -> String {
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return String(decoding: field[field.startIndex..<end], as: UTF8.self)
    }
}
