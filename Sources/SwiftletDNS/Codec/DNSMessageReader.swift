/// Why a packet could not be read as a DNS message.
enum DNSMessageError: Error, Equatable, CustomStringConvertible {
    /// The packet ends before the field at `offset` does.
    case truncated(offset: Int)
    /// A compression pointer that does not point strictly before the name part it continues: following such
    /// pointers could loop forever.
    case pointerLoop(offset: Int)
    /// Label type 0b01 or 0b10 (RFC 6891 §5 retired the extended label types).
    case unsupportedLabelType(offset: Int)
    case nameTooLong(offset: Int)
    case badRecordData(type: DNSRecordType, offset: Int)
    /// More than one OPT, or an OPT outside the additional section or not owned by the root (RFC 6891 §6.1.1).
    case misplacedOPT(offset: Int)

    var description: String {
        switch self {
        case .truncated(let offset): "message truncated at byte \(offset)"
        case .pointerLoop(let offset): "compression pointer at byte \(offset) does not point backwards"
        case .unsupportedLabelType(let offset): "unsupported label type at byte \(offset)"
        case .nameTooLong(let offset): "name at byte \(offset) is longer than 255 bytes"
        case .badRecordData(let type, let offset): "malformed \(type) record data at byte \(offset)"
        case .misplacedOPT(let offset): "misplaced OPT record at byte \(offset)"
        }
    }
}

extension DNSMessage {
    /// Reads a whole message; names may be compressed anywhere (RFC 1035 §4.1.4).
    init(decoding bytes: [UInt8]) throws(DNSMessageError) {
        var reader = DNSMessageReader(bytes: bytes)
        guard let header = DNSHeader(bytes) else { throw .truncated(offset: bytes.count) }
        reader.offset = DNSMessage.headerLength
        self.init()
        id = header.id
        isResponse = header.isResponse
        opcode = header.opcode
        isAuthoritative = header.flags & 0x0400 != 0
        isTruncated = header.flags & 0x0200 != 0
        recursionDesired = header.recursionDesired
        recursionAvailable = header.flags & 0x0080 != 0
        authenticData = header.flags & 0x0020 != 0
        checkingDisabled = header.checkingDisabled
        for _ in 0..<header.questionCount {
            questions.append(try reader.readQuestion())
        }
        for _ in 0..<header.answerCount {
            answers.append(try reader.readRecord())
        }
        for _ in 0..<header.authorityCount {
            authorities.append(try reader.readRecord())
        }
        var extendedCode: UInt16 = 0
        for _ in 0..<header.additionalCount {
            let start = reader.offset
            if let opt = try reader.readOPTIfPresent() {
                guard ednsExtension == nil else { throw .misplacedOPT(offset: start) }
                ednsExtension = opt.ednsExtension
                extendedCode = opt.extendedCode
            } else {
                additionals.append(try reader.readRecord())
            }
        }
        responseCode = DNSResponseCode(rawValue: extendedCode << 4 | header.flags & 0xF)
    }
}

struct DNSMessageReader {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func readQuestion() throws(DNSMessageError) -> DNSQuestion {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        return DNSQuestion(name: name, type: type, recordClass: try readUInt16())
    }

    /// The OPT pseudo-record at the current offset, or nil (offset unchanged) when the record there is another type.
    mutating func readOPTIfPresent() throws(DNSMessageError) -> (ednsExtension: DNSExtension, extendedCode: UInt16)? {
        let start = offset
        let name = try readName()
        guard try readUInt16() == DNSRecordType.opt.rawValue else {
            offset = start
            return nil
        }
        guard name.labels.isEmpty else { throw .misplacedOPT(offset: start) }
        let payloadSize = try readUInt16()
        let flags = try readUInt32()
        let length = Int(try readUInt16())
        let options = try readBytes(length)
        let ednsExtension = DNSExtension(
            udpPayloadSize: payloadSize, version: UInt8(flags >> 16 & 0xFF), dnssecOK: flags & 0x8000 != 0, options: options)
        return (ednsExtension, UInt16(flags >> 24))
    }

    /// A record other than OPT, which only `readOPTIfPresent` accepts.
    mutating func readRecord() throws(DNSMessageError) -> DNSResourceRecord {
        let start = offset
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        if type == .opt { throw .misplacedOPT(offset: start) }
        let recordClass = try readUInt16()
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        let dataStart = offset
        guard dataStart + length <= bytes.count else { throw .truncated(offset: bytes.count) }
        let data = try readRecordData(type: type, end: dataStart + length)
        guard offset == dataStart + length else { throw .badRecordData(type: type, offset: dataStart) }
        return DNSResourceRecord(name: name, ttl: ttl, data: data, recordClass: recordClass)
    }

    private mutating func readRecordData(type: DNSRecordType, end: Int) throws(DNSMessageError) -> DNSRecordData {
        let start = offset
        switch type {
        case .a:
            guard end - start == 4 else { throw .badRecordData(type: type, offset: start) }
            return .a(try readBytes(4))
        case .aaaa:
            guard end - start == 16 else { throw .badRecordData(type: type, offset: start) }
            return .aaaa(try readBytes(16))
        case .ns:
            return .ns(try readName())
        case .cname:
            return .cname(try readName())
        case .ptr:
            return .ptr(try readName())
        case .mx:
            let preference = try readUInt16()
            return .mx(preference: preference, exchange: try readName())
        case .srv:
            let priority = try readUInt16()
            let weight = try readUInt16()
            let port = try readUInt16()
            return .srv(DNSServiceLocation(priority: priority, weight: weight, port: port, target: try readName()))
        case .soa:
            let primaryServer = try readName()
            let mailbox = try readName()
            return .soa(DNSStartOfAuthority(
                primaryServer: primaryServer, mailbox: mailbox, serial: try readUInt32(), refresh: try readUInt32(),
                retry: try readUInt32(), expire: try readUInt32(), minimumTTL: try readUInt32()))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let length = Int(try readUInt8())
                guard offset + length <= end else { throw .badRecordData(type: type, offset: start) }
                strings.append(try readBytes(length))
            }
            return .txt(strings)
        default:
            return .other(type, try readBytes(end - start))
        }
    }

    /// Reads a possibly compressed name. Every pointer must point strictly before the start of the part of the name
    /// it continues, so each jump goes further back and a packet cannot make us loop.
    mutating func readName() throws(DNSMessageError) -> DNSName {
        let nameStart = offset
        var labels: [[UInt8]] = []
        var position = offset
        var partStart = offset
        var wireLength = 1
        var jumped = false
        while true {
            guard position < bytes.count else { throw .truncated(offset: position) }
            let length = Int(bytes[position])
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    if !jumped { offset = position + 1 }
                    return DNSName(labels: labels)
                }
                guard position + 1 + length <= bytes.count else { throw .truncated(offset: position) }
                wireLength += length + 1
                guard wireLength <= DNSName.maxWireLength else { throw .nameTooLong(offset: nameStart) }
                labels.append(Array(bytes[(position + 1)..<(position + 1 + length)]))
                position += 1 + length
            case 0xC0:
                guard position + 1 < bytes.count else { throw .truncated(offset: position) }
                let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < partStart else { throw .pointerLoop(offset: position) }
                if !jumped {
                    offset = position + 2
                    jumped = true
                }
                partStart = target
                position = target
            default:
                throw .unsupportedLabelType(offset: position)
            }
        }
    }

    mutating func readUInt8() throws(DNSMessageError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16() throws(DNSMessageError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw .truncated(offset: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32() throws(DNSMessageError) -> UInt32 {
        let high = UInt32(try readUInt16())
        return high << 16 | UInt32(try readUInt16())
    }

    mutating func readBytes(_ count: Int) throws(DNSMessageError) -> [UInt8] {
        guard offset + count <= bytes.count else { throw .truncated(offset: offset) }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }
}
