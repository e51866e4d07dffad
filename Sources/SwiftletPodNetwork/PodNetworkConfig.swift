/// One node agent's pod network. Several agents may run on one machine side by side, each with its own bridge,
/// CIDR, state directory and netns prefix.
public struct PodNetworkConfig: Sendable, Equatable {
    /// The node's bridge, e.g. "swl0"; its first CIDR address is the pods' gateway.
    public var bridgeName: String
    /// The node's pod CIDR, e.g. "10.42.1.0/24": gateway .1 on the bridge, pods from .2 up to before broadcast.
    public var podCIDR: String
    /// Where the IPAM records live (one file per allocated IP); it must survive agent restarts.
    public var stateDirectory: String
    /// Pod netns names are this prefix plus a short id of the pod; it must include the node's identity so that
    /// agents on one machine never share a name.
    public var netnsPrefix: String
    /// nil for the real host. Otherwise a netns (name under /var/run/netns) that plays the host: the bridge, the
    /// host ends of the veths and the bridge's sysctls all live in it. Tests use this to leave the host untouched.
    public var hostNamespace: String?
    /// The MTU given to the bridge when it is created (and so to every pod's eth0); nil keeps the kernel's 1500.
    public var mtu: Int?

    public init(bridgeName: String, podCIDR: String, stateDirectory: String, netnsPrefix: String, hostNamespace: String? = nil, mtu: Int? = nil) {
        self.bridgeName = bridgeName
        self.podCIDR = podCIDR
        self.stateDirectory = stateDirectory
        self.netnsPrefix = netnsPrefix
        self.hostNamespace = hostNamespace
        self.mtu = mtu
    }

    /// Linux interface names: at most IFNAMSIZ-1 bytes.
    static let maximumInterfaceNameLength = 15

    func validated() throws(PodNetworkError) -> IPv4Subnet {
        guard !bridgeName.isEmpty, bridgeName.utf8.count <= Self.maximumInterfaceNameLength, Self.isPlainName(bridgeName) else {
            throw .invalidConfiguration("bridgeName \"\(bridgeName)\" must be 1 to 15 letters, digits, '-', '_' or '.'")
        }
        guard !netnsPrefix.isEmpty, Self.isPlainName(netnsPrefix) else {
            throw .invalidConfiguration("netnsPrefix \"\(netnsPrefix)\" must be letters, digits, '-', '_' or '.'")
        }
        if let hostNamespace, hostNamespace.isEmpty || !Self.isPlainName(hostNamespace) {
            throw .invalidConfiguration("hostNamespace \"\(hostNamespace)\" is not a netns name")
        }
        guard !stateDirectory.isEmpty else { throw .invalidConfiguration("stateDirectory is empty") }
        if let mtu, !(68...65535).contains(mtu) { throw .invalidConfiguration("mtu \(mtu) is outside 68...65535") }
        return try IPv4Subnet(cidr: podCIDR)
    }

    /// Names that are safe as interface, file and `ip` batch words (no spaces, slashes or quotes).
    private static func isPlainName(_ name: String) -> Bool {
        name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ".")
        } && name != "." && name != ".."
    }
}
