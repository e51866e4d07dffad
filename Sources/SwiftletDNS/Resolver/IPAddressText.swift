#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Textual IP addresses to the bytes A and AAAA records carry.
enum IPAddressText {
    /// 4 bytes for IPv4, 16 for IPv6, nil for anything else.
    static func bytes(_ text: String) -> [UInt8]? {
        if let v4 = parse(text, family: AF_INET, length: 4) { return v4 }
        return parse(text, family: AF_INET6, length: 16)
    }

    static func ipv4(_ text: some StringProtocol) -> UInt32? {
        guard let bytes = parse(String(text), family: AF_INET, length: 4) else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func parse(_ text: String, family: Int32, length: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: length)
        let parsed = bytes.withUnsafeMutableBytes { inet_pton(family, text, $0.baseAddress) }
        return parsed == 1 ? bytes : nil
    }
}

/// An IPv4 CIDR (the Service or pod range) that reverse lookups are authoritative for.
struct IPv4CIDR: Sendable, Equatable {
    let network: UInt32
    let prefixLength: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddressText.ipv4(parts[0]), let prefix = Int(parts[1]), (0...32).contains(prefix)
        else { return nil }
        prefixLength = prefix
        network = address & Self.mask(prefix)
    }

    func contains(_ address: UInt32) -> Bool { address & Self.mask(prefixLength) == network }

    /// The in-addr.arpa zone of the whole octets of the prefix (10.96.0.0/12 → 10.in-addr.arpa), the owner of the SOA
    /// in negative answers.
    var reverseZone: DNSName {
        let octets = (0..<(prefixLength / 8)).map { String(network >> UInt32(24 - 8 * $0) & 0xFF) }
        return DNSName((octets.reversed() + ["in-addr", "arpa"]).joined(separator: "."))
    }

    private static func mask(_ prefixLength: Int) -> UInt32 {
        prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength)
    }
}
