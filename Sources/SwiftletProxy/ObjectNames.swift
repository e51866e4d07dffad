/// Names of the per-Service chains and sets, as kube-proxy's nftables mode makes them: a prefix saying what the
/// object is, a short hash, then "namespace/name/protocol/port" (and "__ip/port" for an endpoint), so that
/// `nft list table` reads like the Services it came from.
enum ObjectNames {
    static func service(_ base: String) -> String { name("service-", base) }
    static func external(_ base: String) -> String { name("external-", base) }
    static func endpoint(_ base: String) -> String { name("endpoint-", base) }
    /// The timeout is in the hash: a set's definition never changes under one name, so re-declaring it on every
    /// apply is a no-op that keeps its elements (the clients' affinity).
    static func affinity(_ base: String, timeout: Int) -> String { name("affinity-", base, hashed: base + "#\(timeout)") }

    static func servicePortBase(namespace: String, name: String, transport: ProxyTransport, portName: String) -> String {
        "\(namespace)/\(name)/\(transport.rawValue)/\(portName)"
    }

    static func endpointBase(_ servicePortBase: String, _ endpoint: ProxyEndpoint) -> String {
        "\(servicePortBase)__\(endpoint.ip)/\(endpoint.port)"
    }

    /// nft names hold at most 255 bytes; the hash keeps a truncated name unique.
    private static let maximumLength = 255

    private static func name(_ prefix: String, _ base: String, hashed: String? = nil) -> String {
        // Namespaces, names and port names are DNS labels; anything else nft would not take as a name is replaced.
        let safe = String(decoding: base.utf8.map { isNameByte($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
        let full = prefix + hash(hashed ?? base) + "-" + safe
        return full.utf8.count <= maximumLength ? full : String(decoding: full.utf8.prefix(maximumLength - 3), as: UTF8.self) + "..."
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        IPv4.isLetter(byte) || IPv4.isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
    }

    /// 8 base32 characters of FNV-1a: stable across runs (unlike Swift's seeded Hasher). kube-proxy uses SHA-256;
    /// here the hash only needs to tell names apart at a glance and after truncation.
    static func hash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        return String(decoding: (0..<8).map { alphabet[Int(hash >> UInt64(59 - 5 * $0) & 31)] }, as: UTF8.self)
    }
}
