/// A DNS message (RFC 1035 §4.1). The OPT record of the additional section is lifted into `ednsExtension`.
struct DNSMessage: Sendable, Hashable {
    static let headerLength = 12
    /// RFC 1035 §2.3.4: the UDP limit for clients that did not say otherwise with EDNS.
    static let classicUDPLimit = 512

    var id: UInt16 = 0
    var isResponse = false
    var opcode: UInt8 = DNSOpcode.query
    var isAuthoritative = false
    var isTruncated = false
    var recursionDesired = false
    var recursionAvailable = false
    var authenticData = false
    var checkingDisabled = false
    var responseCode: DNSResponseCode = .noError
    var questions: [DNSQuestion] = []
    var answers: [DNSResourceRecord] = []
    var authorities: [DNSResourceRecord] = []
    var additionals: [DNSResourceRecord] = []
    var ednsExtension: DNSExtension?

    /// The reply skeleton every answer of ours starts from: same ID, opcode, RD, CD and question, RA set (bind9's
    /// nslookup warns "recursion not available" otherwise), and an OPT of our own when the query had one.
    func reply(code: DNSResponseCode = .noError) -> DNSMessage {
        var reply = DNSMessage()
        reply.id = id
        reply.isResponse = true
        reply.opcode = opcode
        reply.recursionDesired = recursionDesired
        reply.recursionAvailable = true
        reply.checkingDisabled = checkingDisabled
        reply.responseCode = code
        reply.questions = questions
        if let ednsExtension {
            reply.ednsExtension = DNSExtension(udpPayloadSize: DNSExtension.serverPayloadSize, dnssecOK: ednsExtension.dnssecOK)
        }
        return reply
    }

    /// How large a UDP reply the client takes: 512 without EDNS, else what it offered (never less than 512).
    var clientUDPLimit: Int {
        max(Int(ednsExtension?.udpPayloadSize ?? 0), Self.classicUDPLimit)
    }

    /// How large our own UDP replies to this query may be: the client's limit, capped at the size we advertise.
    var udpReplyLimit: Int { min(clientUDPLimit, Int(DNSExtension.serverPayloadSize)) }
}

/// The fixed 12-byte header, readable even when the rest of a packet is not (to answer FORMERR with the right ID).
struct DNSHeader: Sendable, Equatable {
    var id: UInt16
    var flags: UInt16
    var questionCount: UInt16
    var answerCount: UInt16
    var authorityCount: UInt16
    var additionalCount: UInt16

    init?<Bytes: RandomAccessCollection>(_ bytes: Bytes) where Bytes.Element == UInt8, Bytes.Index == Int {
        guard bytes.count >= DNSMessage.headerLength else { return nil }
        let start = bytes.startIndex
        func word(_ index: Int) -> UInt16 { UInt16(bytes[start + index]) << 8 | UInt16(bytes[start + index + 1]) }
        id = word(0)
        flags = word(2)
        questionCount = word(4)
        answerCount = word(6)
        authorityCount = word(8)
        additionalCount = word(10)
    }

    var isResponse: Bool { flags & 0x8000 != 0 }
    var opcode: UInt8 { UInt8(flags >> 11 & 0xF) }
    var isTruncated: Bool { flags & 0x0200 != 0 }
    var recursionDesired: Bool { flags & 0x0100 != 0 }
    var checkingDisabled: Bool { flags & 0x0010 != 0 }

    /// A message with this header's ID, opcode and flags, for replying to a packet we could not read whole.
    var message: DNSMessage {
        var message = DNSMessage()
        message.id = id
        message.opcode = opcode
        message.recursionDesired = recursionDesired
        message.checkingDisabled = checkingDisabled
        return message
    }
}
