/// One node's proxy. Several agents may share a machine: each has its own table and bridge.
public struct ServiceProxyConfig: Sendable, Equatable {
    /// The node's nft table (`table ip <tableName>`), e.g. "swiftlet-swl0": a letter, then letters, digits, '_', '-'
    /// or '.' (an nft identifier).
    public var tableName: String
    /// The node's pod bridge: the service CIDR route and `route_localnet` go on it.
    public var bridgeName: String
    /// The bridge's gateway address, e.g. 10.42.0.1: the source of host-originated Service traffic.
    public var bridgeAddress: String
    /// Every pod of every node, e.g. 10.42.0.0/16; traffic from outside it is masqueraded.
    public var clusterCIDR: String
    /// The Services' ClusterIP range, e.g. 10.43.0.0/16.
    public var serviceCIDR: String
    /// nil for the host. Otherwise a netns (a name under /var/run/netns) that plays the host; tests use this.
    public var hostNamespace: String?
    public var nftPath: String
    public var ipPath: String
    public var conntrackPath: String

    public init(
        tableName: String, bridgeName: String, bridgeAddress: String, clusterCIDR: String, serviceCIDR: String,
        hostNamespace: String? = nil, nftPath: String = "/usr/sbin/nft", ipPath: String = "/sbin/ip",
        conntrackPath: String = "/usr/sbin/conntrack"
    ) {
        self.tableName = tableName
        self.bridgeName = bridgeName
        self.bridgeAddress = bridgeAddress
        self.clusterCIDR = clusterCIDR
        self.serviceCIDR = serviceCIDR
        self.hostNamespace = hostNamespace
        self.nftPath = nftPath
        self.ipPath = ipPath
        self.conntrackPath = conntrackPath
    }

    /// Linux interface names: at most IFNAMSIZ-1 bytes.
    private static let maximumInterfaceNameLength = 15

    /// The configuration with both CIDRs in canonical form (host bits cleared), or why it cannot work.
    func validated() throws(ServiceProxyError) -> ServiceProxyConfig {
        guard let first = tableName.utf8.first, IPv4.isLetter(first), tableName.utf8.count <= 64,
              tableName.utf8.allSatisfy({ IPv4.isLetter($0) || IPv4.isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else {
            throw .invalidConfiguration("tableName \"\(tableName)\" must be a letter followed by up to 63 letters, digits, '_', '-' or '.'")
        }
        guard !bridgeName.isEmpty, bridgeName.utf8.count <= Self.maximumInterfaceNameLength, Self.isPlainName(bridgeName) else {
            throw .invalidConfiguration("bridgeName \"\(bridgeName)\" must be 1 to 15 letters, digits, '-', '_' or '.'")
        }
        if let hostNamespace, hostNamespace.isEmpty || !Self.isPlainName(hostNamespace) {
            throw .invalidConfiguration("hostNamespace \"\(hostNamespace)\" is not a netns name")
        }
        guard IPv4.parse(bridgeAddress) != nil else {
            throw .invalidConfiguration("bridgeAddress \"\(bridgeAddress)\" is not an IPv4 address")
        }
        var canonical = self
        for (field, value, keyPath) in [("clusterCIDR", clusterCIDR, \ServiceProxyConfig.clusterCIDR), ("serviceCIDR", serviceCIDR, \.serviceCIDR)] {
            guard let cidr = IPv4.CIDR(value) else { throw .invalidConfiguration("\(field) \"\(value)\" is not an IPv4 CIDR such as 10.43.0.0/16") }
            canonical[keyPath: keyPath] = cidr.description
        }
        return canonical
    }

    /// Names that are safe as interface, file and command words (no spaces, slashes or quotes).
    private static func isPlainName(_ name: String) -> Bool {
        name != "." && name != ".." && name.utf8.allSatisfy { byte in
            IPv4.isLetter(byte) || IPv4.isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
    }
}

/// Dotted-quad IPv4 addresses and CIDRs, strictly parsed: whatever reaches an nft script must be exactly that.
enum IPv4 {
    static func parse<S: StringProtocol>(_ text: S) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, octet.utf8.allSatisfy(isDigit), let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    static func format(_ address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 0xff).\(address >> 8 & 0xff).\(address & 0xff)"
    }

    struct CIDR: CustomStringConvertible {
        let network: UInt32
        let prefixLength: Int

        init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let address = IPv4.parse(parts[0]), parts[1].utf8.allSatisfy(IPv4.isDigit),
                  let prefix = Int(parts[1]), (0...32).contains(prefix) else { return nil }
            prefixLength = prefix
            network = prefix == 0 ? 0 : address & (UInt32.max << UInt32(32 - prefix))
        }

        var description: String { "\(IPv4.format(network))/\(prefixLength)" }
    }

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
