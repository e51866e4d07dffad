struct DNSQuestion: Sendable, Hashable {
    var name: DNSName
    var type: DNSRecordType
    var recordClass: UInt16 = DNSClass.internet
}

struct DNSServiceLocation: Sendable, Hashable {
    var priority: UInt16
    var weight: UInt16
    var port: UInt16
    var target: DNSName
}

struct DNSStartOfAuthority: Sendable, Hashable {
    var primaryServer: DNSName
    var mailbox: DNSName
    var serial: UInt32
    var refresh: UInt32
    var retry: UInt32
    var expire: UInt32
    var minimumTTL: UInt32
}

/// The record data the server writes or must read (to re-truncate an upstream answer); everything else is kept as raw
/// bytes, which is safe because RFC 3597 forbids name compression in types defined after RFC 1035.
enum DNSRecordData: Sendable, Hashable {
    /// 4 bytes.
    case a([UInt8])
    /// 16 bytes.
    case aaaa([UInt8])
    case ns(DNSName)
    case cname(DNSName)
    case ptr(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    case txt([[UInt8]])
    case srv(DNSServiceLocation)
    case soa(DNSStartOfAuthority)
    case other(DNSRecordType, [UInt8])

    var type: DNSRecordType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .ns: .ns
        case .cname: .cname
        case .ptr: .ptr
        case .mx: .mx
        case .txt: .txt
        case .srv: .srv
        case .soa: .soa
        case .other(let type, _): type
        }
    }
}

struct DNSResourceRecord: Sendable, Hashable {
    var name: DNSName
    var recordClass: UInt16 = DNSClass.internet
    var ttl: UInt32
    var data: DNSRecordData

    init(name: DNSName, ttl: UInt32, data: DNSRecordData, recordClass: UInt16 = DNSClass.internet) {
        self.name = name
        self.ttl = ttl
        self.data = data
        self.recordClass = recordClass
    }

    var type: DNSRecordType { data.type }
}

/// The OPT pseudo-record's contents (RFC 6891). Its options (cookies, padding...) are not echoed.
struct DNSExtension: Sendable, Hashable {
    /// The size we advertise: the DNS flag day 2020 value, small enough never to fragment.
    static let serverPayloadSize: UInt16 = 1232

    var udpPayloadSize: UInt16
    var version: UInt8 = 0
    var dnssecOK = false
    var options: [UInt8] = []
}
