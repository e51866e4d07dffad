extension DNSMessage {
    /// The wire form, with names compressed (RFC 1035 §4.1.4).
    func encoded() -> [UInt8] {
        var writer = DNSMessageWriter()
        writer.write(self)
        return writer.bytes
    }

    /// The wire form cut to fit `limit` bytes, as a UDP reply must: first without the additional and authority
    /// sections (which needs no TC, RFC 2181 §9), then with as many answers as fit and TC set, so that stub
    /// resolvers without a TCP fallback (older musl) still get a usable answer.
    func encoded(limit: Int) -> [UInt8] {
        let whole = encoded()
        guard whole.count > limit else { return whole }
        var trimmed = self
        trimmed.additionals = []
        trimmed.authorities = []
        let withoutExtras = trimmed.encoded()
        guard withoutExtras.count > limit else { return withoutExtras }
        trimmed.isTruncated = true
        var fitting = 0
        var tooMany = answers.count
        while tooMany - fitting > 1 {
            let middle = (fitting + tooMany) / 2
            trimmed.answers = Array(answers.prefix(middle))
            if trimmed.encoded().count <= limit { fitting = middle } else { tooMany = middle }
        }
        trimmed.answers = Array(answers.prefix(fitting))
        return trimmed.encoded()
    }
}

struct DNSMessageWriter {
    private(set) var bytes: [UInt8] = []
    /// Where each name suffix already written starts, by lowercased key; only offsets a pointer can reach.
    private var suffixOffsets: [String: Int] = [:]

    mutating func write(_ message: DNSMessage) {
        bytes.reserveCapacity(512)
        writeUInt16(message.id)
        var flags: UInt16 = UInt16(message.opcode & 0xF) << 11 | message.responseCode.rawValue & 0xF
        if message.isResponse { flags |= 0x8000 }
        if message.isAuthoritative { flags |= 0x0400 }
        if message.isTruncated { flags |= 0x0200 }
        if message.recursionDesired { flags |= 0x0100 }
        if message.recursionAvailable { flags |= 0x0080 }
        if message.authenticData { flags |= 0x0020 }
        if message.checkingDisabled { flags |= 0x0010 }
        writeUInt16(flags)
        writeUInt16(UInt16(message.questions.count))
        writeUInt16(UInt16(message.answers.count))
        writeUInt16(UInt16(message.authorities.count))
        writeUInt16(UInt16(message.additionals.count + (message.ednsExtension == nil ? 0 : 1)))
        for question in message.questions {
            writeName(question.name)
            writeUInt16(question.type.rawValue)
            writeUInt16(question.recordClass)
        }
        for record in message.answers + message.authorities + message.additionals {
            write(record)
        }
        if let ednsExtension = message.ednsExtension {
            writeOPT(ednsExtension, extendedCode: UInt8(truncatingIfNeeded: message.responseCode.rawValue >> 4))
        }
    }

    private mutating func write(_ record: DNSResourceRecord) {
        writeName(record.name)
        writeUInt16(record.type.rawValue)
        writeUInt16(record.recordClass)
        writeUInt32(record.ttl)
        let lengthOffset = bytes.count
        writeUInt16(0)
        switch record.data {
        case .a(let address), .aaaa(let address):
            bytes.append(contentsOf: address)
        case .ns(let name), .cname(let name), .ptr(let name):
            writeName(name)
        case .mx(let preference, let exchange):
            writeUInt16(preference)
            writeName(exchange)
        case .txt(let strings):
            for string in strings {
                bytes.append(UInt8(string.count))
                bytes.append(contentsOf: string)
            }
        case .srv(let location):
            writeUInt16(location.priority)
            writeUInt16(location.weight)
            writeUInt16(location.port)
            // RFC 2782: the target is never compressed.
            writeName(location.target, compress: false)
        case .soa(let authority):
            writeName(authority.primaryServer)
            writeName(authority.mailbox)
            for value in [authority.serial, authority.refresh, authority.retry, authority.expire, authority.minimumTTL] {
                writeUInt32(value)
            }
        case .other(_, let data):
            bytes.append(contentsOf: data)
        }
        let length = bytes.count - lengthOffset - 2
        bytes[lengthOffset] = UInt8(length >> 8)
        bytes[lengthOffset + 1] = UInt8(length & 0xFF)
    }

    private mutating func writeOPT(_ ednsExtension: DNSExtension, extendedCode: UInt8) {
        bytes.append(0)
        writeUInt16(DNSRecordType.opt.rawValue)
        writeUInt16(ednsExtension.udpPayloadSize)
        writeUInt32(UInt32(extendedCode) << 24 | UInt32(ednsExtension.version) << 16 | (ednsExtension.dnssecOK ? 0x8000 : 0))
        writeUInt16(UInt16(ednsExtension.options.count))
        bytes.append(contentsOf: ednsExtension.options)
    }

    private mutating func writeName(_ name: DNSName, compress: Bool = true) {
        let labels = name.labels
        for index in labels.indices {
            let key = DNSName.key(of: labels[index...])
            if compress, let target = suffixOffsets[key] {
                writeUInt16(0xC000 | UInt16(target))
                return
            }
            if bytes.count < 0x4000, suffixOffsets[key] == nil { suffixOffsets[key] = bytes.count }
            bytes.append(UInt8(labels[index].count))
            bytes.append(contentsOf: labels[index])
        }
        bytes.append(0)
    }

    private mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    private mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(value >> 16))
        writeUInt16(UInt16(value & 0xFFFF))
    }
}
