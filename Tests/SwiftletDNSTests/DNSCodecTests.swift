import Testing
@testable import SwiftletDNS

struct DNSCodecTests {
    @Test func aMessageSurvivesEncodingAndDecoding() throws {
        var message = makeQuery("Web.Default.svc.cluster.local", .srv, udpPayloadSize: 4096).reply()
        message.isAuthoritative = true
        let target = DNSName("web.default.svc.cluster.local")
        message.answers = [
            DNSResourceRecord(name: message.questions[0].name, ttl: 5, data: .srv(DNSServiceLocation(priority: 0, weight: 100, port: 80, target: target))),
            DNSResourceRecord(name: target, ttl: 5, data: .cname(DNSName("search.example.com"))),
            DNSResourceRecord(name: target, ttl: 5, data: .txt([Array("1.1.0".utf8), []])),
            DNSResourceRecord(name: target, ttl: 5, data: .mx(preference: 10, exchange: DNSName("mail.example.com"))),
            DNSResourceRecord(name: target, ttl: 5, data: .aaaa([UInt8](repeating: 1, count: 16))),
            DNSResourceRecord(name: target, ttl: 5, data: .other(DNSRecordType(rawValue: 99), [1, 2, 3])),
        ]
        message.authorities = [DNSResourceRecord(name: DNSName("cluster.local"), ttl: 5, data: .soa(DNSStartOfAuthority(
            primaryServer: DNSName("ns.dns.cluster.local"), mailbox: DNSName("hostmaster.cluster.local"),
            serial: 7, refresh: 7200, retry: 1800, expire: 86400, minimumTTL: 5)))]
        message.additionals = [DNSResourceRecord(name: target, ttl: 5, data: .a(ipv4("10.96.0.20")))]
        message.responseCode = .badVersion
        let decoded = try DNSMessage(decoding: message.encoded())
        #expect(decoded == message)
        // The asker's spelling is kept byte for byte.
        #expect(decoded.questions[0].name.description == "Web.Default.svc.cluster.local.")
    }

    @Test func namesAreCompressedOnWriteAndFollowedOnRead() throws {
        var message = makeQuery("web.default.svc.cluster.local", .a).reply()
        message.answers = [DNSResourceRecord(name: DNSName("web.default.svc.cluster.local"), ttl: 5, data: .a(ipv4("10.96.0.20")))]
        let bytes = message.encoded()
        // Header 12 + question (31 + 4) + answer with its owner as a 2-byte pointer to offset 12 (0xC00C).
        #expect(bytes.count == 12 + 35 + 2 + 10 + 4)
        #expect(Array(bytes[47..<49]) == [0xC0, 0x0C])
        #expect(try DNSMessage(decoding: bytes) == message)
    }

    @Test func aPointerInTheMiddleOfANameIsFollowed() throws {
        // Question "a.example" at 12; the answer's owner is "b" + pointer to "example" at offset 14.
        let bytes: [UInt8] = [
            0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
            1, 0x61, 7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 0, 0, 1, 0, 1,
            1, 0x62, 0xC0, 14, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1,
        ]
        let message = try DNSMessage(decoding: bytes)
        #expect(message.questions[0].name.key == "a.example")
        #expect(message.answers[0].name.key == "b.example")
        #expect(message.answers[0].data == .a([192, 0, 2, 1]))
        #expect(message.recursionAvailable && message.isResponse && message.recursionDesired)
    }

    @Test func pointerLoopsAreRejected() {
        let header: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        // A name that points at itself.
        #expect(throws: DNSMessageError.pointerLoop(offset: 12)) { try DNSMessage(decoding: header + [0xC0, 12, 0, 1, 0, 1]) }
        // A pointer forward (here to a pointer back, which would make a two-step loop).
        #expect(throws: DNSMessageError.pointerLoop(offset: 12)) {
            try DNSMessage(decoding: header + [0xC0, 18, 0, 1, 0, 1, 0xC0, 12])
        }
        // A label, then a pointer back to the start of the same name.
        #expect(throws: DNSMessageError.pointerLoop(offset: 14)) { try DNSMessage(decoding: header + [1, 0x61, 0xC0, 12, 0, 1, 0, 1]) }
    }

    @Test func malformedPacketsAreRejectedWithoutCrashing() {
        let header: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        #expect(throws: DNSMessageError.truncated(offset: 5)) { try DNSMessage(decoding: [0, 1, 0, 0, 0]) }
        #expect(throws: DNSMessageError.truncated(offset: 12)) { try DNSMessage(decoding: header + [5, 0x61]) }
        #expect(throws: DNSMessageError.unsupportedLabelType(offset: 12)) { try DNSMessage(decoding: header + [0x41, 0, 0, 1, 0, 1]) }
        let longName: [UInt8] = (0..<5).flatMap { _ in [63] + [UInt8](repeating: 0x61, count: 63) } + [0]
        #expect(throws: DNSMessageError.nameTooLong(offset: 12)) { try DNSMessage(decoding: header + longName + [0, 1, 0, 1]) }
        // An A record with 3 bytes of data.
        let badA: [UInt8] = [0, 1, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 3, 1, 2, 3]
        #expect(throws: DNSMessageError.badRecordData(type: .a, offset: 23)) { try DNSMessage(decoding: badA) }
        // Every prefix of a valid message fails cleanly.
        let valid = makeQuery("web.default.svc.cluster.local", .a, udpPayloadSize: 1232).encoded()
        for length in 0..<valid.count {
            #expect(throws: DNSMessageError.self) { try DNSMessage(decoding: Array(valid.prefix(length))) }
        }
    }

    @Test func theOPTRecordBecomesTheExtension() throws {
        var query = makeQuery("example.com", .a, udpPayloadSize: 4096)
        query.ednsExtension?.dnssecOK = true
        query.ednsExtension?.options = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]  // a client cookie
        let decoded = try DNSMessage(decoding: query.encoded())
        #expect(decoded.ednsExtension == query.ednsExtension)
        #expect(decoded.additionals.isEmpty)
        // The reply advertises our own size, echoes DO, and drops the options.
        #expect(decoded.reply().ednsExtension == DNSExtension(udpPayloadSize: 1232, dnssecOK: true))
        // Two OPT records are a format error (RFC 6891 §6.1.1).
        var bytes = query.encoded()
        bytes[11] = 2
        bytes += bytes[(bytes.count - 23)...]
        #expect(throws: DNSMessageError.self) { try DNSMessage(decoding: bytes) }
    }

    @Test func oversizedRepliesAreTruncatedToWhatFits() throws {
        var reply = makeQuery("db.data.svc.cluster.local", .a).reply()
        reply.answers = (0..<100).map { DNSResourceRecord(name: DNSName("db.data.svc.cluster.local"), ttl: 5, data: .a([10, 42, 0, UInt8($0)])) }
        #expect(reply.encoded().count > 512)
        let truncated = try DNSMessage(decoding: reply.encoded(limit: 512))
        #expect(truncated.isTruncated)
        #expect(reply.encoded(limit: 512).count <= 512)
        // As many whole answers as fit: (512 - 12 - 31) / 16, each answer being 16 bytes with its owner compressed.
        #expect(truncated.answers == Array(reply.answers.prefix(29)))

        // Dropping the additional section alone needs no TC.
        var srv = makeQuery("_pg._tcp.db.data.svc.cluster.local", .srv).reply()
        srv.answers = [DNSResourceRecord(name: srv.questions[0].name, ttl: 5, data: .srv(DNSServiceLocation(
            priority: 0, weight: 100, port: 5432, target: DNSName("db-0.db.data.svc.cluster.local"))))]
        srv.additionals = (0..<40).map { DNSResourceRecord(name: DNSName("x\($0).example"), ttl: 5, data: .a([1, 2, 3, 4])) }
        let trimmed = try DNSMessage(decoding: srv.encoded(limit: 512))
        #expect(!trimmed.isTruncated && trimmed.answers == srv.answers && trimmed.additionals.isEmpty)
    }

    @Test func theHeaderIsReadableOnItsOwn() throws {
        let header = try #require(DNSHeader([0xAB, 0xCD, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0xFF]))
        #expect(header.id == 0xABCD && header.recursionDesired && header.checkingDisabled && !header.isResponse)
        #expect(DNSHeader([1, 2, 3]) == nil)
    }
}
