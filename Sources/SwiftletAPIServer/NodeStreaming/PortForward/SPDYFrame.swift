/// SPDY/3 frames (draft-mbelshe-httpbis-spdy-00, version 3), the multiplexing under `kubectl port-forward`:
/// the client opens streams with SYN_STREAM, the server answers each with SYN_REPLY, and bytes flow in DATA frames
/// until each side sends FIN.
enum SPDYFrame: Equatable, Sendable {
    case data(streamID: UInt32, fin: Bool, payload: [UInt8])
    /// Header blocks are kept compressed here: they share one zlib stream per direction (`SPDYHeaderBlock`).
    case synStream(streamID: UInt32, fin: Bool, headerBlock: [UInt8])
    case synReply(streamID: UInt32, fin: Bool, headerBlock: [UInt8])
    case rstStream(streamID: UInt32, status: UInt32)
    case ping(id: UInt32)
    case goAway(lastStreamID: UInt32, status: UInt32)
    /// SETTINGS, HEADERS, WINDOW_UPDATE and unknown types: nothing port-forward needs (the Go client does no flow
    /// control), so they are read past.
    case ignored(type: UInt16)

    static let version: UInt16 = 3
    static let finFlag: UInt8 = 0x01
    static let headerLength = 8

    private enum ControlType: UInt16 {
        case synStream = 1, synReply = 2, rstStream = 3, ping = 6, goAway = 7
    }

    /// Takes every complete frame from the front of `buffer`; what remains is the start of a frame still arriving.
    static func parse(_ buffer: inout [UInt8]) throws(SPDYError) -> [SPDYFrame] {
        var frames: [SPDYFrame] = []
        var offset = 0
        while buffer.count - offset >= headerLength {
            let length = Int(buffer[offset + 5]) << 16 | Int(buffer[offset + 6]) << 8 | Int(buffer[offset + 7])
            guard buffer.count - offset - headerLength >= length else { break }
            let body = Array(buffer[(offset + headerLength)..<(offset + headerLength + length)])
            let flags = buffer[offset + 4]
            if buffer[offset] & 0x80 == 0 {
                frames.append(.data(streamID: word(buffer, offset) & 0x7FFF_FFFF, fin: flags & finFlag != 0, payload: body))
            } else {
                let version = UInt16(buffer[offset] & 0x7F) << 8 | UInt16(buffer[offset + 1])
                guard version == Self.version else { throw .unsupportedVersion(version) }
                let type = UInt16(buffer[offset + 2]) << 8 | UInt16(buffer[offset + 3])
                frames.append(try control(type: type, flags: flags, body: body))
            }
            offset += headerLength + length
        }
        buffer.removeFirst(offset)
        return frames
    }

    private static func control(type: UInt16, flags: UInt8, body: [UInt8]) throws(SPDYError) -> SPDYFrame {
        let fin = flags & finFlag != 0
        switch ControlType(rawValue: type) {
        case .synStream:
            guard body.count >= 10 else { throw .malformed("SYN_STREAM") }
            return .synStream(streamID: word(body, 0) & 0x7FFF_FFFF, fin: fin, headerBlock: Array(body[10...]))
        case .synReply:
            guard body.count >= 4 else { throw .malformed("SYN_REPLY") }
            return .synReply(streamID: word(body, 0) & 0x7FFF_FFFF, fin: fin, headerBlock: Array(body[4...]))
        case .rstStream:
            guard body.count >= 8 else { throw .malformed("RST_STREAM") }
            return .rstStream(streamID: word(body, 0) & 0x7FFF_FFFF, status: word(body, 4))
        case .ping:
            guard body.count >= 4 else { throw .malformed("PING") }
            return .ping(id: word(body, 0))
        case .goAway:
            guard body.count >= 4 else { throw .malformed("GOAWAY") }
            return .goAway(lastStreamID: word(body, 0) & 0x7FFF_FFFF, status: body.count >= 8 ? word(body, 4) : 0)
        case nil:
            return .ignored(type: type)
        }
    }

    /// The frame as sent.
    var encoded: [UInt8] {
        switch self {
        case .data(let streamID, let fin, let payload):
            return Self.bytes(streamID & 0x7FFF_FFFF) + Self.flagsAndLength(fin ? Self.finFlag : 0, payload.count) + payload
        case .synStream(let streamID, let fin, let headerBlock):
            return Self.control(.synStream, fin: fin, body: Self.bytes(streamID) + [0, 0, 0, 0, 0, 0] + headerBlock)
        case .synReply(let streamID, let fin, let headerBlock):
            return Self.control(.synReply, fin: fin, body: Self.bytes(streamID) + headerBlock)
        case .rstStream(let streamID, let status):
            return Self.control(.rstStream, fin: false, body: Self.bytes(streamID) + Self.bytes(status))
        case .ping(let id):
            return Self.control(.ping, fin: false, body: Self.bytes(id))
        case .goAway(let lastStreamID, let status):
            return Self.control(.goAway, fin: false, body: Self.bytes(lastStreamID) + Self.bytes(status))
        case .ignored:
            return []
        }
    }

    private static func control(_ type: ControlType, fin: Bool, body: [UInt8]) -> [UInt8] {
        [0x80 | UInt8(version >> 8), UInt8(version & 0xFF), UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF)]
            + flagsAndLength(fin ? finFlag : 0, body.count) + body
    }

    private static func flagsAndLength(_ flags: UInt8, _ length: Int) -> [UInt8] {
        [flags, UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
    }

    static func bytes(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}

enum SPDYError: Error, Equatable, CustomStringConvertible {
    case unsupportedVersion(UInt16)
    case malformed(String)
    case compression(String)

    var description: String {
        switch self {
        case .unsupportedVersion(let version): return "SPDY version \(version) is not supported (only 3)"
        case .malformed(let what): return "malformed SPDY \(what) frame"
        case .compression(let what): return "SPDY header compression failed: \(what)"
        }
    }
}
