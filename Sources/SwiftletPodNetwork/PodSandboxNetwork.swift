/// A pod's network as its containers see it: they join `netnsPath` (OCI `linux.namespaces[].path`).
public struct PodSandboxNetwork: Sendable, Equatable {
    public let podID: String
    public let netnsName: String
    /// /var/run/netns/NAME.
    public let netnsPath: String
    public let ip: String
    public let prefixLength: Int
    public let gateway: String
    /// The veth end on the bridge, in the host (or `hostNamespace`).
    public let hostVeth: String

    /// The name of the veth inside the pod, as Kubernetes network plugins call it.
    public static let podInterface = "eth0"

    public init(podID: String, netnsName: String, netnsPath: String, ip: String, prefixLength: Int, gateway: String, hostVeth: String) {
        self.podID = podID
        self.netnsName = netnsName
        self.netnsPath = netnsPath
        self.ip = ip
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.hostVeth = hostVeth
    }
}

/// The names a pod's network gets, derived from its id alone so that they can be found again after a restart.
struct SandboxNames: Sendable {
    static let netnsDirectory = "/var/run/netns"
    /// Every agent's host veths start with this; the hash after it keeps them apart.
    static let hostVethPrefix = "swl"

    let netnsName: String
    let hostVeth: String
    var netnsPath: String { SandboxNames.netnsDirectory + "/" + netnsName }

    init(podID: String, config: PodNetworkConfig) {
        netnsName = config.netnsPrefix + SandboxNames.hexHash(podID)
        // The bridge is in the hash because host veths of all agents on the machine share one namespace.
        hostVeth = SandboxNames.hostVethPrefix + SandboxNames.hexHash(config.bridgeName + "/" + podID)
    }

    /// 12 hex digits (48 bits) of FNV-1a with a final mix: stable across runs, unlike Swift's seeded Hasher, and
    /// short enough that "swl" + hash fits the 15 bytes of an interface name.
    static func hexHash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        let digits = String(hash >> 16, radix: 16)
        return String(repeating: "0", count: 12 - digits.count) + digits
    }
}
