/// A resource record type (RFC 1035 §3.2.2 and later RFCs). A struct rather than an enum so that types we do not
/// know still travel through the codec untouched.
struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    let rawValue: UInt16
    init(rawValue: UInt16) { self.rawValue = rawValue }

    static let a = DNSRecordType(rawValue: 1)
    static let ns = DNSRecordType(rawValue: 2)
    static let cname = DNSRecordType(rawValue: 5)
    static let soa = DNSRecordType(rawValue: 6)
    static let ptr = DNSRecordType(rawValue: 12)
    static let mx = DNSRecordType(rawValue: 15)
    static let txt = DNSRecordType(rawValue: 16)
    static let aaaa = DNSRecordType(rawValue: 28)
    static let srv = DNSRecordType(rawValue: 33)
    static let opt = DNSRecordType(rawValue: 41)
    static let any = DNSRecordType(rawValue: 255)

    var description: String {
        switch self {
        case .a: "A"
        case .ns: "NS"
        case .cname: "CNAME"
        case .soa: "SOA"
        case .ptr: "PTR"
        case .mx: "MX"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        case .opt: "OPT"
        case .any: "ANY"
        default: "TYPE\(rawValue)"
        }
    }
}

/// The 12-bit response code: the header's 4 bits, extended by 8 more in the OPT record (RFC 6891 §6.1.3).
struct DNSResponseCode: RawRepresentable, Hashable, Sendable {
    let rawValue: UInt16
    init(rawValue: UInt16) { self.rawValue = rawValue }

    static let noError = DNSResponseCode(rawValue: 0)
    static let formatError = DNSResponseCode(rawValue: 1)
    static let serverFailure = DNSResponseCode(rawValue: 2)
    static let nameError = DNSResponseCode(rawValue: 3)
    static let notImplemented = DNSResponseCode(rawValue: 4)
    static let refused = DNSResponseCode(rawValue: 5)
    static let badVersion = DNSResponseCode(rawValue: 16)
}

enum DNSClass {
    static let internet: UInt16 = 1
    static let any: UInt16 = 255
}

enum DNSOpcode {
    static let query: UInt8 = 0
}
