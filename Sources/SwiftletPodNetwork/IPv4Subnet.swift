/// An IPv4 CIDR such as 10.42.1.0/24, laid out as the CNI bridge plugin does: the first host address is the
/// gateway on the bridge and pods get the addresses after it, up to the one before broadcast.
struct IPv4Subnet: Sendable, Equatable {
    let network: UInt32
    let prefixLength: Int

    init(cidr: String) throws(PodNetworkError) {
        let parts = cidr.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Subnet.parseAddress(parts[0]), let prefix = Int(parts[1]), (0...32).contains(prefix) else {
            throw .invalidConfiguration("podCIDR \"\(cidr)\" is not an IPv4 CIDR such as 10.42.1.0/24")
        }
        // A /30 leaves a single pod address (gateway .1, pod .2); anything smaller has none.
        guard prefix <= 30 else {
            throw .invalidConfiguration("podCIDR \(cidr) is too small: it needs room for a gateway and a pod (at most /30)")
        }
        prefixLength = prefix
        network = address & IPv4Subnet.mask(prefix)
    }

    var broadcast: UInt32 { network | ~IPv4Subnet.mask(prefixLength) }
    var gateway: UInt32 { network + 1 }
    /// The addresses pods may get: never the network address, the gateway or broadcast.
    var podAddresses: ClosedRange<UInt32> { (network + 2)...(broadcast - 1) }

    var description: String { "\(IPv4Subnet.format(network))/\(prefixLength)" }

    func contains(_ address: UInt32) -> Bool { address & IPv4Subnet.mask(prefixLength) == network }

    private static func mask(_ prefixLength: Int) -> UInt32 { UInt32.max << UInt32(32 - prefixLength) }

    static func parseAddress<S: StringProtocol>(_ text: S) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy(\.isASCII), let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    static func format(_ address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 0xff).\(address >> 8 & 0xff).\(address & 0xff)"
    }
}
